/*
 * pool/pool.c: the microvm pools and the pool thread.
 *
 * Data model: a pool is a fixed array of slots (pool_nslots(): size.max
 * plus room to replace VMs make-before-break).  Each slot has a member
 * (member.c: the VM now in it, owned by the pool thread) and a struct
 * pool_slot of atomic counters the workers update (requests in flight,
 * requests served, passive failures).  The workers learn which slots are
 * READY from a struct pool_set: immutable, built here whenever a member
 * enters or leaves READY, swapped under p_set_lock (held for a pointer
 * copy and an increment) and freed by its last pool_set_put().
 *
 * pool_reconcile() is the one place that decides: how many VMs the load
 * wants (between size.min and size.max, up at once, down only after the
 * cool-down), which to boot (crash loops wait member_backoff_ms()),
 * which to drain (scale down, recycling once the replacement is ready).
 * It runs on every state change and every POOL_TICK_MS.
 *
 * Threads: struct pool_group owns the pool thread and its event_base;
 * every pool function but those of pool_set.c runs there.  Workers and
 * the admin listener reach the thread through p_ev_kick (event_active(),
 * libevent's thread support).  What the admin listener shows comes from
 * struct pool_info, rebuilt by pool_info_flush() at the end of every
 * callback that changed something (pool_changed()).
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "pool/health.h"
#include "pool/member.h"
#include "pool/pool.h"
#include "pool/pool_priv.h"
#include "pool/spawn.h"

#define POOL_WAIT_STEP_MS	10
#define POOL_PROGRESS_MS	5000	/* "still starting" every 5 s */

#define POOL_GROUP_MAGIC	0x9009c0de

/* The pool thread.  Owned by main (proxy/main.c). */
struct pool_group {
	unsigned		 magic;
	struct event_base	*g_base;
	struct pool		**g_pools;
	size_t			 g_npools;
	pthread_t		 g_thread;
	bool			 g_started;
	struct event		*g_ev_stop;
};

static void		 pool_tick_cb(evutil_socket_t fd, short what,
			    void *arg);
static void		 pool_kick_cb(evutil_socket_t fd, short what,
			    void *arg);
static unsigned		 pool_want(struct pool *pool, uint64_t now);
static unsigned		 pool_boot_max(void);
static void		 pool_spawn_some(struct pool *pool, unsigned n);
static void		 pool_shrink(struct pool *pool, unsigned n);
static void		 pool_stop_all(struct pool *pool);
static int		 pool_copy_conf(struct pool *pool,
			    const struct conf_pool *cp);
static uint64_t		 pool_clock_now(void *arg);
static struct pool_info	*pool_info_new(const struct pool *pool);
static void		 pool_info_vm(const struct member *m,
			    struct pool_vm_info *vi);
static void		 pool_progress(struct pool *pool, unsigned ready,
			    unsigned booting, uint64_t now);
static void		 pool_replace_asked(struct pool *pool);
static void		*pool_group_main(void *arg);
static void		 pool_group_stop_cb(evutil_socket_t fd, short what,
			    void *arg);

static uint64_t
pool_clock_now(void *arg)
{
	(void)arg;
	return (mtime_now_ns());
}

uint64_t
pool_now(const struct pool *pool)
{
	return (pool->p_clock.now_ns(pool->p_clock.arg));
}

const char *
pool_name(const struct pool *pool)
{
	return (pool->p_name);
}

