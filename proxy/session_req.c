/*
 * proxy/session_req.c: a request on its way to a backend.
 *
 * When a request head is complete: redirect to HTTPS if the listener
 * says so, pick the route (404 without one), check the body limit, turn
 * the head into what the backend gets (hop-by-hop fields out, Via and
 * X-Forwarded-* in, an X-Request-Id, origin-form target, the verified
 * client certificate's subject in X-Client-Cert-Subject) and serialise
 * it once into s_head, which every attempt sends (a retry re-sends it).
 * An attempt picks a backend with the pool's balancer (per worker
 * state, ejected and already-tried backends filtered out) and takes an
 * idle keep-alive connection to it or opens one.  For a microvm pool
 * only the slots READY in the pool's snapshot and below
 * max_inflight_per_vm may be picked; when none can take the request it
 * waits in the pool's FIFO queue (queue.length, queue.timeout, then
 * 503 saying why), which is also how a request to a pool scaled to zero
 * waits for a cold boot.
 *
 * The body is read only once a backend connection is ready, and only
 * while the backend's output buffer is below the watermark: a slow
 * backend slows the client down instead of filling memory.  Runs on the
 * session's worker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/mtime.h"
#include "pool/lb.h"
#include "pool/pool.h"
#include "proxy/backend.h"
#include "proxy/conn.h"
#include "proxy/proxy_priv.h"
#include "proxy/route.h"
#include "proxy/runtime.h"
#include "proxy/tls.h"
#include "proxy/upstream.h"

#define SESSION_REQ_TEXT_MAX	512	/* local replies' bodies */
#define SESSION_REQ_CERT_FIELD	"X-Client-Cert-Subject"
#define SESSION_REQ_CERT_MAX	1024	/* an RFC 2253 subject */
/*
 * A request waiting for a VM is woken by its pool when room may have
 * appeared (pool_queue_enter()), but a backend's ejection back-off ends
 * with no event: a worker with waiters also looks again this often.
 */
#define SESSION_REQ_QUEUE_RECHECK_MS	100
#define SESSION_REQ_TURN_POOLS		8	/* cached per wake-up */

/* One pool's answer to "whose turn is it", for one wake-up. */
struct session_req_turn {
	struct pool	*tu_pool;
	uint64_t	 tu_max;	/* pool_queue_turn_max() */
};

/* The target of a request split for routing: host and path. */
struct session_req_target {
	const char	*rt_host;	/* NULL: no Host */
	size_t		 rt_hostlen;
	const char	*rt_path;
	size_t		 rt_pathlen;
	bool		 rt_absolute;	/* absolute-form: rewrite it */
};

static void	session_req_info(struct session *s, struct http_msg *msg);
static int	session_req_target(struct http_msg *msg,
		    struct session_req_target *t);
static int	session_req_redirect(struct session *s,
		    const struct session_req_target *t);
static int	session_req_rewrite(struct session *s, struct http_msg *msg,
		    const struct session_req_target *t);
static void	session_req_hash(struct session *s, struct http_msg *msg,
		    const struct session_req_target *t);
static bool	session_req_usable(void *arg, size_t i);
static bool	session_req_untried(void *arg, size_t i);
static int	session_req_novm(struct session *s, struct pool_set *set);
static bool	session_req_turn(struct session *s,
		    const struct pool_set *set);
static int	session_req_wait(struct session *s, struct pool_set *set);
static bool	session_req_over(struct session *s);
static int	session_req_forward(struct session *s, struct evbuffer *out);

/*
 * The head of a request is in: route it and start the first attempt,
 * or answer it here.
 */
