/*
 * conf/conf_arena.c: bump allocation for configuration data.
 *
 * A struct conf is hundreds of small strings and arrays that live and die
 * together, so they come from one arena: a list of chunks, each carved
 * front to back, all freed by conf_arena_free().  Requests larger than a
 * chunk get a chunk of their own.  One thread uses an arena at a time.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf_priv.h"

#define CONF_ARENA_CHUNK	(16u << 10)
#define CONF_ARENA_ALIGN	16u

struct conf_arena_chunk {
	struct conf_arena_chunk	*ac_next;
	size_t			 ac_size;	/* bytes in ac_data */
	size_t			 ac_used;
	_Alignas(16) unsigned char ac_data[];
};

struct conf_arena {
	struct conf_arena_chunk	*ar_chunks;	/* newest first */
};

struct conf_arena *
conf_arena_new(void)
{
	return calloc(1, sizeof(struct conf_arena));
}

void
conf_arena_free(struct conf_arena *ar)
{
	struct conf_arena_chunk	*c, *next;

	if (ar == NULL)
		return;
	for (c = ar->ar_chunks; c != NULL; c = next) {
		next = c->ac_next;
		free(c);
	}
	free(ar);
}

void *
conf_arena_alloc(struct conf_arena *ar, size_t size)
{
	struct conf_arena_chunk	*c = ar->ar_chunks;
	size_t			 need, csize;
	void			*p;

	if (size > SIZE_MAX - CONF_ARENA_CHUNK)
		return NULL;
	need = (size + CONF_ARENA_ALIGN - 1) & ~(size_t)(CONF_ARENA_ALIGN - 1);
	if (need == 0)
		need = CONF_ARENA_ALIGN;
	if (c == NULL || c->ac_size - c->ac_used < need) {
		csize = need > CONF_ARENA_CHUNK ? need : CONF_ARENA_CHUNK;
		if ((c = calloc(1, sizeof(*c) + csize)) == NULL)
			return NULL;
		c->ac_size = csize;
		/* A big private chunk goes behind the current one. */
		if (need > CONF_ARENA_CHUNK && ar->ar_chunks != NULL) {
			c->ac_next = ar->ar_chunks->ac_next;
			ar->ar_chunks->ac_next = c;
		} else {
			c->ac_next = ar->ar_chunks;
			ar->ar_chunks = c;
		}
	}
	p = c->ac_data + c->ac_used;
	c->ac_used += need;
	return p;
}

void *
conf_arena_calloc(struct conf_arena *ar, size_t n, size_t size)
{
	size_t	total;

	if (__builtin_mul_overflow(n, size, &total))
		return NULL;
	return conf_arena_alloc(ar, total);
}

char *
conf_arena_strdup(struct conf_arena *ar, const char *s)
{
	size_t	 len = strlen(s);
	char	*p;

	if ((p = conf_arena_alloc(ar, len + 1)) == NULL)
		return NULL;
	memcpy(p, s, len + 1);
	return p;
}