/* Copies what the pool keeps of <cp>, so the conf may go. */
static int
pool_copy_conf(struct pool *pool, const struct conf_pool *cp)
{
	struct conf_microvm	*vm = &pool->p_conf.pl_vm;
	const char		**src[6];
	size_t			 i;

	pool->p_conf = *cp;
	pool->p_conf.pl_servers = NULL;
	pool->p_conf.pl_nservers = 0;
	pool->p_conf.pl_key = NULL;
	pool->p_conf.pl_pos.cp_file = NULL;
	vm->vm_kernel.cf_key = vm->vm_initrd.cf_key = NULL;
	vm->vm_kernel.cf_pos.cp_file = vm->vm_initrd.cf_pos.cp_file = NULL;
	src[0] = &pool->p_conf.pl_name;
	src[1] = &vm->vm_kernel.cf_path;
	src[2] = &vm->vm_initrd.cf_path;
	src[3] = &vm->vm_cmdline;
	src[4] = &vm->vm_run_dir;
	src[5] = &vm->vm_health.he_path;
	for (i = 0; i < 6; i++) {
		if (*src[i] == NULL)
			continue;
		if ((pool->p_strs[i] = strdup(*src[i])) == NULL)
			return (-1);
		*src[i] = pool->p_strs[i];
	}
	if (vm->vm_health.he_path == NULL)
		vm->vm_health.he_path = "/health";
	pool->p_name = pool->p_strs[0];
	return (0);
}

struct pool *
pool_new(struct event_base *base, const struct conf_pool *cp)
{
	struct pool	*pool;
	struct member	*m;
	size_t		 i;

	if ((pool = calloc(1, sizeof(*pool))) == NULL)
		goto nomem;
	pool->magic = POOL_MAGIC;
	pool->p_base = base;
	pool->p_clock.now_ns = pool_clock_now;
	pool->p_boot_max = pool_boot_max();
	pthread_mutex_init(&pool->p_set_lock, NULL);
	pthread_mutex_init(&pool->p_q_lock, NULL);
	pthread_mutex_init(&pool->p_info_lock, NULL);
	pool->p_boot_time.ph_bounds_us = pool_boot_bounds_us;
	pool->p_boot_time.ph_n = pool_boot_nbuckets;
	pool->p_q_waits.ph_bounds_us = pool_wait_bounds_us;
	pool->p_q_waits.ph_n = pool_wait_nbuckets;
	atomic_init(&pool->p_demand, false);
	if (pool_copy_conf(pool, cp) == -1)
		goto nomem;
	pool->p_nslots = pool_nslots(cp);
	pool->p_target = cp->pl_vm.vm_size.sz_min;
	if (spawn_run_dir(pool->p_name, cp->pl_vm.vm_run_dir, getpid(),
	    pool->p_dir, sizeof(pool->p_dir)) == -1 ||
	    spawn_find_vmm(pool->p_vmm, sizeof(pool->p_vmm)) == -1) {
		log_warn("pool %s: run directory or corral-vmm path",
		    cp->pl_name);
		goto fail;
	}
	pool->p_q_max = cp->pl_vm.vm_queue.qu_length;
	if ((pool->p_q_max > 0 && ((pool->p_q = calloc(pool->p_q_max,
	    sizeof(*pool->p_q))) == NULL || (pool->p_q_ns = calloc(
	    pool->p_q_max, sizeof(*pool->p_q_ns))) == NULL ||
	    (pool->p_q_wake = calloc(pool->p_q_max,
	    sizeof(*pool->p_q_wake))) == NULL)) ||
	    (pool->p_members = calloc(pool->p_nslots,
	    sizeof(*pool->p_members))) == NULL ||
	    (pool->p_slots = calloc(pool->p_nslots,
	    sizeof(*pool->p_slots))) == NULL)
		goto nomem;
	for (i = 0; i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (member_init(m, pool, i) == -1)
			goto nomem;
		if (spawn_sock_path(pool->p_dir, i, m->m_sock,
		    sizeof(m->m_sock)) == -1) {
			log_warnx("pool %s: run directory %s: path too long "
			    "for a Unix socket", pool->p_name, pool->p_dir);
			goto fail;
		}
	}
	if ((pool->p_set = pool_set_new(pool)) == NULL ||
	    (pool->p_info = pool_info_new(pool)) == NULL)
		goto nomem;
	if (base != NULL && ((pool->p_ev_tick = event_new(base, -1,
	    EV_PERSIST, pool_tick_cb, pool)) == NULL ||
	    (pool->p_ev_kick = event_new(base, -1, 0, pool_kick_cb,
	    pool)) == NULL))
		goto nomem;
	return (pool);
nomem:
	log_warnx("pool %s: out of memory", cp->pl_name);
fail:
	pool_free(pool);
	return (NULL);
}

