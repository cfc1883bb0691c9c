/*
 * proxy/admin.c: the admin listener: GET /status (JSON), GET /metrics
 * (Prometheus) and POST /pools/NAME/vms/ID/replace.
 *
 * Threads: one of its own (admin_start()), running its own event_base;
 * the main thread only creates it, swaps its runtime on SIGHUP (under
 * a_lock, a pointer and a reference) and frees it.  What it shows is
 * read without blocking anyone: the workers' counters through
 * proxy/metrics.h, each microvm pool's published struct pool_info and
 * its atomics, the static backends' atomics.  A replacement is a
 * request left for the pool thread (pool_replace()), answered 202 at
 * once.
 *
 * Data model: struct admin owns the listening socket and the list of
 * connections (struct admin_conn: a bufferevent, a request parser, a
 * deadline).  Every byte a client sends is hostile: requests go through
 * the proxy's strict parser with small limits, a connection answers one
 * request at a time (pipelined ones wait in its input, bounded by the
 * parser and ADMIN_INPUT_MAX), each request must arrive within
 * ADMIN_REQUEST_MS, and at most ADMIN_CONNS_MAX connections are open:
 * a_conns is kept least recently active first, and a newcomer over the
 * limit closes the first one not sending a response, so that clients
 * holding connections with requests trickling in cannot lock a scraper
 * out.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/mtime.h"
#include "pool/member.h"
#include "pool/pool.h"
#include "proxy/accesslog.h"
#include "proxy/admin.h"
#include "proxy/backend.h"
#include "proxy/http.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"

#define ADMIN_MAGIC		0xad3101ed
#define ADMIN_CONN_MAGIC	0xad3100cc
#define ADMIN_CONNS_MAX		32
#define ADMIN_BACKLOG		16
#define ADMIN_REQUEST_MS	10000	/* each request, and keep-alive */
#define ADMIN_MAX_URI		1024
#define ADMIN_MAX_HEADER_BYTES	8192
#define ADMIN_MAX_HEADERS	32
#define ADMIN_MAX_BODY		4096	/* POST bodies are read and dropped */
#define ADMIN_INPUT_MAX		16384	/* unread input: stop reading */
#define ADMIN_ID_DIGITS		6
#define ADMIN_TEXT_MAX		256
#define ADMIN_RETRY_MS		1000	/* accept() failed: wait */

#define ADMIN_JSON		"application/json"
#define ADMIN_PROM		"text/plain; version=0.0.4; charset=utf-8"

TAILQ_HEAD(admin_conns, admin_conn);

/* Owned by main; everything below a_base is the admin thread's. */
struct admin {
	unsigned		 magic;
	pthread_t		 a_thread;
	bool			 a_started;
	struct event_base	*a_base;
	struct event		*a_ev_stop;	/* main -> admin */
	pthread_mutex_t		 a_lock;	/* a_rt */
	struct runtime		*a_rt;
	struct metrics		*a_metrics;	/* borrowed */
	uint64_t		 a_start_ns;
	struct evconnlistener	*a_lev;
	struct event		*a_ev_retry;	/* accept() failed */
	struct admin_conns	 a_conns;
	size_t			 a_nconns;
};

/* One client connection.  Owned by its admin (listed in a_conns). */
struct admin_conn {
	unsigned		 magic;
	TAILQ_ENTRY(admin_conn)	 c_entry;
	struct admin		*c_admin;
	struct bufferevent	*c_bev;
	struct http_parser	*c_p;
	struct event		*c_deadline;
	bool			 c_close;	/* once the output is flushed */
	bool			 c_eof;		/* the client sent all it will */
};

/* A response being built. */
struct admin_reply {
	int		 r_status;
	const char	*r_type;	/* Content-Type */
	const char	*r_allow;	/* 405: the Allow field */
	struct evbuffer	*r_body;
};

static void	*admin_main(void *arg);
static void	 admin_stop_cb(evutil_socket_t fd, short what, void *arg);
static void	 admin_accept_cb(struct evconnlistener *lev,
		    evutil_socket_t fd, struct sockaddr *sa, int salen,
		    void *arg);
