/*
 * vmm/bus.c: the device address map of one VM.  A handful of ranges per
 * VM, so a sorted array and a linear scan beat anything cleverer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "vmm/bus.h"

#define BUS_RANGES_MAX	32

struct bus_range {
	enum bus_space		 br_space;
	uint64_t		 br_base;
	uint64_t		 br_len;
	const struct bus_ops	*br_ops;
	void			*br_arg;
};

struct bus {
	struct bus_range	 b_ranges[BUS_RANGES_MAX];
	unsigned		 b_nranges;
};

static const struct bus_range	*bus_find(const struct bus *, enum bus_space,
				    uint64_t, uint32_t);

struct bus *
bus_new(void)
{
	return calloc(1, sizeof(struct bus));
}

void
bus_free(struct bus *b)
{
	free(b);
}

int
bus_register(struct bus *b, enum bus_space space, uint64_t base,
    uint64_t len, const struct bus_ops *ops, void *arg)
{
	struct bus_range	*r;
	unsigned		 i;

	if (len == 0 || base + len < base || ops == NULL) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < b->b_nranges; i++) {
		r = &b->b_ranges[i];
		if (r->br_space == space && base < r->br_base + r->br_len &&
		    r->br_base < base + len) {
			errno = EEXIST;
			return -1;
		}
	}
	if (b->b_nranges == BUS_RANGES_MAX) {
		errno = ENOSPC;
		return -1;
	}
	r = &b->b_ranges[b->b_nranges++];
	r->br_space = space;
	r->br_base = base;
	r->br_len = len;
	r->br_ops = ops;
	r->br_arg = arg;
	return 0;
}

/* The range holding all of [addr, addr + len), or NULL. */
static const struct bus_range *
bus_find(const struct bus *b, enum bus_space space, uint64_t addr,
    uint32_t len)
{
	const struct bus_range	*r;
	unsigned		 i;

	for (i = 0; i < b->b_nranges; i++) {
		r = &b->b_ranges[i];
		if (r->br_space == space && addr >= r->br_base &&
		    addr - r->br_base < r->br_len &&
		    len <= r->br_len - (addr - r->br_base))
			return r;
	}
	return NULL;
}

int
bus_read(const struct bus *b, enum bus_space space, uint64_t addr,
    void *data, uint32_t len)
{
	const struct bus_range	*r;

	if ((r = bus_find(b, space, addr, len)) == NULL ||
	    r->br_ops->read == NULL) {
		memset(data, 0xff, len);
		return -1;
	}
	r->br_ops->read(r->br_arg, addr - r->br_base, data, len);
	return 0;
}

int
bus_write(const struct bus *b, enum bus_space space, uint64_t addr,
    const void *data, uint32_t len)
{
	const struct bus_range	*r;

	if ((r = bus_find(b, space, addr, len)) == NULL ||
	    r->br_ops->write == NULL)
		return -1;
	r->br_ops->write(r->br_arg, addr - r->br_base, data, len);
	return 0;
}