int
pool_start(struct pool *pool)
{
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;
	struct timeval		 tv = { 0, POOL_TICK_MS * 1000 };

	if (spawn_mkdir(pool->p_dir) == -1) {
		log_warn("pool %s: cannot create %s", pool->p_name,
		    pool->p_dir);
		return (-1);
	}
	pool->p_started = true;
	pool->p_start_ns = pool_now(pool);
	log_info("pool %s: starting %u VMs (size %u..%u, %s, %llu MiB, "
	    "run directory %s)", pool->p_name, vm->vm_size.sz_min,
	    vm->vm_size.sz_min, vm->vm_size.sz_max, vm->vm_kernel.cf_path,
	    (unsigned long long)(vm->vm_memory >> 20), pool->p_dir);
	if (event_add(pool->p_ev_tick, &tv) == -1)
		return (-1);
	pool_changed(pool);
	pool_reconcile(pool);
	pool_info_flush(pool);
	return (0);
}

void
pool_free(struct pool *pool)
{
	size_t	 i;

	if (pool == NULL)
		return;
	if (pool->p_started)
		pool_stop_all(pool);
	for (i = 0; pool->p_members != NULL && i < pool->p_nslots; i++) {
		member_clear(&pool->p_members[i]);
		if (pool->p_members[i].m_ev_timer != NULL)
			event_free(pool->p_members[i].m_ev_timer);
	}
	if (pool->p_started)
		spawn_rmdir(pool->p_dir);
	if (pool->p_ev_tick != NULL)
		event_free(pool->p_ev_tick);
	if (pool->p_ev_kick != NULL)
		event_free(pool->p_ev_kick);
	pool_set_put(pool->p_set);
	pool_info_put(pool->p_info);
	pthread_mutex_destroy(&pool->p_set_lock);
	pthread_mutex_destroy(&pool->p_q_lock);
	pthread_mutex_destroy(&pool->p_info_lock);
	free(pool->p_q);
	free(pool->p_q_ns);
	free(pool->p_q_wake);
	free(pool->p_members);
	free(pool->p_slots);
	for (i = 0; i < sizeof(pool->p_strs) / sizeof(pool->p_strs[0]); i++)
		free(pool->p_strs[i]);
	pool->magic = 0;
	free(pool);
}

/*
 * Shutdown: SIGTERM to every VM, wait up to POOL_STOP_GRACE_MS, then
 * SIGKILL; reap them all and remove their sockets.  Blocks the pool
 * thread, which has nothing else to do by then.
 */
static void
pool_stop_all(struct pool *pool)
{
	struct member	*m;
	struct timespec	 step = { 0, POOL_WAIT_STEP_MS * 1000000L };
	uint64_t	 deadline;
	size_t		 i, left;
	int		 status;
	char		 reason[64];

	pool->p_stopping = true;
	for (i = 0; i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (m->m_pid > 0)
			kill(m->m_pid, SIGTERM);
	}
	deadline = mtime_now_ns() + POOL_STOP_GRACE_MS * MTIME_NS_PER_MS;
	for (;;) {
		left = 0;
		for (i = 0; i < pool->p_nslots; i++) {
			m = &pool->p_members[i];
			if (m->m_pid <= 0)
				continue;
			if (waitpid(m->m_pid, &status, WNOHANG) == 0) {
				left++;
				continue;
			}
			spawn_exit_reason(status, reason, sizeof(reason));
			log_info("pool %s: vm %zu: stopped (%s)",
			    pool->p_name, i, reason);
			pool->p_exits_by[MEMBER_WHY_SHUTDOWN]++;
			member_clear(m);
			m->m_state = MEMBER_STOPPED;
			unlink(m->m_sock);
		}
		if (left == 0)
			break;
		if (mtime_now_ns() >= deadline) {
			for (i = 0; i < pool->p_nslots; i++) {
				m = &pool->p_members[i];
				if (m->m_pid <= 0)
					continue;
				log_warnx("pool %s: vm %zu: no exit after "
				    "SIGTERM: killing it", pool->p_name, i);
				kill(m->m_pid, SIGKILL);
				waitpid(m->m_pid, NULL, 0);
				pool->p_exits_by[MEMBER_WHY_SHUTDOWN]++;
				member_clear(m);
				m->m_state = MEMBER_STOPPED;
				unlink(m->m_sock);
			}
			break;
		}
		nanosleep(&step, NULL);
	}
	pool_publish(pool);
	pool_changed(pool);
	pool_info_flush(pool);
	log_info("pool %s: every VM stopped", pool->p_name);
}

