/*
 * guest/mem.c: the heap (mem_alloc/mem_free of guest/app.h).
 *
 * Every block, free or used, starts with a 16-byte header holding its
 * size (header included, a multiple of 16) and a magic number that tells
 * free from used, so mem_free() catches double frees and wild pointers.
 * Free blocks form one list sorted by address; mem_alloc() takes the
 * first that fits and cuts the allocation from its end, so the list
 * itself does not change unless the block is used up; mem_free() puts the
 * block back in order and merges it with free neighbours, so memory
 * returns to large blocks as connections come and go.  The list is short
 * (tens of blocks for hundreds of connections), so linear walks are fine.
 * The state is file-scope because app.h's mem_alloc() takes no context;
 * main loop only (no interrupt handler allocates).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/cons.h"
#include "guest/mem.h"

#define MEM_MAGIC_USED	0x6d656d55	/* "memU" */
#define MEM_MAGIC_FREE	0x6d656d46	/* "memF" */

struct mem_block {
	size_t		 mb_size;
	uint32_t	 mb_magic;
	uint32_t	 mb_pad;
	/* Free blocks only, in what would be the payload: */
	struct mem_block *mb_next;
};

#define MEM_HDR		16
#define MEM_MIN_BLOCK	32		/* header and mb_next, rounded */

static struct {
	struct mem_block *m_free;	/* address order */
	size_t		 m_total;
	size_t		 m_free_bytes;
	size_t		 m_used_blocks;
} mem;

static uintptr_t
mem_end(const struct mem_block *b)
{
	return (uintptr_t)b + b->mb_size;
}

/* Links free block <b> into the list in address order, merging. */
static void
mem_insert(struct mem_block *b)
{
	struct mem_block	*prev = NULL, *next = mem.m_free;

	while (next != NULL && next < b) {
		prev = next;
		next = next->mb_next;
	}
	if ((prev != NULL && mem_end(prev) > (uintptr_t)b) ||
	    (next != NULL && mem_end(b) > (uintptr_t)next))
		cons_panic("mem: block %p overlaps a free block", (void *)b);
	/* Merged-away headers keep this too: a second free says why. */
	b->mb_magic = MEM_MAGIC_FREE;
	b->mb_next = next;
	if (next != NULL && mem_end(b) == (uintptr_t)next) {
		b->mb_size += next->mb_size;
		b->mb_next = next->mb_next;
	}
	if (prev != NULL && mem_end(prev) == (uintptr_t)b) {
		prev->mb_size += b->mb_size;
		prev->mb_next = b->mb_next;
	} else if (prev != NULL)
		prev->mb_next = b;
	else
		mem.m_free = b;
}

void
mem_add(void *base, size_t len)
{
	uintptr_t		 start = (uintptr_t)base, end;
	struct mem_block	*b;

	if (len > UINTPTR_MAX - start)
		len = UINTPTR_MAX - start;
	end = (start + len) & ~(uintptr_t)(MEM_ALIGN - 1);
	start = (start + MEM_ALIGN - 1) & ~(uintptr_t)(MEM_ALIGN - 1);
	if (start == 0)			/* NULL must stay NULL */
		start += MEM_ALIGN;
	if (end <= start || end - start < MEM_MIN_BLOCK)
		return;
	b = (struct mem_block *)start;
	b->mb_size = end - start;
	mem.m_total += b->mb_size;
	mem.m_free_bytes += b->mb_size;
	mem_insert(b);
}

void *
mem_alloc(size_t len)
{
	struct mem_block	*b, *prev = NULL, *u;
	size_t			 need;

	if (len > SIZE_MAX - MEM_HDR - MEM_ALIGN)
		return NULL;
	need = (len + MEM_HDR + MEM_ALIGN - 1) & ~(size_t)(MEM_ALIGN - 1);
	if (need < MEM_MIN_BLOCK)
		need = MEM_MIN_BLOCK;
	for (b = mem.m_free; b != NULL; prev = b, b = b->mb_next) {
		if (b->mb_magic != MEM_MAGIC_FREE)
			cons_panic("mem: free list corrupt at %p", (void *)b);
		if (b->mb_size >= need)
			break;
	}
	if (b == NULL)
		return NULL;
	if (b->mb_size - need >= MEM_MIN_BLOCK) {
		/* Cut from the end: <b> keeps its place in the list. */
		b->mb_size -= need;
		u = (struct mem_block *)mem_end(b);
		u->mb_size = need;
	} else {
		if (prev != NULL)
			prev->mb_next = b->mb_next;
		else
			mem.m_free = b->mb_next;
		u = b;
	}
	u->mb_magic = MEM_MAGIC_USED;
	mem.m_free_bytes -= u->mb_size;
	mem.m_used_blocks++;
	return (uint8_t *)u + MEM_HDR;
}

void
mem_free(void *p)
{
	struct mem_block	*b;

	if (p == NULL)
		return;
	if (((uintptr_t)p & (MEM_ALIGN - 1)) != 0)
		cons_panic("mem: free of unaligned %p", p);
	b = (struct mem_block *)((uint8_t *)p - MEM_HDR);
	if (b->mb_magic != MEM_MAGIC_USED)
		cons_panic("mem: free of %p, not an allocated block (%s)", p,
		    b->mb_magic == MEM_MAGIC_FREE ? "double free" :
		    "bad magic");
	mem.m_free_bytes += b->mb_size;
	mem.m_used_blocks--;
	mem_insert(b);
}

void
mem_stats_get(struct mem_stats *st)
{
	const struct mem_block	*b;

	st->ms_total = mem.m_total;
	st->ms_free = mem.m_free_bytes;
	st->ms_largest = 0;
	st->ms_free_blocks = 0;
	st->ms_used_blocks = mem.m_used_blocks;
	for (b = mem.m_free; b != NULL; b = b->mb_next) {
		st->ms_free_blocks++;
		if (b->mb_size - MEM_HDR > st->ms_largest)
			st->ms_largest = b->mb_size - MEM_HDR;
	}
}
