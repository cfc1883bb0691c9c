/*
 * proxy/http_body.c: the body decoder behind http_parse().
 *
 * A struct http_body (http_priv.h) lives in its parser and is restarted
 * for each message with the framing http.c decided from the head.
 * Content-Length bodies are counted, and moved between evbuffers without
 * copying; chunked bodies are de-chunked by the strict state machine
 * below; bodies delimited by the close are passed through until the
 * parser is told about the end of input.  Callers say how many body
 * bytes they can take (<room>), and never get more: that is the proxy's
 * backpressure.  Runs on the thread that owns the parser.
 */
#include <string.h>

#include <event2/buffer.h>

#include "proxy/http_priv.h"

#define HTTP_BODY_MAX_CHUNK_LINE	1024	/* chunk-size line bytes */
#define HTTP_BODY_MAX_CHUNK_DIGITS	15	/* hex digits: below 2^60 */

#define HTTP_BODY_IS_CTL(c)	((c) < 0x20 || (c) == 0x7f)
#define HTTP_BODY_IS_WS(c)	((c) == ' ' || (c) == '\t')
#define HTTP_BODY_IS_DIGIT(c)	((c) >= '0' && (c) <= '9')

enum http_body_chunk_state {
	HTTP_BODY_C_SIZE = 0,		/* hex digits of chunk-size */
	HTTP_BODY_C_SIZE_BWS,		/* whitespace: ';' must come */
	HTTP_BODY_C_EXT_NAME_START,	/* after ';' */
	HTTP_BODY_C_EXT_NAME,
	HTTP_BODY_C_EXT_AFTER_NAME,	/* whitespace: '=' or ';' */
	HTTP_BODY_C_EXT_VALUE_START,	/* after '=' */
	HTTP_BODY_C_EXT_TOKEN,
	HTTP_BODY_C_EXT_QUOTED,
	HTTP_BODY_C_EXT_QUOTED_ESC,
	HTTP_BODY_C_EXT_AFTER_VALUE,
	HTTP_BODY_C_SIZE_LF,		/* CR seen ending the size line */
	HTTP_BODY_C_DATA,
	HTTP_BODY_C_DATA_CR,		/* CRLF after chunk data */
	HTTP_BODY_C_DATA_LF,
	HTTP_BODY_C_TRAILER,		/* in a trailer line or at its start */
	HTTP_BODY_C_TRAILER_LF,
};

static enum http_parse_result	 http_body_fail(struct http_body *b,
				    int status, const char *reason);
static enum http_parse_result	 http_body_chunk_byte(struct http_body *b,
				    unsigned char c);
static enum http_parse_result	 http_body_ext_byte(struct http_body *b,
				    unsigned char c);
static enum http_parse_result	 http_body_trailer_byte(struct http_body *b,
				    unsigned char c);

void
http_body_start(struct http_body *b, enum http_framing framing,
    uint64_t length, const struct http_limits *lim)
{
	memset(b, 0, sizeof(*b));
	b->b_framing = framing;
	b->b_remaining = framing == HTTP_FRAMING_LENGTH ? length : 0;
	b->b_max = lim->l_max_body;
	b->b_max_tbytes = lim->l_max_header_bytes;
	b->b_max_tfields = lim->l_max_headers;
	b->b_cstate = HTTP_BODY_C_SIZE;
}

int
http_body_complete(const struct http_body *b)
{
	return (b->b_framing == HTTP_FRAMING_NONE ||
	    (b->b_framing == HTTP_FRAMING_LENGTH && b->b_remaining == 0));
}

static enum http_parse_result
http_body_fail(struct http_body *b, int status, const char *reason)
{
	b->b_status = status;
	b->b_error = reason;
	return (HTTP_PARSE_ERROR);
}

enum http_parse_result
http_body_move(struct http_body *b, struct evbuffer *in,
    struct evbuffer *body, size_t room)
{
	size_t	 n = evbuffer_get_length(in);

	if (n > room)
		n = room;
	if (b->b_framing == HTTP_FRAMING_LENGTH && n > b->b_remaining)
		n = (size_t)b->b_remaining;
	if (b->b_max > 0 && b->b_total + n > b->b_max)
		return (http_body_fail(b, 413, "body too large"));
	if (body != NULL) {
		if (evbuffer_remove_buffer(in, body, n) != (int)n)
			return (http_body_fail(b, 503, "out of memory"));
	} else if (evbuffer_drain(in, n) == -1)
		return (http_body_fail(b, 503, "out of memory"));
	b->b_total += n;
	if (b->b_framing == HTTP_FRAMING_LENGTH) {
		b->b_remaining -= n;
		if (b->b_remaining == 0)
			return (HTTP_PARSE_DONE);
	}
	return (n > 0 ? HTTP_PARSE_BODY : HTTP_PARSE_AGAIN);
}

