/*
 * tests/unit/test_http.c: the HTTP/1.1 parser (proxy/http.c) with the
 * real llhttp and real evbuffers.
 *
 * Every case is a byte string run through a parser; what the parser
 * reports (heads, whole bodies, errors, end of input) is written down as
 * a short transcript and compared with the expected one.  Each case is
 * also run split into two pieces at every byte boundary, through both
 * the evbuffer and the span interfaces, with a tiny body budget, and
 * must give the same transcript: the parser may not depend on how the
 * bytes arrive.  Rewriting and serialisation are in test_http_write.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/http.h"

#define TEST_HTTP_OUT	4096		/* transcript bytes */

/* How one run feeds a parser. */
struct test_http_run {
	enum http_parser_kind	 kind;
	const struct http_limits *lim;		/* NULL: defaults */
	enum http_method	 req_method;	/* responses */
	int			 req_upgrade;
	int			 span;		/* http_parse_span() */
	size_t			 body_max;
};

/* ------------------------------------------------------------------ */

static void
tr_add(char *out, size_t outsz, const char *fmt, ...)
{
	size_t	 len = strlen(out);
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(out + len, outsz - len, fmt, ap);
	va_end(ap);
}

static void
tr_head(struct http_parser *p, enum http_parser_kind kind, char *out,
    size_t outsz)
{
	struct http_msg	*m = http_parser_msg(p);
	const char	*s, *t;
	size_t		 slen, tlen;

	if (kind == HTTP_PARSER_REQUEST) {
		s = http_msg_method_name(m, &slen);
		t = http_msg_target(m, &tlen);
		tr_add(out, outsz, "%.*s %.*s ", (int)slen, s, (int)tlen, t);
	} else
		tr_add(out, outsz, "%d ", http_msg_status(m));
	tr_add(out, outsz, "%d f%d l%" PRIu64 " x%x;", http_msg_version(m),
	    (int)http_msg_framing(m), http_msg_content_length(m),
	    http_msg_flags(m));
}

static void
tr_body(struct evbuffer *body, char *out, size_t outsz, const char *end)
{
	size_t	 len = evbuffer_get_length(body);

	tr_add(out, outsz, "[%.*s]%s", (int)len,
	    (char *)evbuffer_pullup(body, -1), end);
	evbuffer_drain(body, len);
}

/*
 * One event of a run.  Returns 0 to go on with the same input, 1 when
 * the input is used up, -1 after an error.
 */
static int
tr_event(struct http_parser *p, enum http_parser_kind kind,
    enum http_parse_result r, struct evbuffer *body, char *out, size_t outsz)
{
	switch (r) {
	case HTTP_PARSE_HEAD:
		tr_head(p, kind, out, outsz);
		return (0);
	case HTTP_PARSE_BODY:
		return (0);
	case HTTP_PARSE_DONE:
		tr_body(body, out, outsz, ";");
		return (0);
	case HTTP_PARSE_AGAIN:
		return (1);
	case HTTP_PARSE_ERROR:
		tr_add(out, outsz, "E%d;", http_parser_status(p));
		return (-1);
	case HTTP_PARSE_OK:
		break;
	}
	fail_msg("unexpected parse result %d", (int)r);
	return (-1);
}

static void
test_http_run(const struct test_http_run *run, const char *raw, size_t len,
    size_t split, char *out, size_t outsz)
{
	struct http_parser	*p;
	struct evbuffer		*in, *body;
	enum http_parse_result	 r;
	size_t			 piece[2], off = 0, pos, used;
	int			 i, ev = 0;

	out[0] = '\0';
	assert_non_null(p = http_parser_new(run->kind, run->lim));
	assert_non_null(in = evbuffer_new());
	assert_non_null(body = evbuffer_new());
	if (run->kind == HTTP_PARSER_RESPONSE)
		http_parser_set_request(p, run->req_method, run->req_upgrade);
	piece[0] = split;
	piece[1] = len - split;
	for (i = 0; i < 2 && ev != -1; i++) {
		if (run->span) {
			pos = 0;
			do {
				r = http_parse_span(p, raw + off + pos,
				    piece[i] - pos, &used, body,
				    run->body_max);
				assert_true(used <= piece[i] - pos);
				pos += used;
				ev = tr_event(p, run->kind, r, body, out,
				    outsz);
			} while (ev == 0 || (ev == 1 && pos < piece[i]));
		} else {
			assert_int_equal(evbuffer_add(in, raw + off,
			    piece[i]), 0);
			do {
				r = http_parse(p, in, body, run->body_max);
				ev = tr_event(p, run->kind, r, body, out,
				    outsz);
			} while (ev == 0);
		}
		off += piece[i];
	}
	if (ev != -1) {
		r = http_parse_eof(p);
		if (r == HTTP_PARSE_OK)
			tr_add(out, outsz, ".");
		else if (r == HTTP_PARSE_DONE)
			tr_body(body, out, outsz, ".");
		else
			tr_add(out, outsz, "E%d.", http_parser_status(p));
	}
	evbuffer_free(body);
	evbuffer_free(in);
	http_parser_free(p);
}

