/*
 * guest/bootinfo.h: what the loader tells corral-guest (the command line
 * and the RAM map), read from either the Linux zero page (corral-vmm) or
 * a PVH hvm_start_info (QEMU).  Pure code: physical memory is reached
 * only through a caller's translation function, so the parsers also run
 * on the host for tests/unit/test_guest_bootinfo.c.
 */
#ifndef GUEST_BOOTINFO_H
#define GUEST_BOOTINFO_H

#include <stddef.h>
#include <stdint.h>

#define BOOTINFO_CMDLINE_MAX	2048	/* bytes, NUL included */
#define BOOTINFO_RAM_MAX	32
#define BOOTINFO_E820_MAX	128	/* entries in the zero page */
#define BOOTINFO_PVH_MAGIC	0x336ec578

struct bootinfo_ram {
	uint64_t	 br_addr;
	uint64_t	 br_size;
};

struct bootinfo {
	char		 bi_cmdline[BOOTINFO_CMDLINE_MAX];
	struct bootinfo_ram bi_ram[BOOTINFO_RAM_MAX];	/* sorted, disjoint */
	size_t		 bi_nram;
	unsigned	 bi_ignored;	/* map entries that made no sense */
};

/*
 * Returns a pointer through which <len> bytes of guest-physical memory at
 * <pa> can be read, or NULL if that range is not reachable.
 */
typedef const void *bootinfo_phys_fn(void *arg, uint64_t pa, size_t len);

/*
 * Fill <bi> from the zero page at physical <zp> or from the hvm_start_info
 * at physical <si>.  Entries that make no sense (a count over the table
 * size, wrap-around, zero size) are skipped and counted in bi_ignored;
 * a command line that does not fit is cut.  -1 if the structure itself is
 * unreadable or (PVH) has a bad magic; <bi> is then still valid, empty.
 */
int	 bootinfo_from_linux(struct bootinfo *bi, uint64_t zp,
	    bootinfo_phys_fn *phys, void *arg);
int	 bootinfo_from_pvh(struct bootinfo *bi, uint64_t si,
	    bootinfo_phys_fn *phys, void *arg);

#endif /* GUEST_BOOTINFO_H */
