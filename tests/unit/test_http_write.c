/*
 * tests/unit/test_http_write.c: what the proxy does to messages it
 * forwards (proxy/http_rewrite.c), building messages (http_msg.c) and
 * writing them (http_write.c).  Heads come from the real parser, and
 * what is written is parsed again with it: a round trip must give back
 * the same message.  The field ids of proxy/http_priv.h are checked
 * here too: a name the table misses would slip past the framing checks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "proxy/http.h"
#include "proxy/http_priv.h"

/* Parses <raw> (one request or response head) into a fresh parser. */
static struct http_parser *
parse_head(enum http_parser_kind kind, const char *raw)
{
	struct http_parser	*p;
	struct evbuffer		*in;

	assert_non_null(p = http_parser_new(kind, NULL));
	assert_non_null(in = evbuffer_new());
	http_parser_set_request(p, HTTP_METHOD_GET, 1);
	assert_int_equal(evbuffer_add(in, raw, strlen(raw)), 0);
	assert_int_equal(http_parse(p, in, NULL, 1), HTTP_PARSE_HEAD);
	evbuffer_free(in);
	return (p);
}

/* The head as written, as a string the test owns. */
static char *
written(const struct http_msg *m, enum http_framing framing, uint64_t len)
{
	struct evbuffer	*out;
	char		*s;
	size_t		 n;

	assert_non_null(out = evbuffer_new());
	assert_int_equal(http_write_head(out, m, framing, len), 0);
	n = evbuffer_get_length(out);
	assert_non_null(s = malloc(n + 1));
	evbuffer_remove(out, s, n);
	s[n] = '\0';
	evbuffer_free(out);
	return (s);
}

static void
expect_head(const struct http_msg *m, enum http_framing framing,
    uint64_t len, const char *want)
{
	char	*got = written(m, framing, len);

	assert_string_equal(got, want);
	free(got);
}

/* A fixed "random" source, so ids are predictable. */
static int
fake_random(void *arg, void *buf, size_t len)
{
	unsigned char	*b = buf;
	size_t		 i;

	(*(int *)arg)++;
	for (i = 0; i < len; i++)
		b[i] = (unsigned char)(0xa0 + i);
	return (0);
}

/* ------------------------------------------------------------------ */

