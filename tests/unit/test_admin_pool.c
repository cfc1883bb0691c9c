/*
 * tests/unit/test_admin_pool.c: what pool/ gives the admin listener:
 * the published status (struct pool_info: immutable, refcounted, one
 * publication per burst of changes), replacement requests carried to
 * the pool thread (make-before-break for a READY VM, a stale request
 * ignored), exit reasons read from corral-vmm's status and counted, and
 * the queue-wait and boot-time histograms.  A real pool on a real
 * event_base, its "corral-vmm" /bin/false, with a clock the test moves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/wait.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "pool/member.h"
#include "pool/pool.h"
#include "pool/pool_priv.h"
#include "pool/spawn.h"

#define MS	MTIME_NS_PER_MS

static const char test_yaml[] =
    "listeners:\n"
    "  - name: web\n"
    "    listen: 127.0.0.1:0\n"
    "routes:\n"
    "  - match: { host: \"*\" }\n"
    "    pool: hello\n"
    "pools:\n"
    "  - name: hello\n"
    "    type: microvm\n"
    "    kernel: /nonexistent/kernel\n"
    "    size: { min: 1, max: 2 }\n"
    "    queue: { length: 4, timeout: 1s }\n";

struct test_state {
	struct conf		*conf;
	char			 dir[64];
	uint64_t		 now;
	struct event_base	*base;
	struct pool		*pool;
};

static uint64_t
test_now(void *arg)
{
	return (*(uint64_t *)arg);
}

static int
test_setup(void **state)
{
	static struct test_state	 st;
	struct conf_errors		*errs = conf_errors_new();

	memset(&st, 0, sizeof(st));
	st.conf = conf_load_string("pool.yaml", test_yaml, strlen(test_yaml),
	    errs);
	conf_errors_free(errs);
	if (st.conf == NULL)
		return (-1);
	snprintf(st.dir, sizeof(st.dir), "/tmp/test_admin_pool.XXXXXX");
	if (mkdtemp(st.dir) == NULL)
		return (-1);
	setenv("XDG_RUNTIME_DIR", st.dir, 1);
	setenv("CORRAL_VMM", "/bin/false", 1);
	if ((st.base = event_base_new()) == NULL ||
	    (st.pool = pool_new(st.base, &st.conf->c_pools[0])) == NULL)
		return (-1);
	st.now = 1000 * MS;
	st.pool->p_clock.now_ns = test_now;
	st.pool->p_clock.arg = &st.now;
	*state = &st;
	return (0);
}

static int
test_teardown(void **state)
{
	struct test_state	*st = *state;

	pool_free(st->pool);
	event_base_free(st->base);
	conf_free(st->conf);
	rmdir(st->dir);
	return (0);
}

/* Puts slot <slot> in <state> as VM number <boot>, as the thread would. */
static struct member *
test_member(struct test_state *st, size_t slot, enum member_state state,
    uint64_t boot)
{
	struct member	*m = &st->pool->p_members[slot];

	m->m_state = state;
	m->m_boot = boot;
	m->m_pid = -1;			/* nothing to signal */
	m->m_spawn_ns = st->now;
	return (m);
}

/*
 * A ready VM out of rotation serves nothing: scaling down stops it
 * rather than the one in rotation (the lower slot, as idle), and it
 * does not stand in for a VM being recycled.
 */
static void
test_pool_out_of_rotation_is_not_capacity(void **state)
{
	struct test_state	*st = *state;
	struct member		*in, *out;

	st->pool->p_started = true;
	st->pool->p_announced = true;
	st->pool->p_target = 1;
	in = test_member(st, 0, MEMBER_READY, 1);
	out = test_member(st, 1, MEMBER_READY, 2);
	out->m_health.mh_out = true;
	out->m_health.mh_fail = 1;
	pool_reconcile(st->pool);
	assert_int_equal(in->m_state, MEMBER_READY);
	assert_int_not_equal(out->m_state, MEMBER_READY);
	assert_int_equal(out->m_why, MEMBER_WHY_SCALE_DOWN);
}