static void
test_http_check(const struct test_http_run *run, const char *raw,
    size_t len, const char *want)
{
	struct test_http_run	 r = *run;
	char			 got[TEST_HTTP_OUT];
	size_t			 split, budget;
	static const size_t	 budgets[] = { 1, 3, 65536 };

	for (r.span = 0; r.span < 2; r.span++) {
		for (budget = 0; budget < sizeof(budgets) /
		    sizeof(budgets[0]); budget++) {
			r.body_max = budgets[budget];
			for (split = 0; split <= len; split++) {
				test_http_run(&r, raw, len, split, got,
				    sizeof(got));
				if (strcmp(got, want) != 0)
					fail_msg("case \"%.*s\"\nsplit %zu span "
					    "%d budget %zu\n got: %s\nwant: %s",
					    (int)len, raw, split, r.span,
					    r.body_max, got, want);
			}
		}
	}
}

/* ------------------------------------------------------------------ */

struct treq {
	const char	*raw;
	const char	*want;
};

struct tcase {
	const char	*raw;
	const char	*want;
	enum http_method method;	/* responses: the request's */
};

static void
run_cases(const struct tcase *cases, size_t n)
{
	struct test_http_run	 run = { .kind = HTTP_PARSER_RESPONSE,
	    .req_upgrade = 1 };
	size_t			 i;

	for (i = 0; i < n; i++) {
		run.req_method = cases[i].method;
		test_http_check(&run, cases[i].raw, strlen(cases[i].raw),
		    cases[i].want);
	}
}

#define NCASES(c)	(sizeof(c) / sizeof((c)[0]))
#define HOST		"Host: a\r\n"

static void
test_http_parses_valid_requests_at_every_split(void **state)
{
	static const struct treq cases[] = {
		{ "GET / HTTP/1.1\r\n" HOST "\r\n", "GET / 11 f0 l0 x1;[];." },
		{ "POST /p?q=1 HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n"
		    "hello", "POST /p?q=1 11 f1 l5 x1;[hello];." },
		{ "POST /c HTTP/1.1\r\n" HOST
		    "Transfer-Encoding: chunked\r\n\r\n"
		    "5\r\nhello\r\n6;ext=1;q=\"a \\\"b\"\r\n world\r\n"
		    "0\r\nX-Trailer: 1\r\n\r\n",
		    "POST /c 11 f2 l0 x1;[hello world];." },
		{ "POST / HTTP/1.1\r\n" HOST "transfer-encoding: Chunked\r\n"
		    "\r\nA\r\n0123456789\r\n0\r\n\r\n",
		    "POST / 11 f2 l0 x1;[0123456789];." },
		{ "POST / HTTP/1.1\r\n" HOST "Transfer-Encoding: chunked\r\n"
		    "\r\n3 ; a = b ; c\r\nabc\r\n0\r\n\r\n",
		    "POST / 11 f2 l0 x1;[abc];." },
		{ "GET / HTTP/1.0\r\n\r\n", "GET / 10 f0 l0 x0;[];." },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		    "GET / 10 f0 l0 x1;[];." },
		{ "GET /a HTTP/1.1\r\n" HOST "\r\nGET /b HTTP/1.1\r\n" HOST
		    "\r\n", "GET /a 11 f0 l0 x1;[];GET /b 11 f0 l0 x1;[];." },
		{ "POST /a HTTP/1.1\r\n" HOST "Content-Length: 3\r\n\r\nxyz"
		    "GET /b HTTP/1.1\r\n" HOST "\r\n",
		    "POST /a 11 f1 l3 x1;[xyz];GET /b 11 f0 l0 x1;[];." },
		{ "\r\nGET / HTTP/1.1\r\n" HOST "\r\n",
		    "GET / 11 f0 l0 x1;[];." },
		{ "GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n",
		    "GET / 11 f0 l0 x0;[];." },
		{ "PUT /u HTTP/1.1\r\n" HOST "Expect: 100-continue\r\n"
		    "Content-Length: 2\r\n\r\nhi", "PUT /u 11 f1 l2 x3;[hi];." },
		{ "GET /ws HTTP/1.1\r\n" HOST "Upgrade: websocket\r\n"
		    "Connection: keep-alive, Upgrade\r\n\r\n",
		    "GET /ws 11 f0 l0 x5;[];." },
		{ "GET http://a/x HTTP/1.1\r\n" HOST "\r\n",
		    "GET http://a/x 11 f0 l0 x9;[];." },
		{ "OPTIONS * HTTP/1.1\r\n" HOST "\r\n",
		    "OPTIONS * 11 f0 l0 x1;[];." },
		{ "POST / HTTP/1.1\r\n" HOST "Content-Length: 0\r\n\r\n",
		    "POST / 11 f1 l0 x1;[];." },
		{ "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
		    "GET / 11 f0 l0 x1;[];." },
		{ "GET / HTTP/1.1\r\nHost: ex-ample.com:80\r\nX:\r\n"
		    "Y: \t a \xe9 \t\r\n\r\n", "GET / 11 f0 l0 x1;[];." },
		{ "PROPFIND /d HTTP/1.1\r\n" HOST "\r\n",
		    "PROPFIND /d 11 f0 l0 x1;[];." },
		{ "DELETE /x HTTP/1.1\r\n" HOST "Content-Length: 1\r\n\r\n"
		    "z", "DELETE /x 11 f1 l1 x1;[z];." },
		{ "", "." },
	};

	struct test_http_run	 run = { .kind = HTTP_PARSER_REQUEST };
	size_t			 i;

	(void)state;
	for (i = 0; i < NCASES(cases); i++)
		test_http_check(&run, cases[i].raw, strlen(cases[i].raw),
		    cases[i].want);
}

