/*
 * proxy/http_msg.c: the HTTP message model.
 *
 * A message is a start line and an ordered list of fields kept as
 * received (name case preserved, lookups case-insensitive), stored as
 * offsets into one growing arena (see struct http_msg in http_priv.h).
 * The parser fills messages; the proxy rewrites them in place; the
 * writer serialises them.  Removing a field only drops its entry: the
 * bytes stay in the arena until the message is reset, which bounds
 * the work per change to one memmove of the entry array.
 *
 * A message belongs to one thread, like the connection it came from.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "proxy/http_priv.h"

#define HTTP_MSG_MIN_ARENA	1024
#define HTTP_MSG_MIN_FIELDS	16
#define HTTP_MSG_MAX_PTRS	2	/* http_msg_reserve() <ptrs> */

static int	http_msg_valid_value(const char *value, size_t len);
static size_t	http_msg_remove_named(struct http_msg *msg,
		    enum http_field_id id, const char *name, size_t nlen);
static int	http_msg_token_in(const struct http_msg *msg,
		    enum http_field_id id, const char *name, size_t nlen,
		    const char *token);

struct http_msg *
http_msg_new(void)
{
	struct http_msg	*msg;

	if ((msg = calloc(1, sizeof(*msg))) == NULL)
		return (NULL);
	msg->m_version = 11;
	return (msg);
}

void
http_msg_free(struct http_msg *msg)
{
	if (msg == NULL)
		return;
	free(msg->m_buf);
	msg->m_buf = NULL;
	free(msg->m_hdrs);
	msg->m_hdrs = NULL;
	free(msg);
}

void
http_msg_reset(struct http_msg *msg)
{
	msg->m_len = 0;
	msg->m_headlen = 0;
	msg->m_nhdrs = 0;
	msg->m_method = HTTP_METHOD_OTHER;
	msg->m_method_off = msg->m_method_len = 0;
	msg->m_target_off = msg->m_target_len = 0;
	msg->m_reason_off = msg->m_reason_len = 0;
	msg->m_version = 11;
	msg->m_status = 0;
	msg->m_flags = 0;
	msg->m_framing = HTTP_FRAMING_NONE;
	msg->m_length = 0;
}

int
http_msg_reserve(struct http_msg *msg, size_t len, const char **ptrs,
    size_t nptrs)
{
	uintptr_t	 b = (uintptr_t)msg->m_buf, d;
	size_t		 cap, i, offs[HTTP_MSG_MAX_PTRS];
	char		*nbuf;

	ASSERT(nptrs <= HTTP_MSG_MAX_PTRS);
	if (len > SIZE_MAX / 4 - msg->m_len) {
		errno = ENOMEM;
		return (-1);
	}
	if (msg->m_len + len <= msg->m_cap)
		return (0);
	/* Offsets, not pointers, survive the move. */
	for (i = 0; i < nptrs; i++) {
		d = (uintptr_t)ptrs[i];
		offs[i] = b != 0 && d >= b && d < b + msg->m_len ? d - b :
		    SIZE_MAX;
	}
	cap = msg->m_cap ? msg->m_cap : HTTP_MSG_MIN_ARENA;
	while (cap < msg->m_len + len)
		cap *= 2;
	if ((nbuf = realloc(msg->m_buf, cap)) == NULL)
		return (-1);
	for (i = 0; i < nptrs; i++)
		if (offs[i] != SIZE_MAX)
			ptrs[i] = nbuf + offs[i];
	msg->m_buf = nbuf;
	msg->m_cap = cap;
	return (0);
}

int
http_msg_append(struct http_msg *msg, const void *data, size_t len,
    size_t *off)
{
	const char	*p = data;

	if (http_msg_reserve(msg, len, &p, 1) == -1)
		return (-1);
	if (len > 0)
		memcpy(msg->m_buf + msg->m_len, p, len);
	if (off != NULL)
		*off = msg->m_len;
	msg->m_len += len;
	return (0);
}