static void
test_pool_info_is_published_once_and_refcounted(void **state)
{
	struct test_state	*st = *state;
	struct pool_info	*old, *cur;

	old = pool_info_get(st->pool);
	assert_int_equal(old->pi_nvms, 0);
	assert_string_equal(old->pi_name, "hello");
	assert_int_equal(old->pi_min, 1);
	assert_int_equal(old->pi_max, 2);
	assert_int_equal(old->pi_nslots, 4);
	assert_int_equal(old->pi_queue_max, 4);
	assert_int_equal(old->pi_nstate[MEMBER_STOPPED], 4);

	test_member(st, 1, MEMBER_READY, 7);
	test_member(st, 2, MEMBER_BOOTING, 8);
	pool_info_flush(st->pool);	/* nothing marked: no new one */
	cur = pool_info_get(st->pool);
	assert_ptr_equal(cur, old);
	pool_info_put(cur);

	pool_changed(st->pool);
	pool_info_flush(st->pool);
	cur = pool_info_get(st->pool);
	assert_ptr_not_equal(cur, old);
	assert_int_equal(cur->pi_nvms, 2);
	assert_int_equal(cur->pi_vms[0].vi_slot, 1);
	assert_int_equal(cur->pi_vms[0].vi_boot, 7);
	assert_int_equal(cur->pi_vms[0].vi_state, MEMBER_READY);
	assert_int_equal(cur->pi_vms[0].vi_cid, 4);
	assert_int_equal(cur->pi_vms[1].vi_state, MEMBER_BOOTING);
	assert_int_equal(cur->pi_nstate[MEMBER_READY], 1);
	assert_int_equal(cur->pi_nstate[MEMBER_BOOTING], 1);
	assert_int_equal(cur->pi_nstate[MEMBER_STOPPED], 2);
	assert_string_equal(cur->pi_vms[0].vi_health, "");
	/* A reference taken before still shows the old instant. */
	assert_int_equal(old->pi_nvms, 0);
	assert_int_equal(atomic_load(&old->pi_refs), 1);
	pool_info_put(old);		/* freed here (ASan would tell) */
	pool_info_put(cur);
	pool_info_put(NULL);
}

/* Runs the pool's loop until nothing is active. */
static void
test_run(struct test_state *st)
{
	event_base_loop(st->base, EVLOOP_NONBLOCK);
}

