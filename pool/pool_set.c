/*
 * pool/pool_set.c: what the workers and the admin listener call: the
 * slots of a pool and their vsock paths, the READY snapshot (struct
 * pool_set), the per-slot atomic counters, the queue, the status
 * snapshot (struct pool_info) and replacement requests.
 *
 * Kept apart from pool.c so that proxy/backend.c links only this and
 * spawn.c, not the supervisor (member.c, health.c).  A snapshot is built
 * on the pool thread (pool_publish()), read by any thread, and freed by
 * its last pool_set_put(): p_set_lock guards only the pointer swap and
 * the taking of a reference, a few instructions, so a worker never
 * waits behind anything slower.  struct pool_info is shared the same
 * way under p_info_lock.  A replacement request is a boot number left
 * in the slot's sl_replace for the pool thread, which p_ev_kick wakes.
 */
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "pool/pool.h"
#include "pool/pool_priv.h"
#include "pool/spawn.h"

#define POOL_SLOTS_MAX		4096
#define US_PER_MS		1000ULL
#define POOL_WAKE_SEEN		16	/* workers' events */

static void	pool_demand_any(struct pool *pool);

const uint64_t pool_boot_bounds_us[] = {
	5 * US_PER_MS, 10 * US_PER_MS, 25 * US_PER_MS, 50 * US_PER_MS,
	100 * US_PER_MS, 250 * US_PER_MS, 500 * US_PER_MS, 1000 * US_PER_MS,
	2500 * US_PER_MS, 5000 * US_PER_MS, 10000 * US_PER_MS,
	30000 * US_PER_MS,
};
const size_t pool_boot_nbuckets = sizeof(pool_boot_bounds_us) /
    sizeof(pool_boot_bounds_us[0]) + 1;

const uint64_t pool_wait_bounds_us[] = {
	1 * US_PER_MS, 5 * US_PER_MS, 10 * US_PER_MS, 25 * US_PER_MS,
	50 * US_PER_MS, 100 * US_PER_MS, 250 * US_PER_MS, 500 * US_PER_MS,
	1000 * US_PER_MS, 2500 * US_PER_MS, 5000 * US_PER_MS,
	10000 * US_PER_MS,
};
const size_t pool_wait_nbuckets = sizeof(pool_wait_bounds_us) /
    sizeof(pool_wait_bounds_us[0]) + 1;

size_t
pool_nslots(const struct conf_pool *cp)
{
	size_t	 max = cp->pl_vm.vm_size.sz_max > 0 ?
		    cp->pl_vm.vm_size.sz_max : 1;
	size_t	 n = max * 2;

	return (n < POOL_SLOTS_MAX ? n : POOL_SLOTS_MAX);
}

int
pool_vsock_path(const struct conf_pool *cp, size_t slot, char *buf,
    size_t len)
{
	char	 dir[PATH_MAX];

	if (spawn_run_dir(cp->pl_name, cp->pl_vm.vm_run_dir, getpid(), dir,
	    sizeof(dir)) == -1)
		return (-1);
	return (spawn_sock_path(dir, slot, buf, len));
}

struct pool_set *
pool_set_new(const struct pool *pool)
{
	struct pool_set	*set;
	size_t		 i;

	if ((set = calloc(1, sizeof(*set) + pool->p_nslots *
	    sizeof(set->st_ready[0]))) == NULL)
		return (NULL);
	atomic_init(&set->st_refs, 1);
	set->st_nslots = pool->p_nslots;
	for (i = 0; pool->p_members != NULL && i < pool->p_nslots; i++) {
		set->st_ready[i] = pool->p_members[i].m_state ==
		    MEMBER_READY && !pool->p_members[i].m_health.mh_out;
		if (set->st_ready[i])
			set->st_nready++;
	}
	return (set);
}

struct pool_set *
pool_set_get(struct pool *pool)
{
	struct pool_set	*set;

	/* Short: a pointer copy and an increment; the swap takes as long. */
	pthread_mutex_lock(&pool->p_set_lock);
	set = pool->p_set;
	atomic_fetch_add_explicit(&set->st_refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&pool->p_set_lock);
	return (set);
}

void
pool_set_put(struct pool_set *set)
{
	if (set == NULL)
		return;
	if (atomic_fetch_sub_explicit(&set->st_refs, 1,
	    memory_order_acq_rel) == 1)
		free(set);
}

bool
pool_set_ready(const struct pool_set *set, size_t slot)
{
	return (slot < set->st_nslots && set->st_ready[slot]);
}

