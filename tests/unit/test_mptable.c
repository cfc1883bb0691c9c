/*
 * tests/unit/test_mptable.c: the MP table as a guest reads it: the
 * floating pointer found by signature, both checksums, the entry count
 * and every entry walked by type (Intel MP spec 1.4, chapter 4).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/gmem.h"
#include "vmm/mptable.h"

#define MIB	(1ULL << 20)

static uint8_t
sum8(const uint8_t *p, size_t len)
{
	uint8_t	 s = 0;

	while (len--)
		s += *p++;
	return s;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
check_table(struct gmem *gm, unsigned ncpus)
{
	const uint8_t	*mf, *mc, *e, *end;
	unsigned	 cpus = 0, buses = 0, ioapics = 0, ints = 0, lints = 0;
	unsigned	 count, n = 0;
	uint16_t	 len;

	mf = gmem_ptr(gm, BOOT_EBDA, 16);
	assert_non_null(mf);
	assert_memory_equal(mf, "_MP_", 4);
	assert_int_equal(mf[8], 1);			/* 16 bytes */
	assert_int_equal(mf[9], 4);			/* spec 1.4 */
	assert_int_equal(sum8(mf, 16), 0);
	assert_int_equal(mf[11], 0);			/* feature 1: table */
	assert_int_equal(rd32(mf + 4), BOOT_EBDA + 16);
	mc = gmem_ptr(gm, rd32(mf + 4), 44);
	assert_non_null(mc);
	assert_memory_equal(mc, "PCMP", 4);
	len = (uint16_t)(mc[4] | mc[5] << 8);
	assert_int_equal(len, mptable_size(ncpus) - 16);
	mc = gmem_ptr(gm, rd32(mf + 4), len);
	assert_int_equal(sum8(mc, len), 0);
	assert_int_equal(mc[6], 4);
	assert_int_equal(rd32(mc + 36), MPTABLE_LAPIC_ADDR);
	count = (unsigned)(mc[34] | mc[35] << 8);
	e = mc + 44;
	end = mc + len;
	while (e < end) {
		n++;
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);		/* APIC id */
			assert_int_equal(e[3] & 1, 1);		/* enabled */
			assert_int_equal(e[3] & 2, cpus == 0 ? 2 : 0);
			cpus++;
			e += 20;
			break;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			buses++;
			e += 8;
			break;
		case 2:
			assert_int_equal(e[1], ncpus);	/* after the CPUs */
			assert_int_equal(e[3] & 1, 1);
			assert_int_equal(rd32(e + 4), MPTABLE_IOAPIC_ADDR);
			ioapics++;
			e += 8;
			break;
		case 3:
			assert_int_equal(e[1], 0);		/* mp_INT */
			assert_int_equal(e[4], 0);		/* ISA bus */
			assert_int_equal(e[5], ints);		/* IRQ n ... */
			assert_int_equal(e[6], ncpus);		/* IOAPIC */
			assert_int_equal(e[7], ints);		/* ... pin n */
			ints++;
			e += 8;
			break;
		case 4:
			assert_int_equal(e[1], lints == 0 ? 3 : 1);
			assert_int_equal(e[7], lints);		/* LINT0, 1 */
			lints++;
			e += 8;
			break;
		default:
			fail_msg("entry type %u", e[0]);
		}
	}
	assert_ptr_equal(e, end);
	assert_int_equal(n, count);
	assert_int_equal(cpus, ncpus);
	assert_int_equal(buses, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(ints, MPTABLE_IRQS);	/* ISA 0-15, virtio 5.. */
	assert_int_equal(lints, 2);
}

static void
test_mptable_entries_and_checksums(void **state)
{
	static const unsigned	 ncpus[] = { 1, 2, 3, 8, MPTABLE_CPUS_MAX };
	struct gmem		*gm;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ncpus) / sizeof(ncpus[0]); i++) {
		gm = gmem_new(16 * MIB, 0xc0000000ULL);
		assert_non_null(gm);
		assert_int_equal(mptable_write(gm, BOOT_EBDA, ncpus[i]), 0);
		check_table(gm, ncpus[i]);
		gmem_free(gm);
	}
}

static void
test_mptable_fits_in_the_ebda(void **state)
{
	(void)state;
	/* Linux scans the last KiB below 640 KiB. */
	assert_true(BOOT_EBDA + mptable_size(MPTABLE_CPUS_MAX) <= 0xa0000);
}

static void
test_mptable_refuses_bad_counts_and_ram(void **state)
{
	struct gmem	*gm;

	(void)state;
	gm = gmem_new(2 * MIB, 0xc0000000ULL);
	assert_non_null(gm);
	errno = 0;
	assert_int_equal(mptable_write(gm, BOOT_EBDA, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mptable_write(gm, BOOT_EBDA, MPTABLE_CPUS_MAX + 1),
	    -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mptable_write(gm, 2 * MIB - 64, 1), -1);
	assert_int_equal(errno, EFAULT);
	gmem_free(gm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mptable_entries_and_checksums),
		cmocka_unit_test(test_mptable_fits_in_the_ebda),
		cmocka_unit_test(test_mptable_refuses_bad_counts_and_ram),
	};

	return cmocka_run_group_tests_name("mptable", tests, NULL, NULL);
}
