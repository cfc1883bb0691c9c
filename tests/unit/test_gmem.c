/*
 * tests/unit/test_gmem.c: guest RAM bounds.  Every (gpa, len) a guest can
 * name, including ones whose sum wraps, straddles a region edge or falls
 * in the MMIO hole, is either wholly inside one region or refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/gmem.h"

#define MIB	(1ULL << 20)
#define G4	(1ULL << 32)
#define HOLE	0xc0000000ULL

static void
test_gmem_new_refuses_bad_geometry(void **state)
{
	static const struct { uint64_t size, hole; } cases[] = {
		{ 0, HOLE }, { 4097, HOLE }, { MIB, 0 }, { MIB, G4 + 4096 },
		{ MIB, HOLE + 1 },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		assert_null(gmem_new(cases[i].size, cases[i].hole));
		assert_int_equal(errno, EINVAL);
	}
}

static void
test_gmem_splits_at_the_hole(void **state)
{
	const struct gmem_region	*r;
	struct gmem			*gm;

	(void)state;
	gm = gmem_new(HOLE, HOLE);		/* exactly up to the hole */
	assert_non_null(gm);
	assert_int_equal(gmem_nregions(gm), 1);
	assert_int_equal(gmem_size(gm), HOLE);
	gmem_free(gm);

	gm = gmem_new(HOLE + 2 * MIB, HOLE);
	assert_non_null(gm);
	assert_int_equal(gmem_nregions(gm), 2);
	assert_int_equal(gmem_size(gm), HOLE + 2 * MIB);
	r = gmem_region(gm, 0);
	assert_int_equal(r->gr_gpa, 0);
	assert_int_equal(r->gr_size, HOLE);
	r = gmem_region(gm, 1);
	assert_int_equal(r->gr_gpa, G4);
	assert_int_equal(r->gr_size, 2 * MIB);
	gmem_free(gm);
	gmem_free(NULL);
}

static void
test_gmem_ptr_bounds(void **state)
{
	static const struct {
		uint64_t	 gpa, len;
		int		 ok;
	} cases[] = {
		{ 0, 0, 1 },
		{ 0, HOLE, 1 },
		{ 0, HOLE + 1, 0 },
		{ HOLE - 1, 1, 1 },
		{ HOLE - 1, 2, 0 },		/* into the hole */
		{ HOLE, 0, 1 },			/* the end, empty */
		{ HOLE, 1, 0 },
		{ 0xd0000000, 4, 0 },		/* MMIO */
		{ G4 - 1, 2, 0 },		/* straddles into high RAM */
		{ G4, 1, 1 },
		{ G4, 2 * MIB, 1 },
		{ G4 + 2 * MIB - 8, 8, 1 },
		{ G4 + 2 * MIB - 8, 9, 0 },
		{ G4 + 2 * MIB, 1, 0 },
		{ ~0ULL, 1, 0 },
		{ ~0ULL - 1, 4, 0 },		/* gpa + len wraps */
		{ 16, ~0ULL, 0 },		/* len wraps */
		{ G4 + 16, ~0ULL - 8, 0 },
	};
	struct gmem	*gm;
	uint8_t		*base0, *base1, *p;
	size_t		 i;

	(void)state;
	gm = gmem_new(HOLE + 2 * MIB, HOLE);
	assert_non_null(gm);
	base0 = gmem_region(gm, 0)->gr_host;
	base1 = gmem_region(gm, 1)->gr_host;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = gmem_ptr(gm, cases[i].gpa, cases[i].len);
		if (!cases[i].ok) {
			if (p != NULL)
				fail_msg("case %zu: 0x%llx+0x%llx accepted", i,
				    (unsigned long long)cases[i].gpa,
				    (unsigned long long)cases[i].len);
			continue;
		}
		if (p == NULL)
			fail_msg("case %zu: 0x%llx+0x%llx refused", i,
			    (unsigned long long)cases[i].gpa,
			    (unsigned long long)cases[i].len);
		if (cases[i].gpa >= G4)
			assert_ptr_equal(p, base1 + (cases[i].gpa - G4));
		else
			assert_ptr_equal(p, base0 + cases[i].gpa);
	}
	gmem_free(gm);
}

static void
test_gmem_copies_are_bounded(void **state)
{
	struct gmem	*gm;
	uint8_t		 in[16], out[16];

	(void)state;
	gm = gmem_new(HOLE + MIB, HOLE);
	assert_non_null(gm);
	memcpy(in, "0123456789abcdef", 16);
	assert_int_equal(gmem_write(gm, G4 + 100, in, 16), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(gmem_read(gm, G4 + 100, out, 16), 0);
	assert_memory_equal(in, out, 16);
	errno = 0;
	memset(out, 'z', sizeof(out));
	assert_int_equal(gmem_read(gm, HOLE - 8, out, 16), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(out[0], 'z');		/* nothing copied */
	errno = 0;
	assert_int_equal(gmem_write(gm, G4 + MIB - 15, in, 16), -1);
	assert_int_equal(errno, EFAULT);
	gmem_free(gm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gmem_new_refuses_bad_geometry),
		cmocka_unit_test(test_gmem_splits_at_the_hole),
		cmocka_unit_test(test_gmem_ptr_bounds),
		cmocka_unit_test(test_gmem_copies_are_bounded),
	};

	return cmocka_run_group_tests_name("gmem", tests, NULL, NULL);
}
