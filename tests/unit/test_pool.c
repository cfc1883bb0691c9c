/*
 * tests/unit/test_pool.c: pool/pool.c and pool/pool_set.c: the READY
 * snapshot (built from the members' states, immutable, refcounted: a
 * worker's reference outlives a swap), the per-slot counters and
 * max_inflight_per_vm, the FIFO of waiting requests, and the crash-loop back-off of a real pool whose
 * "corral-vmm" is /bin/false, and the cap on VMs booting at once, on a
 * real event_base with a clock the test moves.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/stat.h>

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

#define MS	MTIME_NS_PER_MS

static const char test_pool_yaml[] =
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
    "    size: { min: 1, max: 3 }\n"
    "    max_inflight_per_vm: 2\n"
    "  - name: queued\n"
    "    type: microvm\n"
    "    kernel: /nonexistent/kernel\n"
    "    queue: { length: 3, timeout: 250ms }\n"
    "  - name: noqueue\n"
    "    type: microvm\n"
    "    kernel: /nonexistent/kernel\n"
    "    queue: { length: 0 }\n"
    "  - name: many\n"
    "    type: microvm\n"
    "    kernel: /nonexistent/kernel\n"
    "    size: { min: 10, max: 10 }\n";

struct test_pool_state {
	struct conf	*conf;
	char		 dir[64];
	uint64_t	 now;
};

static uint64_t
test_pool_now(void *arg)
{
	return (*(uint64_t *)arg);
}

static int
test_pool_setup(void **state)
{
	static struct test_pool_state	 st;
	struct conf_errors		*errs = conf_errors_new();

	memset(&st, 0, sizeof(st));
	st.conf = conf_load_string("pool.yaml", test_pool_yaml,
	    strlen(test_pool_yaml), errs);
	conf_errors_free(errs);
	if (st.conf == NULL)
		return (-1);
	/* The run directory goes under a scratch $XDG_RUNTIME_DIR. */
	snprintf(st.dir, sizeof(st.dir), "/tmp/test_pool.XXXXXX");
	if (mkdtemp(st.dir) == NULL)
		return (-1);
	setenv("XDG_RUNTIME_DIR", st.dir, 1);
	setenv("CORRAL_VMM", "/bin/false", 1);
	*state = &st;
	return (0);
}

static int
test_pool_teardown(void **state)
{
	struct test_pool_state	*st = *state;

	conf_free(st->conf);
	rmdir(st->dir);
	return (0);
}