static void
test_http_parses_valid_responses_at_every_split(void **state)
{
	static const struct tcase cases[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
		    "200 11 f1 l3 x1;[abc];.", HTTP_METHOD_GET },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		    "2\r\nab\r\n1\r\nc\r\n0\r\n\r\n",
		    "200 11 f2 l0 x1;[abc];.", HTTP_METHOD_GET },
		{ "HTTP/1.1 200 OK\r\n\r\nabcdef", "200 11 f3 l0 x0;[abcdef].",
		    HTTP_METHOD_GET },
		{ "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold",
		    "200 10 f3 l0 x0;[old].", HTTP_METHOD_GET },
		/* RFC 9112 §6.3: no body whatever the fields say. */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"
		    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n",
		    "200 11 f0 l0 x1;[];200 11 f0 l0 x1;[];.",
		    HTTP_METHOD_HEAD },
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		    "200 11 f0 l0 x1;[];.", HTTP_METHOD_HEAD },
		{ "HTTP/1.1 204 No Content\r\n\r\n"
		    "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
		    "204 11 f0 l0 x1;[];304 11 f0 l0 x1;[];.",
		    HTTP_METHOD_GET },
		{ "HTTP/1.1 100 Continue\r\n\r\n"
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		    "100 11 f0 l0 x1;[];200 11 f1 l2 x1;[ok];.",
		    HTTP_METHOD_POST },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n\r\n", "101 11 f0 l0 x4;[];.",
		    HTTP_METHOD_GET },
		{ "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		    "200 11 f1 l0 x1;[];.", HTTP_METHOD_GET },
		{ "HTTP/1.1 404 Nicht gef\xfcnden\r\nContent-Length: 1\r\n"
		    "Connection: close\r\n\r\nx", "404 11 f1 l1 x0;[x];.",
		    HTTP_METHOD_GET },
		{ "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
		    "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nb",
		    "200 11 f1 l1 x1;[a];201 11 f1 l1 x1;[b];.",
		    HTTP_METHOD_GET },
	};

	(void)state;
	run_cases(cases, NCASES(cases));
}

/* ------------------------------------------------------------------ */

struct tbad {
	const char	*raw;
	size_t		 len;		/* 0: strlen(raw) */
	int		 status;
};

static void
run_bad(enum http_parser_kind kind, const struct tbad *cases, size_t n,
    int upgrade)
{
	struct test_http_run	 run = { .kind = kind,
	    .req_method = HTTP_METHOD_GET, .req_upgrade = upgrade };
	char			 want[32], got[TEST_HTTP_OUT];
	size_t			 i, len;

	for (i = 0; i < n; i++) {
		len = cases[i].len ? cases[i].len : strlen(cases[i].raw);
		/*
		 * The error comes at the first offending byte, so whatever
		 * was complete before it is reported first.
		 */
		snprintf(want, sizeof(want), "E%d;", cases[i].status);
		run.body_max = 65536;
		run.span = 0;
		test_http_run(&run, cases[i].raw, len, 0, got,
		    sizeof(got));
		/* "E400;" from http_parse(), "E400." from the end of input */
		want[strlen(want) - 1] = '\0';
		if (strlen(got) < strlen(want) + 1 ||
		    strncmp(got + strlen(got) - strlen(want) - 1, want,
		    strlen(want)) != 0)
			fail_msg("case %zu \"%.*s\": got %s, want ...%s", i,
			    (int)len, cases[i].raw, got, want);
		test_http_check(&run, cases[i].raw, len, got);
	}
}

#define REQ		"POST / HTTP/1.1\r\n" HOST
#define CHUNKED		"Transfer-Encoding: chunked\r\n"