int
session_req_head(struct session *s)
{
	struct session_req		*rq = &s->s_rq;
	struct http_msg			*msg = http_parser_msg(s->s_reqp);
	struct evbuffer			*in = conn_input(s->s_cc);
	struct session_req_target	 t;
	const struct conf		*conf = s->s_rt->rt_conf;
	long				 ri;

	evtimer_del(s->s_ctimer);
	session_req_info(s, msg);
	if (session_req_target(msg, &t) == -1)
		return (session_reply(s, 400, NULL));
	if (s->s_lconf->li_redirect != NULL)
		return (session_req_redirect(s, &t));
	ri = route_find(s->s_rt->rt_routes, s->s_li, t.rt_host, t.rt_hostlen,
	    t.rt_path, t.rt_pathlen);
	if (ri == -1) {
		log_debug("listener %s: client %s: no route for %.*s",
		    s->s_lconf->li_name, s->s_client_ip, (int)t.rt_pathlen,
		    t.rt_path);
		return (session_reply(s, 404, NULL));
	}
	rq->rq_route = &conf->c_routes[ri];
	rq->rq_pidx = runtime_pool_index(s->s_rt, rq->rq_route->ro_pool);
	rq->rq_pool = s->s_rt->rt_pools[rq->rq_pidx];
	rq->rq_max_body = rq->rq_route->ro_max_body_set ?
	    rq->rq_route->ro_max_body : s->s_lconf->li_limits.lm_max_body;
	if (rq->rq_framing == HTTP_FRAMING_LENGTH && rq->rq_max_body > 0 &&
	    http_msg_content_length(msg) > rq->rq_max_body)
		return (session_reply(s, 413, NULL));
	session_req_hash(s, msg, &t);
	if (session_req_rewrite(s, msg, &t) == -1)
		return (session_reply(s, 503, NULL));

	if (rq->rq_framing == HTTP_FRAMING_NONE ||
	    (rq->rq_framing == HTTP_FRAMING_LENGTH &&
	    http_msg_content_length(msg) == 0)) {
		/* No body: the next parse ends the message at once. */
		if (http_parse(s->s_reqp, in, NULL, 1) != HTTP_PARSE_DONE)
			return (-1);
		rq->rq_done = true;
		s->s_cstate = SESSION_C_WAIT;
	} else
		s->s_cstate = SESSION_C_BODY;
	return (session_req_attempt(s));
}

/* What the rest of the request's life needs from its head. */
static void
session_req_info(struct session *s, struct http_msg *msg)
{
	struct session_req	*rq = &s->s_rq;
	unsigned		 flags = http_msg_flags(msg);

	rq->rq_method = http_msg_method(msg);
	rq->rq_version = http_msg_version(msg);
	rq->rq_keepalive = (flags & HTTP_MSG_KEEPALIVE) != 0;
	rq->rq_upgrade = (flags & HTTP_MSG_UPGRADE) != 0;
	rq->rq_expect = (flags & HTTP_MSG_EXPECT_100) != 0;
	rq->rq_framing = http_msg_framing(msg);
	/* RFC 9110 §9.2.2. */
	switch (rq->rq_method) {
	case HTTP_METHOD_GET:
	case HTTP_METHOD_HEAD:
	case HTTP_METHOD_OPTIONS:
	case HTTP_METHOD_TRACE:
	case HTTP_METHOD_PUT:
	case HTTP_METHOD_DELETE:
		rq->rq_idempotent = true;
		break;
	default:
		rq->rq_idempotent = false;
		break;
	}
}

/*
 * Host and path.  An absolute-form target's authority replaces Host
 * (RFC 9112 §3.2.2); an asterisk-form OPTIONS has the path "*".
 */
static int
session_req_target(struct http_msg *msg, struct session_req_target *t)
{
	const char	*target, *p, *end;
	size_t		 len;

	memset(t, 0, sizeof(*t));
	target = http_msg_target(msg, &len);
	if (http_msg_flags(msg) & HTTP_MSG_ABSOLUTE) {
		p = memchr(target, ':', len);
		if (p == NULL || (size_t)(p - target) + 3 > len ||
		    memcmp(p, "://", 3) != 0)
			return (-1);
		p += 3;
		end = p;
		while (end < target + len && *end != '/' && *end != '?')
			end++;
		if (end == p || memchr(p, '@', (size_t)(end - p)) != NULL)
			return (-1);
		t->rt_host = p;
		t->rt_hostlen = (size_t)(end - p);
		t->rt_path = end < target + len ? end : "/";
		t->rt_pathlen = end < target + len ?
		    (size_t)(target + len - end) : 1;
		t->rt_absolute = true;
		return (0);
	}
	t->rt_host = http_msg_get(msg, "Host", &t->rt_hostlen);
	t->rt_path = target;
	t->rt_pathlen = len;
	return (0);
}

