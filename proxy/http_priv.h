/*
 * proxy/http_priv.h: the message structure shared by http.c (which
 * fills it while parsing), http_msg.c, http_rewrite.c and http_write.c.
 * Nothing outside proxy/http*.c and their unit tests includes this
 * file.
 */
#ifndef PROXY_HTTP_PRIV_H
#define PROXY_HTTP_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proxy/http.h"

struct evbuffer;

/*
 * The fields corral itself looks for or writes, known by number: a
 * field's name is classified once, when the field is stored, so that the
 * framing checks, the hop-by-hop pass and the writer compare integers.
 * Ordered by name length (http_field_id() relies on it; test_http_write
 * checks it).
 */
enum http_field_id {
	HTTP_F_OTHER = 0,
	HTTP_F_TE,			/*  2 */
	HTTP_F_VIA,			/*  3 */
	HTTP_F_HOST,			/*  4 */
	HTTP_F_EXPECT,			/*  6 */
	HTTP_F_REFERER,			/*  7 */
	HTTP_F_TRAILER,
	HTTP_F_UPGRADE,
	HTTP_F_CONNECTION,		/* 10 */
	HTTP_F_KEEP_ALIVE,
	HTTP_F_USER_AGENT,
	HTTP_F_X_REQUEST_ID,		/* 12 */
	HTTP_F_CONTENT_LENGTH,		/* 14 */
	HTTP_F_X_FORWARDED_FOR,		/* 15 */
	HTTP_F_PROXY_CONNECTION,	/* 16 */
	HTTP_F_X_FORWARDED_HOST,
	HTTP_F_TRANSFER_ENCODING,	/* 17 */
	HTTP_F_X_FORWARDED_PROTO,
	HTTP_F_X_CLIENT_CERT_SUBJECT,	/* 21 */
	HTTP_F_MAX
};
#define HTTP_F_BIT(id)	(1u << (id))
_Static_assert(HTTP_F_MAX <= 32, "field ids must fit an unsigned mask");

/* One field: offsets into the message's arena, never pointers. */
struct http_hdr {
	size_t		 h_name;
	size_t		 h_namelen;
	size_t		 h_value;
	size_t		 h_valuelen;
	unsigned	 h_id;		/* enum http_field_id */
};

/*
 * A request or response head.  Owned by its parser (see
 * http_parser_take()) or by whoever called http_msg_new().
 *
 * m_buf is an arena: a parsed message starts with its raw head
 * (m_headlen bytes, kept as received for http_msg_head()); fields and
 * start-line parts added or replaced later are appended after it.  Every
 * reference into it is an offset, so the arena may move when it grows.
 */
struct http_msg {
	char		*m_buf;
	size_t		 m_len;
	size_t		 m_cap;
	size_t		 m_headlen;	/* raw head bytes; 0 if built */

	struct http_hdr	*m_hdrs;	/* fields in order */
	size_t		 m_nhdrs;
	size_t		 m_hdrcap;

	enum http_method m_method;
	size_t		 m_method_off;	/* method text */
	size_t		 m_method_len;
	size_t		 m_target_off;	/* request-target */
	size_t		 m_target_len;
	size_t		 m_reason_off;	/* reason phrase */
	size_t		 m_reason_len;
	int		 m_version;	/* 10 or 11 */
	int		 m_status;	/* responses */
	unsigned	 m_flags;	/* HTTP_MSG_* */
	enum http_framing m_framing;
	uint64_t	 m_length;	/* Content-Length, for LENGTH */
};

/*
 * The body decoder of one message (http_body.c), kept in its parser:
 * Content-Length counting, de-chunking, trailers checked and dropped.
 */
struct http_body {
	enum http_framing b_framing;
	uint64_t	 b_remaining;	/* LENGTH: left; CHUNKED: this chunk */
	uint64_t	 b_total;	/* body bytes handed out */
	uint64_t	 b_max;		/* bound on b_total, 0: none (413) */
	size_t		 b_max_tbytes;	/* trailer section bytes (431) */
	size_t		 b_max_tfields;	/* trailer fields (431) */
	int		 b_cstate;	/* chunked: where in the framing */
	unsigned	 b_cdigits;	/* hex digits of this chunk-size */
	size_t		 b_cline;	/* bytes of this chunk-size line */
	size_t		 b_tlen;	/* bytes of this trailer line */
	size_t		 b_tbytes;
	size_t		 b_tfields;
	int		 b_colon;	/* trailer line: colon seen */
	int		 b_status;	/* after ERROR: 400, 413 or 431 */
	const char	*b_error;
};

