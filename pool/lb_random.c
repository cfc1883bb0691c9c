/*
 * pool/lb_random.c: weighted random choice among the usable targets,
 * stateless apart from the worker's generator.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pool/lb.h"

struct lb_random {
	const struct lb_target	*rd_t;
	size_t			 rd_n;
};

static void *
lb_random_new(const struct lb_target *t, size_t n)
{
	struct lb_random	*rd;

	if ((rd = calloc(1, sizeof(*rd))) == NULL)
		return NULL;
	rd->rd_t = t;
	rd->rd_n = n;
	return rd;
}

static void
lb_random_free(void *st)
{
	free(st);
}

static long
lb_random_pick(void *st, uint64_t hash, uint64_t rnd,
    const struct lb_filter *f)
{
	struct lb_random	*rd = st;

	(void)hash;
	return lb_draw(rd->rd_t, rd->rd_n, rnd, -1, f);
}

const struct lb_ops lb_random_ops = {
	.lo_name = "random",
	.lo_new = lb_random_new,
	.lo_free = lb_random_free,
	.lo_pick = lb_random_pick,
};
