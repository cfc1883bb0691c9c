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
 * (a mask of field ids), not one pass per name, and the proxy's own
 * fields are added without checking what corral itself wrote.
 * Functions work on a parsed message in place and run on the thread
 * that owns it.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http_priv.h"

#define HTTP_REWRITE_ID_BYTES	16	/* X-Request-Id: 128 bits */
#define HTTP_REWRITE_ID_MAX	200	/* longest id kept from a peer */
#define HTTP_REWRITE_CONN_MAX	8	/* Connection lines on the stack */

static int	http_rewrite_named(const struct http_msg *msg,
		    const struct http_hdr *conn, size_t nconn,
		    const struct http_hdr *h);
static int	http_rewrite_strip(struct http_msg *msg, int tunnel,
		    unsigned extra);
static int	http_rewrite_append(struct http_msg *msg,
		    enum http_field_id id, const char *elem, size_t elen);
static int	http_rewrite_random(const struct http_forward *fw, void *buf,
		    size_t len);
static int	http_rewrite_id_ok(const char *id, size_t len);

/* Fields removed whatever Connection says (RFC 9110 §7.6.1, RFC 9112). */
#define HTTP_REWRITE_HOP	(HTTP_F_BIT(HTTP_F_CONNECTION) |	\
	HTTP_F_BIT(HTTP_F_KEEP_ALIVE) | HTTP_F_BIT(HTTP_F_PROXY_CONNECTION) | \
	HTTP_F_BIT(HTTP_F_TE) | HTTP_F_BIT(HTTP_F_TRAILER) |		\
	HTTP_F_BIT(HTTP_F_TRANSFER_ENCODING) | HTTP_F_BIT(HTTP_F_UPGRADE))

/* What no request keeps: see http_rewrite_request() in http.h. */
#define HTTP_REWRITE_REQ	(HTTP_F_BIT(HTTP_F_EXPECT) |		\
	HTTP_F_BIT(HTTP_F_X_CLIENT_CERT_SUBJECT))

/* What a client's request may not say about earlier hops (untrusted). */
#define HTTP_REWRITE_FWD	(HTTP_F_BIT(HTTP_F_X_FORWARDED_FOR) |	\
	HTTP_F_BIT(HTTP_F_X_FORWARDED_PROTO) |				\
	HTTP_F_BIT(HTTP_F_X_FORWARDED_HOST) | HTTP_F_BIT(HTTP_F_X_REQUEST_ID))

/*
 * Whether one of the Connection lines <conn> names field <h>.  Host
 * and Content-Length are never given up: naming them is an attack on
 * the next hop, not a connection option.
 */
static int
http_rewrite_named(const struct http_msg *msg, const struct http_hdr *conn,
    size_t nconn, const struct http_hdr *h)
{
	const char	*e;
	size_t		 i, pos, elen;

	if (h->h_id == HTTP_F_HOST || h->h_id == HTTP_F_CONTENT_LENGTH)
		return (0);
	for (i = 0; i < nconn; i++) {
		pos = 0;
		while (http_msg_list_next(msg->m_buf + conn[i].h_value,
		    conn[i].h_valuelen, &pos, &e, &elen))
			if (elen == h->h_namelen && http_msg_caseeq(e,
			    msg->m_buf + h->h_name, elen))
				return (1);
	}
	return (0);
}

/*
 * One pass: drops the hop-by-hop fields, those Connection names, and
 * the fields whose HTTP_F_BIT()s are in <extra>; a tunnel keeps
 * Upgrade.  0, or -1 if out of memory.
 */
static int
http_rewrite_strip(struct http_msg *msg, int tunnel, unsigned extra)
{
	struct http_hdr	 local[HTTP_REWRITE_CONN_MAX], *conn = local;
	const struct http_hdr *h;
	unsigned	 drop = (HTTP_REWRITE_HOP | extra) &
			    ~(tunnel ? HTTP_F_BIT(HTTP_F_UPGRADE) : 0);
	size_t		 i, w, nconn = 0;

	/* Connection's lines, copied: the pass below moves the fields. */
	for (i = 0; i < msg->m_nhdrs; i++)
		if (msg->m_hdrs[i].h_id == HTTP_F_CONNECTION)
			nconn++;
	if (nconn > HTTP_REWRITE_CONN_MAX &&
	    (conn = reallocarray(NULL, nconn, sizeof(*conn))) == NULL)
		return (-1);
	for (i = nconn = 0; i < msg->m_nhdrs; i++)
		if (msg->m_hdrs[i].h_id == HTTP_F_CONNECTION)
			conn[nconn++] = msg->m_hdrs[i];
	for (i = w = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if ((drop & HTTP_F_BIT(h->h_id)) || (nconn > 0 &&
		    !(tunnel && h->h_id == HTTP_F_UPGRADE) &&
		    http_rewrite_named(msg, conn, nconn, h)))
			continue;
		msg->m_hdrs[w++] = *h;
	}
	msg->m_nhdrs = w;
	if (conn != local)
		free(conn);
	return (0);
}

int
http_rewrite_hop_by_hop(struct http_msg *msg, int tunnel)
{
	if (http_rewrite_strip(msg, tunnel, 0) == -1)
		return (-1);
	if (tunnel)
		return (http_msg_add_id(msg, HTTP_F_CONNECTION, "upgrade", 7));
	return (0);
}

/*
 * Appends list element <elem> to the last field <id>, or adds one; an
 * empty last one replaces them all.
 */
