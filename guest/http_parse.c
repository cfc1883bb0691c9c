/*
 * guest/http_parse.c: corral-guest's request parser.  The peer is
 * hostile, so the grammar is RFC 9112's, strictly: tokens are checked
 * byte by byte, a line ends only in CRLF (a bare LF or CR is a 400),
 * obs-fold is refused, framing conflicts (two different Content-Lengths,
 * Content-Length with Transfer-Encoding, chunked that is not the final
 * coding) are errors rather than guesses, since guessing is how request
 * smuggling starts.
 *
 * The head is parsed in place: the caller keeps the bytes in its receive
 * buffer until the head is complete, and struct http_req borrows them.
 * The chunked decoder keeps its whole state in struct http_chunked, so a
 * body can arrive split anywhere.  Nothing here allocates or calls the
 * platform; the caller owns all memory.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/klib.h"
#include "guest/http_parse.h"

static enum http_parse_res http_parse_fail(struct http_req *, int,
    const char *);
static bool	 http_parse_tchar(uint8_t);
static bool	 http_parse_vchar_ws(uint8_t);
static bool	 http_parse_ieq(const uint8_t *, size_t, const char *);
static size_t	 http_parse_line(const uint8_t *, size_t, size_t *);
static bool	 http_parse_list_next(const uint8_t *, size_t, size_t *,
    const uint8_t **, size_t *);
static int	 http_parse_split(const uint8_t *, size_t,
    struct http_field *, const char **);
static enum http_parse_res http_parse_target(struct http_req *,
    const uint8_t *, const uint8_t *, size_t);
static enum http_parse_res http_parse_reqline(struct http_req *,
    const uint8_t *, size_t);
static enum http_parse_res http_parse_te(struct http_req *,
    const struct http_field *);
static enum http_parse_res http_parse_apply(struct http_req *,
    const struct http_field *);
static enum http_parse_res http_parse_framing(struct http_req *);
static int	 http_parse_hex(uint8_t);

static enum http_parse_res
http_parse_fail(struct http_req *req, int status, const char *why)
{
	req->hr_status = status;
	req->hr_error = why;
	return HTTP_PARSE_ERROR;
}

/* RFC 9110 §5.6.2 tchar. */
static bool
http_parse_tchar(uint8_t c)
{
	if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z'))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
}

