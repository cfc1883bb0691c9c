/*
 * lib/alloc.h: zeroed allocation for objects made and freed per
 * connection or per request.
 *
 * glibc's calloc() always takes the allocator's slow path; malloc()
 * first tries the thread's cache of recently freed chunks (tcache),
 * which is where a just-closed connection's objects are.  A proxy that
 * makes a session, a parser and their buffers for each connection pays
 * that difference every time, so those go through zalloc(), and
 * libevent's own callocs are routed to malloc() too (main.c).
 */
#ifndef LIB_ALLOC_H
#define LIB_ALLOC_H

#include <stdlib.h>
#include <string.h>

static inline void *
zalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size)) != NULL)
		memset(p, 0, size);
	return (p);
}

#endif /* LIB_ALLOC_H */
