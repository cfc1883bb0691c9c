/*
 * proxy/http.c: the incremental HTTP/1.1 parser, one per direction of a
 * connection (client requests, backend responses, health checks).
 *
 * A message goes through three stages.  The head is copied into the
 * message's arena by our own strict line checker (bare CR or LF, control
 * bytes, obs-fold, whitespace before a colon, the URI and field-section
 * limits), which also finds where the head ends: a line of ordinary
 * bytes inside one read is taken whole, the rest byte by byte.  The
 * complete head is then handed to llhttp in one call: llhttp tokenises
 * the start line and the fields (its callbacks record offsets into the
 * arena) and validates them a second time.  Last, the framing is decided
 * by http_check_*() from the stored fields (RFC 9112 §6), and the body
 * is read by our own decoder (http_body.c): Content-Length bodies are
 * moved between evbuffers without copying, chunked bodies go through a
 * strict de-chunker.  Owning the body lets the parser stop exactly at the end
 * of a message (pipelining, upgrades) and hand out no more body bytes
 * than the caller has room for (backpressure), without pausing llhttp.
 *
 * A parser and its message belong to the thread that owns the
 * connection.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <llhttp.h>

#include "lib/alloc.h"
#include "lib/log.h"
#include "proxy/http_priv.h"

#define HTTP_MAX_METHOD		32	/* request method bytes */
#define HTTP_MAX_BLANK_LINES	4	/* CRLFs before a request line */
#define HTTP_MAX_STATUS_LINE	1024	/* response status line bytes */
#define HTTP_MAX_LENGTH_DIGITS	18	/* Content-Length below 10^18 */
#define HTTP_VERSION_LEN	8	/* "HTTP/1.1" */

enum http_state {
	HTTP_S_START = 0,	/* before a message's first byte */
	HTTP_S_HEAD,		/* reading the head */
	HTTP_S_HEAD_DONE,	/* HEAD returned, body not started */
	HTTP_S_BODY,		/* reading the body */
	HTTP_S_END,		/* DONE returned */
	HTTP_S_ERROR,		/* for good */
};


/*
 * Owned by whoever called http_parser_new(); it owns p_msg.  llhttp
 * hands it to the callbacks below through a void pointer.
 */
struct http_parser {
	unsigned		 magic;
#define HTTP_PARSER_MAGIC	0x4e7a9a25
	enum http_parser_kind	 p_kind;
	struct http_limits	 p_lim;
	enum http_state		 p_state;
	struct http_msg		*p_msg;
	int			 p_status;	/* after ERROR */
	const char		*p_error;

	/* Response parsers: the request being answered. */
	enum http_method	 p_req_method;
	int			 p_req_upgrade;

	/* Head scanner. */
	size_t			 p_lstart;	/* current line, arena offset */
	int			 p_cr;		/* last byte was CR */
	int			 p_first;	/* in the start line */
	int			 p_colon;	/* field line: colon seen */
	unsigned		 p_sp;		/* request line: spaces */
	size_t			 p_partlen;	/* request line: current part */
	size_t			 p_fbytes;	/* field section bytes */
	size_t			 p_nfields;
	unsigned		 p_blank;	/* empty lines skipped */

	/* llhttp, run once per head. */
	llhttp_t		 p_ll;
	int			 p_ll_last;	/* 1 field, 2 value */
	int			 p_ll_done;	/* on_message_complete seen */
	int			 p_ll_nomem;
	unsigned		 p_ids;		/* HTTP_F_BIT()s seen */

	/* Body: framing copied from the message, which may be taken. */
	int			 p_keepalive;
	struct http_body	 p_body;

	/* Kept from an earlier user (see http_parser_free()). */
	struct http_msg		*p_spare;	/* the next p_msg */
	struct http_parser	*p_next;	/* in http_cache */
};

/*
 * Freed parsers are kept by their thread, with a message of modest size
 * (HTTP_CACHE_ARENA, HTTP_CACHE_FIELDS), for the next http_parser_new():
 * every client connection makes a request parser, every attempt a
 * response parser.
 */
#define HTTP_CACHE_MAX		256
#define HTTP_CACHE_ARENA	(16 * 1024)
#define HTTP_CACHE_FIELDS	256	/* m_hdrs kept: 8 KiB */
static __thread struct http_parser	*http_cache;
static __thread unsigned		 http_ncache;

static enum http_parse_result	 http_fail(struct http_parser *p,
				    int status, const char *reason);
static void			 http_begin(struct http_parser *p);
static enum http_parse_result	 http_head_span(struct http_parser *p,
				    const char *data, size_t len,
				    size_t *used);
static enum http_parse_result	 http_head_byte(struct http_parser *p,
				    unsigned char c);
static size_t			 http_head_run(struct http_parser *p,
				    const unsigned char *d, size_t len);
static size_t			 http_head_fast(struct http_parser *p,
				    const unsigned char *d, size_t len);
static enum http_parse_result	 http_head_line(struct http_parser *p);
static enum http_parse_result	 http_request_line(struct http_parser *p);
static enum http_parse_result	 http_status_line(struct http_parser *p);
static enum http_parse_result	 http_head_done(struct http_parser *p);
static enum http_parse_result	 http_ll_failed(struct http_parser *p,
				    llhttp_errno_t err);
static enum http_parse_result	 http_check_framing(struct http_parser *p);
static enum http_parse_result	 http_check_request(struct http_parser *p);
static enum http_parse_result	 http_check_response(struct http_parser *p);
static int			 http_valid_host(const char *h, size_t len);
static int			 http_has_token(const struct http_parser *p,
				    enum http_field_id id, const char *token);
static enum http_parse_result	 http_body(struct http_parser *p,
				    const char *data, size_t len,
				    size_t *used, struct evbuffer *body,
				    size_t room);
static int	http_ll_method(llhttp_t *ll, const char *at, size_t len);
static int	http_ll_url(llhttp_t *ll, const char *at, size_t len);
static int	http_ll_status(llhttp_t *ll, const char *at, size_t len);
static int	http_ll_field(llhttp_t *ll, const char *at, size_t len);
static int	http_ll_value(llhttp_t *ll, const char *at, size_t len);
static int	http_ll_headers_complete(llhttp_t *ll);
static int	http_ll_message_complete(llhttp_t *ll);