size_t
pool_set_count(const struct pool_set *set)
{
	return (set->st_nready);
}

/* ------------------------------------------------------------------ */

bool
pool_slot_room(struct pool *pool, size_t slot)
{
	unsigned	 max = pool->p_conf.pl_vm.vm_max_inflight;

	ASSERT(slot < pool->p_nslots);
	return (max == 0 || atomic_load_explicit(
	    &pool->p_slots[slot].sl_inflight, memory_order_relaxed) < max);
}

void
pool_slot_acquire(struct pool *pool, size_t slot)
{
	ASSERT(slot < pool->p_nslots);
	atomic_fetch_add_explicit(&pool->p_slots[slot].sl_inflight, 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&pool->p_slots[slot].sl_requests, 1,
	    memory_order_relaxed);
}

void
pool_slot_release(struct pool *pool, size_t slot)
{
	ASSERT(slot < pool->p_nslots);
	/*
	 * Sequentially consistent both: a waiter that entered the queue
	 * after this looked at it sees the room (see pool_queue_enter()).
	 */
	atomic_fetch_sub(&pool->p_slots[slot].sl_inflight, 1);
	if (atomic_load(&pool->p_q_waiting) > 0)
		pool_queue_wake(pool);
}

void
pool_slot_failure(struct pool *pool, size_t slot)
{
	ASSERT(slot < pool->p_nslots);
	atomic_fetch_add(&pool->p_slots[slot].sl_failures, 1);
	if (pool->p_ev_kick != NULL)
		event_active(pool->p_ev_kick, 0, 0);
}

/* The queue grew: the pool thread looks at the load at once. */
static void
pool_demand_any(struct pool *pool)
{
	if (pool->p_ev_kick != NULL)
		event_active(pool->p_ev_kick, 0, 0);
}

void
pool_demand(struct pool *pool)
{
	if (atomic_exchange(&pool->p_demand, true))
		return;		/* already said */
	if (pool->p_ev_kick != NULL)
		event_active(pool->p_ev_kick, 0, 0);
}

uint64_t
pool_queue_enter(struct pool *pool, struct pool_waker *wake)
{
	uint64_t	 t = 0;

	pthread_mutex_lock(&pool->p_q_lock);
	if (pool->p_q_n < pool->p_q_max) {
		t = ++pool->p_q_next;
		pool->p_q_ns[pool->p_q_n] = pool_now(pool);
		pool->p_q_wake[pool->p_q_n] = wake;
		pool->p_q[pool->p_q_n++] = t;
		atomic_store(&pool->p_q_waiting, pool->p_q_n);
	}
	pthread_mutex_unlock(&pool->p_q_lock);
	if (t != 0)
		pool_demand_any(pool);
	return (t);
}

void
pool_queue_leave(struct pool *pool, uint64_t ticket)
{
	uint64_t	 now = pool_now(pool);
	size_t		 i;

	pthread_mutex_lock(&pool->p_q_lock);
	for (i = 0; i < pool->p_q_n; i++) {
		if (pool->p_q[i] != ticket)
			continue;
		/* Every wait counts, whether it got a VM or gave up. */
		pool_hist_add(&pool->p_q_waits, now > pool->p_q_ns[i] ?
		    (now - pool->p_q_ns[i]) / 1000 : 0);
		memmove(&pool->p_q[i], &pool->p_q[i + 1],
		    (pool->p_q_n - i - 1) * sizeof(pool->p_q[0]));
		memmove(&pool->p_q_ns[i], &pool->p_q_ns[i + 1],
		    (pool->p_q_n - i - 1) * sizeof(pool->p_q_ns[0]));
		memmove(&pool->p_q_wake[i], &pool->p_q_wake[i + 1],
		    (pool->p_q_n - i - 1) * sizeof(pool->p_q_wake[0]));
		pool->p_q_n--;
		atomic_store(&pool->p_q_waiting, pool->p_q_n);
		break;
	}
	pthread_mutex_unlock(&pool->p_q_lock);
	/* Those behind moved up: one of them may be in turn now. */
	if (atomic_load(&pool->p_q_waiting) > 0)
		pool_queue_wake(pool);
}

/*
 * A waiter takes a VM when its position is below the number of slots
 * with room, so only the first p_nslots can be in turn: their workers
 * are woken (a worker folds repeats into one look).  The last few
 * wakers called are remembered to spare most repeats the call.
 */
