/*
 * pool/pool.h: the microVMs of the microvm pools, and the thread that
 * supervises them.
 *
 * One pool thread per corral process (struct pool_group) runs its own
 * event_base and owns every struct pool: it spawns the corral-vmm
 * processes, health-checks them, replaces, scales and recycles them.
 * Workers never touch that state: they see each pool as a fixed array
 * of slots (one possible VM each, with a stable vsock socket path) and
 * read which slots are READY from an immutable, refcounted snapshot
 * (struct pool_set), plus per-slot atomic counters.
 */
#ifndef POOL_POOL_H
#define POOL_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conf;
struct conf_pool;
struct event_base;
struct pool;		/* opaque; the pool thread's */
struct pool_group;	/* opaque; the pool thread itself */
struct pool_set;	/* opaque, immutable: the READY slots at one instant */

/*
 * Slots of the microvm pool <cp>: size.max plus room for replacements
 * made before the old VM is stopped.  Fixed for the pool's lifetime.
 */
size_t		 pool_nslots(const struct conf_pool *cp);

/*
 * The vsock socket of slot <slot> of <cp> in this process: the same path
 * whichever VM occupies the slot.  0, or -1 (ENAMETOOLONG).
 */
int		 pool_vsock_path(const struct conf_pool *cp, size_t slot,
		    char *buf, size_t len);

/*
 * One pool on <base>'s loop (the pool thread's); <cp> is copied.  Boots
 * nothing until pool_start().  NULL on error, already logged.
 */
struct pool	*pool_new(struct event_base *base, const struct conf_pool *cp);
/* Starts booting size.min VMs.  Pool thread.  0 or -1. */
int		 pool_start(struct pool *pool);
/*
 * Stops every VM (SIGTERM, then SIGKILL after a grace period), waits for
 * them, removes their sockets and the run directory, frees.  Blocks;
 * call it when nothing else uses the pool.  NULL is a no-op.
 */
void		 pool_free(struct pool *pool);
const char	*pool_name(const struct pool *pool);

/* Any thread: the current snapshot with a reference held. */
struct pool_set	*pool_set_get(struct pool *pool);
void		 pool_set_put(struct pool_set *set);	/* NULL: no-op */
/* Whether slot <slot> is READY in <set>; how many are. */
bool		 pool_set_ready(const struct pool_set *set, size_t slot);
size_t		 pool_set_count(const struct pool_set *set);

/*
 * Any thread, for the data path.  <slot> < pool_nslots().
 * pool_slot_room(): whether the slot's VM may take one more request
 * (max_inflight_per_vm).  acquire/release count requests in flight (and
 * requests served, for recycling).  pool_slot_failure() is a passive
 * signal (connect failure, reset, 5xx): the pool checks that VM at once.
 * pool_demand(): a request found no VM ready (min: 0 cold boot).
 */
bool		 pool_slot_room(struct pool *pool, size_t slot);
void		 pool_slot_acquire(struct pool *pool, size_t slot);
void		 pool_slot_release(struct pool *pool, size_t slot);
void		 pool_slot_failure(struct pool *pool, size_t slot);
void		 pool_demand(struct pool *pool);

/*
 * The FIFO of requests waiting for a VM with room (queue.length long,
 * shared by every worker).  pool_queue_enter() gives the newcomer a
 * ticket, or 0 if the queue is full (or has length 0).  A waiting
 * request may take a VM when its position (0: the oldest) is below the
 * number of VMs with room; it leaves with pool_queue_leave() whether it
 * got one, timed out or went away.  Any thread; a short lock.
 */
uint64_t	 pool_queue_enter(struct pool *pool);
void		 pool_queue_leave(struct pool *pool, uint64_t ticket);
size_t		 pool_queue_position(struct pool *pool, uint64_t ticket);
size_t		 pool_queue_length(struct pool *pool);
/* queue.timeout of the pool, in ms. */
uint64_t	 pool_queue_timeout(const struct pool *pool);

/* A status snapshot for the admin listener (later) and the tests. */
struct pool_status {
	size_t		 ps_booting;
	size_t		 ps_ready;
	size_t		 ps_draining;
	size_t		 ps_target;
	uint64_t	 ps_boots;	/* VMs started */
	uint64_t	 ps_exits;	/* VMs that went away unasked */
	size_t		 ps_queued;	/* requests waiting for a VM */
	bool		 ps_degraded;	/* crash loop: backing off */
};
/* Pool thread only (e.g. from a callback run there). */
void		 pool_status(const struct pool *pool, struct pool_status *st);

/*
 * The pool thread for every microvm pool of <conf> (which may be freed
 * after the call: what is needed is copied).  Removes stale run
 * directories of dead corral processes.  NULL on error, logged; a conf
 * without microvm pools gets a group that starts no thread.
 */
struct pool_group	*pool_group_new(const struct conf *conf);
/* Starts the thread; the VMs boot from there.  0 or -1. */
int			 pool_group_start(struct pool_group *g);
/* The pool named <name>, or NULL. */
struct pool		*pool_group_find(struct pool_group *g,
			    const char *name);
/* Stops every VM, joins the thread, frees.  NULL is a no-op. */
void			 pool_group_free(struct pool_group *g);

#endif /* POOL_POOL_H */
