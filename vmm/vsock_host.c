/*
 * vmm/vsock_host.c: the host side of the vsock device, Firecracker's
 * convention on Unix sockets.  A host client connects to vs_path and
 * writes "CONNECT <port>\n"; we pick a host port (from 2^30 up), the
 * device sends the guest a REQUEST, and its RESPONSE is answered with
 * "OK <port>\n" to the client, after which the socket is the stream.  A
 * guest REQUEST to host port P connects to "<vs_path>_<P>".
 *
 * This file owns the streams' lifetime: the table, the sockets and their
 * loop registrations, deadlines (the CONNECT line, the guest's answer,
 * the close handshake) on one timerfd, and what socket events mean for a
 * stream.  vmm/vsock.c turns the result into packets.  Device thread only.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mtime.h"
#include "vmm/loop.h"
#include "vmm/vsock.h"
#include "vmm/vsock_priv.h"

static int	vsock_host_unlink_stale(const struct sockaddr_un *);
static struct vsock_conn *vsock_host_conn_new(struct vsock *, int,
		    enum vsock_state);
static unsigned	vsock_host_hash(uint32_t, uint32_t);
static void	vsock_host_insert(struct vsock_conn *);
static void	vsock_host_conn_cb(int, uint32_t, void *);
static void	vsock_host_line(struct vsock_conn *);
static int	vsock_host_flush(struct vsock_conn *);
static void	vsock_host_accept_cb(int, uint32_t, void *);
static void	vsock_host_timer_cb(int, uint32_t, void *);
static void	vsock_host_timer_update(struct vsock *);

int
vsock_host_listen(struct vsock *vs)
{
	struct sockaddr_un	 sun;

	if (strlen(vs->vs_path) >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, vs->vs_path, strlen(vs->vs_path) + 1);
	if ((vs->vs_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (vsock_host_unlink_stale(&sun) == -1)
		return -1;
	if (bind(vs->vs_lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		return -1;
	vs->vs_bound = 1;
	if (listen(vs->vs_lfd, 128) == -1 ||
	    loop_add(vs->vs_loop, vs->vs_lfd, EPOLLIN, vsock_host_accept_cb,
	    vs) == -1)
		return -1;
	if ((vs->vs_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		return -1;
	return loop_add(vs->vs_loop, vs->vs_tfd, EPOLLIN, vsock_host_timer_cb,
	    vs);
}

void
vsock_host_close(struct vsock *vs)
{
	vsock_host_drop_all(vs);
	if (vs->vs_lfd != -1) {
		(void)loop_del(vs->vs_loop, vs->vs_lfd);
		close(vs->vs_lfd);
		vs->vs_lfd = -1;
	}
	if (vs->vs_bound) {
		unlink(vs->vs_path);
		vs->vs_bound = 0;
	}
	if (vs->vs_tfd != -1) {
		(void)loop_del(vs->vs_loop, vs->vs_tfd);
		close(vs->vs_tfd);
		vs->vs_tfd = -1;
	}
}

/*
 * Clears the way for binding <sun>: a socket left by a VMM that died goes,
 * but a live one (another VM's) or a file that is no socket at all stays,
 * and binding fails with EADDRINUSE or EEXIST.  The VMM may run as root: a
 * mistyped path must not delete what it names.
 */
