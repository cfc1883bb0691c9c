/*
 * tests/unit/test_metrics.c: proxy/metrics.c: requests counted the way
 * the session counts them (one metrics_request() per access log entry,
 * each worker into its own shard), summed over the shards on scrape,
 * with a bounded label set (routes by key up to METRICS_ROUTES_MAX,
 * status codes exactly or by class), self-consistent histograms, and
 * shards that share no cache line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "conf/conf.h"
#include "proxy/accesslog.h"
#include "proxy/metrics.h"

#define TEST_THREAD_REQUESTS	200000

/* The scrape of <m> as a NUL-terminated string; free() it. */
static char *
scrape(const struct metrics *m)
{
	struct evbuffer	*out = evbuffer_new();
	size_t		 len;
	char		*s;

	assert_non_null(out);
	assert_int_equal(metrics_write_requests(m, out), 0);
	len = evbuffer_get_length(out);
	s = malloc(len + 1);
	assert_non_null(s);
	evbuffer_remove(out, s, len);
	s[len] = '\0';
	evbuffer_free(out);
	return (s);
}

/* The value of the series <series> (name and labels) in <text>, or -1. */
static long long
value(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return (strtoll(p + n + 1, NULL, 10));
		p += n;
	}
	return (-1);
}

static void
request(struct metrics_shard *ms, const char *route, int status,
    uint64_t us)
{
	struct accesslog_entry	 e;

	/* What proxy/session.c fills in at the end of a request. */
	memset(&e, 0, sizeof(e));
	e.ae_client = "127.0.0.1";
	e.ae_method = "GET";
	e.ae_target = "/";
	e.ae_version = 11;
	e.ae_status = status;
	e.ae_route = route;
	e.ae_pool = "app";
	e.ae_bytes_in = 100;
	e.ae_bytes_out = 1000;
	e.ae_total_us = us;
	e.ae_retries = status == 502 ? 2 : 0;
	metrics_request(ms, &e);
}

static void
test_metrics_route_keys(void **state)
{
	static const struct { const char *key; long idx; } cases[] = {
		{ "routes[0]", 0 }, { "routes[7]", 7 }, { "routes[63]", 63 },
		{ "routes[1234]", 1234 }, { "routes[]", -1 },
		{ "routes[01]", -1 }, { "routes[1", -1 }, { "routes[1]x", -1 },
		{ "route[1]", -1 }, { "routes[-1]", -1 }, { "", -1 },
		{ "routes[99999999999999999999]", -1 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(metrics_route_index(cases[i].key),
		    cases[i].idx);
	assert_int_equal(metrics_route_index(NULL), -1);
}

/* The keys conf/ gives routes are the ones the metrics label. */
static void
test_metrics_route_keys_match_conf(void **state)
{
	static const char yaml[] =
	    "admin: off\n"
	    "listeners:\n"
	    "  - name: web\n"
	    "    listen: 127.0.0.1:0\n"
	    "routes:\n"
	    "  - match: { path_prefix: /a }\n"
	    "    pool: app\n"
	    "  - match: { path_prefix: /b }\n"
	    "    pool: app\n"
	    "  - match: { host: \"*\" }\n"
	    "    pool: app\n"
	    "pools:\n"
	    "  - name: app\n"
	    "    type: static\n"
	    "    servers: [ 127.0.0.1:9 ]\n";
	struct conf_errors	*errs = conf_errors_new();
	struct conf		*c;
	size_t			 i;

	(void)state;
	c = conf_load_string("m.yaml", yaml, strlen(yaml), errs);
	assert_non_null(c);
	assert_int_equal(c->c_nroutes, 3);
	for (i = 0; i < c->c_nroutes; i++)
		assert_int_equal(metrics_route_index(c->c_routes[i].ro_key),
		    (long)i);
	conf_free(c);
	conf_errors_free(errs);
}

static void
test_metrics_counts_by_route_and_status(void **state)
{
	struct metrics	*m = metrics_new(2);
	char		*s;

	(void)state;
	assert_non_null(m);
	request(metrics_shard(m, 0), "routes[0]", 200, 500);
	request(metrics_shard(m, 1), "routes[0]", 200, 1500);
	request(metrics_shard(m, 1), "routes[0]", 502, 30000);
	request(metrics_shard(m, 0), "routes[1]", 299, 10);	/* unnamed */
	request(metrics_shard(m, 0), "routes[1]", 499, 10);	/* aborted */
	request(metrics_shard(m, 0), "routes[1]", 999, 10);	/* nonsense */
	request(metrics_shard(m, 0), "routes[1]", 0, 10);
	request(metrics_shard(m, 0), NULL, 404, 10);		/* no route */
	request(metrics_shard(m, 1), "routes[64]", 200, 10);	/* too many */
	request(metrics_shard(m, 1), "routes[900]", 200, 10);
	request(metrics_shard(m, 1), "bogus", 200, 10);
	request(NULL, "routes[0]", 200, 10);			/* no-op */
	s = scrape(m);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[0]\",code=\"200\"}"), 2);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[0]\",code=\"502\"}"), 1);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[1]\",code=\"2xx\"}"), 1);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[1]\",code=\"499\"}"), 1);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[1]\",code=\"other\"}"), 2);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"none\",code=\"404\"}"), 1);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"other\",code=\"200\"}"), 3);
	/* Zero series are left out. */
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[0]\",code=\"404\"}"), -1);
	assert_int_equal(value(s, "corral_http_received_bytes_total{route="
	    "\"routes[0]\"}"), 300);
	assert_int_equal(value(s, "corral_http_sent_bytes_total{route="
	    "\"routes[0]\"}"), 3000);
	assert_int_equal(value(s, "corral_http_retries_total{route="
	    "\"routes[0]\"}"), 2);
	assert_non_null(strstr(s, "# TYPE corral_http_requests_total "
	    "counter\n"));
	free(s);
	metrics_free(m);
	metrics_free(NULL);
	assert_null(metrics_shard(NULL, 0));
}

