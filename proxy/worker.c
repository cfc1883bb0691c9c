/*
 * proxy/worker.c: a worker thread and its event loop.
 *
 * The main thread creates a worker, gives it its listening sockets and
 * starts it; afterwards it only posts to it (worker_post()): swap (a
 * new runtime for new sessions, on SIGHUP), drain (SIGTERM: stop
 * accepting, close idle sessions, let busy ones finish, then leave the
 * loop and tell the main thread) and stop (the drain timeout passed:
 * leave now); pool threads post "queue" (a VM has room).  Everything
 * else -- sessions, backend connections, the balancer state of its
 * runtime slot -- is touched only by the worker's own thread, which is
 * why its event_base runs without locks.  A runtime the worker lets go
 * has its idle connections in this worker's slot closed here first,
 * since they belong to this loop.
 */
#include <sys/eventfd.h>
#include <sys/random.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "proxy/conn.h"
#include "proxy/listener.h"
#include "proxy/proxy_priv.h"
#include "proxy/runtime.h"
#include "proxy/session.h"
#include "proxy/worker.h"

/* What other threads ask of a worker (w_post). */
#define WORKER_POST_SWAP	0x1u	/* take w_next */
#define WORKER_POST_DRAIN	0x2u
#define WORKER_POST_STOP	0x4u
#define WORKER_POST_QUEUE	0x8u	/* run w_ev_queue */

static void	*worker_main(void *arg);
static void	 worker_post(struct worker *w, unsigned what);
static void	 worker_post_cb(evutil_socket_t fd, short what, void *arg);
static void	 worker_waker(struct pool_waker *pw);
static void	 worker_swap_in(struct worker *w);
static void	 worker_drain_now(struct worker *w);
static void	 worker_set_runtime(struct worker *w, struct runtime *rt);
static struct event_base	*worker_base_new(void);

/*
 * A worker's event_base.  No locking: only its own thread touches it
 * (others post through w_efd), so event_add() and event_del() for every
 * connection take no mutex.  And epoll's changelist: a connection
 * whose owner stops and restarts reading, or arms EV_WRITE for a write
 * that then completes, within one pass of the loop costs one epoll_ctl
 * or none, folded in before the next epoll_wait.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base;

	if ((cfg = event_config_new()) == NULL)
		return (NULL);
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST |
	    EVENT_BASE_FLAG_NOLOCK);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return (base);
}

struct worker *
worker_new(size_t id, struct runtime *rt, struct event *drained)
{
	struct worker	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->magic = WORKER_MAGIC;
	w->w_id = id;
	w->w_efd = -1;
	w->w_ev_drained = drained;
	TAILQ_INIT(&w->w_sessions);
	TAILQ_INIT(&w->w_queued);
	if (pthread_mutex_init(&w->w_lock, NULL) != 0) {
		free(w);
		return (NULL);
	}
	if (getrandom(&w->w_rand, sizeof(w->w_rand), 0) !=
	    sizeof(w->w_rand) || w->w_rand == 0)
		w->w_rand = 0x9e3779b97f4a7c15ULL + id;
	w->w_rt = runtime_get(rt);
	w->w_waker.pw_wake = worker_waker;
	if ((w->w_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (w->w_base = worker_base_new()) == NULL ||
	    (w->w_ev_post = event_new(w->w_base, w->w_efd,
	    EV_READ | EV_PERSIST, worker_post_cb, w)) == NULL ||
	    event_add(w->w_ev_post, NULL) == -1 ||
	    (w->w_ev_queue = event_new(w->w_base, -1, 0,
	    session_req_queue_cb, w)) == NULL) {
		worker_free(w);
		return (NULL);
	}
	return (w);
}

int
worker_listen(struct worker *w, size_t li, int fd)
{
	struct listener_acceptor	**a;

	a = reallocarray(w->w_acceptors, w->w_nacceptors + 1, sizeof(*a));
	if (a == NULL) {
		close(fd);
		return (-1);
	}
	w->w_acceptors = a;
	if ((a[w->w_nacceptors] = listener_accept_start(w, li, fd)) == NULL)
		return (-1);
	w->w_nacceptors++;
	return (0);
}

int
worker_start(struct worker *w)
{
	int	 rc;

	if ((rc = pthread_create(&w->w_thread, NULL, worker_main, w)) != 0) {
		errno = rc;
		return (-1);
	}
	w->w_started = true;
	return (0);
}

void
worker_swap(struct worker *w, struct runtime *rt)
{
	struct runtime	*old;

	pthread_mutex_lock(&w->w_lock);
	old = w->w_next;
	w->w_next = runtime_get(rt);
	pthread_mutex_unlock(&w->w_lock);
	/* A swap the worker had not taken yet: nobody used it. */
	runtime_put(old);
	worker_post(w, WORKER_POST_SWAP);
}

void
worker_drain(struct worker *w)
{
	worker_post(w, WORKER_POST_DRAIN);
}

void
worker_stop(struct worker *w)
{
	worker_post(w, WORKER_POST_STOP);
}

/*
 * From any thread.  Only the poster that sets a bit writes to the
 * eventfd; the worker reads the eventfd before it takes the bits, so a
 * bit set after that take writes again and is not lost.
 */
