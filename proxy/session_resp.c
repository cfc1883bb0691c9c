/*
 * proxy/session_resp.c: the backend side of a session: a connection
 * becomes ready (or fails, and the request is retried or answered with
 * a 5xx), the response head comes back and is rewritten, and the body
 * streams to the client re-framed for it (its own Content-Length, or
 * chunks for an HTTP/1.1 client when the backend used chunks or closed
 * the connection; an HTTP/1.0 client gets the body up to a close).
 *
 * Backpressure is the mirror of the request side: the backend's input
 * is parsed only while the client's output is below the watermark, and
 * the client's write callback resumes it.  Retries: a request whose
 * connection could not be made was never sent and may go elsewhere
 * whatever its method; one that was sent, only if it is idempotent, no
 * body byte went out and no response byte came back (RFC 9110 §9.2.2,
 * RFC 9112 §9.3.1).  A kept-alive connection the backend closed before
 * answering is retried once more for free and does not count against
 * the backend.  Runs on the
 * session's worker thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "lib/mtime.h"
#include "pool/pool.h"
#include "proxy/backend.h"
#include "proxy/conn.h"
#include "proxy/proxy_priv.h"
#include "proxy/runtime.h"
#include "proxy/upstream.h"

#define SESSION_CONTINUE	"HTTP/1.1 100 Continue\r\n\r\n"
#define SESSION_COPY_MAX	2048	/* body bytes copied, not moved */

/* session_resp_failed() flags. */
#define SESSION_FAIL_COUNT	0x01	/* the backend's fault: count it */
#define SESSION_FAIL_RETRY	0x02	/* another attempt may follow */
#define SESSION_FAIL_UNSENT	0x04	/* never connected: nothing sent */

static void	session_resp_read_cb(struct conn *c, void *arg);
static void	session_resp_write_cb(struct conn *c, void *arg);
static void	session_resp_event_cb(struct conn *c, int what, void *arg);
static int	session_resp_head(struct session *s);
static int	session_resp_eof(struct session *s);
static int	session_resp_end(struct session *s);
static int	session_resp_forward(struct session *s, struct evbuffer *out);
static int	session_resp_wait(struct session *s, bool moved);

void
session_resp_ready_cb(struct upstream *up, enum upstream_error err,
    void *arg)
{
	struct session	*s = arg;
	int		 rc;

	ASSERT(s->magic == SESSION_MAGIC);
	ASSERT(s->s_up == up);
	if (err == UPSTREAM_OK)
		rc = session_resp_attach(s, up);
	else
		rc = session_resp_failed(s, err == UPSTREAM_TIMEOUT ? 503 :
		    502, upstream_strerror(err), SESSION_FAIL_COUNT |
		    SESSION_FAIL_RETRY | SESSION_FAIL_UNSENT);
	session_cb_end(s, rc);
}

/*
 * <up> is ready for this request: send the head, answer 100-continue if
 * the client waits for it, and start on the body.
 */
int
session_resp_attach(struct session *s, struct upstream *up)
{
	struct session_req	*rq = &s->s_rq;
	struct conn		*uc = upstream_conn(up);

	s->s_up = up;
	conn_setcb(uc, session_resp_read_cb, session_resp_write_cb,
	    session_resp_event_cb, s);
	conn_watermarks(uc, SESSION_WATERMARK, SESSION_WATERMARK / 2);
	if (conn_read_start(uc) == -1)
		return (session_resp_failed(s, 502, "cannot enable",
		    SESSION_FAIL_RETRY));
	/* The last response's parser, if it ended cleanly: no allocation. */
	if (!s->s_respp_reuse) {
		http_parser_free(s->s_respp);
		if ((s->s_respp = http_parser_new(HTTP_PARSER_RESPONSE,
		    NULL)) == NULL)
			return (-1);
	}
	s->s_respp_reuse = false;
	http_parser_set_request(s->s_respp, rq->rq_method, rq->rq_upgrade);
	rq->rq_resp_any = false;
	rq->rq_resp_1xx = false;
	rq->rq_up_eof = false;
	if (evbuffer_add(conn_output(uc), evbuffer_pullup(s->s_head, -1),
	    evbuffer_get_length(s->s_head)) == -1)
		return (-1);
	s->s_ustate = SESSION_U_WAIT;
	session_timer(s->s_utimer, rq->rq_route->ro_timeouts.rt_response);
	/* RFC 9110 §10.1.1: the body is wanted now. */
	if (rq->rq_expect && !rq->rq_done && !rq->rq_continue) {
		rq->rq_continue = true;
		if (evbuffer_add(conn_output(s->s_cc),
		    SESSION_CONTINUE, strlen(SESSION_CONTINUE)) == -1)
			return (-1);
	}
	if (s->s_cstate == SESSION_C_BODY)
		return (session_req_body(s));
	return (0);
}

