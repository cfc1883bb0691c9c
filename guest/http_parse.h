/*
 * guest/http_parse.h: strict HTTP/1.1 request parsing for corral-guest
 * (RFC 9112): the request head, parsed in place in the receive buffer,
 * and chunked body framing, decoded as a stream.  Pure functions over the
 * caller's memory: no allocation, no platform call, no state of their own.
 *
 * Line endings: only CRLF.  A bare LF or a bare CR anywhere in a head,
 * a chunk-size line or a trailer is an error (400), never a line end.
 */
#ifndef GUEST_HTTP_PARSE_H
#define GUEST_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX		8192	/* request line, fields, empty line */
#define HTTP_FIELDS_MAX		100	/* field lines in one head */

enum http_parse_res {
	HTTP_PARSE_OK = 0,
	HTTP_PARSE_AGAIN,		/* incomplete: call again with more */
	HTTP_PARSE_ERROR,
};

enum http_method {
	HTTP_M_OTHER = 0,		/* a valid token we do not know */
	HTTP_M_GET,
	HTTP_M_HEAD,
	HTTP_M_POST,
	HTTP_M_PUT,
};

enum http_body {
	HTTP_BODY_NONE = 0,
	HTTP_BODY_LENGTH,		/* Content-Length: hr_clen bytes */
	HTTP_BODY_CHUNKED,		/* Transfer-Encoding: chunked */
};

/*
 * One request head.  Zero it before the first http_parse_head() call for
 * each request and pass the same struct on every retry: hr_scan and
 * hr_lines remember how far the previous calls got.
 */
struct http_req {
	size_t		 hr_scan;	/* bytes of complete lines seen */
	unsigned	 hr_lines;	/* complete lines seen */

	/* Results, valid after HTTP_PARSE_OK; pointers borrow the buffer. */
	const uint8_t	*hr_head;
	size_t		 hr_head_len;	/* through the empty line's CRLF */
	enum http_method hr_method;
	const uint8_t	*hr_path;	/* request target without the query */
	size_t		 hr_path_len;
	int		 hr_minor;	/* 0 for HTTP/1.0, 1 for HTTP/1.1+ */
	enum http_body	 hr_body;
	uint64_t	 hr_clen;	/* with HTTP_BODY_LENGTH */
	bool		 hr_close;	/* Connection: close */
	bool		 hr_keepalive;	/* Connection: keep-alive */
	bool		 hr_continue;	/* Expect: 100-continue */
	unsigned	 hr_hosts;	/* Host field lines */
	bool		 hr_te;		/* Transfer-Encoding seen */
	bool		 hr_te_other;	/* a coding other than chunked */

	/* Valid after HTTP_PARSE_ERROR. */
	int		 hr_status;	/* 400, 414, 431, 501 or 505 */
	const char	*hr_error;	/* a short reason, for the body */
};

/* A field line of a head that http_parse_head() accepted. */
struct http_field {
	const uint8_t	*hf_name;
	size_t		 hf_name_len;
	const uint8_t	*hf_value;	/* without leading/trailing OWS */
	size_t		 hf_value_len;
};

/*
 * Parses the request head at the start of <buf>/<len> (which must not
 * begin with the empty lines RFC 9112 §2.2 lets a server skip: the caller
 * skips those).  OK: <req> holds the request and hr_head_len says how
 * many bytes the head took.  AGAIN: no complete head yet and fewer than
 * HTTP_HEAD_MAX bytes.  ERROR: hr_status and hr_error say why.
 */
enum http_parse_res http_parse_head(struct http_req *req, const uint8_t *buf,
    size_t len);

/*
 * Iterates over the field lines of a head accepted by http_parse_head().
 * Start with *<pos> = 0; returns false after the last one.
 */
bool	 http_parse_field_next(const struct http_req *req, size_t *pos,
    struct http_field *f);

/* Whether <f>'s name is <lname> (lower case), case-insensitively. */
bool	 http_parse_field_is(const struct http_field *f, const char *lname);

/*
 * Decimal digits only, no sign, no space, at least one digit.  Returns 0
 * and sets *<out> when <s>/<n> is a number no greater than <max>, else -1
 * and leaves *<out> alone.
 */
int	 http_parse_u64(const uint8_t *s, size_t n, uint64_t max,
    uint64_t *out);

/*
 * If-None-Match (RFC 9110 §13.1.2): whether the field value <v>/<n>
 * matches the strong entity-tag <etag> (with its quotes) by the weak
 * comparison: "*", or a list with the same opaque-tag, W/ or not.  A
 * malformed value matches nothing.
 */
bool	 http_parse_inm_match(const uint8_t *v, size_t n, const char *etag);

/*
 * Chunked framing (RFC 9112 §7.1) as a stream: chunk extensions and
 * trailer fields are checked for syntax and skipped.
 */
enum http_chunk_state {
	HTTP_CK_SIZE0 = 0,		/* first hex digit of a chunk-size */
	HTTP_CK_SIZE,			/* more digits, ext, or CR */
	HTTP_CK_EXT,			/* chunk-ext, up to CR */
	HTTP_CK_SIZE_LF,		/* LF after a chunk-size line */
	HTTP_CK_DATA,			/* hk_left bytes of chunk data */
	HTTP_CK_DATA_CR,		/* CRLF after chunk data */
	HTTP_CK_DATA_LF,
	HTTP_CK_TRAILER,		/* start of a trailer line or the end */
	HTTP_CK_TRAILER_LINE,		/* inside a trailer field line */
	HTTP_CK_TRAILER_LF,		/* LF ending a trailer field line */
	HTTP_CK_END_LF,			/* LF ending the chunked body */
	HTTP_CK_DONE,
};

struct http_chunked {
	enum http_chunk_state hk_state;
	uint64_t	 hk_left;	/* data bytes left in this chunk */
	size_t		 hk_extra;	/* ext and trailer bytes so far */
};

/*
 * Consumes framing bytes from <buf>/<len> and sets *<used>.  OK: the
 * decoder sits at chunk data (hk_state HTTP_CK_DATA, hk_left > 0: take
 * data with http_chunked_data()) or at the end (HTTP_CK_DONE).  AGAIN:
 * all of <buf> was framing and more is needed.  ERROR: malformed.
 * <hk> starts zeroed.
 */
enum http_parse_res http_chunked_frame(struct http_chunked *hk,
    const uint8_t *buf, size_t len, size_t *used);

/* <n> (at most hk_left) data bytes were taken. */
void	 http_chunked_data(struct http_chunked *hk, uint64_t n);

#endif /* GUEST_HTTP_PARSE_H */
