/*
 * proxy/http_rewrite.c: what a proxy changes in a message it forwards.
 *
 * Hop-by-hop fields go (RFC 9110 §7.6.1), the proxy adds itself to Via
 * (§7.6.3) and tells the backend who the client was (X-Forwarded-For,
 * -Proto, -Host) and which request this is (X-Request-Id).  What a
 * client says about earlier hops is believed only if the peer is a
 * trusted proxy; otherwise it is replaced, so a client cannot forge its
 * address or a request id.  Every request and response goes through
 * here, so the fields to drop are found in one pass over the message
 * (names compared by length first), not one pass per name.  Functions
 * work on a parsed message in place and run on the thread that owns it.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http_priv.h"

#define HTTP_REWRITE_ID_BYTES	16	/* X-Request-Id: 128 bits */
#define HTTP_REWRITE_ID_MAX	200	/* longest id kept from a peer */
#define HTTP_REWRITE_CONN_MAX	8	/* Connection lines on the stack */

/* A field name and its length, for one-pass matching. */
struct http_rewrite_name {
	const char	*rn_name;
	size_t		 rn_len;
};
#define HTTP_REWRITE_NAME(lit)	{ lit, sizeof(lit) - 1 }

static int	http_rewrite_named(const struct http_msg *msg,
		    const struct http_hdr *conn, size_t nconn,
		    const char *name, size_t len);
static int	http_rewrite_in(const struct http_rewrite_name *names,
		    size_t n, const char *name, size_t len);
static int	http_rewrite_strip(struct http_msg *msg, int tunnel,
		    const struct http_rewrite_name *extra, size_t nextra);
static int	http_rewrite_append(struct http_msg *msg, const char *name,
		    const char *elem);
static int	http_rewrite_random(const struct http_forward *fw, void *buf,
		    size_t len);
static int	http_rewrite_id_ok(const char *id, size_t len);

/*
 * Fields removed whatever Connection says (RFC 9110 §7.6.1, RFC 9112);
 * "upgrade" last: a tunnel keeps it.
 */
static const struct http_rewrite_name http_rewrite_hop[] = {
	HTTP_REWRITE_NAME("connection"),
	HTTP_REWRITE_NAME("keep-alive"),
	HTTP_REWRITE_NAME("proxy-connection"),
	HTTP_REWRITE_NAME("te"),
	HTTP_REWRITE_NAME("trailer"),
	HTTP_REWRITE_NAME("transfer-encoding"),
	HTTP_REWRITE_NAME("upgrade"),
};
#define HTTP_REWRITE_NHOP	\
    (sizeof(http_rewrite_hop) / sizeof(http_rewrite_hop[0]))

/* What a client's request may not say about earlier hops (untrusted). */
static const struct http_rewrite_name http_rewrite_fwd[] = {
	HTTP_REWRITE_NAME("x-forwarded-for"),
	HTTP_REWRITE_NAME("x-forwarded-proto"),
	HTTP_REWRITE_NAME("x-forwarded-host"),
	HTTP_REWRITE_NAME("x-request-id"),
};

/* Whether <name>/<len> is one of the <n> <names>, ignoring case. */
static int
http_rewrite_in(const struct http_rewrite_name *names, size_t n,
    const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (names[i].rn_len == len &&
		    strncasecmp(name, names[i].rn_name, len) == 0)
			return (1);
	return (0);
}

/*
 * Whether one of the Connection lines <conn> names field <name>.  Host
 * and Content-Length are never given up: naming them is an attack on
 * the next hop, not a connection option.
 */
static int
http_rewrite_named(const struct http_msg *msg, const struct http_hdr *conn,
    size_t nconn, const char *name, size_t len)
{
	const char	*e;
	size_t		 i, pos, elen;

	if (http_msg_name_eq(name, len, "host") ||
	    http_msg_name_eq(name, len, "content-length"))
		return (0);
	for (i = 0; i < nconn; i++) {
		pos = 0;
		while (http_msg_list_next(msg->m_buf + conn[i].h_value,
		    conn[i].h_valuelen, &pos, &e, &elen))
			if (elen == len && strncasecmp(e, name, len) == 0)
				return (1);
	}
	return (0);
}

/*
 * One pass: drops the hop-by-hop fields, those Connection names, and
 * the <nextra> <extra> names.  0, or -1 if out of memory.
 */
