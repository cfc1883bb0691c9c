/*
 * proxy/session.c: a client connection's life: accept, the client-side
 * state machine, local replies, the end of each request, close.
 *
 * A session serves one request at a time (in-order pipelining: the next
 * request's bytes wait in the input buffer, bounded by the read
 * watermark, until the response to this one is complete).  The client
 * side goes IDLE -> HEAD -> BODY -> WAIT -> IDLE ..., or to TUNNEL after
 * a 101, or to CLOSING when the connection ends after this response.
 * Request forwarding is in session_req.c, the backend side and the
 * response in session_resp.c, tunnels in tunnel.c.
 *
 * Every callback funnels into functions that return 0 or -1; -1 means
 * "close the session", which only the callback at the bottom of the
 * stack does, so nothing touches a freed session.  Callbacks end in
 * session_cb_end(), which also writes what the callback queued on
 * either connection (proxy/conn.c writes only when asked), so a request
 * or response goes out in one write per side.  A session belongs to one
 * worker and runs only on its thread.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/mtime.h"
#include "proxy/accesslog.h"
#include "proxy/metrics.h"
#include "pool/pool.h"
#include "proxy/backend.h"
#include "proxy/conn.h"
#include "proxy/proxy_priv.h"
#include "proxy/runtime.h"
#include "proxy/session.h"
#include "proxy/tls.h"
#include "proxy/upstream.h"

#define SESSION_LOG_FIELD	256	/* access log strings, each */
#define SESSION_LOG_TARGET	2048	/* the request-target, logged */
#define SESSION_STATUS_ABORTED	499	/* logged: no response was sent */

static void	session_client_ip(struct session *s, const struct sockaddr *sa);
static bool	session_trusted(const struct conf_listener *li,
		    const struct sockaddr *sa);
static void	session_read_cb(struct conn *c, void *arg);
static void	session_write_cb(struct conn *c, void *arg);
static void	session_event_cb(struct conn *c, int what, void *arg);
static void	session_ipv4(char *buf, const void *a);
static void	session_destroy(struct session *s);
static struct session *session_alloc(void);
static bool	session_cache_put(struct session *s);
static struct session *session_cache_get(void);

/* Closed sessions kept for reuse by this thread (session_cache_put()). */
#define SESSION_CACHE_MAX	256
static __thread struct session	*session_cache;
static __thread unsigned	 session_ncache;
static void	session_ctimer_cb(evutil_socket_t fd, short what, void *arg);
static void	session_kick_cb(evutil_socket_t fd, short what, void *arg);
static void	session_log(struct session *s);
static void	session_log_str(char *buf, size_t len, const char *v,
		    size_t vlen);
static int	session_head(struct session *s);
static int	session_closing(struct session *s);
static int	session_refresh(struct session *s);
static void	session_limits(const struct conf_listener *li,
		    struct http_limits *lim);