static const char *const http_method_names[] = {
	[HTTP_METHOD_OTHER] = NULL,
#define HTTP_METHOD_NAME(id, name)	[HTTP_METHOD_##id] = name,
	HTTP_METHODS(HTTP_METHOD_NAME)
#undef HTTP_METHOD_NAME
};

/* llhttp only tokenises the head: every body is skipped (see above). */
static const llhttp_settings_t http_ll_settings = {
	.on_method = http_ll_method,
	.on_url = http_ll_url,
	.on_status = http_ll_status,
	.on_header_field = http_ll_field,
	.on_header_value = http_ll_value,
	.on_headers_complete = http_ll_headers_complete,
	.on_message_complete = http_ll_message_complete,
};

#define HTTP_IS_CTL(c)	((c) < 0x20 || (c) == 0x7f)
#define HTTP_IS_WS(c)	((c) == ' ' || (c) == '\t')

/* http_head_run()'s ordinary bytes: request line parts (no space)... */
static const unsigned char http_cls_rline[256] = { [0x21 ... 0x7e] = 1 };
/* ...the status line and field values (RFC 9110 §5.5: obs-text too), */
static const unsigned char http_cls_value[256] = {
	['\t'] = 1, [0x20 ... 0x7e] = 1, [0x80 ... 0xff] = 1
};
/* and field names: http_tchar. */

#define HTTP_IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* ------------------------------------------------------------------ */

void
http_limits_default(struct http_limits *lim)
{
	lim->l_max_uri = HTTP_DEFAULT_MAX_URI;
	lim->l_max_header_bytes = HTTP_DEFAULT_MAX_HEADER_BYTES;
	lim->l_max_headers = HTTP_DEFAULT_MAX_HEADERS;
	lim->l_max_body = 0;
}

const char *
http_method_name(enum http_method m)
{
	if ((size_t)m >= sizeof(http_method_names) /
	    sizeof(http_method_names[0]))
		return (NULL);
	return (http_method_names[m]);
}

enum http_method
http_method_lookup(const char *name, size_t len)
{
	size_t	 i;

	for (i = 1; i < sizeof(http_method_names) /
	    sizeof(http_method_names[0]); i++) {
		if (strlen(http_method_names[i]) == len &&
		    memcmp(http_method_names[i], name, len) == 0)
			return ((enum http_method)i);
	}
	return (HTTP_METHOD_OTHER);
}

const char *
http_reason(int status)
{
	switch (status) {
#define HTTP_REASON_CASE(code, text)	case code: return (text);
	HTTP_REASONS(HTTP_REASON_CASE)
#undef HTTP_REASON_CASE
	default:
		return ("Unknown");
	}
}

struct http_parser *
http_parser_new(enum http_parser_kind kind, const struct http_limits *lim)
{
	struct http_parser	*p;
	struct http_msg		*spare;

	if ((p = http_cache) != NULL) {
		CACHE_UNPOISON(p);
		http_cache = p->p_next;
		http_ncache--;
		spare = p->p_spare;
		memset(p, 0, sizeof(*p));
		p->p_spare = spare;
	} else if ((p = calloc(1, sizeof(*p))) == NULL)
		return (NULL);
	p->magic = HTTP_PARSER_MAGIC;
	p->p_kind = kind;
	http_limits_default(&p->p_lim);
	if (lim != NULL) {
		if (lim->l_max_uri > 0)
			p->p_lim.l_max_uri = lim->l_max_uri;
		if (lim->l_max_header_bytes > 0)
			p->p_lim.l_max_header_bytes = lim->l_max_header_bytes;
		if (lim->l_max_headers > 0)
			p->p_lim.l_max_headers = lim->l_max_headers;
		p->p_lim.l_max_body = lim->l_max_body;
	}
	p->p_state = HTTP_S_START;
	p->p_req_method = HTTP_METHOD_GET;
	return (p);
}

void
http_parser_free(struct http_parser *p)
{
	struct http_msg	*keep;

	if (p == NULL)
		return;
	p->magic = 0;
	if (http_ncache < HTTP_CACHE_MAX) {
		/* One message at most, and not a big one. */
		if (p->p_msg != NULL) {
			http_msg_free(p->p_spare);
			keep = p->p_msg;
		} else
			keep = p->p_spare;
		if (keep != NULL && (keep->m_cap > HTTP_CACHE_ARENA ||
		    keep->m_hdrcap > HTTP_CACHE_FIELDS)) {
			http_msg_free(keep);
			keep = NULL;
		}
		p->p_msg = NULL;
		p->p_spare = keep;
		p->p_next = http_cache;
		http_cache = p;
		http_ncache++;
		CACHE_POISON(p);
		return;
	}
	http_msg_free(p->p_msg);
	http_msg_free(p->p_spare);
	free(p);
}

void
http_parser_cache_flush(void)
{
	struct http_parser	*p;

	while ((p = http_cache) != NULL) {
		CACHE_UNPOISON(p);
		http_cache = p->p_next;
		http_ncache--;
		http_msg_free(p->p_spare);
		free(p);
	}
}

void
http_parser_set_request(struct http_parser *p, enum http_method method,
    int upgrade)
{
	p->p_req_method = method;
	p->p_req_upgrade = upgrade;
}

struct http_msg *
http_parser_msg(struct http_parser *p)
{
	return (p->p_msg);
}

struct http_msg *
http_parser_take(struct http_parser *p)
{
	struct http_msg	*msg = p->p_msg;

	p->p_msg = NULL;
	return (msg);
}

int
http_parser_status(const struct http_parser *p)
{
	return (p->p_status);
}

const char *
http_parser_error(const struct http_parser *p)
{
	return (p->p_error != NULL ? p->p_error : "no error");
}

uint64_t
http_parser_body_bytes(const struct http_parser *p)
{
	return (p->p_body.b_total);
}