/* field-vchar, SP or HTAB (RFC 9110 §5.5): no CTL, no NUL, no DEL. */
static bool
http_parse_vchar_ws(uint8_t c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool
http_parse_ieq(const uint8_t *s, size_t n, const char *lower)
{
	size_t	 i;
	uint8_t	 c;

	for (i = 0; i < n; i++) {
		if (lower[i] == '\0')
			return false;
		c = s[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != (uint8_t)lower[i])
			return false;
	}
	return lower[n] == '\0';
}

/*
 * The line starting at *<pos> in a head already checked for CRLF: returns
 * its length without the CRLF and moves *<pos> past the CRLF.
 */
static size_t
http_parse_line(const uint8_t *buf, size_t len, size_t *pos)
{
	size_t	 i;

	for (i = *pos; i < len && buf[i] != '\n'; i++)
		;
	len = i - 1 - *pos;
	*pos = i + 1;
	return len;
}

/*
 * Next element of a comma-separated list (RFC 9110 §5.6.1), trimmed;
 * empty elements are skipped, as a recipient must.
 */
static bool
http_parse_list_next(const uint8_t *v, size_t n, size_t *pos,
    const uint8_t **elem, size_t *elen)
{
	size_t	 i = *pos, s, e;

	while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i == n) {
		*pos = i;
		return false;
	}
	s = i;
	while (i < n && v[i] != ',')
		i++;
	for (e = i; e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'); e--)
		;
	*elem = v + s;
	*elen = e - s;
	*pos = i;
	return true;
}

/* Splits a field line into name and trimmed value; -1 if malformed. */
static int
http_parse_split(const uint8_t *l, size_t n, struct http_field *f,
    const char **why)
{
	size_t	 i, s, e;

	if (n > 0 && (l[0] == ' ' || l[0] == '\t')) {
		/* RFC 9112 §5.2: a server rejects obs-fold with 400. */
		*why = "obsolete line folding";
		return -1;
	}
	for (i = 0; i < n && http_parse_tchar(l[i]); i++)
		;
	/* §5.1: no whitespace between the field name and the colon. */
	if (i == 0 || i == n || l[i] != ':') {
		*why = "bad field name";
		return -1;
	}
	f->hf_name = l;
	f->hf_name_len = i;
	for (s = i + 1; s < n && (l[s] == ' ' || l[s] == '\t'); s++)
		;
	for (e = n; e > s && (l[e - 1] == ' ' || l[e - 1] == '\t'); e--)
		;
	for (i = s; i < e; i++) {
		if (!http_parse_vchar_ws(l[i])) {
			*why = "control character in field value";
			return -1;
		}
	}
	f->hf_value = l + s;
	f->hf_value_len = e - s;
	return 0;
}

/*
 * origin-form, or absolute-form with an http(s) scheme (§3.2.2: a server
 * must accept it), whose authority is ignored; asterisk-form only for
 * OPTIONS.  The query is not part of the path we route on.
 */
static enum http_parse_res
http_parse_target(struct http_req *req, const uint8_t *method,
    const uint8_t *t, size_t n)
{
	static const uint8_t	 root[] = "/";
	size_t			 i, skip = 0;

	if (n >= 7 && http_parse_ieq(t, 7, "http://"))
		skip = 7;
	else if (n >= 8 && http_parse_ieq(t, 8, "https://"))
		skip = 8;
	if (skip > 0) {
		for (i = skip; i < n && t[i] != '/' && t[i] != '?'; i++)
			;
		if (i == skip)
			return http_parse_fail(req, 400, "bad request target");
		if (i == n || t[i] == '?') {
			t = root;
			n = 1;
		} else {
			t += i;
			n -= i;
		}
	} else if (n == 1 && t[0] == '*') {
		if (memcmp(method, "OPTIONS ", 8) != 0)
			return http_parse_fail(req, 400, "bad request target");
	} else if (t[0] != '/')
		return http_parse_fail(req, 400, "bad request target");
	for (i = 0; i < n && t[i] != '?'; i++)
		;
	req->hr_path = t;
	req->hr_path_len = i;
	return HTTP_PARSE_OK;
}

/* request-line = method SP request-target SP HTTP-version (§3) */
static enum http_parse_res
http_parse_reqline(struct http_req *req, const uint8_t *l, size_t n)
{
	static const struct {
		const char		*m_name;
		enum http_method	 m_method;
	} methods[] = {
		{ "GET", HTTP_M_GET }, { "HEAD", HTTP_M_HEAD },
		{ "POST", HTTP_M_POST }, { "PUT", HTTP_M_PUT },
	};
	const uint8_t	*v;
	size_t		 i, t, k;

	for (i = 0; i < n && http_parse_tchar(l[i]); i++)
		;
	if (i == 0 || i == n || l[i] != ' ')
		return http_parse_fail(req, 400, "bad method");
	req->hr_method = HTTP_M_OTHER;
	for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
		/* Methods are case-sensitive (RFC 9110 §9.1). */
		if (strlen(methods[k].m_name) == i &&
		    memcmp(l, methods[k].m_name, i) == 0)
			req->hr_method = methods[k].m_method;
	}
	t = ++i;
	while (i < n && l[i] > 0x20 && l[i] < 0x7f)
		i++;
	if (i == t || i == n || l[i] != ' ')
		return http_parse_fail(req, 400, "bad request target");
	v = l + i + 1;
	if (n - (i + 1) != 8 || memcmp(v, "HTTP/", 5) != 0 ||
	    v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return http_parse_fail(req, 400, "bad HTTP version");
	if (v[5] != '1')
		return http_parse_fail(req, 505, "HTTP version not supported");
	/* §2.5: a higher minor version is answered as HTTP/1.1. */
	req->hr_minor = v[7] == '0' ? 0 : 1;
	return http_parse_target(req, l, l + t, i - t);
}

/*
 * Transfer-Encoding (§6.1): the codings of all field lines form one list,
 * and chunked must come last, once.
 */
static enum http_parse_res
http_parse_te(struct http_req *req, const struct http_field *f)
{
	const uint8_t	*e;
	size_t		 pos = 0, elen;

	req->hr_te = true;
	while (http_parse_list_next(f->hf_value, f->hf_value_len, &pos, &e,
	    &elen)) {
		if (req->hr_body == HTTP_BODY_CHUNKED)
			return http_parse_fail(req, 400,
			    "chunked is not the final transfer coding");
		if (http_parse_ieq(e, elen, "chunked"))
			req->hr_body = HTTP_BODY_CHUNKED;
		else
			req->hr_te_other = true;
	}
	return HTTP_PARSE_OK;
}

static enum http_parse_res
http_parse_apply(struct http_req *req, const struct http_field *f)
{
	const uint8_t	*e;
	size_t		 pos = 0, elen;
	uint64_t	 clen;

	if (http_parse_field_is(f, "content-length")) {
		/* §6.3: a list of identical values is not accepted either. */
		if (http_parse_u64(f->hf_value, f->hf_value_len, UINT64_MAX,
		    &clen) == -1)
			return http_parse_fail(req, 400, "bad Content-Length");
		if (req->hr_body == HTTP_BODY_LENGTH && clen != req->hr_clen)
			return http_parse_fail(req, 400,
			    "conflicting Content-Length");
		if (req->hr_body == HTTP_BODY_NONE)
			req->hr_body = HTTP_BODY_LENGTH;
		req->hr_clen = clen;
		if (req->hr_te)
			return http_parse_fail(req, 400,
			    "Content-Length with Transfer-Encoding");
	} else if (http_parse_field_is(f, "transfer-encoding")) {
		if (req->hr_body == HTTP_BODY_LENGTH)
			return http_parse_fail(req, 400,
			    "Content-Length with Transfer-Encoding");
		return http_parse_te(req, f);
	} else if (http_parse_field_is(f, "connection")) {
		while (http_parse_list_next(f->hf_value, f->hf_value_len,
		    &pos, &e, &elen)) {
			if (http_parse_ieq(e, elen, "close"))
				req->hr_close = true;
			else if (http_parse_ieq(e, elen, "keep-alive"))
				req->hr_keepalive = true;
		}
	} else if (http_parse_field_is(f, "host"))
		req->hr_hosts++;
	else if (http_parse_field_is(f, "expect")) {
		if (http_parse_ieq(f->hf_value, f->hf_value_len,
		    "100-continue"))
			req->hr_continue = true;
	}
	return HTTP_PARSE_OK;
}

/* Checks that need the whole head (§3.2, §6.1, §6.3). */
static enum http_parse_res
http_parse_framing(struct http_req *req)
{
	if (req->hr_te) {
		if (req->hr_minor == 0)
			return http_parse_fail(req, 400,
			    "Transfer-Encoding in HTTP/1.0");
		if (req->hr_body != HTTP_BODY_CHUNKED)
			return http_parse_fail(req, 400,
			    "chunked is not the final transfer coding");
		if (req->hr_te_other)
			return http_parse_fail(req, 501,
			    "unsupported transfer coding");
	}
	if (req->hr_body == HTTP_BODY_LENGTH && req->hr_clen == 0)
		req->hr_body = HTTP_BODY_NONE;
	if (req->hr_hosts > 1 || (req->hr_minor == 1 && req->hr_hosts == 0))
		return http_parse_fail(req, 400,
		    "need exactly one Host field");
	return HTTP_PARSE_OK;
}

enum http_parse_res
http_parse_head(struct http_req *req, const uint8_t *buf, size_t len)
{
	struct http_field	 f;
	const char		*why;
	size_t			 i, start, end = 0, pos, n, lim;
	enum http_parse_res	 r;

	lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;
	for (i = req->hr_scan; i < lim; i++) {
		if (buf[i] != '\n')
			continue;
		if (i == 0 || buf[i - 1] != '\r')
			return http_parse_fail(req, 400, "bare LF");
		start = req->hr_scan;
		req->hr_scan = i + 1;
		if (i - start == 1 && req->hr_lines > 0) {
			end = i + 1;
			break;
		}
		if (++req->hr_lines > HTTP_FIELDS_MAX + 1)
			return http_parse_fail(req, 431,
			    "too many header fields");
	}
	if (end == 0) {
		if (len < HTTP_HEAD_MAX)
			return HTTP_PARSE_AGAIN;
		if (req->hr_lines == 0)
			return http_parse_fail(req, 414,
			    "request line too long");
		return http_parse_fail(req, 431, "request head too large");
	}

	req->hr_head = buf;
	req->hr_head_len = end;
	pos = 0;
	n = http_parse_line(buf, end, &pos);
	/* A CR inside a line is a CTL and fails the checks below. */
	if ((r = http_parse_reqline(req, buf, n)) != HTTP_PARSE_OK)
		return r;
	while (pos < end - 2) {
		start = pos;
		n = http_parse_line(buf, end, &pos);
		if (http_parse_split(buf + start, n, &f, &why) == -1)
			return http_parse_fail(req, 400, why);
		if ((r = http_parse_apply(req, &f)) != HTTP_PARSE_OK)
			return r;
	}
	return http_parse_framing(req);
}

bool
http_parse_field_next(const struct http_req *req, size_t *pos,
    struct http_field *f)
{
	const char	*why;
	size_t		 start, n;

	if (*pos == 0)
		(void)http_parse_line(req->hr_head, req->hr_head_len, pos);
	while (*pos < req->hr_head_len - 2) {
		start = *pos;
		n = http_parse_line(req->hr_head, req->hr_head_len, pos);
		if (http_parse_split(req->hr_head + start, n, f, &why) == 0)
			return true;
	}
	return false;
}

bool
http_parse_field_is(const struct http_field *f, const char *lname)
{
	return http_parse_ieq(f->hf_name, f->hf_name_len, lname);
}

int
http_parse_u64(const uint8_t *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t	 v = 0, d;
	size_t		 i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		d = s[i] - '0';
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

bool
http_parse_inm_match(const uint8_t *v, size_t n, const char *etag)
{
	size_t	 i = 0, s, elen = strlen(etag);
	bool	 match = false;

	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	if (i < n && v[i] == '*') {
		for (i++; i < n && (v[i] == ' ' || v[i] == '\t'); i++)
			;
		return i == n;
	}
	for (;;) {
		while (i < n && (v[i] == ',' || v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i == n)
			break;
		/* Weak comparison: W/ does not matter. */
		if (n - i >= 2 && v[i] == 'W' && v[i + 1] == '/')
			i += 2;
		if (i == n || v[i] != '"')
			return false;
		for (s = i++; i < n && v[i] != '"'; i++) {
			/* etagc = %x21 / %x23-7E / obs-text */
			if (v[i] < 0x21 || v[i] == 0x7f)
				return false;
		}
		if (i == n)
			return false;
		i++;
		if (i - s == elen && memcmp(v + s, etag, elen) == 0)
			match = true;
		while (i < n && (v[i] == ' ' || v[i] == '\t'))
			i++;
		if (i < n && v[i] != ',')
			return false;
	}
	return match;
}

static int
http_parse_hex(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum http_parse_res
http_chunked_frame(struct http_chunked *hk, const uint8_t *buf, size_t len,
    size_t *used)
{
	size_t	 i;
	int	 d;
	uint8_t	 c;

	for (i = 0; i < len; i++) {
		c = buf[i];
		switch (hk->hk_state) {
		case HTTP_CK_SIZE0:
			if ((d = http_parse_hex(c)) == -1)
				goto bad;
			hk->hk_left = d;
			hk->hk_state = HTTP_CK_SIZE;
			break;
		case HTTP_CK_SIZE:
			if ((d = http_parse_hex(c)) != -1) {
				if (hk->hk_left > (UINT64_MAX >> 4))
					goto bad;
				hk->hk_left = hk->hk_left << 4 | (uint64_t)d;
			} else if (c == '\r')
				hk->hk_state = HTTP_CK_SIZE_LF;
			else if (c == ';' || c == ' ' || c == '\t')
				hk->hk_state = HTTP_CK_EXT;
			else
				goto bad;
			break;
		case HTTP_CK_EXT:
			if (c == '\r')
				hk->hk_state = HTTP_CK_SIZE_LF;
			else if (!http_parse_vchar_ws(c) ||
			    ++hk->hk_extra > HTTP_HEAD_MAX)
				goto bad;
			break;
		case HTTP_CK_SIZE_LF:
			if (c != '\n')
				goto bad;
			if (hk->hk_left == 0) {
				hk->hk_state = HTTP_CK_TRAILER;
				break;
			}
			hk->hk_state = HTTP_CK_DATA;
			*used = i + 1;
			return HTTP_PARSE_OK;
		case HTTP_CK_DATA:
			*used = i;
			return HTTP_PARSE_OK;
		case HTTP_CK_DATA_CR:
			if (c != '\r')
				goto bad;
			hk->hk_state = HTTP_CK_DATA_LF;
			break;
		case HTTP_CK_DATA_LF:
			if (c != '\n')
				goto bad;
			hk->hk_state = HTTP_CK_SIZE0;
			break;
		case HTTP_CK_TRAILER:
			if (c == '\r')
				hk->hk_state = HTTP_CK_END_LF;
			else if (!http_parse_tchar(c) ||
			    ++hk->hk_extra > HTTP_HEAD_MAX)
				goto bad;
			else
				hk->hk_state = HTTP_CK_TRAILER_LINE;
			break;
		case HTTP_CK_TRAILER_LINE:
			if (c == '\r')
				hk->hk_state = HTTP_CK_TRAILER_LF;
			else if (!http_parse_vchar_ws(c) ||
			    ++hk->hk_extra > HTTP_HEAD_MAX)
				goto bad;
			break;
		case HTTP_CK_TRAILER_LF:
			if (c != '\n')
				goto bad;
			hk->hk_state = HTTP_CK_TRAILER;
			break;
		case HTTP_CK_END_LF:
			if (c != '\n')
				goto bad;
			hk->hk_state = HTTP_CK_DONE;
			*used = i + 1;
			return HTTP_PARSE_OK;
		case HTTP_CK_DONE:
			*used = i;
			return HTTP_PARSE_OK;
		}
	}
	*used = len;
	if (hk->hk_state == HTTP_CK_DATA || hk->hk_state == HTTP_CK_DONE)
		return HTTP_PARSE_OK;
	return HTTP_PARSE_AGAIN;
bad:
	*used = i;
	return HTTP_PARSE_ERROR;
}

void
http_chunked_data(struct http_chunked *hk, uint64_t n)
{
	hk->hk_left -= n;
	if (hk->hk_left == 0)
		hk->hk_state = HTTP_CK_DATA_CR;
}
