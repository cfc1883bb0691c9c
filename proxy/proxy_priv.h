/*
 * proxy/proxy_priv.h: the structures the proxy core's files share: a
 * worker (worker.c), a client session and the request it is serving
 * (session.c, session_req.c, session_resp.c, tunnel.c), and the
 * functions those files call in each other, in blocks headed by the
 * file that defines them.  Nothing outside proxy/ includes this file.
 */
#ifndef PROXY_PROXY_PRIV_H
#define PROXY_PROXY_PRIV_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <event2/util.h>

#include "pool/pool.h"
#include "proxy/http.h"
#include "proxy/upstream.h"

struct backend;
struct backend_pool;
struct conf_listener;
struct conn;
struct conf_route;
struct event;
struct event_base;
struct evbuffer;
struct listener_acceptor;
struct metrics_shard;
struct pool_set;
struct runtime;
struct upstream;

/*
 * Bytes a session lets pile up in one direction before it stops reading
 * the other side: the bound on memory per connection, whatever the size
 * of the bodies going through (backpressure).
 */
#define SESSION_WATERMARK	(64 * 1024)
#define SESSION_MAX_TRIES	16	/* backends one request may try */

#define WORKER_MAGIC		0x0a11ab1e
#define SESSION_MAGIC		0x5e551017

TAILQ_HEAD(session_list, session);

/*
 * One worker thread.  Owned by the main thread (main.c), which creates,
 * starts, signals and joins it; everything below w_base is touched only
 * by the worker's own thread, except w_next (under w_lock).  Other
 * threads reach it only through worker_post(): a bit in w_post and a
 * write to w_efd.
 */
struct worker {
	unsigned		 magic;
	size_t			 w_id;
	pthread_t		 w_thread;
	bool			 w_started;
	struct event_base	*w_base;
	int			 w_efd;		/* eventfd: w_post has bits */
	struct event		*w_ev_post;	/* reads w_efd */
	_Atomic unsigned	 w_post;	/* WORKER_POST_* */
	struct pool_waker	 w_waker;	/* pools -> WORKER_POST_QUEUE */
	struct event		*w_ev_drained;	/* worker -> main (main's) */
	pthread_mutex_t		 w_lock;
	struct runtime		*w_next;	/* w_lock: runtime to swap in */

	struct runtime		*w_rt;		/* for new sessions; a ref */
	struct listener_acceptor **w_acceptors;	/* per listener */
	size_t			 w_nacceptors;
	struct session_list	 w_sessions;
	size_t			 w_nsessions;
	struct event		*w_ev_queue;	/* room in a pool: look */
	struct session_list	 w_queued;	/* waiting for a VM, FIFO */
	uint64_t		 w_qgen;	/* w_ev_queue runs */
	bool			 w_draining;
	_Atomic bool		 w_done;	/* drained; main reads it */
	uint64_t		 w_rand;	/* lb_rand() state */
	struct metrics_shard	*w_metrics;	/* main's; ours to write */
	uint8_t			 w_entropy[256];	/* getrandom() bytes... */
	size_t			 w_nentropy;	/* ...not handed out yet */
};

/* Where the client side of a session is. */
enum session_cstate {
	SESSION_C_IDLE = 0,	/* between requests (keep-alive) */
	SESSION_C_HEAD,		/* reading a request head */
	SESSION_C_BODY,		/* forwarding the request body */
	SESSION_C_WAIT,		/* request read, response under way */
	SESSION_C_TUNNEL,	/* after a 101: raw bytes both ways */
	SESSION_C_CLOSING,	/* flushing the last response */
};

/* Where the upstream side of the current request is. */
enum session_ustate {
	SESSION_U_NONE = 0,	/* no backend yet, or a local reply */
	SESSION_U_QUEUED,	/* microvm: waiting for a VM with room */
	SESSION_U_CONNECTING,	/* upstream_connect() under way */
	SESSION_U_WAIT,		/* head sent, no response head yet */
	SESSION_U_BODY,		/* forwarding the response body */
	SESSION_U_DONE,		/* response complete */
};

/* The request a session is serving; reset between requests. */
struct session_req {
	bool			 rq_active;	/* a request has begun */
	bool			 rq_head_timed;	/* header timeout armed */
	uint64_t		 rq_start_ns;
	struct timespec		 rq_start_wall;
	enum http_method	 rq_method;
	int			 rq_version;	/* 10 or 11 */
	bool			 rq_keepalive;	/* the client's wish */
	bool			 rq_idempotent;	/* RFC 9110 §9.2.2 */
	bool			 rq_upgrade;
	bool			 rq_expect;	/* 100-continue */
	bool			 rq_continue;	/* 100 sent to the client */
	bool			 rq_done;	/* request read completely */
	bool			 rq_body_sent;	/* body bytes went upstream */
	enum http_framing	 rq_framing;	/* towards the backend */
	uint64_t		 rq_max_body;	/* 0: any */
	uint64_t		 rq_hash;	/* balancing key */