int
http_msg_grow_fields(struct http_msg *msg)
{
	struct http_hdr	*n;
	size_t		 cap;

	if (msg->m_nhdrs < msg->m_hdrcap)
		return (0);
	cap = msg->m_hdrcap ? msg->m_hdrcap * 2 : HTTP_MSG_MIN_FIELDS;
	if ((n = reallocarray(msg->m_hdrs, cap, sizeof(*n))) == NULL)
		return (-1);
	msg->m_hdrs = n;
	msg->m_hdrcap = cap;
	return (0);
}

/* In enum order, that is by length: http_field_id() walks one length. */
static const struct {
	const char	*fn_name;
	size_t		 fn_len;
} http_fields[HTTP_F_MAX] = {
#define HTTP_FIELD(id, lit)	[id] = { lit, sizeof(lit) - 1 }
	HTTP_FIELD(HTTP_F_TE, "TE"),
	HTTP_FIELD(HTTP_F_VIA, "Via"),
	HTTP_FIELD(HTTP_F_HOST, "Host"),
	HTTP_FIELD(HTTP_F_EXPECT, "Expect"),
	HTTP_FIELD(HTTP_F_REFERER, "Referer"),
	HTTP_FIELD(HTTP_F_TRAILER, "Trailer"),
	HTTP_FIELD(HTTP_F_UPGRADE, "Upgrade"),
	HTTP_FIELD(HTTP_F_CONNECTION, "Connection"),
	HTTP_FIELD(HTTP_F_KEEP_ALIVE, "Keep-Alive"),
	HTTP_FIELD(HTTP_F_USER_AGENT, "User-Agent"),
	HTTP_FIELD(HTTP_F_X_REQUEST_ID, "X-Request-Id"),
	HTTP_FIELD(HTTP_F_CONTENT_LENGTH, "Content-Length"),
	HTTP_FIELD(HTTP_F_X_FORWARDED_FOR, "X-Forwarded-For"),
	HTTP_FIELD(HTTP_F_PROXY_CONNECTION, "Proxy-Connection"),
	HTTP_FIELD(HTTP_F_X_FORWARDED_HOST, "X-Forwarded-Host"),
	HTTP_FIELD(HTTP_F_TRANSFER_ENCODING, "Transfer-Encoding"),
	HTTP_FIELD(HTTP_F_X_FORWARDED_PROTO, "X-Forwarded-Proto"),
	HTTP_FIELD(HTTP_F_X_CLIENT_CERT_SUBJECT, "X-Client-Cert-Subject"),
#undef HTTP_FIELD
};

/* The first id of each name length; 0 where there is none. */
static const unsigned char http_field_first[] = {
	[2] = HTTP_F_TE, [3] = HTTP_F_VIA, [4] = HTTP_F_HOST,
	[6] = HTTP_F_EXPECT, [7] = HTTP_F_REFERER, [10] = HTTP_F_CONNECTION,
	[12] = HTTP_F_X_REQUEST_ID, [14] = HTTP_F_CONTENT_LENGTH,
	[15] = HTTP_F_X_FORWARDED_FOR, [16] = HTTP_F_PROXY_CONNECTION,
	[17] = HTTP_F_TRANSFER_ENCODING, [21] = HTTP_F_X_CLIENT_CERT_SUBJECT,
};

enum http_field_id
http_field_id(const char *name, size_t len)
{
	unsigned	 id;

	if (len >= sizeof(http_field_first))
		return (HTTP_F_OTHER);
	for (id = http_field_first[len]; id != HTTP_F_OTHER &&
	    id < HTTP_F_MAX && http_fields[id].fn_len == len; id++)
		if (http_msg_caseeq(name, http_fields[id].fn_name, len))
			return ((enum http_field_id)id);
	return (HTTP_F_OTHER);
}

const char *
http_field_name(enum http_field_id id, size_t *len)
{
	ASSERT(id > HTTP_F_OTHER && id < HTTP_F_MAX);
	*len = http_fields[id].fn_len;
	return (http_fields[id].fn_name);
}

