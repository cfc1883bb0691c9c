/*
 * guest/bootinfo.c: reads the Linux zero page (boot_params, as
 * corral-vmm builds it: Documentation/arch/x86/zero-page.rst and
 * boot.rst) or a PVH hvm_start_info (xen/include/public/arch-x86/
 * hvm/start_info.h, as QEMU builds it) into a struct bootinfo.  Every
 * field is bounds-checked: the loader is trusted to boot us but not to be
 * right.  The RAM list is kept sorted and merged so the allocator can
 * take it as it is.  No state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/bootinfo.h"
#include "guest/klib.h"

/* boot_params offsets */
#define ZP_SIZE			4096
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_CMD_LINE_PTR		0x228
#define ZP_CMDLINE_SIZE		0x238
#define ZP_E820_TABLE		0x2d0
#define E820_ENTRY_SIZE		20
#define E820_RAM		1

/* hvm_start_info offsets */
#define SI_MAGIC		0
#define SI_VERSION		4
#define SI_CMDLINE_PADDR	24
#define SI_MEMMAP_PADDR		40
#define SI_MEMMAP_ENTRIES	48
#define SI_SIZE_V1		56
#define SI_MEMMAP_ENTRY_SIZE	24
#define SI_MEMMAP_MAX		1024

static uint32_t
bootinfo_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
bootinfo_le64(const uint8_t *p)
{
	return (uint64_t)bootinfo_le32(p) |
	    (uint64_t)bootinfo_le32(p + 4) << 32;
}

static void
bootinfo_clear(struct bootinfo *bi)
{
	memset(bi, 0, sizeof(*bi));
}

/*
 * Copies the NUL-terminated string at <pa>, at most <max> bytes long,
 * reading page by page so that a string near the end of RAM still works.
 */
static void
bootinfo_cmdline(struct bootinfo *bi, uint64_t pa, size_t max,
    bootinfo_phys_fn *phys, void *arg)
{
	const uint8_t	*p;
	size_t		 n = 0, chunk;

	if (pa == 0)
		return;
	if (max > sizeof(bi->bi_cmdline) - 1)
		max = sizeof(bi->bi_cmdline) - 1;
	while (n < max) {
		if (pa + n < pa)
			break;
		chunk = 4096 - ((pa + n) & 4095);
		if (chunk > max - n)
			chunk = max - n;
		if ((p = phys(arg, pa + n, chunk)) == NULL)
			break;
		for (size_t i = 0; i < chunk; i++) {
			if (p[i] == '\0')
				goto done;
			bi->bi_cmdline[n++] = (char)p[i];
		}
	}
done:
	bi->bi_cmdline[n] = '\0';
}

/* Adds RAM [<addr>, <addr> + <size>) keeping the list sorted and merged. */
static void
bootinfo_add_ram(struct bootinfo *bi, uint64_t addr, uint64_t size)
{
	struct bootinfo_ram	*r;
	uint64_t		 end;
	size_t			 i, j;

	if (size == 0 || addr + size < addr) {
		bi->bi_ignored++;
		return;
	}
	end = addr + size;
	/* Swallow every entry that overlaps or touches [addr, end). */
	for (i = 0; i < bi->bi_nram; ) {
		r = &bi->bi_ram[i];
		if (r->br_addr <= end && addr <= r->br_addr + r->br_size) {
			if (r->br_addr < addr)
				addr = r->br_addr;
			if (r->br_addr + r->br_size > end)
				end = r->br_addr + r->br_size;
			bi->bi_nram--;
			memmove(r, r + 1, (bi->bi_nram - i) * sizeof(*r));
			continue;
		}
		i++;
	}
	if (bi->bi_nram == BOOTINFO_RAM_MAX) {
		bi->bi_ignored++;
		return;
	}
	for (j = 0; j < bi->bi_nram && bi->bi_ram[j].br_addr < addr; j++)
		;
	memmove(&bi->bi_ram[j + 1], &bi->bi_ram[j],
	    (bi->bi_nram - j) * sizeof(bi->bi_ram[0]));
	bi->bi_ram[j].br_addr = addr;
	bi->bi_ram[j].br_size = end - addr;
	bi->bi_nram++;
}

int
bootinfo_from_linux(struct bootinfo *bi, uint64_t zp,
    bootinfo_phys_fn *phys, void *arg)
{
	const uint8_t	*p, *e;
	uint64_t	 cmd;
	uint32_t	 cmdsize;
	unsigned	 n, i;

	bootinfo_clear(bi);
	if ((p = phys(arg, zp, ZP_SIZE)) == NULL)
		return -1;
	cmd = bootinfo_le32(p + ZP_CMD_LINE_PTR) |
	    (uint64_t)bootinfo_le32(p + ZP_EXT_CMD_LINE_PTR) << 32;
	cmdsize = bootinfo_le32(p + ZP_CMDLINE_SIZE);
	/* cmdline_size (protocol 2.06+) excludes the NUL; 0 means unset. */
	if (cmdsize == 0 || cmdsize > BOOTINFO_CMDLINE_MAX - 1)
		cmdsize = BOOTINFO_CMDLINE_MAX - 1;
	bootinfo_cmdline(bi, cmd, cmdsize, phys, arg);

	n = p[ZP_E820_ENTRIES];
	if (n > BOOTINFO_E820_MAX) {
		bi->bi_ignored += n - BOOTINFO_E820_MAX;
		n = BOOTINFO_E820_MAX;
	}
	for (i = 0; i < n; i++) {
		e = p + ZP_E820_TABLE + (size_t)i * E820_ENTRY_SIZE;
		if (bootinfo_le32(e + 16) != E820_RAM)
			continue;
		bootinfo_add_ram(bi, bootinfo_le64(e), bootinfo_le64(e + 8));
	}
	return 0;
}

int
bootinfo_from_pvh(struct bootinfo *bi, uint64_t si,
    bootinfo_phys_fn *phys, void *arg)
{
	const uint8_t	*p, *e;
	uint64_t	 map;
	uint32_t	 n, i;

	bootinfo_clear(bi);
	if ((p = phys(arg, si, SI_SIZE_V1)) == NULL)
		return -1;
	if (bootinfo_le32(p + SI_MAGIC) != BOOTINFO_PVH_MAGIC)
		return -1;
	bootinfo_cmdline(bi, bootinfo_le64(p + SI_CMDLINE_PADDR),
	    sizeof(bi->bi_cmdline) - 1, phys, arg);
	if (bootinfo_le32(p + SI_VERSION) < 1)
		return 0;
	map = bootinfo_le64(p + SI_MEMMAP_PADDR);
	n = bootinfo_le32(p + SI_MEMMAP_ENTRIES);
	if (n > SI_MEMMAP_MAX) {
		bi->bi_ignored += n - SI_MEMMAP_MAX;
		n = SI_MEMMAP_MAX;
	}
	for (i = 0; i < n; i++) {
		if ((e = phys(arg, map + (uint64_t)i * SI_MEMMAP_ENTRY_SIZE,
		    SI_MEMMAP_ENTRY_SIZE)) == NULL) {
			bi->bi_ignored += n - i;
			break;
		}
		if (bootinfo_le32(e + 16) != E820_RAM)
			continue;
		bootinfo_add_ram(bi, bootinfo_le64(e), bootinfo_le64(e + 8));
	}
	return 0;
}
