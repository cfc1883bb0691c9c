/*
 * proxy/worker.h: a worker thread: one event_base, its own listening
 * sockets, the sessions they accept, its share of every runtime (balancer
 * state, idle backend connections).  The main thread talks to a worker
 * only through the calls below, which activate events on the worker's
 * base (libevent's pthreads support makes that safe from any thread).
 */
#ifndef PROXY_WORKER_H
#define PROXY_WORKER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct event;
struct metrics_shard;
struct runtime;
struct worker;

/*
 * Worker <id>, handing new sessions <rt> (a reference is taken).  When
 * it has drained, <drained> (an event of the main thread's base) is
 * activated.  NULL if out of resources.
 */
struct worker	*worker_new(size_t id, struct runtime *rt,
		    struct event *drained);
/* Before worker_start(): accept on <fd> (taken) for listener <li>. */
int		 worker_listen(struct worker *w, size_t li, int fd);
/* Before worker_start(): count requests into <ms> (borrowed). */
void		 worker_set_metrics(struct worker *w, struct metrics_shard *ms);
/* Starts the thread.  0 or -1. */
int		 worker_start(struct worker *w);
/* Any thread: new sessions get <rt> from now on (a reference is taken). */
void		 worker_swap(struct worker *w, struct runtime *rt);
/* Any thread: stop accepting, finish what is under way, then stop. */
void		 worker_drain(struct worker *w);
/* Any thread: whether a draining worker has finished. */
bool		 worker_drained(struct worker *w);
/* Any thread: stop now, closing every session. */
void		 worker_stop(struct worker *w);
/* Waits for the thread to end, then frees everything.  NULL: no-op. */
void		 worker_free(struct worker *w);

/*
 * Frees what the calling thread keeps for reuse (closed sessions,
 * connections, parsers): each worker thread does at its end, and the
 * main thread after worker_free() has closed the rest.
 */
void		 worker_caches_flush(void);

#endif /* PROXY_WORKER_H */