/*
 * Whether field <h> is named <name>/<len>, whose id is <id>; a known id
 * is enough, and <name> may then be NULL.
 */
static inline int
http_msg_named(const struct http_msg *msg, const struct http_hdr *h,
    enum http_field_id id, const char *name, size_t len)
{
	if (id != HTTP_F_OTHER)
		return (h->h_id == id);
	return (h->h_namelen == len &&
	    http_msg_caseeq(msg->m_buf + h->h_name, name, len));
}

const unsigned char http_tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1
};

int
http_msg_list_next(const char *list, size_t len, size_t *pos,
    const char **elem, size_t *elen)
{
	size_t	 i = *pos, s, e;

	while (i < len) {
		s = i;
		while (i < len && list[i] != ',')
			i++;
		e = i;
		if (i < len)
			i++;		/* the comma */
		while (s < e && (list[s] == ' ' || list[s] == '\t'))
			s++;
		while (e > s && (list[e - 1] == ' ' || list[e - 1] == '\t'))
			e--;
		/* RFC 9110 §5.6.1: empty elements are ignored. */
		if (e > s) {
			*pos = i;
			*elem = list + s;
			*elen = e - s;
			return (1);
		}
	}
	*pos = i;
	return (0);
}

/* Field values may not carry CR, LF or NUL (RFC 9110 §5.5). */
static int
http_msg_valid_value(const char *value, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
			return (0);
	}
	return (1);
}

int
http_msg_set_request(struct http_msg *msg, enum http_method method,
    const char *method_name, const char *target)
{
	const char	*p[2];
	size_t		 moff, toff, mlen, tlen, i;

	if (method_name == NULL)
		method_name = http_method_name(method);
	if (method_name == NULL || target == NULL) {
		errno = EINVAL;
		return (-1);
	}
	mlen = strlen(method_name);
	tlen = strlen(target);
	for (i = 0; i < mlen; i++)
		if (!http_msg_is_tchar(method_name[i]))
			break;
	if (mlen == 0 || i < mlen || tlen == 0 ||
	    strpbrk(target, " \t\r\n") != NULL) {
		errno = EINVAL;
		return (-1);
	}
	p[0] = method_name;
	p[1] = target;
	if (http_msg_reserve(msg, mlen + tlen, p, 2) == -1 ||
	    http_msg_append(msg, p[0], mlen, &moff) == -1 ||
	    http_msg_append(msg, p[1], tlen, &toff) == -1)
		return (-1);
	msg->m_method = http_method_lookup(msg->m_buf + moff, mlen);
	msg->m_method_off = moff;
	msg->m_method_len = mlen;
	msg->m_target_off = toff;
	msg->m_target_len = tlen;
	return (0);
}

int
http_msg_set_status(struct http_msg *msg, int status, const char *reason)
{
	size_t	 off, len;

	if (status < 100 || status > 999) {
		errno = EINVAL;
		return (-1);
	}
	if (reason == NULL)
		reason = http_reason(status);
	len = strlen(reason);
	if (!http_msg_valid_value(reason, len)) {
		errno = EINVAL;
		return (-1);
	}
	if (http_msg_append(msg, reason, len, &off) == -1)
		return (-1);
	msg->m_status = status;
	msg->m_reason_off = off;
	msg->m_reason_len = len;
	return (0);
}

enum http_method
http_msg_method(const struct http_msg *msg)
{
	return (msg->m_method);
}

const char *
http_msg_method_name(const struct http_msg *msg, size_t *len)
{
	*len = msg->m_method_len;
	return (msg->m_buf + msg->m_method_off);
}

const char *
http_msg_target(const struct http_msg *msg, size_t *len)
{
	*len = msg->m_target_len;
	return (msg->m_buf + msg->m_target_off);
}

int
http_msg_version(const struct http_msg *msg)
{
	return (msg->m_version);
}

int
http_msg_status(const struct http_msg *msg)
{
	return (msg->m_status);
}