int
session_new(struct worker *w, size_t li, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct session		*s;
	struct http_limits	 lim;
	SSL			*ssl = NULL;

	if ((s = session_cache_get()) == NULL &&
	    (s = session_alloc()) == NULL) {
		close(fd);
		return (-1);
	}
	s->magic = SESSION_MAGIC;
	s->s_worker = w;
	s->s_rt = runtime_get(w->w_rt);
	s->s_li = li;
	s->s_lconf = &s->s_rt->rt_conf->c_listeners[li];
	session_client_ip(s, sa);
	s->s_trusted = session_trusted(s->s_lconf, sa);
	TAILQ_INSERT_TAIL(&w->w_sessions, s, s_entry);
	w->w_nsessions++;

	if ((size_t)salen <= sizeof(s->s_peer))
		memcpy(&s->s_peer, sa, (size_t)salen);
	session_limits(s->s_lconf, &lim);
	/* TCP_NODELAY comes from the listening socket (listener.c). */
	(void)evtimer_assign(s->s_ctimer, w->w_base, session_ctimer_cb, s);
	(void)evtimer_assign(s->s_utimer, w->w_base, session_resp_timer_cb, s);
	(void)event_assign(s->s_kick, w->w_base, -1, 0, session_kick_cb, s);
	/* A session from the cache has its buffers. */
	if ((s->s_reqp = http_parser_new(HTTP_PARSER_REQUEST, &lim)) == NULL ||
	    (s->s_body == NULL && (s->s_body = evbuffer_new()) == NULL) ||
	    (s->s_head == NULL && (s->s_head = evbuffer_new()) == NULL))
		goto fail;
	if (s->s_rt->rt_tls[li] != NULL) {
		s->s_tls = true;
		if ((ssl = tls_server_ssl(s->s_rt->rt_tls[li])) == NULL)
			goto fail;
		s->s_cc = conn_new_ssl(w->w_base, fd, ssl, true);
	} else
		s->s_cc = conn_new(w->w_base, fd);
	fd = -1;			/* the conn's, even on failure */
	if (s->s_cc == NULL)
		goto fail;
	conn_setcb(s->s_cc, session_read_cb, session_write_cb,
	    session_event_cb, s);
	conn_watermarks(s->s_cc, SESSION_WATERMARK, SESSION_WATERMARK / 2);
	/* The request has likely come with the connection: read it now. */
	conn_read_once(s->s_cc);
	s->s_cstate = SESSION_C_IDLE;
	/* The first request's head is due within the header timeout. */
	session_timer(s->s_ctimer, s->s_lconf->li_timeouts.lt_client_header);
	return (0);
fail:
	if (fd != -1)
		close(fd);
	session_close(s);
	return (-1);
}

void
session_close(struct session *s)
{
	struct worker	*w = s->s_worker;

	ASSERT(s->magic == SESSION_MAGIC);
	if (s->s_rq.rq_active)
		session_log(s);
	session_attempt_end(s, false);
	/* A clean end keeps the TLS session resumable (see tls.h). */
	if (s->s_tls && s->s_cc != NULL && !s->s_error)
		tls_ssl_finish(conn_ssl(s->s_cc));
	conn_free(s->s_cc);
	s->s_cc = NULL;
	http_parser_free(s->s_reqp);
	s->s_reqp = NULL;
	http_parser_free(s->s_respp);
	s->s_respp = NULL;
	runtime_put(s->s_rt);
	s->s_rt = NULL;
	TAILQ_REMOVE(&w->w_sessions, s, s_entry);
	w->w_nsessions--;
	/* While the worker's base is sure to be there. */
	event_del(s->s_ctimer);
	event_del(s->s_utimer);
	event_del(s->s_kick);
	s->magic = 0;
	if (!session_cache_put(s))
		session_destroy(s);
	worker_session_gone(w);
}

void
session_cache_flush(void)
{
	struct session	*s;

	while ((s = session_cache) != NULL) {
		CACHE_UNPOISON(s);
		session_cache = s->s_cnext;
		session_ncache--;
		session_destroy(s);
	}
}

/*
 * A session and its three events in one allocation, the events set up
 * with event_assign(): freeing them is freeing the session, with no call
 * into libevent, whose base may be gone by the time a cache is flushed.
 */
static struct session *
session_alloc(void)
{
	size_t		 off = ALLOC_ALIGN(sizeof(struct session));
	size_t		 evsz = ALLOC_ALIGN(event_get_struct_event_size());
	struct session	*s;
	char		*ev;

	if ((s = calloc(1, off + 3 * evsz)) == NULL)
		return (NULL);
	ev = (char *)s + off;
	s->s_ctimer = (struct event *)(void *)ev;
	s->s_utimer = (struct event *)(void *)(ev + evsz);
	s->s_kick = (struct event *)(void *)(ev + 2 * evsz);
	return (s);
}

/* Frees a closed session (its events deleted) and its buffers. */
static void
session_destroy(struct session *s)
{
	if (s->s_body != NULL)
		evbuffer_free(s->s_body);
	if (s->s_head != NULL)
		evbuffer_free(s->s_head);
	free(s);
}