static void	 admin_accept_error_cb(struct evconnlistener *lev,
		    void *arg);
static void	 admin_retry_cb(evutil_socket_t fd, short what, void *arg);
static bool	 admin_make_room(struct admin *a);
static void	 admin_conn_free(struct admin_conn *c);
static void	 admin_conn_read_cb(struct bufferevent *bev, void *arg);
static void	 admin_conn_write_cb(struct bufferevent *bev, void *arg);
static void	 admin_conn_event_cb(struct bufferevent *bev, short what,
		    void *arg);
static void	 admin_conn_deadline_cb(evutil_socket_t fd, short what,
		    void *arg);
static void	 admin_conn_arm(struct admin_conn *c);
static int	 admin_conn_process(struct admin_conn *c);
static int	 admin_conn_request(struct admin_conn *c);
static int	 admin_send(struct admin_conn *c, struct admin_reply *r,
		    bool head);
static void	 admin_route(struct admin *a, struct http_msg *msg,
		    const char *path, size_t len, struct admin_reply *r);
static void	 admin_error(struct admin_reply *r, int status,
		    const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
static struct runtime *admin_runtime(struct admin *a);
static void	 admin_metrics(struct admin *a, struct admin_reply *r);
static void	 admin_status(struct admin *a, struct admin_reply *r);
static void	 admin_status_vm(struct evbuffer *out, struct pool *pool,
		    const struct pool_vm_info *vi, uint64_t now);
static void	 admin_status_microvm(struct evbuffer *out,
		    struct pool *pool, uint64_t now);
static void	 admin_status_static(struct evbuffer *out,
		    const struct backend_pool *bp, uint64_t now);
static void	 admin_replace(struct admin *a, const char *name,
		    size_t namelen, const char *id, size_t idlen,
		    struct admin_reply *r);
static void	 admin_json_str(struct evbuffer *out, const char *s,
		    size_t len);

/* ------------------------------------------------------------------ */

int
admin_listen(const struct conf_addr *ca, char *addr, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 a[INET6_ADDRSTRLEN];
	int			 fd, one = 1, zero = 0, saved;

	if ((fd = socket(ca->ca_ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1)
		goto fail;
	if (ca->ca_ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
	if (bind(fd, (const struct sockaddr *)&ca->ca_ss, ca->ca_sslen) ==
	    -1 || listen(fd, ADMIN_BACKLOG) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		goto fail;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(addr, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(addr, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(addr, len, "%s", ca->ca_text);
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

struct admin *
admin_new(struct metrics *m, struct runtime *rt)
{
	struct admin	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	a->magic = ADMIN_MAGIC;
	a->a_metrics = m;
	a->a_start_ns = mtime_now_ns();
	TAILQ_INIT(&a->a_conns);
	if (pthread_mutex_init(&a->a_lock, NULL) != 0) {
		free(a);
		return (NULL);
	}
	a->a_rt = runtime_get(rt);
	if ((a->a_base = event_base_new()) == NULL ||
	    (a->a_ev_stop = event_new(a->a_base, -1, 0, admin_stop_cb,
	    a)) == NULL ||
	    (a->a_ev_retry = evtimer_new(a->a_base, admin_retry_cb,
	    a)) == NULL) {
		admin_free(a);
		return (NULL);
	}
	return (a);
}

int
admin_listen_fd(struct admin *a, int fd)
{
	if (a->a_lev != NULL) {
		close(fd);
		errno = EBUSY;
		return (-1);
	}
	/* A blocking listener would stall the loop on a spurious wake-up. */
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (a->a_lev = evconnlistener_new(a->a_base, admin_accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE, -1, fd)) == NULL) {
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(a->a_lev, admin_accept_error_cb);
	return (0);
}

struct event_base *
admin_base(struct admin *a)
{
	return (a->a_base);
}

int
admin_start(struct admin *a)
{
	sigset_t	 all, old;
	int		 rc;

	/* Signals are main's. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&a->a_thread, NULL, admin_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errno = rc;
		return (-1);
	}
	a->a_started = true;
	return (0);
}

void
admin_swap(struct admin *a, struct runtime *rt)
{
	struct runtime	*old;

	pthread_mutex_lock(&a->a_lock);
	old = a->a_rt;
	a->a_rt = runtime_get(rt);
	pthread_mutex_unlock(&a->a_lock);
	runtime_put(old);
}

void
admin_free(struct admin *a)
{
	struct admin_conn	*c;

	if (a == NULL)
		return;
	if (a->a_started) {
		event_active(a->a_ev_stop, 0, 0);
		pthread_join(a->a_thread, NULL);
	}
	/* The thread is gone: what it owned is ours to free. */
	while ((c = TAILQ_FIRST(&a->a_conns)) != NULL)
		admin_conn_free(c);
	if (a->a_lev != NULL)
		evconnlistener_free(a->a_lev);
	if (a->a_ev_retry != NULL)
		event_free(a->a_ev_retry);
	if (a->a_ev_stop != NULL)
		event_free(a->a_ev_stop);
	if (a->a_base != NULL)
		event_base_free(a->a_base);
	runtime_put(a->a_rt);
	pthread_mutex_destroy(&a->a_lock);
	a->magic = 0;
	free(a);
}

static void *
admin_main(void *arg)
{
	struct admin	*a = arg;

	ASSERT(a->magic == ADMIN_MAGIC);
	if (event_base_loop(a->a_base, EVLOOP_NO_EXIT_ON_EMPTY) == -1)
		log_warnx("admin: event loop failed");
	http_parser_cache_flush();
	return (NULL);
}

static void
admin_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin	*a = arg;

	(void)fd;
	(void)what;
	ASSERT(a->magic == ADMIN_MAGIC);
	event_base_loopbreak(a->a_base);
}

/* ------------------------------------------------------------------ */

static void
admin_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin	*a = arg;

	(void)lev;
	(void)sa;
	(void)salen;
	ASSERT(a->magic == ADMIN_MAGIC);
	if (!admin_make_room(a)) {
		/* No reply: it would cost what the limit saves. */
		log_debug("admin: %d connections sending responses, refusing "
		    "one", ADMIN_CONNS_MAX);
		close(fd);
		return;
	}
	if (admin_serve(a, fd) == -1)
		log_warnx("admin: out of memory for a connection");
}

/*
 * Under ADMIN_CONNS_MAX, or made so by closing the least recently active
 * connection that is not sending a response.  False if all are.
 */
static bool
admin_make_room(struct admin *a)
{
	struct admin_conn	*c;

	if (a->a_nconns < ADMIN_CONNS_MAX)
		return (true);
	TAILQ_FOREACH(c, &a->a_conns, c_entry) {
		if (c->c_bev != NULL && evbuffer_get_length(
		    bufferevent_get_output(c->c_bev)) > 0)
			continue;
		log_debug("admin: %d connections open, closing the least "
		    "recently active", ADMIN_CONNS_MAX);
		admin_conn_free(c);
		return (true);
	}
	return (false);
}

/* accept() failed (EMFILE...): stop for a while instead of spinning. */
static void
admin_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct admin	*a = arg;
	struct timeval	 tv = { ADMIN_RETRY_MS / 1000, 0 };

	log_warn("admin: accept");
	evconnlistener_disable(lev);
	evtimer_add(a->a_ev_retry, &tv);
}

static void
admin_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin	*a = arg;

	(void)fd;
	(void)what;
	if (a->a_lev != NULL)
		evconnlistener_enable(a->a_lev);
}

int
admin_serve(struct admin *a, int fd)
{
	struct admin_conn	*c;
	struct http_limits	 lim;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return (-1);
	}
	c->magic = ADMIN_CONN_MAGIC;
	c->c_admin = a;
	TAILQ_INSERT_TAIL(&a->a_conns, c, c_entry);
	a->a_nconns++;
	lim.l_max_uri = ADMIN_MAX_URI;
	lim.l_max_header_bytes = ADMIN_MAX_HEADER_BYTES;
	lim.l_max_headers = ADMIN_MAX_HEADERS;
	lim.l_max_body = ADMIN_MAX_BODY;
	evutil_make_socket_nonblocking(fd);
	if ((c->c_bev = bufferevent_socket_new(a->a_base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		goto fail;
	}
	if ((c->c_p = http_parser_new(HTTP_PARSER_REQUEST, &lim)) == NULL ||
	    (c->c_deadline = evtimer_new(a->a_base, admin_conn_deadline_cb,
	    c)) == NULL)
		goto fail;
	bufferevent_setcb(c->c_bev, admin_conn_read_cb, admin_conn_write_cb,
	    admin_conn_event_cb, c);
	/* Pipelined requests wait while a response is sent: bound them. */
	bufferevent_setwatermark(c->c_bev, EV_READ, 0, ADMIN_INPUT_MAX);
	if (bufferevent_enable(c->c_bev, EV_READ | EV_WRITE) == -1)
		goto fail;
	admin_conn_arm(c);
	return (0);
fail:
	admin_conn_free(c);
	return (-1);
}

static void
admin_conn_free(struct admin_conn *c)
{
	struct admin	*a = c->c_admin;

	TAILQ_REMOVE(&a->a_conns, c, c_entry);
	a->a_nconns--;
	if (c->c_bev != NULL)
		bufferevent_free(c->c_bev);
	c->c_bev = NULL;
	http_parser_free(c->c_p);
	c->c_p = NULL;
	if (c->c_deadline != NULL)
		event_free(c->c_deadline);
	c->c_deadline = NULL;
	c->magic = 0;
	free(c);
}

/*
 * The next request (or the end of a keep-alive pause) is due by then;
 * the connection is now the most recently active.
 */
static void
admin_conn_arm(struct admin_conn *c)
{
	struct admin	*a = c->c_admin;
	struct timeval	 tv = { ADMIN_REQUEST_MS / 1000,
			    (ADMIN_REQUEST_MS % 1000) * 1000 };

	evtimer_add(c->c_deadline, &tv);
	TAILQ_REMOVE(&a->a_conns, c, c_entry);
	TAILQ_INSERT_TAIL(&a->a_conns, c, c_entry);
}

static void
admin_conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct admin_conn	*c = arg;

	(void)fd;
	(void)what;
	ASSERT(c->magic == ADMIN_CONN_MAGIC);
	admin_conn_free(c);
}

static void
admin_conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*c = arg;

	(void)bev;
	ASSERT(c->magic == ADMIN_CONN_MAGIC);
	if (admin_conn_process(c) == -1)
		admin_conn_free(c);
}

/* The output is flushed: close, or take the next request. */
static void
admin_conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn	*c = arg;

	ASSERT(c->magic == ADMIN_CONN_MAGIC);
	if (c->c_close || admin_conn_process(c) == -1 || (c->c_eof &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0))
		admin_conn_free(c);
}

static void
admin_conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct admin_conn	*c = arg;

	ASSERT(c->magic == ADMIN_CONN_MAGIC);
	/*
	 * A client that half-closes after its requests still gets them all,
	 * one at a time as ever (those pipelined wait in the input); the
	 * connection goes once nothing complete is left to answer.
	 */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		c->c_eof = true;
		bufferevent_disable(bev, EV_READ);
		if (admin_conn_process(c) == 0 &&
		    evbuffer_get_length(bufferevent_get_output(bev)) > 0)
			return;
	}
	admin_conn_free(c);
}