/* ------------------------------------------------------------------ */

void
pool_publish(struct pool *pool)
{
	struct pool_set	*set, *old;

	if ((set = pool_set_new(pool)) == NULL) {
		/*
		 * The workers keep the previous set: a VM that left is
		 * refused at connect and retried elsewhere.
		 */
		log_warnx("pool %s: out of memory for the ready set",
		    pool->p_name);
		return;
	}
	pthread_mutex_lock(&pool->p_set_lock);
	old = pool->p_set;
	pool->p_set = set;
	pthread_mutex_unlock(&pool->p_set_lock);
	pool_set_put(old);
	pool_queue_wake(pool);		/* a VM may have become ready */
}

void
pool_status(const struct pool *pool, struct pool_status *st)
{
	size_t	 i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < pool->p_nslots; i++) {
		switch (pool->p_members[i].m_state) {
		case MEMBER_BOOTING:
			st->ps_booting++;
			break;
		case MEMBER_READY:
			st->ps_ready++;
			break;
		case MEMBER_DRAINING:
			st->ps_draining++;
			break;
		default:
			break;
		}
	}
	st->ps_target = pool->p_target;
	st->ps_boots = pool->p_boots;
	st->ps_exits = pool->p_exits;
	st->ps_degraded = pool->p_degraded;
	st->ps_queued = pool_queue_length((struct pool *)pool);
}

void
pool_changed(struct pool *pool)
{
	pool->p_info_dirty = true;
}

void
pool_info_flush(struct pool *pool)
{
	struct pool_info	*pi, *old;

	if (!pool->p_info_dirty)
		return;
	if ((pi = pool_info_new(pool)) == NULL) {
		/* The admin listener shows the last one; try again later. */
		log_warnx("pool %s: out of memory for the status",
		    pool->p_name);
		return;
	}
	pool->p_info_dirty = false;
	pthread_mutex_lock(&pool->p_info_lock);
	old = pool->p_info;
	pool->p_info = pi;
	pthread_mutex_unlock(&pool->p_info_lock);
	pool_info_put(old);
}

static void
pool_info_vm(const struct member *m, struct pool_vm_info *vi)
{
	memset(vi, 0, sizeof(*vi));
	vi->vi_slot = m->m_slot;
	vi->vi_boot = m->m_boot;
	vi->vi_state = m->m_state;
	vi->vi_pid = m->m_pid;
	vi->vi_cid = m->m_cid;
	vi->vi_spawn_ns = m->m_spawn_ns;
	vi->vi_ready_ns = m->m_ready_ns;
	vi->vi_state_ns = m->m_state_ns;
	vi->vi_replacing = m->m_recycle;
	vi->vi_why = m->m_why;
	vi->vi_health_ns = m->m_health_ns;
	vi->vi_health_ok = m->m_health.mh_ok;
	vi->vi_health_fail = m->m_health.mh_fail;
	vi->vi_out = m->m_health.mh_out;
	if (m->m_health_res == HEALTH_OK)
		snprintf(vi->vi_health, sizeof(vi->vi_health), "ok");
	else if (m->m_health_res >= 0 && m->m_health_status != 0)
		snprintf(vi->vi_health, sizeof(vi->vi_health), "%s %d",
		    health_strerror(m->m_health_res), m->m_health_status);
	else if (m->m_health_res >= 0)
		snprintf(vi->vi_health, sizeof(vi->vi_health), "%s",
		    health_strerror(m->m_health_res));
}