/*
 * A closed session goes to its thread's cache, with its buffers (emptied)
 * and its events (deleted), unless the cache is full or the session is
 * incomplete: with conn.c's and http.c's caches, a client connection
 * then allocates almost nothing.
 */
static bool
session_cache_put(struct session *s)
{
	if (session_ncache >= SESSION_CACHE_MAX || s->s_body == NULL ||
	    s->s_head == NULL)
		return (false);
	evbuffer_drain(s->s_body, evbuffer_get_length(s->s_body));
	evbuffer_drain(s->s_head, evbuffer_get_length(s->s_head));
	s->s_cnext = session_cache;
	session_cache = s;
	session_ncache++;
	CACHE_POISON(s);
	return (true);
}

/*
 * A cached session, zeroed but for its buffers and its events (deleted
 * when it closed, so session_new() may assign them again), or NULL.
 */
static struct session *
session_cache_get(void)
{
	struct session	*s, keep;

	if ((s = session_cache) == NULL)
		return (NULL);
	CACHE_UNPOISON(s);
	session_cache = s->s_cnext;
	session_ncache--;
	keep = *s;
	memset(s, 0, sizeof(*s));
	s->s_body = keep.s_body;
	s->s_head = keep.s_head;
	s->s_ctimer = keep.s_ctimer;
	s->s_utimer = keep.s_utimer;
	s->s_kick = keep.s_kick;
	return (s);
}

/*
 * Shutting down: a session between requests ends, once the response it
 * has just written has gone and any bytes the client sent in this pass
 * have been read; any other ends after its request (s_close).
 */
void
session_drain(struct session *s)
{
	ASSERT(s->magic == SESSION_MAGIC);
	s->s_close = true;
	if (s->s_cstate != SESSION_C_IDLE ||
	    evbuffer_get_length(conn_input(s->s_cc)) > 0)
		return;
	if (conn_read_due(s->s_cc)) {
		/* The keep-alive timer, put off past that read, ends it. */
		(void)session_timer_early(s, s->s_ctimer);
		return;
	}
	if (evbuffer_get_length(conn_output(s->s_cc)) > 0) {
		if (session_closing(s) == -1)
			session_close(s);
		return;
	}
	session_close(s);
}

/* Text form of the peer's address; IPv4-mapped IPv6 as plain IPv4. */
static void
session_client_ip(struct session *s, const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6;
	const void			*a = NULL;
	int				 af = sa->sa_family;

	if (af == AF_INET)
		a = &((const struct sockaddr_in *)sa)->sin_addr;
	else if (af == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		a = &sin6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			af = AF_INET;
			a = &sin6->sin6_addr.s6_addr[12];
		}
	}
	if (af == AF_INET)
		session_ipv4(s->s_client_ip, a);
	else if (a == NULL || inet_ntop(af, a, s->s_client_ip,
	    sizeof(s->s_client_ip)) == NULL)
		snprintf(s->s_client_ip, sizeof(s->s_client_ip), "unknown");
}

/*
 * Dotted quad of the 4 bytes at <a> into <buf> (16 bytes at least).
 * glibc's inet_ntop() goes through sprintf(): 1,700 instructions for
 * every client connection (callgrind), where this takes about 60.
 */
static void
session_ipv4(char *buf, const void *a)
{
	const unsigned char	*b = a;
	char			*p = buf;
	int			 i;

	for (i = 0; i < 4; i++) {
		if (b[i] >= 100)
			*p++ = (char)('0' + b[i] / 100);
		if (b[i] >= 10)
			*p++ = (char)('0' + b[i] / 10 % 10);
		*p++ = (char)('0' + b[i] % 10);
		*p++ = i < 3 ? '.' : '\0';
	}
}

