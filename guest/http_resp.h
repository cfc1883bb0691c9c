/*
 * guest/http_resp.h: the pieces of corral-guest's responses: a bounded
 * byte writer with number formatting (there is no printf in the guest),
 * status lines and header blocks, entity-tags and the /bytes pattern.
 * Pure functions; the caller owns every buffer.
 */
#ifndef GUEST_HTTP_RESP_H
#define GUEST_HTTP_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Appends to wb_buf[wb_len .. wb_cap); what does not fit sets wb_over. */
struct http_wbuf {
	uint8_t		*wb_buf;
	size_t		 wb_cap;
	size_t		 wb_len;
	bool		 wb_over;
};

/* <buf> (borrowed for the life of <w>) holds <cap> bytes; starts empty. */
void	 http_wbuf_init(struct http_wbuf *w, void *buf, size_t cap);
void	 http_wbuf_mem(struct http_wbuf *w, const void *p, size_t n);
void	 http_wbuf_str(struct http_wbuf *w, const char *s);
void	 http_wbuf_u64(struct http_wbuf *w, uint64_t v);	/* decimal */
void	 http_wbuf_hex(struct http_wbuf *w, uint64_t v);	/* lower hex */

enum http_resp_len {
	HTTP_LEN_FIXED = 0,		/* Content-Length: rs_clen */
	HTTP_LEN_CHUNKED,		/* Transfer-Encoding: chunked */
	HTTP_LEN_NONE,			/* neither: 204, 304 (RFC 9110 §8.6) */
};

/* What a response head says; strings are borrowed, NULL for absent. */
struct http_resp {
	int		 rs_status;	/* 100 .. 599 */
	const char	*rs_type;	/* Content-Type */
	enum http_resp_len rs_len;
	uint64_t	 rs_clen;
	const char	*rs_allow;	/* Allow, for 405 */
	const char	*rs_etag;	/* ETag, with its quotes */
	bool		 rs_cache;	/* Cache-Control: max-age=rs_max_age */
	uint32_t	 rs_max_age;
	bool		 rs_close;	/* Connection: close */
	bool		 rs_keepalive;	/* Connection: keep-alive (HTTP/1.0) */
};

/* The reason phrase of <status>, "" for codes without a common one. */
const char	*http_resp_reason(int status);

/*
 * Writes the status line and header block of <rs>, through the empty
 * line, with Server and X-Corral-VM: <id> (a header-safe string).
 */
void	 http_resp_head(struct http_wbuf *w, const struct http_resp *rs,
    const char *id);

/* "HTTP/1.1 100 Continue" and its empty line. */
void	 http_resp_continue(struct http_wbuf *w);

/*
 * The strong entity-tag of /cache/<seconds> on the VM named <id>, quoted,
 * NUL-terminated in <etag>: the same inputs always give the same tag.
 */
#define HTTP_ETAG_MAX		24
void	 http_resp_etag(char etag[HTTP_ETAG_MAX], const char *id,
    uint32_t seconds);

/*
 * The /bytes body: byte i is HTTP_PATTERN[i % 64].  Returns a pointer to
 * at least HTTP_PATTERN_SPAN bytes of the pattern starting at offset
 * <off>; static, never freed.
 */
#define HTTP_PATTERN \
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"
#define HTTP_PATTERN_LEN	64
#define HTTP_PATTERN_SPAN	4096
const uint8_t	*http_resp_pattern(uint64_t off);

#endif /* GUEST_HTTP_RESP_H */
