/*
 * tests/unit/test_loader.c: kernel image parsing.  Synthetic ELF64 and
 * bzImage images are built in memory, then corrupted one field at a time
 * (tables of cases); every corruption must be refused with its reason and
 * nothing may be read outside the buffer (run under SAN=1 too).  Also
 * loading into a real gmem and initrd placement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/gmem.h"
#include "vmm/loader.h"

#define MIB		(1ULL << 20)
#define IMG_MAX		(64 * 1024)
#define HOLE		0xc0000000ULL

struct img {
	uint8_t		 b[IMG_MAX];
	size_t		 len;
};

/* ---------------------------------------------------------------- ELF */

/* An ELF with two PT_LOAD segments (code at 1 MiB, bss-ish data). */
static void
elf_build(struct img *im)
{
	Elf64_Ehdr	*eh = (Elf64_Ehdr *)im->b;
	Elf64_Phdr	*ph = (Elf64_Phdr *)(im->b + sizeof(*eh));
	size_t		 i;

	memset(im, 0, sizeof(*im));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = MIB + 0x10;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	ph[0].p_type = PT_LOAD;
	ph[0].p_offset = 0x1000;
	ph[0].p_paddr = ph[0].p_vaddr = MIB;
	ph[0].p_filesz = 0x1000;
	ph[0].p_memsz = 0x1000;
	ph[1].p_type = PT_NOTE;		/* ignored */
	ph[1].p_offset = 0x3000;
	ph[1].p_filesz = 0x10;
	ph[2].p_type = PT_LOAD;
	ph[2].p_offset = 0x2000;
	ph[2].p_paddr = ph[2].p_vaddr = 2 * MIB;
	ph[2].p_filesz = 0x800;
	ph[2].p_memsz = 0x10000;	/* bss beyond the file bytes */
	for (i = 0x1000; i < 0x2800; i++)
		im->b[i] = (uint8_t)(i * 7);
	im->len = 0x3010;
}

static Elf64_Ehdr *
elf_eh(struct img *im)
{
	return (Elf64_Ehdr *)im->b;
}

static Elf64_Phdr *
elf_ph(struct img *im, int i)
{
	return (Elf64_Phdr *)(im->b + sizeof(Elf64_Ehdr)) + i;
}

static void m_none(struct img *im) { (void)im; }
static void m_truncated_ehdr(struct img *im) { im->len = 40; }
static void m_bad_magic(struct img *im) { im->b[1] = 'X'; }
static void m_class32(struct img *im) { im->b[EI_CLASS] = ELFCLASS32; }
static void m_big_endian(struct img *im) { im->b[EI_DATA] = ELFDATA2MSB; }
static void m_machine(struct img *im) { elf_eh(im)->e_machine = EM_386; }
static void m_dyn(struct img *im) { elf_eh(im)->e_type = ET_DYN; }
static void m_phentsize(struct img *im) { elf_eh(im)->e_phentsize = 32; }
static void m_phnum0(struct img *im) { elf_eh(im)->e_phnum = 0; }
static void m_phnum_huge(struct img *im) { elf_eh(im)->e_phnum = 65535; }
static void m_phoff_past_end(struct img *im) { elf_eh(im)->e_phoff = 0x3000; }
static void m_phoff_wraps(struct img *im) { elf_eh(im)->e_phoff = ~0ULL - 8; }
static void m_filesz_gt_memsz(struct img *im)
{ elf_ph(im, 2)->p_filesz = 0x20000; }
static void m_filesz_huge(struct img *im)
{ elf_ph(im, 0)->p_filesz = elf_ph(im, 0)->p_memsz = 1ULL << 40; }
static void m_offset_wraps(struct img *im)
{ elf_ph(im, 0)->p_offset = ~0ULL - 0x10; }
static void m_offset_past_end(struct img *im)
{ elf_ph(im, 2)->p_offset = 0x3000; }
static void m_truncated_segment(struct img *im) { im->len = 0x2400; }
static void m_below_1m(struct img *im)
{ elf_ph(im, 0)->p_paddr = 0x7000; elf_eh(im)->e_entry = 0x7010; }
static void m_past_ram(struct img *im)
{ elf_ph(im, 2)->p_paddr = 128 * MIB - 0x8000; }
static void m_paddr_wraps(struct img *im)
{ elf_ph(im, 2)->p_paddr = ~0ULL - 0xfff; }
static void m_in_hole(struct img *im)
{ elf_ph(im, 2)->p_paddr = HOLE; }
static void m_no_load(struct img *im)
{ elf_ph(im, 0)->p_type = PT_NULL; elf_ph(im, 2)->p_type = PT_NULL; }
static void m_entry_outside(struct img *im)
{ elf_eh(im)->e_entry = 0x1800000; }
static void m_too_many_segments(struct img *im)
{
	Elf64_Phdr	*ph;
	int		 i;

	elf_eh(im)->e_phnum = LOADER_SEGS_MAX + 1;
	elf_eh(im)->e_phoff = 0x1000;	/* over the data: fine for parsing */
	for (i = 0; i <= LOADER_SEGS_MAX; i++) {
		ph = (Elf64_Phdr *)(im->b + 0x1000) + i;
		memset(ph, 0, sizeof(*ph));
		ph->p_type = PT_LOAD;
		ph->p_paddr = MIB + (uint64_t)i * 0x1000;
		ph->p_memsz = 0x1000;
	}
}