static void
test_pool_replace_reaches_the_pool_thread(void **state)
{
	struct test_state	*st = *state;
	struct pool_vm_info	 vi;
	struct pool_info	*pi;
	struct member		*ready, *booting, *draining;

	ready = test_member(st, 0, MEMBER_READY, 3);
	booting = test_member(st, 1, MEMBER_BOOTING, 4);
	draining = test_member(st, 2, MEMBER_DRAINING, 5);
	draining->m_why = MEMBER_WHY_SCALE_DOWN;
	pool_changed(st->pool);
	pool_info_flush(st->pool);

	errno = 0;
	assert_int_equal(pool_replace(st->pool, 3, &vi), -1);
	assert_int_equal(errno, ENOENT);		/* empty slot */
	assert_int_equal(pool_replace(st->pool, 99, &vi), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(pool_replace(st->pool, 2, &vi), -1);
	assert_int_equal(errno, EALREADY);		/* leaving */
	assert_int_equal(vi.vi_state, MEMBER_DRAINING);

	assert_int_equal(pool_replace(st->pool, 0, &vi), 0);
	assert_int_equal(vi.vi_boot, 3);
	assert_false(ready->m_recycle);		/* the pool thread's job */
	test_run(st);
	/* Make-before-break: it serves until its replacement is ready. */
	assert_int_equal(ready->m_state, MEMBER_READY);
	assert_true(ready->m_recycle);
	assert_int_equal(ready->m_why, MEMBER_WHY_ADMIN);
	pi = pool_info_get(st->pool);
	assert_true(pi->pi_vms[0].vi_replacing);
	assert_int_equal(pi->pi_vms[0].vi_why, MEMBER_WHY_ADMIN);
	assert_int_equal(pi->pi_replaced[MEMBER_WHY_ADMIN], 1);
	pool_info_put(pi);

	/* A booting VM is stopped at once, as asked, not as a crash. */
	assert_int_equal(pool_replace(st->pool, 1, &vi), 0);
	test_run(st);
	assert_int_equal(booting->m_state, MEMBER_FAILED);
	assert_int_equal(booting->m_why, MEMBER_WHY_ADMIN);
	assert_int_equal(st->pool->p_replaced[MEMBER_WHY_ADMIN], 2);

	/* The VM asked for went away and another took the slot: ignored. */
	assert_int_equal(pool_replace(st->pool, 0, &vi), 0);
	ready->m_boot = 9;
	ready->m_recycle = false;
	ready->m_why = MEMBER_WHY_NONE;
	test_run(st);
	assert_false(ready->m_recycle);
	assert_int_equal(st->pool->p_replaced[MEMBER_WHY_ADMIN], 2);

	/* Marked down while its replacement boots: that is why it goes. */
	ready->m_recycle = true;
	ready->m_why = MEMBER_WHY_ADMIN;
	member_kill(ready, MEMBER_WHY_HEALTH, "marked down");
	assert_int_equal(ready->m_state, MEMBER_FAILED);
	assert_int_equal(ready->m_why, MEMBER_WHY_HEALTH);
}

/*
 * A READY VM waiting for its replacement that exits on its own counts
 * as the exit it is (here /bin/false's status 1), not as the admin's
 * replacement, and is not counted as replaced a second time.
 */
static void
test_pool_exit_while_being_replaced(void **state)
{
	struct test_state	*st = *state;
	struct pool_info	*pi;
	struct member		*m = NULL;
	struct timeval		 tv = { 5, 0 };
	uint64_t		 exits = 0;
	size_t			 i;

	assert_int_equal(pool_start(st->pool), 0);
	for (i = 0; i < st->pool->p_nslots; i++)
		if (st->pool->p_members[i].m_state == MEMBER_BOOTING)
			m = &st->pool->p_members[i];
	assert_non_null(m);
	/* As if it got ready; then the admin listener asks for another. */
	m->m_state = MEMBER_READY;
	m->m_ready_ns = st->now;
	member_replace(m, MEMBER_WHY_ADMIN);
	assert_true(m->m_recycle);
	event_base_loopexit(st->base, &tv);
	while (exits == 0 && !event_base_got_exit(st->base)) {
		event_base_loop(st->base, EVLOOP_ONCE);
		for (i = 0; i < MEMBER_NWHY; i++)
			exits += st->pool->p_exits_by[i];
	}
	pi = pool_info_get(st->pool);
	assert_int_equal(pi->pi_exits[MEMBER_WHY_ERROR], 1);
	assert_int_equal(pi->pi_exits[MEMBER_WHY_ADMIN], 0);
	assert_int_equal(pi->pi_replaced[MEMBER_WHY_ADMIN], 1);
	assert_int_equal(pi->pi_replaced[MEMBER_WHY_ERROR], 0);
	assert_int_equal(pi->pi_crashes, 0);	/* it had been ready */
	pool_info_put(pi);
	assert_int_equal(st->pool->p_exits, 1);	/* unasked */
}

static void
test_pool_exit_reasons(void **state)
{
	static const struct { int status; enum member_why why; } cases[] = {
		{ 3 << 8, MEMBER_WHY_CRASH },
		{ 1 << 8, MEMBER_WHY_ERROR },
		{ 2 << 8, MEMBER_WHY_ERROR },
		{ 127 << 8, MEMBER_WHY_ERROR },
		{ 0, MEMBER_WHY_EXIT },
		{ 42 << 8, MEMBER_WHY_EXIT },
		{ 9, MEMBER_WHY_SIGNAL },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		switch (spawn_exit_kind(cases[i].status)) {
		case SPAWN_EXIT_CRASH:
			assert_int_equal(cases[i].why, MEMBER_WHY_CRASH);
			break;
		case SPAWN_EXIT_ERROR:
			assert_int_equal(cases[i].why, MEMBER_WHY_ERROR);
			break;
		case SPAWN_EXIT_SIGNAL:
			assert_int_equal(cases[i].why, MEMBER_WHY_SIGNAL);
			break;
		case SPAWN_EXIT_GUEST:
			assert_int_equal(cases[i].why, MEMBER_WHY_EXIT);
			break;
		}
	}
	assert_string_equal(member_why_name(MEMBER_WHY_CRASH), "crash");
	assert_string_equal(member_why_name(MEMBER_WHY_SCALE_DOWN),
	    "scale_down");
	assert_string_equal(member_why_name(MEMBER_NWHY), "?");
	assert_true(member_why_asked(MEMBER_WHY_ADMIN));
	assert_true(member_why_asked(MEMBER_WHY_RECYCLE));
	assert_false(member_why_asked(MEMBER_WHY_HEALTH));
	assert_false(member_why_asked(MEMBER_WHY_CRASH));
}

/* /bin/false as corral-vmm: exit status 1, counted as a VMM error. */
static void
test_pool_counts_exits_by_reason(void **state)
{
	struct test_state	*st = *state;
	struct pool_info	*pi;
	struct timeval		 tv = { 5, 0 };

	assert_int_equal(pool_start(st->pool), 0);
	pi = pool_info_get(st->pool);
	assert_int_equal(pi->pi_boots, 1);
	assert_int_equal(pi->pi_nstate[MEMBER_BOOTING], 1);
	assert_true(pi->pi_vms[0].vi_pid > 0);
	pool_info_put(pi);
	event_base_loopexit(st->base, &tv);
	while (st->pool->p_exits == 0 && !event_base_got_exit(st->base))
		event_base_loop(st->base, EVLOOP_ONCE);
	pi = pool_info_get(st->pool);
	assert_int_equal(pi->pi_exits[MEMBER_WHY_ERROR], 1);
	assert_int_equal(pi->pi_replaced[MEMBER_WHY_ERROR], 1);
	assert_int_equal(pi->pi_crashes, 1);
	assert_true(pi->pi_degraded);
	assert_int_equal(pi->pi_nstate[MEMBER_BOOTING], 0);
	pool_info_put(pi);
}

static void
test_pool_histograms(void **state)
{
	struct test_state	*st = *state;
	struct pool_hist	 h;
	uint64_t		 t1, t2;

	t1 = pool_queue_enter(st->pool, NULL);
	t2 = pool_queue_enter(st->pool, NULL);
	st->now += 3 * MS;
	pool_queue_leave(st->pool, t1);		/* 3 ms: <= 5 ms */
	st->now += 7 * MS;
	pool_queue_leave(st->pool, t2);		/* 10 ms */
	pool_queue_leave(st->pool, t2);		/* gone: not counted */
	pool_queue_waits(st->pool, &h);
	assert_int_equal(h.ph_n, 13);
	assert_int_equal(h.ph_count[0], 0);	/* <= 1 ms */
	assert_int_equal(h.ph_count[1], 1);	/* <= 5 ms */
	assert_int_equal(h.ph_count[2], 1);	/* <= 10 ms */
	assert_int_equal(h.ph_sum_us, 13000);

	memset(&h, 0, sizeof(h));
	h.ph_bounds_us = (const uint64_t[]){ 10, 20 };
	h.ph_n = 3;
	pool_hist_add(&h, 10);
	pool_hist_add(&h, 11);
	pool_hist_add(&h, 1000);
	assert_int_equal(h.ph_count[0], 1);
	assert_int_equal(h.ph_count[1], 1);
	assert_int_equal(h.ph_count[2], 1);
	assert_int_equal(h.ph_sum_us, 1021);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_pool_out_of_rotation_is_not_capacity, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_info_is_published_once_and_refcounted,
		    test_setup, test_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_replace_reaches_the_pool_thread, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(
		    test_pool_exit_while_being_replaced, test_setup,
		    test_teardown),
		cmocka_unit_test(test_pool_exit_reasons),
		cmocka_unit_test_setup_teardown(
		    test_pool_counts_exits_by_reason, test_setup,
		    test_teardown),
		cmocka_unit_test_setup_teardown(test_pool_histograms,
		    test_setup, test_teardown),
	};

	return cmocka_run_group_tests_name("admin_pool", tests, NULL, NULL);
}