static void
test_http_rejects_bad_requests(void **state)
{
	static const struct tbad cases[] = {
		/* Content-Length and Transfer-Encoding. */
		{ REQ "Content-Length: 5\r\n" CHUNKED "\r\n", 0, 400 },
		{ REQ CHUNKED "Content-Length: 5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0,
		    400 },
		{ REQ "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 0,
		    400 },
		{ REQ "Content-Length: 5, 6\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: 5, 5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: +5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: -5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: 5 5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: 0x5\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: five\r\n\r\n", 0, 400 },
		{ REQ "Content-Length: \r\n\r\n", 0, 400 },
		{ REQ "Content-Length: 99999999999999999999999\r\n\r\n", 0,
		    400 },
		{ REQ "Content-Length: 18446744073709551616\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 501 },
		{ REQ "Transfer-Encoding: gzip\r\n" CHUNKED "\r\n", 0, 501 },
		{ REQ "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: chunked, chunked\r\n\r\n", 0, 400 },
		{ REQ CHUNKED CHUNKED "\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: xchunked\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: chunkedx\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: gzip\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: identity\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: chunked;q=1\r\n\r\n", 0, 400 },
		{ REQ "Transfer-Encoding: \r\n\r\n", 0, 400 },
		{ "POST / HTTP/1.0\r\n" CHUNKED "\r\n0\r\n\r\n", 0, 400 },
		/* Field syntax. */
		{ REQ "X: a\r\n b\r\n\r\n", 0, 400 },
		{ REQ "X: a\r\n\tb\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\n " HOST "\r\n", 0, 400 },
		{ REQ "X: a\rb\r\n\r\n", 0, 400 },
		{ REQ "X: a\r\r\n\r\n", 0, 400 },
		{ REQ "X: a\nY: b\r\n\r\n", 0, 400 },
		{ REQ "X: a\r\n\n", 0, 400 },
		{ REQ "X: a\0b\r\n\r\n", sizeof(REQ "X: a\0b\r\n\r\n") - 1,
		    400 },
		{ REQ "X: a\x01" "b\r\n\r\n", 0, 400 },
		{ REQ "X: a\x7f\r\n\r\n", 0, 400 },
		{ REQ "X: a\x1b[0m\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 0, 400 },
		{ REQ "X(y): 1\r\n\r\n", 0, 400 },
		{ REQ "X@y: 1\r\n\r\n", 0, 400 },
		{ REQ "\"x\": 1\r\n\r\n", 0, 400 },
		{ REQ "X\xe9: 1\r\n\r\n", 0, 400 },
		{ REQ ": empty\r\n\r\n", 0, 400 },
		{ REQ "No colon here\r\n\r\n", 0, 400 },
		/* Chunks. */
		{ REQ CHUNKED "\r\nzz\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n-1\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n0x5\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n1000000000000000\r\n", 0, 400 },
		{ REQ CHUNKED "\r\nffffffffffffffffff\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5\r\nhelloX\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5\r\nhello\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5\rhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5 \r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a\x01\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;=x\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a=\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a=b c\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a=\"b\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a=(b)\r\nhello\r\n0\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n5;a\0\r\nhello\r\n0\r\n\r\n",
		    sizeof(REQ CHUNKED "\r\n5;a\0\r\nhello\r\n0\r\n\r\n") - 1,
		    400 },
		{ REQ CHUNKED "\r\n0\r\nX: a\r\n b\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n0\r\nX : a\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n0\r\nX: a\rb\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n0\r\nbogus\r\n\r\n", 0, 400 },
		{ REQ CHUNKED "\r\n0\r\n\n", 0, 400 },
		/* Request line. */
		{ "GET /a b HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET /a\x01 HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET /a\tb HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET /\xe9 HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET  / HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ " GET / HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET / HTTP/1.1 \r\n" HOST "\r\n", 0, 400 },
		{ "GET /\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.10\r\n" HOST "\r\n", 0, 400 },
		{ "GET / HTTP/1\r\n" HOST "\r\n", 0, 400 },
		{ "GET / http/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET / HTTP/2.0\r\n" HOST "\r\n", 0, 505 },
		{ "GET / HTTP/1.2\r\n" HOST "\r\n", 0, 505 },
		{ "GET / HTTP/0.9\r\n" HOST "\r\n", 0, 505 },
		{ "GET / HTTP/3.0\r\n" HOST "\r\n", 0, 505 },
		{ "G(T / HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "FOO / HTTP/1.1\r\n" HOST "\r\n", 0, 501 },
		{ "get / HTTP/1.1\r\n" HOST "\r\n", 0, 501 },
		{ "PLAY / HTTP/1.1\r\n" HOST "\r\n", 0, 501 },
		{ "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 0, 501 },
		{ "GET * HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET a/b HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		{ "GET ftp://a/ HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
		/* Host, Expect. */
		{ "GET / HTTP/1.1\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\n" HOST HOST "\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.0\r\n" HOST HOST "\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: a:\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 0, 400 },
		{ "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 0, 400 },
		{ REQ "Expect: 200-ok\r\n\r\n", 0, 417 },
		{ REQ "Expect: 100-continue, x\r\n\r\n", 0, 417 },
		/* Blank lines are tolerated before a request, a few. */
		{ "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" HOST "\r\n", 0,
		    400 },
		/* Nothing after the last message of a connection. */
		{ "GET / HTTP/1.1\r\n" HOST "Connection: close\r\n\r\n"
		    "GET / HTTP/1.1\r\n" HOST "\r\n", 0, 400 },
	};

	(void)state;
	run_bad(HTTP_PARSER_REQUEST, cases, NCASES(cases), 0);
}

#define RESP		"HTTP/1.1 200 OK\r\n"

static void
test_http_rejects_bad_responses_with_502(void **state)
{
	static const struct tbad cases[] = {
		{ RESP "Content-Length: 5\r\n" CHUNKED "\r\n", 0, 502 },
		{ RESP "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 0,
		    502 },
		{ RESP "Content-Length: 5, 6\r\n\r\n", 0, 502 },
		{ RESP "Content-Length: -1\r\n\r\n", 0, 502 },
		{ RESP "Content-Length: 1 0\r\n\r\n", 0, 502 },
		{ RESP "Transfer-Encoding: chunked, gzip\r\n\r\n", 0, 502 },
		{ RESP "Transfer-Encoding: gzip, chunked\r\n\r\n", 0, 502 },
		{ RESP "Transfer-Encoding: gzip\r\n\r\n", 0, 502 },
		{ RESP CHUNKED CHUNKED "\r\n", 0, 502 },
		{ "HTTP/1.0 200 OK\r\n" CHUNKED "\r\n", 0, 502 },
		{ RESP "X: a\r\n b\r\n\r\n", 0, 502 },
		{ RESP "X: a\rb\r\n\r\n", 0, 502 },
		{ RESP "X: a\nb\r\n\r\n", 0, 502 },
		{ RESP "X: a\0\r\n\r\n", sizeof(RESP "X: a\0\r\n\r\n") - 1,
		    502 },
		{ RESP "X : a\r\n\r\n", 0, 502 },
		{ RESP "X{: a\r\n\r\n", 0, 502 },
		{ RESP CHUNKED "\r\nq\r\n", 0, 502 },
		{ RESP CHUNKED "\r\n2\r\nabc\r\n", 0, 502 },
		{ RESP CHUNKED "\r\n2;a=\"\x01\"\r\nab\r\n", 0, 502 },
		{ "HTTP/1.1 20 OK\r\n\r\n", 0, 502 },
		{ "HTTP/1.1 2000 OK\r\n\r\n", 0, 502 },
		{ "HTTP/1.1 600 Odd\r\n\r\n", 0, 502 },
		{ "HTTP/1.1 099 Odd\r\n\r\n", 0, 502 },
		{ "HTTP/2.0 200 OK\r\n\r\n", 0, 502 },
		{ "HTTP/1.2 200 OK\r\n\r\n", 0, 502 },
		{ "ICY 200 OK\r\n\r\n", 0, 502 },
		{ "HTTP/1.1 200 OK\n\n", 0, 502 },
		{ "\r\nHTTP/1.1 200 OK\r\n\r\n", 0, 502 },
		{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
		    "Connection: upgrade\r\n\r\n", 0, 502 },
		{ RESP "Content-Length: 5\r\n\r\nabc", 0, 502 },
		{ RESP CHUNKED "\r\n5\r\nab", 0, 502 },
	};

	(void)state;
	run_bad(HTTP_PARSER_RESPONSE, cases, NCASES(cases), 0);
}

/*
 * The start lines' own bounds, at the byte: a 32-byte method, and a
 * status line of 1,024 bytes before its CRLF.  One byte more is an error.
 */
static void
test_http_start_line_bounds(void **state)
{
	struct test_http_run	 run = { .kind = HTTP_PARSER_REQUEST,
	    .req_method = HTTP_METHOD_GET };
	char			 raw[1200], got[TEST_HTTP_OUT];
	size_t			 len;

	(void)state;
	/* "M" * 32: an extension method of the longest length parsed. */
	len = (size_t)snprintf(raw, sizeof(raw), "%.32s / HTTP/1.1\r\n"
	    HOST "\r\n", "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM");
	run.body_max = 65536;
	test_http_run(&run, raw, len, 0, got, sizeof(got));
	/* Parsed whole; a method it does not know is then a 501. */
	assert_string_equal(got, "E501;");
	test_http_check(&run, raw, len, got);
	len = (size_t)snprintf(raw, sizeof(raw), "%.33s / HTTP/1.1\r\n"
	    HOST "\r\n", "MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM");
	test_http_run(&run, raw, len, 0, got, sizeof(got));
	assert_string_equal(got, "E400;");
	test_http_check(&run, raw, len, got);

#define TAIL	"\r\nContent-Length: 0\r\n\r\n"
	run.kind = HTTP_PARSER_RESPONSE;
	/* "HTTP/1.1 200 " is 13 bytes: a reason of 1,011 fills 1,024. */
	memcpy(raw, "HTTP/1.1 200 ", 13);
	memset(raw + 13, 'r', 1011);
	memcpy(raw + 1024, TAIL, sizeof(TAIL) - 1);
	len = 1024 + sizeof(TAIL) - 1;
	test_http_run(&run, raw, len, 0, got, sizeof(got));
	if (strchr(got, 'E') != NULL)
		fail_msg("got %s", got);
	test_http_check(&run, raw, len, got);
	memcpy(raw, "HTTP/1.1 200 ", 13);
	memset(raw + 13, 'r', 1012);
	memcpy(raw + 1025, TAIL, sizeof(TAIL) - 1);
	len = 1025 + sizeof(TAIL) - 1;
	test_http_run(&run, raw, len, 0, got, sizeof(got));
	assert_string_equal(got, "E502;");
	test_http_check(&run, raw, len, got);
#undef TAIL
}

/* ------------------------------------------------------------------ */

static void
test_http_limits_answer_414_431_and_413(void **state)
{
	struct http_limits	 lim = { .l_max_uri = 8,
	    .l_max_header_bytes = 40, .l_max_headers = 3, .l_max_body = 4 };
	struct test_http_run	 run = { .kind = HTTP_PARSER_REQUEST,
	    .lim = &lim };
	static const struct {
		const char	*raw;
		const char	*want;
	} cases[] = {
		{ "GET /2345678 HTTP/1.1\r\n" HOST "\r\n",
		    "GET /2345678 11 f0 l0 x1;[];." },
		{ "GET /23456789 HTTP/1.1\r\n" HOST "\r\n", "E414;" },
		{ "GET /23456789012345678901234567890 HTTP/1.1\r\n", "E414;" },
		/* 40 bytes of fields, the last CRLF included. */
		{ "GET / HTTP/1.1\r\n" HOST "X-Fill: 0123456789012345678\r\n\r\n",
		    "GET / 11 f0 l0 x1;[];." },
		{ "GET / HTTP/1.1\r\n" HOST "X-Fill: 01234567890123456789\r\n\r\n",
		    "E431;" },
		{ "GET / HTTP/1.1\r\n" HOST "A: 1\r\nB: 2\r\n\r\n",
		    "GET / 11 f0 l0 x1;[];." },
		{ "GET / HTTP/1.1\r\n" HOST "A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
		    "E431;" },
		{ "POST / HTTP/1.1\r\n" HOST "Content-Length: 4\r\n\r\nabcd",
		    "POST / 11 f1 l4 x1;[abcd];." },
		{ "POST / HTTP/1.1\r\n" HOST "Content-Length: 5\r\n\r\n",
		    "E413;" },
		{ "POST / HTTP/1.1\r\n" HOST CHUNKED "\r\n"
		    "2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n",
		    "POST / 11 f2 l0 x1;[abcd];." },
		{ "POST / HTTP/1.1\r\n" HOST CHUNKED "\r\n"
		    "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n",
		    "POST / 11 f2 l0 x1;E413;" },
	};
	char			 got[TEST_HTTP_OUT];
	size_t			 i;

	(void)state;
	for (i = 0; i < NCASES(cases); i++) {
		run.body_max = 65536;
		test_http_run(&run, cases[i].raw, strlen(cases[i].raw), 0,
		    got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i, got,
			    cases[i].want);
		/* Body bytes before the 413 depend on the budget. */
		if (strstr(cases[i].want, "E413") == NULL ||
		    strchr(cases[i].want, '[') == NULL)
			test_http_check(&run, cases[i].raw,
			    strlen(cases[i].raw), cases[i].want);
	}
}


/* ------------------------------------------------------------------ */

static uint64_t
rnd_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (*s);
}

static void
test_http_dechunks_random_bodies_byte_exact(void **state)
{
	struct http_parser	*p;
	struct evbuffer		*in, *wire, *body;
	enum http_parse_result	 r;
	unsigned char		*want, *got;
	uint64_t		 seed = 0x9e3779b97f4a7c15ULL;
	size_t			 len = 200000, off, n, round;
	char			 line[64];

	(void)state;
	assert_non_null(want = malloc(len));
	for (off = 0; off < len; off++)
		want[off] = (unsigned char)rnd_next(&seed);
	for (round = 0; round < 4; round++) {
		assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
		assert_non_null(in = evbuffer_new());
		assert_non_null(wire = evbuffer_new());
		assert_non_null(body = evbuffer_new());
		evbuffer_add_printf(wire, "PUT /up HTTP/1.1\r\nHost: h\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n");
		for (off = 0; off < len; off += n) {
			n = 1 + rnd_next(&seed) % (round == 0 ? 7 : 9000);
			if (n > len - off)
				n = len - off;
			snprintf(line, sizeof(line), rnd_next(&seed) % 2 ?
			    "%zX\r\n" : "%zx;n=\"v\"\r\n", n);
			evbuffer_add(wire, line, strlen(line));
			evbuffer_add(wire, want + off, n);
			evbuffer_add(wire, "\r\n", 2);
		}
		evbuffer_add_printf(wire, "0\r\nT: x\r\n\r\nGET /next HTTP/1.1");
		/* Fed in random pieces, read with random budgets. */
		r = HTTP_PARSE_AGAIN;
		while (r != HTTP_PARSE_DONE) {
			n = 1 + rnd_next(&seed) % 5000;
			evbuffer_remove_buffer(wire, in, n);
			do {
				n = 1 + rnd_next(&seed) % 3000;
				off = evbuffer_get_length(body);
				r = http_parse(p, in, body, n);
				assert_true(evbuffer_get_length(body) - off <= n);
				assert_int_not_equal(r, HTTP_PARSE_ERROR);
			} while (r == HTTP_PARSE_BODY || r == HTTP_PARSE_HEAD);
		}
		assert_int_equal(evbuffer_get_length(body), len);
		assert_int_equal(http_parser_body_bytes(p), len);
		assert_non_null(got = evbuffer_pullup(body, -1));
		assert_memory_equal(got, want, len);
		/* The next request's bytes are still there, untouched. */
		evbuffer_add_buffer(in, wire);
		n = evbuffer_get_length(in);
		assert_true(n > 0 && n <= 18);
		assert_memory_equal(evbuffer_pullup(in, -1),
		    "GET /next HTTP/1.1" + 18 - n, n);
		evbuffer_free(body);
		evbuffer_free(wire);
		evbuffer_free(in);
		http_parser_free(p);
	}
	free(want);
}

static void
test_http_hands_out_at_most_body_max_per_call(void **state)
{
	static const char	*raws[] = {
		"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n"
		    "0123456789",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
		    "\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\n",
	};
	struct http_parser	*p;
	struct evbuffer		*in, *body;
	enum http_parse_result	 r;
	size_t			 i, calls;

	(void)state;
	for (i = 0; i < NCASES(raws); i++) {
		assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
		assert_non_null(in = evbuffer_new());
		assert_non_null(body = evbuffer_new());
		evbuffer_add(in, raws[i], strlen(raws[i]));
		assert_int_equal(http_parse(p, in, body, 3), HTTP_PARSE_HEAD);
		assert_int_equal(evbuffer_get_length(body), 0);
		calls = 0;
		do {
			r = http_parse(p, in, body, 3);
			calls++;
			assert_true(evbuffer_get_length(body) <= 3 * calls);
		} while (r == HTTP_PARSE_BODY);
		assert_int_equal(r, HTTP_PARSE_DONE);
		assert_int_equal(calls, 4);	/* 3 + 3 + 3 + 1 */
		assert_int_equal(evbuffer_get_length(body), 10);
		assert_memory_equal(evbuffer_pullup(body, -1), "0123456789",
		    10);
		assert_int_equal(evbuffer_get_length(in), 0);
		evbuffer_free(body);
		evbuffer_free(in);
		http_parser_free(p);
	}
}

static void
test_http_stops_at_the_end_of_each_pipelined_message(void **state)
{
	static const char	 two[] =
	    "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"
	    "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
	struct http_parser	*p;
	struct http_msg		*first;
	struct evbuffer		*in, *body;
	const char		*t;
	size_t			 len;

	(void)state;
	assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
	assert_non_null(in = evbuffer_new());
	assert_non_null(body = evbuffer_new());
	evbuffer_add(in, two, sizeof(two) - 1);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_HEAD);
	/* Nothing of the body is read before the caller asks. */
	assert_int_equal(evbuffer_get_length(in), 2 + 28);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_DONE);
	assert_int_equal(evbuffer_get_length(in), 28);
	/* The first message survives until the caller takes it. */
	assert_non_null(first = http_parser_take(p));
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_HEAD);
	assert_int_equal(evbuffer_get_length(in), 0);
	t = http_msg_target(http_parser_msg(p), &len);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "/b", 2);
	t = http_msg_target(first, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(t, "/a", 2);
	assert_int_equal(http_msg_method(first), HTTP_METHOD_POST);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_DONE);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_AGAIN);
	assert_int_equal(http_parse_eof(p), HTTP_PARSE_OK);
	http_msg_free(first);
	evbuffer_free(body);
	evbuffer_free(in);
	http_parser_free(p);
}

/*
 * A parser freed in the middle of a head, with small limits and a message
 * that was never taken, is kept for the next http_parser_new(), which
 * must get it as new: the new kind and limits, no message before the
 * first byte, none of the old head, and nothing of the request the old
 * one was told about.
 */
static void
test_http_parser_reused_as_new(void **state)
{
	static const char	 part[] = "GET /abc HTTP/1.1\r\nHost: a\r\nX-";
	static const char	 resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
	struct http_limits	 small = { .l_max_uri = 8,
	    .l_max_header_bytes = 40, .l_max_headers = 3 };
	struct http_parser	*p, *q;
	struct evbuffer		*in, *body;
	char			 req[200];
	const char		*t;
	size_t			 len;
	int			 n;

	(void)state;
	assert_non_null(in = evbuffer_new());
	assert_non_null(body = evbuffer_new());
	assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, &small));
	evbuffer_add(in, part, sizeof(part) - 1);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_AGAIN);
	http_parser_free(p);

	/*
	 * A response parser whose request asked for an upgrade; the next
	 * one is told nothing, so a 101 is not an answer it may take.
	 */
	assert_non_null(q = http_parser_new(HTTP_PARSER_RESPONSE, NULL));
	http_parser_set_request(q, HTTP_METHOD_GET, 1);
	http_parser_free(q);
	assert_non_null(q = http_parser_new(HTTP_PARSER_RESPONSE, NULL));
	assert_null(http_parser_msg(q));
	evbuffer_add(in, resp, sizeof(resp) - 1);
	assert_int_equal(http_parse(q, in, body, 100), HTTP_PARSE_ERROR);
	assert_int_equal(http_parser_status(q), 502);
	http_parser_free(q);
	evbuffer_drain(in, evbuffer_get_length(in));

	assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
	assert_null(http_parser_msg(p));
	/* A 100-byte target: over the old limit, far under the default. */
	n = snprintf(req, sizeof(req), "GET /%0100d HTTP/1.1\r\nHost: b\r\n"
	    "\r\n", 0);
	evbuffer_add(in, req, (size_t)n);
	assert_int_equal(http_parse(p, in, body, 100), HTTP_PARSE_HEAD);
	t = http_msg_target(http_parser_msg(p), &len);
	assert_int_equal(len, 101);
	assert_memory_equal(t, req + 4, 101);
	assert_int_equal(http_msg_count(http_parser_msg(p), "Host"), 1);
	assert_int_equal(http_msg_count(http_parser_msg(p), "X-"), 0);
	http_parser_free(p);
	evbuffer_free(body);
	evbuffer_free(in);
}

