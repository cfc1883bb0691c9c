/*
 * tests/unit/test_guest_http_parse.c: corral-guest's request parser
 * (guest/http_parse.c, compiled for the host) on its own: what an
 * accepted head yields, which error each rejected head gets, numbers,
 * If-None-Match lists and the chunked decoder fed in every two-piece
 * split.  The server around it is tested in test_guest_http.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "guest/http_parse.h"

static enum http_parse_res
t_parse(struct http_req *req, const char *s)
{
	memset(req, 0, sizeof(*req));
	return http_parse_head(req, (const uint8_t *)s, strlen(s));
}

static void
test_http_parse_accepted_heads(void **state)
{
	static const struct {
		const char		*in;
		enum http_method	 method;
		const char		*path;
		int			 minor;
		enum http_body		 body;
		uint64_t		 clen;
		bool			 close, keepalive, cont;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: a\r\n\r\n", HTTP_M_GET, "/", 1,
		    HTTP_BODY_NONE, 0, false, false, false },
		{ "HEAD /x?y=1 HTTP/1.0\r\n\r\n", HTTP_M_HEAD, "/x", 0,
		    HTTP_BODY_NONE, 0, false, false, false },
		{ "POST /echo HTTP/1.1\r\nhost: a\r\ncontent-LENGTH: 12\r\n"
		    "\r\n", HTTP_M_POST, "/echo", 1, HTTP_BODY_LENGTH, 12,
		    false, false, false },
		{ "PUT /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n"
		    "\r\n", HTTP_M_PUT, "/echo", 1, HTTP_BODY_NONE, 0,
		    false, false, false },
		{ "PUT /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
		    "Chunked \r\nExpect: 100-Continue\r\n\r\n", HTTP_M_PUT,
		    "/e", 1, HTTP_BODY_CHUNKED, 0, false, false, true },
		{ "PATCH http://h:1/p?q HTTP/1.1\r\nHost: a\r\n"
		    "Connection: ,close,\r\n\r\n", HTTP_M_OTHER, "/p", 1,
		    HTTP_BODY_NONE, 0, true, false, false },
		{ "GET /k HTTP/1.0\r\nConnection: keep-alive\r\n"
		    "X-Empty:\r\nX-Tab:\tv\t\r\nX-8: \xff\r\n\r\n",
		    HTTP_M_GET, "/k", 0, HTTP_BODY_NONE, 0, false, true,
		    false },
		{ "GET / HTTP/1.7\r\nHost: a\r\n\r\nbody", HTTP_M_GET, "/",
		    1, HTTP_BODY_NONE, 0, false, false, false },
	};
	struct http_req	 req;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(t_parse(&req, cases[i].in), HTTP_PARSE_OK);
		assert_int_equal(req.hr_method, cases[i].method);
		assert_int_equal(req.hr_path_len, strlen(cases[i].path));
		assert_memory_equal(req.hr_path, cases[i].path,
		    req.hr_path_len);
		assert_int_equal(req.hr_minor, cases[i].minor);
		assert_int_equal(req.hr_body, cases[i].body);
		assert_int_equal(req.hr_clen, cases[i].clen);
		assert_int_equal(req.hr_close, cases[i].close);
		assert_int_equal(req.hr_keepalive, cases[i].keepalive);
		assert_int_equal(req.hr_continue, cases[i].cont);
		/* The head ends at the empty line, not at the buffer's end. */
		assert_memory_equal(req.hr_head + req.hr_head_len - 4,
		    "\r\n\r\n", 4);
	}
}

static void
test_http_parse_incomplete_heads_wait(void **state)
{
	static const char	*cases[] = {
		"", "G", "GET / HTTP/1.1", "GET / HTTP/1.1\r",
		"GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\n\r",
	};
	struct http_req		 req;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(t_parse(&req, cases[i]), HTTP_PARSE_AGAIN);
}

static void
test_http_parse_resumes_where_it_stopped(void **state)
{
	static const char	 in[] =
	    "GET /r HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
	struct http_req		 req;
	size_t			 k;

	(void)state;
	memset(&req, 0, sizeof(req));
	for (k = 0; k < sizeof(in) - 1; k++) {
		assert_int_equal(http_parse_head(&req, (const uint8_t *)in,
		    k), HTTP_PARSE_AGAIN);
		/* Only complete lines are counted as scanned. */
		assert_true(req.hr_scan <= k);
	}
	assert_int_equal(http_parse_head(&req, (const uint8_t *)in,
	    sizeof(in) - 1), HTTP_PARSE_OK);
	assert_int_equal(req.hr_head_len, sizeof(in) - 1);
	assert_int_equal(req.hr_lines, 3);
}

static void
test_http_parse_fields_iterate(void **state)
{
	static const char	 in[] = "GET / HTTP/1.1\r\nHost: a\r\n"
	    "If-None-Match:  \"x\" \r\nX-B:\r\n\r\n";
	static const char	*want[][2] = {
		{ "Host", "a" }, { "If-None-Match", "\"x\"" }, { "X-B", "" },
	};
	struct http_req		 req;
	struct http_field	 f;
	size_t			 pos = 0, n = 0;

	(void)state;
	assert_int_equal(t_parse(&req, in), HTTP_PARSE_OK);
	while (http_parse_field_next(&req, &pos, &f)) {
		assert_true(n < 3);
		assert_int_equal(f.hf_name_len, strlen(want[n][0]));
		assert_memory_equal(f.hf_name, want[n][0], f.hf_name_len);
		assert_int_equal(f.hf_value_len, strlen(want[n][1]));
		assert_memory_equal(f.hf_value, want[n][1], f.hf_value_len);
		n++;
	}
	assert_int_equal(n, 3);
	assert_true(http_parse_field_is(&f, "x-b"));
	assert_false(http_parse_field_is(&f, "x-bb"));
	assert_false(http_parse_field_is(&f, "x-"));
}

