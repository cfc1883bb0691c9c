/*
 * tests/unit/test_member.c: pool/member.c's pure parts: the VM state
 * machine (booting -> ready -> draining -> stopped, and failed after
 * <fall> failed checks or a boot timeout) as a table of transitions,
 * rise (back into rotation after failed checks),
 * and the crash-loop back-off (doubling from 100 ms, capped at 10 s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pool/member.h"

static void
test_member_step_table(void **state)
{
	static const struct {
		enum member_state	 from;
		enum member_event	 ev;
		unsigned		 fails;	/* mh_fail before */
		enum member_state	 to;
	} cases[] = {
		{ MEMBER_BOOTING, MEMBER_EV_PROBE_FAIL, 0, MEMBER_BOOTING },
		{ MEMBER_BOOTING, MEMBER_EV_PROBE_OK, 0, MEMBER_READY },
		{ MEMBER_BOOTING, MEMBER_EV_TIMEOUT, 0, MEMBER_FAILED },
		{ MEMBER_BOOTING, MEMBER_EV_DRAIN, 0, MEMBER_FAILED },
		{ MEMBER_BOOTING, MEMBER_EV_EXIT, 0, MEMBER_STOPPED },
		{ MEMBER_READY, MEMBER_EV_PROBE_OK, 2, MEMBER_READY },
		{ MEMBER_READY, MEMBER_EV_PROBE_FAIL, 0, MEMBER_READY },
		{ MEMBER_READY, MEMBER_EV_PROBE_FAIL, 1, MEMBER_READY },
		{ MEMBER_READY, MEMBER_EV_PROBE_FAIL, 2, MEMBER_FAILED },
		{ MEMBER_READY, MEMBER_EV_DRAIN, 0, MEMBER_DRAINING },
		{ MEMBER_READY, MEMBER_EV_EXIT, 0, MEMBER_STOPPED },
		{ MEMBER_DRAINING, MEMBER_EV_PROBE_FAIL, 5, MEMBER_DRAINING },
		{ MEMBER_DRAINING, MEMBER_EV_DRAIN, 0, MEMBER_DRAINING },
		{ MEMBER_DRAINING, MEMBER_EV_EXIT, 0, MEMBER_STOPPED },
		{ MEMBER_FAILED, MEMBER_EV_PROBE_OK, 0, MEMBER_FAILED },
		{ MEMBER_FAILED, MEMBER_EV_EXIT, 0, MEMBER_STOPPED },
		{ MEMBER_STOPPED, MEMBER_EV_PROBE_OK, 0, MEMBER_STOPPED },
	};
	struct member_health	 h;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h.mh_ok = 0;
		h.mh_fail = cases[i].fails;
		h.mh_out = false;
		assert_int_equal(member_step(cases[i].from, cases[i].ev, &h,
		    3, 2), cases[i].to);
	}
}

static void
test_member_fall_counts_consecutive_failures(void **state)
{
	struct member_health	 h = { 0, 0, false };
	enum member_state	 st = MEMBER_BOOTING;

	(void)state;
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 2);
	assert_int_equal(st, MEMBER_READY);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	assert_int_equal(h.mh_fail, 2);
	/* rise successes in between start the count over. */
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 2);
	assert_int_equal(h.mh_fail, 2);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 2);
	assert_int_equal(h.mh_fail, 0);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	assert_int_equal(st, MEMBER_READY);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	assert_int_equal(st, MEMBER_FAILED);
	/* fall 0 is taken as 1: one failure is enough. */
	h.mh_fail = 0;
	assert_int_equal(member_step(MEMBER_READY, MEMBER_EV_PROBE_FAIL, &h,
	    0, 2), MEMBER_FAILED);
}

/*
 * rise: a READY member leaves the rotation at its first failed check
 * and comes back after <rise> passed in a row; a failure in between
 * starts the count over.  Its first check at boot is enough (rise is
 * for coming back, not for becoming ready).
 */
static void
test_member_rise_brings_back_into_rotation(void **state)
{
	struct member_health	 h = { 0, 0, false };
	enum member_state	 st = MEMBER_BOOTING;

	(void)state;
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	assert_int_equal(st, MEMBER_READY);
	assert_false(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 3);
	assert_int_equal(st, MEMBER_READY);
	assert_true(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	assert_true(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 3);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	assert_true(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 3);
	assert_int_equal(st, MEMBER_READY);
	assert_false(h.mh_out);
	/* Flapping: fewer than rise passes between failures, so it falls. */
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 2);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 2);
	assert_int_equal(st, MEMBER_READY);
	assert_true(h.mh_out);
	assert_int_equal(member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2),
	    MEMBER_FAILED);
	st = MEMBER_READY;
	h.mh_ok = h.mh_fail = 0;
	h.mh_out = false;
	/* rise 0 is taken as 1; an exit clears it all. */
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 0);
	assert_true(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_OK, &h, 3, 0);
	assert_false(h.mh_out);
	st = member_step(st, MEMBER_EV_PROBE_FAIL, &h, 3, 2);
	st = member_step(st, MEMBER_EV_EXIT, &h, 3, 2);
	assert_int_equal(st, MEMBER_STOPPED);
	assert_false(h.mh_out);
	assert_int_equal(h.mh_fail, 0);
}

static void
test_member_backoff_doubles_to_a_cap(void **state)
{
	static const struct { unsigned crashes; uint64_t ms; } cases[] = {
		{ 0, 0 }, { 1, 100 }, { 2, 200 }, { 3, 400 }, { 4, 800 },
		{ 7, 6400 }, { 8, 10000 }, { 9, 10000 }, { 64, 10000 },
		{ 1000000, 10000 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(member_backoff_ms(cases[i].crashes),
		    cases[i].ms);
}

static void
test_member_state_names(void **state)
{
	(void)state;
	assert_string_equal(member_state_name(MEMBER_BOOTING), "booting");
	assert_string_equal(member_state_name(MEMBER_READY), "ready");
	assert_string_equal(member_state_name(MEMBER_DRAINING), "draining");
	assert_string_equal(member_state_name(MEMBER_STOPPED), "stopped");
	assert_string_equal(member_state_name(MEMBER_FAILED), "failed");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_step_table),
		cmocka_unit_test(test_member_rise_brings_back_into_rotation),
		cmocka_unit_test(test_member_fall_counts_consecutive_failures),
		cmocka_unit_test(test_member_backoff_doubles_to_a_cap),
		cmocka_unit_test(test_member_state_names),
	};

	return cmocka_run_group_tests_name("member", tests, NULL, NULL);
}
