/*
 * tests/unit/test_backend.c: proxy/backend.c: the shape of a pool built
 * from the configuration (kinds, names, weights, the balancer's targets)
 * and passive ejection -- consecutive failures, back-off doubling up to
 * its cap, probation, reset on success -- driven by a clock the test
 * moves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "proxy/backend.h"

#define MS	MTIME_NS_PER_MS

static const char test_backend_yaml[] =
    "listeners:\n"
    "  - name: web\n"
    "    listen: 127.0.0.1:0\n"
    "routes:\n"
    "  - match: { host: \"*\" }\n"
    "    pool: app\n"
    "pools:\n"
    "  - name: app\n"
    "    type: static\n"
    "    balance: least_request\n"
    "    eject: { failures: 3, backoff: 1s, max_backoff: 4s }\n"
    "    servers:\n"
    "      - 127.0.0.1:9001\n"
    "      - { address: \"[::1]:9002\", weight: 5 }\n"
    "      - unix:/run/app.sock\n"
    "      - vsock:/run/vm-1.vsock:8080\n"
    "  - name: noeject\n"
    "    type: static\n"
    "    eject: { failures: 0 }\n"
    "    servers: [127.0.0.1:9003]\n";

struct test_backend_state {
	struct conf		*conf;
	uint64_t		 now;
	struct mtime_clock	 clock;
	struct backend_pool	*app;
	struct backend_pool	*noeject;
};

static uint64_t
test_backend_now(void *arg)
{
	return (*(uint64_t *)arg);
}

static int
test_backend_setup(void **state)
{
	static struct test_backend_state	 st;
	struct conf_errors			*errs;

	memset(&st, 0, sizeof(st));
	errs = conf_errors_new();
	assert_non_null(errs);
	st.conf = conf_load_string("backend.yaml", test_backend_yaml,
	    strlen(test_backend_yaml), errs);
	if (st.conf == NULL)
		conf_errors_print(errs, stderr);
	assert_non_null(st.conf);
	st.now = 1000 * MS;
	st.clock.now_ns = test_backend_now;
	st.clock.arg = &st.now;
	st.app = backend_pool_new(&st.conf->c_pools[0], &st.clock, errs);
	st.noeject = backend_pool_new(&st.conf->c_pools[1], &st.clock, errs);
	conf_errors_free(errs);
	assert_non_null(st.app);
	assert_non_null(st.noeject);
	*state = &st;
	return (0);
}

static int
test_backend_teardown(void **state)
{
	struct test_backend_state	*st = *state;

	backend_pool_free(st->app);
	backend_pool_free(st->noeject);
	conf_free(st->conf);
	return (0);
}

static void
test_backend_pool_shape(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend_pool		*bp = st->app;

	assert_int_equal(bp->bp_n, 4);
	assert_ptr_equal(bp->bp_lb, lb_find("least_request"));
	assert_int_equal(bp->bp_backends[0].be_kind, BACKEND_TCP);
	assert_int_equal(bp->bp_backends[0].be_ss.ss_family, AF_INET);
	assert_string_equal(bp->bp_backends[0].be_name, "127.0.0.1:9001");
	assert_int_equal(bp->bp_backends[1].be_ss.ss_family, AF_INET6);
	assert_int_equal(bp->bp_targets[1].lt_weight, 5);
	assert_int_equal(bp->bp_targets[0].lt_weight, 1);
	assert_int_equal(bp->bp_backends[2].be_kind, BACKEND_UNIX);
	assert_int_equal(bp->bp_backends[2].be_ss.ss_family, AF_UNIX);
	assert_int_equal(bp->bp_backends[3].be_kind, BACKEND_VSOCK);
	assert_int_equal(bp->bp_backends[3].be_vsock_port, 8080);
	assert_int_equal(bp->bp_backends[3].be_ss.ss_family, AF_UNIX);
	assert_string_equal(bp->bp_targets[3].lt_key,
	    "vsock:/run/vm-1.vsock:8080");
	assert_ptr_equal(bp->bp_targets[2].lt_inflight,
	    &bp->bp_backends[2].be_inflight);
}

static void
test_backend_inflight_counts(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend			*b = &st->app->bp_backends[1];

	backend_acquire(b);
	backend_acquire(b);
	assert_int_equal(*st->app->bp_targets[1].lt_inflight, 2);
	backend_release(b);
	assert_int_equal(atomic_load(&b->be_inflight), 1);
	backend_release(b);
	assert_int_equal(atomic_load(&b->be_inflight), 0);
}

static void
test_backend_ejected_after_consecutive_failures(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend			*b = &st->app->bp_backends[0];

	assert_true(backend_usable(b));
	assert_false(backend_failure(b));
	assert_false(backend_failure(b));
	assert_true(backend_usable(b));
	assert_true(backend_failure(b));	/* the third in a row */
	assert_false(backend_usable(b));
	st->now += 999 * MS;
	assert_false(backend_usable(b));
	/* A failure reported while ejected does not extend it. */
	assert_false(backend_failure(b));
	st->now += 1 * MS;
	assert_true(backend_usable(b));		/* 1s later: probation */
	/* Other backends are not affected. */
	assert_true(backend_usable(&st->app->bp_backends[1]));
}