static void
test_http_parse_inm_table(void **state)
{
	static const struct {
		const char	*v;
		bool		 match;
	} cases[] = {
		{ "\"abc\"", true }, { "W/\"abc\"", true }, { "*", true },
		{ "  *  ", true }, { "\"x\", \"abc\"", true },
		{ "\"x\",W/\"abc\"", true }, { ",,\"abc\",,", true },
		{ "\"abc", false }, { "abc", false }, { "\"ab\"", false },
		{ "\"abcd\"", false }, { "w/\"abc\"", false }, { "", false },
		{ "\"abc\" \"abc\"", false }, { "*, \"abc\"", false },
		{ "\"a c\", \"abc\"", false }, { "\"x\" ; \"abc\"", false },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(http_parse_inm_match(
		    (const uint8_t *)cases[i].v, strlen(cases[i].v),
		    "\"abc\""), cases[i].match);
}

static void
test_http_parse_u64_table(void **state)
{
	static const struct {
		const char	*in;
		uint64_t	 max;
		int		 rc;
		uint64_t	 out;
	} cases[] = {
		{ "0", 10, 0, 0 }, { "10", 10, 0, 10 }, { "11", 10, -1, 7 },
		{ "007", 10, 0, 7 }, { "", 10, -1, 7 }, { "1a", 99, -1, 7 },
		{ "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
		{ "18446744073709551616", UINT64_MAX, -1, 7 },
		{ "9", 5, -1, 7 }, { "5", 5, 0, 5 }, { " 1", 9, -1, 7 },
	};
	uint64_t	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = 7;
		assert_int_equal(http_parse_u64((const uint8_t *)cases[i].in,
		    strlen(cases[i].in), cases[i].max, &v), cases[i].rc);
		assert_int_equal(v, cases[i].out);
	}
}

static void
test_http_chunked_decoder_every_split(void **state)
{
	static const struct {
		const char	*in;
		const char	*data;		/* NULL: an error */
	} cases[] = {
		{ "0\r\n\r\n", "" },
		{ "3\r\nabc\r\n0\r\n\r\n", "abc" },
		{ "A\r\n0123456789\r\n0\r\n\r\n", "0123456789" },
		{ "a;x=y;z\r\n0123456789\r\n0;t\r\nT: 1\r\nU: 2\r\n\r\n",
		    "0123456789" },
		{ "000001\r\nq\r\n00\r\n\r\n", "q" },
		{ "1\r\nq\r\n0\r\nT\r\n\r\n", "q" },
		{ "1\r\nq\r\n0\r\n:\r\n\r\n", NULL },
		{ "1\r\nq\r\n0\r\n\r\r\n", NULL },
		{ "\r\n", NULL }, { "g\r\n", NULL }, { "1\r\nqq\r\n", NULL },
		{ "1\n", NULL }, { "1\r\r", NULL }, { "1\r\nq\n", NULL },
		{ "1\r\nq\r\r", NULL }, { "0\r\n\n", NULL },
		{ "fffffffffffffffff\r\n", NULL },
	};
	struct http_chunked	 hk;
	enum http_parse_res	 res;
	const uint8_t		*in;
	uint8_t			 out[64];
	size_t			 i, k, pos, end, n, used, olen;
	bool			 err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = (const uint8_t *)cases[i].in;
		n = strlen(cases[i].in);
		for (k = 0; k <= n; k++) {
			/* Two pieces: [0, k) then the rest. */
			memset(&hk, 0, sizeof(hk));
			pos = 0;
			olen = 0;
			err = false;
			end = k;
			while (hk.hk_state != HTTP_CK_DONE && !err) {
				if (hk.hk_state == HTTP_CK_DATA) {
					used = end - pos < hk.hk_left ?
					    end - pos : hk.hk_left;
					memcpy(out + olen, in + pos, used);
					olen += used;
					pos += used;
					http_chunked_data(&hk, used);
				} else {
					res = http_chunked_frame(&hk, in + pos,
					    end - pos, &used);
					pos += used;
					err = res == HTTP_PARSE_ERROR;
				}
				if (pos == end && hk.hk_state !=
				    HTTP_CK_DONE && !err) {
					if (end == n)
						break;
					end = n;
				}
			}
			if (cases[i].data == NULL) {
				assert_true(err);
				continue;
			}
			assert_false(err);
			assert_int_equal(hk.hk_state, HTTP_CK_DONE);
			assert_int_equal(pos, n);
			assert_int_equal(olen, strlen(cases[i].data));
			assert_memory_equal(out, cases[i].data, olen);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_parse_accepted_heads),
		cmocka_unit_test(test_http_parse_incomplete_heads_wait),
		cmocka_unit_test(test_http_parse_resumes_where_it_stopped),
		cmocka_unit_test(test_http_parse_fields_iterate),
		cmocka_unit_test(test_http_parse_inm_table),
		cmocka_unit_test(test_http_parse_u64_table),
		cmocka_unit_test(test_http_chunked_decoder_every_split),
	};

	return cmocka_run_group_tests_name("guest_http_parse", tests, NULL,
	    NULL);
}