/* redirect_https: 301 for GET and HEAD, else 308 (RFC 9110 §15.4.9). */
static int
session_req_redirect(struct session *s, const struct session_req_target *t)
{
	const struct conf_redirect	*rd = s->s_lconf->li_redirect;
	char				 host[ROUTE_HOST_MAX + 1], port[8];
	char				*loc;
	size_t				 ulen, len;
	int				 status, rc;

	status = s->s_rq.rq_method == HTTP_METHOD_GET ||
	    s->s_rq.rq_method == HTTP_METHOD_HEAD ? 301 : 308;
	if (rd->rd_url != NULL) {
		ulen = strlen(rd->rd_url);
		if (ulen > 0 && rd->rd_url[ulen - 1] == '/' &&
		    t->rt_path[0] == '/')
			ulen--;
		len = ulen + t->rt_pathlen + 1;
		if ((loc = malloc(len)) == NULL)
			return (-1);
		snprintf(loc, len, "%.*s%.*s", (int)ulen, rd->rd_url,
		    (int)t->rt_pathlen, t->rt_path);
	} else {
		if (t->rt_host == NULL || route_host_normalise(t->rt_host,
		    t->rt_hostlen, host, sizeof(host)) <= 0)
			return (session_reply(s, 400, NULL));
		port[0] = '\0';
		if (rd->rd_port != 443)
			snprintf(port, sizeof(port), ":%u", rd->rd_port);
		len = 8 + strlen(host) + strlen(port) + t->rt_pathlen + 1;
		if ((loc = malloc(len)) == NULL)
			return (-1);
		snprintf(loc, len, "https://%s%s%.*s", host, port,
		    (int)t->rt_pathlen, t->rt_path);
	}
	rc = session_reply_hdr(s, status, NULL, "Location", loc);
	free(loc);
	return (rc);
}

/*
 * The head the backend gets, serialised into s_head with the framing
 * chosen here: the body's own length when known, else chunked.
 */
static int
session_req_rewrite(struct session *s, struct http_msg *msg,
    const struct session_req_target *t)
{
	struct session_req	*rq = &s->s_rq;
	struct http_forward	 fw;
	const char		*m;
	char			*host = NULL, *path = NULL;
	char			 method[64], cert[SESSION_REQ_CERT_MAX];
	const char		*subject;
	size_t			 mlen;
	int			 rc = -1;

	if (t->rt_absolute) {
		m = http_msg_method_name(msg, &mlen);
		if (mlen >= sizeof(method) ||
		    (host = strndup(t->rt_host, t->rt_hostlen)) == NULL ||
		    (path = strndup(t->rt_path, t->rt_pathlen)) == NULL)
			goto out;
		memcpy(method, m, mlen);
		method[mlen] = '\0';
		if (http_msg_set_request(msg, rq->rq_method, method, path) ==
		    -1 || http_msg_set(msg, "Host", host) == -1)
			goto out;
	}
	memset(&fw, 0, sizeof(fw));
	fw.fw_client_ip = s->s_client_ip;
	fw.fw_trusted = s->s_trusted;
	fw.fw_tls = s->s_tls;
	fw.fw_random = worker_random;
	fw.fw_random_arg = s->s_worker;
	if (http_rewrite_request(msg, &fw, rq->rq_upgrade) == -1)
		goto out;
	/* Expect and a client's own SESSION_REQ_CERT_FIELD went there. */
	if (s->s_tls && (subject = tls_client_cert_subject(
	    conn_ssl(s->s_cc), cert, sizeof(cert))) !=
	    NULL && http_msg_add(msg, SESSION_REQ_CERT_FIELD, subject) == -1)
		goto out;
	evbuffer_drain(s->s_head, evbuffer_get_length(s->s_head));
	rc = http_write_head(s->s_head, msg, rq->rq_framing,
	    http_msg_content_length(msg));
out:
	free(host);
	free(path);
	return (rc);
}

