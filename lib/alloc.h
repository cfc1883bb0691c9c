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

/*
 * An object waiting in such a cache is poisoned under AddressSanitizer,
 * so that a use after free is caught as if it had been freed; taking it
 * out unpoisons it.  The caches run under ASan as they do in production.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CACHE_POISON(p)		ASAN_POISON_MEMORY_REGION((p), sizeof(*(p)))
#define CACHE_UNPOISON(p)	ASAN_UNPOISON_MEMORY_REGION((p), sizeof(*(p)))
#else
#define CACHE_POISON(p)		((void)(p))
#define CACHE_UNPOISON(p)	((void)(p))
#endif

static inline void *
zalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size)) != NULL)
		memset(p, 0, size);
	return (p);
}

#endif /* LIB_ALLOC_H */