static int
http_rewrite_strip(struct http_msg *msg, int tunnel,
    const struct http_rewrite_name *extra, size_t nextra)
{
	struct http_hdr	 local[HTTP_REWRITE_CONN_MAX], *conn = local;
	const char	*name;
	size_t		 i, w, len, nconn = 0;
	size_t		 nhop = HTTP_REWRITE_NHOP - (tunnel ? 1 : 0);
	int		 drop;

	/* Connection's lines, copied: the pass below moves the fields. */
	for (i = 0; i < msg->m_nhdrs; i++)
		if (http_msg_name_eq(msg->m_buf + msg->m_hdrs[i].h_name,
		    msg->m_hdrs[i].h_namelen, "connection"))
			nconn++;
	if (nconn > HTTP_REWRITE_CONN_MAX &&
	    (conn = reallocarray(NULL, nconn, sizeof(*conn))) == NULL)
		return (-1);
	for (i = nconn = 0; i < msg->m_nhdrs; i++)
		if (http_msg_name_eq(msg->m_buf + msg->m_hdrs[i].h_name,
		    msg->m_hdrs[i].h_namelen, "connection"))
			conn[nconn++] = msg->m_hdrs[i];
	for (i = w = 0; i < msg->m_nhdrs; i++) {
		name = msg->m_buf + msg->m_hdrs[i].h_name;
		len = msg->m_hdrs[i].h_namelen;
		drop = http_rewrite_in(http_rewrite_hop, nhop, name, len) ||
		    http_rewrite_in(extra, nextra, name, len) ||
		    (nconn > 0 && !(tunnel && http_msg_name_eq(name, len,
		    "upgrade")) && http_rewrite_named(msg, conn, nconn, name,
		    len));
		if (!drop)
			msg->m_hdrs[w++] = msg->m_hdrs[i];
	}
	msg->m_nhdrs = w;
	if (conn != local)
		free(conn);
	return (0);
}

int
http_rewrite_hop_by_hop(struct http_msg *msg, int tunnel)
{
	if (http_rewrite_strip(msg, tunnel, NULL, 0) == -1)
		return (-1);
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
	if (i == 0)
		return (http_msg_addn(msg, name, strlen(name), elem, elen));
	if (msg->m_hdrs[i - 1].h_valuelen == 0)
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
	size_t	 len;

	if (pseudonym == NULL)
		pseudonym = "corral";
	if ((len = strlen(pseudonym)) > sizeof(elem) - 5) {
		errno = EINVAL;
		return (-1);
	}
	/* RFC 9110 §7.6.3: the protocol of the message as received. */
	memcpy(elem, msg->m_version == 10 ? "1.0 " : "1.1 ", 4);
	memcpy(elem + 4, pseudonym, len + 1);
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
	char			 id[2 * HTTP_REWRITE_ID_BYTES + 1];
	const char		*v;
	size_t			 len, i;

	if (fw->fw_client_ip == NULL) {
		errno = EINVAL;
		return (-1);
	}
	/* An untrusted peer's claims go in the same pass as hop-by-hop. */
	if (http_rewrite_strip(req, tunnel, fw->fw_trusted ? NULL :
	    http_rewrite_fwd, fw->fw_trusted ? 0 : sizeof(http_rewrite_fwd) /
	    sizeof(http_rewrite_fwd[0])) == -1 ||
	    (tunnel && http_msg_add(req, "Connection", "upgrade") == -1) ||
	    http_rewrite_via(req, fw->fw_via) == -1)
		return (-1);

	if (fw->fw_trusted) {
		if (http_rewrite_append(req, "X-Forwarded-For",
		    fw->fw_client_ip) == -1)
			return (-1);
	} else if (http_msg_add(req, "X-Forwarded-For",
	    fw->fw_client_ip) == -1)
		return (-1);

	if (!fw->fw_trusted || http_msg_count(req, "X-Forwarded-Proto") == 0)
		if (http_msg_add(req, "X-Forwarded-Proto",
		    fw->fw_tls ? "https" : "http") == -1)
			return (-1);

	/* Host's value is in the arena: http_msg_addn() copes with that. */
	if ((!fw->fw_trusted || http_msg_count(req, "X-Forwarded-Host") ==
	    0) && (v = http_msg_get(req, "Host", &len)) != NULL && len > 0 &&
	    http_msg_addn(req, "X-Forwarded-Host", 16, v, len) == -1)
		return (-1);

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
	if (!fw->fw_trusted)		/* already gone */
		return (http_msg_add(req, "X-Request-Id", id));
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
