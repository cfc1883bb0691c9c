/*
 * lib/alloc.h: helpers for the per-thread caches of objects made and
 * freed per connection (proxy/conn.c, proxy/session.c, proxy/http.c)
 * and of libevent's buffer memory (lib/bufmem.c).
 */
#ifndef LIB_ALLOC_H
#define LIB_ALLOC_H

#include <stddef.h>

/*
 * An object waiting in such a cache is poisoned under AddressSanitizer,
 * so that a use after free is caught as if it had been freed; taking it
 * out unpoisons it.  The caches run under ASan as they do in production.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define CACHE_POISON_N(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define CACHE_UNPOISON_N(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define CACHE_POISON_N(p, n)	((void)(p), (void)(n))
#define CACHE_UNPOISON_N(p, n)	((void)(p), (void)(n))
#endif
#define CACHE_POISON(p)		CACHE_POISON_N((p), sizeof(*(p)))
#define CACHE_UNPOISON(p)	CACHE_UNPOISON_N((p), sizeof(*(p)))

/*
 * <n> rounded up so that what follows it in the same allocation (the
 * libevent events a conn or a session carries) is aligned for anything.
 */
#define ALLOC_ALIGN(n)		(((n) + 15) & ~(size_t)15)

#endif /* LIB_ALLOC_H */
