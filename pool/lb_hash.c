/*
 * pool/lb_hash.c: consistent hashing on a ring (the ketama scheme).  Each
 * target owns a number of points on a 64-bit ring in proportion to its
 * weight, placed by hashing "<key>#<n>"; a request goes to the owner of
 * the first point at or after its hash.  Taking a target out moves only
 * the requests that hashed to its points, and only to their next owners;
 * adding one takes only its new points' share.  An unusable target is
 * skipped by walking on along the ring, so its keys spread over the others
 * instead of piling onto one neighbour.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool/lb.h"

#define LB_HASH_POINTS		160	/* per target of average weight */
#define LB_HASH_RING_MAX	(1U << 16)

struct lb_hash_point {
	uint64_t	 hp_hash;
	uint32_t	 hp_target;
};

struct lb_hash {
	size_t			 lh_n;
	size_t			 lh_npoints;
	struct lb_hash_point	 lh_ring[];
};

static int
lb_hash_cmp(const void *a, const void *b)
{
	const struct lb_hash_point	*pa = a, *pb = b;

	if (pa->hp_hash != pb->hp_hash)
		return pa->hp_hash < pb->hp_hash ? -1 : 1;
	/* Ties (vanishingly rare) broken by target, so the order is total. */
	return pa->hp_target < pb->hp_target ? -1 :
	    pa->hp_target > pb->hp_target;
}

static void *
lb_hash_new(const struct lb_target *t, size_t n)
{
	struct lb_hash	*lh;
	uint64_t	*points, wsum = 0, total = 0, scaled;
	char		 buf[512];
	size_t		 i, j, k = 0;
	int		 len;

	if ((points = calloc(n ? n : 1, sizeof(*points))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		wsum += t[i].lt_weight ? t[i].lt_weight : 1;
	for (i = 0; i < n; i++) {
		/* Rounded up, so every target has at least one point. */
		points[i] = (LB_HASH_POINTS * n * (t[i].lt_weight ?
		    t[i].lt_weight : 1) + wsum - 1) / wsum;
		total += points[i];
	}
	if (total > LB_HASH_RING_MAX) {
		/* Very large pools: fewer points each, still at least one. */
		for (scaled = 0, i = 0; i < n; i++) {
			points[i] = points[i] * LB_HASH_RING_MAX / total;
			if (points[i] == 0)
				points[i] = 1;
			scaled += points[i];
		}
		total = scaled;
	}
	if ((lh = calloc(1, sizeof(*lh) + total * sizeof(lh->lh_ring[0]))) ==
	    NULL) {
		free(points);
		return NULL;
	}
	lh->lh_n = n;
	for (i = 0; i < n; i++) {
		for (j = 0; j < points[i]; j++) {
			len = snprintf(buf, sizeof(buf), "%s#%zu",
			    t[i].lt_key, j);
			if (len < 0 || (size_t)len >= sizeof(buf))
				len = (int)sizeof(buf) - 1;
			lh->lh_ring[k].hp_hash = lb_hash_bytes(buf, (size_t)len);
			lh->lh_ring[k].hp_target = (uint32_t)i;
			k++;
		}
	}
	free(points);
	lh->lh_npoints = k;
	qsort(lh->lh_ring, k, sizeof(lh->lh_ring[0]), lb_hash_cmp);
	return lh;
}

static void
lb_hash_free(void *st)
{
	free(st);
}

static long
lb_hash_pick(void *st, uint64_t hash, uint64_t rnd, const struct lb_filter *f)
{
	struct lb_hash	*lh = st;
	size_t		 lo = 0, hi, i, idx;

	(void)rnd;
	if (lh->lh_npoints == 0)
		return -1;
	/* First point with hp_hash >= hash; past the end wraps to 0. */
	hi = lh->lh_npoints;
	while (lo < hi) {
		i = lo + (hi - lo) / 2;
		if (lh->lh_ring[i].hp_hash < hash)
			lo = i + 1;
		else
			hi = i;
	}
	for (i = 0; i < lh->lh_npoints; i++) {
		idx = (lo + i) % lh->lh_npoints;
		if (lb_usable(f, lh->lh_ring[idx].hp_target))
			return (long)lh->lh_ring[idx].hp_target;
	}
	return -1;
}

const struct lb_ops lb_hash_ops = {
	.lo_name = "hash",
	.lo_new = lb_hash_new,
	.lo_free = lb_hash_free,
	.lo_pick = lb_hash_pick,
};