/*
 * Parses what arrived and answers each complete request, one at a time:
 * the next is read only once the previous response is flushed.  -1: the
 * connection must go now.
 */
static int
admin_conn_process(struct admin_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->c_bev);
	struct evbuffer		*out = bufferevent_get_output(c->c_bev);
	struct evbuffer		*body;
	int			 status;

	while (!c->c_close && evbuffer_get_length(out) == 0) {
		switch (http_parse(c->c_p, in, NULL, ADMIN_MAX_BODY)) {
		case HTTP_PARSE_AGAIN:
			return (0);
		case HTTP_PARSE_HEAD:
		case HTTP_PARSE_BODY:
			break;
		case HTTP_PARSE_DONE:
			if (admin_conn_request(c) == -1)
				return (-1);
			admin_conn_arm(c);
			break;
		case HTTP_PARSE_OK:
		case HTTP_PARSE_ERROR:
			status = http_parser_status(c->c_p);
			log_debug("admin: bad request: %s",
			    http_parser_error(c->c_p));
			if ((body = evbuffer_new()) == NULL)
				return (-1);
			c->c_close = true;
			bufferevent_disable(c->c_bev, EV_READ);
			if (http_write_error(body, status) == -1 ||
			    evbuffer_add_buffer(out, body) == -1) {
				evbuffer_free(body);
				return (-1);
			}
			evbuffer_free(body);
			return (0);
		}
	}
	return (0);
}