enum http_parse_result
http_body_span(struct http_body *b, const char *data, size_t len,
    size_t *used, struct evbuffer *body, size_t room)
{
	enum http_parse_result	 r;
	uint64_t		 before = b->b_total;
	size_t			 i = 0, n;

	while (i < len) {
		if (b->b_framing == HTTP_FRAMING_CHUNKED &&
		    b->b_cstate != HTTP_BODY_C_DATA) {
			r = http_body_chunk_byte(b, (unsigned char)data[i++]);
			if (r == HTTP_PARSE_AGAIN)
				continue;
			*used = i;
			return (r);
		}
		n = len - i;
		if (n > room - (size_t)(b->b_total - before))
			n = room - (size_t)(b->b_total - before);
		if (b->b_framing != HTTP_FRAMING_CLOSE && n > b->b_remaining)
			n = (size_t)b->b_remaining;
		if (n == 0)
			break;		/* no room left */
		if (b->b_max > 0 && b->b_total + n > b->b_max) {
			*used = i;
			return (http_body_fail(b, 413, "body too large"));
		}
		if (body != NULL && evbuffer_add(body, data + i, n) == -1) {
			*used = i;
			return (http_body_fail(b, 503, "out of memory"));
		}
		b->b_total += n;
		i += n;
		if (b->b_framing == HTTP_FRAMING_CLOSE)
			continue;
		b->b_remaining -= n;
		if (b->b_remaining > 0)
			continue;
		if (b->b_framing == HTTP_FRAMING_LENGTH) {
			*used = i;
			return (HTTP_PARSE_DONE);
		}
		b->b_cstate = HTTP_BODY_C_DATA_CR;
	}
	*used = i;
	return (b->b_total > before ? HTTP_PARSE_BODY : HTTP_PARSE_AGAIN);
}

/*
 * One byte of chunked framing (RFC 9112 §7.1): chunk-size in hex,
 * optional extensions, CRLF, data, CRLF; the last chunk is followed by a
 * trailer section, checked like a head and dropped.  Nothing lenient:
 * no bare CR or LF, no whitespace but around ';' and '=' (BWS), no
 * leading "0x", no size of 2^60 or more.
 */
static enum http_parse_result
http_body_chunk_byte(struct http_body *b, unsigned char c)
{
	unsigned	 v;

	if (b->b_cstate >= HTTP_BODY_C_TRAILER)
		return (http_body_trailer_byte(b, c));
	if (b->b_cstate < HTTP_BODY_C_DATA &&
	    ++b->b_cline > HTTP_BODY_MAX_CHUNK_LINE)
		return (http_body_fail(b, 400, "chunk line too long"));
	switch (b->b_cstate) {
	case HTTP_BODY_C_SIZE:
		if (HTTP_BODY_IS_DIGIT(c) || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F')) {
			if (++b->b_cdigits > HTTP_BODY_MAX_CHUNK_DIGITS)
				return (http_body_fail(b, 400,
				    "chunk size too large"));
			v = HTTP_BODY_IS_DIGIT(c) ? (unsigned)(c - '0') :
			    (unsigned)((c | 0x20) - 'a' + 10);
			b->b_remaining = b->b_remaining * 16 + v;
			return (HTTP_PARSE_AGAIN);
		}
		if (b->b_cdigits == 0)
			return (http_body_fail(b, 400, "invalid chunk size"));
		if (c == '\r')
			b->b_cstate = HTTP_BODY_C_SIZE_LF;
		else if (c == ';')
			b->b_cstate = HTTP_BODY_C_EXT_NAME_START;
		else if (HTTP_BODY_IS_WS(c))
			b->b_cstate = HTTP_BODY_C_SIZE_BWS;
		else
			return (http_body_fail(b, 400, "invalid chunk size"));
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_SIZE_BWS:
		if (c == ';')
			b->b_cstate = HTTP_BODY_C_EXT_NAME_START;
		else if (!HTTP_BODY_IS_WS(c))
			return (http_body_fail(b, 400, "invalid chunk size"));
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_SIZE_LF:
		if (c != '\n')
			return (http_body_fail(b, 400,
			    "bare CR in a chunk line"));
		b->b_cdigits = 0;
		b->b_cline = 0;
		b->b_cstate = b->b_remaining > 0 ? HTTP_BODY_C_DATA :
		    HTTP_BODY_C_TRAILER;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_DATA_CR:
		if (c != '\r')
			return (http_body_fail(b, 400,
			    "no CRLF after chunk data"));
		b->b_cstate = HTTP_BODY_C_DATA_LF;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_DATA_LF:
		if (c != '\n')
			return (http_body_fail(b, 400,
			    "no CRLF after chunk data"));
		b->b_cstate = HTTP_BODY_C_SIZE;
		return (HTTP_PARSE_AGAIN);
	default:
		return (http_body_ext_byte(b, c));
	}
}

/*
 * chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] ), names
 * tokens, values tokens or quoted strings (RFC 9112 §7.1.1, RFC 9110
 * §5.6.4).  Extensions are checked and dropped.
 */
