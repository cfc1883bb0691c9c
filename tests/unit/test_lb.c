/*
 * tests/unit/test_lb.c: the balancing algorithms, driven with a seeded
 * generator so every distribution check is deterministic.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pool/lb.h"

#define NKEYS	20000

static bool
test_lb_skip_one(void *arg, size_t i)
{
	return i != *(size_t *)arg;
}

static void
test_lb_rr_is_smooth_and_weighted(void **state)
{
	struct lb_target	 t[3] = {
		{ "a", 5, NULL }, { "b", 1, NULL }, { "c", 1, NULL },
	};
	const char		*want = "aabacaa";
	unsigned		 counts[3] = { 0 };
	void			*st;
	size_t			 i;
	long			 p;

	(void)state;
	assert_non_null(st = lb_rr_ops.lo_new(t, 3));
	/* nginx's documented order for weights 5, 1, 1. */
	for (i = 0; i < 7; i++) {
		p = lb_rr_ops.lo_pick(st, 0, 0, NULL);
		assert_true(p >= 0 && p < 3);
		assert_int_equal(t[p].lt_key[0], want[i]);
	}
	for (i = 0; i < 700; i++)
		counts[lb_rr_ops.lo_pick(st, 0, 0, NULL)]++;
	assert_int_equal(counts[0], 500);
	assert_int_equal(counts[1], 100);
	assert_int_equal(counts[2], 100);
	lb_rr_ops.lo_free(st);
}

static void
test_lb_rr_skips_unusable_without_backlog(void **state)
{
	struct lb_target	 t[2] = { { "a", 1, NULL }, { "b", 1, NULL } };
	struct lb_filter	 f;
	size_t			 skip = 1, i;
	unsigned		 counts[2] = { 0 };
	void			*st;

	(void)state;
	f.lf_usable = test_lb_skip_one;
	f.lf_arg = &skip;
	assert_non_null(st = lb_rr_ops.lo_new(t, 2));
	for (i = 0; i < 10; i++)
		assert_int_equal(lb_rr_ops.lo_pick(st, 0, 0, &f), 0);
	/* Back in: strict alternation, not ten turns in a row for b. */
	for (i = 0; i < 10; i++)
		counts[lb_rr_ops.lo_pick(st, 0, 0, NULL)]++;
	assert_int_equal(counts[0], 5);
	assert_int_equal(counts[1], 5);
	skip = 0;
	lb_rr_ops.lo_free(st);
	assert_non_null(st = lb_rr_ops.lo_new(t, 1));
	assert_int_equal(lb_rr_ops.lo_pick(st, 0, 0, &f), -1);
	lb_rr_ops.lo_free(st);
}

static void
test_lb_random_follows_weights(void **state)
{
	struct lb_target	 t[3] = {
		{ "a", 1, NULL }, { "b", 2, NULL }, { "c", 7, NULL },
	};
	unsigned		 counts[3] = { 0 };
	uint64_t		 seed = 42;
	void			*st;
	size_t			 i;

	(void)state;
	assert_non_null(st = lb_random_ops.lo_new(t, 3));
	for (i = 0; i < 100000; i++)
		counts[lb_random_ops.lo_pick(st, 0, lb_rand(&seed), NULL)]++;
	/* Expected 10k, 20k, 70k; 3% slack is far outside sampling noise. */
	assert_in_range(counts[0], 9700, 10300);
	assert_in_range(counts[1], 19400, 20600);
	assert_in_range(counts[2], 67900, 72100);
	lb_random_ops.lo_free(st);
}

static void
test_lb_lr_prefers_the_less_loaded(void **state)
{
	_Atomic uint32_t	 load[4];
	struct lb_target	 t[4];
	unsigned		 counts[4] = { 0 };
	uint64_t		 seed = 7;
	char			 keys[4][4];
	void			*st;
	size_t			 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		atomic_init(&load[i], 10);
		snprintf(keys[i], sizeof(keys[i]), "s%zu", i);
		t[i].lt_key = keys[i];
		t[i].lt_weight = 1;
		t[i].lt_inflight = &load[i];
	}
	atomic_store(&load[2], 0);		/* s2 is idle */
	assert_non_null(st = lb_lr_ops.lo_new(t, 4));
	for (i = 0; i < 10000; i++)
		counts[lb_lr_ops.lo_pick(st, 0, lb_rand(&seed), NULL)]++;
	/*
	 * s2 wins whenever it is one of the two drawn: 1 - (3/4 * 2/3) =
	 * 1/2 of the time; each other server a sixth.
	 */
	assert_in_range(counts[2], 4700, 5300);
	for (i = 0; i < 4; i++)
		if (i != 2)
			assert_in_range(counts[i], 1450, 1900);
	lb_lr_ops.lo_free(st);
}

static void
test_lb_lr_weights_the_load(void **state)
{
	_Atomic uint32_t	 load[2];
	struct lb_target	 t[2] = { { "big", 4, &load[0] },
				    { "small", 1, &load[1] } };
	uint64_t		 seed = 9;
	void			*st;
	size_t			 i;

	(void)state;
	/* 6 in flight on weight 4 is lighter than 2 on weight 1. */
	atomic_init(&load[0], 6);
	atomic_init(&load[1], 2);
	assert_non_null(st = lb_lr_ops.lo_new(t, 2));
	for (i = 0; i < 100; i++)
		assert_int_equal(lb_lr_ops.lo_pick(st, 0, lb_rand(&seed),
		    NULL), 0);
	lb_lr_ops.lo_free(st);
}