/* A complete request: route it and queue the response. */
static int
admin_conn_request(struct admin_conn *c)
{
	struct http_msg		*msg = http_parser_msg(c->c_p);
	struct admin_reply	 r;
	const char		*target, *q;
	unsigned		 flags = http_msg_flags(msg);
	size_t			 len;
	int			 rc;

	memset(&r, 0, sizeof(r));
	if ((r.r_body = evbuffer_new()) == NULL)
		return (-1);
	/* No upgrade or tunnel here: answer, then close. */
	if (!(flags & HTTP_MSG_KEEPALIVE) || (flags & HTTP_MSG_UPGRADE))
		c->c_close = true;
	target = http_msg_target(msg, &len);
	if (target == NULL || len == 0 || target[0] != '/' ||
	    (flags & HTTP_MSG_ABSOLUTE)) {
		admin_error(&r, 400, "expected a path such as /status");
		c->c_close = true;
	} else {
		/* The query is ignored: no route takes one. */
		if ((q = memchr(target, '?', len)) != NULL)
			len = (size_t)(q - target);
		admin_route(c->c_admin, msg, target, len, &r);
	}
	rc = admin_send(c, &r, http_msg_method(msg) == HTTP_METHOD_HEAD);
	evbuffer_free(r.r_body);
	return (rc);
}

