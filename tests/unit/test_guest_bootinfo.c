/*
 * tests/unit/test_guest_bootinfo.c: reading the Linux zero page and the
 * PVH start info (guest/bootinfo.c, compiled for the host) from a fake
 * guest-physical memory: the command line, the RAM map sorted and merged,
 * and loaders that lie (counts past the table, wrap-around, strings and
 * tables out of memory, bad magic).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "guest/bootinfo.h"

#define PHYS_SIZE	(64 * 1024)

static uint8_t	 phys[PHYS_SIZE];
static struct bootinfo bi;

static const void *
fake_phys(void *arg, uint64_t pa, size_t len)
{
	(void)arg;
	if (pa > PHYS_SIZE || len > PHYS_SIZE - pa)
		return NULL;
	return phys + pa;
}

static void
put32(uint64_t pa, uint32_t v)
{
	memcpy(phys + pa, &v, 4);
}

static void
put64(uint64_t pa, uint64_t v)
{
	memcpy(phys + pa, &v, 8);
}

#define ZP		0x7000
#define CMDLINE		0x2000

static void
e820(unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	uint64_t	 e = ZP + 0x2d0 + (uint64_t)i * 20;

	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
}

static void
zero_page(const char *cmdline, unsigned nentries)
{
	memset(phys, 0, sizeof(phys));
	strcpy((char *)phys + CMDLINE, cmdline);
	put32(ZP + 0x228, CMDLINE);
	phys[ZP + 0x1e8] = (uint8_t)nentries;
}

static void
test_bootinfo_linux_cmdline_and_e820(void **state)
{
	(void)state;
	zero_page("console=ttyS0 corral.id=a", 4);
	e820(0, 0, 0x9fc00, 1);
	e820(1, 0x9fc00, 0x400, 2);		/* reserved: skipped */
	e820(2, 0x100000, 0x7f00000, 1);
	e820(3, 0xf0000, 0x10000, 2);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_string_equal(bi.bi_cmdline, "console=ttyS0 corral.id=a");
	assert_int_equal(bi.bi_nram, 2);
	assert_int_equal(bi.bi_ram[0].br_addr, 0);
	assert_int_equal(bi.bi_ram[0].br_size, 0x9fc00);
	assert_int_equal(bi.bi_ram[1].br_addr, 0x100000);
	assert_int_equal(bi.bi_ram[1].br_size, 0x7f00000);
	assert_int_equal(bi.bi_ignored, 0);
}

static void
test_bootinfo_ram_is_sorted_and_merged(void **state)
{
	(void)state;
	zero_page("", 5);
	e820(0, 0x300000, 0x100000, 1);
	e820(1, 0x100000, 0x100000, 1);
	e820(2, 0x200000, 0x100000, 1);		/* touches both: one range */
	e820(3, 0x380000, 0x100000, 1);		/* overlaps */
	e820(4, 0x1000, 0x1000, 1);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, 2);
	assert_int_equal(bi.bi_ram[0].br_addr, 0x1000);
	assert_int_equal(bi.bi_ram[1].br_addr, 0x100000);
	assert_int_equal(bi.bi_ram[1].br_size, 0x380000);
}

static void
test_bootinfo_linux_rejects_nonsense(void **state)
{
	(void)state;
	/* 200 entries claimed, the table holds 128. */
	zero_page("x", 200);
	e820(0, 0x100000, 0x1000, 1);
	e820(1, UINT64_MAX - 0xfff, 0x2000, 1);	/* wraps */
	e820(2, 0x200000, 0, 1);			/* empty */
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, 1);
	assert_int_equal(bi.bi_ignored, 200 - 128 + 2);
	/* Command line out of memory: empty, not a crash. */
	zero_page("", 0);
	put32(ZP + 0x228, 0xfffff000);
	put32(ZP + 0x0c8, 0xffffffff);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_string_equal(bi.bi_cmdline, "");
	/* The zero page itself out of memory. */
	assert_int_equal(bootinfo_from_linux(&bi, PHYS_SIZE - 100, fake_phys,
	    NULL), -1);
	assert_int_equal(bi.bi_nram, 0);
}