static enum http_parse_result
http_body_ext_byte(struct http_body *b, unsigned char c)
{
	switch (b->b_cstate) {
	case HTTP_BODY_C_EXT_NAME_START:
		if (http_msg_is_tchar(c))
			b->b_cstate = HTTP_BODY_C_EXT_NAME;
		else if (!HTTP_BODY_IS_WS(c))
			break;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_NAME:
	case HTTP_BODY_C_EXT_TOKEN:
		if (http_msg_is_tchar(c))
			;
		else if (c == '=' && b->b_cstate == HTTP_BODY_C_EXT_NAME)
			b->b_cstate = HTTP_BODY_C_EXT_VALUE_START;
		else if (c == ';')
			b->b_cstate = HTTP_BODY_C_EXT_NAME_START;
		else if (c == '\r')
			b->b_cstate = HTTP_BODY_C_SIZE_LF;
		else if (HTTP_BODY_IS_WS(c))
			b->b_cstate = b->b_cstate == HTTP_BODY_C_EXT_NAME ?
			    HTTP_BODY_C_EXT_AFTER_NAME :
			    HTTP_BODY_C_EXT_AFTER_VALUE;
		else
			break;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_AFTER_NAME:
		if (c == '=')
			b->b_cstate = HTTP_BODY_C_EXT_VALUE_START;
		else if (c == ';')
			b->b_cstate = HTTP_BODY_C_EXT_NAME_START;
		else if (!HTTP_BODY_IS_WS(c))
			break;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_VALUE_START:
		if (c == '"')
			b->b_cstate = HTTP_BODY_C_EXT_QUOTED;
		else if (http_msg_is_tchar(c))
			b->b_cstate = HTTP_BODY_C_EXT_TOKEN;
		else if (!HTTP_BODY_IS_WS(c))
			break;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_QUOTED:
		/* qdtext: HTAB, SP, VCHAR but '"' and '\\', obs-text. */
		if (c == '"')
			b->b_cstate = HTTP_BODY_C_EXT_AFTER_VALUE;
		else if (c == '\\')
			b->b_cstate = HTTP_BODY_C_EXT_QUOTED_ESC;
		else if (HTTP_BODY_IS_CTL(c) && c != '\t')
			break;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_QUOTED_ESC:
		if (HTTP_BODY_IS_CTL(c) && c != '\t')
			break;
		b->b_cstate = HTTP_BODY_C_EXT_QUOTED;
		return (HTTP_PARSE_AGAIN);
	case HTTP_BODY_C_EXT_AFTER_VALUE:
		if (c == ';')
			b->b_cstate = HTTP_BODY_C_EXT_NAME_START;
		else if (c == '\r')
			b->b_cstate = HTTP_BODY_C_SIZE_LF;
		else if (!HTTP_BODY_IS_WS(c))
			break;
		return (HTTP_PARSE_AGAIN);
	default:
		return (http_body_fail(b, 500, "chunk state"));
	}
	return (http_body_fail(b, 400, "invalid chunk extension"));
}

/* Trailer fields: the head's line rules (see http_head_byte()). */
static enum http_parse_result
http_body_trailer_byte(struct http_body *b, unsigned char c)
{
	if (++b->b_tbytes > b->b_max_tbytes)
		return (http_body_fail(b, 431, "trailer fields too large"));
	if (b->b_cstate == HTTP_BODY_C_TRAILER_LF) {
		if (c != '\n')
			return (http_body_fail(b, 400,
			    "bare CR in the trailer"));
		if (b->b_tlen == 0)
			return (HTTP_PARSE_DONE);
		if (!b->b_colon)
			return (http_body_fail(b, 400,
			    "field line without a colon"));
		if (++b->b_tfields > b->b_max_tfields)
			return (http_body_fail(b, 431,
			    "too many trailer fields"));
		b->b_tlen = 0;
		b->b_colon = 0;
		b->b_cstate = HTTP_BODY_C_TRAILER;
		return (HTTP_PARSE_AGAIN);
	}
	if (c == '\r') {
		b->b_cstate = HTTP_BODY_C_TRAILER_LF;
		return (HTTP_PARSE_AGAIN);
	}
	if (c == '\n')
		return (http_body_fail(b, 400, "bare LF in the trailer"));
	if (HTTP_BODY_IS_CTL(c) && c != '\t')
		return (http_body_fail(b, 400, "control byte in the trailer"));
	if (b->b_tlen == 0 && HTTP_BODY_IS_WS(c))
		return (http_body_fail(b, 400, "obsolete line folding"));
	if (!b->b_colon) {
		if (c == ':') {
			if (b->b_tlen == 0)
				return (http_body_fail(b, 400,
				    "empty field name"));
			b->b_colon = 1;
		} else if (!http_msg_is_tchar(c))
			return (http_body_fail(b, 400, "invalid field name"));
	}
	b->b_tlen++;
	return (HTTP_PARSE_AGAIN);
}