/* Whether the peer is in the listener's trusted_proxies. */
static bool
session_trusted(const struct conf_listener *li, const struct sockaddr *sa)
{
	const struct sockaddr_in6	*sin6;
	const struct conf_cidr		*c;
	const uint8_t			*a;
	size_t				 i, bytes;
	int				 af = sa->sa_family;
	uint8_t				 mask;

	if (af == AF_INET)
		a = (const uint8_t *)
		    &((const struct sockaddr_in *)sa)->sin_addr;
	else if (af == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)sa;
		a = sin6->sin6_addr.s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			af = AF_INET;
			a += 12;
		}
	} else
		return (false);
	for (i = 0; i < li->li_ntrusted; i++) {
		c = &li->li_trusted[i];
		if (c->cc_family != af)
			continue;
		bytes = c->cc_prefix / 8;
		if (memcmp(a, c->cc_addr, bytes) != 0)
			continue;
		if (c->cc_prefix % 8 == 0)
			return (true);
		mask = (uint8_t)(0xff << (8 - c->cc_prefix % 8));
		if ((a[bytes] & mask) == c->cc_addr[bytes])
			return (true);
	}
	return (false);
}

/*
 * A timer of <s> that is due while bytes from either side wait to be
 * read (conn_read_due(): conn_loop() reads after the pass's callbacks,
 * timers included, and a process stopped and continued wakes with its
 * timers due and no events): what the bytes say, a response or the rest
 * of a request or the next one, may be what the timer waits for, so it
 * is looked at again in the next pass, once they have been read.  True
 * if <ev> was put off so.
 */
bool
session_timer_early(struct session *s, struct event *ev)
{
	static const struct timeval	 now = { 0, 0 };
	struct conn			*uc;

	if (!conn_read_due(s->s_cc) && (s->s_up == NULL ||
	    (uc = upstream_conn(s->s_up)) == NULL || !conn_read_due(uc)))
		return (false);
	evtimer_add(ev, &now);
	return (true);
}

void
session_timer(struct event *ev, uint64_t ms)
{
	struct timeval	 tv;

	if (ms == 0) {
		evtimer_del(ev);
		return;
	}
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* ------------------------------------------------------------------ */

/*
 * The end of every callback of a session: <rc> -1 closes it; otherwise
 * what the callback queued goes out now, one write per connection.
 */
void
session_cb_end(struct session *s, int rc)
{
	struct conn	*uc;

	if (rc == -1) {
		session_close(s);
		return;
	}
	if (s->s_up != NULL && (uc = upstream_conn(s->s_up)) != NULL)
		conn_flush(uc);
	conn_flush(s->s_cc);
	/*
	 * The client is read, and watched for a close, except while the
	 * response to a request that ends the connection is under way:
	 * nothing more is wanted from it then, and a client that sends
	 * one request as it connects is never registered with epoll.
	 */
	if (s->s_cstate != SESSION_C_CLOSING &&
	    (s->s_cstate != SESSION_C_WAIT || s->s_rq.rq_keepalive) &&
	    conn_read_start(s->s_cc) == -1)
		session_close(s);
}

static void
session_read_cb(struct conn *c, void *arg)
{
	struct session	*s = arg;

	(void)c;
	ASSERT(s->magic == SESSION_MAGIC);
	session_cb_end(s, session_client_process(s));
}

/* The client took some of its output: more response, or the end. */
static void
session_write_cb(struct conn *c, void *arg)
{
	struct session	*s = arg;
	int		 rc = 0;

	ASSERT(s->magic == SESSION_MAGIC);
	switch (s->s_cstate) {
	case SESSION_C_CLOSING:
		if (evbuffer_get_length(conn_output(c)) == 0)
			rc = -1;
		break;
	case SESSION_C_TUNNEL:
		rc = tunnel_pump(s);
		break;
	default:
		if (s->s_ustate == SESSION_U_BODY)
			rc = session_resp_pump(s);
		break;
	}
	session_cb_end(s, rc);
}

static void
session_event_cb(struct conn *c, int what, void *arg)
{
	struct session	*s = arg;
	int		 rc = 0;

	(void)c;
	ASSERT(s->magic == SESSION_MAGIC);
	if (what & CONN_EV_ERROR) {
		log_debug("listener %s: client %s: connection error",
		    s->s_lconf->li_name, s->s_client_ip);
		s->s_error = true;
		session_close(s);
		return;
	}
	if (!(what & CONN_EV_EOF))
		return;
	/*
	 * The client has finished sending (it may still read: socat and
	 * others half-close after the last pipelined request).  What is
	 * buffered is still served; a request cut short is not.
	 */
	s->s_client_eof = true;
	switch (s->s_cstate) {
	case SESSION_C_IDLE:
	case SESSION_C_HEAD:
	case SESSION_C_BODY:
	case SESSION_C_TUNNEL:
		rc = session_client_process(s);
		break;
	case SESSION_C_WAIT:
	case SESSION_C_CLOSING:		/* the write callback closes */
		break;
	}
	session_cb_end(s, rc);
}

static void
session_kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;

	(void)fd;
	(void)what;
	ASSERT(s->magic == SESSION_MAGIC);
	session_cb_end(s, session_client_process(s));
}

