/*
 * lib/bufmem.c: libevent's allocator, with a per-thread cache of
 * power-of-two blocks (see bufmem.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/bufmem.h"
#include "lib/log.h"

#define BUFMEM_MIN_SHIFT	9	/* 512 bytes: libevent's smallest */
#define BUFMEM_MAX_SHIFT	17	/* 128 KiB: conn.c's largest read */
#define BUFMEM_NCLASS		(BUFMEM_MAX_SHIFT - BUFMEM_MIN_SHIFT + 1)
#define BUFMEM_KEEP_BYTES	(128 * 1024)	/* per class and thread */
#define BUFMEM_KEEP_MAX		64		/* blocks, per class */
#define BUFMEM_NONE		0xffu		/* not a cached size */
#define BUFMEM_MAGIC		0x6275666du	/* handed out */
#define BUFMEM_MAGIC_KEPT	0x6b657074u	/* in a cache */

/* Before every block; 16 bytes, so the block stays aligned for anything. */
struct bufmem_hdr {
	size_t		 bh_size;
	uint32_t	 bh_class;	/* BUFMEM_NONE or a class */
	uint32_t	 bh_magic;
};
_Static_assert(sizeof(struct bufmem_hdr) == 16, "bufmem header size");

/* A cached block: the header, then the link where the data was. */
struct bufmem_free {
	struct bufmem_hdr	 bf_hdr;
	struct bufmem_free	*bf_next;
};

struct bufmem_cache {
	struct bufmem_free	*bc_head[BUFMEM_NCLASS];
	unsigned		 bc_n[BUFMEM_NCLASS];
	int			 bc_keyed;	/* bufmem_key set */
};

static __thread struct bufmem_cache	 bufmem_cache;
static pthread_key_t			 bufmem_key;
static pthread_once_t			 bufmem_once = PTHREAD_ONCE_INIT;
static atomic_size_t			 bufmem_nblocks;	/* from malloc */

static void	bufmem_release(struct bufmem_hdr *h);
static void	bufmem_thread_end(void *arg);
static void	bufmem_key_init(void);

/* The class of <size> if it is a cached power of two; else BUFMEM_NONE. */
static inline unsigned
bufmem_class(size_t size)
{
	unsigned	 shift;

	if (size < ((size_t)1 << BUFMEM_MIN_SHIFT) ||
	    size > ((size_t)1 << BUFMEM_MAX_SHIFT) || (size & (size - 1)) != 0)
		return (BUFMEM_NONE);
	shift = (unsigned)__builtin_ctzl(size);
	return (shift - BUFMEM_MIN_SHIFT);
}

static inline unsigned
bufmem_keep(unsigned cls)
{
	size_t	 n = BUFMEM_KEEP_BYTES >> (cls + BUFMEM_MIN_SHIFT);

	if (n == 0)
		n = 1;
	return (n < BUFMEM_KEEP_MAX ? (unsigned)n : BUFMEM_KEEP_MAX);
}

/* Back to malloc. */
static void
bufmem_release(struct bufmem_hdr *h)
{
	h->bh_magic = 0;
	free(h);
	atomic_fetch_sub_explicit(&bufmem_nblocks, 1, memory_order_relaxed);
}

/*
 * Run at a thread's end by pthreads: its cache goes back to malloc.  A
 * block freed later in the thread's exit (another key's destructor) sets
 * the key again, and pthreads runs this again.
 */
static void
bufmem_thread_end(void *arg)
{
	struct bufmem_cache	*c = arg;

	c->bc_keyed = 0;
	bufmem_flush();
}

static void
bufmem_key_init(void)
{
	if (pthread_key_create(&bufmem_key, bufmem_thread_end) != 0)
		fatalx("bufmem: no thread-specific key");
}