static void
test_http_rewrite_removes_hop_by_hop_and_named_fields(void **state)
{
	struct http_parser	*p;

	(void)state;
	p = parse_head(HTTP_PARSER_REQUEST, "GET /x HTTP/1.1\r\n"
	    "Host: a\r\nConnection: keep-alive, X-Secret, host\r\n"
	    "Keep-Alive: timeout=5\r\nX-Secret: s\r\nTE: trailers\r\n"
	    "Trailer: Expires\r\nProxy-Connection: keep-alive\r\n"
	    "Upgrade: h2c\r\nAccept: */*\r\nconnection: Content-Length\r\n"
	    "x-secret: t\r\n\r\n");
	assert_int_equal(http_rewrite_hop_by_hop(http_parser_msg(p), 0), 0);
	/* Host is never given up, whatever Connection says. */
	expect_head(http_parser_msg(p), HTTP_FRAMING_NONE, 0,
	    "GET /x HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
	http_parser_free(p);
}

static void
test_http_rewrite_keeps_upgrade_when_tunnelling(void **state)
{
	struct http_parser	*p;

	(void)state;
	p = parse_head(HTTP_PARSER_REQUEST, "GET /ws HTTP/1.1\r\nHost: a\r\n"
	    "Connection: Upgrade, Keep-Alive\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: k\r\nKeep-Alive: 1\r\n\r\n");
	assert_true(http_msg_flags(http_parser_msg(p)) & HTTP_MSG_UPGRADE);
	assert_int_equal(http_rewrite_hop_by_hop(http_parser_msg(p), 1), 0);
	expect_head(http_parser_msg(p), HTTP_FRAMING_NONE, 0,
	    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Key: k\r\nConnection: upgrade\r\n\r\n");
	http_parser_free(p);
}

static void
test_http_rewrite_via_appends_to_the_last_via(void **state)
{
	struct http_parser	*p;
	struct http_msg		*m;

	(void)state;
	p = parse_head(HTTP_PARSER_RESPONSE, "HTTP/1.0 200 OK\r\n"
	    "Via: 1.1 a\r\nVia: 1.1 b\r\nContent-Length: 0\r\n\r\n");
	m = http_parser_msg(p);
	assert_int_equal(http_rewrite_response(m, NULL, 0), 0);
	expect_head(m, HTTP_FRAMING_LENGTH, 0, "HTTP/1.1 200 OK\r\n"
	    "Via: 1.1 a\r\nVia: 1.1 b, 1.0 corral\r\n"
	    "Content-Length: 0\r\n\r\n");
	http_parser_free(p);

	p = parse_head(HTTP_PARSER_RESPONSE, "HTTP/1.1 204 No Content\r\n"
	    "\r\n");
	m = http_parser_msg(p);
	assert_int_equal(http_rewrite_via(m, "edge-1"), 0);
	expect_head(m, HTTP_FRAMING_NONE, 0, "HTTP/1.1 204 No Content\r\n"
	    "Via: 1.1 edge-1\r\n\r\n");
	http_parser_free(p);
}

static void
test_http_rewrite_forwarded_fields_trust_only_trusted_peers(void **state)
{
	static const char	 raw[] = "POST /f HTTP/1.1\r\nHost: www.x\r\n"
	    "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: evil\r\nX-Request-Id: abc-123\r\n"
	    "Content-Length: 0\r\n\r\n";
	struct http_forward	 fw = { .fw_client_ip = "192.0.2.7",
	    .fw_random = fake_random };
	struct http_parser	*p;
	int			 calls = 0;

	(void)state;
	fw.fw_random_arg = &calls;
	/* An untrusted client: everything it claims is replaced. */
	p = parse_head(HTTP_PARSER_REQUEST, raw);
	assert_int_equal(http_rewrite_request(http_parser_msg(p), &fw, 0), 0);
	expect_head(http_parser_msg(p), HTTP_FRAMING_LENGTH, 0,
	    "POST /f HTTP/1.1\r\nHost: www.x\r\nVia: 1.1 corral\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
	    "X-Forwarded-Host: www.x\r\n"
	    "X-Request-Id: a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\r\n"
	    "Content-Length: 0\r\n\r\n");
	assert_int_equal(calls, 1);
	http_parser_free(p);

	/* A trusted proxy in front: its claims stand, ours are added. */
	fw.fw_trusted = 1;
	fw.fw_tls = 1;
	p = parse_head(HTTP_PARSER_REQUEST, raw);
	assert_int_equal(http_rewrite_request(http_parser_msg(p), &fw, 0), 0);
	expect_head(http_parser_msg(p), HTTP_FRAMING_LENGTH, 0,
	    "POST /f HTTP/1.1\r\nHost: www.x\r\n"
	    "X-Forwarded-For: 6.6.6.6, 192.0.2.7\r\n"
	    "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\n"
	    "X-Request-Id: abc-123\r\nVia: 1.1 corral\r\n"
	    "Content-Length: 0\r\n\r\n");
	assert_int_equal(calls, 1);
	http_parser_free(p);

	/* Trusted, but nothing given: ours; a bad id is replaced. */
	p = parse_head(HTTP_PARSER_REQUEST, "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X-Request-Id: bad id\r\n\r\n");
	assert_int_equal(http_rewrite_request(http_parser_msg(p), &fw, 0), 0);
	expect_head(http_parser_msg(p), HTTP_FRAMING_NONE, 0,
	    "GET / HTTP/1.1\r\nHost: h\r\nVia: 1.1 corral\r\n"
	    "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-Host: h\r\n"
	    "X-Request-Id: a0a1a2a3a4a5a6a7a8a9aaabacadaeaf\r\n\r\n");
	assert_int_equal(calls, 2);

	/* What the caller says of the client goes in as it is: no CRLF. */
	fw.fw_client_ip = "192.0.2.7\r\nX-Injected: 1";
	assert_int_equal(http_rewrite_request(http_parser_msg(p), &fw, 0), -1);
	assert_int_equal(errno, EINVAL);
	http_parser_free(p);
}

static void
test_http_rewrite_request_ids_come_from_getrandom(void **state)
{
	struct http_forward	 fw = { .fw_client_ip = "::1" };
	struct http_msg		*a, *b;
	const char		*ida, *idb;
	size_t			 la, lb, i;

	(void)state;
	assert_non_null(a = http_msg_new());
	assert_non_null(b = http_msg_new());
	assert_int_equal(http_msg_set_request(a, HTTP_METHOD_GET, NULL, "/"),
	    0);
	assert_int_equal(http_msg_set_request(b, HTTP_METHOD_GET, NULL, "/"),
	    0);
	assert_int_equal(http_rewrite_request(a, &fw, 0), 0);
	assert_int_equal(http_rewrite_request(b, &fw, 0), 0);
	ida = http_msg_get(a, "x-request-id", &la);
	idb = http_msg_get(b, "x-request-id", &lb);
	assert_int_equal(la, 32);
	assert_int_equal(lb, 32);
	for (i = 0; i < la; i++)
		assert_non_null(strchr("0123456789abcdef", ida[i]));
	assert_memory_not_equal(ida, idb, 32);
	http_msg_free(a);
	http_msg_free(b);
}

/* ------------------------------------------------------------------ */

static void
test_http_msg_builds_and_edits_fields(void **state)
{
	struct http_msg	*m;
	const char	*v;
	size_t		 len, i;
	char		 name[16];

	(void)state;
	assert_non_null(m = http_msg_new());
	assert_int_equal(http_msg_set_status(m, 418, NULL), 0);
	assert_int_equal(http_msg_add(m, "A", "1"), 0);
	assert_int_equal(http_msg_add(m, "B", "2"), 0);
	assert_int_equal(http_msg_add(m, "a", "3"), 0);
	assert_int_equal(http_msg_count(m, "A"), 2);
	assert_int_equal(http_msg_remove(m, "a"), 2);
	assert_int_equal(http_msg_set(m, "B", "two"), 0);
	/* Refused: not a token, or CR/LF in a value (header injection). */
	assert_int_equal(http_msg_add(m, "Bad Name", "x"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(http_msg_add(m, "X", "a\r\nInjected: 1"), -1);
	assert_int_equal(http_msg_add(m, "", "x"), -1);
	assert_int_equal(http_msg_set_request(m, HTTP_METHOD_GET, NULL,
	    "/a b"), -1);
	/* Values copied from the message itself survive its growth. */
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "F%zu", i);
		v = http_msg_get(m, "B", &len);
		assert_int_equal(http_msg_addn(m, name, strlen(name), v, len),
		    0);
	}
	v = http_msg_get(m, "F199", &len);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "two", 3);
	assert_int_equal(http_msg_nfields(m), 201);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "f%zu", i);
		assert_int_equal(http_msg_remove(m, name), 1);
	}
	expect_head(m, HTTP_FRAMING_LENGTH, 2,
	    "HTTP/1.1 418 Unknown\r\nB: two\r\nContent-Length: 2\r\n\r\n");
	http_msg_free(m);
	http_msg_free(NULL);
}