/*
 * The attempt failed before a response reached the client: count it
 * against the backend if <flags> says so, retry if the request allows
 * it, else answer <status>.
 */
int
session_resp_failed(struct session *s, int status, const char *why,
    unsigned flags)
{
	struct session_req	*rq = &s->s_rq;
	struct backend		*b = rq->rq_be;
	const char		*pool = rq->rq_pool->bp_conf->pl_name;
	bool			 stale, retry;

	/*
	 * A kept-alive connection the backend had closed meanwhile (a
	 * close or reset, not a timeout): not the backend's failure.
	 */
	stale = (flags & SESSION_FAIL_RETRY) && s->s_up != NULL &&
	    upstream_reused(s->s_up) && !rq->rq_resp_any;
	if (b != NULL) {
		log_debug("pool %s: backend %s: %s%s", pool, b->be_name, why,
		    stale ? " (reused connection)" : "");
		if ((flags & SESSION_FAIL_COUNT) && !stale &&
		    backend_failure(b))
			log_warnx("pool %s: backend %s: ejected after %u "
			    "failures: %s", pool, b->be_name,
			    (unsigned)atomic_load(&b->be_failures), why);
	}
	session_attempt_end(s, false);
	s->s_ustate = SESSION_U_NONE;
	/*
	 * A request that never left may go anywhere; one that did, only
	 * if repeating it is harmless and no body byte is gone for good.
	 */
	retry = (flags & SESSION_FAIL_RETRY) && !rq->rq_body_sent &&
	    !rq->rq_resp_any && !rq->rq_resp_started &&
	    (rq->rq_idempotent || (flags & SESSION_FAIL_UNSENT));
	if (retry && stale && !rq->rq_free_retry) {
		rq->rq_free_retry = true;
		return (session_req_attempt(s));
	}
	if (retry && rq->rq_retries < rq->rq_route->ro_retries) {
		rq->rq_retries++;
		return (session_req_attempt(s));
	}
	if (rq->rq_resp_started)
		return (-1);
	return (session_reply(s, status, NULL));
}

/* The backend-side timer: response timeout, then idle timeout. */
void
session_resp_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	int		 rc = 0;

	(void)fd;
	(void)what;
	ASSERT(s->magic == SESSION_MAGIC);
	if (session_timer_early(s, s->s_utimer))
		return;
	if (s->s_ustate == SESSION_U_QUEUED)
		rc = session_req_queued(s);
	else if (s->s_ustate == SESSION_U_WAIT)
		rc = session_resp_failed(s, 504, "response timeout",
		    SESSION_FAIL_COUNT);
	else if (s->s_ustate == SESSION_U_BODY) {
		log_debug("pool %s: backend %s: idle timeout",
		    s->s_rq.rq_pool->bp_conf->pl_name,
		    s->s_rq.rq_be != NULL ? s->s_rq.rq_be->be_name : "-");
		rc = -1;
	}
	session_cb_end(s, rc);
}

/* ------------------------------------------------------------------ */

static void
session_resp_read_cb(struct conn *c, void *arg)
{
	struct session	*s = arg;
	int		 rc = 0;

	ASSERT(s->magic == SESSION_MAGIC);
	if (evbuffer_get_length(conn_input(c)) > 0)
		s->s_rq.rq_resp_any = true;
	if (s->s_cstate == SESSION_C_TUNNEL)
		rc = tunnel_pump(s);
	else
		rc = session_resp_pump(s);
	session_cb_end(s, rc);
}