/* The balancing key of a hash pool: client address, a header, or path. */
static void
session_req_hash(struct session *s, struct http_msg *msg,
    const struct session_req_target *t)
{
	const struct conf_pool	*cp = s->s_rq.rq_pool->bp_conf;
	const char		*v = NULL, *q;
	size_t			 len = 0;

	if (cp->pl_balance != CONF_BALANCE_HASH)
		return;
	switch (cp->pl_hash.ha_key) {
	case CONF_HASH_PATH:
		q = memchr(t->rt_path, '?', t->rt_pathlen);
		v = t->rt_path;
		len = q != NULL ? (size_t)(q - v) : t->rt_pathlen;
		break;
	case CONF_HASH_HEADER:
		if (cp->pl_hash.ha_header != NULL)
			v = http_msg_get(msg, cp->pl_hash.ha_header, &len);
		break;
	case CONF_HASH_CLIENT_IP:
		break;
	}
	if (v == NULL) {
		v = s->s_client_ip;
		len = strlen(v);
	}
	s->s_rq.rq_hash = lb_hash_bytes(v, len);
}

/* ------------------------------------------------------------------ */

static bool
session_req_untried(void *arg, size_t i)
{
	struct session		*s = arg;
	const struct session_req *rq = &s->s_rq;
	unsigned		 k;

	for (k = 0; k < rq->rq_ntried; k++)
		if (rq->rq_tried[k] == i)
			return (false);
	return (session_req_usable(arg, i));
}

static bool
session_req_usable(void *arg, size_t i)
{
	struct session		*s = arg;
	struct backend_pool	*bp = s->s_rq.rq_pool;

	/* A microvm slot: its VM is READY and has room for one more. */
	if (bp->bp_conf->pl_type == CONF_POOL_MICROVM &&
	    (s->s_rq.rq_set == NULL || !pool_set_ready(s->s_rq.rq_set, i) ||
	    !pool_slot_room(bp->bp_vm, i)))
		return (false);
	return (backend_usable(&bp->bp_backends[i]));
}

/* The VMs in <set> with room for one more request, up to <enough>. */
static size_t
session_req_room(const struct backend_pool *bp, const struct pool_set *set,
    size_t enough)
{
	size_t	 i, room = 0;

	for (i = 0; set != NULL && i < bp->bp_n && room < enough; i++)
		if (pool_set_ready(set, i) && pool_slot_room(bp->bp_vm, i))
			room++;
	return (room);
}

/*
 * Whether this request may pick a VM now: yes if nobody waits, or if it
 * waits itself and fewer requests are ahead of it than VMs have room.
 */
static bool
session_req_turn(struct session *s, const struct pool_set *set)
{
	struct backend_pool	*bp = s->s_rq.rq_pool;
	size_t			 pos;

	if (s->s_rq.rq_ticket == 0)
		return (pool_queue_length(bp->bp_vm) == 0);
	pos = pool_queue_position(bp->bp_vm, s->s_rq.rq_ticket);
	return (pos < session_req_room(bp, set, pos + 1));
}

/*
 * No VM can take the request now: wait in the pool's queue if there is
 * room in it, else 503.  Takes <set>.
 */
static int
session_req_wait(struct session *s, struct pool_set *set)
{
	struct session_req	*rq = &s->s_rq;
	struct backend_pool	*bp = rq->rq_pool;
	struct worker		*w = s->s_worker;
	uint64_t		 waited, left;

	if (set != NULL && pool_set_count(set) == 0)
		pool_demand(bp->bp_vm);		/* min: 0: boot one */
	if (bp->bp_vm != NULL && rq->rq_ticket == 0 &&
	    (rq->rq_ticket = pool_queue_enter(bp->bp_vm,
	    &w->w_waker)) != 0) {
		rq->rq_queued_ns = mtime_now_ns();
		/* Room that appeared before we were in: look once more. */
		event_active(w->w_ev_queue, 0, 0);
	}
	if (rq->rq_ticket == 0)
		return (session_req_novm(s, set));
	pool_set_put(set);
	s->s_ustate = SESSION_U_QUEUED;
	if (!s->s_queued) {
		TAILQ_INSERT_TAIL(&w->w_queued, s, s_qentry);
		s->s_queued = true;
	}
	s->s_qgen = w->w_qgen;
	/* Its own timer is for the timeout; retries are the worker's. */
	waited = (mtime_now_ns() - rq->rq_queued_ns) / MTIME_NS_PER_MS;
	left = pool_queue_timeout(bp->bp_vm);
	session_timer(s->s_utimer, waited < left ? left - waited : 0);
	return (0);
}