static void
test_http_leaves_tunnel_bytes_after_a_101(void **state)
{
	static const char	 resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello";
	struct http_parser	*p;
	struct evbuffer		*in;

	(void)state;
	assert_non_null(p = http_parser_new(HTTP_PARSER_RESPONSE, NULL));
	assert_non_null(in = evbuffer_new());
	http_parser_set_request(p, HTTP_METHOD_GET, 1);
	evbuffer_add(in, resp, sizeof(resp) - 1);
	assert_int_equal(http_parse(p, in, NULL, 100), HTTP_PARSE_HEAD);
	assert_true(http_msg_flags(http_parser_msg(p)) & HTTP_MSG_UPGRADE);
	assert_int_equal(http_parse(p, in, NULL, 100), HTTP_PARSE_DONE);
	assert_int_equal(evbuffer_get_length(in), 7);
	assert_memory_equal(evbuffer_pullup(in, -1), "\x81\x05hello", 7);
	/* Those bytes are the tunnel's, never a next response. */
	assert_int_equal(http_parse(p, in, NULL, 100), HTTP_PARSE_ERROR);
	assert_int_equal(http_parser_status(p), 502);
	evbuffer_free(in);
	http_parser_free(p);
}

static void
test_http_keeps_fields_in_order_and_the_head_verbatim(void **state)
{
	static const char	 req[] = "GET /x HTTP/1.1\r\nHost: a\r\n"
	    "X-Multi: one\r\nx-multi: two\r\nEmpty:\r\n"
	    "Spaced: \t in  side \t\r\nConnection: Keep-Alive, Foo\r\n\r\n";
	struct http_parser	*p;
	struct http_msg		*m;
	struct http_field	 f;
	struct evbuffer		*in;
	const char		*v;
	size_t			 len;

	(void)state;
	assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
	assert_non_null(in = evbuffer_new());
	evbuffer_add(in, req, sizeof(req) - 1);
	assert_int_equal(http_parse(p, in, NULL, 1), HTTP_PARSE_HEAD);
	m = http_parser_msg(p);
	assert_int_equal(http_msg_nfields(m), 6);
	http_msg_field(m, 2, &f);
	assert_int_equal(f.f_namelen, 7);
	assert_memory_equal(f.f_name, "x-multi", 7);
	assert_memory_equal(f.f_value, "two", 3);
	v = http_msg_get(m, "X-MULTI", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "one", 3);
	v = http_msg_get_last(m, "x-multi", &len);
	assert_memory_equal(v, "two", 3);
	assert_int_equal(http_msg_count(m, "x-multi"), 2);
	v = http_msg_get(m, "empty", &len);
	assert_non_null(v);
	assert_int_equal(len, 0);
	v = http_msg_get(m, "spaced", &len);
	assert_int_equal(len, 8);
	assert_memory_equal(v, "in  side", 8);
	assert_true(http_msg_has_token(m, "connection", "keep-alive"));
	assert_true(http_msg_has_token(m, "Connection", "foo"));
	assert_false(http_msg_has_token(m, "connection", "close"));
	assert_null(http_msg_get(m, "absent", &len));
	v = http_msg_head(m, &len);
	assert_int_equal(len, sizeof(req) - 1);
	assert_memory_equal(v, req, len);
	evbuffer_free(in);
	http_parser_free(p);
}