static void
test_pool_slots_and_paths(void **state)
{
	struct test_pool_state	*st = *state;
	const struct conf_pool	*cp = &st->conf->c_pools[0];
	char			 path[108], want[108];

	assert_int_equal(pool_nslots(cp), 6);	/* max 3, twice */
	assert_int_equal(pool_vsock_path(cp, 4, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/corral-%ld/hello/vm-4.vsock",
	    st->dir, (long)getpid());
	assert_string_equal(path, want);
	assert_int_equal(pool_vsock_path(cp, 4, path, 10), -1);
}

static void
test_pool_set_is_immutable_and_refcounted(void **state)
{
	struct test_pool_state	*st = *state;
	struct pool		*pool;
	struct pool_set		*old, *cur;

	pool = pool_new(NULL, &st->conf->c_pools[0]);
	assert_non_null(pool);
	old = pool_set_get(pool);
	assert_int_equal(pool_set_count(old), 0);
	assert_false(pool_set_ready(old, 1));

	pool->p_members[1].m_state = MEMBER_READY;
	pool->p_members[3].m_state = MEMBER_READY;
	pool->p_members[2].m_state = MEMBER_BOOTING;
	pool_publish(pool);
	cur = pool_set_get(pool);
	assert_ptr_not_equal(cur, old);
	assert_int_equal(pool_set_count(cur), 2);
	assert_true(pool_set_ready(cur, 1));
	assert_false(pool_set_ready(cur, 2));	/* booting is not ready */
	assert_true(pool_set_ready(cur, 3));
	assert_false(pool_set_ready(cur, 99));	/* out of range */
	/* The reference taken before the swap still shows the old state. */
	assert_int_equal(pool_set_count(old), 0);
	assert_false(pool_set_ready(old, 1));
	assert_int_equal(atomic_load(&old->st_refs), 1);
	assert_int_equal(atomic_load(&cur->st_refs), 2);
	pool_set_put(old);		/* freed here (ASan would tell) */
	pool_set_put(cur);
	assert_int_equal(atomic_load(&pool->p_set->st_refs), 1);
	pool_set_put(NULL);
	pool_free(pool);
}

static void
test_pool_slot_room_follows_max_inflight(void **state)
{
	struct test_pool_state	*st = *state;
	struct pool		*pool;

	pool = pool_new(NULL, &st->conf->c_pools[0]);
	assert_non_null(pool);
	assert_true(pool_slot_room(pool, 0));
	pool_slot_acquire(pool, 0);
	assert_true(pool_slot_room(pool, 0));
	pool_slot_acquire(pool, 0);
	assert_false(pool_slot_room(pool, 0));	/* max_inflight_per_vm: 2 */
	assert_true(pool_slot_room(pool, 1));	/* per slot */
	pool_slot_release(pool, 0);
	assert_true(pool_slot_room(pool, 0));
	assert_int_equal(atomic_load(&pool->p_slots[0].sl_requests), 2);
	pool_slot_release(pool, 0);
	pool_free(pool);
}

static void
test_pool_queue_is_a_bounded_fifo(void **state)
{
	struct test_pool_state	*st = *state;
	struct pool		*pool;
	uint64_t		 t[4];
	size_t			 i;

	pool = pool_new(NULL, &st->conf->c_pools[1]);	/* length 3 */
	assert_non_null(pool);
	assert_int_equal(pool_queue_timeout(pool), 250);
	for (i = 0; i < 3; i++) {
		t[i] = pool_queue_enter(pool, NULL);
		assert_int_not_equal(t[i], 0);
		assert_int_equal(pool_queue_position(pool, t[i]), i);
	}
	assert_int_equal(pool_queue_enter(pool, NULL), 0);	/* full */
	assert_int_equal(pool_queue_length(pool), 3);
	/* With n VMs with room, the first n tickets are in turn. */
	assert_int_equal(pool_queue_turn_max(pool, 0), 0);
	assert_int_equal(pool_queue_turn_max(pool, 1), t[0]);
	assert_int_equal(pool_queue_turn_max(pool, 3), t[2]);
	assert_true(pool_queue_turn_max(pool, 4) == UINT64_MAX);
	/* The middle one gives up: the last moves up, order is kept. */
	pool_queue_leave(pool, t[1]);
	assert_int_equal(pool_queue_position(pool, t[0]), 0);
	assert_int_equal(pool_queue_position(pool, t[2]), 1);
	t[3] = pool_queue_enter(pool, NULL);
	assert_int_equal(pool_queue_position(pool, t[3]), 2);
	pool_queue_leave(pool, t[0]);
	assert_int_equal(pool_queue_position(pool, t[2]), 0);
	pool_queue_leave(pool, t[0]);			/* twice: no-op */
	assert_int_equal(pool_queue_length(pool), 2);
	pool_queue_leave(pool, t[2]);
	pool_queue_leave(pool, t[3]);
	assert_int_equal(pool_queue_length(pool), 0);
	pool_free(pool);

	/* length 0: nobody waits. */
	pool = pool_new(NULL, &st->conf->c_pools[2]);
	assert_non_null(pool);
	assert_int_equal(pool_queue_enter(pool, NULL), 0);
	pool_free(pool);
}

/* A worker, as the pool sees it: woken on any thread, counted. */
struct test_waker {
	struct pool_waker	 tw_pw;
	int			 tw_n;
};

static void
test_pool_count_wake(struct pool_waker *pw)
{
	((struct test_waker *)(void *)pw)->tw_n++;
}

/*
 * The waiters' workers are woken when room may have appeared (a slot
 * released, the set published, someone ahead left), each worker once
 * however many of its requests wait, and not when nobody waits.
 */
static void
test_pool_queue_wakes_the_waiters(void **state)
{
	struct test_pool_state	*st = *state;
	struct test_waker	 w1 = { { test_pool_count_wake }, 0 };
	struct test_waker	 w2 = { { test_pool_count_wake }, 0 };
	struct pool_waker	*e1 = &w1.tw_pw, *e2 = &w2.tw_pw;
	struct pool		*pool;
	uint64_t		 t1, t2, t3;

	pool = pool_new(NULL, &st->conf->c_pools[1]);	/* length 3 */
	assert_non_null(pool);

	pool_slot_acquire(pool, 0);
	pool_slot_release(pool, 0);			/* nobody waits */
	assert_int_equal(w1.tw_n + w2.tw_n, 0);

	t1 = pool_queue_enter(pool, e1);
	t2 = pool_queue_enter(pool, e2);
	t3 = pool_queue_enter(pool, e1);
	pool_slot_acquire(pool, 0);
	pool_slot_release(pool, 0);
	assert_int_equal(w1.tw_n, 1);
	assert_int_equal(w2.tw_n, 1);

	pool_queue_leave(pool, t1);			/* the others move up */
	assert_int_equal(w1.tw_n, 2);
	assert_int_equal(w2.tw_n, 2);

	pool_queue_leave(pool, t2);
	pool_queue_leave(pool, t3);			/* the last: no one */
	assert_int_equal(w1.tw_n, 3);			/* for t3 */
	assert_int_equal(w2.tw_n, 2);
	pool_slot_acquire(pool, 0);
	pool_slot_release(pool, 0);
	assert_int_equal(w1.tw_n, 3);
	assert_int_equal(w2.tw_n, 2);

	pool_free(pool);
}

/* Runs <base> until <pool> has seen <crashes> failed boots, or 5 s. */
static void
test_pool_wait_crashes(struct event_base *base, struct pool *pool,
    unsigned crashes)
{
	struct timeval	 tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	while (pool->p_crashes < crashes && !event_base_got_exit(base))
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(pool->p_crashes, crashes);
	/* Clear the loopexit for the next wait. */
	event_base_loopbreak(base);
	event_base_loop(base, EVLOOP_NONBLOCK);
}

static void
test_pool_crash_loop_backs_off(void **state)
{
	struct test_pool_state	*st = *state;
	struct event_base	*base = event_base_new();
	struct pool		*pool;
	struct pool_status	 ps;

	assert_non_null(base);
	pool = pool_new(base, &st->conf->c_pools[0]);
	assert_non_null(pool);
	st->now = 1000 * MS;
	pool->p_clock.now_ns = test_pool_now;
	pool->p_clock.arg = &st->now;
	assert_int_equal(pool_start(pool), 0);
	assert_int_equal(pool->p_boots, 1);

	/* /bin/false exits at once: a failed boot, noticed by the pidfd. */
	test_pool_wait_crashes(base, pool, 1);
	pool_status(pool, &ps);
	assert_true(ps.ps_degraded);
	assert_int_equal(ps.ps_ready, 0);
	assert_int_equal(pool->p_boots, 1);	/* waits 100 ms */
	st->now += 99 * MS;
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 1);
	st->now += 1 * MS;
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 2);

	test_pool_wait_crashes(base, pool, 2);
	st->now += 199 * MS;			/* then 200 ms */
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 2);
	st->now += 1 * MS;
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 3);
	test_pool_wait_crashes(base, pool, 3);
	assert_int_equal(pool->p_next_spawn_ns, st->now + 400 * MS);

	pool_free(pool);
	event_base_free(base);
}