/* What the pool thread knows now, for pool_info_get(); NULL: ENOMEM. */
static struct pool_info *
pool_info_new(const struct pool *pool)
{
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;
	struct pool_info	*pi;
	const struct member	*m;
	size_t			 i, n = 0;

	for (i = 0; pool->p_members != NULL && i < pool->p_nslots; i++)
		if (pool->p_members[i].m_state != MEMBER_STOPPED)
			n++;
	if ((pi = calloc(1, sizeof(*pi) + n * sizeof(pi->pi_vms[0]))) ==
	    NULL)
		return (NULL);
	atomic_init(&pi->pi_refs, 1);
	pi->pi_name = pool->p_name;
	pi->pi_start_ns = pool->p_start_ns;
	pi->pi_min = vm->vm_size.sz_min;
	pi->pi_max = vm->vm_size.sz_max;
	pi->pi_target = pool->p_target;
	pi->pi_nslots = pool->p_nslots;
	pi->pi_queue_max = pool->p_q_max;
	pi->pi_degraded = pool->p_degraded;
	pi->pi_crashes = pool->p_crashes;
	pi->pi_boots = pool->p_boots;
	memcpy(pi->pi_exits, pool->p_exits_by, sizeof(pi->pi_exits));
	memcpy(pi->pi_replaced, pool->p_replaced, sizeof(pi->pi_replaced));
	pi->pi_boot_time = pool->p_boot_time;
	for (i = 0; pool->p_members != NULL && i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (m->m_state < MEMBER_NSTATES)
			pi->pi_nstate[m->m_state]++;
		if (m->m_state != MEMBER_STOPPED && pi->pi_nvms < n)
			pool_info_vm(m, &pi->pi_vms[pi->pi_nvms++]);
	}
	return (pi);
}

/* ------------------------------------------------------------------ */

/*
 * The number of VMs the load asks for now: in-flight requests over the
 * per-VM target, at least size.min (and one while a request waits for
 * a cold boot), at most size.max.  Up at once; down one VM per
 * cool-down, and only after the load stayed low for the cool-down.
 */
static unsigned
pool_want(struct pool *pool, uint64_t now)
{
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;
	unsigned	 per = vm->vm_scale.sc_target_inflight;
	uint64_t	 load = 0, want;
	size_t		 i;

	/* Waiting requests are load too: scale up as the queue grows. */
	load = pool_queue_length(pool);
	for (i = 0; i < pool->p_nslots; i++)
		load += atomic_load_explicit(&pool->p_slots[i].sl_inflight,
		    memory_order_relaxed);
	if (per == 0)
		want = load > 0 ? 1 : 0;
	else
		want = (load + per - 1) / per;
	if (atomic_exchange(&pool->p_demand, false) && want == 0)
		want = 1;
	if (want < vm->vm_size.sz_min)
		want = vm->vm_size.sz_min;
	if (want > vm->vm_size.sz_max)
		want = vm->vm_size.sz_max;
	if (want > pool->p_target) {
		if (pool->p_started && pool->p_announced)
			log_info("pool %s: scaling up to %llu VMs (%llu "
			    "requests in flight)", pool->p_name,
			    (unsigned long long)want,
			    (unsigned long long)load);
		pool->p_target = (unsigned)want;
		pool->p_low_since_ns = 0;
		pool_changed(pool);
	} else if (want < pool->p_target) {
		if (pool->p_low_since_ns == 0)
			pool->p_low_since_ns = now;
		else if (now - pool->p_low_since_ns >=
		    vm->vm_scale.sc_cooldown * MTIME_NS_PER_MS) {
			pool->p_target--;
			pool->p_low_since_ns = now;
			pool_changed(pool);
			log_info("pool %s: scaling down to %u VMs",
			    pool->p_name, pool->p_target);
		}
	} else
		pool->p_low_since_ns = 0;
	return (pool->p_target);
}

/*
 * How many VMs of a pool boot at once.  A boot is mostly CPU (the VMM's
 * start, the guest's, the health probes that end it): starting hundreds
 * together makes each of them late, on a slow host past the boot
 * timeout, which then counts as a crash loop.  A few per CPU keep the
 * CPUs busy.
 */