/* The backend took some of the request: more body may go. */
static void
session_resp_write_cb(struct conn *c, void *arg)
{
	struct session	*s = arg;
	int		 rc = 0;

	(void)c;
	ASSERT(s->magic == SESSION_MAGIC);
	if (s->s_cstate == SESSION_C_BODY)
		rc = session_req_body(s);
	else if (s->s_cstate == SESSION_C_TUNNEL)
		rc = tunnel_pump(s);
	session_cb_end(s, rc);
}

static void
session_resp_event_cb(struct conn *c, int what, void *arg)
{
	struct session	*s = arg;
	int		 rc;

	(void)c;
	ASSERT(s->magic == SESSION_MAGIC);
	if (!(what & (CONN_EV_EOF | CONN_EV_ERROR)))
		return;
	if (what & CONN_EV_ERROR)
		log_debug("pool %s: backend %s: %s", s->s_rq.rq_pool != NULL ?
		    s->s_rq.rq_pool->bp_conf->pl_name : "-",
		    s->s_rq.rq_be != NULL ? s->s_rq.rq_be->be_name : "-",
		    strerror(errno));
	s->s_rq.rq_up_eof = true;
	if (s->s_cstate == SESSION_C_TUNNEL)
		rc = tunnel_pump(s);
	else
		rc = session_resp_pump(s);
	session_cb_end(s, rc);
}

/*
 * Parses the backend's response as far as the client's output allows:
 * the head (interim 1xx responses are dropped: corral answered the
 * 100-continue itself), then the body, re-framed for the client.
 */
int
session_resp_pump(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct evbuffer		*in, *out = conn_output(s->s_cc);
	enum http_parse_result	 r;
	size_t			 room, len;
	bool			 moved = false;

	while (s->s_ustate == SESSION_U_WAIT || s->s_ustate == SESSION_U_BODY) {
		in = conn_input(upstream_conn(s->s_up));
		room = SESSION_WATERMARK;
		if (s->s_ustate == SESSION_U_BODY) {
			/* The write callback resumes. */
			if ((len = evbuffer_get_length(out)) >= room)
				return (session_resp_wait(s, moved));
			room -= len;
		}
		r = http_parse(s->s_respp, in, s->s_body, room);
		switch (r) {
		case HTTP_PARSE_OK:
		case HTTP_PARSE_AGAIN:
			if (!rq->rq_up_eof)
				return (session_resp_wait(s, moved));
			return (session_resp_eof(s));
		case HTTP_PARSE_HEAD:
			if (session_resp_head(s) == -1)
				return (-1);
			moved = true;
			break;
		case HTTP_PARSE_BODY:
			if (session_resp_forward(s, out) == -1)
				return (-1);
			moved = true;
			break;
		case HTTP_PARSE_DONE:
			if (rq->rq_resp_1xx) {
				rq->rq_resp_1xx = false;
				break;
			}
			if (session_resp_forward(s, out) == -1)
				return (-1);
			return (session_resp_end(s));
		case HTTP_PARSE_ERROR:
			if (rq->rq_resp_started) {
				log_debug("pool %s: backend %s: bad response "
				    "body: %s", rq->rq_pool->bp_conf->pl_name,
				    rq->rq_be->be_name,
				    http_parser_error(s->s_respp));
				return (-1);
			}
			return (session_resp_failed(s, 502,
			    http_parser_error(s->s_respp),
			    SESSION_FAIL_COUNT));
		}
	}
	return (session_resp_wait(s, moved));
}

/*
 * The response waits for the backend or for the client: if bytes moved
 * in this call, its idle timeout starts again (once per call, not once
 * per batch of bytes).
 */
static int
session_resp_wait(struct session *s, bool moved)
{
	if (moved && s->s_ustate == SESSION_U_BODY)
		session_timer(s->s_utimer,
		    s->s_rq.rq_route->ro_timeouts.rt_idle);
	return (0);
}

/* The backend closed and everything it sent has been parsed. */
static int
session_resp_eof(struct session *s)
{
	struct session_req	*rq = &s->s_rq;

	if (http_parse_eof(s->s_respp) == HTTP_PARSE_DONE &&
	    s->s_ustate == SESSION_U_BODY)
		return (session_resp_end(s));	/* delimited by the close */
	if (s->s_ustate == SESSION_U_WAIT)
		return (session_resp_failed(s, 502, rq->rq_resp_any ?
		    "closed in the response head" : "closed before responding",
		    SESSION_FAIL_COUNT | SESSION_FAIL_RETRY));
	log_debug("pool %s: backend %s: closed in the response body",
	    rq->rq_pool->bp_conf->pl_name, rq->rq_be->be_name);
	return (-1);	/* the client sees the response cut short */
}