/*
 * Enters the error state.  A response's faults are the backend's: the
 * client gets a 502 whatever the request-side status would have been.
 */
static enum http_parse_result
http_fail(struct http_parser *p, int status, const char *reason)
{
	p->p_state = HTTP_S_ERROR;
	p->p_status = p->p_kind == HTTP_PARSER_RESPONSE ? 502 : status;
	p->p_error = reason;
	return (HTTP_PARSE_ERROR);
}

static void
http_begin(struct http_parser *p)
{
	http_msg_reset(p->p_msg);
	p->p_state = HTTP_S_HEAD;
	p->p_lstart = 0;
	p->p_cr = 0;
	p->p_first = 1;
	p->p_colon = 0;
	p->p_sp = 0;
	p->p_partlen = 0;
	p->p_fbytes = 0;
	p->p_nfields = 0;
	p->p_blank = 0;
	p->p_keepalive = 0;
	http_body_start(&p->p_body, HTTP_FRAMING_NONE, 0, &p->p_lim);
}

/* ------------------------------------------------------------------ */

enum http_parse_result
http_parse_span(struct http_parser *p, const char *data, size_t len,
    size_t *used, struct evbuffer *body, size_t body_max)
{
	ASSERT(body_max > 0);
	*used = 0;
	switch (p->p_state) {
	case HTTP_S_ERROR:
		return (HTTP_PARSE_ERROR);
	case HTTP_S_END:
		if (len == 0)
			return (HTTP_PARSE_AGAIN);
		if (!p->p_keepalive)
			return (http_fail(p, 400,
			    "data after the connection's last message"));
		/* FALLTHROUGH */
	case HTTP_S_START:
		if (len == 0)
			return (HTTP_PARSE_AGAIN);
		if (p->p_msg == NULL && p->p_spare != NULL) {
			p->p_msg = p->p_spare;
			p->p_spare = NULL;
		}
		if (p->p_msg == NULL && (p->p_msg = http_msg_new()) == NULL)
			return (http_fail(p, 503, "out of memory"));
		http_begin(p);
		/* FALLTHROUGH */
	case HTTP_S_HEAD:
		return (http_head_span(p, data, len, used));
	case HTTP_S_HEAD_DONE:
		if (http_body_complete(&p->p_body)) {
			p->p_state = HTTP_S_END;
			return (HTTP_PARSE_DONE);
		}
		p->p_state = HTTP_S_BODY;
		/* FALLTHROUGH */
	case HTTP_S_BODY:
		return (http_body(p, data, len, used, body, body_max));
	}
	return (http_fail(p, 500, "parser state"));
}

enum http_parse_result
http_parse(struct http_parser *p, struct evbuffer *in, struct evbuffer *body,
    size_t body_max)
{
	enum http_parse_result	 r;
	struct evbuffer_iovec	 v;
	uint64_t		 before = p->p_body.b_total;
	size_t			 used, room = body_max;

	ASSERT(body_max > 0);
	for (;;) {
		if (p->p_state == HTTP_S_BODY &&
		    (p->p_body.b_framing == HTTP_FRAMING_LENGTH ||
		    p->p_body.b_framing == HTTP_FRAMING_CLOSE)) {
			r = http_body_move(&p->p_body, in, body, room);
			if (r == HTTP_PARSE_ERROR)
				return (http_fail(p, p->p_body.b_status,
				    p->p_body.b_error));
			if (r == HTTP_PARSE_DONE)
				p->p_state = HTTP_S_END;
			else if (p->p_body.b_total > before)
				r = HTTP_PARSE_BODY;
			return (r);
		}
		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1) {
			v.iov_base = NULL;
			v.iov_len = 0;
		}
		r = http_parse_span(p, v.iov_base, v.iov_len, &used, body,
		    room);
		if (used > 0)
			evbuffer_drain(in, used);
		if (r == HTTP_PARSE_AGAIN || r == HTTP_PARSE_BODY) {
			room = body_max - (size_t)(p->p_body.b_total - before);
			if (used > 0 && room > 0 && evbuffer_get_length(in) > 0)
				continue;
			return (p->p_body.b_total > before ? HTTP_PARSE_BODY :
			    HTTP_PARSE_AGAIN);
		}
		return (r);
	}
}

enum http_parse_result
http_parse_eof(struct http_parser *p)
{
	switch (p->p_state) {
	case HTTP_S_ERROR:
		return (HTTP_PARSE_ERROR);
	case HTTP_S_START:
	case HTTP_S_END:
		return (HTTP_PARSE_OK);
	case HTTP_S_HEAD:
		if (p->p_msg->m_len == 0)
			return (HTTP_PARSE_OK);
		return (http_fail(p, 400, "connection closed in the head"));
	case HTTP_S_HEAD_DONE:
	case HTTP_S_BODY:
		if (p->p_body.b_framing == HTTP_FRAMING_CLOSE ||
		    http_body_complete(&p->p_body)) {
			p->p_state = HTTP_S_END;
			p->p_keepalive = 0;
			return (HTTP_PARSE_DONE);
		}
		return (http_fail(p, 400, "connection closed in the body"));
	}
	return (http_fail(p, 500, "parser state"));
}

/* ------------------------------------------------------------------ */

/* Scans head bytes into the arena until the empty line that ends it. */
static enum http_parse_result
http_head_span(struct http_parser *p, const char *data, size_t len,
    size_t *used)
{
	struct http_msg		*msg = p->p_msg;
	enum http_parse_result	 r;
	size_t			 i, n, want;

	/*
	 * Room for this span, bounded by what a head may hold, so the
	 * loop below stores bytes without further checks.
	 */
	want = len < p->p_lim.l_max_header_bytes + p->p_lim.l_max_uri +
	    HTTP_MAX_STATUS_LINE ? len : p->p_lim.l_max_header_bytes +
	    p->p_lim.l_max_uri + HTTP_MAX_STATUS_LINE;
	if (http_msg_reserve(msg, want + 1, NULL, 0) == -1)
		return (http_fail(p, 503, "out of memory"));
	for (i = 0; i < len; i++) {
		if (msg->m_len == p->p_lstart && !p->p_cr &&
		    (n = http_head_fast(p, (const unsigned char *)data + i,
		    len - i)) > 0) {
			i += n - 1;
			if ((r = http_head_line(p)) == HTTP_PARSE_AGAIN)
				continue;
			*used = i + 1;
			return (r);
		}
		if ((n = http_head_run(p, (const unsigned char *)data + i,
		    len - i)) > 0) {
			memcpy(msg->m_buf + msg->m_len, data + i, n);
			msg->m_len += n;
			i += n - 1;
			continue;
		}
		if (msg->m_len == msg->m_cap &&
		    http_msg_reserve(msg, 1, NULL, 0) == -1)
			return (http_fail(p, 503, "out of memory"));
		r = http_head_byte(p, (unsigned char)data[i]);
		if (r == HTTP_PARSE_AGAIN)
			continue;
		*used = i + 1;
		return (r);
	}
	*used = len;
	return (HTTP_PARSE_AGAIN);
}