static void
test_http_reports_truncation_and_bodies_ended_by_close(void **state)
{
	static const struct {
		enum http_parser_kind	 kind;
		const char		*raw;
		enum http_parse_result	 eof;
		int			 status;
	} cases[] = {
		{ HTTP_PARSER_REQUEST, "GET / HTTP/1.1\r\nHo", HTTP_PARSE_ERROR,
		    400 },
		{ HTTP_PARSER_REQUEST, "POST / HTTP/1.1\r\nHost: a\r\n"
		    "Content-Length: 3\r\n\r\nab", HTTP_PARSE_ERROR, 400 },
		{ HTTP_PARSER_REQUEST, "\r\n", HTTP_PARSE_OK, 0 },
		{ HTTP_PARSER_RESPONSE, "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n",
		    HTTP_PARSE_ERROR, 502 },
		{ HTTP_PARSER_RESPONSE, "HTTP/1.1 200 OK\r\n\r\nabc",
		    HTTP_PARSE_DONE, 0 },
		{ HTTP_PARSER_RESPONSE, "HTTP/1.1 200 OK\r\n\r\n",
		    HTTP_PARSE_DONE, 0 },
	};
	struct http_parser	*p;
	struct evbuffer		*in;
	size_t			 i;

	(void)state;
	for (i = 0; i < NCASES(cases); i++) {
		assert_non_null(p = http_parser_new(cases[i].kind, NULL));
		assert_non_null(in = evbuffer_new());
		evbuffer_add(in, cases[i].raw, strlen(cases[i].raw));
		while (http_parse(p, in, NULL, 100) != HTTP_PARSE_AGAIN)
			;
		assert_int_equal(http_parse_eof(p), cases[i].eof);
		if (cases[i].eof == HTTP_PARSE_ERROR)
			assert_int_equal(http_parser_status(p),
			    cases[i].status);
		evbuffer_free(in);
		http_parser_free(p);
	}
}