static unsigned
pool_boot_max(void)
{
	long	 ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 1)
		ncpu = 1;
	return ncpu > 64 ? 64 * POOL_BOOTS_PER_CPU :
	    (unsigned)ncpu * POOL_BOOTS_PER_CPU;
}

/*
 * Boots up to <n> VMs in free slots, no more than pool_boot_max() booting
 * at a time, and one at a time in a crash loop.
 */
static void
pool_spawn_some(struct pool *pool, unsigned n)
{
	unsigned	 booting = 0;
	size_t		 i;

	for (i = 0; i < pool->p_nslots; i++)
		if (pool->p_members[i].m_state == MEMBER_BOOTING)
			booting++;
	if (booting >= pool->p_boot_max)
		return;
	if (n > pool->p_boot_max - booting)
		n = pool->p_boot_max - booting;
	if (pool->p_crashes > 0) {
		if (pool_now(pool) < pool->p_next_spawn_ns)
			return;
		n = n > 0 ? 1 : 0;
		for (i = 0; i < pool->p_nslots; i++)
			if (pool->p_members[i].m_state == MEMBER_BOOTING)
				return;		/* one probe boot at a time */
	}
	for (i = 0; i < pool->p_nslots && n > 0; i++) {
		if (pool->p_members[i].m_state != MEMBER_STOPPED)
			continue;
		if (member_spawn(&pool->p_members[i]) == -1) {
			/* fork or exec failing is a crash loop too. */
			pool->p_crashes++;
			pool->p_next_spawn_ns = pool_now(pool) +
			    member_backoff_ms(pool->p_crashes) *
			    MTIME_NS_PER_MS;
			return;
		}
		n--;
	}
}

/*
 * Stops <n> VMs: booting ones first, then ready ones out of rotation
 * (they serve nothing), then the least busy ready ones.
 */
static void
pool_shrink(struct pool *pool, unsigned n)
{
	struct member	*m, *best;
	uint32_t	 load, best_load;
	size_t		 i;

	for (i = pool->p_nslots; i > 0 && n > 0; i--) {
		m = &pool->p_members[i - 1];
		if (m->m_state == MEMBER_BOOTING) {
			member_drain(m, MEMBER_WHY_SCALE_DOWN);
			n--;
		}
	}
	for (i = 0; i < pool->p_nslots && n > 0; i++) {
		m = &pool->p_members[i];
		if (m->m_state == MEMBER_READY && !m->m_recycle &&
		    m->m_health.mh_out) {
			member_drain(m, MEMBER_WHY_SCALE_DOWN);
			n--;
		}
	}
	while (n > 0) {
		best = NULL;
		best_load = UINT32_MAX;
		for (i = 0; i < pool->p_nslots; i++) {
			m = &pool->p_members[i];
			if (m->m_state != MEMBER_READY || m->m_recycle)
				continue;
			load = atomic_load(&pool->p_slots[i].sl_inflight);
			if (load < best_load) {
				best = m;
				best_load = load;
			}
		}
		if (best == NULL)
			return;
		member_drain(best, MEMBER_WHY_SCALE_DOWN);
		n--;
	}
}