	const struct conf_route	*rq_route;
	struct backend_pool	*rq_pool;
	size_t			 rq_pidx;
	struct backend		*rq_be;		/* this attempt's; acquired */
	struct pool_set		*rq_set;	/* microvm: while picking */
	uint64_t		 rq_ticket;	/* microvm: in the queue */
	uint64_t		 rq_queued_ns;
	size_t			 rq_tried[SESSION_MAX_TRIES];
	unsigned		 rq_ntried;
	unsigned		 rq_retries;	/* counted retries */
	bool			 rq_free_retry;	/* stale keep-alive retried */
	uint64_t		 rq_up_start_ns;
	uint64_t		 rq_up_us;	/* to the response head */

	int			 rq_status;	/* sent to the client */
	bool			 rq_resp_started; /* head sent to client */
	bool			 rq_resp_1xx;	/* an interim response */
	bool			 rq_resp_any;	/* backend sent a byte */
	bool			 rq_up_eof;	/* backend closed */
	bool			 rq_up_keep;	/* backend conn reusable */
	enum http_framing	 rq_resp_framing; /* towards the client */
	uint64_t		 rq_ttfb_us;
	uint64_t		 rq_bytes_in;
	uint64_t		 rq_bytes_out;
};

/*
 * One client connection.  Owned by its worker (listed in w_sessions);
 * owns the client's conn, the current upstream, its parsers, timers and
 * the runtime reference it started on, and frees them all in
 * session_close().
 */
struct session {
	unsigned		 magic;
	TAILQ_ENTRY(session)	 s_entry;
	struct worker		*s_worker;
	struct runtime		*s_rt;
	size_t			 s_li;		/* listener index */
	const struct conf_listener *s_lconf;
	struct conn		*s_cc;		/* the client */
	struct upstream		*s_up;
	struct http_parser	*s_reqp;
	struct http_parser	*s_respp;	/* per attempt... */
	bool			 s_respp_reuse;	/* ...or kept: it ended a
						   kept-alive response */
	struct evbuffer		*s_body;	/* one batch of body bytes */
	struct evbuffer		*s_head;	/* request head, for retries */
	/* The three events live in the session's own allocation. */
	struct event		*s_ctimer;	/* header, body, keep-alive */
	struct event		*s_utimer;	/* backend response, idle */
	struct event		*s_kick;	/* next pipelined request */
	enum session_cstate	 s_cstate;
	enum session_ustate	 s_ustate;
	struct sockaddr_storage	 s_peer;
	char			 s_client_ip[INET6_ADDRSTRLEN];
	bool			 s_tls;
	bool			 s_trusted;	/* peer in trusted_proxies */
	bool			 s_client_eof;
	bool			 s_error;	/* the client link broke */
	bool			 s_close;	/* close after this response */
	unsigned		 s_nreq;	/* requests begun */
	struct session_req	 s_rq;
	TAILQ_ENTRY(session)	 s_qentry;	/* in w_queued... */
	bool			 s_queued;	/* ...if this */
	uint64_t		 s_qgen;	/* w_qgen when it went in */
	struct session		*s_cnext;	/* in session.c's cache */
};

/*
 * session.c
 */
void	 session_close(struct session *s);
/* Frees the sessions this thread keeps for reuse: before it ends. */
void	 session_cache_flush(void);
/*
 * Every session callback ends here: <rc> -1 closes the session, else
 * the output queued on both sides is written (proxy/conn.h).
 */
void	 session_cb_end(struct session *s, int rc);
int	 session_client_process(struct session *s);
int	 session_reply(struct session *s, int status, const char *text);
int	 session_reply_hdr(struct session *s, int status, const char *text,
	    const char *name, const char *value);
int	 session_txn_done(struct session *s);
void	 session_timer(struct event *ev, uint64_t ms);
bool	 session_timer_early(struct session *s, struct event *ev);
void	 session_attempt_end(struct session *s, bool keep);
int	 session_add_hsts(struct session *s, struct http_msg *msg);

/*
 * session_req.c
 */
int	 session_req_head(struct session *s);
int	 session_req_body(struct session *s);
int	 session_req_attempt(struct session *s);
/*
 * A request waiting for a VM (SESSION_U_QUEUED) tries again or times
 * out: when its pool wakes the worker (session_req_queue_cb on
 * w_ev_queue), or on s_utimer.
 */
int	 session_req_queued(struct session *s);
void	 session_req_queue_cb(evutil_socket_t fd, short what, void *arg);
void	 session_req_unqueue(struct session *s);

/*
 * session_resp.c
 */
int	 session_resp_attach(struct session *s, struct upstream *up);
int	 session_resp_pump(struct session *s);
int	 session_resp_failed(struct session *s, int status, const char *why,
	    unsigned flags);
void	 session_resp_timer_cb(evutil_socket_t fd, short what, void *arg);
void	 session_resp_ready_cb(struct upstream *up,
	    enum upstream_error err, void *arg);

/*
 * tunnel.c
 */
int	 tunnel_start(struct session *s);
int	 tunnel_pump(struct session *s);

/*
 * worker.c
 */
void	 worker_session_gone(struct worker *w);
/*
 * http_forward's fw_random for the worker <arg>: fresh kernel randomness,
 * fetched 256 bytes at a time rather than one getrandom(2) per request.
 */
int	 worker_random(void *arg, void *buf, size_t len);

#endif /* PROXY_PROXY_PRIV_H */