static void
test_loader_elf_corruptions_are_refused(void **state)
{
	static const struct {
		void		(*mutate)(struct img *);
		const char	*msg;	/* NULL: accepted */
	} cases[] = {
		{ m_none, NULL },
		{ m_truncated_ehdr, "ELF: truncated header" },
		{ m_bad_magic, "not a kernel" },
		{ m_class32, "ELF: not 64-bit" },
		{ m_big_endian, "ELF: not little-endian" },
		{ m_machine, "ELF: not x86-64" },
		{ m_dyn, "ELF: not an executable" },
		{ m_phentsize, "ELF: bad e_phentsize" },
		{ m_phnum0, "ELF: 0 program headers" },
		{ m_phnum_huge, "ELF: 65535 program headers" },
		{ m_phoff_past_end, "beyond the end of the file" },
		{ m_phoff_wraps, "beyond the end of the file" },
		{ m_filesz_gt_memsz, "p_filesz > p_memsz" },
		{ m_filesz_huge, "segment 0: beyond the end of the file" },
		{ m_offset_wraps, "segment 0: beyond the end of the file" },
		{ m_offset_past_end, "segment 2: beyond the end of the file" },
		{ m_truncated_segment, "segment 2: beyond the end" },
		{ m_below_1m, "segment 0 (0x7000, 4096 bytes) is not in guest "
		    "RAM above 1 MiB" },
		{ m_past_ram, "segment 2 " },
		{ m_paddr_wraps, "segment 2 " },
		{ m_in_hole, "segment 2 " },
		{ m_no_load, "ELF: no PT_LOAD segment" },
		{ m_entry_outside, "entry point 0x1800000 is outside" },
		{ m_too_many_segments, "more than 16 PT_LOAD" },
	};
	static struct img	 im;
	struct loader_kernel	 lk;
	struct gmem		*gm;
	char			 err[256];
	size_t			 i;
	int			 rc;

	(void)state;
	/* 4 GiB: RAM up to the hole, then 1 GiB above 4 GiB. */
	gm = gmem_new(4ULL << 30, HOLE);
	assert_non_null(gm);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		elf_build(&im);
		cases[i].mutate(&im);
		if (cases[i].mutate == m_past_ram) {
			gmem_free(gm);
			gm = gmem_new(128 * MIB, HOLE);
			assert_non_null(gm);
		}
		err[0] = '\0';
		rc = loader_parse(im.b, im.len, gm, &lk, err, sizeof(err));
		if (cases[i].msg == NULL) {
			if (rc != 0)
				fail_msg("case %zu refused: %s", i, err);
			continue;
		}
		if (rc != -1)
			fail_msg("case %zu (%s) accepted", i, cases[i].msg);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    cases[i].msg);
	}
	gmem_free(gm);
}