/* The final response's head: rewrite it and send it to the client. */
static int
session_resp_head(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct http_msg		*msg = http_parser_msg(s->s_respp);
	struct evbuffer		*out = conn_output(s->s_cc);
	enum http_framing	 f;
	int			 status = http_msg_status(msg);
	bool			 close;

	if (status >= 100 && status < 200 && status != 101) {
		rq->rq_resp_1xx = true;
		return (0);
	}
	backend_success(rq->rq_be);
	/* A VM answering 5xx may be sick: its pool checks it at once. */
	if (status >= 500 && rq->rq_pool->bp_vm != NULL)
		pool_slot_failure(rq->rq_pool->bp_vm, rq->rq_be->be_index);
	rq->rq_up_us = (mtime_now_ns() - rq->rq_up_start_ns) / 1000;
	rq->rq_ttfb_us = (mtime_now_ns() - rq->rq_start_ns) / 1000;
	if (status == 101)
		return (tunnel_start(s));
	switch ((f = http_msg_framing(msg))) {
	case HTTP_FRAMING_NONE:
	case HTTP_FRAMING_LENGTH:
		break;
	case HTTP_FRAMING_CHUNKED:
	case HTTP_FRAMING_CLOSE:
		f = rq->rq_version == 11 ? HTTP_FRAMING_CHUNKED :
		    HTTP_FRAMING_CLOSE;
		break;
	}
	rq->rq_up_keep = (http_msg_flags(msg) & HTTP_MSG_KEEPALIVE) != 0;
	close = f == HTTP_FRAMING_CLOSE || s->s_close || !rq->rq_keepalive ||
	    s->s_worker->w_draining;
	if (http_rewrite_response(msg, NULL, 0) == -1 ||
	    (close && http_msg_set(msg, "Connection", "close") == -1) ||
	    (!close && rq->rq_version == 10 &&
	    http_msg_set(msg, "Connection", "keep-alive") == -1) ||
	    session_add_hsts(s, msg) == -1 ||
	    http_write_head(out, msg, f, http_msg_content_length(msg)) == -1)
		return (-1);
	if (close)
		s->s_close = true;
	rq->rq_status = status;
	rq->rq_resp_started = true;
	rq->rq_resp_framing = f;
	s->s_ustate = SESSION_U_BODY;
	return (0);
}

/* A batch of response body bytes (s_body) to the client. */
static int
session_resp_forward(struct session *s, struct evbuffer *out)
{
	struct session_req	*rq = &s->s_rq;
	size_t			 n = evbuffer_get_length(s->s_body);

	if (n == 0)
		return (0);
	rq->rq_bytes_out += n;
	if (rq->rq_resp_framing == HTTP_FRAMING_CHUNKED)
		return (http_write_chunk(out, s->s_body));
	/*
	 * A short body is copied behind the head, so that the response is
	 * one buffer: one write(2), and one record for TLS.  A long one
	 * moves without a copy.
	 */
	if (n <= SESSION_COPY_MAX) {
		if (evbuffer_add(out, evbuffer_pullup(s->s_body, -1), n) == -1)
			return (-1);
		return (evbuffer_drain(s->s_body, n));
	}
	return (evbuffer_add_buffer(out, s->s_body));
}

/* The response is complete. */
static int
session_resp_end(struct session *s)
{
	struct session_req	*rq = &s->s_rq;

	if (rq->rq_resp_framing == HTTP_FRAMING_CHUNKED &&
	    http_write_last_chunk(conn_output(s->s_cc)) == -1)
		return (-1);
	if (rq->rq_up_eof)
		rq->rq_up_keep = false;
	/* Between two messages of a kept-alive stream: the next may use it. */
	s->s_respp_reuse = rq->rq_up_keep;
	s->s_ustate = SESSION_U_DONE;
	return (session_txn_done(s));
}
