/*
 * proxy/http_rewrite.c: what a proxy changes in a message it forwards.
 *
 * Hop-by-hop fields go (RFC 9110 §7.6.1), the proxy adds itself to Via
 * (§7.6.3) and tells the backend who the client was (X-Forwarded-For,
 * -Proto, -Host) and which request this is (X-Request-Id).  What a
 * client says about earlier hops is believed only if the peer is a
 * trusted proxy; otherwise it is replaced, so a client cannot forge its
 * address or a request id.  Functions work on a parsed message in place
 * and run on the thread that owns it.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http_priv.h"

#define HTTP_REWRITE_ID_BYTES	16	/* X-Request-Id: 128 bits */
#define HTTP_REWRITE_ID_MAX	200	/* longest id kept from a peer */

static int	http_rewrite_named(const struct http_msg *msg,
		    const char *name, size_t len);
static int	http_rewrite_append(struct http_msg *msg, const char *name,
		    const char *elem);
static int	http_rewrite_random(const struct http_forward *fw, void *buf,
		    size_t len);
static int	http_rewrite_id_ok(const char *id, size_t len);

/* Fields removed whatever Connection says (RFC 9110 §7.6.1, RFC 9112). */
static const char *const http_rewrite_hop[] = {
	"connection", "keep-alive", "proxy-connection", "te", "trailer",
	"transfer-encoding", "upgrade",
};

/*
 * Whether Connection names field <name>.  Host and Content-Length are
 * never given up: naming them is an attack on the next hop, not a
 * connection option.
 */
static int
http_rewrite_named(const struct http_msg *msg, const char *name, size_t len)
{
	const struct http_hdr	*h;
	const char		*e;
	size_t			 i, pos, elen;

	if (http_msg_name_eq(name, len, "host") ||
	    http_msg_name_eq(name, len, "content-length"))
		return (0);
	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if (!http_msg_name_eq(msg->m_buf + h->h_name, h->h_namelen,
		    "connection"))
			continue;
		pos = 0;
		while (http_msg_list_next(msg->m_buf + h->h_value,
		    h->h_valuelen, &pos, &e, &elen))
			if (elen == len && strncasecmp(e, name, len) == 0)
				return (1);
	}
	return (0);
}

int
http_rewrite_hop_by_hop(struct http_msg *msg, int tunnel)
{
	const struct http_hdr	*h;
	const char		*name;
	size_t			 i, j;

	/* Fields named in Connection first, while Connection is there. */
	i = 0;
	while (i < msg->m_nhdrs) {
		h = &msg->m_hdrs[i];
		name = msg->m_buf + h->h_name;
		if (!http_msg_name_eq(name, h->h_namelen, "connection") &&
		    !(tunnel && http_msg_name_eq(name, h->h_namelen,
		    "upgrade")) &&
		    http_rewrite_named(msg, name, h->h_namelen))
			http_msg_remove_at(msg, i);
		else
			i++;
	}
	for (j = 0; j < sizeof(http_rewrite_hop) / sizeof(http_rewrite_hop[0]);
	    j++) {
		if (tunnel && strcmp(http_rewrite_hop[j], "upgrade") == 0)
			continue;
		(void)http_msg_remove(msg, http_rewrite_hop[j]);
	}
	if (tunnel)
		return (http_msg_add(msg, "Connection", "upgrade"));
	return (0);
}

/* Appends list element <elem> to the last <name> field, or adds one. */
static int
http_rewrite_append(struct http_msg *msg, const char *name, const char *elem)
{
	const struct http_hdr	*h;
	char			*v;
	size_t			 i, len, elen = strlen(elem);
	int			 rc;

	for (i = msg->m_nhdrs; i > 0; i--) {
		h = &msg->m_hdrs[i - 1];
		if (http_msg_name_eq(msg->m_buf + h->h_name, h->h_namelen,
		    name))
			break;
	}
	if (i == 0 || msg->m_hdrs[i - 1].h_valuelen == 0)
		return (http_msg_set(msg, name, elem));
	h = &msg->m_hdrs[i - 1];
	len = h->h_valuelen + 2 + elen;
	if ((v = malloc(len)) == NULL)
		return (-1);
	memcpy(v, msg->m_buf + h->h_value, h->h_valuelen);
	memcpy(v + h->h_valuelen, ", ", 2);
	memcpy(v + h->h_valuelen + 2, elem, elen);
	rc = http_msg_replace(msg, i - 1, v, len);
	free(v);
	return (rc);
}