static void
test_loader_elf_loads_segments_at_paddr(void **state)
{
	static struct img	 im;
	struct loader_kernel	 lk;
	struct gmem		*gm;
	uint8_t			 got[0x1000];
	char			 err[256];

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	elf_build(&im);
	assert_int_equal(loader_parse(im.b, im.len, gm, &lk, err,
	    sizeof(err)), 0);
	assert_int_equal(lk.lk_kind, LOADER_ELF);
	assert_int_equal(lk.lk_entry, MIB + 0x10);
	assert_int_equal(lk.lk_nsegs, 2);
	assert_int_equal(lk.lk_segs[1].ls_gpa, 2 * MIB);
	assert_int_equal(lk.lk_end, 2 * MIB + 0x10000);
	assert_int_equal(lk.lk_cmdline_max, LOADER_CMDLINE_DEFAULT - 1);
	assert_int_equal(loader_load(&lk, im.b, gm), 0);
	assert_int_equal(gmem_read(gm, MIB, got, 0x1000), 0);
	assert_memory_equal(got, im.b + 0x1000, 0x1000);
	assert_int_equal(gmem_read(gm, 2 * MIB, got, 0x800), 0);
	assert_memory_equal(got, im.b + 0x2000, 0x800);
	/* The bss part stays zero. */
	assert_int_equal(gmem_read(gm, 2 * MIB + 0x800, got, 0x100), 0);
	assert_int_equal(got[0] | got[0xff], 0);
	gmem_free(gm);
}

/* ------------------------------------------------------------ bzImage */

#define BZ_SETUP_SECTS	4
#define BZ_SETUP_LEN	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PAYLOAD	0x4000

static void
bz_put(struct img *im, unsigned off, uint64_t v, unsigned size)
{
	unsigned	 i;

	for (i = 0; i < size; i++)
		im->b[off + i] = (uint8_t)(v >> (8 * i));
}

/* A relocatable bzImage, protocol 2.15, pref_address 16 MiB. */
static void
bz_build(struct img *im)
{
	size_t	 i;

	memset(im, 0, sizeof(*im));
	im->b[0x1f1] = BZ_SETUP_SECTS;
	bz_put(im, 0x1f4, BZ_PAYLOAD / 16, 4);		/* syssize */
	bz_put(im, 0x1fe, 0xaa55, 2);
	im->b[0x200] = 0xeb;				/* jmp short */
	im->b[0x201] = 0x6a;				/* to 0x26c */
	bz_put(im, 0x202, 0x53726448, 4);		/* HdrS */
	bz_put(im, 0x206, 0x020f, 2);
	im->b[0x211] = 0x01;				/* LOADED_HIGH */
	bz_put(im, 0x22c, 0x7fffffff, 4);		/* initrd_addr_max */
	bz_put(im, 0x230, 0x200000, 4);			/* kernel_alignment */
	im->b[0x234] = 1;				/* relocatable */
	bz_put(im, 0x236, 0x1, 2);			/* XLF_KERNEL_64 */
	bz_put(im, 0x238, 2047, 4);			/* cmdline_size */
	bz_put(im, 0x258, 16 * MIB, 8);			/* pref_address */
	bz_put(im, 0x260, 0x800000, 4);			/* init_size */
	for (i = BZ_SETUP_LEN; i < BZ_SETUP_LEN + BZ_PAYLOAD; i++)
		im->b[i] = (uint8_t)(i * 13);
	im->len = BZ_SETUP_LEN + BZ_PAYLOAD;
}

static void b_none(struct img *im) { (void)im; }
static void b_short_header(struct img *im) { im->len = 0x240; }
static void b_bad_boot_flag(struct img *im) { bz_put(im, 0x1fe, 0x55aa, 2); }
static void b_bad_hdrs(struct img *im) { im->b[0x205] = 'x'; }
static void b_old_protocol(struct img *im) { bz_put(im, 0x206, 0x0205, 2); }
static void b_no_xlf_field(struct img *im) { bz_put(im, 0x206, 0x020b, 2); }
static void b_no_kernel_64(struct img *im) { bz_put(im, 0x236, 0x2, 2); }
static void b_zimage(struct img *im) { im->b[0x211] = 0; }
static void b_only_setup(struct img *im) { im->len = BZ_SETUP_LEN; }
static void b_truncated_payload(struct img *im)
{ im->len = BZ_SETUP_LEN + BZ_PAYLOAD / 2; }
static void b_huge_setup_sects(struct img *im) { im->b[0x1f1] = 255; }
static void b_huge_syssize(struct img *im)
{ bz_put(im, 0x1f4, 0xffffffff, 4); }
static void b_huge_init_size(struct img *im)
{ bz_put(im, 0x260, 0xffffffff, 4); }
static void b_pref_wraps(struct img *im)
{ bz_put(im, 0x258, ~0ULL - 0x1000, 8); }