const char *
http_msg_reason(const struct http_msg *msg, size_t *len)
{
	*len = msg->m_reason_len;
	return (msg->m_buf + msg->m_reason_off);
}

unsigned
http_msg_flags(const struct http_msg *msg)
{
	return (msg->m_flags);
}

enum http_framing
http_msg_framing(const struct http_msg *msg)
{
	return (msg->m_framing);
}

uint64_t
http_msg_content_length(const struct http_msg *msg)
{
	return (msg->m_framing == HTTP_FRAMING_LENGTH ? msg->m_length : 0);
}

const char *
http_msg_head(const struct http_msg *msg, size_t *len)
{
	*len = msg->m_headlen;
	return (msg->m_headlen ? msg->m_buf : NULL);
}

size_t
http_msg_nfields(const struct http_msg *msg)
{
	return (msg->m_nhdrs);
}

void
http_msg_field(const struct http_msg *msg, size_t i, struct http_field *f)
{
	const struct http_hdr	*h = &msg->m_hdrs[i];

	f->f_name = msg->m_buf + h->h_name;
	f->f_namelen = h->h_namelen;
	f->f_value = msg->m_buf + h->h_value;
	f->f_valuelen = h->h_valuelen;
}

const char *
http_msg_get(const struct http_msg *msg, const char *name, size_t *len)
{
	const struct http_hdr	*h;
	size_t			 i, nlen = strlen(name);
	enum http_field_id	 id = http_field_id(name, nlen);

	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if (http_msg_named(msg, h, id, name, nlen)) {
			if (len != NULL)
				*len = h->h_valuelen;
			return (msg->m_buf + h->h_value);
		}
	}
	return (NULL);
}

const char *
http_msg_get_last(const struct http_msg *msg, const char *name,
    size_t *len)
{
	const struct http_hdr	*h;
	size_t			 i, nlen = strlen(name);
	enum http_field_id	 id = http_field_id(name, nlen);

	for (i = msg->m_nhdrs; i > 0; i--) {
		h = &msg->m_hdrs[i - 1];
		if (http_msg_named(msg, h, id, name, nlen)) {
			if (len != NULL)
				*len = h->h_valuelen;
			return (msg->m_buf + h->h_value);
		}
	}
	return (NULL);
}

size_t
http_msg_count(const struct http_msg *msg, const char *name)
{
	size_t			 i, n = 0, nlen = strlen(name);
	enum http_field_id	 id = http_field_id(name, nlen);

	for (i = 0; i < msg->m_nhdrs; i++)
		if (http_msg_named(msg, &msg->m_hdrs[i], id, name, nlen))
			n++;
	return (n);
}

int
http_msg_has_token(const struct http_msg *msg, const char *name,
    const char *token)
{
	size_t	 nlen = strlen(name);

	return (http_msg_token_in(msg, http_field_id(name, nlen), name, nlen,
	    token));
}

int
http_msg_has_token_id(const struct http_msg *msg, enum http_field_id id,
    const char *token)
{
	ASSERT(id != HTTP_F_OTHER);
	return (http_msg_token_in(msg, id, NULL, 0, token));
}

/* Whether a field named <name>/<nlen>, of id <id>, lists <token>. */
static int
http_msg_token_in(const struct http_msg *msg, enum http_field_id id,
    const char *name, size_t nlen, const char *token)
{
	const struct http_hdr	*h;
	const char		*e;
	size_t			 i, pos, elen;

	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		if (!http_msg_named(msg, h, id, name, nlen))
			continue;
		pos = 0;
		while (http_msg_list_next(msg->m_buf + h->h_value,
		    h->h_valuelen, &pos, &e, &elen))
			if (http_msg_name_eq(e, elen, token))
				return (1);
	}
	return (0);
}