int
http_rewrite_via(struct http_msg *msg, const char *pseudonym)
{
	char	 elem[128];
	int	 n;

	/* RFC 9110 §7.6.3: the protocol of the message as received. */
	n = snprintf(elem, sizeof(elem), "%s %s",
	    msg->m_version == 10 ? "1.0" : "1.1",
	    pseudonym != NULL ? pseudonym : "corral");
	if (n < 0 || (size_t)n >= sizeof(elem)) {
		errno = EINVAL;
		return (-1);
	}
	return (http_rewrite_append(msg, "Via", elem));
}

static int
http_rewrite_random(const struct http_forward *fw, void *buf, size_t len)
{
	ssize_t	 n;
	size_t	 got = 0;

	if (fw->fw_random != NULL)
		return (fw->fw_random(fw->fw_random_arg, buf, len));
	while (got < len) {
		n = getrandom((char *)buf + got, len - got, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		got += (size_t)n;
	}
	return (0);
}

/* An id worth passing on: short, and nothing a log or header chokes on. */
static int
http_rewrite_id_ok(const char *id, size_t len)
{
	size_t	 i;

	if (len == 0 || len > HTTP_REWRITE_ID_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!((id[i] >= 'a' && id[i] <= 'z') ||
		    (id[i] >= 'A' && id[i] <= 'Z') ||
		    (id[i] >= '0' && id[i] <= '9') ||
		    strchr("-_.:+/=", id[i]) != NULL) || id[i] == '\0')
			return (0);
	}
	return (1);
}

int
http_rewrite_request(struct http_msg *req, const struct http_forward *fw,
    int tunnel)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 rnd[HTTP_REWRITE_ID_BYTES];
	char			 id[2 * HTTP_REWRITE_ID_BYTES + 1], *host;
	const char		*v;
	size_t			 len, i;
	int			 rc;

	if (fw->fw_client_ip == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (http_rewrite_hop_by_hop(req, tunnel) == -1 ||
	    http_rewrite_via(req, fw->fw_via) == -1)
		return (-1);

	if (fw->fw_trusted) {
		if (http_rewrite_append(req, "X-Forwarded-For",
		    fw->fw_client_ip) == -1)
			return (-1);
	} else if (http_msg_set(req, "X-Forwarded-For",
	    fw->fw_client_ip) == -1)
		return (-1);

	if (!fw->fw_trusted || http_msg_count(req, "X-Forwarded-Proto") == 0)
		if (http_msg_set(req, "X-Forwarded-Proto",
		    fw->fw_tls ? "https" : "http") == -1)
			return (-1);

	if (!fw->fw_trusted || http_msg_count(req, "X-Forwarded-Host") == 0) {
		(void)http_msg_remove(req, "X-Forwarded-Host");
		if ((v = http_msg_get(req, "Host", &len)) != NULL && len > 0) {
			if ((host = strndup(v, len)) == NULL)
				return (-1);
			rc = http_msg_add(req, "X-Forwarded-Host", host);
			free(host);
			if (rc == -1)
				return (-1);
		}
	}

	if (fw->fw_trusted && http_msg_count(req, "X-Request-Id") == 1 &&
	    (v = http_msg_get(req, "X-Request-Id", &len)) != NULL &&
	    http_rewrite_id_ok(v, len))
		return (0);
	if (http_rewrite_random(fw, rnd, sizeof(rnd)) == -1)
		return (-1);
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	id[sizeof(id) - 1] = '\0';
	return (http_msg_set(req, "X-Request-Id", id));
}

int
http_rewrite_response(struct http_msg *resp, const char *pseudonym,
    int tunnel)
{
	if (http_rewrite_hop_by_hop(resp, tunnel) == -1)
		return (-1);
	return (http_rewrite_via(resp, pseudonym));
}