static void
test_metrics_latency_histogram(void **state)
{
	static const char h[] = "corral_http_request_duration_seconds";
	struct metrics	*m = metrics_new(1);
	char		 series[128];
	char		*s;

	(void)state;
	assert_non_null(m);
	request(metrics_shard(m, 0), "routes[2]", 200, 1000);	/* <= 1 ms */
	request(metrics_shard(m, 0), "routes[2]", 200, 1001);
	request(metrics_shard(m, 0), "routes[2]", 200, 2000000);
	request(metrics_shard(m, 0), "routes[2]", 200, 120000000); /* +Inf */
	s = scrape(m);
	snprintf(series, sizeof(series), "%s_bucket{route=\"routes[2]\","
	    "le=\"0.001\"}", h);
	assert_int_equal(value(s, series), 1);
	snprintf(series, sizeof(series), "%s_bucket{route=\"routes[2]\","
	    "le=\"0.0025\"}", h);
	assert_int_equal(value(s, series), 2);		/* cumulative */
	snprintf(series, sizeof(series), "%s_bucket{route=\"routes[2]\","
	    "le=\"2.5\"}", h);
	assert_int_equal(value(s, series), 3);
	snprintf(series, sizeof(series), "%s_bucket{route=\"routes[2]\","
	    "le=\"60\"}", h);
	assert_int_equal(value(s, series), 3);
	snprintf(series, sizeof(series), "%s_bucket{route=\"routes[2]\","
	    "le=\"+Inf\"}", h);
	assert_int_equal(value(s, series), 4);
	snprintf(series, sizeof(series), "%s_count{route=\"routes[2]\"}", h);
	assert_int_equal(value(s, series), 4);
	snprintf(series, sizeof(series), "%s_sum{route=\"routes[2]\"} "
	    "122.002001\n", h);
	assert_non_null(strstr(s, series));
	assert_non_null(strstr(s, "# TYPE corral_http_request_duration_"
	    "seconds histogram\n"));
	free(s);
	metrics_free(m);
}

/* Each worker's shard on cache lines of its own. */
static void
test_metrics_shards_share_no_line(void **state)
{
	struct metrics	*m = metrics_new(4);
	uintptr_t	 a, b;
	size_t		 i, j;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < 4; i++) {
		a = (uintptr_t)metrics_shard(m, i);
		assert_int_equal(a % 64, 0);
		for (j = 0; j < 4; j++) {
			b = (uintptr_t)metrics_shard(m, j);
			if (i != j)
				assert_true(a / 64 != b / 64);
		}
	}
	metrics_free(m);
}

struct test_metrics_worker {
	pthread_t		 tw_thread;
	struct metrics_shard	*tw_shard;
};

static void *
test_metrics_worker_main(void *arg)
{
	struct test_metrics_worker	*tw = arg;
	int				 i;

	for (i = 0; i < TEST_THREAD_REQUESTS; i++)
		request(tw->tw_shard, "routes[0]", 200, 100);
	return (NULL);
}

/* Two workers count while a scraper reads: nothing lost at the end. */
static void
test_metrics_workers_and_scraper_at_once(void **state)
{
	struct metrics			*m = metrics_new(2);
	struct test_metrics_worker	 tw[2];
	long long			 last = 0, v;
	size_t				 i;
	char				*s;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < 2; i++) {
		tw[i].tw_shard = metrics_shard(m, i);
		assert_int_equal(pthread_create(&tw[i].tw_thread, NULL,
		    test_metrics_worker_main, &tw[i]), 0);
	}
	for (i = 0; i < 20; i++) {
		s = scrape(m);
		v = value(s, "corral_http_requests_total{route=\"routes[0]\","
		    "code=\"200\"}");
		assert_true(v == -1 || v >= last);	/* never backwards */
		if (v > 0)
			last = v;
		free(s);
	}
	for (i = 0; i < 2; i++)
		pthread_join(tw[i].tw_thread, NULL);
	s = scrape(m);
	assert_int_equal(value(s, "corral_http_requests_total{route="
	    "\"routes[0]\",code=\"200\"}"), 2 * TEST_THREAD_REQUESTS);
	assert_int_equal(value(s, "corral_http_request_duration_seconds_count"
	    "{route=\"routes[0]\"}"), 2 * TEST_THREAD_REQUESTS);
	free(s);
	metrics_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_route_keys),
		cmocka_unit_test(test_metrics_route_keys_match_conf),
		cmocka_unit_test(test_metrics_counts_by_route_and_status),
		cmocka_unit_test(test_metrics_latency_histogram),
		cmocka_unit_test(test_metrics_shards_share_no_line),
		cmocka_unit_test(test_metrics_workers_and_scraper_at_once),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
