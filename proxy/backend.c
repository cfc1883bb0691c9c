/*
 * proxy/backend.c: backends as the workers see them, and passive
 * ejection.
 *
 * A backend_pool is an array of struct backend plus the parallel array
 * of struct lb_target the balancing algorithms take; lt_inflight points
 * at each backend's atomic in-flight counter, which least_request reads.
 * Every worker shares the pool (built on the main thread, never changed
 * afterwards but for the atomics and the ejection state).
 *
 * Ejection: be_failures counts consecutive failures; reaching
 * eject.failures sets be_until_ns and be_backoff_ms.  Once the time is
 * up the backend is usable again, on probation: its next failure ejects
 * it at once for twice the last back-off (at most eject.max_backoff),
 * and a success clears everything.  Time comes from bp_clock so the
 * arithmetic can be tested with a clock the test moves.
 *
 * A microvm pool has one backend per slot of its pool (pool/pool.h):
 * the slot's vsock socket, whichever VM is in it.  Those are never
 * ejected (a slot's next VM must not inherit its predecessor's
 * back-off): failures go to the pool, which health-checks the VM at
 * once and replaces it if it is down, and whether a slot may be used is
 * the pool's snapshot's business (proxy/session_req.c).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "pool/pool.h"
#include "proxy/backend.h"

static int	 backend_init(struct backend_pool *bp, size_t i,
		    const struct conf_server *sv, struct conf_errors *errs);
static int	 backend_resolve(struct backend *b, const struct conf_addr *a,
		    struct conf_errors *errs);
static int	 backend_init_vm(struct backend_pool *bp, size_t i);
static uint64_t	 backend_now(const struct backend_pool *bp);

struct backend_pool *
backend_pool_new(const struct conf_pool *cp, const struct mtime_clock *clock,
    struct conf_errors *errs)
{
	struct backend_pool	*bp;
	size_t			 i, n;
	int			 bad = 0;

	if ((bp = calloc(1, sizeof(*bp))) == NULL)
		return (NULL);
	bp->bp_conf = cp;
	bp->bp_clock = clock != NULL ? *clock : mtime_monotonic;
	if ((bp->bp_lb = lb_find(conf_balance_name(cp->pl_balance))) == NULL)
		bp->bp_lb = &lb_rr_ops;
	n = cp->pl_type == CONF_POOL_STATIC ? cp->pl_nservers :
	    pool_nslots(cp);
	if (n > 0) {
		bp->bp_backends = calloc(n, sizeof(*bp->bp_backends));
		bp->bp_targets = calloc(n, sizeof(*bp->bp_targets));
		if (bp->bp_backends == NULL || bp->bp_targets == NULL)
			goto fail;
	}
	for (i = 0; i < n; i++) {
		if (cp->pl_type == CONF_POOL_MICROVM) {
			if (backend_init_vm(bp, i) == -1)
				goto fail;
			bp->bp_n = i + 1;
			continue;
		}
		if (backend_init(bp, i, &cp->pl_servers[i], errs) == -1) {
			if (errno == ENOMEM)
				goto fail;
			bad = 1;
		}
		bp->bp_n = i + 1;
	}
	if (bad)
		goto fail;
	return (bp);
fail:
	backend_pool_free(bp);
	return (NULL);
}

void
backend_pool_free(struct backend_pool *bp)
{
	size_t	 i;

	if (bp == NULL)
		return;
	for (i = 0; i < bp->bp_n; i++)
		pthread_mutex_destroy(&bp->bp_backends[i].be_lock);
	free(bp->bp_backends);
	free(bp->bp_targets);
	free(bp);
}

/* Fills backend <i> from server <sv>; -1 with errno ENOMEM or EINVAL. */
static int
backend_init(struct backend_pool *bp, size_t i, const struct conf_server *sv,
    struct conf_errors *errs)
{
	struct backend		*b = &bp->bp_backends[i];
	const struct conf_addr	*a = &sv->sv_addr;

