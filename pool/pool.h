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
 * (struct pool_set), plus per-slot atomic counters.  The admin listener
 * reads everything else from another snapshot (struct pool_info), and
 * asks for a replacement with pool_replace().
 */
#ifndef POOL_POOL_H
#define POOL_POOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pool/member.h"

struct conf;
struct conf_pool;
struct event;
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
 *
 * <wake> (NULL: none) is called whenever the waiter may have come into
 * turn: a slot released, the ready set published, someone ahead left.
 * It runs on whatever thread made the change, under the queue's lock,
 * so it only tells the waiter's thread to look (it must not block or
 * call the pool), and it must outlive the ticket.  A waiter looks once
 * more after it enters, for room that appeared before it did.
 */
struct pool_waker {
	void		(*pw_wake)(struct pool_waker *pw);
};
uint64_t	 pool_queue_enter(struct pool *pool, struct pool_waker *wake);
void		 pool_queue_leave(struct pool *pool, uint64_t ticket);
size_t		 pool_queue_position(struct pool *pool, uint64_t ticket);
/*
 * The newest ticket among the first <n> waiters (0 if <n> is 0, and
 * UINT64_MAX if fewer wait): with <n> VMs with room, exactly the tickets
 * up to it are in turn.  Tickets grow, so one call answers for every
 * waiter of the pool.
 */
uint64_t	 pool_queue_turn_max(struct pool *pool, size_t n);
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
 * A histogram: a count per bucket (not cumulative) and the sum.  Bucket
 * i < ph_n - 1 holds values up to ph_bounds_us[i]; the last is +Inf.
 */
#define POOL_HIST_MAX	16
struct pool_hist {
	const uint64_t	*ph_bounds_us;	/* static; ph_n - 1 of them */
	size_t		 ph_n;
	uint64_t	 ph_count[POOL_HIST_MAX];
	uint64_t	 ph_sum_us;
};
/* Counts <us> into <h>.  The caller keeps <h> to one thread or a lock. */
void		 pool_hist_add(struct pool_hist *h, uint64_t us);

/* One VM (a slot not STOPPED) in a struct pool_info. */
struct pool_vm_info {
	size_t			 vi_slot;	/* "vm 3" in the logs */
	uint64_t		 vi_boot;	/* the pool's boot number */
	enum member_state	 vi_state;
	long			 vi_pid;	/* -1: none */
	unsigned		 vi_cid;
	uint64_t		 vi_spawn_ns;	/* monotonic (lib/mtime.h) */
	uint64_t		 vi_ready_ns;	/* 0: never ready */
	uint64_t		 vi_state_ns;	/* entered vi_state */
	bool			 vi_replacing;	/* serving until replaced */
	enum member_why		 vi_why;	/* why it leaves; NONE */
	char			 vi_health[48];	/* last probe: "ok", "timeout",
						   "status 503"; "": none */
	uint64_t		 vi_health_ns;	/* its time; 0: none */
	unsigned		 vi_health_ok;	/* results in a row */
	unsigned		 vi_health_fail;
	bool			 vi_out;	/* READY, out of rotation */
};

/*
 * Everything the pool thread knows about one pool, at one instant:
 * published after every change, immutable, freed by the last
 * pool_info_put().  What the workers count (requests in flight, the
 * queue) is not in it: read those live with pool_slot_counts() and
 * pool_queue_*().
 */
struct pool_info {
	_Atomic unsigned	 pi_refs;	/* pool_info_get/_put's */
	const char		*pi_name;	/* valid while the pool is */
	uint64_t		 pi_start_ns;	/* pool_start(); 0: not yet */
	unsigned		 pi_min;	/* size */
	unsigned		 pi_max;
	unsigned		 pi_target;	/* VMs wanted now */
	size_t			 pi_nslots;
	size_t			 pi_queue_max;	/* queue.length */
	bool			 pi_degraded;	/* crash loop: backing off */
	unsigned		 pi_crashes;	/* failed boots in a row */
	uint64_t		 pi_boots;	/* VMs started */
	uint64_t		 pi_exits[MEMBER_NWHY];	/* by reason */
	uint64_t		 pi_replaced[MEMBER_NWHY]; /* by reason */
	size_t			 pi_nstate[MEMBER_NSTATES]; /* VMs by state */
	struct pool_hist	 pi_boot_time;	/* spawn to ready */
	size_t			 pi_nvms;
	struct pool_vm_info	 pi_vms[];	/* by slot */
};

/* Any thread: the current pool_info with a reference held. */
struct pool_info *pool_info_get(struct pool *pool);
void		 pool_info_put(struct pool_info *pi);	/* NULL: no-op */

/* Any thread: slot <slot>'s requests in flight and served since boot. */
void		 pool_slot_counts(struct pool *pool, size_t slot,
		    uint32_t *inflight, uint64_t *requests);

/* Any thread: how long requests waited in the queue (a copy). */
void		 pool_queue_waits(struct pool *pool, struct pool_hist *h);

/*
 * Any thread: replace the VM in slot <slot> (make-before-break for a
 * READY one: it serves until its replacement is ready; a BOOTING one is
 * stopped and booted again).  The pool thread does it soon after; the
 * VM as the current pool_info shows it is copied to <vi>.  0; -1 with
 * ENOENT if the slot has no VM, EALREADY if it is already leaving
 * (draining, failed).
 */
int		 pool_replace(struct pool *pool, size_t slot,
		    struct pool_vm_info *vi);

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