static int
admin_send(struct admin_conn *c, struct admin_reply *r, bool head)
{
	struct evbuffer	*out = bufferevent_get_output(c->c_bev);

	if (r->r_status == 0)		/* out of memory on the way */
		r->r_status = 503;
	if (evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "Cache-Control: no-store\r\n"
	    "%s%s%s"
	    "%s"
	    "\r\n", r->r_status, http_reason(r->r_status),
	    r->r_type != NULL ? r->r_type : "text/plain",
	    evbuffer_get_length(r->r_body),
	    r->r_allow != NULL ? "Allow: " : "",
	    r->r_allow != NULL ? r->r_allow : "",
	    r->r_allow != NULL ? "\r\n" : "",
	    c->c_close ? "Connection: close\r\n" : "") == -1)
		return (-1);
	if (!head && evbuffer_add_buffer(out, r->r_body) == -1)
		return (-1);
	if (c->c_close)
		bufferevent_disable(c->c_bev, EV_READ);
	return (0);
}

static void
admin_error(struct admin_reply *r, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	 text[ADMIN_TEXT_MAX];

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	evbuffer_drain(r->r_body, evbuffer_get_length(r->r_body));
	r->r_status = status;
	r->r_type = ADMIN_JSON;
	evbuffer_add_printf(r->r_body, "{\"error\":");
	admin_json_str(r->r_body, text, strlen(text));
	evbuffer_add_printf(r->r_body, "}\n");
}

/* Whether <path>/<len> is <lit> exactly. */
#define ADMIN_IS(path, len, lit)					\
	((len) == sizeof(lit) - 1 && memcmp((path), (lit), (len)) == 0)