static void
test_http_write_round_trips_through_the_parser(void **state)
{
	struct http_parser	*p;
	struct http_msg		*m, *back;
	struct evbuffer		*wire, *data, *body;
	struct http_field	 f, g;
	enum http_parse_result	 r;
	size_t			 i, len;
	const char		*t;

	(void)state;
	assert_non_null(wire = evbuffer_new());
	assert_non_null(data = evbuffer_new());
	assert_non_null(body = evbuffer_new());
	assert_non_null(m = http_msg_new());
	assert_int_equal(http_msg_set_request(m, HTTP_METHOD_PUT, NULL,
	    "/store?k=v"), 0);
	assert_int_equal(http_msg_add(m, "Host", "backend"), 0);
	assert_int_equal(http_msg_add(m, "X-Empty", ""), 0);
	assert_int_equal(http_msg_add(m, "Content-Length", "999"), 0);
	assert_int_equal(http_msg_add(m, "X-Obs", "caf\xc3\xa9"), 0);
	/* Chunked: the stale Content-Length must not be written. */
	assert_int_equal(http_write_head(wire, m, HTTP_FRAMING_CHUNKED, 0), 0);
	evbuffer_add(data, "hello ", 6);
	assert_int_equal(http_write_chunk(wire, data), 0);
	assert_int_equal(evbuffer_get_length(data), 0);
	assert_int_equal(http_write_chunk(wire, data), 0);	/* empty */
	assert_int_equal(http_write_chunk_data(wire, "world", 5), 0);
	assert_int_equal(http_write_last_chunk(wire), 0);
	/* And a second request on the same connection, with a length. */
	assert_int_equal(http_write_head(wire, m, HTTP_FRAMING_LENGTH, 3), 0);
	evbuffer_add(wire, "abc", 3);

	assert_non_null(p = http_parser_new(HTTP_PARSER_REQUEST, NULL));
	assert_int_equal(http_parse(p, wire, body, 1000), HTTP_PARSE_HEAD);
	back = http_parser_msg(p);
	assert_int_equal(http_msg_method(back), HTTP_METHOD_PUT);
	t = http_msg_target(back, &len);
	assert_int_equal(len, 10);
	assert_memory_equal(t, "/store?k=v", 10);
	assert_int_equal(http_msg_framing(back), HTTP_FRAMING_CHUNKED);
	assert_int_equal(http_msg_count(back, "content-length"), 0);
	assert_int_equal(http_msg_nfields(back), 4);
	for (i = 0; i < 3; i++) {
		http_msg_field(m, i == 2 ? 3 : i, &f);
		http_msg_field(back, i, &g);
		assert_int_equal(f.f_namelen, g.f_namelen);
		assert_memory_equal(f.f_name, g.f_name, f.f_namelen);
		assert_int_equal(f.f_valuelen, g.f_valuelen);
		assert_memory_equal(f.f_value, g.f_value, f.f_valuelen);
	}
	while ((r = http_parse(p, wire, body, 1000)) == HTTP_PARSE_BODY)
		;
	assert_int_equal(r, HTTP_PARSE_DONE);
	assert_int_equal(evbuffer_get_length(body), 11);
	assert_memory_equal(evbuffer_pullup(body, -1), "hello world", 11);
	evbuffer_drain(body, 11);
	assert_int_equal(http_parse(p, wire, body, 1000), HTTP_PARSE_HEAD);
	back = http_parser_msg(p);
	assert_int_equal(http_msg_framing(back), HTTP_FRAMING_LENGTH);
	assert_int_equal(http_msg_content_length(back), 3);
	assert_int_equal(http_parse(p, wire, body, 1000), HTTP_PARSE_DONE);
	assert_memory_equal(evbuffer_pullup(body, -1), "abc", 3);
	assert_int_equal(evbuffer_get_length(wire), 0);

	http_parser_free(p);
	http_msg_free(m);
	evbuffer_free(body);
	evbuffer_free(data);
	evbuffer_free(wire);
}

