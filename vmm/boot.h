/*
 * vmm/boot.h: what the Linux 64-bit boot protocol (boot.rst) expects in
 * guest RAM and in the BSP's registers: the zero page (struct
 * boot_params) with the e820 map, the command line, identity-mapped page
 * tables, a GDT, and long-mode register state.  corral-guest follows the
 * same contract.  Everything below 1 MiB is ours:
 *
 *	0x00500	GDT (null, null, code 0x10, data 0x18, TSS 0x20)
 *	0x00540	IDT (empty: no interrupt before the kernel sets its own)
 *	0x07000	zero page
 *	0x08ff0	initial stack pointer (grows down to 0x8000)
 *	0x09000	PML4, 0xa000 PDPT, 0xb000-0xefff four page directories
 *	0x20000	command line
 *	0x9fc00	EBDA: MP table (vmm/mptable.h)
 */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

struct gmem;
struct kvm_regs;
struct kvm_sregs;
struct loader_kernel;

#define BOOT_GDT_ADDR		0x500ULL
#define BOOT_IDT_ADDR		0x540ULL
#define BOOT_ZERO_PAGE		0x7000ULL
#define BOOT_STACK_TOP		0x8ff0ULL
#define BOOT_PML4		0x9000ULL
#define BOOT_PDPT		0xa000ULL
#define BOOT_PD			0xb000ULL	/* 4 pages: 4 GiB of 2 MiB */
#define BOOT_CMDLINE		0x20000ULL
#define BOOT_CMDLINE_LIMIT	0x10000ULL	/* our own cap, with NUL */
#define BOOT_EBDA		0x9fc00ULL
#define BOOT_HIMEM		0x100000ULL

#define BOOT_SEL_CODE		0x10
#define BOOT_SEL_DATA		0x18
#define BOOT_SEL_TSS		0x20
#define BOOT_GDT_ENTRIES	6	/* the 64-bit TSS takes two */

#define BOOT_E820_MAX		128
#define BOOT_E820_RAM		1
#define BOOT_E820_RESERVED	2

/* Linux's struct setup_header (boot.rst), at 0x1f1 of the zero page. */
struct boot_setup_header {
	uint8_t		 sh_setup_sects;
	uint16_t	 sh_root_flags;
	uint32_t	 sh_syssize;
	uint16_t	 sh_ram_size;
	uint16_t	 sh_vid_mode;
	uint16_t	 sh_root_dev;
	uint16_t	 sh_boot_flag;
	uint16_t	 sh_jump;
	uint32_t	 sh_header;
	uint16_t	 sh_version;
	uint32_t	 sh_realmode_swtch;
	uint16_t	 sh_start_sys_seg;
	uint16_t	 sh_kernel_version;
	uint8_t		 sh_type_of_loader;
	uint8_t		 sh_loadflags;
	uint16_t	 sh_setup_move_size;
	uint32_t	 sh_code32_start;
	uint32_t	 sh_ramdisk_image;
	uint32_t	 sh_ramdisk_size;
	uint32_t	 sh_bootsect_kludge;
	uint16_t	 sh_heap_end_ptr;
	uint8_t		 sh_ext_loader_ver;
	uint8_t		 sh_ext_loader_type;
	uint32_t	 sh_cmd_line_ptr;
	uint32_t	 sh_initrd_addr_max;
	uint32_t	 sh_kernel_alignment;
	uint8_t		 sh_relocatable_kernel;
	uint8_t		 sh_min_alignment;
	uint16_t	 sh_xloadflags;
	uint32_t	 sh_cmdline_size;
	uint32_t	 sh_hardware_subarch;
	uint64_t	 sh_hardware_subarch_data;
	uint32_t	 sh_payload_offset;
	uint32_t	 sh_payload_length;
	uint64_t	 sh_setup_data;
	uint64_t	 sh_pref_address;
	uint32_t	 sh_init_size;
	uint32_t	 sh_handover_offset;
	uint32_t	 sh_kernel_info_offset;
} __attribute__((packed));

struct boot_e820 {
	uint64_t	 be_addr;
	uint64_t	 be_size;
	uint32_t	 be_type;
} __attribute__((packed));

/* The zero page: only the fields we write are named. */
struct boot_params {
	uint8_t			 bp_pad0[0xc0];
	uint32_t		 bp_ext_ramdisk_image;
	uint32_t		 bp_ext_ramdisk_size;
	uint32_t		 bp_ext_cmd_line_ptr;
	uint8_t			 bp_pad1[0x1e8 - 0xcc];
	uint8_t			 bp_e820_entries;
	uint8_t			 bp_pad2[0x1f1 - 0x1e9];
	struct boot_setup_header bp_hdr;
	uint8_t			 bp_pad3[0x2d0 - 0x26c];
	struct boot_e820	 bp_e820[BOOT_E820_MAX];
	uint8_t			 bp_pad4[0x1000 - 0xcd0];
} __attribute__((packed));

#define BOOT_LOADER_TYPE	0xff	/* "undefined" boot loader */
#define BOOT_LOADED_HIGH	0x01
#define BOOT_KEEP_SEGMENTS	0x40
#define BOOT_CAN_USE_HEAP	0x80

/*
 * Joins <vmm_args> and <user_args> (either may be NULL or empty) with one
 * space into <out> (<outlen> bytes).  -1 with E2BIG if the result is
 * longer than <max> bytes or does not fit <out>.
 */
int	boot_cmdline(const char *vmm_args, const char *user_args, size_t max,
	    char *out, size_t outlen) __attribute__((warn_unused_result));

/* Fills the e820 table of <bp> from the RAM regions of <gm>. */
void	boot_e820(const struct gmem *gm, struct boot_params *bp);

/*
 * Builds the zero page for <lk> at BOOT_ZERO_PAGE and writes <cmdline>
 * at BOOT_CMDLINE, plus the initrd location (size 0: none).  -1 with
 * E2BIG if <cmdline> is longer than the kernel accepts.
 */
int	boot_zero_page(struct gmem *gm, const struct loader_kernel *lk,
	    const char *cmdline, uint64_t initrd_gpa, uint64_t initrd_size)
	    __attribute__((warn_unused_result));

/* Writes the identity-mapped page tables (0..4 GiB, 2 MiB pages). */
int	boot_page_tables(struct gmem *gm) __attribute__((warn_unused_result));

/* Writes the GDT and the empty IDT. */
int	boot_gdt(struct gmem *gm) __attribute__((warn_unused_result));

/* Encodes one GDT descriptor: <flags> as in Firecracker's gdt_entry(). */
uint64_t boot_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

/*
 * Sets the BSP's registers for the 64-bit entry at <entry>: long mode,
 * paging on BOOT_PML4, flat segments from the GDT, interrupts off, RSI at
 * the zero page.  <sregs> must come from KVM_GET_SREGS (the fields we do
 * not set keep KVM's reset values).
 */
void	boot_regs(uint64_t entry, struct kvm_regs *regs,
	    struct kvm_sregs *sregs);

#endif /* VMM_BOOT_H */
