/*
 * tests/unit/test_route.c: proxy/route.c against a table of requests:
 * exact, wildcard-suffix and any hosts, with ports, case and trailing
 * dots; path prefixes; routes open to some listeners only; first match
 * wins; no match.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "proxy/route.h"

static const char test_route_yaml[] =
    "listeners:\n"
    "  - name: web\n"
    "    listen: 127.0.0.1:0\n"
    "  - name: internal\n"
    "    listen: 127.0.0.1:0\n"
    "routes:\n"
    "  - match: { host: api.example.com, path_prefix: /v1 }\n"	/* 0 */
    "    pool: a\n"
    "  - match: { host: \"*.example.com\", path_prefix: /static }\n" /* 1 */
    "    pool: a\n"
    "  - match: { host: admin.example.com }\n"			/* 2 */
    "    pool: b\n"
    "    listeners: [internal]\n"
    "  - match: { host: Example.COM }\n"			/* 3 */
    "    pool: a\n"
    "  - match: { host: \"*\", path_prefix: /health }\n"		/* 4 */
    "    pool: b\n"
    "  - match: { host: \"*\" }\n"				/* 5 */
    "    pool: b\n"
    "    listeners: [internal]\n"
    "pools:\n"
    "  - name: a\n"
    "    type: static\n"
    "    servers: [127.0.0.1:9001]\n"
    "  - name: b\n"
    "    type: static\n"
    "    servers: [127.0.0.1:9002]\n";

#define WEB		0
#define INTERNAL	1

struct test_route_state {
	struct conf		*conf;
	struct route_table	*rt;
};

static int
test_route_setup(void **state)
{
	static struct test_route_state	 st;
	struct conf_errors		*errs;

	errs = conf_errors_new();
	assert_non_null(errs);
	st.conf = conf_load_string("route.yaml", test_route_yaml,
	    strlen(test_route_yaml), errs);
	if (st.conf == NULL)
		conf_errors_print(errs, stderr);
	conf_errors_free(errs);
	assert_non_null(st.conf);
	st.rt = route_table_new(st.conf);
	assert_non_null(st.rt);
	*state = &st;
	return (0);
}

static int
test_route_teardown(void **state)
{
	struct test_route_state	*st = *state;

	route_table_free(st->rt);
	conf_free(st->conf);
	return (0);
}

static void
test_route_first_match_table(void **state)
{
	struct test_route_state	*st = *state;
	static char		 longhost[400];
	static const struct {
		size_t		 listener;
		const char	*host;		/* NULL: no Host */
		const char	*path;
		long		 want;
	} cases[] = {
		{ WEB, "api.example.com", "/v1/users", 0 },
		{ WEB, "API.Example.Com:8080", "/v1", 0 },
		{ WEB, "api.example.com.", "/v1?x=1", 0 },
		{ WEB, "api.example.com", "/v2", -1 },
		{ WEB, "api.example.com", "/static/a.css", 1 },
		{ WEB, "cdn.example.com", "/static/x.css", 1 },
		{ WEB, "a.b.example.com:443", "/static/", 1 },
		{ WEB, "example.com", "/static/x", 3 },
		{ WEB, "EXAMPLE.com:80", "/anything", 3 },
		{ WEB, "notexample.com", "/", -1 },
		{ WEB, "admin.example.com", "/", -1 },
		{ INTERNAL, "admin.example.com", "/", 2 },
		{ INTERNAL, "admin.example.com:9901", "/health", 2 },
		{ WEB, "x.org", "/health", 4 },
		{ WEB, "x.org", "/healthz", 4 },
		{ WEB, "x.org", "/heal", -1 },
		{ WEB, NULL, "/health", 4 },
		{ WEB, NULL, "/", -1 },
		{ WEB, "", "/", -1 },
		{ INTERNAL, "x.org", "/", 5 },
		{ INTERNAL, "x.org", "/health", 4 },
		{ INTERNAL, "[::1]:8080", "/", 5 },
		{ WEB, "[::1]", "/", -1 },
		{ WEB, longhost, "/health", 4 },
		{ WEB, longhost, "/", -1 },
		{ 7, "x.org", "/health", 4 },	/* unknown listener */
		{ 7, "admin.example.com", "/", -1 },
	};
	size_t	 i;
	long	 got;

	memset(longhost, 'a', sizeof(longhost) - 1);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = route_find(st->rt, cases[i].listener, cases[i].host,
		    cases[i].host != NULL ? strlen(cases[i].host) : 0,
		    cases[i].path, strlen(cases[i].path));
		if (got != cases[i].want)
			fail_msg("case %zu: listener %zu host %.40s path %s: "
			    "got %ld, want %ld", i, cases[i].listener,
			    cases[i].host != NULL ? cases[i].host : "(none)",
			    cases[i].path, got, cases[i].want);
	}
}

static void
test_route_host_normalise_table(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;	/* NULL: does not fit / invalid */
	} cases[] = {
		{ "Example.COM", "example.com" },
		{ "example.com:8080", "example.com" },
		{ "example.com.", "example.com" },
		{ "example.com.:80", "example.com" },
		{ "[::1]:8080", "[::1]" },
		{ "[FE80::1]", "[fe80::1]" },
		{ "[::1", NULL },
		{ "", "" },
		{ "0123456789abcdef", NULL },	/* over the 16-byte buffer */
	};
	char	 buf[16];
	size_t	 i;
	long	 n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = route_host_normalise(cases[i].in, strlen(cases[i].in),
		    buf, sizeof(buf));
		if (cases[i].out == NULL) {
			assert_int_equal(n, -1);
			continue;
		}
		assert_int_equal(n, (long)strlen(cases[i].out));
		assert_string_equal(buf, cases[i].out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_route_first_match_table,
		    test_route_setup, test_route_teardown),
		cmocka_unit_test(test_route_host_normalise_table),
	};

	return (cmocka_run_group_tests_name("route", tests, NULL, NULL));
}
