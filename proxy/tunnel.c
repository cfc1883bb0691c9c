/*
 * proxy/tunnel.c: a session after a 101 Switching Protocols (WebSocket
 * and other upgrades): the 101 goes to the client, then raw bytes flow
 * both ways, each direction moved only while the other side's output is
 * below the watermark, until either side has closed and what it sent
 * has been delivered.  The route's idle timeout, if set, bounds a silent
 * tunnel.  Runs on the session's worker thread.
 */
#include <event2/buffer.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "lib/mtime.h"
#include "proxy/conn.h"
#include "proxy/proxy_priv.h"
#include "proxy/upstream.h"

static size_t	tunnel_move(struct evbuffer *src, struct evbuffer *dst);

/* The backend said 101: pass it on and start moving bytes. */
int
tunnel_start(struct session *s)
{
	struct session_req	*rq = &s->s_rq;
	struct http_msg		*msg = http_parser_msg(s->s_respp);

	if (http_rewrite_response(msg, NULL, 1) == -1 ||
	    http_write_head(conn_output(s->s_cc), msg,
	    HTTP_FRAMING_NONE, 0) == -1)
		return (-1);
	rq->rq_status = 101;
	rq->rq_resp_started = true;
	s->s_cstate = SESSION_C_TUNNEL;
	s->s_ustate = SESSION_U_DONE;
	evtimer_del(s->s_utimer);
	session_timer(s->s_ctimer, rq->rq_route->ro_timeouts.rt_idle);
	if (conn_read_start(s->s_cc) == -1)
		return (-1);
	return (tunnel_pump(s));
}

/* Moves what it can both ways; -1 when the tunnel is over. */
int
tunnel_pump(struct session *s)
{
	struct conn		*uc = upstream_conn(s->s_up);
	struct evbuffer		*cin = conn_input(s->s_cc);
	struct evbuffer		*cout = conn_output(s->s_cc);
	struct evbuffer		*uin = conn_input(uc);
	struct evbuffer		*uout = conn_output(uc);
	size_t			 up, down;

	up = tunnel_move(cin, uout);
	down = tunnel_move(uin, cout);
	s->s_rq.rq_bytes_in += up;
	s->s_rq.rq_bytes_out += down;
	if (up + down > 0 && s->s_rq.rq_route->ro_timeouts.rt_idle > 0)
		session_timer(s->s_ctimer,
		    s->s_rq.rq_route->ro_timeouts.rt_idle);
	/*
	 * One side has closed: once nothing is on its way either way, both
	 * close (a write callback fires again when its output is empty).
	 * Bytes just moved toward the side still open go first: they may
	 * have come in the same pass as the end (conn_loop()).
	 */
	if ((s->s_client_eof && evbuffer_get_length(cin) == 0) ||
	    (s->s_rq.rq_up_eof && evbuffer_get_length(uin) == 0)) {
		if (evbuffer_get_length(uout) == 0 &&
		    evbuffer_get_length(cout) == 0)
			return (-1);
		if (evbuffer_get_length(uout) > 0)
			conn_watermarks(uc, SESSION_WATERMARK, 0);
		if (evbuffer_get_length(cout) > 0)
			conn_watermarks(s->s_cc, SESSION_WATERMARK, 0);
	}
	return (0);
}

/* Up to the watermark of <dst> from <src>; returns the bytes moved. */
static size_t
tunnel_move(struct evbuffer *src, struct evbuffer *dst)
{
	size_t	 have = evbuffer_get_length(dst), n;

	if (have >= SESSION_WATERMARK)
		return (0);
	n = evbuffer_get_length(src);
	if (n > SESSION_WATERMARK - have)
		n = SESSION_WATERMARK - have;
	if (n == 0)
		return (0);
	return (evbuffer_remove_buffer(src, dst, n) < 0 ? 0 : n);
}