static void
admin_route(struct admin *a, struct http_msg *msg, const char *path,
    size_t len, struct admin_reply *r)
{
	static const char	 pools[] = "/pools/", vms[] = "/vms/",
				 replace[] = "/replace";
	enum http_method	 method = http_msg_method(msg);
	const char		*name, *id, *p, *end = path + len;
	size_t			 namelen, idlen;
	bool			 get = method == HTTP_METHOD_GET ||
				    method == HTTP_METHOD_HEAD;

	if (ADMIN_IS(path, len, "/status") || ADMIN_IS(path, len,
	    "/metrics")) {
		if (!get) {
			admin_error(r, 405, "use GET or HEAD");
			r->r_allow = "GET, HEAD";
		} else if (path[1] == 's')
			admin_status(a, r);
		else
			admin_metrics(a, r);
		return;
	}
	/* /pools/NAME/vms/ID/replace, with NAME and ID not empty. */
	if (len > sizeof(pools) - 1 && memcmp(path, pools,
	    sizeof(pools) - 1) == 0) {
		name = path + sizeof(pools) - 1;
		if ((p = memchr(name, '/', (size_t)(end - name))) == NULL)
			goto notfound;
		namelen = (size_t)(p - name);
		if ((size_t)(end - p) <= sizeof(vms) - 1 ||
		    memcmp(p, vms, sizeof(vms) - 1) != 0)
			goto notfound;
		id = p + sizeof(vms) - 1;
		if ((p = memchr(id, '/', (size_t)(end - id))) == NULL)
			goto notfound;
		idlen = (size_t)(p - id);
		if (!ADMIN_IS(p, (size_t)(end - p), replace) || namelen == 0 ||
		    idlen == 0)
			goto notfound;
		if (method != HTTP_METHOD_POST) {
			admin_error(r, 405, "use POST");
			r->r_allow = "POST";
			return;
		}
		admin_replace(a, name, namelen, id, idlen, r);
		return;
	}
notfound:
	admin_error(r, 404, "not found: try /status, /metrics or POST "
	    "/pools/NAME/vms/ID/replace");
}

/* ------------------------------------------------------------------ */

static struct runtime *
admin_runtime(struct admin *a)
{
	struct runtime	*rt;

	pthread_mutex_lock(&a->a_lock);
	rt = runtime_get(a->a_rt);
	pthread_mutex_unlock(&a->a_lock);
	return (rt);
}

static void
admin_metrics(struct admin *a, struct admin_reply *r)
{
	struct runtime	*rt = admin_runtime(a);
	struct pool	**pools;
	size_t		 i, n = 0;
	int		 rc = 0;

	if ((pools = calloc(rt->rt_conf->c_npools + 1,
	    sizeof(*pools))) == NULL) {
		runtime_put(rt);
		admin_error(r, 503, "out of memory");
		return;
	}
	for (i = 0; i < rt->rt_conf->c_npools; i++)
		if (rt->rt_pools[i]->bp_vm != NULL)
			pools[n++] = rt->rt_pools[i]->bp_vm;
	if (a->a_metrics != NULL)
		rc = metrics_write_requests(a->a_metrics, r->r_body);
	if (rc == 0)
		rc = metrics_write_pools(pools, n, r->r_body);
	if (rc == 0 && rt->rt_log != NULL && (evbuffer_add_printf(r->r_body,
	    "# HELP corral_accesslog_dropped_total Access log lines that "
	    "could not be written.\n"
	    "# TYPE corral_accesslog_dropped_total counter\n"
	    "corral_accesslog_dropped_total %llu\n", (unsigned long long)
	    accesslog_dropped(rt->rt_log)) == -1))
		rc = -1;
	free(pools);
	runtime_put(rt);
	if (rc == -1) {
		admin_error(r, 503, "out of memory");
		return;
	}
	r->r_status = 200;
	r->r_type = ADMIN_PROM;
}

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void
admin_json_str(struct evbuffer *out, const char *s, size_t len)
{
	size_t	 i, run = 0;

	evbuffer_add(out, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f)
			continue;
		evbuffer_add(out, s + run, i - run);
		if (ch == '"' || ch == '\\')
			evbuffer_add_printf(out, "\\%c", ch);
		else
			evbuffer_add_printf(out, "\\u%04x", ch);
		run = i + 1;
	}
	evbuffer_add(out, s + run, len - run);
	evbuffer_add(out, "\"", 1);
}