void
pool_reconcile(struct pool *pool)
{
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;
	struct member	*m;
	unsigned	 booting = 0, ready = 0, out = 0, recycling = 0, want;
	uint64_t	 now = pool_now(pool), age;
	size_t		 i;
	bool		 degraded;

	if (!pool->p_started || pool->p_stopping)
		return;
	for (i = 0; i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (m->m_state == MEMBER_READY && !m->m_recycle &&
		    ((vm->vm_recycle.rc_after_requests > 0 &&
		    atomic_load(&pool->p_slots[i].sl_requests) >=
		    vm->vm_recycle.rc_after_requests) ||
		    (vm->vm_recycle.rc_max_age > 0 &&
		    (age = now - m->m_ready_ns) >=
		    vm->vm_recycle.rc_max_age * MTIME_NS_PER_MS))) {
			log_info("pool %s: vm %zu: recycling after %llu "
			    "requests", pool->p_name, i, (unsigned long long)
			    atomic_load(&pool->p_slots[i].sl_requests));
			member_replace(m, MEMBER_WHY_RECYCLE);
		}
		if (m->m_state == MEMBER_BOOTING)
			booting++;
		else if (m->m_state == MEMBER_READY && m->m_recycle)
			recycling++;
		else if (m->m_state == MEMBER_READY && m->m_health.mh_out)
			out++;		/* back after rise, or replaced */
		else if (m->m_state == MEMBER_READY)
			ready++;
	}
	want = pool_want(pool, now);
	if (ready + out + booting < want)
		pool_spawn_some(pool, want - (ready + out + booting));
	else if (ready + out + booting > want)
		pool_shrink(pool, ready + out + booting - want);
	/*
	 * Make-before-break: the replacements are ready (and in rotation),
	 * the old go.
	 */
	for (i = 0; recycling > 0 && i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (m->m_state != MEMBER_READY || !m->m_recycle)
			continue;
		if (ready < want)
			break;		/* keep serving until replaced */
		member_drain(m, m->m_why);
		recycling--;
	}
	degraded = pool->p_crashes > 0 && ready < want;
	if (degraded != pool->p_degraded) {
		pool->p_degraded = degraded;
		pool_changed(pool);
		if (degraded)
			log_warnx("pool %s: degraded: %u failed boots in a "
			    "row, next boot in %llu ms", pool->p_name,
			    pool->p_crashes, (unsigned long long)
			    member_backoff_ms(pool->p_crashes));
		else
			log_info("pool %s: no longer degraded", pool->p_name);
	}
	if (!pool->p_announced)
		pool_progress(pool, ready, booting, now);
}

/*
 * The start-up lines: one when size.min VMs are ready, and until then
 * one every POOL_PROGRESS_MS saying how far it got.
 */
static void
pool_progress(struct pool *pool, unsigned ready, unsigned booting,
    uint64_t now)
{
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;

	if (ready >= vm->vm_size.sz_min) {
		pool->p_announced = true;
		log_info("pool %s: %u/%u VMs ready in %.1f ms", pool->p_name,
		    ready, vm->vm_size.sz_min,
		    (double)(now - pool->p_start_ns) / 1e6);
		return;
	}
	if (pool->p_progress_ns == 0)
		pool->p_progress_ns = pool->p_start_ns;
	if (now - pool->p_progress_ns < POOL_PROGRESS_MS * MTIME_NS_PER_MS)
		return;
	pool->p_progress_ns = now;
	log_info("pool %s: still starting: %u/%u VMs ready after %.1f s "
	    "(%u booting, %u failed boots in a row)", pool->p_name, ready,
	    vm->vm_size.sz_min, (double)(now - pool->p_start_ns) / 1e9,
	    booting, pool->p_crashes);
}

static void
pool_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*pool = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	ASSERT(pool->magic == POOL_MAGIC);
	for (i = 0; i < pool->p_nslots; i++)
		member_tick(&pool->p_members[i]);
	pool_reconcile(pool);
	pool_info_flush(pool);
}

/* A worker said something: passive failures, or demand. */
static void
pool_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool	*pool = arg;
	struct member	*m;
	size_t		 i;

	(void)fd;
	(void)what;
	ASSERT(pool->magic == POOL_MAGIC);
	for (i = 0; i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if (atomic_exchange(&pool->p_slots[i].sl_failures, 0) == 0 ||
		    m->m_state != MEMBER_READY)
			continue;
		/* Check it now rather than at the next interval. */
		member_check_now(m);
	}
	pool_replace_asked(pool);
	pool_reconcile(pool);
	pool_info_flush(pool);
}

