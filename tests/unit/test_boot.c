/*
 * tests/unit/test_boot.c: the boot structures in a real gmem: the
 * command line, the zero page (offsets and values read back as raw bytes
 * at the offsets boot.rst gives, not through our struct), the e820 map
 * with and without RAM above 4 GiB, the page tables, the GDT and the
 * initial registers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/kvm.h>

#include <errno.h>
#include <string.h>

#include "vmm/boot.h"
#include "vmm/gmem.h"
#include "vmm/loader.h"

#define MIB	(1ULL << 20)
#define HOLE	0xc0000000ULL

static uint64_t
rd(const uint8_t *p, unsigned off, unsigned size)
{
	uint64_t	 v = 0;
	unsigned	 i;

	for (i = 0; i < size; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}

static void
test_boot_cmdline_joins_and_limits(void **state)
{
	static const struct {
		const char	*vmm, *user;
		size_t		 max;
		const char	*want;		/* NULL: E2BIG */
	} cases[] = {
		{ NULL, NULL, 10, "" },
		{ "a=1", NULL, 10, "a=1" },
		{ NULL, "b", 10, "b" },
		{ "", "b", 10, "b" },
		{ "a=1", "b=2", 10, "a=1 b=2" },
		{ "a=1", "b=2", 7, "a=1 b=2" },
		{ "a=1", "b=2", 6, NULL },
		{ "0123456789", NULL, 9, NULL },
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		errno = 0;
		if (cases[i].want == NULL) {
			assert_int_equal(boot_cmdline(cases[i].vmm,
			    cases[i].user, cases[i].max, out, sizeof(out)), -1);
			assert_int_equal(errno, E2BIG);
			continue;
		}
		assert_int_equal(boot_cmdline(cases[i].vmm, cases[i].user,
		    cases[i].max, out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
	/* The output buffer bounds it too. */
	assert_int_equal(boot_cmdline("abcdef", NULL, 100, out, 6), -1);
}

static void
test_boot_e820_low_ram_only(void **state)
{
	struct boot_params	 bp;
	struct gmem		*gm;

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	memset(&bp, 0, sizeof(bp));
	boot_e820(gm, &bp);
	assert_int_equal(bp.bp_e820_entries, 3);
	assert_int_equal(bp.bp_e820[0].be_addr, 0);
	assert_int_equal(bp.bp_e820[0].be_size, 0x9fc00);
	assert_int_equal(bp.bp_e820[0].be_type, BOOT_E820_RAM);
	assert_int_equal(bp.bp_e820[1].be_addr, 0x9fc00);
	assert_int_equal(bp.bp_e820[1].be_size, 0x100000 - 0x9fc00);
	assert_int_equal(bp.bp_e820[1].be_type, BOOT_E820_RESERVED);
	assert_int_equal(bp.bp_e820[2].be_addr, 0x100000);
	assert_int_equal(bp.bp_e820[2].be_size, 127 * MIB);
	assert_int_equal(bp.bp_e820[2].be_type, BOOT_E820_RAM);
	gmem_free(gm);
}

static void
test_boot_e820_splits_around_the_hole(void **state)
{
	struct boot_params	 bp;
	struct gmem		*gm;

	(void)state;
	gm = gmem_new(5ULL << 30, HOLE);
	assert_non_null(gm);
	memset(&bp, 0, sizeof(bp));
	boot_e820(gm, &bp);
	assert_int_equal(bp.bp_e820_entries, 4);
	assert_int_equal(bp.bp_e820[2].be_addr, 0x100000);
	assert_int_equal(bp.bp_e820[2].be_size, HOLE - 0x100000);
	assert_int_equal(bp.bp_e820[3].be_addr, 1ULL << 32);
	assert_int_equal(bp.bp_e820[3].be_size, (5ULL << 30) - HOLE);
	assert_int_equal(bp.bp_e820[3].be_type, BOOT_E820_RAM);
	gmem_free(gm);
}

static void
test_boot_zero_page_for_elf(void **state)
{
	struct loader_kernel	 lk;
	struct gmem		*gm;
	const uint8_t		*zp;
	const char		*cl;

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	memset(&lk, 0, sizeof(lk));
	lk.lk_kind = LOADER_ELF;
	lk.lk_cmdline_max = 2047;
	assert_int_equal(boot_zero_page(gm, &lk, "console=ttyS0 x=1",
	    100 * MIB, 4096), 0);
	zp = gmem_ptr(gm, BOOT_ZERO_PAGE, 4096);
	assert_non_null(zp);
	assert_int_equal(rd(zp, 0x1fe, 2), 0xaa55);		/* boot_flag */
	assert_int_equal(rd(zp, 0x202, 4), 0x53726448);		/* HdrS */
	assert_int_equal(rd(zp, 0x210, 1), 0xff);	/* type_of_loader */
	assert_int_equal(rd(zp, 0x211, 1) & 0x01, 0x01);	/* LOADED_HIGH */
	assert_int_equal(rd(zp, 0x218, 4), 100 * MIB);	/* ramdisk_image */
	assert_int_equal(rd(zp, 0x21c, 4), 4096);	/* ramdisk_size */
	assert_int_equal(rd(zp, 0x228, 4), BOOT_CMDLINE);	/* cmd_line_ptr */
	assert_int_equal(rd(zp, 0x0c8, 4), 0);		/* ext_cmd_line_ptr */
	assert_int_equal(rd(zp, 0x0c0, 4), 0);		/* ext_ramdisk_image */
	assert_int_equal(rd(zp, 0x1e8, 1), 3);		/* e820_entries */
	assert_int_equal(rd(zp, 0x2d0 + 2 * 20, 8), 0x100000);
	assert_int_equal(rd(zp, 0x2d0 + 2 * 20 + 8, 8), 127 * MIB);
	assert_int_equal(rd(zp, 0x2d0 + 2 * 20 + 16, 4), 1);
	assert_int_equal(rd(zp, 0x1ef, 1), 0);		/* sentinel */
	cl = gmem_ptr(gm, BOOT_CMDLINE, 32);
	assert_non_null(cl);
	assert_string_equal(cl, "console=ttyS0 x=1");
	gmem_free(gm);
}

static void
test_boot_zero_page_copies_the_bzimage_header(void **state)
{
	struct loader_kernel	 lk;
	struct gmem		*gm;
	const uint8_t		*zp;
	unsigned		 i;

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	memset(&lk, 0, sizeof(lk));
	lk.lk_kind = LOADER_BZIMAGE;
	lk.lk_cmdline_max = 255;
	lk.lk_hdrlen = 0x26c - 0x1f1;
	for (i = 0; i < lk.lk_hdrlen; i++)
		lk.lk_hdr[i] = (uint8_t)(i + 1);
	/* Fields the loader must override are in the copied range too. */
	assert_int_equal(boot_zero_page(gm, &lk, "root=/dev/vda", 0, 0), 0);
	zp = gmem_ptr(gm, BOOT_ZERO_PAGE, 4096);
	assert_non_null(zp);
	assert_int_equal(zp[0x1f1], 1);			/* setup_sects copied */
	assert_int_equal(zp[0x206], 0x206 - 0x1f1 + 1);	/* version copied */
	assert_int_equal(zp[0x230], 0x230 - 0x1f1 + 1);	/* alignment copied */
	assert_int_equal(zp[0x210], 0xff);		/* type_of_loader set */
	assert_int_equal(zp[0x211] & 0x81, 0x81);	/* HEAP | LOADED_HIGH */
	assert_int_equal(rd(zp, 0x224, 2), 0xfe00);	/* heap_end_ptr */
	assert_int_equal(rd(zp, 0x228, 4), BOOT_CMDLINE);
	assert_int_equal(rd(zp, 0x218, 4), 0);		/* no ramdisk */
	assert_int_equal(rd(zp, 0x21c, 4), 0);
	assert_int_equal(zp[0x26c], 0);			/* past the header */

	/* The kernel's cmdline_size limit applies. */
	char	 longer[300];
	memset(longer, 'x', 256);
	longer[256] = '\0';
	errno = 0;
	assert_int_equal(boot_zero_page(gm, &lk, longer, 0, 0), -1);
	assert_int_equal(errno, E2BIG);
	longer[255] = '\0';
	assert_int_equal(boot_zero_page(gm, &lk, longer, 0, 0), 0);
	gmem_free(gm);
}

static void
test_boot_page_tables_identity_map_4g(void **state)
{
	struct gmem	*gm;
	const uint64_t	*pml4, *pdpt, *pd;
	uint64_t	 va;
	unsigned	 i;

	(void)state;
	gm = gmem_new(16 * MIB, HOLE);
	assert_non_null(gm);
	assert_int_equal(boot_page_tables(gm), 0);
	pml4 = gmem_ptr(gm, BOOT_PML4, 4096);
	pdpt = gmem_ptr(gm, BOOT_PDPT, 4096);
	assert_int_equal(pml4[0], BOOT_PDPT | 3);
	for (i = 1; i < 512; i++)
		assert_int_equal(pml4[i], 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pdpt[i], (BOOT_PD + i * 4096) | 3);
	assert_int_equal(pdpt[4], 0);
	/* Walk a few addresses through the tables: each maps to itself. */
	static const uint64_t addrs[] = { 0, 0x7000, 0x100000, 0x3fffffff,
	    0xd0000000, 0xfec00000, 0xfee00000, 0xffffffff };
	for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		va = addrs[i];
		assert_int_equal(pml4[va >> 39] & 1, 1);
		assert_int_equal(pdpt[(va >> 30) & 511] & ~0xfffULL,
		    BOOT_PD + ((va >> 30) & 3) * 4096);
		pd = gmem_ptr(gm, pdpt[(va >> 30) & 511] & ~0xfffULL, 4096);
		assert_non_null(pd);
		assert_int_equal(pd[(va >> 21) & 511] & 0x83, 0x83);
		assert_int_equal((pd[(va >> 21) & 511] & ~0x1fffffULL) |
		    (va & 0x1fffff), va);
	}
	gmem_free(gm);
}

static void
test_boot_gdt_has_flat_code_and_data(void **state)
{
	struct gmem	*gm;
	const uint64_t	*gdt, *idt;

	(void)state;
	/* Known encodings (Firecracker's gdt tests, Linux's GDT_ENTRY). */
	assert_int_equal(boot_gdt_entry(0xa09b, 0, 0xfffff),
	    0x00af9b000000ffffULL);
	assert_int_equal(boot_gdt_entry(0xc093, 0, 0xfffff),
	    0x00cf93000000ffffULL);
	assert_int_equal(boot_gdt_entry(0x0089, 0x12345678, 0x67),
	    0x1200893456780067ULL);
	gm = gmem_new(16 * MIB, HOLE);
	assert_non_null(gm);
	assert_int_equal(boot_gdt(gm), 0);
	gdt = gmem_ptr(gm, BOOT_GDT_ADDR, BOOT_GDT_ENTRIES * 8);
	assert_non_null(gdt);
	assert_int_equal(gdt[0], 0);
	assert_int_equal(gdt[1], 0);
	assert_int_equal(gdt[BOOT_SEL_CODE / 8], 0x00af9b000000ffffULL);
	assert_int_equal(gdt[BOOT_SEL_DATA / 8], 0x00cf93000000ffffULL);
	assert_int_equal(gdt[BOOT_SEL_TSS / 8], 0x0000890000000067ULL);
	assert_int_equal(gdt[BOOT_SEL_TSS / 8 + 1], 0);
	idt = gmem_ptr(gm, BOOT_IDT_ADDR, 8);
	assert_int_equal(*idt, 0);
	/* Nothing overlaps: GDT, IDT, zero page, stack, tables, cmdline. */
	assert_true(BOOT_GDT_ADDR + BOOT_GDT_ENTRIES * 8 <= BOOT_IDT_ADDR);
	assert_true(BOOT_IDT_ADDR + 8 <= BOOT_ZERO_PAGE);
	assert_true(BOOT_ZERO_PAGE + 4096 <= BOOT_STACK_TOP - 0xff0);
	assert_true(BOOT_STACK_TOP < BOOT_PML4);
	assert_true(BOOT_PD + 4 * 4096 <= BOOT_CMDLINE);
	assert_true(BOOT_CMDLINE + BOOT_CMDLINE_LIMIT <= BOOT_EBDA);
	gmem_free(gm);
}

static void
test_boot_regs_enter_long_mode(void **state)
{
	struct kvm_regs		 regs;
	struct kvm_sregs	 sregs;

	(void)state;
	memset(&sregs, 0xa5, sizeof(sregs));	/* fields we keep stay */
	boot_regs(0x1000200, &regs, &sregs);
	assert_int_equal(regs.rip, 0x1000200);
	assert_int_equal(regs.rsi, BOOT_ZERO_PAGE);
	assert_int_equal(regs.rflags, 0x2);		/* IF clear */
	assert_int_equal(regs.rsp, BOOT_STACK_TOP);
	assert_int_equal(sregs.cr0 & 0x80000001ULL, 0x80000001ULL);
	assert_int_equal(sregs.cr3, BOOT_PML4);
	assert_int_equal(sregs.cr4 & 0x20, 0x20);	/* PAE */
	assert_int_equal(sregs.efer & 0x500, 0x500);	/* LME | LMA */
	assert_int_equal(sregs.cs.selector, BOOT_SEL_CODE);
	assert_int_equal(sregs.cs.l, 1);
	assert_int_equal(sregs.cs.db, 0);
	assert_int_equal(sregs.cs.type, 0xb);
	assert_int_equal(sregs.cs.present, 1);
	assert_int_equal(sregs.cs.s, 1);
	assert_int_equal(sregs.cs.g, 1);
	assert_int_equal(sregs.cs.limit, 0xffffffff);
	assert_int_equal(sregs.cs.base, 0);
	assert_int_equal(sregs.ds.selector, BOOT_SEL_DATA);
	assert_int_equal(sregs.ss.selector, BOOT_SEL_DATA);
	assert_int_equal(sregs.es.type, 0x3);
	assert_int_equal(sregs.fs.db, 1);
	assert_int_equal(sregs.gs.present, 1);
	assert_int_equal(sregs.tr.selector, BOOT_SEL_TSS);
	assert_int_equal(sregs.tr.type, 0xb);		/* busy 64-bit TSS */
	assert_int_equal(sregs.tr.s, 0);
	assert_int_equal(sregs.tr.present, 1);
	assert_int_equal(sregs.gdt.base, BOOT_GDT_ADDR);
	assert_int_equal(sregs.gdt.limit, BOOT_GDT_ENTRIES * 8 - 1);
	assert_int_equal(sregs.idt.base, BOOT_IDT_ADDR);
	assert_int_equal(sregs.idt.limit, 7);
	/* The LDT is left as KVM reset it. */
	assert_int_equal(sregs.ldt.base, 0xa5a5a5a5a5a5a5a5ULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boot_cmdline_joins_and_limits),
		cmocka_unit_test(test_boot_e820_low_ram_only),
		cmocka_unit_test(test_boot_e820_splits_around_the_hole),
		cmocka_unit_test(test_boot_zero_page_for_elf),
		cmocka_unit_test(test_boot_zero_page_copies_the_bzimage_header),
		cmocka_unit_test(test_boot_page_tables_identity_map_4g),
		cmocka_unit_test(test_boot_gdt_has_flat_code_and_data),
		cmocka_unit_test(test_boot_regs_enter_long_mode),
	};

	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