static void
test_http_names_methods_and_reasons_from_one_table(void **state)
{
	(void)state;
	assert_string_equal(http_method_name(HTTP_METHOD_PATCH), "PATCH");
	assert_null(http_method_name(HTTP_METHOD_OTHER));
	assert_int_equal(http_method_lookup("DELETE", 6), HTTP_METHOD_DELETE);
	assert_int_equal(http_method_lookup("delete", 6), HTTP_METHOD_OTHER);
	assert_int_equal(http_method_lookup("GETX", 3), HTTP_METHOD_GET);
	assert_string_equal(http_reason(431),
	    "Request Header Fields Too Large");
	assert_string_equal(http_reason(413), "Content Too Large");
	assert_string_equal(http_reason(799), "Unknown");
}

/* ------------------------------------------------------------------ */

int
main(void)
{
	int			 rc;
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_http_parses_valid_requests_at_every_split),
		cmocka_unit_test(
		    test_http_parses_valid_responses_at_every_split),
		cmocka_unit_test(test_http_rejects_bad_requests),
		cmocka_unit_test(test_http_rejects_bad_responses_with_502),
		cmocka_unit_test(test_http_start_line_bounds),
		cmocka_unit_test(test_http_parser_reused_as_new),
		cmocka_unit_test(test_http_limits_answer_414_431_and_413),
		cmocka_unit_test(test_http_dechunks_random_bodies_byte_exact),
		cmocka_unit_test(
		    test_http_hands_out_at_most_body_max_per_call),
		cmocka_unit_test(
		    test_http_stops_at_the_end_of_each_pipelined_message),
		cmocka_unit_test(test_http_leaves_tunnel_bytes_after_a_101),
		cmocka_unit_test(
		    test_http_keeps_fields_in_order_and_the_head_verbatim),
		cmocka_unit_test(
		    test_http_reports_truncation_and_bodies_ended_by_close),
		cmocka_unit_test(
		    test_http_names_methods_and_reasons_from_one_table),
	};

	rc = cmocka_run_group_tests_name("http", tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	http_parser_cache_flush();
	return (rc);
}
