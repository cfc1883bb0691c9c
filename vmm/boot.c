/*
 * vmm/boot.c: the boot-time contents of guest RAM below 1 MiB and the
 * BSP's initial registers, for the Linux 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"); the layout
 * follows Firecracker's (src/vmm/src/arch/x86_64).  Pure functions over a
 * struct gmem and KVM register structs, so the unit tests check every
 * byte without KVM.  Main thread, before any vCPU runs.
 */
#include <linux/kvm.h>

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/boot.h"
#include "vmm/gmem.h"
#include "vmm/loader.h"

_Static_assert(offsetof(struct boot_params, bp_ext_ramdisk_image) == 0x0c0,
    "ext_ramdisk_image");
_Static_assert(offsetof(struct boot_params, bp_ext_cmd_line_ptr) == 0x0c8,
    "ext_cmd_line_ptr");
_Static_assert(offsetof(struct boot_params, bp_e820_entries) == 0x1e8,
    "e820_entries");
_Static_assert(offsetof(struct boot_params, bp_hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_boot_flag) == 0x1fe,
    "boot_flag");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_header) == 0x202,
    "header");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_type_of_loader) ==
    0x210, "type_of_loader");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_ramdisk_image) ==
    0x218, "ramdisk_image");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_heap_end_ptr) ==
    0x224, "heap_end_ptr");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_cmd_line_ptr) ==
    0x228, "cmd_line_ptr");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_kernel_alignment) ==
    0x230, "kernel_alignment");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_cmdline_size) ==
    0x238, "cmdline_size");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_pref_address) ==
    0x258, "pref_address");
_Static_assert(offsetof(struct boot_params, bp_hdr.sh_kernel_info_offset) ==
    0x268, "kernel_info_offset");
_Static_assert(offsetof(struct boot_params, bp_e820) == 0x2d0, "e820_table");
_Static_assert(sizeof(struct boot_e820) == 20, "e820 entry");
_Static_assert(sizeof(struct boot_params) == 4096, "zero page");

#define BOOT_4G			(1ULL << 32)
#define BOOT_2M			(2ULL << 20)
#define BOOT_PTE_P		0x001ULL
#define BOOT_PTE_RW		0x002ULL
#define BOOT_PTE_PS		0x080ULL

/* Descriptor flags: G, D/B, L, AVL in the top nibble; P, DPL, S, type. */
#define BOOT_GDT_CODE64		0xa09b
#define BOOT_GDT_DATA		0xc093
#define BOOT_GDT_TSS		0x0089	/* available 64-bit TSS */
#define BOOT_TR_BUSY		0x008b	/* what VM entry demands in TR */
#define BOOT_TSS_LIMIT		0x67

#define BOOT_CR0_PE		0x00000001ULL
#define BOOT_CR0_ET		0x00000010ULL
#define BOOT_CR0_PG		0x80000000ULL
#define BOOT_CR4_PAE		0x00000020ULL
#define BOOT_EFER_LME		0x00000100ULL
#define BOOT_EFER_LMA		0x00000400ULL

static void	boot_seg(struct kvm_segment *, uint16_t, uint32_t, uint32_t,
		    uint16_t);

int
boot_cmdline(const char *vmm_args, const char *user_args, size_t max,
    char *out, size_t outlen)
{
	size_t	 a, b, n;

	a = vmm_args ? strlen(vmm_args) : 0;
	b = user_args ? strlen(user_args) : 0;
	n = a + (a && b ? 1 : 0) + b;
	if (n > max || n >= outlen) {
		errno = E2BIG;
		return -1;
	}
	if (a)
		memcpy(out, vmm_args, a);
	if (a && b)
		out[a++] = ' ';
	if (b)
		memcpy(out + a, user_args, b);
	out[n] = '\0';
	return 0;
}