static void
test_bootinfo_cmdline_is_bounded(void **state)
{
	(void)state;
	zero_page("", 0);
	/* Unterminated up to the end of memory. */
	memset(phys + PHYS_SIZE - 100, 'a', 100);
	put32(ZP + 0x228, PHYS_SIZE - 100);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(strlen(bi.bi_cmdline), 100);
	/* cmdline_size caps it. */
	put32(ZP + 0x238, 10);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(strlen(bi.bi_cmdline), 10);
	/* Longer than we keep: cut at BOOTINFO_CMDLINE_MAX - 1. */
	zero_page("", 0);
	memset(phys + 0x4000, 'b', 5000);
	put32(ZP + 0x228, 0x4000);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(strlen(bi.bi_cmdline), BOOTINFO_CMDLINE_MAX - 1);
}

#define SI		0x1000
#define MEMMAP		0x1800

static void
start_info(uint32_t magic, uint32_t version, uint32_t nmap)
{
	memset(phys, 0, sizeof(phys));
	put32(SI, magic);
	put32(SI + 4, version);
	strcpy((char *)phys + CMDLINE, "corral.selftest=1");
	put64(SI + 24, CMDLINE);
	put64(SI + 40, MEMMAP);
	put32(SI + 48, nmap);
}

static void
memmap(unsigned i, uint64_t addr, uint64_t size, uint32_t type)
{
	put64(MEMMAP + i * 24, addr);
	put64(MEMMAP + i * 24 + 8, size);
	put32(MEMMAP + i * 24 + 16, type);
}

static void
test_bootinfo_pvh(void **state)
{
	(void)state;
	start_info(BOOTINFO_PVH_MAGIC, 1, 3);
	memmap(0, 0, 0xa0000, 1);
	memmap(1, 0xfeffc000, 0x4000, 2);
	memmap(2, 0x100000, 0x7f00000, 1);
	assert_int_equal(bootinfo_from_pvh(&bi, SI, fake_phys, NULL), 0);
	assert_string_equal(bi.bi_cmdline, "corral.selftest=1");
	assert_int_equal(bi.bi_nram, 2);
	assert_int_equal(bi.bi_ram[1].br_addr, 0x100000);
	/* Version 0 has no memory map: the command line still counts. */
	start_info(BOOTINFO_PVH_MAGIC, 0, 3);
	assert_int_equal(bootinfo_from_pvh(&bi, SI, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, 0);
	assert_string_equal(bi.bi_cmdline, "corral.selftest=1");
}

static void
test_bootinfo_pvh_rejects_nonsense(void **state)
{
	(void)state;
	start_info(0x12345678, 1, 1);
	assert_int_equal(bootinfo_from_pvh(&bi, SI, fake_phys, NULL), -1);
	assert_string_equal(bi.bi_cmdline, "");
	/* A map that runs off the end of memory stops there. */
	start_info(BOOTINFO_PVH_MAGIC, 1, 100000);
	memmap(0, 0x100000, 0x1000, 1);
	assert_int_equal(bootinfo_from_pvh(&bi, SI, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, 1);
	assert_true(bi.bi_ignored > 0);
	/* A map address that wraps. */
	start_info(BOOTINFO_PVH_MAGIC, 1, 2);
	put64(SI + 40, UINT64_MAX - 10);
	assert_int_equal(bootinfo_from_pvh(&bi, SI, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, 0);
	assert_int_equal(bi.bi_ignored, 2);
}

static void
test_bootinfo_many_ranges_are_capped(void **state)
{
	unsigned	 i;

	(void)state;
	zero_page("", 100);
	for (i = 0; i < 100; i++)
		e820(i, 0x100000 + (uint64_t)i * 0x2000, 0x1000, 1);
	assert_int_equal(bootinfo_from_linux(&bi, ZP, fake_phys, NULL), 0);
	assert_int_equal(bi.bi_nram, BOOTINFO_RAM_MAX);
	assert_int_equal(bi.bi_ignored, 100 - BOOTINFO_RAM_MAX);
	for (i = 1; i < bi.bi_nram; i++)
		assert_true(bi.bi_ram[i - 1].br_addr < bi.bi_ram[i].br_addr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bootinfo_linux_cmdline_and_e820),
		cmocka_unit_test(test_bootinfo_ram_is_sorted_and_merged),
		cmocka_unit_test(test_bootinfo_linux_rejects_nonsense),
		cmocka_unit_test(test_bootinfo_cmdline_is_bounded),
		cmocka_unit_test(test_bootinfo_pvh),
		cmocka_unit_test(test_bootinfo_pvh_rejects_nonsense),
		cmocka_unit_test(test_bootinfo_many_ranges_are_capped),
	};

	return cmocka_run_group_tests_name("guest_bootinfo", tests, NULL,
	    NULL);
}