/* http_body.c: a body of <framing> (<length> for LENGTH) begins. */
void	 http_body_start(struct http_body *b, enum http_framing framing,
	    uint64_t length, const struct http_limits *lim);

/* Whether the body is over without reading another byte. */
int	 http_body_complete(const struct http_body *b);

/*
 * Decodes body bytes from <data>, at most <room> of them out to <body>
 * (NULL: dropped); <*used> is what was consumed.  AGAIN (nothing out,
 * all used), BODY (some out), DONE (the body ended) or ERROR (b_status,
 * b_error).
 */
enum http_parse_result	http_body_span(struct http_body *b, const char *data,
			    size_t len, size_t *used, struct evbuffer *body,
			    size_t room);

/* The same for LENGTH and CLOSE bodies, moving evbuffer chains. */
enum http_parse_result	http_body_move(struct http_body *b,
			    struct evbuffer *in, struct evbuffer *body,
			    size_t room);

/* Empties <msg> for the next message, keeping its allocations. */
void	 http_msg_reset(struct http_msg *msg);

/*
 * Appends <len> bytes to the arena; the offset where they start goes to
 * <*off>.  0 or -1 (ENOMEM).
 */
int	 http_msg_append(struct http_msg *msg, const void *data, size_t len,
	    size_t *off) __attribute__((warn_unused_result));

/*
 * Makes room for <len> more arena bytes; each of the <nptrs> <ptrs> that
 * points into the arena is moved with it.  0 or -1 (ENOMEM).
 */
int	 http_msg_reserve(struct http_msg *msg, size_t len, const char **ptrs,
	    size_t nptrs) __attribute__((warn_unused_result));

/* Makes room for one more field; 0 or -1 (ENOMEM). */
int	 http_msg_grow_fields(struct http_msg *msg)
	    __attribute__((warn_unused_result));

/* <a> and <b>, <len> bytes each, are equal ignoring ASCII case. */
static inline int
http_msg_caseeq(const char *a, const char *b, size_t len)
{
	unsigned char	 x, y;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x != y) {
			if (x >= 'A' && x <= 'Z')
				x += 'a' - 'A';
			if (y >= 'A' && y <= 'Z')
				y += 'a' - 'A';
			if (x != y)
				return (0);
		}
	}
	return (1);
}

/*
 * <name>/<len> equals the NUL-terminated <lit>, ignoring ASCII case;
 * inline, so that a literal's strlen() is folded away.
 */
static inline int
http_msg_name_eq(const char *name, size_t len, const char *lit)
{
	return (strlen(lit) == len && http_msg_caseeq(name, lit, len));
}

/* The id of field name <name>/<len>: HTTP_F_OTHER for most. */
enum http_field_id	 http_field_id(const char *name, size_t len);

/* How corral writes the name of field <id> (not HTTP_F_OTHER). */
const char		*http_field_name(enum http_field_id id, size_t *len);

/* The first field <id> at index <from> or after; SIZE_MAX for none. */
static inline size_t
http_msg_find(const struct http_msg *msg, enum http_field_id id,
    size_t from)
{
	size_t	 i;

	for (i = from; i < msg->m_nhdrs; i++)
		if (msg->m_hdrs[i].h_id == id)
			return (i);
	return (SIZE_MAX);
}

/* http_msg_has_token() for a field known by id. */
int	 http_msg_has_token_id(const struct http_msg *msg,
	    enum http_field_id id, const char *token);

/* http_msg_remove() for a field known by id. */
size_t	 http_msg_remove_id(struct http_msg *msg, enum http_field_id id);

/*
 * Appends field <id> with <value>, for the proxy's own fields: the
 * value must come from corral or from a field of a parsed message, as
 * it is not checked again.  0 or -1 (ENOMEM).
 */
int	 http_msg_add_id(struct http_msg *msg, enum http_field_id id,
	    const char *value, size_t len)
	    __attribute__((warn_unused_result));

/* RFC 9110 §5.6.2 tchar: a table, as the parser asks for every byte. */
extern const unsigned char	http_tchar[256];

static inline int
http_msg_is_tchar(unsigned char c)
{
	return (http_tchar[c]);
}

/*
 * Walks the elements of a comma-separated list (RFC 9110 §5.6.1):
 * returns 1 with the next non-empty element, OWS trimmed, in
 * <*elem>/<*elen>, or 0 at the end.  <*pos> starts at 0.
 */
int	 http_msg_list_next(const char *list, size_t len, size_t *pos,
	    const char **elem, size_t *elen);

#endif /* PROXY_HTTP_PRIV_H */