static void
test_backend_backoff_doubles_to_cap(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend			*b = &st->app->bp_backends[0];
	static const uint64_t		 want[] = {
		1000, 2000, 4000, 4000, 4000,
	};
	size_t				 i;

	assert_false(backend_failure(b));
	assert_false(backend_failure(b));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		/* First the threshold, then each failure on probation. */
		assert_true(backend_failure(b));
		assert_false(backend_usable(b));
		st->now += (want[i] - 1) * MS;
		assert_false(backend_usable(b));
		st->now += 1 * MS;
		assert_true(backend_usable(b));
	}
}

static void
test_backend_success_resets(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend			*b = &st->app->bp_backends[0];

	assert_false(backend_failure(b));
	assert_false(backend_failure(b));
	assert_true(backend_failure(b));
	st->now += 1000 * MS;
	assert_true(backend_failure(b));	/* probation: 2s now */
	st->now += 2000 * MS;
	backend_success(b);
	assert_int_equal(atomic_load(&b->be_failures), 0);
	/* Healthy again: it takes three failures, and 1s, as at first. */
	assert_false(backend_failure(b));
	assert_false(backend_failure(b));
	assert_true(backend_usable(b));
	backend_success(b);
	assert_false(backend_failure(b));
	assert_false(backend_failure(b));
	assert_true(backend_failure(b));
	st->now += 1000 * MS;
	assert_true(backend_usable(b));
}

static void
test_backend_no_ejection_when_disabled(void **state)
{
	struct test_backend_state	*st = *state;
	struct backend			*b = &st->noeject->bp_backends[0];
	int				 i;

	for (i = 0; i < 100; i++)
		assert_false(backend_failure(b));
	assert_true(backend_usable(b));
	assert_int_equal(atomic_load(&b->be_failures), 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_backend_pool_shape,
		    test_backend_setup, test_backend_teardown),
		cmocka_unit_test_setup_teardown(test_backend_inflight_counts,
		    test_backend_setup, test_backend_teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_ejected_after_consecutive_failures,
		    test_backend_setup, test_backend_teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_backoff_doubles_to_cap,
		    test_backend_setup, test_backend_teardown),
		cmocka_unit_test_setup_teardown(test_backend_success_resets,
		    test_backend_setup, test_backend_teardown),
		cmocka_unit_test_setup_teardown(
		    test_backend_no_ejection_when_disabled,
		    test_backend_setup, test_backend_teardown),
	};

	return (cmocka_run_group_tests_name("backend", tests, NULL, NULL));
}