/* The client-side timer: header, body, keep-alive, tunnel, closing. */
static void
session_ctimer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	int		 rc = -1;

	(void)fd;
	(void)what;
	ASSERT(s->magic == SESSION_MAGIC);
	if (session_timer_early(s, s->s_ctimer))
		return;
	switch (s->s_cstate) {
	case SESSION_C_HEAD:
		log_debug("listener %s: client %s: header timeout",
		    s->s_lconf->li_name, s->s_client_ip);
		rc = session_reply(s, 408, "408 Request Timeout\n");
		break;
	case SESSION_C_BODY:
		log_debug("listener %s: client %s: body timeout",
		    s->s_lconf->li_name, s->s_client_ip);
		if (!s->s_rq.rq_resp_started) {
			session_attempt_end(s, false);
			rc = session_reply(s, 408, "408 Request Timeout\n");
		}
		break;
	case SESSION_C_IDLE:		/* keep-alive over: close silently */
	case SESSION_C_WAIT:
	case SESSION_C_TUNNEL:
	case SESSION_C_CLOSING:
		break;
	}
	session_cb_end(s, rc);
}

/* ------------------------------------------------------------------ */

/*
 * Reads what the client sent as far as the state allows: request heads
 * (at most one request at a time), the body once a backend can take it,
 * tunnel bytes.
 */
int
session_client_process(struct session *s)
{
	struct evbuffer	*in = conn_input(s->s_cc);

	for (;;) {
		switch (s->s_cstate) {
		case SESSION_C_IDLE:
			if (evbuffer_get_length(in) == 0)
				return (s->s_client_eof ? session_closing(s) :
				    0);
			if (session_refresh(s) == -1)
				return (-1);
			memset(&s->s_rq, 0, sizeof(s->s_rq));
			s->s_rq.rq_active = true;
			s->s_rq.rq_start_ns = mtime_now_ns();
			clock_gettime(CLOCK_REALTIME, &s->s_rq.rq_start_wall);
			s->s_cstate = SESSION_C_HEAD;
			/* The first head's clock started at accept. */
			s->s_rq.rq_head_timed = s->s_nreq++ == 0;
			/* FALLTHROUGH */
		case SESSION_C_HEAD:
			if (session_head(s) == -1)
				return (-1);
			if (s->s_cstate != SESSION_C_HEAD)
				break;
			/*
			 * More of the head is due: its clock starts (a head
			 * that came whole never touches the timer).
			 */
			if (!s->s_rq.rq_head_timed) {
				s->s_rq.rq_head_timed = true;
				session_timer(s->s_ctimer,
				    s->s_lconf->li_timeouts.lt_client_header);
			}
			/* A head cut short by the client gets no answer. */
			return (s->s_client_eof ? session_closing(s) : 0);
		case SESSION_C_BODY:
			if (s->s_ustate != SESSION_U_WAIT &&
			    s->s_ustate != SESSION_U_BODY)
				return (0);	/* no backend to take it yet */
			return (session_req_body(s));
		case SESSION_C_TUNNEL:
			return (tunnel_pump(s));
		case SESSION_C_WAIT:
		case SESSION_C_CLOSING:
			return (0);
		}
	}
}

