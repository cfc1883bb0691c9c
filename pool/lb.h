/*
 * pool/lb.h: load-balancing algorithms behind one ops table, one file
 * each (lb_rr.c, lb_lr.c, lb_random.c, lb_hash.c).
 *
 * An algorithm sees an array of targets (the backends of one pool as one
 * worker knows them) and returns the index of the one to use.  Its state
 * is built for one array and belongs to one worker thread, so picking
 * takes no lock; only the in-flight counters are shared between workers,
 * and they are atomics.  When the set of backends changes the caller
 * builds new state.
 */
#ifndef POOL_LB_H
#define POOL_LB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lb_target {
	const char		*lt_key;	/* stable identity, hashed */
	uint32_t		 lt_weight;	/* 1..1000 */
	const _Atomic uint32_t	*lt_inflight;	/* requests under way, or NULL */
};

/*
 * Whether target <i> may be picked now (not ejected, not already tried by
 * this request, ...).  A NULL predicate means every target may.
 */
struct lb_filter {
	bool		(*lf_usable)(void *arg, size_t i);
	void		 *lf_arg;
};

struct lb_ops {
	const char	*lo_name;
	/*
	 * State for the <n> targets at <t>, which the caller keeps alive and
	 * unchanged for the state's lifetime.  NULL on allocation failure.
	 */
	void		*(*lo_new)(const struct lb_target *t, size_t n);
	void		 (*lo_free)(void *st);		/* NULL is a no-op */
	/*
	 * Index of the chosen target, or -1 if no target is usable.
	 * <hash> is the request's key hash (lb_hash only); <rnd> is a fresh
	 * random number from the worker's generator.
	 */
	long		 (*lo_pick)(void *st, uint64_t hash, uint64_t rnd,
			    const struct lb_filter *f);
};

extern const struct lb_ops lb_rr_ops;		/* smooth weighted round robin */
extern const struct lb_ops lb_lr_ops;		/* least request, two choices */
extern const struct lb_ops lb_random_ops;	/* weighted random */
extern const struct lb_ops lb_hash_ops;		/* consistent hashing */

/* The ops named <name> ("round_robin", ...), or NULL. */
const struct lb_ops	*lb_find(const char *name);

/*
 * Weighted random draw among the usable targets of <t>[<n>] other than
 * <skip> (-1 for none), driven by <rnd>.  -1 if none is usable.
 */
long			 lb_draw(const struct lb_target *t, size_t n,
			    uint64_t rnd, long skip, const struct lb_filter *f);

/* A 64-bit hash of <len> bytes for keys (FNV-1a, then a finaliser). */
uint64_t		 lb_hash_bytes(const void *p, size_t len);

/* xorshift64*: a worker's cheap generator; <state> must not be 0. */
uint64_t		 lb_rand(uint64_t *state);

/* The same test every algorithm makes. */
static inline bool
lb_usable(const struct lb_filter *f, size_t i)
{
	return f == NULL || f->lf_usable == NULL ||
	    f->lf_usable(f->lf_arg, i);
}

#endif /* POOL_LB_H */