static bool
session_req_timed_out(const struct session *s)
{
	const struct session_req *rq = &s->s_rq;

	return (mtime_now_ns() - rq->rq_queued_ns >=
	    pool_queue_timeout(rq->rq_pool->bp_vm) * MTIME_NS_PER_MS);
}

/*
 * Whether a waiting request may be in turn, from the pool's answer
 * cached in <tu> (computed on first use: the VMs with room, counted
 * once, and the newest ticket they can take).  When the cache is full
 * it says yes and session_req_turn() decides.
 */
static bool
session_req_maybe_turn(struct session *s, struct session_req_turn *tu,
    size_t *ntu)
{
	struct backend_pool	*bp = s->s_rq.rq_pool;
	struct pool_set		*set;
	size_t			 i, room;

	for (i = 0; i < *ntu; i++)
		if (tu[i].tu_pool == bp->bp_vm)
			return (s->s_rq.rq_ticket <= tu[i].tu_max);
	if (*ntu == SESSION_REQ_TURN_POOLS)
		return (true);
	set = pool_set_get(bp->bp_vm);
	room = session_req_room(bp, set, SIZE_MAX);
	pool_set_put(set);
	tu[*ntu].tu_pool = bp->bp_vm;
	tu[*ntu].tu_max = pool_queue_turn_max(bp->bp_vm, room);
	return (s->s_rq.rq_ticket <= tu[(*ntu)++].tu_max);
}

void
session_req_unqueue(struct session *s)
{
	if (!s->s_queued)
		return;
	TAILQ_REMOVE(&s->s_worker->w_queued, s, s_qentry);
	s->s_queued = false;
}

/*
 * A pool says room may have appeared (or SESSION_REQ_QUEUE_RECHECK_MS
 * passed): each waiting request of the worker in turn tries again, the
 * others are passed over without a lock; all go round once, put back
 * behind with this run's w_qgen, which ends the run.  Being in turn is
 * a ticket compare, so a run costs O(waiters), not O(waiters x queue).
 */
void
session_req_queue_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker		*w = arg;
	struct session		*s;
	struct session_req_turn	 tu[SESSION_REQ_TURN_POOLS];
	struct timeval		 tv = { 0, SESSION_REQ_QUEUE_RECHECK_MS * 1000 };
	size_t			 ntu = 0;

	(void)fd;
	(void)what;
	ASSERT(w->magic == WORKER_MAGIC);
	w->w_qgen++;
	while ((s = TAILQ_FIRST(&w->w_queued)) != NULL &&
	    s->s_qgen != w->w_qgen) {
		ASSERT(s->s_ustate == SESSION_U_QUEUED);
		if (!session_req_maybe_turn(s, tu, &ntu) &&
		    !session_req_timed_out(s)) {
			TAILQ_REMOVE(&w->w_queued, s, s_qentry);
			TAILQ_INSERT_TAIL(&w->w_queued, s, s_qentry);
			s->s_qgen = w->w_qgen;
			continue;
		}
		evtimer_del(s->s_utimer);
		session_cb_end(s, session_req_queued(s));
	}
	if (!TAILQ_EMPTY(&w->w_queued))
		event_add(w->w_ev_queue, &tv);
}

int
session_req_queued(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct backend_pool	*bp = rq->rq_pool;

	session_req_unqueue(s);
	s->s_ustate = SESSION_U_NONE;
	if (session_req_timed_out(s)) {
		pool_queue_leave(bp->bp_vm, rq->rq_ticket);
		rq->rq_ticket = 0;
		return (session_req_novm(s, pool_set_get(bp->bp_vm)));
	}
	return (session_req_attempt(s));
}