void
boot_e820(const struct gmem *gm, struct boot_params *bp)
{
	const struct gmem_region	*r;
	struct boot_e820		*e = bp->bp_e820;
	unsigned			 i, n = 0;

	/* Base memory up to the EBDA, then the EBDA and BIOS area. */
	e[n].be_addr = 0;
	e[n].be_size = BOOT_EBDA;
	e[n++].be_type = BOOT_E820_RAM;
	e[n].be_addr = BOOT_EBDA;
	e[n].be_size = BOOT_HIMEM - BOOT_EBDA;
	e[n++].be_type = BOOT_E820_RESERVED;
	for (i = 0; i < gmem_nregions(gm); i++) {
		r = gmem_region(gm, i);
		if (r->gr_gpa == 0) {
			/* opts guarantees more than 1 MiB of RAM. */
			ASSERT(r->gr_size > BOOT_HIMEM);
			e[n].be_addr = BOOT_HIMEM;
			e[n].be_size = r->gr_size - BOOT_HIMEM;
		} else {
			e[n].be_addr = r->gr_gpa;
			e[n].be_size = r->gr_size;
		}
		e[n++].be_type = BOOT_E820_RAM;
	}
	bp->bp_e820_entries = (uint8_t)n;
}

int
boot_zero_page(struct gmem *gm, const struct loader_kernel *lk,
    const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size)
{
	struct boot_params	 bp;
	struct boot_setup_header *h = &bp.bp_hdr;
	uint64_t		 max;
	size_t			 len;

	max = lk->lk_cmdline_max;
	if (max > BOOT_CMDLINE_LIMIT - 1)
		max = BOOT_CMDLINE_LIMIT - 1;
	len = strlen(cmdline);
	if (len > max) {
		errno = E2BIG;
		return -1;
	}
	memset(&bp, 0, sizeof(bp));
	if (lk->lk_kind == LOADER_BZIMAGE) {
		ASSERT(lk->lk_hdrlen <= LOADER_HDR_MAX);
		memcpy((uint8_t *)&bp + LOADER_HDR_OFF, lk->lk_hdr,
		    lk->lk_hdrlen);
		/* The setup code does not run, but follow boot.rst anyway. */
		h->sh_loadflags |= BOOT_CAN_USE_HEAP;
		h->sh_heap_end_ptr = 0xfe00;
	} else {
		/* What Firecracker writes for a vmlinux ELF. */
		h->sh_boot_flag = 0xaa55;
		h->sh_header = 0x53726448;
		h->sh_kernel_alignment = 0x1000000;
		h->sh_cmdline_size = (uint32_t)max + 1;
	}
	h->sh_type_of_loader = BOOT_LOADER_TYPE;
	h->sh_loadflags |= BOOT_LOADED_HIGH;
	h->sh_cmd_line_ptr = (uint32_t)BOOT_CMDLINE;
	bp.bp_ext_cmd_line_ptr = (uint32_t)(BOOT_CMDLINE >> 32);
	/* Always written: the copied header may carry the file's values. */
	if (initrd_size == 0)
		initrd_gpa = 0;
	h->sh_ramdisk_image = (uint32_t)initrd_gpa;
	h->sh_ramdisk_size = (uint32_t)initrd_size;
	bp.bp_ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp.bp_ext_ramdisk_size = (uint32_t)(initrd_size >> 32);
	boot_e820(gm, &bp);
	if (gmem_write(gm, BOOT_CMDLINE, cmdline, len + 1) == -1)
		return -1;
	return gmem_write(gm, BOOT_ZERO_PAGE, &bp, sizeof(bp));
}

