/*
 * tests/unit/test_bus.c: the device address map: overlapping and invalid
 * registrations are refused, accesses reach the device that holds all of
 * them with the right offset, and everything else reads as all ones and
 * is dropped on write.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/bus.h"

struct fake {
	uint64_t	 last_off;
	uint32_t	 last_len;
	uint8_t		 last_data[8];
	unsigned	 nreads, nwrites;
	uint8_t		 fill;
};

static void
fake_read(void *arg, uint64_t off, void *data, uint32_t len)
{
	struct fake	*f = arg;

	f->nreads++;
	f->last_off = off;
	f->last_len = len;
	memset(data, f->fill, len);
}

static void
fake_write(void *arg, uint64_t off, const void *data, uint32_t len)
{
	struct fake	*f = arg;

	f->nwrites++;
	f->last_off = off;
	f->last_len = len;
	memcpy(f->last_data, data, len);
}

static const struct bus_ops	fake_ops = { fake_read, fake_write };
static const struct bus_ops	wo_ops = { NULL, fake_write };

static void
test_bus_register_refuses_overlap_and_nonsense(void **state)
{
	static const struct {
		enum bus_space	 space;
		uint64_t	 base, len;
		int		 err;		/* 0: accepted */
	} cases[] = {
		{ BUS_PIO, 0x3f8, 8, 0 },
		{ BUS_PIO, 0x3f8, 8, EEXIST },
		{ BUS_PIO, 0x3f0, 9, EEXIST },		/* last byte overlaps */
		{ BUS_PIO, 0x3ff, 1, EEXIST },
		{ BUS_PIO, 0x3f0, 8, 0 },		/* adjacent below */
		{ BUS_PIO, 0x400, 1, 0 },		/* adjacent above */
		{ BUS_MMIO, 0x3f8, 8, 0 },		/* other space */
		{ BUS_MMIO, 0x1000, 0, EINVAL },
		{ BUS_MMIO, ~0ULL - 1, 4, EINVAL },	/* wraps */
	};
	struct fake	 f;
	struct bus	*b;
	size_t		 i;
	int		 rc;

	(void)state;
	b = bus_new();
	assert_non_null(b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		rc = bus_register(b, cases[i].space, cases[i].base,
		    cases[i].len, &fake_ops, &f);
		if (cases[i].err == 0)
			assert_int_equal(rc, 0);
		else {
			assert_int_equal(rc, -1);
			assert_int_equal(errno, cases[i].err);
		}
	}
	errno = 0;
	assert_int_equal(bus_register(b, BUS_MMIO, 0x9000, 4, NULL, &f), -1);
	assert_int_equal(errno, EINVAL);
	bus_free(b);
	bus_free(NULL);
}

static void
test_bus_register_table_is_bounded(void **state)
{
	struct fake	 f;
	struct bus	*b;
	unsigned	 i;

	(void)state;
	b = bus_new();
	assert_non_null(b);
	for (i = 0; ; i++) {
		if (bus_register(b, BUS_MMIO, 0x10000 + i * 16, 16, &fake_ops,
		    &f) == -1)
			break;
		assert_true(i < 1000);
	}
	assert_int_equal(errno, ENOSPC);
	assert_true(i >= 16);
	bus_free(b);
}

static void
test_bus_dispatches_inside_ranges_only(void **state)
{
	struct fake	 a, w;
	struct bus	*b;
	uint8_t		 data[8];
	uint32_t	 v32 = 0x11223344;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&w, 0, sizeof(w));
	a.fill = 0x5a;
	b = bus_new();
	assert_non_null(b);
	assert_int_equal(bus_register(b, BUS_MMIO, 0xd0000000, 0x1000,
	    &fake_ops, &a), 0);
	assert_int_equal(bus_register(b, BUS_PIO, 0x501, 1, &wo_ops, &w), 0);

	assert_int_equal(bus_read(b, BUS_MMIO, 0xd0000070, data, 4), 0);
	assert_int_equal(a.last_off, 0x70);
	assert_int_equal(a.last_len, 4);
	assert_int_equal(data[0], 0x5a);
	assert_int_equal(bus_write(b, BUS_MMIO, 0xd0000ffc, &v32, 4), 0);
	assert_int_equal(a.last_off, 0xffc);
	assert_memory_equal(a.last_data, &v32, 4);

	/* Straddling the end, or the right address in the wrong space. */
	memset(data, 0, sizeof(data));
	assert_int_equal(bus_read(b, BUS_MMIO, 0xd0000ffe, data, 4), -1);
	assert_int_equal(data[0] & data[1] & data[2] & data[3], 0xff);
	assert_int_equal(bus_read(b, BUS_PIO, 0xd0000000, data, 1), -1);
	assert_int_equal(bus_write(b, BUS_MMIO, 0xd0001000, &v32, 4), -1);
	assert_int_equal(a.nreads, 1);
	assert_int_equal(a.nwrites, 1);

	/* A write-only device reads as nothing there. */
	memset(data, 0, sizeof(data));
	assert_int_equal(bus_read(b, BUS_PIO, 0x501, data, 1), -1);
	assert_int_equal(data[0], 0xff);
	data[0] = 7;
	assert_int_equal(bus_write(b, BUS_PIO, 0x501, data, 1), 0);
	assert_int_equal(w.last_data[0], 7);
	assert_int_equal(bus_write(b, BUS_PIO, 0x501, data, 2), -1);
	bus_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bus_register_refuses_overlap_and_nonsense),
		cmocka_unit_test(test_bus_register_table_is_bounded),
		cmocka_unit_test(test_bus_dispatches_inside_ranges_only),
	};

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