static void
worker_post(struct worker *w, unsigned what)
{
	uint64_t	 one = 1;

	if ((atomic_fetch_or(&w->w_post, what) & what) == what)
		return;
	/* Only a full counter (2^64 - 2 posts unread) refuses a write. */
	while (write(w->w_efd, &one, sizeof(one)) == -1 && errno == EINTR)
		continue;
}

static void
worker_waker(struct pool_waker *pw)
{
	struct worker	*w = (struct worker *)(void *)((char *)pw -
			    offsetof(struct worker, w_waker));

	worker_post(w, WORKER_POST_QUEUE);
}

static void
worker_post_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	uint64_t	 n;
	unsigned	 post;

	(void)what;
	ASSERT(w->magic == WORKER_MAGIC);
	while (read(fd, &n, sizeof(n)) == -1 && errno == EINTR)
		continue;
	post = atomic_exchange(&w->w_post, 0);
	if (post & WORKER_POST_SWAP)
		worker_swap_in(w);
	if (post & WORKER_POST_QUEUE)
		event_active(w->w_ev_queue, 0, 0);
	if (post & WORKER_POST_DRAIN)
		worker_drain_now(w);
	if (post & WORKER_POST_STOP)
		event_base_loopbreak(w->w_base);
}

void
worker_free(struct worker *w)
{
	struct session	*s;
	size_t		 i;

	if (w == NULL)
		return;
	if (w->w_started)
		pthread_join(w->w_thread, NULL);
	/* The thread is gone: what it owned is ours to free. */
	w->w_ev_drained = NULL;
	while ((s = TAILQ_FIRST(&w->w_sessions)) != NULL)
		session_close(s);
	for (i = 0; i < w->w_nacceptors; i++)
		listener_accept_stop(w->w_acceptors[i]);
	free(w->w_acceptors);
	worker_set_runtime(w, NULL);
	runtime_put(w->w_next);
	if (w->w_ev_post != NULL)
		event_free(w->w_ev_post);
	/* No ticket names it any more: the sessions left their queues. */
	if (w->w_ev_queue != NULL)
		event_free(w->w_ev_queue);
	if (w->w_base != NULL)
		event_base_free(w->w_base);
	if (w->w_efd != -1)
		close(w->w_efd);
	pthread_mutex_destroy(&w->w_lock);
	w->magic = 0;
	free(w);
}

/* ------------------------------------------------------------------ */

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	ASSERT(w->magic == WORKER_MAGIC);
	if (conn_loop(w->w_base, 0) == -1)
		log_warnx("worker %zu: event loop failed", w->w_id);
	/* What this thread kept for reuse dies with it. */
	worker_caches_flush();
	return (NULL);
}

void
worker_caches_flush(void)
{
	session_cache_flush();
	conn_cache_flush();
	http_parser_cache_flush();
}

/* Lets the current runtime go (closing this worker's idle connections). */
static void
worker_set_runtime(struct worker *w, struct runtime *rt)
{
	if (w->w_rt != NULL) {
		runtime_slot_clear(w->w_rt, w->w_id);
		runtime_put(w->w_rt);
	}
	w->w_rt = rt;
}

static void
worker_swap_in(struct worker *w)
{
	struct runtime	*rt;

	pthread_mutex_lock(&w->w_lock);
	rt = w->w_next;
	w->w_next = NULL;
	pthread_mutex_unlock(&w->w_lock);
	if (rt != NULL)
		worker_set_runtime(w, rt);
}

static void
worker_drain_now(struct worker *w)
{
	struct session	*s, *next;
	size_t		 i;

	if (w->w_draining)
		return;
	w->w_draining = true;
	for (i = 0; i < w->w_nacceptors; i++)
		listener_accept_stop(w->w_acceptors[i]);
	w->w_nacceptors = 0;
	runtime_slot_clear(w->w_rt, w->w_id);
	for (s = TAILQ_FIRST(&w->w_sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, s_entry);
		session_drain(s);
	}
	worker_session_gone(w);
}

/* A session closed: a draining worker with none left is done. */
void
worker_session_gone(struct worker *w)
{
	if (!w->w_draining || w->w_nsessions > 0)
		return;
	event_base_loopbreak(w->w_base);
	atomic_store(&w->w_done, true);
	if (w->w_ev_drained != NULL)
		event_active(w->w_ev_drained, EV_TIMEOUT, 0);
	w->w_ev_drained = NULL;
}

bool
worker_drained(struct worker *w)
{
	return (atomic_load(&w->w_done));
}

int
worker_random(void *arg, void *buf, size_t len)
{
	struct worker	*w = arg;
	uint8_t		*out = buf;
	size_t		 n;
	ssize_t		 got;

	ASSERT(w->magic == WORKER_MAGIC);
	while (len > 0) {
		if (w->w_nentropy == 0) {
			got = getrandom(w->w_entropy, sizeof(w->w_entropy), 0);
			if (got <= 0)
				return (-1);
			w->w_nentropy = (size_t)got;
		}
		n = len < w->w_nentropy ? len : w->w_nentropy;
		/* Taken from the end; used bytes are wiped, never reused. */
		memcpy(out, w->w_entropy + w->w_nentropy - n, n);
		memset(w->w_entropy + w->w_nentropy - n, 0, n);
		w->w_nentropy -= n;
		out += n;
		len -= n;
	}
	return (0);
}

void
worker_set_metrics(struct worker *w, struct metrics_shard *ms)
{
	w->w_metrics = ms;
}