/*
 * Between requests: if the worker has swapped in a new runtime (SIGHUP),
 * the next request is served by it.  The parser is between messages, so
 * a new one (with the new listener limits) loses nothing: the bytes of
 * the next request are still in the input buffer.
 */
static int
session_refresh(struct session *s)
{
	struct worker		*w = s->s_worker;
	struct http_parser	*p;
	struct http_limits	 lim;

	if (s->s_rt == w->w_rt)
		return (0);
	session_limits(&w->w_rt->rt_conf->c_listeners[s->s_li], &lim);
	if ((p = http_parser_new(HTTP_PARSER_REQUEST, &lim)) == NULL)
		return (-1);
	http_parser_free(s->s_reqp);
	s->s_reqp = p;
	runtime_put(s->s_rt);
	s->s_rt = runtime_get(w->w_rt);
	s->s_lconf = &s->s_rt->rt_conf->c_listeners[s->s_li];
	s->s_trusted = session_trusted(s->s_lconf,
	    (struct sockaddr *)&s->s_peer);
	return (0);
}

/* The request parser's bounds from listener <li>'s limits. */
static void
session_limits(const struct conf_listener *li, struct http_limits *lim)
{
	lim->l_max_uri = li->li_limits.lm_max_uri;
	lim->l_max_header_bytes = li->li_limits.lm_max_header_size;
	lim->l_max_headers = li->li_limits.lm_max_headers;
	lim->l_max_body = 0;		/* per route: session_req.c */
}

/* Parses head bytes; at the end of the head, the request starts. */
static int
session_head(struct session *s)
{
	struct evbuffer		*in = conn_input(s->s_cc);
	enum http_parse_result	 r;
	int			 status;

	r = http_parse(s->s_reqp, in, NULL, 1);
	switch (r) {
	case HTTP_PARSE_AGAIN:
	case HTTP_PARSE_OK:
		return (0);
	case HTTP_PARSE_HEAD:
		return (session_req_head(s));
	case HTTP_PARSE_ERROR:
		status = http_parser_status(s->s_reqp);
		log_debug("listener %s: client %s: bad request (%d): %s",
		    s->s_lconf->li_name, s->s_client_ip, status,
		    http_parser_error(s->s_reqp));
		return (session_reply(s, status, NULL));
	case HTTP_PARSE_BODY:
	case HTTP_PARSE_DONE:
		break;
	}
	return (-1);
}

/*
 * Answers the current request from the proxy itself: <status> with the
 * body <text> (NULL: "<status> <reason>\n").  The connection stays open
 * only if the request was read completely and keep-alive is on.
 */
int
session_reply(struct session *s, int status, const char *text)
{
	return (session_reply_hdr(s, status, text, NULL, NULL));
}

