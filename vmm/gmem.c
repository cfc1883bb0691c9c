/*
 * vmm/gmem.c: guest RAM as at most two anonymous mappings, below the MMIO
 * hole and above 4 GiB.  MAP_NORESERVE keeps an idle VM's cost to the
 * pages its guest touched.  The region table is fixed after gmem_new(), so
 * lookups take no lock and any thread may call them.
 */
#include <sys/mman.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/gmem.h"

#define GMEM_4G		(1ULL << 32)

struct gmem {
	struct gmem_region	 gm_regions[GMEM_REGIONS_MAX];
	unsigned		 gm_nregions;
	uint64_t		 gm_size;
};

struct gmem *
gmem_new(uint64_t size, uint64_t hole_start)
{
	struct gmem	*gm;
	uint64_t	 low, high;
	unsigned	 i;
	void		*p;

	if (size == 0 || hole_start == 0 || hole_start > GMEM_4G ||
	    (hole_start & 0xfff) != 0 || (size & 0xfff) != 0) {
		errno = EINVAL;
		return NULL;
	}
	if ((gm = calloc(1, sizeof(*gm))) == NULL)
		return NULL;
	low = size < hole_start ? size : hole_start;
	high = size - low;
	gm->gm_regions[0].gr_gpa = 0;
	gm->gm_regions[0].gr_size = low;
	gm->gm_nregions = 1;
	if (high != 0) {
		gm->gm_regions[1].gr_gpa = GMEM_4G;
		gm->gm_regions[1].gr_size = high;
		gm->gm_nregions = 2;
	}
	for (i = 0; i < gm->gm_nregions; i++) {
		p = mmap(NULL, gm->gm_regions[i].gr_size,
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			goto fail;
		gm->gm_regions[i].gr_host = p;
	}
	gm->gm_size = size;
	return gm;
fail:
	gmem_free(gm);
	return NULL;
}

void
gmem_free(struct gmem *gm)
{
	unsigned	 i;
	int		 saved = errno;

	if (gm == NULL)
		return;
	for (i = 0; i < gm->gm_nregions; i++)
		if (gm->gm_regions[i].gr_host != NULL)
			munmap(gm->gm_regions[i].gr_host,
			    gm->gm_regions[i].gr_size);
	free(gm);
	errno = saved;
}

uint64_t
gmem_size(const struct gmem *gm)
{
	return gm->gm_size;
}

unsigned
gmem_nregions(const struct gmem *gm)
{
	return gm->gm_nregions;
}

const struct gmem_region *
gmem_region(const struct gmem *gm, unsigned i)
{
	ASSERT(i < gm->gm_nregions);
	return &gm->gm_regions[i];
}

void *
gmem_ptr(const struct gmem *gm, uint64_t gpa, uint64_t len)
{
	const struct gmem_region	*r;
	unsigned			 i;

	for (i = 0; i < gm->gm_nregions; i++) {
		r = &gm->gm_regions[i];
		/* Written so that no sum can wrap: gpa and len are the guest's. */
		if (gpa < r->gr_gpa || gpa - r->gr_gpa > r->gr_size)
			continue;
		if (len > r->gr_size - (gpa - r->gr_gpa))
			return NULL;
		return (uint8_t *)r->gr_host + (gpa - r->gr_gpa);
	}
	return NULL;
}

int
gmem_read(const struct gmem *gm, uint64_t gpa, void *dst, size_t len)
{
	const void	*p;

	if ((p = gmem_ptr(gm, gpa, len)) == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(dst, p, len);
	return 0;
}

int
gmem_write(struct gmem *gm, uint64_t gpa, const void *src, size_t len)
{
	void	*p;

	if ((p = gmem_ptr(gm, gpa, len)) == NULL) {
		errno = EFAULT;
		return -1;
	}
	memcpy(p, src, len);
	return 0;
}