	b->be_pool = bp;
	b->be_index = i;
	b->be_conf = sv;
	if (pthread_mutex_init(&b->be_lock, NULL) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	atomic_init(&b->be_inflight, 0);
	atomic_init(&b->be_failures, 0);
	atomic_init(&b->be_until_ns, 0);
	/* ca_text is "unix:PATH", "vsock:PATH:PORT" or "HOST:PORT". */
	snprintf(b->be_name, sizeof(b->be_name), "%s", a->ca_text);
	bp->bp_targets[i].lt_key = b->be_name;
	bp->bp_targets[i].lt_weight = sv->sv_weight > 0 ? sv->sv_weight : 1;
	bp->bp_targets[i].lt_inflight = &b->be_inflight;

	switch (a->ca_kind) {
	case CONF_ADDR_UNIX:
		b->be_kind = BACKEND_UNIX;
		break;
	case CONF_ADDR_VSOCK:
		b->be_kind = BACKEND_VSOCK;
		b->be_vsock_port = a->ca_port;
		break;
	case CONF_ADDR_NAME:
		b->be_kind = BACKEND_TCP;
		return (backend_resolve(b, a, errs));
	case CONF_ADDR_IP:
	case CONF_ADDR_ANY:
		b->be_kind = BACKEND_TCP;
		break;
	}
	memcpy(&b->be_ss, &a->ca_ss, sizeof(b->be_ss));
	b->be_sslen = a->ca_sslen;
	return (0);
}

/*
 * Backend <i> of a microvm pool: slot <i>'s vsock socket.  Which VM is
 * behind it, and whether it is ready, is the pool's business.
 */
static int
backend_init_vm(struct backend_pool *bp, size_t i)
{
	struct backend		*b = &bp->bp_backends[i];
	struct sockaddr_un	*sun = (struct sockaddr_un *)&b->be_ss;

	b->be_pool = bp;
	b->be_index = i;
	if (pthread_mutex_init(&b->be_lock, NULL) != 0) {
		errno = ENOMEM;
		return (-1);
	}
	atomic_init(&b->be_inflight, 0);
	atomic_init(&b->be_failures, 0);
	atomic_init(&b->be_until_ns, 0);
	b->be_kind = BACKEND_VSOCK;
	b->be_vsock_port = bp->bp_conf->pl_vm.vm_port;
	sun->sun_family = AF_UNIX;
	if (pool_vsock_path(bp->bp_conf, i, sun->sun_path,
	    sizeof(sun->sun_path)) == -1)
		return (-1);
	b->be_sslen = sizeof(*sun);
	snprintf(b->be_name, sizeof(b->be_name), "vm-%zu", i);
	bp->bp_targets[i].lt_key = b->be_name;
	bp->bp_targets[i].lt_weight = 1;
	bp->bp_targets[i].lt_inflight = &b->be_inflight;
	return (0);
}

int
backend_pool_bind(struct backend_pool *bp, struct pool *vm)
{
	if (vm != NULL && bp->bp_n != pool_nslots(bp->bp_conf)) {
		errno = EINVAL;
		return (-1);
	}
	bp->bp_vm = vm;
	return (0);
}

/* getaddrinfo(3), first stream address; blocks (see the header). */
static int
backend_resolve(struct backend *b, const struct conf_addr *a,
    struct conf_errors *errs)
{
	struct addrinfo	 hints, *res = NULL;
	char		 port[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", (unsigned)a->ca_port);
	if ((rc = getaddrinfo(a->ca_host, port, &hints, &res)) != 0) {
		if (rc == EAI_MEMORY) {
			errno = ENOMEM;
			return (-1);
		}
		conf_errors_at(errs, &a->ca_pos, NULL, "cannot resolve %s: %s",
		    a->ca_host, gai_strerror(rc));
		errno = EINVAL;
		return (-1);
	}
	if (res->ai_addrlen > sizeof(b->be_ss)) {
		freeaddrinfo(res);
		errno = EINVAL;
		return (-1);
	}
	memcpy(&b->be_ss, res->ai_addr, res->ai_addrlen);
	b->be_sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

static uint64_t
backend_now(const struct backend_pool *bp)
{
	return (bp->bp_clock.now_ns(bp->bp_clock.arg));
}

bool
backend_usable(struct backend *b)
{
	uint64_t	 until = atomic_load_explicit(&b->be_until_ns,
			    memory_order_relaxed);

	return (until == 0 || backend_now(b->be_pool) >= until);
}

bool
backend_failure(struct backend *b)
{
	const struct conf_eject	*ej = &b->be_pool->bp_conf->pl_eject;
	uint64_t		 now, until, backoff;
	uint32_t		 n;
	bool			 ejected = false;

	n = atomic_fetch_add(&b->be_failures, 1) + 1;
	/* The pool checks the VM now and replaces it if it is down. */
	if (b->be_pool->bp_conf->pl_type == CONF_POOL_MICROVM) {
		/*
		 * No ejection: the slot's next VM must not inherit it.  The
		 * pool checks this VM now and replaces it if it is down.
		 */
		if (b->be_pool->bp_vm != NULL)
			pool_slot_failure(b->be_pool->bp_vm, b->be_index);
		return (false);
	}
	if (ej->ej_failures == 0)
		return (false);		/* ejection is off */
	now = backend_now(b->be_pool);
	pthread_mutex_lock(&b->be_lock);
	until = atomic_load(&b->be_until_ns);
	if (b->be_backoff_ms == 0) {
		/* Healthy so far: eject after enough failures in a row. */
		if (n >= ej->ej_failures) {
			b->be_backoff_ms = ej->ej_backoff;
			ejected = true;
		}
	} else if (now >= until) {
		/* Back on probation and failed again: twice as long. */
		backoff = b->be_backoff_ms * 2;
		b->be_backoff_ms = backoff < ej->ej_max_backoff ? backoff :
		    ej->ej_max_backoff;
		ejected = true;
	}
	/* A failure while ejected (a request already under way) waits. */
	if (ejected)
		atomic_store(&b->be_until_ns, now +
		    b->be_backoff_ms * MTIME_NS_PER_MS);
	pthread_mutex_unlock(&b->be_lock);
	return (ejected);
}

void
backend_success(struct backend *b)
{
	/* The common case costs one atomic load. */
	if (atomic_load_explicit(&b->be_failures, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&b->be_lock);
	atomic_store(&b->be_failures, 0);
	atomic_store(&b->be_until_ns, 0);
	b->be_backoff_ms = 0;
	pthread_mutex_unlock(&b->be_lock);
}

void
backend_acquire(struct backend *b)
{
	atomic_fetch_add_explicit(&b->be_inflight, 1, memory_order_relaxed);
	if (b->be_pool->bp_vm != NULL)
		pool_slot_acquire(b->be_pool->bp_vm, b->be_index);
}

void
backend_release(struct backend *b)
{
	atomic_fetch_sub_explicit(&b->be_inflight, 1, memory_order_relaxed);
	if (b->be_pool->bp_vm != NULL)
		pool_slot_release(b->be_pool->bp_vm, b->be_index);
}