/* The length of the run of <cls> bytes at <d>, at most <max>. */
static inline size_t
http_cls_run(const unsigned char *cls, const unsigned char *d, size_t max)
{
	size_t	 n;

	for (n = 0; n < max && cls[d[n]]; n++)
		continue;
	return (n);
}

/*
 * A whole line at <d>, at a line's start, when nothing in it needs
 * http_head_byte(): a start line or field line of ordinary bytes within
 * every limit, or the empty line, all its bytes (CRLF included) in the
 * span.  It is stored, and counted, as http_head_byte() would have, and
 * its length returned, for http_head_line() to judge.  0 leaves the line
 * to the byte-by-byte path, which finds the same line good or says what
 * is wrong with it; this only makes the usual case cheap.
 */
static size_t
http_head_fast(struct http_parser *p, const unsigned char *d, size_t len)
{
	struct http_msg		*msg = p->p_msg;
	size_t			 n, m, t, v;

	if (p->p_first && p->p_kind == HTTP_PARSER_REQUEST) {
		/* method SP request-target SP HTTP-version CRLF */
		if ((m = http_cls_run(http_cls_rline, d, len)) == 0 ||
		    m > HTTP_MAX_METHOD || m == len || d[m] != ' ')
			return (0);
		n = m + 1;
		if ((t = http_cls_run(http_cls_rline, d + n, len - n)) == 0 ||
		    t > p->p_lim.l_max_uri || t == len - n || d[n + t] != ' ')
			return (0);
		n += t + 1;
		if ((v = http_cls_run(http_cls_rline, d + n, len - n)) == 0 ||
		    v > HTTP_VERSION_LEN)
			return (0);
		n += v;
	} else if (p->p_first) {
		/* The status line: visible bytes, spaces, tabs, obs-text. */
		n = http_cls_run(http_cls_value, d, len);
		if (n > HTTP_MAX_STATUS_LINE)
			return (0);
	} else {
		/* field-name ":" field-value, or the empty line */
		n = http_cls_run(http_tchar, d, len);
		if (n > 0) {
			if (n == len || d[n] != ':')
				return (0);
			n++;
			n += http_cls_run(http_cls_value, d + n, len - n);
		}
		if (p->p_fbytes > p->p_lim.l_max_header_bytes ||
		    n + 2 > p->p_lim.l_max_header_bytes - p->p_fbytes)
			return (0);
	}
	if (n + 2 > len || d[n] != '\r' || d[n + 1] != '\n' ||
	    n + 2 > msg->m_cap - msg->m_len)
		return (0);
	n += 2;
	memcpy(msg->m_buf + msg->m_len, d, n);
	msg->m_len += n;
	if (!p->p_first) {
		p->p_fbytes += n;
		p->p_colon = n > 2;
	} else if (p->p_kind == HTTP_PARSER_REQUEST)
		p->p_sp = 2;
	return (n);
}

/*
 * How many of the bytes at <d> need none of http_head_byte()'s
 * decisions: a run of ordinary bytes within a part of the request line,
 * the status line, a field name or a field value, short of every limit,
 * so that the byte which ends the run, breaks a rule or passes a limit
 * is still judged, and reported, by http_head_byte().  Most of a head
 * is such runs; taking them whole is what keeps the byte-by-byte rules
 * cheap.  The count is added to the limit's counter; 0 for none.
 */
static size_t
http_head_run(struct http_parser *p, const unsigned char *d, size_t len)
{
	struct http_msg		*msg = p->p_msg;
	const unsigned char	*cls;
	size_t			 max = msg->m_cap - msg->m_len, lim, n;

	if (p->p_cr)
		return (0);
	if (p->p_first && p->p_kind == HTTP_PARSER_REQUEST) {
		lim = p->p_sp == 0 ? HTTP_MAX_METHOD : p->p_sp == 1 ?
		    p->p_lim.l_max_uri : HTTP_VERSION_LEN;
		if (p->p_partlen >= lim)
			return (0);
		if (max > lim - p->p_partlen)
			max = lim - p->p_partlen;
		cls = http_cls_rline;
	} else if (p->p_first) {
		n = msg->m_len - p->p_lstart;
		if (n >= HTTP_MAX_STATUS_LINE)
			return (0);
		if (max > HTTP_MAX_STATUS_LINE - n)
			max = HTTP_MAX_STATUS_LINE - n;
		cls = http_cls_value;
	} else {
		if (p->p_fbytes >= p->p_lim.l_max_header_bytes ||
		    (!p->p_colon && msg->m_len == p->p_lstart))
			return (0);	/* a line's first byte: folding? */
		if (max > p->p_lim.l_max_header_bytes - p->p_fbytes)
			max = p->p_lim.l_max_header_bytes - p->p_fbytes;
		cls = p->p_colon ? http_cls_value : http_tchar;
	}
	if (max > len)
		max = len;
	for (n = 0; n < max && cls[d[n]]; n++)
		continue;
	if (!p->p_first)
		p->p_fbytes += n;
	else if (p->p_kind == HTTP_PARSER_REQUEST)
		p->p_partlen += n;
	return (n);
}