int
http_msg_addn(struct http_msg *msg, const char *name, size_t namelen,
    const char *value, size_t valuelen)
{
	struct http_hdr	*h;
	const char	*p[2];
	size_t		 i, noff, voff;

	for (i = 0; i < namelen; i++)
		if (!http_msg_is_tchar(name[i]))
			break;
	if (namelen == 0 || i < namelen ||
	    !http_msg_valid_value(value, valuelen)) {
		errno = EINVAL;
		return (-1);
	}
	p[0] = name;
	p[1] = value;
	if (http_msg_grow_fields(msg) == -1 ||
	    http_msg_reserve(msg, namelen + valuelen, p, 2) == -1 ||
	    http_msg_append(msg, p[0], namelen, &noff) == -1 ||
	    http_msg_append(msg, p[1], valuelen, &voff) == -1)
		return (-1);
	h = &msg->m_hdrs[msg->m_nhdrs++];
	h->h_name = noff;
	h->h_namelen = namelen;
	h->h_value = voff;
	h->h_valuelen = valuelen;
	h->h_id = http_field_id(msg->m_buf + noff, namelen);
	return (0);
}

int
http_msg_add_id(struct http_msg *msg, enum http_field_id id,
    const char *value, size_t len)
{
	struct http_hdr	*h;
	const char	*name = http_fields[id].fn_name;
	size_t		 nlen = http_fields[id].fn_len, off;
	char		*p;

	ASSERT(id > HTTP_F_OTHER && id < HTTP_F_MAX);
	if (http_msg_grow_fields(msg) == -1 ||
	    http_msg_reserve(msg, nlen + len, &value, 1) == -1)
		return (-1);
	off = msg->m_len;
	p = msg->m_buf + off;
	memcpy(p, name, nlen);
	memcpy(p + nlen, value, len);
	msg->m_len += nlen + len;
	h = &msg->m_hdrs[msg->m_nhdrs++];
	h->h_name = off;
	h->h_namelen = nlen;
	h->h_value = off + nlen;
	h->h_valuelen = len;
	h->h_id = id;
	return (0);
}

int
http_msg_add(struct http_msg *msg, const char *name, const char *value)
{
	return (http_msg_addn(msg, name, strlen(name), value, strlen(value)));
}

int
http_msg_set(struct http_msg *msg, const char *name, const char *value)
{
	(void)http_msg_remove(msg, name);
	return (http_msg_add(msg, name, value));
}

int
http_msg_replace(struct http_msg *msg, size_t i, const char *value,
    size_t valuelen)
{
	size_t	 off;

	if (i >= msg->m_nhdrs || !http_msg_valid_value(value, valuelen)) {
		errno = EINVAL;
		return (-1);
	}
	if (http_msg_append(msg, value, valuelen, &off) == -1)
		return (-1);
	msg->m_hdrs[i].h_value = off;
	msg->m_hdrs[i].h_valuelen = valuelen;
	return (0);
}

void
http_msg_remove_at(struct http_msg *msg, size_t i)
{
	if (i >= msg->m_nhdrs)
		return;
	memmove(&msg->m_hdrs[i], &msg->m_hdrs[i + 1],
	    (msg->m_nhdrs - i - 1) * sizeof(msg->m_hdrs[0]));
	msg->m_nhdrs--;
}

size_t
http_msg_remove(struct http_msg *msg, const char *name)
{
	size_t	 nlen = strlen(name);

	return (http_msg_remove_named(msg, http_field_id(name, nlen), name,
	    nlen));
}

size_t
http_msg_remove_id(struct http_msg *msg, enum http_field_id id)
{
	ASSERT(id != HTTP_F_OTHER);
	return (http_msg_remove_named(msg, id, NULL, 0));
}

/* Removes the fields named <name>/<nlen>, of id <id>; how many went. */
static size_t
http_msg_remove_named(struct http_msg *msg, enum http_field_id id,
    const char *name, size_t nlen)
{
	size_t	 i = 0, n = 0;

	while (i < msg->m_nhdrs) {
		if (http_msg_named(msg, &msg->m_hdrs[i], id, name, nlen)) {
			http_msg_remove_at(msg, i);
			n++;
		} else
			i++;
	}
	return (n);
}
