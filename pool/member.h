/*
 * pool/member.h: one VM of a pool: its state machine (booting -> ready
 * -> draining -> stopped, and failed), the crash-loop back-off, and the
 * pool thread's actions on it (spawn, probe, drain, kill, exit).
 */
#ifndef POOL_MEMBER_H
#define POOL_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct member;
struct pool;

enum member_state {
	MEMBER_STOPPED = 0,	/* no process: the slot is free */
	MEMBER_BOOTING,		/* spawned, no health check passed yet */
	MEMBER_READY,		/* in the snapshot: takes requests */
	MEMBER_DRAINING,	/* out of the snapshot, finishing requests */
	MEMBER_FAILED,		/* unhealthy or crashed: killed, reaping */
};
#define MEMBER_NSTATES		5

/*
 * Why a VM stopped or is stopping: the first reasons are read from its
 * exit status when nothing here asked it to go; the others are set by
 * whoever asks.  Counted per pool (struct pool_info), named in metrics.
 */
enum member_why {
	MEMBER_WHY_NONE = 0,	/* not leaving; or not known yet */
	MEMBER_WHY_CRASH,	/* guest crash: corral-vmm status 3 */
	MEMBER_WHY_ERROR,	/* corral-vmm failed: status 1 or 2 */
	MEMBER_WHY_EXIT,	/* the guest powered off or chose a status */
	MEMBER_WHY_SIGNAL,	/* killed by a signal corral did not send */
	MEMBER_WHY_HEALTH,	/* marked down by its health checks */
	MEMBER_WHY_BOOT_TIMEOUT, /* not ready within the boot timeout */
	MEMBER_WHY_RECYCLE,	/* recycle.after_requests or max_age */
	MEMBER_WHY_SCALE_DOWN,	/* the load went down */
	MEMBER_WHY_ADMIN,	/* POST /pools/NAME/vms/ID/replace */
	MEMBER_WHY_SHUTDOWN,	/* corral is stopping */
};
#define MEMBER_NWHY		11

enum member_event {
	MEMBER_EV_PROBE_OK = 0,	/* a health check passed */
	MEMBER_EV_PROBE_FAIL,	/* a health check failed */
	MEMBER_EV_TIMEOUT,	/* not ready within the boot timeout */
	MEMBER_EV_DRAIN,	/* scale down or recycle */
	MEMBER_EV_EXIT,		/* the process is gone (reaped) */
};

/*
 * Consecutive health results, and whether a READY member is out of
 * rotation: from its first failed check until <rise> pass in a row.
 */
struct member_health {
	unsigned	 mh_ok;
	unsigned	 mh_fail;
	bool		 mh_out;
};

#define MEMBER_BACKOFF_BASE_MS	100
#define MEMBER_BACKOFF_MAX_MS	10000

/*
 * The state after <ev> in <st>, counting into <h>.  A BOOTING member is
 * READY (and in rotation) at its first passed check.  A READY member's
 * failed check takes it out of rotation (h->mh_out); <rise> passed in a
 * row put it back, and <fall> failed before that make it FAILED (in a
 * row, or not: a member flapping between pass and fail falls too).
 * HAProxy's rise and fall, except that a member that falls is replaced,
 * never raised.
 * Pure: the caller acts on the change.  An exit ends every state in
 * STOPPED.
 */
enum member_state	 member_step(enum member_state st,
			    enum member_event ev, struct member_health *h,
			    unsigned fall, unsigned rise);

/* Delay before the next boot after <crashes> failed boots in a row. */
uint64_t		 member_backoff_ms(unsigned crashes);

const char		*member_state_name(enum member_state st);
/* "crash", "health", "scale_down", ...: a metrics label value. */
const char		*member_why_name(enum member_why why);
/*
 * Whether <why> is a reason corral gave (recycle, scale-down, admin,
 * shutdown) rather than something that happened to the VM.
 */
bool			 member_why_asked(enum member_why why);

/*
 * Pool thread.  member_spawn() starts a VM in the free slot <m>;
 * 0 or -1 (logged; the slot stays free).  member_drain() takes a READY
 * member out of service for <why> (scale-down, recycle, admin) and
 * stops it once idle; a BOOTING one is stopped at once.  member_kill()
 * stops it now for <why> (health, boot timeout), <text> logged.
 * member_replace() replaces it make-before-break for <why> (recycle,
 * admin): it serves until its replacement is ready.
 */
int			 member_spawn(struct member *m);
void			 member_drain(struct member *m, enum member_why why);
void			 member_kill(struct member *m, enum member_why why,
			    const char *text);
void			 member_replace(struct member *m, enum member_why why);
/*
 * An empty slot <slot> of <pool>: its timer on the pool's loop (none if
 * the pool has no loop, as in tests of the snapshot).  0 or -1.
 */
int			 member_init(struct member *m, struct pool *pool,
			    size_t slot);
/* A passive failure: health-check a READY member now. */
void			 member_check_now(struct member *m);
/* Periodic: stop a draining member that has no request left. */
void			 member_tick(struct member *m);
/* Releases the events; the process must be gone. */
void			 member_clear(struct member *m);

#endif /* POOL_MEMBER_H */