static void
test_loader_bzimage_corruptions_are_refused(void **state)
{
	static const struct {
		void		(*mutate)(struct img *);
		const char	*msg;
	} cases[] = {
		{ b_none, NULL },
		{ b_short_header, "bzImage: truncated header" },
		{ b_bad_boot_flag, "not a kernel" },
		{ b_bad_hdrs, "not a kernel" },
		{ b_old_protocol, "boot protocol 2.05 is older than 2.06" },
		{ b_no_xlf_field, "no 64-bit entry point" },
		{ b_no_kernel_64, "no 64-bit entry point" },
		{ b_zimage, "not loaded high" },
		{ b_only_setup, "truncated (no protected-mode kernel" },
		{ b_truncated_payload, "truncated (8192 of 16384" },
		{ b_huge_setup_sects, "truncated (no protected-mode kernel" },
		{ b_huge_syssize, "truncated (" },
		{ b_huge_init_size, "needs RAM up to" },
		{ b_pref_wraps, "+ init_size overflows" },
	};
	static struct img	 im;
	struct loader_kernel	 lk;
	struct gmem		*gm;
	char			 err[256];
	size_t			 i;
	int			 rc;

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bz_build(&im);
		cases[i].mutate(&im);
		err[0] = '\0';
		rc = loader_parse(im.b, im.len, gm, &lk, err, sizeof(err));
		if (cases[i].msg == NULL) {
			if (rc != 0)
				fail_msg("case %zu refused: %s", i, err);
			continue;
		}
		if (rc != -1)
			fail_msg("case %zu (%s) accepted", i, cases[i].msg);
		if (strstr(err, cases[i].msg) == NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    cases[i].msg);
	}
	gmem_free(gm);
}

static void
test_loader_bzimage_relocatable_loads_at_pref_address(void **state)
{
	static struct img	 im;
	struct loader_kernel	 lk;
	struct gmem		*gm;
	uint8_t			 got[BZ_PAYLOAD];
	char			 err[256];

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	bz_build(&im);
	assert_int_equal(loader_parse(im.b, im.len, gm, &lk, err,
	    sizeof(err)), 0);
	assert_int_equal(lk.lk_kind, LOADER_BZIMAGE);
	assert_int_equal(lk.lk_version, 0x020f);
	assert_int_equal(lk.lk_nsegs, 1);
	assert_int_equal(lk.lk_segs[0].ls_gpa, 16 * MIB);
	assert_int_equal(lk.lk_segs[0].ls_off, BZ_SETUP_LEN);
	assert_int_equal(lk.lk_segs[0].ls_filesz, BZ_PAYLOAD);
	assert_int_equal(lk.lk_entry, 16 * MIB + 0x200);
	assert_int_equal(lk.lk_end, 16 * MIB + 0x800000);
	assert_int_equal(lk.lk_cmdline_max, 2047);
	assert_int_equal(lk.lk_initrd_max, 0x7fffffff);
	/* The header is copied from 0x1f1 to its end at 0x202 + 0x6a. */
	assert_int_equal(lk.lk_hdrlen, 0x26c - 0x1f1);
	assert_memory_equal(lk.lk_hdr, im.b + 0x1f1, lk.lk_hdrlen);
	assert_int_equal(loader_load(&lk, im.b, gm), 0);
	assert_int_equal(gmem_read(gm, 16 * MIB, got, sizeof(got)), 0);
	assert_memory_equal(got, im.b + BZ_SETUP_LEN, BZ_PAYLOAD);
	gmem_free(gm);
}