static int
http_rewrite_append(struct http_msg *msg, enum http_field_id id,
    const char *elem, size_t elen)
{
	struct http_hdr	*h;
	size_t		 i, off, vlen;

	for (i = msg->m_nhdrs; i > 0; i--)
		if (msg->m_hdrs[i - 1].h_id == id)
			break;
	if (i > 0 && msg->m_hdrs[i - 1].h_valuelen == 0) {
		(void)http_msg_remove_id(msg, id);
		i = 0;
	}
	if (i == 0)
		return (http_msg_add_id(msg, id, elem, elen));
	/* The longer value goes at the arena's end; the old one stays. */
	vlen = msg->m_hdrs[i - 1].h_valuelen;
	if (http_msg_reserve(msg, vlen + 2 + elen, &elem, 1) == -1)
		return (-1);
	h = &msg->m_hdrs[i - 1];
	off = msg->m_len;
	memcpy(msg->m_buf + off, msg->m_buf + h->h_value, vlen);
	memcpy(msg->m_buf + off + vlen, ", ", 2);
	memcpy(msg->m_buf + off + vlen + 2, elem, elen);
	msg->m_len += vlen + 2 + elen;
	h->h_value = off;
	h->h_valuelen = vlen + 2 + elen;
	return (0);
}

int
http_rewrite_via(struct http_msg *msg, const char *pseudonym)
{
	char	 elem[128];
	size_t	 len;

	if (pseudonym == NULL)
		pseudonym = "corral";
	len = strlen(pseudonym);
	/* A pseudonym is a token (RFC 9110 §7.6.3); the config checks it. */
	if (len > sizeof(elem) - 4 || len == 0 ||
	    strcspn(pseudonym, " \t\r\n,") != len) {
		errno = EINVAL;
		return (-1);
	}
	/* RFC 9110 §7.6.3: the protocol of the message as received. */
	memcpy(elem, msg->m_version == 10 ? "1.0 " : "1.1 ", 4);
	memcpy(elem + 4, pseudonym, len);
	return (http_rewrite_append(msg, HTTP_F_VIA, elem, len + 4));
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
	char			 id[2 * HTTP_REWRITE_ID_BYTES];
	const struct http_hdr	*h;
	size_t			 i, iplen;

	/* The caller's text goes into a field as it is: no CR or LF. */
	if (fw->fw_client_ip == NULL || (iplen = strlen(fw->fw_client_ip)) ==
	    0 || strcspn(fw->fw_client_ip, "\r\n") != iplen) {
		errno = EINVAL;
		return (-1);
	}
	/* An untrusted peer's claims go in the same pass as hop-by-hop. */
	if (http_rewrite_strip(req, tunnel, HTTP_REWRITE_REQ |
	    (fw->fw_trusted ? 0 : HTTP_REWRITE_FWD)) == -1 ||
	    (tunnel && http_msg_add_id(req, HTTP_F_CONNECTION, "upgrade",
	    7) == -1) ||
	    http_rewrite_via(req, fw->fw_via) == -1)
		return (-1);

	if (fw->fw_trusted) {
		if (http_rewrite_append(req, HTTP_F_X_FORWARDED_FOR,
		    fw->fw_client_ip, iplen) == -1)
			return (-1);
	} else if (http_msg_add_id(req, HTTP_F_X_FORWARDED_FOR,
	    fw->fw_client_ip, iplen) == -1)
		return (-1);

	if ((!fw->fw_trusted || http_msg_find(req, HTTP_F_X_FORWARDED_PROTO,
	    0) == SIZE_MAX) && http_msg_add_id(req, HTTP_F_X_FORWARDED_PROTO,
	    fw->fw_tls ? "https" : "http", fw->fw_tls ? 5 : 4) == -1)
		return (-1);

	/* Host's value is in the arena: http_msg_add_id() copes with that. */
	if ((!fw->fw_trusted || http_msg_find(req, HTTP_F_X_FORWARDED_HOST,
	    0) == SIZE_MAX) &&
	    (i = http_msg_find(req, HTTP_F_HOST, 0)) != SIZE_MAX &&
	    req->m_hdrs[i].h_valuelen > 0 &&
	    http_msg_add_id(req, HTTP_F_X_FORWARDED_HOST,
	    req->m_buf + req->m_hdrs[i].h_value, req->m_hdrs[i].h_valuelen) ==
	    -1)
		return (-1);

	if (fw->fw_trusted &&
	    (i = http_msg_find(req, HTTP_F_X_REQUEST_ID, 0)) != SIZE_MAX &&
	    http_msg_find(req, HTTP_F_X_REQUEST_ID, i + 1) == SIZE_MAX) {
		h = &req->m_hdrs[i];
		if (http_rewrite_id_ok(req->m_buf + h->h_value, h->h_valuelen))
			return (0);
	}
	if (http_rewrite_random(fw, rnd, sizeof(rnd)) == -1)
		return (-1);
	for (i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = hex[rnd[i] >> 4];
		id[2 * i + 1] = hex[rnd[i] & 0xf];
	}
	if (fw->fw_trusted)		/* else already gone */
		(void)http_msg_remove_id(req, HTTP_F_X_REQUEST_ID);
	return (http_msg_add_id(req, HTTP_F_X_REQUEST_ID, id, sizeof(id)));
}

int
http_rewrite_response(struct http_msg *resp, const char *pseudonym,
    int tunnel)
{
	if (http_rewrite_hop_by_hop(resp, tunnel) == -1)
		return (-1);
	return (http_rewrite_via(resp, pseudonym));
}
