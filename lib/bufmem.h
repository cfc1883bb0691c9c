/*
 * lib/bufmem.h: the allocator libevent is given (event_set_mem_functions),
 * for the memory of its buffers.
 *
 * An evbuffer frees its chains as soon as it is drained, and a proxy
 * drains every buffer after every message: each request costs about six
 * chain allocations of 1 to 8 KiB, too big for glibc's per-thread cache,
 * so each went through malloc's slow path and back.  Chains are sized in
 * powers of two; a block of such a size is kept, when freed, in a small
 * cache of the freeing thread and handed out again there.  Every block
 * carries a 16-byte header with its size, so that free() knows what it
 * frees.  A thread's cache is given back to malloc when the thread ends.
 */
#ifndef LIB_BUFMEM_H
#define LIB_BUFMEM_H

#include <stddef.h>

void	*bufmem_malloc(size_t size);
void	*bufmem_realloc(void *p, size_t size);
void	 bufmem_free(void *p);

/* Gives the calling thread's cached blocks back to malloc. */
void	 bufmem_flush(void);

/* How many blocks the calling thread holds in its cache. */
size_t	 bufmem_cached(void);

/* How many blocks are out of malloc, in use or cached, in all threads. */
size_t	 bufmem_blocks(void);

#endif /* LIB_BUFMEM_H */