/* The same with one more field, <name>: <value> (a Location). */
int
session_reply_hdr(struct session *s, int status, const char *text,
    const char *name, const char *value)
{
	struct session_req	*rq = &s->s_rq;
	struct evbuffer		*out = conn_output(s->s_cc);
	struct http_msg		*msg;
	char			 buf[64];
	size_t			 len;
	bool			 close;

	ASSERT(!rq->rq_resp_started);
	if (text == NULL) {
		snprintf(buf, sizeof(buf), "%d %s\n", status,
		    http_reason(status));
		text = buf;
	}
	len = strlen(text);
	close = !rq->rq_done || s->s_close || !rq->rq_keepalive ||
	    s->s_worker->w_draining;
	if ((msg = http_msg_new()) == NULL ||
	    http_msg_set_status(msg, status, NULL) == -1 ||
	    http_msg_add(msg, "Content-Type", "text/plain") == -1 ||
	    (name != NULL && http_msg_add(msg, name, value) == -1) ||
	    (close && http_msg_add(msg, "Connection", "close") == -1) ||
	    (!close && rq->rq_version == 10 &&
	    http_msg_add(msg, "Connection", "keep-alive") == -1) ||
	    session_add_hsts(s, msg) == -1 ||
	    http_write_head(out, msg, HTTP_FRAMING_LENGTH, len) == -1 ||
	    (rq->rq_method != HTTP_METHOD_HEAD &&
	    evbuffer_add(out, text, len) == -1)) {
		http_msg_free(msg);
		return (-1);
	}
	http_msg_free(msg);
	rq->rq_status = status;
	rq->rq_resp_started = true;
	rq->rq_bytes_out = len;
	rq->rq_ttfb_us = (mtime_now_ns() - rq->rq_start_ns) / 1000;
	if (close)
		s->s_close = true;
	s->s_ustate = SESSION_U_DONE;
	return (session_txn_done(s));
}

/* HSTS (RFC 6797) on every response of a TLS listener that sets it. */
int
session_add_hsts(struct session *s, struct http_msg *msg)
{
	char	 v[64];

	if (!s->s_tls || s->s_lconf->li_hsts == 0)
		return (0);
	snprintf(v, sizeof(v), "max-age=%" PRIu64, s->s_lconf->li_hsts / 1000);
	return (http_msg_set(msg, "Strict-Transport-Security", v));
}

/*
 * The response is complete: log it, give the backend connection back,
 * and either wait for the next request or close once the output is out.
 */
int
session_txn_done(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct evbuffer		*in = conn_input(s->s_cc);
	bool			 close;

	session_log(s);
	session_attempt_end(s, s->s_ustate == SESSION_U_DONE &&
	    rq->rq_up_keep && rq->rq_done);
	close = s->s_close || !rq->rq_done || !rq->rq_keepalive ||
	    s->s_worker->w_draining ||
	    (s->s_client_eof && evbuffer_get_length(in) == 0);
	memset(rq, 0, sizeof(*rq));
	s->s_ustate = SESSION_U_NONE;
	if (close)
		return (session_closing(s));
	s->s_cstate = SESSION_C_IDLE;
	session_timer(s->s_ctimer, s->s_lconf->li_timeouts.lt_keepalive);
	if (evbuffer_get_length(in) > 0)
		event_active(s->s_kick, EV_TIMEOUT, 0);
	return (0);
}

/*
 * The connection ends once the output has reached the client: -1 (close
 * now) if it has, else 0 and the write callback closes it.  The client
 * has this connection's keep-alive timeout to take it.
 */
static int
session_closing(struct session *s)
{
	s->s_cstate = SESSION_C_CLOSING;
	conn_flush(s->s_cc);
	if (evbuffer_get_length(conn_output(s->s_cc)) == 0)
		return (-1);
	conn_read_stop(s->s_cc);
	conn_watermarks(s->s_cc, SESSION_WATERMARK, 0);
	session_timer(s->s_ctimer, s->s_lconf->li_timeouts.lt_keepalive);
	return (0);
}

/*
 * The current attempt is over: the backend connection goes back to the
 * worker's pool if <keep> (and it is still the worker's runtime), else
 * it is closed; the in-flight count drops.
 */
