/*
 * vmm/gmem.h: guest RAM.  The only way to reach guest memory: every access
 * checks that [gpa, gpa + len) lies inside one RAM region, without
 * overflow, because every address and length that comes from the guest is
 * hostile.
 */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include <stddef.h>
#include <stdint.h>

struct gmem;	/* opaque; owned by struct vm */

#define GMEM_REGIONS_MAX	2

struct gmem_region {
	uint64_t	 gr_gpa;	/* guest-physical start */
	uint64_t	 gr_size;	/* bytes */
	void		*gr_host;	/* host mapping of the same bytes */
};

/*
 * Maps <size> bytes of anonymous, lazily backed memory (MAP_NORESERVE) as
 * guest RAM.  RAM that would overlap the 32-bit MMIO hole at <hole_start>
 * .. 4 GiB continues at 4 GiB, in a second region.  NULL on error, errno
 * set.
 */
struct gmem	*gmem_new(uint64_t size, uint64_t hole_start);
void		 gmem_free(struct gmem *gm);	/* NULL is a no-op */

uint64_t	 gmem_size(const struct gmem *gm);
unsigned	 gmem_nregions(const struct gmem *gm);
const struct gmem_region *gmem_region(const struct gmem *gm, unsigned i);

/*
 * Host pointer to the <len> bytes at <gpa> if they lie entirely in one RAM
 * region, else NULL.  len 0 is valid when gpa is inside RAM (or at its
 * end).  The pointer is valid for the VM's lifetime but, for bytes the
 * guest controls, must not be kept across a VM exit: reread and recheck.
 */
void		*gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len);

/* Bounded copies; 0, or -1 with errno EFAULT when out of range. */
int		 gmem_read(const struct gmem *gm, uint64_t gpa, void *dst,
		    size_t len) __attribute__((warn_unused_result));
int		 gmem_write(struct gmem *gm, uint64_t gpa, const void *src,
		    size_t len) __attribute__((warn_unused_result));

#endif /* VMM_GMEM_H */