/* A pool of 10 boots p_boot_max VMs, then one more as each is done. */
static void
test_pool_boots_few_at_once(void **state)
{
	struct test_pool_state	*st = *state;
	struct event_base	*base = event_base_new();
	struct pool		*pool;
	char			 vmm[128];
	FILE			*f;

	/* A "VMM" that stays up, never answering: booting until stopped. */
	snprintf(vmm, sizeof(vmm), "%s/slow-vmm", st->dir);
	assert_non_null(f = fopen(vmm, "w"));
	fputs("#!/bin/sh\nexec sleep 30\n", f);
	fclose(f);
	assert_int_equal(chmod(vmm, 0755), 0);
	setenv("CORRAL_VMM", vmm, 1);

	assert_non_null(base);
	pool = pool_new(base, &st->conf->c_pools[3]);
	assert_non_null(pool);
	assert_true(pool->p_boot_max >= POOL_BOOTS_PER_CPU);
	pool->p_boot_max = 3;
	assert_int_equal(pool_start(pool), 0);
	assert_int_equal(pool->p_boots, 3);
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 3);
	/* One gives up its boot: one more starts. */
	member_drain(&pool->p_members[0], MEMBER_WHY_SCALE_DOWN);
	assert_int_not_equal(pool->p_members[0].m_state, MEMBER_BOOTING);
	pool_reconcile(pool);
	assert_int_equal(pool->p_boots, 4);

	pool_free(pool);
	event_base_free(base);
	unlink(vmm);
	setenv("CORRAL_VMM", "/bin/false", 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_slots_and_paths),
		cmocka_unit_test(test_pool_set_is_immutable_and_refcounted),
		cmocka_unit_test(test_pool_slot_room_follows_max_inflight),
		cmocka_unit_test(test_pool_queue_is_a_bounded_fifo),
		cmocka_unit_test(test_pool_queue_wakes_the_waiters),
		cmocka_unit_test(test_pool_crash_loop_backs_off),
		cmocka_unit_test(test_pool_boots_few_at_once),
	};

	return cmocka_run_group_tests_name("pool", tests, test_pool_setup,
	    test_pool_teardown);
}