void
session_attempt_end(struct session *s, bool keep)
{
	struct worker		*w = s->s_worker;
	struct session_req	*rq = &s->s_rq;
	struct upstream		*up = s->s_up;
	struct runtime_slot	*rs;
	struct backend		*b;

	if (up != NULL) {
		s->s_up = NULL;
		b = upstream_backend(up);
		if (keep && s->s_rt == w->w_rt && !w->w_draining) {
			rs = runtime_slot(s->s_rt, w->w_id);
			upstream_idle_put(&rs->rs_idle[rq->rq_pidx]
			    [b->be_index], up);
		} else
			upstream_free(up);
	}
	if (rq->rq_be != NULL) {
		backend_release(rq->rq_be);
		rq->rq_be = NULL;
	}
	if (rq->rq_ticket != 0) {
		/* Gave up waiting for a VM (client gone, timeout). */
		pool_queue_leave(rq->rq_pool->bp_vm, rq->rq_ticket);
		rq->rq_ticket = 0;
	}
	session_req_unqueue(s);
	if (!s->s_respp_reuse) {
		http_parser_free(s->s_respp);
		s->s_respp = NULL;
	}
	evtimer_del(s->s_utimer);
}

/* ------------------------------------------------------------------ */

static void
session_log_str(char *buf, size_t len, const char *v, size_t vlen)
{
	if (v == NULL) {
		snprintf(buf, len, "-");
		return;
	}
	snprintf(buf, len, "%.*s", (int)(vlen < len ? vlen : len - 1), v);
}

/* One access log line for the current request. */
static void
session_log(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct accesslog_entry	 e;
	struct http_msg		*msg = http_parser_msg(s->s_reqp);
	const char		*v;
	char			 method[SESSION_LOG_FIELD];
	char			 target[SESSION_LOG_TARGET];
	char			 rid[SESSION_LOG_FIELD], ua[SESSION_LOG_FIELD];
	char			 ref[SESSION_LOG_FIELD];
	size_t			 len = 0;
	bool			 head = rq->rq_version != 0;

	if (!rq->rq_active || s->s_rt->rt_log == NULL)
		return;
	rq->rq_active = false;
	/* Without an access log, the header fields are not copied. */
	if (s->s_rt->rt_conf->c_log.lg_access == CONF_ACCESS_OFF)
		head = false;
	memset(&e, 0, sizeof(e));
	e.ae_start = rq->rq_start_wall;
	e.ae_client = s->s_client_ip;
	e.ae_version = rq->rq_version;
	if (head) {
		v = http_msg_method_name(msg, &len);
		session_log_str(method, sizeof(method), v, len);
		v = http_msg_target(msg, &len);
		session_log_str(target, sizeof(target), v, len);
		e.ae_method = method;
		e.ae_target = target;
	}
	e.ae_status = rq->rq_status != 0 ? rq->rq_status :
	    SESSION_STATUS_ABORTED;
	e.ae_bytes_in = rq->rq_bytes_in;
	e.ae_bytes_out = rq->rq_bytes_out;
	e.ae_route = rq->rq_route != NULL ? rq->rq_route->ro_key : NULL;
	e.ae_pool = rq->rq_pool != NULL ? rq->rq_pool->bp_conf->pl_name :
	    NULL;
	e.ae_upstream = rq->rq_ntried > 0 ? rq->rq_pool->bp_backends[
	    rq->rq_tried[rq->rq_ntried - 1]].be_name : NULL;
	if (head && (v = http_msg_get(msg, "X-Request-Id", &len)) != NULL) {
		session_log_str(rid, sizeof(rid), v, len);
		e.ae_request_id = rid;
	}
	if (head && (v = http_msg_get(msg, "User-Agent", &len)) != NULL) {
		session_log_str(ua, sizeof(ua), v, len);
		e.ae_user_agent = ua;
	}
	if (head && (v = http_msg_get(msg, "Referer", &len)) != NULL) {
		session_log_str(ref, sizeof(ref), v, len);
		e.ae_referer = ref;
	}
	e.ae_ttfb_us = rq->rq_ttfb_us;
	e.ae_total_us = (mtime_now_ns() - rq->rq_start_ns) / 1000;
	e.ae_upstream_us = rq->rq_up_us;
	e.ae_retries = rq->rq_retries + (rq->rq_free_retry ? 1 : 0);
	e.ae_tls = s->s_tls;
	metrics_request(s->s_worker->w_metrics, &e);
	accesslog_write(s->s_rt->rt_log, &e);
}