static void
admin_status_vm(struct evbuffer *out, struct pool *pool,
    const struct pool_vm_info *vi, uint64_t now)
{
	uint32_t	 inflight;
	uint64_t	 requests;

	pool_slot_counts(pool, vi->vi_slot, &inflight, &requests);
	evbuffer_add_printf(out, "{\"id\":%zu,\"boot\":%llu,\"state\":\"%s\","
	    "\"pid\":%ld,\"cid\":%u,\"uptime_s\":%.3f,", vi->vi_slot,
	    (unsigned long long)vi->vi_boot, member_state_name(vi->vi_state),
	    vi->vi_pid, vi->vi_cid, now > vi->vi_spawn_ns ?
	    (double)(now - vi->vi_spawn_ns) / 1e9 : 0.0);
	if (vi->vi_ready_ns != 0)
		evbuffer_add_printf(out, "\"boot_ms\":%.1f,", (double)
		    (vi->vi_ready_ns - vi->vi_spawn_ns) / 1e6);
	else
		evbuffer_add_printf(out, "\"boot_ms\":null,");
	evbuffer_add_printf(out, "\"requests\":%llu,\"inflight\":%u,"
	    "\"in_rotation\":%s,\"replacing\":%s,\"leaving\":\"%s\","
	    "\"health\":", (unsigned long long)requests, inflight,
	    vi->vi_state == MEMBER_READY && !vi->vi_out ? "true" : "false",
	    vi->vi_replacing ? "true" : "false",
	    vi->vi_why != MEMBER_WHY_NONE ? member_why_name(vi->vi_why) : "");
	if (vi->vi_health_ns == 0)
		evbuffer_add_printf(out, "null}");
	else {
		evbuffer_add_printf(out, "{\"result\":");
		admin_json_str(out, vi->vi_health, strlen(vi->vi_health));
		evbuffer_add_printf(out, ",\"age_s\":%.3f,\"ok_in_a_row\":%u,"
		    "\"failed_in_a_row\":%u}}", now > vi->vi_health_ns ?
		    (double)(now - vi->vi_health_ns) / 1e9 : 0.0,
		    vi->vi_health_ok, vi->vi_health_fail);
	}
}

static void
admin_status_microvm(struct evbuffer *out, struct pool *pool, uint64_t now)
{
	struct pool_info	*pi = pool_info_get(pool);
	uint64_t		 exits = 0;
	size_t			 i;

	for (i = MEMBER_WHY_NONE + 1; i < MEMBER_NWHY; i++)
		exits += pi->pi_exits[i];
	evbuffer_add_printf(out, "\"size\":{\"min\":%u,\"max\":%u},"
	    "\"target\":%u,\"degraded\":%s,\"failed_boots_in_a_row\":%u,"
	    "\"boots\":%llu,\"exits\":%llu,\"queue\":{\"length\":%zu,"
	    "\"max\":%zu},\"vms\":[", pi->pi_min, pi->pi_max, pi->pi_target,
	    pi->pi_degraded ? "true" : "false", pi->pi_crashes,
	    (unsigned long long)pi->pi_boots, (unsigned long long)exits,
	    pool_queue_length(pool), pi->pi_queue_max);
	for (i = 0; i < pi->pi_nvms; i++) {
		if (i > 0)
			evbuffer_add(out, ",", 1);
		admin_status_vm(out, pool, &pi->pi_vms[i], now);
	}
	evbuffer_add_printf(out, "]");
	pool_info_put(pi);
}

static void
admin_status_static(struct evbuffer *out, const struct backend_pool *bp,
    uint64_t now)
{
	const struct backend	*b;
	size_t			 i;

	evbuffer_add_printf(out, "\"servers\":[");
	for (i = 0; i < bp->bp_n; i++) {
		b = &bp->bp_backends[i];
		evbuffer_add_printf(out, "%s{\"name\":", i > 0 ? "," : "");
		admin_json_str(out, b->be_name, strlen(b->be_name));
		evbuffer_add_printf(out, ",\"inflight\":%u,\"failures\":%u,"
		    "\"ejected\":%s}", atomic_load(&b->be_inflight),
		    atomic_load(&b->be_failures),
		    atomic_load(&b->be_until_ns) > now ? "true" : "false");
	}
	evbuffer_add_printf(out, "]");
}