int
boot_page_tables(struct gmem *gm)
{
	uint64_t	 pml4[512], pdpt[512], pd[512];
	unsigned	 i, j;

	memset(pml4, 0, sizeof(pml4));
	memset(pdpt, 0, sizeof(pdpt));
	pml4[0] = BOOT_PDPT | BOOT_PTE_P | BOOT_PTE_RW;
	for (i = 0; i < 4; i++) {
		pdpt[i] = (BOOT_PD + i * 4096) | BOOT_PTE_P | BOOT_PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = (((uint64_t)i << 30) + j * BOOT_2M) |
			    BOOT_PTE_P | BOOT_PTE_RW | BOOT_PTE_PS;
		if (gmem_write(gm, BOOT_PD + i * 4096, pd, sizeof(pd)) == -1)
			return -1;
	}
	if (gmem_write(gm, BOOT_PML4, pml4, sizeof(pml4)) == -1 ||
	    gmem_write(gm, BOOT_PDPT, pdpt, sizeof(pdpt)) == -1)
		return -1;
	return 0;
}

uint64_t
boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return (((uint64_t)base & 0xff000000) << 32) |
	    (((uint64_t)flags & 0xf0ff) << 40) |
	    (((uint64_t)limit & 0x000f0000) << 32) |
	    (((uint64_t)base & 0x00ffffff) << 16) |
	    ((uint64_t)limit & 0x0000ffff);
}

int
boot_gdt(struct gmem *gm)
{
	uint64_t	 gdt[BOOT_GDT_ENTRIES], idt = 0;

	memset(gdt, 0, sizeof(gdt));
	gdt[BOOT_SEL_CODE / 8] = boot_gdt_entry(BOOT_GDT_CODE64, 0, 0xfffff);
	gdt[BOOT_SEL_DATA / 8] = boot_gdt_entry(BOOT_GDT_DATA, 0, 0xfffff);
	/* A 64-bit TSS descriptor is 16 bytes; the upper half is base 0. */
	gdt[BOOT_SEL_TSS / 8] = boot_gdt_entry(BOOT_GDT_TSS, 0,
	    BOOT_TSS_LIMIT);
	if (gmem_write(gm, BOOT_GDT_ADDR, gdt, sizeof(gdt)) == -1)
		return -1;
	return gmem_write(gm, BOOT_IDT_ADDR, &idt, sizeof(idt));
}

void
boot_regs(uint64_t entry, struct kvm_regs *regs, struct kvm_sregs *sregs)
{
	struct kvm_segment	 data;

	memset(regs, 0, sizeof(*regs));
	regs->rflags = 0x2;		/* bit 1 is reserved, always set */
	regs->rip = entry;
	regs->rsi = BOOT_ZERO_PAGE;
	regs->rsp = regs->rbp = BOOT_STACK_TOP;

	boot_seg(&sregs->cs, BOOT_GDT_CODE64, 0, 0xfffff, BOOT_SEL_CODE);
	boot_seg(&data, BOOT_GDT_DATA, 0, 0xfffff, BOOT_SEL_DATA);
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	boot_seg(&sregs->tr, BOOT_TR_BUSY, 0, BOOT_TSS_LIMIT, BOOT_SEL_TSS);
	sregs->gdt.base = BOOT_GDT_ADDR;
	sregs->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = BOOT_IDT_ADDR;
	sregs->idt.limit = 7;
	sregs->cr0 = BOOT_CR0_PE | BOOT_CR0_ET | BOOT_CR0_PG;
	sregs->cr3 = BOOT_PML4;
	sregs->cr4 = BOOT_CR4_PAE;
	sregs->efer = BOOT_EFER_LME | BOOT_EFER_LMA;
}

/* A kvm_segment equal to what loading <sel> from our GDT would give. */
static void
boot_seg(struct kvm_segment *s, uint16_t flags, uint32_t base,
    uint32_t limit, uint16_t sel)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->limit = (flags & 0x8000) ? (limit << 12) | 0xfff : limit;
	s->selector = sel;
	s->type = flags & 0xf;
	s->s = (flags >> 4) & 1;
	s->dpl = (flags >> 5) & 3;
	s->present = (flags >> 7) & 1;
	s->avl = (flags >> 12) & 1;
	s->l = (flags >> 13) & 1;
	s->db = (flags >> 14) & 1;
	s->g = (flags >> 15) & 1;
}