void *
bufmem_malloc(size_t size)
{
	struct bufmem_cache	*c = &bufmem_cache;
	struct bufmem_hdr	*h;
	struct bufmem_free	*f;
	unsigned		 cls = bufmem_class(size);

	if (cls != BUFMEM_NONE && (f = c->bc_head[cls]) != NULL) {
		CACHE_UNPOISON_N(f, sizeof(f->bf_hdr) + size);
		ASSERT(f->bf_hdr.bh_magic == BUFMEM_MAGIC_KEPT);
		c->bc_head[cls] = f->bf_next;
		c->bc_n[cls]--;
		f->bf_hdr.bh_magic = BUFMEM_MAGIC;
		return (&f->bf_hdr + 1);
	}
	if (size > SIZE_MAX - sizeof(*h) || (h = malloc(sizeof(*h) + size)) ==
	    NULL)
		return (NULL);
	atomic_fetch_add_explicit(&bufmem_nblocks, 1, memory_order_relaxed);
	h->bh_size = size;
	h->bh_class = cls;
	h->bh_magic = BUFMEM_MAGIC;
	return (h + 1);
}

void
bufmem_free(void *p)
{
	struct bufmem_cache	*c = &bufmem_cache;
	struct bufmem_hdr	*h;
	struct bufmem_free	*f;
	unsigned		 cls;

	if (p == NULL)
		return;
	h = (struct bufmem_hdr *)p - 1;
	ASSERT(h->bh_magic == BUFMEM_MAGIC);
	cls = h->bh_class;
	if (cls == BUFMEM_NONE || c->bc_n[cls] >= bufmem_keep(cls)) {
		bufmem_release(h);
		return;
	}
	if (!c->bc_keyed) {
		pthread_once(&bufmem_once, bufmem_key_init);
		if (pthread_setspecific(bufmem_key, c) != 0) {
			bufmem_release(h);
			return;
		}
		c->bc_keyed = 1;
	}
	/*
	 * Marked, and under ASan poisoned header and all: freeing it again
	 * fails the magic check above, or is reported by ASan.
	 */
	f = (struct bufmem_free *)h;
	h->bh_magic = BUFMEM_MAGIC_KEPT;
	f->bf_next = c->bc_head[cls];
	c->bc_head[cls] = f;
	c->bc_n[cls]++;
	CACHE_POISON_N(f, sizeof(*h) + h->bh_size);
}

void *
bufmem_realloc(void *p, size_t size)
{
	struct bufmem_hdr	*h, *n;
	void			*q;

	if (p == NULL)
		return (bufmem_malloc(size));
	h = (struct bufmem_hdr *)p - 1;
	ASSERT(h->bh_magic == BUFMEM_MAGIC);
	if (h->bh_class == BUFMEM_NONE && bufmem_class(size) == BUFMEM_NONE) {
		if (size > SIZE_MAX - sizeof(*h) ||
		    (n = realloc(h, sizeof(*h) + size)) == NULL)
			return (NULL);
		n->bh_size = size;
		return (n + 1);
	}
	/* A cached size on either side: a new block, so classes stay true. */
	if ((q = bufmem_malloc(size)) == NULL)
		return (NULL);
	memcpy(q, p, h->bh_size < size ? h->bh_size : size);
	bufmem_free(p);
	return (q);
}

void
bufmem_flush(void)
{
	struct bufmem_cache	*c = &bufmem_cache;
	struct bufmem_free	*f;
	unsigned		 cls;

	for (cls = 0; cls < BUFMEM_NCLASS; cls++) {
		while ((f = c->bc_head[cls]) != NULL) {
			CACHE_UNPOISON_N(f, sizeof(f->bf_hdr) +
			    ((size_t)1 << (cls + BUFMEM_MIN_SHIFT)));
			c->bc_head[cls] = f->bf_next;
			bufmem_release(&f->bf_hdr);
		}
		c->bc_n[cls] = 0;
	}
}

size_t
bufmem_cached(void)
{
	size_t		 n = 0;
	unsigned	 cls;

	for (cls = 0; cls < BUFMEM_NCLASS; cls++)
		n += bufmem_cache.bc_n[cls];
	return (n);
}

size_t
bufmem_blocks(void)
{
	return (atomic_load_explicit(&bufmem_nblocks, memory_order_relaxed));
}
