/*
 * tests/unit/test_guest_mem.c: corral-guest's heap (guest/mem.c, compiled
 * for the host) over a buffer of our own: alignment, exhaustion, reuse,
 * merging of freed neighbours, several regions, and detection of double
 * and wild frees (which panic in the guest; here cons_panic() jumps back).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/app.h"
#include "guest/cons.h"
#include "guest/mem.h"

static jmp_buf	 panic_jmp;
static char	 panic_msg[256];

/* guest/mem.c's only way out on corruption. */
void
cons_panic(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	longjmp(panic_jmp, 1);
}

/*
 * The heap is process-wide, like the guest's: each test adds its own
 * region and must give back everything it took, which is itself checked.
 */
static uint8_t	*region;

static int
setup_region(size_t len)
{
	region = aligned_alloc(4096, len);
	return region == NULL ? -1 : 0;
}

static void
test_mem_alloc_is_aligned_and_disjoint(void **state)
{
	struct mem_stats	 before, after;
	uint8_t			*p[100];
	size_t			 i, j;

	(void)state;
	mem_stats_get(&before);
	for (i = 0; i < 100; i++) {
		p[i] = mem_alloc(i * 37 + 1);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % MEM_ALIGN, 0);
		memset(p[i], (int)i, i * 37 + 1);
	}
	for (i = 0; i < 100; i++)
		for (j = 0; j < i * 37 + 1; j++)
			assert_int_equal(p[i][j], (uint8_t)i);
	for (i = 0; i < 100; i += 2)
		mem_free(p[i]);
	for (i = 1; i < 100; i += 2)
		mem_free(p[i]);
	mem_stats_get(&after);
	assert_int_equal(after.ms_free, before.ms_free);
	assert_int_equal(after.ms_free_blocks, before.ms_free_blocks);
	assert_int_equal(after.ms_used_blocks, 0);
}

static void
test_mem_freed_neighbours_merge_back(void **state)
{
	struct mem_stats	 st0, st;
	void			*a, *b, *c, *big;

	(void)state;
	mem_stats_get(&st0);
	a = mem_alloc(1000);
	b = mem_alloc(1000);
	c = mem_alloc(1000);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* Free the middle one last: it must join both sides. */
	mem_free(a);
	mem_free(c);
	mem_free(b);
	mem_stats_get(&st);
	assert_int_equal(st.ms_free_blocks, st0.ms_free_blocks);
	assert_int_equal(st.ms_largest, st0.ms_largest);
	/* So the largest block can be had again in one piece. */
	big = mem_alloc(st0.ms_largest);
	assert_non_null(big);
	assert_null(mem_alloc(16));
	mem_free(big);
}

static void
test_mem_exhaustion_returns_null(void **state)
{
	struct mem_stats	 st;
	void			*p[4096];
	size_t			 n = 0, i;

	(void)state;
	mem_stats_get(&st);
	assert_null(mem_alloc(st.ms_largest + 1));
	assert_null(mem_alloc(SIZE_MAX));
	assert_null(mem_alloc(SIZE_MAX - 8));
	while (n < 4096 && (p[n] = mem_alloc(64 * 1024)) != NULL)
		n++;
	assert_true(n > 0 && n < 4096);
	/* After freeing one, the same size fits again. */
	mem_free(p[--n]);
	assert_non_null(p[n] = mem_alloc(64 * 1024));
	n++;
	for (i = 0; i < n; i++)
		mem_free(p[i]);
	mem_stats_get(&st);
	assert_int_equal(st.ms_used_blocks, 0);
}

static void
test_mem_zero_and_null(void **state)
{
	void	*p;

	(void)state;
	p = mem_alloc(0);
	assert_non_null(p);
	mem_free(p);
	mem_free(NULL);
}

static void
test_mem_double_free_is_caught(void **state)
{
	void	*p;

	(void)state;
	p = mem_alloc(100);
	assert_non_null(p);
	mem_free(p);
	if (setjmp(panic_jmp) == 0) {
		mem_free(p);
		fail_msg("double free not caught");
	}
	assert_non_null(strstr(panic_msg, "double free"));
}

static void
test_mem_wild_free_is_caught(void **state)
{
	uint8_t	*p;

	(void)state;
	p = mem_alloc(256);
	assert_non_null(p);
	memset(p, 0, 256);
	if (setjmp(panic_jmp) == 0) {
		mem_free(p + 32);
		fail_msg("free of an inner pointer not caught");
	}
	assert_non_null(strstr(panic_msg, "bad magic"));
	if (setjmp(panic_jmp) == 0) {
		mem_free(p + 3);
		fail_msg("unaligned free not caught");
	}
	assert_non_null(strstr(panic_msg, "unaligned"));
	mem_free(p);
}

static void
test_mem_regions_add_up(void **state)
{
	struct mem_stats	 before, after;
	uint8_t			*extra;

	(void)state;
	mem_stats_get(&before);
	extra = aligned_alloc(4096, 65536);
	assert_non_null(extra);
	/* Unaligned edges are trimmed; tiny pieces ignored. */
	mem_add(extra + 3, 65536 - 3);
	mem_add(extra, 3);
	mem_stats_get(&after);
	assert_int_equal(after.ms_total - before.ms_total, 65536 - 16);
	assert_int_equal(after.ms_free_blocks, before.ms_free_blocks + 1);
	/* extra is now heap for good, like RAM in the guest. */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_alloc_is_aligned_and_disjoint),
		cmocka_unit_test(test_mem_freed_neighbours_merge_back),
		cmocka_unit_test(test_mem_exhaustion_returns_null),
		cmocka_unit_test(test_mem_zero_and_null),
		cmocka_unit_test(test_mem_double_free_is_caught),
		cmocka_unit_test(test_mem_wild_free_is_caught),
		cmocka_unit_test(test_mem_regions_add_up),
	};

	if (setup_region(4 << 20) == -1)
		return 1;
	mem_add(region, 4 << 20);
	return cmocka_run_group_tests_name("guest_mem", tests, NULL, NULL);
}
