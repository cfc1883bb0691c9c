/*
 * pool/lb_lr.c: least request by the power of two choices.  Two distinct
 * usable targets are drawn at random (weighted) and the one with fewer
 * requests in flight per unit of weight wins.  Scanning for the global
 * minimum would send every worker's next request to the same backend;
 * two random choices keep nearly all of the benefit without the herd.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "pool/lb.h"

struct lb_lr {
	const struct lb_target	*lr_t;
	size_t			 lr_n;
};

static void *
lb_lr_new(const struct lb_target *t, size_t n)
{
	struct lb_lr	*lr;

	if ((lr = calloc(1, sizeof(*lr))) == NULL)
		return NULL;
	lr->lr_t = t;
	lr->lr_n = n;
	return lr;
}

static void
lb_lr_free(void *st)
{
	free(st);
}

static uint32_t
lb_lr_load(const struct lb_target *t)
{
	return t->lt_inflight == NULL ? 0 :
	    atomic_load_explicit(t->lt_inflight, memory_order_relaxed);
}

static long
lb_lr_pick(void *st, uint64_t hash, uint64_t rnd, const struct lb_filter *f)
{
	struct lb_lr	*lr = st;
	long		 a, b;
	uint64_t	 la, lb;

	(void)hash;
	if ((a = lb_draw(lr->lr_t, lr->lr_n, rnd, -1, f)) == -1)
		return -1;
	/* A second draw, independent of the first, from the same number. */
	if ((b = lb_draw(lr->lr_t, lr->lr_n, lb_hash_bytes(&rnd, sizeof(rnd)),
	    a, f)) == -1)
		return a;
	/* load_a / w_a < load_b / w_b, without division. */
	la = (uint64_t)lb_lr_load(&lr->lr_t[a]) * lr->lr_t[b].lt_weight;
	lb = (uint64_t)lb_lr_load(&lr->lr_t[b]) * lr->lr_t[a].lt_weight;
	if (la != lb)
		return la < lb ? a : b;
	return (rnd >> 17) & 1 ? a : b;
}

const struct lb_ops lb_lr_ops = {
	.lo_name = "least_request",
	.lo_new = lb_lr_new,
	.lo_free = lb_lr_free,
	.lo_pick = lb_lr_pick,
};