static void
test_http_field_ids_cover_every_known_name(void **state)
{
	const char	*name;
	char		 buf[64];
	size_t		 len, prev = 0, i;
	unsigned	 id;

	(void)state;
	assert_int_equal(http_field_id("", 0), HTTP_F_OTHER);
	assert_int_equal(http_field_id("X-Anything-At-All-Here", 22),
	    HTTP_F_OTHER);
	for (id = HTTP_F_OTHER + 1; id < HTTP_F_MAX; id++) {
		name = http_field_name(id, &len);
		assert_true(len >= prev);	/* http_field_id() walks lengths */
		prev = len;
		assert_true(len < sizeof(buf));
		assert_int_equal(http_field_id(name, len), id);
		for (i = 0; i < len; i++)
			buf[i] = (char)(i % 2 ? toupper((unsigned char)name[i]) :
			    tolower((unsigned char)name[i]));
		assert_int_equal(http_field_id(buf, len), id);
		/* One byte off, or one short, is another field. */
		buf[len - 1] ^= 0x01;
		assert_int_equal(http_field_id(buf, len), HTTP_F_OTHER);
		buf[len - 1] ^= 0x01;
		assert_int_not_equal(http_field_id(buf, len - 1), id);
		/* Case folding is ASCII letters only: '-' is not '\r'. */
		for (i = 0; i < len; i++)
			if (name[i] == '-') {
				buf[i] = '\r';
				assert_int_equal(http_field_id(buf, len),
				    HTTP_F_OTHER);
				buf[i] = '-';
			}
	}
}