/*
 * One byte of the head.  The rules are RFC 9112 §2.2 (CRLF only, no
 * bare CR), §5.1 (no whitespace between field name and colon) and §5.2
 * (no obs-fold), and RFC 9110 §5.5 (no control bytes in values).
 */
static enum http_parse_result
http_head_byte(struct http_parser *p, unsigned char c)
{
	struct http_msg	*msg = p->p_msg;
	int		 req = p->p_kind == HTTP_PARSER_REQUEST;

	if (!p->p_first && ++p->p_fbytes > p->p_lim.l_max_header_bytes)
		return (http_fail(p, 431, "header fields too large"));
	if (p->p_cr) {
		if (c != '\n')
			return (http_fail(p, 400, "bare CR in the head"));
		p->p_cr = 0;
		msg->m_buf[msg->m_len++] = c;
		return (http_head_line(p));
	}
	if (c == '\r') {
		p->p_cr = 1;
		msg->m_buf[msg->m_len++] = c;
		return (HTTP_PARSE_AGAIN);
	}
	if (c == '\n')
		return (http_fail(p, 400, "bare LF in the head"));
	if (HTTP_IS_CTL(c) && c != '\t')
		return (http_fail(p, 400, "control byte in the head"));
	if (p->p_first && req) {
		if (c == '\t' || c >= 0x80)
			return (http_fail(p, 400,
			    "invalid byte in the request line"));
		if (c == ' ') {
			if (++p->p_sp > 2)
				return (http_fail(p, 400,
				    "space in the request-target"));
			p->p_partlen = 0;
		} else if (++p->p_partlen > (p->p_sp == 0 ? HTTP_MAX_METHOD :
		    p->p_sp == 1 ? p->p_lim.l_max_uri : HTTP_VERSION_LEN)) {
			if (p->p_sp == 1)
				return (http_fail(p, 414,
				    "request-target too long"));
			return (http_fail(p, 400, "malformed request line"));
		}
	} else if (p->p_first) {
		if (msg->m_len - p->p_lstart >= HTTP_MAX_STATUS_LINE)
			return (http_fail(p, 502, "status line too long"));
	} else if (msg->m_len == p->p_lstart && HTTP_IS_WS(c)) {
		return (http_fail(p, 400, "obsolete line folding"));
	} else if (!p->p_colon) {
		if (c == ':') {
			if (msg->m_len == p->p_lstart)
				return (http_fail(p, 400, "empty field name"));
			p->p_colon = 1;
		} else if (HTTP_IS_WS(c))
			return (http_fail(p, 400,
			    "whitespace before the colon"));
		else if (!http_msg_is_tchar(c))
			return (http_fail(p, 400, "invalid field name"));
	}
	msg->m_buf[msg->m_len++] = c;
	return (HTTP_PARSE_AGAIN);
}

/* A line of the head ended with CRLF. */
static enum http_parse_result
http_head_line(struct http_parser *p)
{
	struct http_msg		*msg = p->p_msg;
	enum http_parse_result	 r;
	size_t			 len = msg->m_len - 2 - p->p_lstart;

	if (p->p_first) {
		if (len == 0) {
			/* RFC 9112 §2.2: empty lines before a request. */
			if (p->p_kind == HTTP_PARSER_REQUEST &&
			    ++p->p_blank <= HTTP_MAX_BLANK_LINES) {
				msg->m_len = 0;
				return (HTTP_PARSE_AGAIN);
			}
			return (http_fail(p, 400, "empty start line"));
		}
		p->p_first = 0;
		r = p->p_kind == HTTP_PARSER_REQUEST ? http_request_line(p) :
		    http_status_line(p);
		p->p_lstart = msg->m_len;
		return (r);
	}
	if (len == 0)
		return (http_head_done(p));
	if (!p->p_colon)
		return (http_fail(p, 400, "field line without a colon"));
	if (++p->p_nfields > p->p_lim.l_max_headers)
		return (http_fail(p, 431, "too many header fields"));
	p->p_colon = 0;
	p->p_lstart = msg->m_len;
	return (HTTP_PARSE_AGAIN);
}

/*
 * method SP request-target SP HTTP-version (RFC 9112 §3).  The bytes are
 * already known to be printable ASCII with exactly two spaces; here the
 * parts are checked, and the version decided: 505 for a well-formed
 * version other than 1.0 and 1.1 (RFC 9110 §15.6.6).
 */
static enum http_parse_result
http_request_line(struct http_parser *p)
{
	const char	*line = p->p_msg->m_buf, *sp1, *sp2, *v;
	size_t		 len = p->p_msg->m_len - 2, i;

	if (p->p_sp != 2)
		return (http_fail(p, 400, "malformed request line"));
	sp1 = memchr(line, ' ', len);
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line));
	v = sp2 + 1;
	if (sp1 == line || sp2 == sp1 + 1)
		return (http_fail(p, 400, "malformed request line"));
	for (i = 0; line + i < sp1; i++)
		if (!http_msg_is_tchar(line[i]))
			return (http_fail(p, 400, "invalid method"));
	if (line + len - v != HTTP_VERSION_LEN || memcmp(v, "HTTP/", 5) != 0 ||
	    !HTTP_IS_DIGIT(v[5]) || v[6] != '.' || !HTTP_IS_DIGIT(v[7]))
		return (http_fail(p, 400, "malformed HTTP version"));
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return (http_fail(p, 505, "unsupported HTTP version"));
	return (HTTP_PARSE_AGAIN);
}