/*
 * No microvm slot could take the request, and it cannot wait (the
 * queue is full or off, or its timeout passed): 503 with the reason.
 * Takes <set>.
 */
static int
session_req_novm(struct session *s, struct pool_set *set)
{
	struct backend_pool	*bp = s->s_rq.rq_pool;
	char			 text[SESSION_REQ_TEXT_MAX];
	bool			 none = set == NULL || pool_set_count(set) == 0;

	pool_set_put(set);
	log_debug("pool %s: %s", bp->bp_conf->pl_name, none ?
	    "no VM ready" : "every VM is busy");
	snprintf(text, sizeof(text), "pool %s: %s\n", bp->bp_conf->pl_name,
	    none ? "no VM ready" : "every VM is busy");
	return (session_reply(s, 503, text));
}

/*
 * One attempt: a backend that is not ejected, preferring one this
 * request has not tried yet, and a connection to it.
 */
int
session_req_attempt(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct worker		*w = s->s_worker;
	struct backend_pool	*bp = rq->rq_pool;
	struct runtime_slot	*rs = runtime_slot(s->s_rt, w->w_id);
	struct lb_filter	 f;
	struct backend		*b;
	struct upstream		*up;
	char			 text[SESSION_REQ_TEXT_MAX];
	SSL			*ssl = NULL;
	struct pool_set		*set = NULL;
	long			 i = -1;

	if (bp->bp_conf->pl_type == CONF_POOL_MICROVM && bp->bp_vm != NULL)
		set = pool_set_get(bp->bp_vm);
	rq->rq_set = set;
	if (set != NULL && !session_req_turn(s, set)) {
		/* Others wait for a VM already: behind them. */
		rq->rq_set = NULL;
		return (session_req_wait(s, set));
	}
	if (bp->bp_n > 0 && rq->rq_ntried < SESSION_MAX_TRIES) {
		f.lf_usable = session_req_untried;
		f.lf_arg = s;
		i = bp->bp_lb->lo_pick(rs->rs_lb[rq->rq_pidx], rq->rq_hash,
		    lb_rand(&w->w_rand), &f);
		if (i == -1 && rq->rq_ntried > 0) {
			f.lf_usable = session_req_usable;
			i = bp->bp_lb->lo_pick(rs->rs_lb[rq->rq_pidx],
			    rq->rq_hash, lb_rand(&w->w_rand), &f);
		}
	}
	rq->rq_set = NULL;
	if (i == -1 && bp->bp_conf->pl_type == CONF_POOL_MICROVM)
		return (session_req_wait(s, set));
	pool_set_put(set);
	if (rq->rq_ticket != 0) {
		pool_queue_leave(bp->bp_vm, rq->rq_ticket);
		rq->rq_ticket = 0;
	}
	if (i == -1) {
		/* Every backend is ejected (or there is none): 503. */
		log_debug("pool %s: no backend available",
		    bp->bp_conf->pl_name);
		snprintf(text, sizeof(text), "no backend available for pool "
		    "%s\n", bp->bp_conf->pl_name);
		return (session_reply(s, 503, text));
	}
	b = &bp->bp_backends[i];
	rq->rq_tried[rq->rq_ntried++] = (size_t)i;
	rq->rq_be = b;
	backend_acquire(b);
	rq->rq_up_start_ns = mtime_now_ns();
	if ((up = upstream_idle_get(&rs->rs_idle[rq->rq_pidx][i])) != NULL)
		return (session_resp_attach(s, up));
	if (b->be_tls != NULL && (ssl = tls_client_ssl(b->be_tls)) == NULL) {
		session_attempt_end(s, false);
		return (session_reply(s, 502, NULL));
	}
	up = upstream_connect(w->w_base, b, ssl,
	    rq->rq_route->ro_timeouts.rt_connect, session_resp_ready_cb, s);
	if (up == NULL) {
		log_warnx("pool %s: backend %s: cannot connect: out of "
		    "resources", bp->bp_conf->pl_name, b->be_name);
		session_attempt_end(s, false);
		return (session_reply(s, 503, NULL));
	}
	s->s_up = up;
	s->s_ustate = SESSION_U_CONNECTING;
	return (0);
}

