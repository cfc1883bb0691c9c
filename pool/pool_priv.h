/*
 * pool/pool_priv.h: what pool.c, pool_set.c, member.c, spawn.c and
 * health.c share: the pool, its members (one per slot) and the
 * snapshots.  Nothing outside pool/ includes this file.
 */
#ifndef POOL_POOL_PRIV_H
#define POOL_POOL_PRIV_H

#include <sys/types.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "pool/member.h"
#include "pool/pool.h"

struct event;
struct event_base;
struct health_probe;

#define POOL_MAGIC		0x9001c0de
#define MEMBER_MAGIC		0x3e3be500

#define POOL_TICK_MS		100	/* reconcile, scaling, recycling */
#define POOL_BOOT_POLL_MS	5	/* probes while booting */
#define POOL_BOOT_TIMEOUT_MS	30000	/* nested KVM can be slow */
#define POOL_BOOTS_PER_CPU	4	/* VMs booting at once, per CPU */
#define POOL_STOP_GRACE_MS	2000	/* SIGTERM, then SIGKILL */
#define POOL_DRAIN_MAX_MS	30000	/* draining VM: stop anyway */

/*
 * Shared with the workers through the pool: written with atomics by any
 * thread, read by the pool thread.  Outlives every member of the slot.
 */
struct pool_slot {
	_Atomic uint32_t	 sl_inflight;
	_Atomic uint64_t	 sl_requests;	/* since the slot's last boot */
	_Atomic uint32_t	 sl_failures;	/* passive signals, unseen */
	_Atomic uint64_t	 sl_replace;	/* boot number to replace */
};

/* Immutable once published; freed by the last pool_set_put(). */
struct pool_set {
	_Atomic unsigned	 st_refs;
	size_t			 st_nslots;
	size_t			 st_nready;
	bool			 st_ready[];	/* per slot */
};

/* One VM, in slot m_slot.  Owned by its pool (p_members[m_slot]). */
struct member {
	unsigned		 magic;
	struct pool		*m_pool;
	size_t			 m_slot;
	unsigned		 m_cid;
	uint64_t		 m_boot;	/* the pool's boot number */
	enum member_state	 m_state;
	struct member_health	 m_health;
	pid_t			 m_pid;		/* -1: none */
	int			 m_pidfd;	/* -1: none */
	struct event		*m_ev_exit;	/* m_pidfd readable */
	struct event		*m_ev_timer;	/* next probe, deadlines */
	struct health_probe	*m_probe;	/* under way, or NULL */
	struct health_conn	*m_hconn;	/* kept for the next probe */
	uint64_t		 m_spawn_ns;
	uint64_t		 m_ready_ns;
	uint64_t		 m_state_ns;	/* entered m_state */
	bool			 m_recycle;	/* replace make-before-break */
	enum member_why		 m_why;		/* why it leaves; NONE */
	int			 m_health_res;	/* last probe; -1: none */
	int			 m_health_status;
	uint64_t		 m_health_ns;
	bool			 m_killed;	/* SIGKILL sent */
	bool			 m_termed;	/* SIGTERM sent */
	char			 m_sock[108];	/* sun_path */
};

/* The pool thread's; see pool.h. */
struct pool {
	unsigned		 magic;
	struct event_base	*p_base;
	char			*p_name;
	struct conf_pool	 p_conf;	/* strings are p_strs' */
	char			*p_strs[8];	/* copies p_conf points at */
	char			 p_dir[PATH_MAX];
	char			 p_vmm[PATH_MAX];	/* corral-vmm */
	size_t			 p_nslots;
	struct member		*p_members;	/* per slot */
	struct pool_slot	*p_slots;	/* per slot */

	pthread_mutex_t		 p_set_lock;	/* p_set */
	struct pool_set		*p_set;

	pthread_mutex_t		 p_q_lock;	/* the queue: */
	uint64_t		*p_q;		/* tickets, oldest first */
	size_t			 p_q_n;
	size_t			 p_q_max;	/* queue.length */
	uint64_t		 p_q_next;	/* the next ticket */
	uint64_t		*p_q_ns;	/* when each entered */
	struct pool_waker	**p_q_wake;	/* each one's worker's */
	_Atomic size_t		 p_q_waiting;	/* p_q_n, read unlocked */
	struct pool_hist	 p_q_waits;	/* how long they waited */

	pthread_mutex_t		 p_info_lock;	/* p_info */
	struct pool_info	*p_info;
	bool			 p_info_dirty;	/* publish at the end */

	struct event		*p_ev_tick;
	struct event		*p_ev_kick;	/* workers -> pool thread */
	_Atomic bool		 p_demand;
	struct mtime_clock	 p_clock;

	unsigned		 p_target;	/* VMs wanted now */
	uint64_t		 p_low_since_ns; /* load below target since */
	unsigned		 p_crashes;	/* failed boots in a row */
	unsigned		 p_boot_max;	/* VMs booting at once */
	uint64_t		 p_next_spawn_ns; /* back-off */
	uint64_t		 p_boots;
	uint64_t		 p_exits;	/* unasked */
	uint64_t		 p_exits_by[MEMBER_NWHY];
	uint64_t		 p_replaced[MEMBER_NWHY];
	struct pool_hist	 p_boot_time;
	uint64_t		 p_progress_ns;	/* last "still starting" */
	uint64_t		 p_boot_seq;
	uint64_t		 p_start_ns;
	bool			 p_started;
	bool			 p_stopping;
	bool			 p_degraded;
	bool			 p_announced;	/* start-up line said */
};

/*
 * pool_set.c
 */
/* A snapshot of <pool>'s READY members, one reference; NULL: ENOMEM. */
struct pool_set	*pool_set_new(const struct pool *pool);
/* Bucket bounds: boot times, queue waits. */
extern const uint64_t	pool_boot_bounds_us[];
extern const size_t	pool_boot_nbuckets;
extern const uint64_t	pool_wait_bounds_us[];
extern const size_t	pool_wait_nbuckets;

/*
 * pool.c
 */
uint64_t	 pool_now(const struct pool *pool);
/* The READY members changed: publish a new snapshot. */
void		 pool_publish(struct pool *pool);
/* Room may have appeared: the first waiters look again.  Any thread. */
void		 pool_queue_wake(struct pool *pool);
/* Something changed: spawn, drain, stop what the targets say now. */
void		 pool_reconcile(struct pool *pool);
/*
 * Something struct pool_info shows changed; pool_info_flush(), at the
 * end of each of the pool thread's callbacks, publishes it once.
 */
void		 pool_changed(struct pool *pool);
void		 pool_info_flush(struct pool *pool);

#endif /* POOL_POOL_PRIV_H */