/* The admin listener asked for replacements (pool_replace()). */
static void
pool_replace_asked(struct pool *pool)
{
	struct member	*m;
	uint64_t	 boot;
	size_t		 i;

	for (i = 0; i < pool->p_nslots; i++) {
		m = &pool->p_members[i];
		if ((boot = atomic_exchange(&pool->p_slots[i].sl_replace,
		    0)) == 0)
			continue;
		/* Gone meanwhile, or leaving already: nothing to do. */
		if (m->m_boot != boot || (m->m_state != MEMBER_BOOTING &&
		    m->m_state != MEMBER_READY) || m->m_recycle)
			continue;
		log_info("pool %s: vm %zu: replacing it, as the admin "
		    "listener asked", pool->p_name, i);
		member_replace(m, MEMBER_WHY_ADMIN);
	}
}

/* ------------------------------------------------------------------ */

struct pool_group *
pool_group_new(const struct conf *conf)
{
	struct pool_group	*g;
	size_t			 i, n = 0;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (NULL);
	g->magic = POOL_GROUP_MAGIC;
	for (i = 0; i < conf->c_npools; i++)
		if (conf->c_pools[i].pl_type == CONF_POOL_MICROVM)
			n++;
	if (n == 0)
		return (g);
	spawn_clean_stale();
	if ((g->g_base = event_base_new()) == NULL ||
	    (g->g_ev_stop = event_new(g->g_base, -1, 0, pool_group_stop_cb,
	    g)) == NULL ||
	    (g->g_pools = calloc(n, sizeof(*g->g_pools))) == NULL) {
		log_warnx("pool thread: out of memory");
		goto fail;
	}
	for (i = 0; i < conf->c_npools; i++) {
		if (conf->c_pools[i].pl_type != CONF_POOL_MICROVM)
			continue;
		if ((g->g_pools[g->g_npools] = pool_new(g->g_base,
		    &conf->c_pools[i])) == NULL)
			goto fail;
		g->g_npools++;
	}
	return (g);
fail:
	pool_group_free(g);
	return (NULL);
}

static void *
pool_group_main(void *arg)
{
	struct pool_group	*g = arg;
	size_t			 i;

	for (i = 0; i < g->g_npools; i++)
		if (pool_start(g->g_pools[i]) == -1)
			log_warnx("pool %s: cannot start: it will answer "
			    "503", pool_name(g->g_pools[i]));
	event_base_loop(g->g_base, EVLOOP_NO_EXIT_ON_EMPTY);
	health_thread_end();
	return (NULL);
}

int
pool_group_start(struct pool_group *g)
{
	sigset_t	 all, old;
	int		 rc;

	if (g->g_npools == 0)
		return (0);
	/* Signals are main's; the VMMs unblock theirs after fork. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&g->g_thread, NULL, pool_group_main, g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		log_warn("pool thread: cannot start");
		return (-1);
	}
	g->g_started = true;
	return (0);
}

struct pool *
pool_group_find(struct pool_group *g, const char *name)
{
	size_t	 i;

	for (i = 0; g != NULL && i < g->g_npools; i++)
		if (strcmp(pool_name(g->g_pools[i]), name) == 0)
			return (g->g_pools[i]);
	return (NULL);
}

/* On the pool thread: stop every VM there, then leave the loop. */
static void
pool_group_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pool_group	*g = arg;
	size_t			 i;

	(void)fd;
	(void)what;
	ASSERT(g->magic == POOL_GROUP_MAGIC);
	for (i = 0; i < g->g_npools; i++) {
		pool_free(g->g_pools[i]);
		g->g_pools[i] = NULL;
	}
	event_base_loopbreak(g->g_base);
}

void
pool_group_free(struct pool_group *g)
{
	size_t	 i;

	if (g == NULL)
		return;
	if (g->g_started) {
		/* The VMs are the pool thread's: it stops them. */
		event_active(g->g_ev_stop, 0, 0);
		pthread_join(g->g_thread, NULL);
	}
	for (i = 0; i < g->g_npools; i++)
		pool_free(g->g_pools[i]);
	free(g->g_pools);
	if (g->g_ev_stop != NULL)
		event_free(g->g_ev_stop);
	if (g->g_base != NULL)
		event_base_free(g->g_base);
	g->magic = 0;
	free(g);
}
