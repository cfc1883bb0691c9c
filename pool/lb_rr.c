/*
 * pool/lb_rr.c: smooth weighted round robin, as nginx does it.  Each pick
 * adds every usable target's weight to its current weight, takes the
 * largest, and subtracts the total from the winner: weights 5,1,1 give
 * a a b a c a a rather than a a a a a b c, so no backend sees a burst.
 * Targets that are not usable neither gain nor lose, so an ejected one
 * comes back without a backlog of turns.
 */
#include <stdint.h>
#include <stdlib.h>

#include "pool/lb.h"

struct lb_rr {
	const struct lb_target	*rr_t;
	size_t			 rr_n;
	int64_t			 rr_cur[];	/* current weight per target */
};

static void *
lb_rr_new(const struct lb_target *t, size_t n)
{
	struct lb_rr	*rr;

	if ((rr = calloc(1, sizeof(*rr) + n * sizeof(rr->rr_cur[0]))) == NULL)
		return NULL;
	rr->rr_t = t;
	rr->rr_n = n;
	return rr;
}

static void
lb_rr_free(void *st)
{
	free(st);
}

static long
lb_rr_pick(void *st, uint64_t hash, uint64_t rnd, const struct lb_filter *f)
{
	struct lb_rr	*rr = st;
	int64_t		 total = 0;
	long		 best = -1;
	size_t		 i;

	(void)hash;
	(void)rnd;
	for (i = 0; i < rr->rr_n; i++) {
		if (!lb_usable(f, i))
			continue;
		rr->rr_cur[i] += rr->rr_t[i].lt_weight;
		total += rr->rr_t[i].lt_weight;
		if (best == -1 || rr->rr_cur[i] > rr->rr_cur[best])
			best = (long)i;
	}
	if (best != -1)
		rr->rr_cur[best] -= total;
	return best;
}

const struct lb_ops lb_rr_ops = {
	.lo_name = "round_robin",
	.lo_new = lb_rr_new,
	.lo_free = lb_rr_free,
	.lo_pick = lb_rr_pick,
};