/* Maps NKEYS keys through a ring of targets "10.0.0.<i>:80". */
static void
test_lb_hash_map(const struct lb_target *t, size_t n, long *out,
    const struct lb_filter *f)
{
	char	 key[32];
	void	*st;
	size_t	 k;

	assert_non_null(st = lb_hash_ops.lo_new(t, n));
	for (k = 0; k < NKEYS; k++) {
		snprintf(key, sizeof(key), "client-%zu", k);
		out[k] = lb_hash_ops.lo_pick(st,
		    lb_hash_bytes(key, strlen(key)), 0, f);
	}
	lb_hash_ops.lo_free(st);
}

static void
test_lb_hash_targets(struct lb_target *t, char (*names)[32], size_t first,
    size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		snprintf(names[i], 32, "10.0.0.%zu:80", first + i);
		t[i].lt_key = names[i];
		t[i].lt_weight = 1;
		t[i].lt_inflight = NULL;
	}
}

static void
test_lb_hash_removal_moves_only_its_share(void **state)
{
	static long		 before[NKEYS], after[NKEYS];
	struct lb_target	 t[10];
	char			 names[10][32];
	unsigned		 counts[10] = { 0 };
	size_t			 k, moved = 0;

	(void)state;
	test_lb_hash_targets(t, names, 0, 10);
	test_lb_hash_map(t, 10, before, NULL);
	for (k = 0; k < NKEYS; k++)
		counts[before[k]]++;
	/* Balanced to within 35% of the mean with 160 points each. */
	for (k = 0; k < 10; k++)
		assert_in_range(counts[k], NKEYS / 10 * 65 / 100,
		    NKEYS / 10 * 135 / 100);
	/* Drop the last target: a new ring built from the other nine. */
	test_lb_hash_map(t, 9, after, NULL);
	for (k = 0; k < NKEYS; k++) {
		if (before[k] == 9) {
			moved++;
			continue;
		}
		/* Keys of the remaining targets never move. */
		assert_int_equal(after[k], before[k]);
	}
	assert_int_equal(moved, counts[9]);
}

static void
test_lb_hash_addition_takes_only_new_share(void **state)
{
	static long		 before[NKEYS], after[NKEYS];
	struct lb_target	 t[11];
	char			 names[11][32];
	size_t			 k, moved = 0;

	(void)state;
	test_lb_hash_targets(t, names, 0, 11);
	test_lb_hash_map(t, 10, before, NULL);
	test_lb_hash_map(t, 11, after, NULL);
	for (k = 0; k < NKEYS; k++) {
		if (after[k] == before[k])
			continue;
		assert_int_equal(after[k], 10);	/* moved only to the new one */
		moved++;
	}
	/* About 1/11 of the keys; bounded at 1.5x that. */
	assert_true(moved > 0);
	assert_true(moved < NKEYS / 11 * 3 / 2);
}

static void
test_lb_hash_unusable_spreads_and_others_stay(void **state)
{
	static long		 before[NKEYS], after[NKEYS];
	struct lb_target	 t[10];
	struct lb_filter	 f;
	char			 names[10][32];
	unsigned		 got[10] = { 0 };
	size_t			 skip = 3, k, receivers = 0;

	(void)state;
	f.lf_usable = test_lb_skip_one;
	f.lf_arg = &skip;
	test_lb_hash_targets(t, names, 0, 10);
	test_lb_hash_map(t, 10, before, NULL);
	test_lb_hash_map(t, 10, after, &f);
	for (k = 0; k < NKEYS; k++) {
		assert_int_not_equal(after[k], 3);
		if (before[k] != 3)
			assert_int_equal(after[k], before[k]);
		else
			got[after[k]]++;
	}
	for (k = 0; k < 10; k++)
		receivers += got[k] > 0;
	assert_true(receivers >= 5);	/* spread, not one neighbour */
}

static void
test_lb_find_by_config_name(void **state)
{
	(void)state;
	assert_ptr_equal(lb_find("round_robin"), &lb_rr_ops);
	assert_ptr_equal(lb_find("least_request"), &lb_lr_ops);
	assert_ptr_equal(lb_find("random"), &lb_random_ops);
	assert_ptr_equal(lb_find("hash"), &lb_hash_ops);
	assert_null(lb_find("rr"));
}

static void
test_lb_empty_pool_picks_nothing(void **state)
{
	const struct lb_ops	*ops[] = { &lb_rr_ops, &lb_lr_ops,
				    &lb_random_ops, &lb_hash_ops };
	void			*st;
	size_t			 i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_non_null(st = ops[i]->lo_new(NULL, 0));
		assert_int_equal(ops[i]->lo_pick(st, 1, 1, NULL), -1);
		ops[i]->lo_free(st);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lb_rr_is_smooth_and_weighted),
		cmocka_unit_test(test_lb_rr_skips_unusable_without_backlog),
		cmocka_unit_test(test_lb_random_follows_weights),
		cmocka_unit_test(test_lb_lr_prefers_the_less_loaded),
		cmocka_unit_test(test_lb_lr_weights_the_load),
		cmocka_unit_test(test_lb_hash_removal_moves_only_its_share),
		cmocka_unit_test(test_lb_hash_addition_takes_only_new_share),
		cmocka_unit_test(test_lb_hash_unusable_spreads_and_others_stay),
		cmocka_unit_test(test_lb_find_by_config_name),
		cmocka_unit_test(test_lb_empty_pool_picks_nothing),
	};

	return cmocka_run_group_tests_name("lb", tests, NULL, NULL);
}