void
pool_queue_wake(struct pool *pool)
{
	struct pool_waker *woken[POOL_WAKE_SEEN];
	size_t		 i, k, n, nwoken = 0;

	pthread_mutex_lock(&pool->p_q_lock);
	n = pool->p_q_n < pool->p_nslots ? pool->p_q_n : pool->p_nslots;
	for (i = 0; i < n; i++) {
		if (pool->p_q_wake[i] == NULL)
			continue;
		for (k = 0; k < nwoken; k++)
			if (woken[k] == pool->p_q_wake[i])
				break;
		if (k < nwoken)
			continue;
		pool->p_q_wake[i]->pw_wake(pool->p_q_wake[i]);
		if (nwoken < POOL_WAKE_SEEN)
			woken[nwoken++] = pool->p_q_wake[i];
	}
	pthread_mutex_unlock(&pool->p_q_lock);
}

size_t
pool_queue_position(struct pool *pool, uint64_t ticket)
{
	size_t	 i;

	pthread_mutex_lock(&pool->p_q_lock);
	for (i = 0; i < pool->p_q_n; i++)
		if (pool->p_q[i] == ticket)
			break;
	pthread_mutex_unlock(&pool->p_q_lock);
	return (i);
}

uint64_t
pool_queue_turn_max(struct pool *pool, size_t n)
{
	uint64_t	 t;

	if (n == 0)
		return (0);
	pthread_mutex_lock(&pool->p_q_lock);
	t = n <= pool->p_q_n ? pool->p_q[n - 1] : UINT64_MAX;
	pthread_mutex_unlock(&pool->p_q_lock);
	return (t);
}

size_t
pool_queue_length(struct pool *pool)
{
	size_t	 n;

	pthread_mutex_lock(&pool->p_q_lock);
	n = pool->p_q_n;
	pthread_mutex_unlock(&pool->p_q_lock);
	return (n);
}

uint64_t
pool_queue_timeout(const struct pool *pool)
{
	return (pool->p_conf.pl_vm.vm_queue.qu_timeout);
}

void
pool_queue_waits(struct pool *pool, struct pool_hist *h)
{
	pthread_mutex_lock(&pool->p_q_lock);
	*h = pool->p_q_waits;
	pthread_mutex_unlock(&pool->p_q_lock);
}

/* ------------------------------------------------------------------ */

void
pool_hist_add(struct pool_hist *h, uint64_t us)
{
	size_t	 i;

	ASSERT(h->ph_n > 0 && h->ph_n <= POOL_HIST_MAX);
	for (i = 0; i + 1 < h->ph_n; i++)
		if (us <= h->ph_bounds_us[i])
			break;
	h->ph_count[i]++;
	h->ph_sum_us += us;
}

struct pool_info *
pool_info_get(struct pool *pool)
{
	struct pool_info	*pi;

	pthread_mutex_lock(&pool->p_info_lock);
	pi = pool->p_info;
	atomic_fetch_add_explicit(&pi->pi_refs, 1, memory_order_relaxed);
	pthread_mutex_unlock(&pool->p_info_lock);
	return (pi);
}

void
pool_info_put(struct pool_info *pi)
{
	if (pi == NULL)
		return;
	if (atomic_fetch_sub_explicit(&pi->pi_refs, 1,
	    memory_order_acq_rel) == 1)
		free(pi);
}

void
pool_slot_counts(struct pool *pool, size_t slot, uint32_t *inflight,
    uint64_t *requests)
{
	ASSERT(slot < pool->p_nslots);
	*inflight = atomic_load_explicit(&pool->p_slots[slot].sl_inflight,
	    memory_order_relaxed);
	*requests = atomic_load_explicit(&pool->p_slots[slot].sl_requests,
	    memory_order_relaxed);
}

int
pool_replace(struct pool *pool, size_t slot, struct pool_vm_info *vi)
{
	struct pool_info	*pi;
	size_t			 i;
	int			 rc = -1;

	pi = pool_info_get(pool);
	errno = ENOENT;
	for (i = 0; i < pi->pi_nvms; i++) {
		if (pi->pi_vms[i].vi_slot != slot)
			continue;
		*vi = pi->pi_vms[i];
		if (vi->vi_state != MEMBER_BOOTING &&
		    vi->vi_state != MEMBER_READY) {
			errno = EALREADY;
			break;
		}
		/*
		 * The boot number, not the slot, names the VM: if it went
		 * away meanwhile, the pool thread leaves its successor be.
		 */
		atomic_store(&pool->p_slots[slot].sl_replace, vi->vi_boot);
		if (pool->p_ev_kick != NULL)
			event_active(pool->p_ev_kick, 0, 0);
		rc = 0;
		break;
	}
	pool_info_put(pi);
	return (rc);
}