static void
test_loader_bzimage_fixed_or_small_ram_loads_at_1m(void **state)
{
	static struct img	 im;
	struct loader_kernel	 lk;
	struct gmem		*gm;
	char			 err[256];

	(void)state;
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	/* Not relocatable: 1 MiB, but it still needs pref + init_size. */
	bz_build(&im);
	im.b[0x234] = 0;
	assert_int_equal(loader_parse(im.b, im.len, gm, &lk, err,
	    sizeof(err)), 0);
	assert_int_equal(lk.lk_segs[0].ls_gpa, MIB);
	assert_int_equal(lk.lk_entry, MIB + 0x200);
	assert_int_equal(lk.lk_end, 16 * MIB + 0x800000);
	gmem_free(gm);

	/* 20 MiB of RAM: 16 MiB + 8 MiB does not fit anywhere. */
	gm = gmem_new(20 * MIB, HOLE);
	assert_non_null(gm);
	bz_build(&im);
	assert_int_equal(loader_parse(im.b, im.len, gm, &lk, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "needs RAM up to 0x1800000"));
	gmem_free(gm);

	/* setup_sects 0 means 4. */
	gm = gmem_new(128 * MIB, HOLE);
	assert_non_null(gm);
	bz_build(&im);
	im.b[0x1f1] = 0;
	assert_int_equal(loader_parse(im.b, im.len, gm, &lk, err,
	    sizeof(err)), 0);
	assert_int_equal(lk.lk_segs[0].ls_off, BZ_SETUP_LEN);
	gmem_free(gm);
}

/* ------------------------------------------------------------- initrd */

static void
test_loader_initrd_goes_high_and_page_aligned(void **state)
{
	static const struct {
		uint64_t	 ram;
		uint64_t	 initrd_max;
		uint64_t	 size;
		uint64_t	 want;		/* 0: refused */
	} cases[] = {
		{ 128 * MIB, 0xffffffff, MIB, 127 * MIB },
		{ 128 * MIB, 0xffffffff, 5000, 128 * MIB - 0x2000 },
		{ 128 * MIB, 0x37ffffff, MIB, 127 * MIB },
		{ 2048 * MIB, 0x37ffffff, MIB, 0x38000000 - MIB },
		{ 4096 * MIB, 0xffffffff, MIB, HOLE - MIB },
		{ 128 * MIB, 0xffffffff, 126 * MIB, 0 },  /* over the kernel */
		{ 128 * MIB, 0xffffffff, 200 * MIB, 0 },
		{ 128 * MIB, 0xffffffff, 0, 0 },
	};
	struct loader_kernel	 lk;
	struct gmem		*gm;
	char			 err[256];
	uint64_t		 gpa;
	size_t			 i;
	int			 rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		gm = gmem_new(cases[i].ram, HOLE);
		assert_non_null(gm);
		memset(&lk, 0, sizeof(lk));
		lk.lk_end = 2 * MIB + 0x123;
		lk.lk_initrd_max = cases[i].initrd_max;
		gpa = 1;
		rc = loader_initrd_place(&lk, gm, cases[i].size, &gpa, err,
		    sizeof(err));
		if (cases[i].want == 0) {
			assert_int_equal(rc, -1);
			assert_int_equal(gpa, 1);
		} else {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err);
			assert_int_equal(gpa, cases[i].want);
			assert_int_equal(gpa & 0xfff, 0);
			assert_true(gpa >= lk.lk_end);
		}
		gmem_free(gm);
	}
}

static void
test_loader_read_file_refuses_big_and_missing(void **state)
{
	void	*buf;
	size_t	 len;

	(void)state;
	assert_int_equal(loader_read_file("/nonexistent/kernel", MIB, &buf,
	    &len), -1);
	assert_int_equal(loader_read_file("/", MIB, &buf, &len), -1);
	assert_int_equal(loader_read_file("/proc/self/exe", 16, &buf, &len),
	    -1);
	assert_int_equal(loader_read_file("/proc/self/exe", 1ULL << 30, &buf,
	    &len), 0);
	assert_true(len > 4);
	assert_memory_equal(buf, ELFMAG, SELFMAG);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loader_elf_corruptions_are_refused),
		cmocka_unit_test(test_loader_elf_loads_segments_at_paddr),
		cmocka_unit_test(test_loader_bzimage_corruptions_are_refused),
		cmocka_unit_test(
		    test_loader_bzimage_relocatable_loads_at_pref_address),
		cmocka_unit_test(
		    test_loader_bzimage_fixed_or_small_ram_loads_at_1m),
		cmocka_unit_test(test_loader_initrd_goes_high_and_page_aligned),
		cmocka_unit_test(test_loader_read_file_refuses_big_and_missing),
	};

	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
