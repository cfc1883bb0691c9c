/*
 * guest/mem.h: corral-guest's heap, behind mem_alloc()/mem_free() of
 * guest/app.h.  Pure code over memory it is given: also built on the host
 * for tests/unit/test_guest_mem.c.
 */
#ifndef GUEST_MEM_H
#define GUEST_MEM_H

#include <stddef.h>

#define MEM_ALIGN	16	/* every mem_alloc() result is aligned so */

struct mem_stats {
	size_t		 ms_total;	/* bytes handed over by mem_add() */
	size_t		 ms_free;	/* bytes in free blocks, headers too */
	size_t		 ms_largest;	/* largest single allocation possible */
	size_t		 ms_free_blocks;
	size_t		 ms_used_blocks;
};

/*
 * Hands <len> bytes at <base> to the heap for good.  Regions may come in
 * any order; pieces too small to use are ignored.
 */
void	 mem_add(void *base, size_t len);

void	 mem_stats_get(struct mem_stats *st);

#endif /* GUEST_MEM_H */