static void
test_http_write_keeps_head_response_length_with_no_framing(void **state)
{
	struct http_parser	*p;

	(void)state;
	/* The length of what a GET would have had: metadata, kept. */
	p = parse_head(HTTP_PARSER_RESPONSE, "HTTP/1.1 304 Not Modified\r\n"
	    "Content-Length: 1234\r\nETag: \"x\"\r\n\r\n");
	expect_head(http_parser_msg(p), HTTP_FRAMING_NONE, 0,
	    "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n"
	    "ETag: \"x\"\r\n\r\n");
	expect_head(http_parser_msg(p), HTTP_FRAMING_CLOSE, 0,
	    "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
	http_parser_free(p);
}

static void
test_http_write_error_is_a_complete_response(void **state)
{
	static const struct {
		int		 status;
		const char	*want;
	} cases[] = {
		{ 400, "HTTP/1.1 400 Bad Request\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 16\r\n"
		    "Connection: close\r\n\r\n400 Bad Request\n" },
		{ 431, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 36\r\n"
		    "Connection: close\r\n\r\n"
		    "431 Request Header Fields Too Large\n" },
		{ 502, "HTTP/1.1 502 Bad Gateway\r\n"
		    "Content-Type: text/plain\r\nContent-Length: 16\r\n"
		    "Connection: close\r\n\r\n502 Bad Gateway\n" },
	};
	struct http_parser	*p;
	struct evbuffer		*out, *body;
	size_t			 i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_non_null(out = evbuffer_new());
		assert_non_null(body = evbuffer_new());
		assert_int_equal(http_write_error(out, cases[i].status), 0);
		n = evbuffer_get_length(out);
		assert_int_equal(n, strlen(cases[i].want));
		assert_memory_equal(evbuffer_pullup(out, -1), cases[i].want,
		    n);
		/* And our own parser agrees it is one whole response. */
		assert_non_null(p = http_parser_new(HTTP_PARSER_RESPONSE,
		    NULL));
		assert_int_equal(http_parse(p, out, body, 100),
		    HTTP_PARSE_HEAD);
		assert_int_equal(http_msg_status(http_parser_msg(p)),
		    cases[i].status);
		assert_false(http_msg_flags(http_parser_msg(p)) &
		    HTTP_MSG_KEEPALIVE);
		assert_int_equal(http_parse(p, out, body, 100),
		    HTTP_PARSE_DONE);
		assert_int_equal(evbuffer_get_length(out), 0);
		http_parser_free(p);
		evbuffer_free(body);
		evbuffer_free(out);
	}
}

int
main(void)
{
	int			 rc;
	const struct CMUnitTest	 tests[] = {
		cmocka_unit_test(
		    test_http_rewrite_removes_hop_by_hop_and_named_fields),
		cmocka_unit_test(
		    test_http_rewrite_keeps_upgrade_when_tunnelling),
		cmocka_unit_test(
		    test_http_rewrite_via_appends_to_the_last_via),
		cmocka_unit_test(
		    test_http_rewrite_forwarded_fields_trust_only_trusted_peers),
		cmocka_unit_test(
		    test_http_rewrite_request_ids_come_from_getrandom),
		cmocka_unit_test(test_http_msg_builds_and_edits_fields),
		cmocka_unit_test(
		    test_http_write_round_trips_through_the_parser),
		cmocka_unit_test(test_http_field_ids_cover_every_known_name),
		cmocka_unit_test(
		    test_http_write_keeps_head_response_length_with_no_framing),
		cmocka_unit_test(test_http_write_error_is_a_complete_response),
	};

	rc = cmocka_run_group_tests_name("http_write", tests, NULL, NULL);
	/* Kept for reuse, else LeakSanitizer calls it a leak. */
	http_parser_cache_flush();
	return (rc);
}