/* ------------------------------------------------------------------ */

/*
 * Moves request body bytes from the client to the backend while the
 * backend's output is below the watermark; re-frames them (the same
 * Content-Length, or chunks of what arrived).
 */
int
session_req_body(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct evbuffer		*in = conn_input(s->s_cc);
	struct evbuffer		*out;
	enum http_parse_result	 r;
	size_t			 len;
	int			 status;

	ASSERT(s->s_up != NULL);
	out = conn_output(upstream_conn(s->s_up));
	while (s->s_cstate == SESSION_C_BODY) {
		if ((len = evbuffer_get_length(out)) >= SESSION_WATERMARK) {
			/* The backend is behind: not the client's fault. */
			evtimer_del(s->s_ctimer);
			return (0);
		}
		r = http_parse(s->s_reqp, in, s->s_body,
		    SESSION_WATERMARK - len);
		switch (r) {
		case HTTP_PARSE_AGAIN:
			if (s->s_client_eof)
				return (-1);	/* the body was cut short */
			if (!evtimer_pending(s->s_ctimer, NULL))
				session_timer(s->s_ctimer,
				    s->s_lconf->li_timeouts.lt_client_body);
			return (0);
		case HTTP_PARSE_BODY:
			if (session_req_over(s))
				goto toolarge;
			if (session_req_forward(s, out) == -1)
				return (-1);
			session_timer(s->s_ctimer,
			    s->s_lconf->li_timeouts.lt_client_body);
			break;
		case HTTP_PARSE_DONE:
			if (session_req_over(s))
				goto toolarge;
			if (session_req_forward(s, out) == -1 ||
			    (rq->rq_framing == HTTP_FRAMING_CHUNKED &&
			    http_write_last_chunk(out) == -1))
				return (-1);
			rq->rq_done = true;
			s->s_cstate = SESSION_C_WAIT;
			evtimer_del(s->s_ctimer);
			session_timer(s->s_utimer,
			    rq->rq_route->ro_timeouts.rt_response);
			return (0);
		case HTTP_PARSE_ERROR:
			status = http_parser_status(s->s_reqp);
			log_debug("listener %s: client %s: bad request body "
			    "(%d): %s", s->s_lconf->li_name, s->s_client_ip,
			    status, http_parser_error(s->s_reqp));
			if (rq->rq_resp_started)
				return (-1);
			session_attempt_end(s, false);
			return (session_reply(s, status, NULL));
		case HTTP_PARSE_OK:
		case HTTP_PARSE_HEAD:
			return (-1);
		}
	}
	return (0);
toolarge:
	if (rq->rq_resp_started)
		return (-1);
	session_attempt_end(s, false);
	return (session_reply(s, 413, NULL));
}

/* Whether the batch in s_body takes the body over the route's limit. */
static bool
session_req_over(struct session *s)
{
	const struct session_req	*rq = &s->s_rq;

	return (rq->rq_max_body > 0 && rq->rq_bytes_in +
	    evbuffer_get_length(s->s_body) > rq->rq_max_body);
}

/* One batch of body bytes, s_body, to <out>.  0 or -1 (ENOMEM). */
static int
session_req_forward(struct session *s, struct evbuffer *out)
{
	struct session_req	*rq = &s->s_rq;
	size_t			 n = evbuffer_get_length(s->s_body);

	if (n == 0)
		return (0);
	rq->rq_bytes_in += n;
	rq->rq_body_sent = true;
	/* The backend is working on it: its response clock restarts. */
	session_timer(s->s_utimer, rq->rq_route->ro_timeouts.rt_response);
	if (rq->rq_framing == HTTP_FRAMING_CHUNKED)
		return (http_write_chunk(out, s->s_body));
	return (evbuffer_add_buffer(out, s->s_body));
}