/* HTTP-version SP status-code [SP reason-phrase] (RFC 9112 §4). */
static enum http_parse_result
http_status_line(struct http_parser *p)
{
	const char	*l = p->p_msg->m_buf;
	size_t		 len = p->p_msg->m_len - 2;
	int		 status;

	if (len < 12 || memcmp(l, "HTTP/1.", 7) != 0 ||
	    (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
	    !HTTP_IS_DIGIT(l[9]) || !HTTP_IS_DIGIT(l[10]) ||
	    !HTTP_IS_DIGIT(l[11]) || (len > 12 && l[12] != ' '))
		return (http_fail(p, 502, "malformed status line"));
	status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (status < 100 || status > 599)
		return (http_fail(p, 502, "invalid status code"));
	return (HTTP_PARSE_AGAIN);
}

/* ------------------------------------------------------------------ */

/* The head is in the arena: let llhttp tokenise it, then check it. */
static enum http_parse_result
http_head_done(struct http_parser *p)
{
	struct http_msg		*msg = p->p_msg;
	struct http_hdr		*h;
	llhttp_errno_t		 err;
	enum http_parse_result	 r;
	size_t			 i;

	msg->m_headlen = msg->m_len;
	llhttp_init(&p->p_ll, p->p_kind == HTTP_PARSER_REQUEST ?
	    HTTP_REQUEST : HTTP_RESPONSE, &http_ll_settings);
	p->p_ll.data = p;
	p->p_ll_last = 0;
	p->p_ll_done = 0;
	p->p_ll_nomem = 0;
	err = llhttp_execute(&p->p_ll, msg->m_buf, msg->m_len);
	if (p->p_ll_nomem)
		return (http_fail(p, 503, "out of memory"));
	if (err != HPE_OK && err != HPE_PAUSED_UPGRADE)
		return (http_ll_failed(p, err));
	if (!p->p_ll_done)
		return (http_fail(p, 400, "incomplete head"));

	/*
	 * Field values lose their surrounding OWS (RFC 9110 §5.5); names
	 * are classified once, for every later lookup.
	 */
	p->p_ids = 0;
	for (i = 0; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		h->h_id = http_field_id(msg->m_buf + h->h_name, h->h_namelen);
		p->p_ids |= HTTP_F_BIT(h->h_id);
		while (h->h_valuelen > 0 && HTTP_IS_WS(msg->m_buf[h->h_value]))
			h->h_value++, h->h_valuelen--;
		while (h->h_valuelen > 0 &&
		    HTTP_IS_WS(msg->m_buf[h->h_value + h->h_valuelen - 1]))
			h->h_valuelen--;
	}
	msg->m_version = llhttp_get_http_major(&p->p_ll) * 10 +
	    llhttp_get_http_minor(&p->p_ll);
	if ((r = http_check_framing(p)) != HTTP_PARSE_AGAIN)
		return (r);
	if (p->p_kind == HTTP_PARSER_REQUEST)
		r = http_check_request(p);
	else
		r = http_check_response(p);
	if (r != HTTP_PARSE_AGAIN)
		return (r);
	http_body_start(&p->p_body, msg->m_framing, msg->m_length, &p->p_lim);
	p->p_keepalive = (msg->m_flags & HTTP_MSG_KEEPALIVE) != 0;
	p->p_state = HTTP_S_HEAD_DONE;
	return (HTTP_PARSE_HEAD);
}

/*
 * llhttp refused a head our scanner accepted.  The scanner has checked
 * that the method is a token and the version is 1.0 or 1.1, so an error
 * llhttp reports in the request line is a method it does not know:
 * 501 (RFC 9110 §9.1).
 */
static enum http_parse_result
http_ll_failed(struct http_parser *p, llhttp_errno_t err)
{
	const char	*pos = llhttp_get_error_pos(&p->p_ll);
	const char	*eol;

	eol = memchr(p->p_msg->m_buf, '\r', p->p_msg->m_len);
	if (p->p_kind == HTTP_PARSER_REQUEST &&
	    (err == HPE_INVALID_METHOD || err == HPE_INVALID_CONSTANT) &&
	    pos != NULL && eol != NULL && pos <= eol)
		return (http_fail(p, 501, "method not implemented"));
	switch (err) {
	case HPE_INVALID_URL:
		return (http_fail(p, 400, "invalid request-target"));
	case HPE_INVALID_VERSION:
		return (http_fail(p, 505, "unsupported HTTP version"));
	case HPE_UNEXPECTED_CONTENT_LENGTH:
	case HPE_INVALID_CONTENT_LENGTH:
		return (http_fail(p, 400, "invalid Content-Length"));
	case HPE_INVALID_TRANSFER_ENCODING:
		return (http_fail(p, 400, "invalid Transfer-Encoding"));
	case HPE_INVALID_HEADER_TOKEN:
		return (http_fail(p, 400, "invalid header field"));
	default:
		return (http_fail(p, 400, "malformed head"));
	}
}

/* The offset of <at> in the arena, or SIZE_MAX if llhttp strayed. */
static size_t
http_ll_off(struct http_parser *p, const char *at, size_t len)
{
	const char	*b = p->p_msg->m_buf;

	ASSERT(p->magic == HTTP_PARSER_MAGIC);
	if (at < b || at + len > b + p->p_msg->m_len)
		return (SIZE_MAX);
	return ((size_t)(at - b));
}

/* Spans arrive whole (one execute call per head); append in case not. */
static void
http_ll_span(size_t *off, size_t *len, size_t at, size_t n)
{
	if (*len == 0)
		*off = at;
	*len = at + n - *off;
}

static int
http_ll_method(llhttp_t *ll, const char *at, size_t len)
{
	struct http_parser	*p = ll->data;
	size_t			 off = http_ll_off(p, at, len);

	if (off == SIZE_MAX)
		return (-1);
	http_ll_span(&p->p_msg->m_method_off, &p->p_msg->m_method_len, off,
	    len);
	return (0);
}

static int
http_ll_url(llhttp_t *ll, const char *at, size_t len)
{
	struct http_parser	*p = ll->data;
	size_t			 off = http_ll_off(p, at, len);

	if (off == SIZE_MAX)
		return (-1);
	http_ll_span(&p->p_msg->m_target_off, &p->p_msg->m_target_len, off,
	    len);
	return (0);
}

static int
http_ll_status(llhttp_t *ll, const char *at, size_t len)
{
	struct http_parser	*p = ll->data;
	size_t			 off = http_ll_off(p, at, len);

	if (off == SIZE_MAX)
		return (-1);
	http_ll_span(&p->p_msg->m_reason_off, &p->p_msg->m_reason_len, off,
	    len);
	return (0);
}

static int
http_ll_field(llhttp_t *ll, const char *at, size_t len)
{
	struct http_parser	*p = ll->data;
	struct http_msg		*msg = p->p_msg;
	struct http_hdr		*h;
	size_t			 off = http_ll_off(p, at, len);

	if (off == SIZE_MAX)
		return (-1);
	if (p->p_ll_last != 1) {
		if (http_msg_grow_fields(msg) == -1) {
			p->p_ll_nomem = 1;
			return (-1);
		}
		h = &msg->m_hdrs[msg->m_nhdrs++];
		h->h_name = off;
		h->h_namelen = 0;
		h->h_valuelen = 0;
	}
	h = &msg->m_hdrs[msg->m_nhdrs - 1];
	http_ll_span(&h->h_name, &h->h_namelen, off, len);
	h->h_value = h->h_name + h->h_namelen;
	p->p_ll_last = 1;
	return (0);
}

static int
http_ll_value(llhttp_t *ll, const char *at, size_t len)
{
	struct http_parser	*p = ll->data;
	struct http_msg		*msg = p->p_msg;
	struct http_hdr		*h;
	size_t			 off = http_ll_off(p, at, len);

	if (off == SIZE_MAX || msg->m_nhdrs == 0)
		return (-1);
	h = &msg->m_hdrs[msg->m_nhdrs - 1];
	http_ll_span(&h->h_value, &h->h_valuelen, off, len);
	p->p_ll_last = 2;
	return (0);
}

/* 1: "no body" for llhttp, which never reads one (see the top). */
static int
http_ll_headers_complete(llhttp_t *ll)
{
	(void)ll;
	return (1);
}

static int
http_ll_message_complete(llhttp_t *ll)
{
	struct http_parser	*p = ll->data;

	ASSERT(p->magic == HTTP_PARSER_MAGIC);
	p->p_ll_done = 1;
	return (0);
}

/* ------------------------------------------------------------------ */

/*
 * Content-Length and Transfer-Encoding (RFC 9112 §6.1-6.3): the checks
 * against request smuggling.  Both at once, duplicates, lists, signs,
 * spaces, overflow, HTTP/1.0 with Transfer-Encoding, and any coding
 * but a single final chunked are refused, never guessed at.
 */
static enum http_parse_result
http_check_framing(struct http_parser *p)
{
	struct http_msg		*msg = p->p_msg;
	const struct http_hdr	*h;
	const char		*v, *e;
	size_t			 i, j, pos, elen, ncl = 0, nte = 0;
	unsigned		 nchunked = 0, nother = 0, last_chunked = 0;
	uint64_t		 length = 0;

	/* A head with neither (most requests) needs no look. */
	i = p->p_ids & (HTTP_F_BIT(HTTP_F_CONTENT_LENGTH) |
	    HTTP_F_BIT(HTTP_F_TRANSFER_ENCODING)) ? 0 : msg->m_nhdrs;
	for (; i < msg->m_nhdrs; i++) {
		h = &msg->m_hdrs[i];
		v = msg->m_buf + h->h_value;
		if (h->h_id == HTTP_F_CONTENT_LENGTH) {
			if (++ncl > 1)
				return (http_fail(p, 400,
				    "duplicate Content-Length"));
			if (h->h_valuelen == 0 ||
			    h->h_valuelen > HTTP_MAX_LENGTH_DIGITS)
				return (http_fail(p, 400,
				    "invalid Content-Length"));
			for (j = 0; j < h->h_valuelen; j++) {
				if (!HTTP_IS_DIGIT(v[j]))
					return (http_fail(p, 400,
					    "invalid Content-Length"));
				length = length * 10 + (uint64_t)(v[j] - '0');
			}
		} else if (h->h_id == HTTP_F_TRANSFER_ENCODING) {
			nte++;
			pos = 0;
			while (http_msg_list_next(v, h->h_valuelen, &pos, &e,
			    &elen)) {
				for (j = 0; j < elen; j++)
					if (!http_msg_is_tchar(e[j]))
						return (http_fail(p, 400,
						    "invalid transfer coding"));
				last_chunked = http_msg_name_eq(e, elen,
				    "chunked");
				if (last_chunked)
					nchunked++;
				else
					nother++;
			}
		}
	}
	if (ncl > 0 && nte > 0)
		return (http_fail(p, 400,
		    "Content-Length with Transfer-Encoding"));
	if (nte > 0) {
		if (msg->m_version == 10)
			return (http_fail(p, 400,
			    "Transfer-Encoding in HTTP/1.0"));
		if (!last_chunked)
			return (http_fail(p, 400,
			    "final transfer coding is not chunked"));
		if (nchunked > 1)
			return (http_fail(p, 400, "chunked applied twice"));
		if (nother > 0)
			return (http_fail(p, 501,
			    "transfer coding not implemented"));
		msg->m_framing = HTTP_FRAMING_CHUNKED;
	} else if (ncl > 0) {
		msg->m_framing = HTTP_FRAMING_LENGTH;
		msg->m_length = length;
	} else if (p->p_kind == HTTP_PARSER_REQUEST)
		msg->m_framing = HTTP_FRAMING_NONE;
	else
		msg->m_framing = HTTP_FRAMING_CLOSE;
	return (HTTP_PARSE_AGAIN);
}

/* RFC 9112 §3.2 and RFC 9110 §7.2: one Host, a valid authority. */
static enum http_parse_result
http_check_request(struct http_parser *p)
{
	struct http_msg	*msg = p->p_msg;
	const char	*t = msg->m_buf + msg->m_target_off, *host, *e;
	size_t		 tlen = msg->m_target_len, hlen, pos, elen, i;

	msg->m_method = http_method_lookup(msg->m_buf + msg->m_method_off,
	    msg->m_method_len);
	if (msg->m_method == HTTP_METHOD_CONNECT)
		return (http_fail(p, 501, "CONNECT not implemented"));
	if (tlen == 1 && t[0] == '*') {
		if (msg->m_method != HTTP_METHOD_OPTIONS)
			return (http_fail(p, 400, "asterisk-form not allowed"));
	} else if ((tlen > 7 && strncasecmp(t, "http://", 7) == 0) ||
	    (tlen > 8 && strncasecmp(t, "https://", 8) == 0))
		msg->m_flags |= HTTP_MSG_ABSOLUTE;
	else if (tlen == 0 || t[0] != '/')
		return (http_fail(p, 400, "invalid request-target form"));

	if ((i = http_msg_find(msg, HTTP_F_HOST, 0)) == SIZE_MAX) {
		if (msg->m_version == 11)
			return (http_fail(p, 400, "missing Host"));
	} else {
		if (http_msg_find(msg, HTTP_F_HOST, i + 1) != SIZE_MAX)
			return (http_fail(p, 400, "multiple Host fields"));
		if (!http_valid_host(msg->m_buf + msg->m_hdrs[i].h_value,
		    msg->m_hdrs[i].h_valuelen))
			return (http_fail(p, 400, "invalid Host"));
	}

	/* RFC 9110 §10.1.1: HTTP/1.0 expectations are ignored. */
	if (msg->m_version == 11 && (p->p_ids & HTTP_F_BIT(HTTP_F_EXPECT))) {
		i = http_msg_find(msg, HTTP_F_EXPECT, 0);
		host = msg->m_buf + msg->m_hdrs[i].h_value;
		hlen = msg->m_hdrs[i].h_valuelen;
		pos = 0;
		if (http_msg_find(msg, HTTP_F_EXPECT, i + 1) != SIZE_MAX ||
		    !http_msg_list_next(host, hlen, &pos, &e, &elen) ||
		    !http_msg_name_eq(e, elen, "100-continue") ||
		    http_msg_list_next(host, hlen, &pos, &e, &elen))
			return (http_fail(p, 417, "unsupported expectation"));
		msg->m_flags |= HTTP_MSG_EXPECT_100;
	}
	if ((p->p_ids & HTTP_F_BIT(HTTP_F_UPGRADE)) &&
	    http_has_token(p, HTTP_F_CONNECTION, "upgrade"))
		msg->m_flags |= HTTP_MSG_UPGRADE;
	if (!http_has_token(p, HTTP_F_CONNECTION, "close") &&
	    (msg->m_version == 11 ||
	    http_has_token(p, HTTP_F_CONNECTION, "keep-alive")))
		msg->m_flags |= HTTP_MSG_KEEPALIVE;
	if (p->p_lim.l_max_body > 0 &&
	    msg->m_framing == HTTP_FRAMING_LENGTH &&
	    msg->m_length > p->p_lim.l_max_body)
		return (http_fail(p, 413, "body too large"));
	return (HTTP_PARSE_AGAIN);
}

/*
 * Host = uri-host [ ":" port ] (RFC 3986 §3.2.2): reg-name characters,
 * or an IP literal in brackets; userinfo and paths are refused.  An
 * empty Host is allowed (RFC 9112 §3.2).
 */
static int
http_valid_host(const char *h, size_t len)
{
	size_t	 i = 0, colon = len;

	if (len > 0 && h[0] == '[') {
		while (i < len && h[i] != ']') {
			if (h[i] == '\0' || (!HTTP_IS_DIGIT(h[i]) &&
			    !strchr("[:.abcdefABCDEF", h[i])))
				return (0);
			i++;
		}
		if (i == len)
			return (0);
		i++;
		if (i < len && h[i] != ':')
			return (0);
		colon = i;
	} else {
		for (; i < len; i++) {
			if (h[i] == ':') {
				colon = i;
				break;
			}
			if (h[i] == '\0' || (!http_msg_is_tchar(h[i]) &&
			    !strchr("!$&'()*+,;=", h[i])) || h[i] == '|' ||
			    h[i] == '^' || h[i] == '`' || h[i] == '#')
				return (0);
		}
	}
	if (colon < len) {
		if (colon + 1 == len || len - colon - 1 > 5)
			return (0);
		for (i = colon + 1; i < len; i++)
			if (!HTTP_IS_DIGIT(h[i]))
				return (0);
	}
	return (1);
}

/* Whether a list field <id> of the head names <token>. */
static int
http_has_token(const struct http_parser *p, enum http_field_id id,
    const char *token)
{
	return ((p->p_ids & HTTP_F_BIT(id)) &&
	    http_msg_has_token_id(p->p_msg, id, token));
}

/* RFC 9112 §6.3 items 1-2: responses without a body, whatever they say. */
static enum http_parse_result
http_check_response(struct http_parser *p)
{
	struct http_msg	*msg = p->p_msg;
	int		 status = llhttp_get_status_code(&p->p_ll);

	msg->m_status = status;
	if (status == 101) {
		if (!p->p_req_upgrade)
			return (http_fail(p, 502, "101 without an Upgrade"));
		msg->m_flags |= HTTP_MSG_UPGRADE;
		msg->m_framing = HTTP_FRAMING_NONE;
		return (HTTP_PARSE_AGAIN);
	}
	if (status / 100 == 1 || status == 204 || status == 304 ||
	    p->p_req_method == HTTP_METHOD_HEAD)
		msg->m_framing = HTTP_FRAMING_NONE;
	if (msg->m_framing != HTTP_FRAMING_CLOSE &&
	    !http_has_token(p, HTTP_F_CONNECTION, "close") &&
	    (msg->m_version == 11 ||
	    http_has_token(p, HTTP_F_CONNECTION, "keep-alive")))
		msg->m_flags |= HTTP_MSG_KEEPALIVE;
	return (HTTP_PARSE_AGAIN);
}

/* ------------------------------------------------------------------ */

/* ------------------------------------------------------------------ */

/* Body bytes from a span, through the decoder in http_body.c. */
static enum http_parse_result
http_body(struct http_parser *p, const char *data, size_t len, size_t *used,
    struct evbuffer *body, size_t room)
{
	enum http_parse_result	 r;

	r = http_body_span(&p->p_body, data, len, used, body, room);
	if (r == HTTP_PARSE_ERROR)
		return (http_fail(p, p->p_body.b_status, p->p_body.b_error));
	if (r == HTTP_PARSE_DONE)
		p->p_state = HTTP_S_END;
	return (r);
}