static void
admin_status(struct admin *a, struct admin_reply *r)
{
	struct runtime		*rt = admin_runtime(a);
	const struct conf_pool	*cp;
	struct evbuffer		*out = r->r_body;
	uint64_t		 now = mtime_now_ns();
	size_t			 i;

	evbuffer_add_printf(out, "{\"uptime_s\":%.3f,\"pools\":[",
	    (double)(now - a->a_start_ns) / 1e9);
	for (i = 0; i < rt->rt_conf->c_npools; i++) {
		cp = &rt->rt_conf->c_pools[i];
		evbuffer_add_printf(out, "%s{\"name\":\"%s\",\"type\":\"%s\",",
		    i > 0 ? "," : "", cp->pl_name, cp->pl_type ==
		    CONF_POOL_MICROVM ? "microvm" : "static");
		if (cp->pl_type != CONF_POOL_MICROVM)
			admin_status_static(out, rt->rt_pools[i], now);
		else if (rt->rt_pools[i]->bp_vm == NULL)
			/* Added by a reload: it needs a restart. */
			evbuffer_add_printf(out, "\"running\":false,"
			    "\"vms\":[]");
		else {
			evbuffer_add_printf(out, "\"running\":true,");
			admin_status_microvm(out, rt->rt_pools[i]->bp_vm, now);
		}
		evbuffer_add(out, "}", 1);
	}
	evbuffer_add_printf(out, "]}\n");
	runtime_put(rt);
	r->r_status = 200;
	r->r_type = ADMIN_JSON;
}

/* POST /pools/NAME/vms/ID/replace; NAME and ID are the client's bytes. */
static void
admin_replace(struct admin *a, const char *name, size_t namelen,
    const char *id, size_t idlen, struct admin_reply *r)
{
	struct runtime		*rt = admin_runtime(a);
	const struct conf_pool	*cp;
	struct pool		*pool = NULL;
	struct pool_vm_info	 vi;
	size_t			 i, slot = 0;

	for (i = 0; i < rt->rt_conf->c_npools; i++) {
		cp = &rt->rt_conf->c_pools[i];
		if (strlen(cp->pl_name) == namelen &&
		    memcmp(cp->pl_name, name, namelen) == 0) {
			pool = rt->rt_pools[i]->bp_vm;
			break;
		}
	}
	if (i == rt->rt_conf->c_npools) {
		admin_error(r, 404, "no pool named \"%.*s\"", (int)(namelen <
		    ADMIN_TEXT_MAX / 2 ? namelen : ADMIN_TEXT_MAX / 2), name);
		goto done;
	}
	if (pool == NULL) {
		admin_error(r, 404, "pool %s has no VMs", cp->pl_name);
		goto done;
	}
	/* A slot number: digits only, no sign, no leading zero. */
	for (i = 0; i < idlen && i < ADMIN_ID_DIGITS; i++) {
		if (id[i] < '0' || id[i] > '9')
			break;
		slot = slot * 10 + (size_t)(id[i] - '0');
	}
	if (i != idlen || (idlen > 1 && id[0] == '0')) {
		admin_error(r, 404, "pool %s: no VM %.*s", cp->pl_name,
		    (int)(idlen < ADMIN_TEXT_MAX / 2 ? idlen :
		    ADMIN_TEXT_MAX / 2), id);
		goto done;
	}
	if (pool_replace(pool, slot, &vi) == -1) {
		if (errno == EALREADY)
			admin_error(r, 409, "pool %s: vm %zu is already %s",
			    cp->pl_name, slot, member_state_name(vi.vi_state));
		else
			admin_error(r, 404, "pool %s: no VM %zu", cp->pl_name,
			    slot);
		goto done;
	}
	r->r_status = 202;
	r->r_type = ADMIN_JSON;
	evbuffer_add_printf(r->r_body, "{\"pool\":\"%s\",\"vm\":%zu,"
	    "\"boot\":%llu,\"pid\":%ld,\"cid\":%u,\"state\":\"%s\","
	    "\"replacing\":true}\n", cp->pl_name, slot,
	    (unsigned long long)vi.vi_boot, vi.vi_pid, vi.vi_cid,
	    member_state_name(vi.vi_state));
done:
	runtime_put(rt);
}