static int
vsock_host_unlink_stale(const struct sockaddr_un *sun)
{
	struct stat	 st;
	int		 fd, rc;

	if (lstat(sun->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		errno = EEXIST;
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return -1;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	/* EAGAIN: alive, with a full backlog. */
	if (rc == 0 || errno == EAGAIN) {
		errno = EADDRINUSE;
		return -1;
	}
	return unlink(sun->sun_path);
}

/* Every stream goes, host sockets closed: a reset or the end. */
void
vsock_host_drop_all(struct vsock *vs)
{
	struct vsock_conn	*c;
	unsigned		 i;

	for (i = 0; i < VSOCK_BUCKETS; i++)
		while ((c = vs->vs_hash[i]) != NULL)
			vsock_host_conn_free(c);
	while ((c = TAILQ_FIRST(&vs->vs_lines)) != NULL)
		vsock_host_conn_free(c);
	vs->vs_nrsts = 0;
}

static struct vsock_conn *
vsock_host_conn_new(struct vsock *vs, int fd, enum vsock_state state)
{
	struct vsock_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->vc_magic = VSOCK_CONN_MAGIC;
	c->vc_vs = vs;
	c->vc_fd = fd;
	c->vc_state = state;
	c->vc_events = state == VSOCK_LINE ? EPOLLIN : 0;
	if (loop_add(vs->vs_loop, fd, c->vc_events, vsock_host_conn_cb,
	    c) == -1) {
		free(c);
		return NULL;
	}
	c->vc_polled = 1;
	TAILQ_INSERT_TAIL(&vs->vs_lines, c, vc_le);
	vs->vs_nconns++;
	return c;
}

/* Unlinks <c> from everything, closes its socket, frees it. */
void
vsock_host_conn_free(struct vsock_conn *c)
{
	struct vsock		*vs = c->vc_vs;
	struct vsock_conn	**pp;

	if (c->vc_hashed) {
		pp = &vs->vs_hash[vsock_host_hash(c->vc_lport, c->vc_pport)];
		for (; *pp != NULL; pp = &(*pp)->vc_hnext)
			if (*pp == c) {
				*pp = c->vc_hnext;
				break;
			}
	} else
		TAILQ_REMOVE(&vs->vs_lines, c, vc_le);
	if (c->vc_onrxq)
		TAILQ_REMOVE(&vs->vs_rxq, c, vc_rxe);
	if (c->vc_ontimed)
		TAILQ_REMOVE(&vs->vs_timed, c, vc_te);
	if (c->vc_polled)
		(void)loop_del(vs->vs_loop, c->vc_fd);
	close(c->vc_fd);
	free(c->vc_buf);
	c->vc_magic = 0;
	vs->vs_nconns--;
	free(c);
	if (vs->vs_lpaused && loop_mod(vs->vs_loop, vs->vs_lfd, EPOLLIN) == 0)
		vs->vs_lpaused = 0;
}

/* Tells the guest the stream is gone, and forgets it. */
void
vsock_host_conn_reset(struct vsock_conn *c)
{
	if (c->vc_state != VSOCK_LINE)
		vsock_rst_queue(c->vc_vs, c->vc_lport, c->vc_pport);
	vsock_host_conn_free(c);
}

static unsigned
vsock_host_hash(uint32_t lport, uint32_t pport)
{
	return (lport * 2654435761U ^ pport) % VSOCK_BUCKETS;
}

struct vsock_conn *
vsock_host_lookup(struct vsock *vs, uint32_t lport, uint32_t pport)
{
	struct vsock_conn	*c;

	for (c = vs->vs_hash[vsock_host_hash(lport, pport)]; c != NULL;
	    c = c->vc_hnext)
		if (c->vc_lport == lport && c->vc_pport == pport)
			return c;
	return NULL;
}

/* Moves <c> from vs_lines to the table, once its ports are known. */
static void
vsock_host_insert(struct vsock_conn *c)
{
	struct vsock		*vs = c->vc_vs;
	struct vsock_conn	**head;

	ASSERT(!c->vc_hashed);
	TAILQ_REMOVE(&vs->vs_lines, c, vc_le);
	head = &vs->vs_hash[vsock_host_hash(c->vc_lport, c->vc_pport)];
	c->vc_hnext = *head;
	*head = c;
	c->vc_hashed = 1;
}

/* Arms a deadline <ms> from now, or clears it for 0. */
void
vsock_host_deadline(struct vsock_conn *c, unsigned ms)
{
	struct vsock	*vs = c->vc_vs;

	if (c->vc_ontimed) {
		TAILQ_REMOVE(&vs->vs_timed, c, vc_te);
		c->vc_ontimed = 0;
	}
	if (ms != 0) {
		c->vc_deadline = mtime_now_ms() + ms;
		TAILQ_INSERT_TAIL(&vs->vs_timed, c, vc_te);
		c->vc_ontimed = 1;
	}
	vsock_host_timer_update(vs);
}

/*
 * Recomputes what <c> waits for after any change: the socket events it
 * needs and whether it owes the guest a packet.  Reading is enabled only
 * until the socket is known to be readable; the data is then read only
 * straight into an rx buffer the guest has credit for, which is what
 * keeps host->guest buffering at zero.
 */
void
vsock_host_sched(struct vsock_conn *c)
{
	struct vsock	*vs = c->vc_vs;
	uint32_t	 ev = 0;
	int		 data, want;

	if (c->vc_state == VSOCK_LINE)
		ev = EPOLLIN;
	if (c->vc_state == VSOCK_OPEN && !c->vc_eof && !c->vc_readable &&
	    !(c->vc_peer_shut & VSOCK_SHUT_RCV))
		ev |= EPOLLIN;
	if (c->vc_blen != 0)
		ev |= EPOLLOUT;
	if (c->vc_polled && ev != c->vc_events &&
	    loop_mod(vs->vs_loop, c->vc_fd, ev) == 0)
		c->vc_events = ev;

	data = c->vc_state == VSOCK_OPEN && c->vc_readable &&
	    !(c->vc_peer_shut & VSOCK_SHUT_RCV);
	if (data && vsock_conn_credit(c) == 0) {
		data = 0;
		/* Ask once; the guest's next header settles it. */
		if (!c->vc_credit_asked) {
			c->vc_credit_asked = 1;
			c->vc_pend |= VSOCK_P_CREDIT_REQUEST;
		}
	}
	want = c->vc_pend != 0 || data;
	if (want && !c->vc_onrxq) {
		TAILQ_INSERT_TAIL(&vs->vs_rxq, c, vc_rxe);
		c->vc_onrxq = 1;
	} else if (!want && c->vc_onrxq) {
		TAILQ_REMOVE(&vs->vs_rxq, c, vc_rxe);
		c->vc_onrxq = 0;
	}
}

static void
vsock_host_conn_cb(int fd, uint32_t revents, void *arg)
{
	struct vsock_conn	*c = arg;
	struct vsock		*vs = c->vc_vs;

	(void)fd;
	ASSERT(c->vc_magic == VSOCK_CONN_MAGIC);
	if (c->vc_state == VSOCK_LINE) {
		if (revents & EPOLLIN)
			vsock_host_line(c);
		else
			vsock_host_conn_free(c);
		goto out;
	}
	if (revents & (EPOLLERR | EPOLLHUP)) {
		if (c->vc_state == VSOCK_REQUEST) {
			vsock_host_conn_reset(c);
			goto out;
		}
		/*
		 * The client is gone both ways, and the loop would say so
		 * forever: stop watching, let the guest have what the client
		 * left, then shut the stream down.
		 */
		(void)loop_del(vs->vs_loop, c->vc_fd);
		c->vc_polled = 0;
		c->vc_hup = 1;
		c->vc_readable = !c->vc_eof;
		c->vc_blen = 0;		/* nobody will read it */
		if (vsock_host_drained(c) == 0)
			vsock_host_sched(c);
		goto out;
	}
	if (revents & EPOLLIN)
		c->vc_readable = 1;
	if (revents & EPOLLOUT) {
		if (vsock_host_flush(c) == -1) {
			vsock_host_conn_reset(c);
			goto out;
		}
		if (vsock_host_drained(c) == -1)
			goto out;
	}
	vsock_host_sched(c);
out:
	vsock_rx_run(vs);
}

/*
 * Reads the host client's "CONNECT <port>\n" without reading past it:
 * whatever follows is already stream data for the guest.
 */
static void
vsock_host_line(struct vsock_conn *c)
{
	struct vsock	*vs = c->vc_vs;
	char		*p = c->vc_line + c->vc_linelen, *nl, *end;
	size_t		 room = sizeof(c->vc_line) - 1 - c->vc_linelen;
	ssize_t		 n;
	unsigned long	 port;

	n = recv(c->vc_fd, p, room, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto bad;
	if ((nl = memchr(p, '\n', n)) != NULL)
		n = nl - p + 1;
	if (read(c->vc_fd, p, n) != n)
		goto bad;
	c->vc_linelen += n;
	c->vc_line[c->vc_linelen] = '\0';
	if (nl == NULL) {
		if (c->vc_linelen == sizeof(c->vc_line) - 1)
			goto bad;		/* too long */
		return;
	}
	if (strncmp(c->vc_line, "CONNECT ", 8) != 0 || c->vc_line[8] < '0' ||
	    c->vc_line[8] > '9')
		goto bad;
	errno = 0;
	port = strtoul(c->vc_line + 8, &end, 10);
	if (errno != 0 || port > UINT32_MAX || strcmp(end, "\n") != 0)
		goto bad;

	/* A host port no stream to <port> uses, counting up (Firecracker). */
	do {
		c->vc_lport = vs->vs_next_port++;
		if (vs->vs_next_port == UINT32_MAX)
			vs->vs_next_port = VSOCK_PORT_FIRST;
	} while (vsock_host_lookup(vs, c->vc_lport, (uint32_t)port) != NULL);
	c->vc_pport = (uint32_t)port;
	vsock_host_insert(c);
	c->vc_state = VSOCK_REQUEST;
	c->vc_pend |= VSOCK_P_REQUEST;
	vsock_host_deadline(c, vs->vs_params.vp_connect_ms);
	vsock_host_sched(c);
	return;
bad:
	log_debug("vsock: host client: bad or missing CONNECT line");
	vsock_host_conn_free(c);
}

/* Counts <n> guest bytes as delivered; owes a credit update past 1/4. */
void
vsock_host_consumed(struct vsock_conn *c, uint32_t n)
{
	c->vc_fwd_cnt += n;
	if (c->vc_fwd_cnt - c->vc_fwd_adv >= c->vc_vs->vs_params.vp_buf_alloc /
	    4)
		c->vc_pend |= VSOCK_P_CREDIT_UPDATE;
}

/* Writes held guest data to the socket.  -1 when the socket failed. */
static int
vsock_host_flush(struct vsock_conn *c)
{
	uint32_t	 size = c->vc_vs->vs_params.vp_buf_alloc, n;
	ssize_t		 w;

	while (c->vc_blen != 0) {
		n = size - c->vc_bhead;
		if (n > c->vc_blen)
			n = c->vc_blen;
		w = send(c->vc_fd, c->vc_buf + c->vc_bhead, n,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		c->vc_bhead = (c->vc_bhead + (uint32_t)w) % size;
		c->vc_blen -= (uint32_t)w;
		vsock_host_consumed(c, (uint32_t)w);
	}
	return 0;
}

/*
 * What follows once the guest->host data is all out: the half-close the
 * guest asked for, or the end of a stream the guest closed.  -1 when <c>
 * was freed.
 */
int
vsock_host_drained(struct vsock_conn *c)
{
	if (c->vc_blen != 0 || c->vc_state != VSOCK_OPEN)
		return 0;
	free(c->vc_buf);
	c->vc_buf = NULL;
	c->vc_bhead = 0;
	if ((c->vc_peer_shut & VSOCK_SHUT_SEND) && !c->vc_wr_shut &&
	    !c->vc_hup) {
		(void)shutdown(c->vc_fd, SHUT_WR);
		c->vc_wr_shut = 1;
	}
	/* The guest closed: it waits for our RST (Linux does the same). */
	if (c->vc_peer_shut == VSOCK_SHUT_BOTH) {
		vsock_host_conn_reset(c);
		return -1;
	}
	/*
	 * The client is gone and has nothing more for the guest (it sent EOF
	 * before, or the guest takes no data): end the stream both ways.
	 */
	if (c->vc_hup && (c->vc_eof || (c->vc_peer_shut & VSOCK_SHUT_RCV))) {
		c->vc_shut_send = VSOCK_SHUT_BOTH;
		c->vc_pend |= VSOCK_P_SHUTDOWN;
		c->vc_state = VSOCK_CLOSING;
		vsock_host_deadline(c, c->vc_vs->vs_params.vp_close_ms);
	}
	return 0;
}

static void
vsock_host_accept_cb(int fd, uint32_t revents, void *arg)
{
	struct vsock		*vs = arg;
	struct vsock_conn	*c;
	int			 cfd, i;

	(void)revents;
	for (i = 0; i < VSOCK_ACCEPTS_MAX; i++) {
		cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* Level-triggered: stop until a stream ends. */
				log_warn("vsock: %s: accept", vs->vs_path);
				if (loop_mod(vs->vs_loop, fd, 0) == 0)
					vs->vs_lpaused = 1;
			}
			break;
		}
		if (vs->vs_nconns >= vs->vs_params.vp_conns_max) {
			log_debug("vsock: %s: too many streams",
			    vs->vs_path);
			close(cfd);
			continue;
		}
		if ((c = vsock_host_conn_new(vs, cfd, VSOCK_LINE)) == NULL) {
			close(cfd);
			continue;
		}
		vsock_host_deadline(c, vs->vs_params.vp_line_ms);
	}
}

/* Runs the timer while some stream has a deadline. */
static void
vsock_host_timer_update(struct vsock *vs)
{
	struct itimerspec	 its;
	unsigned		 tick;
	int			 want = !TAILQ_EMPTY(&vs->vs_timed);

	if (want == vs->vs_tarmed)
		return;
	memset(&its, 0, sizeof(its));
	if (want) {
		/* A quarter of the shortest timeout is precise enough. */
		tick = vs->vs_params.vp_connect_ms;
		if (tick > vs->vs_params.vp_line_ms)
			tick = vs->vs_params.vp_line_ms;
		if (tick > vs->vs_params.vp_close_ms)
			tick = vs->vs_params.vp_close_ms;
		tick /= 4;
		if (tick == 0)
			tick = 1;
		if (tick > 250)
			tick = 250;
		its.it_value.tv_sec = its.it_interval.tv_sec = tick / 1000;
		its.it_value.tv_nsec = its.it_interval.tv_nsec =
		    (long)(tick % 1000) * 1000000;
	}
	if (timerfd_settime(vs->vs_tfd, 0, &its, NULL) == -1) {
		log_warn("vsock: timerfd_settime");
		return;
	}
	vs->vs_tarmed = want;
}

static void
vsock_host_timer_cb(int fd, uint32_t revents, void *arg)
{
	struct vsock		*vs = arg;
	struct vsock_conn	*c, *next;
	uint64_t		 v, now = mtime_now_ms();

	(void)revents;
	(void)!read(fd, &v, sizeof(v));
	for (c = TAILQ_FIRST(&vs->vs_timed); c != NULL; c = next) {
		next = TAILQ_NEXT(c, vc_te);
		if (c->vc_deadline > now)
			continue;
		log_debug("vsock: stream %u:%u: timed out in state %d",
		    c->vc_lport, c->vc_pport, c->vc_state);
		vsock_host_conn_reset(c);
	}
	vsock_host_timer_update(vs);
	vsock_rx_run(vs);
}

/* The guest connects to host port dst_port: <uds_path>_<port>. */
void
vsock_host_dial(struct vsock *vs, const struct vsock_hdr *h)
{
	struct sockaddr_un	 sun;
	struct vsock_conn	*c;
	int			 fd, n;

	if (vs->vs_nconns >= vs->vs_params.vp_conns_max)
		goto refuse;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s_%u",
	    vs->vs_path, h->vh_dst_port);
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path))
		goto refuse;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		goto refuse;
	/* A Unix connect never waits: it works, or fails (EAGAIN: backlog). */
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (c = vsock_host_conn_new(vs, fd, VSOCK_OPEN)) == NULL) {
		log_debug("vsock: guest connect to %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		goto refuse;
	}
	c->vc_lport = h->vh_dst_port;
	c->vc_pport = h->vh_src_port;
	vsock_host_insert(c);
	c->vc_peer_buf_alloc = h->vh_buf_alloc;
	c->vc_peer_fwd_cnt = h->vh_fwd_cnt;
	c->vc_pend |= VSOCK_P_RESPONSE;
	vsock_host_sched(c);
	return;
refuse:
	vsock_rst_queue(vs, h->vh_dst_port, h->vh_src_port);
}
