/*
 * vmm/vsock.c: the virtio-vsock device (virtio 1.2 §5.10), streams only,
 * bridged to Unix sockets the Firecracker way.
 *
 * Data model: one struct vsock_conn per stream, found by (local port,
 * peer port) in a hash table; "local" is the host side.  A stream owes
 * the guest packets (control ops in vc_pend, data when its socket is
 * readable and the guest has credit); such streams wait on vs_rxq, and
 * vsock_rx_run() turns them into packets as long as the guest gives us rx
 * buffers, one packet per stream per turn.  RSTs for packets that match
 * no stream wait in a small ring.  Guest->host data is written to the
 * socket at once; what the socket does not take is held in a per-stream
 * ring of at most vp_buf_alloc bytes, which is exactly the credit we
 * advertise, so a guest that sends more is reset.  Host->guest data is
 * read only when it can go straight into an rx buffer.
 *
 * Everything runs on the device thread (struct loop); the transport calls
 * in through vsock_mmio_ops.  The guest is hostile: every header is
 * checked and anything unexpected gets an RST or is dropped.
 */
#include <sys/epoll.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/mtime.h"
#include "vmm/loop.h"
#include "vmm/mmio.h"
#include "vmm/vq.h"
#include "vmm/vsock.h"

#define VSOCK_Q_RX		0
#define VSOCK_Q_TX		1
#define VSOCK_Q_EVENT		2
#define VSOCK_NQUEUES		3
#define VSOCK_QUEUE_MAX		256

#define VSOCK_TYPE_STREAM	1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST,
	VSOCK_OP_RESPONSE,
	VSOCK_OP_RST,
	VSOCK_OP_SHUTDOWN,
	VSOCK_OP_RW,
	VSOCK_OP_CREDIT_UPDATE,
	VSOCK_OP_CREDIT_REQUEST,
};

#define VSOCK_SHUT_RCV		1
#define VSOCK_SHUT_SEND		2
#define VSOCK_SHUT_BOTH		3

#define VSOCK_HDR_SIZE		44
#define VSOCK_PKT_MAX		65536	/* payload per packet, as Linux */
#define VSOCK_BUCKETS		1024
#define VSOCK_RSTS_MAX		256
#define VSOCK_LINE_MAX		32
#define VSOCK_PORT_FIRST	(1U << 30)	/* as Firecracker */
#define VSOCK_ACCEPTS_MAX	16	/* per wake-up */

#define VSOCK_CONN_MAGIC	0x450c4c0e

/* §5.10.6: every field little-endian. */
struct vsock_hdr {
	uint64_t	 vh_src_cid;
	uint64_t	 vh_dst_cid;
	uint32_t	 vh_src_port;
	uint32_t	 vh_dst_port;
	uint32_t	 vh_len;
	uint16_t	 vh_type;
	uint16_t	 vh_op;
	uint32_t	 vh_flags;
	uint32_t	 vh_buf_alloc;
	uint32_t	 vh_fwd_cnt;
} __attribute__((packed));

enum vsock_state {
	VSOCK_LINE = 0,		/* host client: reading "CONNECT <port>\n" */
	VSOCK_REQUEST,		/* host client: REQUEST sent, awaiting reply */
	VSOCK_OPEN,
	VSOCK_CLOSING,		/* SHUTDOWN both sent, awaiting the RST */
};

/* Control packets a stream owes the guest. */
#define VSOCK_P_REQUEST		0x01
#define VSOCK_P_RESPONSE	0x02
#define VSOCK_P_CREDIT_UPDATE	0x04
#define VSOCK_P_CREDIT_REQUEST	0x08
#define VSOCK_P_SHUTDOWN	0x10

/* One stream; owned by its struct vsock, in the hash table. */
struct vsock_conn {
	unsigned		 vc_magic;
	struct vsock		*vc_vs;
	struct vsock_conn	*vc_hnext;
	TAILQ_ENTRY(vsock_conn)	 vc_rxe;	/* on vs_rxq */
	TAILQ_ENTRY(vsock_conn)	 vc_te;		/* on vs_timed */
	TAILQ_ENTRY(vsock_conn)	 vc_le;		/* on vs_lines */
	int			 vc_hashed;	/* else on vs_lines */
	int			 vc_onrxq;
	int			 vc_ontimed;
	uint64_t		 vc_deadline;	/* ms, mtime */

	enum vsock_state	 vc_state;
	uint32_t		 vc_lport;
	uint32_t		 vc_pport;
	int			 vc_fd;
	int			 vc_polled;	/* fd is in the loop */
	uint32_t		 vc_events;	/* what we asked the loop for */
	unsigned		 vc_pend;	/* VSOCK_P_* */
	uint32_t		 vc_shut_send;	/* flags of the owed SHUTDOWN */

	/* Host -> guest. */
	uint32_t		 vc_peer_buf_alloc;
	uint32_t		 vc_peer_fwd_cnt;
	uint32_t		 vc_tx_cnt;
	int			 vc_readable;	/* socket may hold data */
	int			 vc_eof;	/* socket read returned 0 */
	int			 vc_hup;	/* socket peer is gone */
	int			 vc_credit_asked;

	/* Guest -> host. */
	uint32_t		 vc_peer_shut;	/* VSOCK_SHUT_* the guest sent */
	uint32_t		 vc_fwd_cnt;	/* bytes written to the socket */
	uint32_t		 vc_fwd_adv;	/* vc_fwd_cnt last told the guest */
	uint8_t			*vc_buf;	/* vp_buf_alloc bytes, lazily */
	uint32_t		 vc_bhead;
	uint32_t		 vc_blen;
	int			 vc_wr_shut;	/* did shutdown(SHUT_WR) */

	char			 vc_line[VSOCK_LINE_MAX];
	size_t			 vc_linelen;
};

struct vsock_rst {
	uint32_t	 vr_lport;
	uint32_t	 vr_pport;
};

struct vsock {
	struct loop		*vs_loop;
	struct gmem		*vs_gm;
	uint64_t		 vs_cid;
	char			*vs_path;
	int			 vs_lfd;	/* listener */
	int			 vs_tfd;	/* timerfd */
	int			 vs_tarmed;
	int			 vs_lpaused;	/* accept hit the fd limit */
	struct vsock_params	 vs_params;

	struct mmio_dev		*vs_md;		/* set while active */
	struct vq		*vs_vqs;

	struct vsock_conn	*vs_hash[VSOCK_BUCKETS];
	unsigned		 vs_nconns;
	uint32_t		 vs_next_port;
	TAILQ_HEAD(, vsock_conn) vs_rxq;
	TAILQ_HEAD(, vsock_conn) vs_timed;
	TAILQ_HEAD(, vsock_conn) vs_lines;	/* no ports yet */
	struct vsock_rst	 vs_rsts[VSOCK_RSTS_MAX];
	unsigned		 vs_rst_head;
	unsigned		 vs_nrsts;

	struct vq_chain		 vs_txc;
	struct vq_chain		 vs_rxc;
	uint8_t			 vs_bounce[VSOCK_PKT_MAX];
};

static void	vsock_config_read(void *, uint32_t, void *, uint32_t);
static void	vsock_activate(void *, struct mmio_dev *, struct vq *,
		    uint64_t);
static void	vsock_notify(void *, unsigned);
static void	vsock_reset(void *);

static struct vsock_conn *vsock_conn_new(struct vsock *, int,
		    enum vsock_state);
static void	vsock_conn_free(struct vsock_conn *);
static void	vsock_conn_reset(struct vsock_conn *);
static unsigned	vsock_hash(uint32_t, uint32_t);
static struct vsock_conn *vsock_lookup(struct vsock *, uint32_t, uint32_t);
static void	vsock_hash_insert(struct vsock_conn *);
static void	vsock_conn_sched(struct vsock_conn *);
static void	vsock_conn_deadline(struct vsock_conn *, unsigned);
static uint32_t	vsock_conn_credit(const struct vsock_conn *);
static void	vsock_conn_cb(int, uint32_t, void *);
static void	vsock_conn_line(struct vsock_conn *);
static void	vsock_conn_consumed(struct vsock_conn *, uint32_t);
static int	vsock_conn_flush(struct vsock_conn *);
static int	vsock_conn_drained(struct vsock_conn *);
static int	vsock_conn_rx(struct vsock_conn *, struct vq_chain *);
static void	vsock_listen_cb(int, uint32_t, void *);
static void	vsock_timer_cb(int, uint32_t, void *);
static void	vsock_timer_update(struct vsock *);
static void	vsock_rst_queue(struct vsock *, uint32_t, uint32_t);
static void	vsock_rx_run(struct vsock *);
static void	vsock_tx_run(struct vsock *);
static void	vsock_tx_packet(struct vsock *, struct vq_chain *);
static void	vsock_tx_conn(struct vsock_conn *, const struct vsock_hdr *,
		    struct vq_chain *);
static int	vsock_tx_rw(struct vsock_conn *, struct vq_chain *, uint32_t);
static void	vsock_guest_connect(struct vsock *, const struct vsock_hdr *);
static void	vsock_hdr_fill(struct vsock *, struct vsock_hdr *, uint32_t,
		    uint32_t, enum vsock_op, uint32_t, uint32_t);
static void	vsock_conn_hdr(struct vsock_conn *, struct vsock_hdr *,
		    enum vsock_op, uint32_t, uint32_t);
static void	vsock_drop_all(struct vsock *);

const struct mmio_dev_ops vsock_mmio_ops = {
	.mo_device_id = VSOCK_DEVICE_ID,
	.mo_features = 0,
	.mo_nqueues = VSOCK_NQUEUES,
	.mo_queue_max = VSOCK_QUEUE_MAX,
	.mo_config_size = 8,
	.mo_config_read = vsock_config_read,
	.mo_activate = vsock_activate,
	.mo_notify = vsock_notify,
	.mo_reset = vsock_reset,
};

void
vsock_params_default(struct vsock_params *vp)
{
	vp->vp_connect_ms = 2000;
	vp->vp_line_ms = 5000;
	vp->vp_close_ms = 2000;
	vp->vp_buf_alloc = 64 * 1024;
	vp->vp_conns_max = 1024;
}

uint32_t
vsock_credit(uint32_t buf_alloc, uint32_t fwd_cnt, uint32_t tx_cnt)
{
	uint32_t	 in_flight = tx_cnt - fwd_cnt;	/* mod 2^32 */

	if (in_flight > buf_alloc)
		return 0;
	return buf_alloc - in_flight;
}

struct vsock *
vsock_new(struct loop *lp, struct gmem *gm, uint64_t guest_cid,
    const char *uds_path)
{
	struct sockaddr_un	 sun;
	struct vsock		*vs;

	/* 0-2 are reserved and -1 means "any" (§5.10.4). */
	if (guest_cid < 3 || guest_cid >= 0xffffffffULL ||
	    strlen(uds_path) >= sizeof(sun.sun_path)) {
		errno = EINVAL;
		return NULL;
	}
	if ((vs = calloc(1, sizeof(*vs))) == NULL)
		return NULL;
	vs->vs_loop = lp;
	vs->vs_gm = gm;
	vs->vs_cid = guest_cid;
	vs->vs_lfd = vs->vs_tfd = -1;
	vs->vs_next_port = VSOCK_PORT_FIRST;
	vsock_params_default(&vs->vs_params);
	TAILQ_INIT(&vs->vs_rxq);
	TAILQ_INIT(&vs->vs_timed);
	TAILQ_INIT(&vs->vs_lines);
	if ((vs->vs_path = strdup(uds_path)) == NULL)
		goto fail;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, uds_path, strlen(uds_path) + 1);
	if ((vs->vs_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		goto fail;
	if (unlink(uds_path) == -1 && errno != ENOENT)
		goto fail;
	if (bind(vs->vs_lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(vs->vs_lfd, 128) == -1)
		goto fail;
	if (loop_add(lp, vs->vs_lfd, EPOLLIN, vsock_listen_cb, vs) == -1)
		goto fail;
	if ((vs->vs_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		goto fail;
	if (loop_add(lp, vs->vs_tfd, EPOLLIN, vsock_timer_cb, vs) == -1)
		goto fail;
	return vs;
fail:
	vsock_free(vs);
	return NULL;
}

void
vsock_free(struct vsock *vs)
{
	int	 saved = errno;

	if (vs == NULL)
		return;
	vsock_drop_all(vs);
	if (vs->vs_lfd != -1) {
		(void)loop_del(vs->vs_loop, vs->vs_lfd);
		close(vs->vs_lfd);
		/* Only ours to remove if we got as far as listening. */
		if (vs->vs_tfd != -1)
			unlink(vs->vs_path);
	}
	if (vs->vs_tfd != -1) {
		(void)loop_del(vs->vs_loop, vs->vs_tfd);
		close(vs->vs_tfd);
	}
	free(vs->vs_path);
	free(vs);
	errno = saved;
}

int
vsock_set_params(struct vsock *vs, const struct vsock_params *vp)
{
	if (vp->vp_connect_ms == 0 || vp->vp_line_ms == 0 ||
	    vp->vp_close_ms == 0 || vp->vp_buf_alloc == 0 ||
	    vp->vp_buf_alloc >= (1U << 30) || vp->vp_conns_max == 0) {
		errno = EINVAL;
		return -1;
	}
	vs->vs_params = *vp;
	return 0;
}

unsigned
vsock_nconns(const struct vsock *vs)
{
	return vs->vs_nconns;
}

/* Every stream goes, host sockets closed: a reset or the end. */
static void
vsock_drop_all(struct vsock *vs)
{
	struct vsock_conn	*c;
	unsigned		 i;

	for (i = 0; i < VSOCK_BUCKETS; i++)
		while ((c = vs->vs_hash[i]) != NULL)
			vsock_conn_free(c);
	while ((c = TAILQ_FIRST(&vs->vs_lines)) != NULL)
		vsock_conn_free(c);
	vs->vs_nrsts = 0;
}

/* ---- Transport callbacks. */

static void
vsock_config_read(void *dev, uint32_t off, void *data, uint32_t len)
{
	struct vsock	*vs = dev;
	uint64_t	 cid = htole64(vs->vs_cid);

	/* The transport checked off + len <= 8. */
	memcpy(data, (uint8_t *)&cid + off, len);
}

static void
vsock_activate(void *dev, struct mmio_dev *md, struct vq *vqs,
    uint64_t features)
{
	struct vsock	*vs = dev;

	(void)features;
	vs->vs_md = md;
	vs->vs_vqs = vqs;
	log_debug("vsock: guest cid %llu: driver ready",
	    (unsigned long long)vs->vs_cid);
}

static void
vsock_notify(void *dev, unsigned q)
{
	struct vsock	*vs = dev;

	if (q == VSOCK_Q_TX)
		vsock_tx_run(vs);
	/* New rx buffers, or replies the tx packets asked for. */
	if (q == VSOCK_Q_TX || q == VSOCK_Q_RX)
		vsock_rx_run(vs);
}

static void
vsock_reset(void *dev)
{
	struct vsock	*vs = dev;

	/*
	 * The guest forgot every stream; so do we, and the host clients see
	 * their sockets close.
	 */
	vsock_drop_all(vs);
	vs->vs_md = NULL;
	vs->vs_vqs = NULL;
	log_debug("vsock: guest cid %llu: device reset",
	    (unsigned long long)vs->vs_cid);
}

/* ---- Streams. */

static struct vsock_conn *
vsock_conn_new(struct vsock *vs, int fd, enum vsock_state state)
{
	struct vsock_conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->vc_magic = VSOCK_CONN_MAGIC;
	c->vc_vs = vs;
	c->vc_fd = fd;
	c->vc_state = state;
	c->vc_events = state == VSOCK_LINE ? EPOLLIN : 0;
	if (loop_add(vs->vs_loop, fd, c->vc_events, vsock_conn_cb, c) == -1) {
		free(c);
		return NULL;
	}
	c->vc_polled = 1;
	TAILQ_INSERT_TAIL(&vs->vs_lines, c, vc_le);
	vs->vs_nconns++;
	return c;
}

/* Unlinks <c> from everything, closes its socket, frees it. */
static void
vsock_conn_free(struct vsock_conn *c)
{
	struct vsock		*vs = c->vc_vs;
	struct vsock_conn	**pp;

	if (c->vc_hashed) {
		pp = &vs->vs_hash[vsock_hash(c->vc_lport, c->vc_pport)];
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
static void
vsock_conn_reset(struct vsock_conn *c)
{
	if (c->vc_state != VSOCK_LINE)
		vsock_rst_queue(c->vc_vs, c->vc_lport, c->vc_pport);
	vsock_conn_free(c);
}


static unsigned
vsock_hash(uint32_t lport, uint32_t pport)
{
	return (lport * 2654435761U ^ pport) % VSOCK_BUCKETS;
}

static struct vsock_conn *
vsock_lookup(struct vsock *vs, uint32_t lport, uint32_t pport)
{
	struct vsock_conn	*c;

	for (c = vs->vs_hash[vsock_hash(lport, pport)]; c != NULL;
	    c = c->vc_hnext)
		if (c->vc_lport == lport && c->vc_pport == pport)
			return c;
	return NULL;
}

/* Moves <c> from vs_lines to the table, once its ports are known. */
static void
vsock_hash_insert(struct vsock_conn *c)
{
	struct vsock		*vs = c->vc_vs;
	struct vsock_conn	**head;

	ASSERT(!c->vc_hashed);
	TAILQ_REMOVE(&vs->vs_lines, c, vc_le);
	head = &vs->vs_hash[vsock_hash(c->vc_lport, c->vc_pport)];
	c->vc_hnext = *head;
	*head = c;
	c->vc_hashed = 1;
}

static uint32_t
vsock_conn_credit(const struct vsock_conn *c)
{
	return vsock_credit(c->vc_peer_buf_alloc, c->vc_peer_fwd_cnt,
	    c->vc_tx_cnt);
}

/* Arms a deadline <ms> from now, or clears it for 0. */
static void
vsock_conn_deadline(struct vsock_conn *c, unsigned ms)
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
	vsock_timer_update(vs);
}

/*
 * Recomputes what <c> waits for after any change: the socket events it
 * needs and whether it owes the guest a packet.  Reading is enabled only
 * until the socket is known to be readable; the data is then read only
 * straight into an rx buffer the guest has credit for, which is what
 * keeps host->guest buffering at zero.
 */
static void
vsock_conn_sched(struct vsock_conn *c)
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
vsock_conn_cb(int fd, uint32_t revents, void *arg)
{
	struct vsock_conn	*c = arg;
	struct vsock		*vs = c->vc_vs;

	(void)fd;
	ASSERT(c->vc_magic == VSOCK_CONN_MAGIC);
	if (c->vc_state == VSOCK_LINE) {
		if (revents & EPOLLIN)
			vsock_conn_line(c);
		else
			vsock_conn_free(c);
		goto out;
	}
	if (revents & (EPOLLERR | EPOLLHUP)) {
		if (c->vc_state == VSOCK_REQUEST) {
			vsock_conn_reset(c);
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
		if (vsock_conn_drained(c) == 0)
			vsock_conn_sched(c);
		goto out;
	}
	if (revents & EPOLLIN)
		c->vc_readable = 1;
	if (revents & EPOLLOUT) {
		if (vsock_conn_flush(c) == -1) {
			vsock_conn_reset(c);
			goto out;
		}
		if (vsock_conn_drained(c) == -1)
			goto out;
	}
	vsock_conn_sched(c);
out:
	vsock_rx_run(vs);
}

/*
 * Reads the host client's "CONNECT <port>\n" without reading past it:
 * whatever follows is already stream data for the guest.
 */
static void
vsock_conn_line(struct vsock_conn *c)
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
	} while (vsock_lookup(vs, c->vc_lport, (uint32_t)port) != NULL);
	c->vc_pport = (uint32_t)port;
	vsock_hash_insert(c);
	c->vc_state = VSOCK_REQUEST;
	c->vc_pend |= VSOCK_P_REQUEST;
	vsock_conn_deadline(c, vs->vs_params.vp_connect_ms);
	vsock_conn_sched(c);
	return;
bad:
	log_debug("vsock: host client: bad or missing CONNECT line");
	vsock_conn_free(c);
}

/* Counts <n> guest bytes as delivered; owes a credit update past 1/4. */
static void
vsock_conn_consumed(struct vsock_conn *c, uint32_t n)
{
	c->vc_fwd_cnt += n;
	if (c->vc_fwd_cnt - c->vc_fwd_adv >= c->vc_vs->vs_params.vp_buf_alloc /
	    4)
		c->vc_pend |= VSOCK_P_CREDIT_UPDATE;
}

/* Writes held guest data to the socket.  -1 when the socket failed. */
static int
vsock_conn_flush(struct vsock_conn *c)
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
		vsock_conn_consumed(c, (uint32_t)w);
	}
	return 0;
}

/*
 * What follows once the guest->host data is all out: the half-close the
 * guest asked for, or the end of a stream the guest closed.  -1 when <c>
 * was freed.
 */
static int
vsock_conn_drained(struct vsock_conn *c)
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
		vsock_conn_reset(c);
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
		vsock_conn_deadline(c, c->vc_vs->vs_params.vp_close_ms);
	}
	return 0;
}

/*
 * Fills rx chain <ch> with the next packet <c> owes the guest.  Returns
 * its length, or 0 when <c> owes nothing after all.  Control before data
 * for REQUEST and RESPONSE, data before the rest, so a SHUTDOWN follows
 * the last byte.  Reschedules or frees <c>; the caller must not use it.
 */
static int
vsock_conn_rx(struct vsock_conn *c, struct vq_chain *ch)
{
	struct vsock	*vs = c->vc_vs;
	struct vsock_hdr h;
	uint32_t	 room = ch->vc_wlen - VSOCK_HDR_SIZE, max, flags = 0;
	enum vsock_op	 op;
	ssize_t		 n;

	if (c->vc_onrxq) {
		/* Round robin: back of the queue once served. */
		TAILQ_REMOVE(&vs->vs_rxq, c, vc_rxe);
		c->vc_onrxq = 0;
	}
	if (c->vc_pend & (VSOCK_P_REQUEST | VSOCK_P_RESPONSE)) {
		op = c->vc_pend & VSOCK_P_REQUEST ? VSOCK_OP_REQUEST :
		    VSOCK_OP_RESPONSE;
		c->vc_pend &= ~(VSOCK_P_REQUEST | VSOCK_P_RESPONSE);
		goto control;
	}
	max = vsock_conn_credit(c);
	if (c->vc_state == VSOCK_OPEN && c->vc_readable &&
	    !(c->vc_peer_shut & VSOCK_SHUT_RCV) && max != 0 && room != 0) {
		if (max > room)
			max = room;
		if (max > VSOCK_PKT_MAX)
			max = VSOCK_PKT_MAX;
		n = recv(c->vc_fd, vs->vs_bounce, max, MSG_DONTWAIT);
		if (n > 0) {
			/* Short: drained; the loop says when there is more. */
			if ((uint32_t)n < max && !c->vc_hup)
				c->vc_readable = 0;
			vsock_conn_hdr(c, &h, VSOCK_OP_RW, 0, (uint32_t)n);
			if (vq_chain_write(&vs->vs_vqs[VSOCK_Q_RX], ch,
			    VSOCK_HDR_SIZE, vs->vs_bounce, (uint32_t)n) != n)
				mmio_needs_reset(vs->vs_md);
			c->vc_tx_cnt += (uint32_t)n;
			goto out;
		}
		c->vc_readable = 0;
		if (n == 0) {
			c->vc_eof = 1;
			op = VSOCK_OP_SHUTDOWN;
			flags = VSOCK_SHUT_SEND;
			if (c->vc_hup) {
				flags = VSOCK_SHUT_BOTH;
				c->vc_state = VSOCK_CLOSING;
				vsock_conn_deadline(c, vs->vs_params.vp_close_ms);
			}
			goto control;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			vsock_conn_hdr(c, &h, VSOCK_OP_RST, 0, 0);
			if (vq_chain_write(&vs->vs_vqs[VSOCK_Q_RX], ch, 0, &h,
			    sizeof(h)) != sizeof(h))
				mmio_needs_reset(vs->vs_md);
			vsock_conn_free(c);
			return VSOCK_HDR_SIZE;
		}
	}
	if (c->vc_pend & VSOCK_P_CREDIT_UPDATE)
		op = VSOCK_OP_CREDIT_UPDATE;
	else if (c->vc_pend & VSOCK_P_CREDIT_REQUEST)
		op = VSOCK_OP_CREDIT_REQUEST;
	else if (c->vc_pend & VSOCK_P_SHUTDOWN) {
		op = VSOCK_OP_SHUTDOWN;
		flags = c->vc_shut_send;
	} else if (c->vc_state == VSOCK_OPEN && c->vc_readable && max != 0) {
		/* A header-only buffer: make it useful rather than spin. */
		op = VSOCK_OP_CREDIT_UPDATE;
	} else {
		vsock_conn_sched(c);
		return 0;
	}
	c->vc_pend &= ~(VSOCK_P_CREDIT_REQUEST | VSOCK_P_SHUTDOWN);
control:
	vsock_conn_hdr(c, &h, op, flags, 0);
	n = 0;
out:
	if (vq_chain_write(&vs->vs_vqs[VSOCK_Q_RX], ch, 0, &h, sizeof(h)) !=
	    sizeof(h))
		mmio_needs_reset(vs->vs_md);
	vsock_conn_sched(c);
	return VSOCK_HDR_SIZE + (int)n;
}

/* ---- Host side: the listener and the timer. */

static void
vsock_listen_cb(int fd, uint32_t revents, void *arg)
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
		if ((c = vsock_conn_new(vs, cfd, VSOCK_LINE)) == NULL) {
			close(cfd);
			continue;
		}
		vsock_conn_deadline(c, vs->vs_params.vp_line_ms);
	}
}

/* Runs the timer while some stream has a deadline. */
static void
vsock_timer_update(struct vsock *vs)
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
vsock_timer_cb(int fd, uint32_t revents, void *arg)
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
		vsock_conn_reset(c);
	}
	vsock_timer_update(vs);
	vsock_rx_run(vs);
}

/* ---- Packets. */

static void
vsock_hdr_fill(struct vsock *vs, struct vsock_hdr *h, uint32_t lport,
    uint32_t pport, enum vsock_op op, uint32_t flags, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->vh_src_cid = htole64(VSOCK_HOST_CID);
	h->vh_dst_cid = htole64(vs->vs_cid);
	h->vh_src_port = htole32(lport);
	h->vh_dst_port = htole32(pport);
	h->vh_len = htole32(len);
	h->vh_type = htole16(VSOCK_TYPE_STREAM);
	h->vh_op = htole16(op);
	h->vh_flags = htole32(flags);
}

/* Every header carries our credit, so it also settles any update owed. */
static void
vsock_conn_hdr(struct vsock_conn *c, struct vsock_hdr *h, enum vsock_op op,
    uint32_t flags, uint32_t len)
{
	vsock_hdr_fill(c->vc_vs, h, c->vc_lport, c->vc_pport, op, flags, len);
	h->vh_buf_alloc = htole32(c->vc_vs->vs_params.vp_buf_alloc);
	h->vh_fwd_cnt = htole32(c->vc_fwd_cnt);
	c->vc_fwd_adv = c->vc_fwd_cnt;
	c->vc_pend &= ~VSOCK_P_CREDIT_UPDATE;
}

static void
vsock_rst_queue(struct vsock *vs, uint32_t lport, uint32_t pport)
{
	struct vsock_rst	*r;

	if (vs->vs_md == NULL)
		return;		/* no guest to tell */
	if (vs->vs_nrsts == VSOCK_RSTS_MAX) {
		log_debug("vsock: rst to port %u dropped", pport);
		return;
	}
	r = &vs->vs_rsts[(vs->vs_rst_head + vs->vs_nrsts) % VSOCK_RSTS_MAX];
	r->vr_lport = lport;
	r->vr_pport = pport;
	vs->vs_nrsts++;
}

/*
 * Gives the guest what is owed, as long as it gives us rx buffers:
 * loose RSTs first, then one packet per stream in turn.
 */
static void
vsock_rx_run(struct vsock *vs)
{
	struct vq		*rxq;
	struct vq_chain		*ch = &vs->vs_rxc;
	struct vsock_hdr	 h;
	struct vsock_rst	*r;
	int			 len, pushed = 0, rc;

	if (vs->vs_md == NULL)
		return;
	rxq = &vs->vs_vqs[VSOCK_Q_RX];
	while (rxq->vq_ready && !rxq->vq_broken &&
	    (vs->vs_nrsts != 0 || !TAILQ_EMPTY(&vs->vs_rxq))) {
		if ((rc = vq_pop(rxq, ch)) == 0)
			break;
		if (rc == -1)
			break;
		if (ch->vc_wlen < VSOCK_HDR_SIZE)
			len = 0;	/* useless buffer: hand it back */
		else if (vs->vs_nrsts != 0) {
			r = &vs->vs_rsts[vs->vs_rst_head];
			vsock_hdr_fill(vs, &h, r->vr_lport, r->vr_pport,
			    VSOCK_OP_RST, 0, 0);
			vs->vs_rst_head = (vs->vs_rst_head + 1) %
			    VSOCK_RSTS_MAX;
			vs->vs_nrsts--;
			if (vq_chain_write(rxq, ch, 0, &h, sizeof(h)) !=
			    sizeof(h))
				break;
			len = VSOCK_HDR_SIZE;
		} else if ((len = vsock_conn_rx(TAILQ_FIRST(&vs->vs_rxq),
		    ch)) == 0) {
			vq_unpop(rxq);
			continue;
		}
		if (vq_push(rxq, ch->vc_head, (uint32_t)len) == -1)
			break;
		pushed = 1;
	}
	if (rxq->vq_broken)
		mmio_needs_reset(vs->vs_md);
	else if (pushed)
		mmio_interrupt(vs->vs_md, VSOCK_Q_RX);
}

static void
vsock_tx_run(struct vsock *vs)
{
	struct vq	*txq;
	int		 pushed = 0;

	if (vs->vs_md == NULL)
		return;
	txq = &vs->vs_vqs[VSOCK_Q_TX];
	while (txq->vq_ready && !txq->vq_broken &&
	    vq_pop(txq, &vs->vs_txc) == 1) {
		vsock_tx_packet(vs, &vs->vs_txc);
		if (vq_push(txq, vs->vs_txc.vc_head, 0) == -1)
			break;
		pushed = 1;
	}
	if (txq->vq_broken)
		mmio_needs_reset(vs->vs_md);
	else if (pushed)
		mmio_interrupt(vs->vs_md, VSOCK_Q_TX);
}

/* One packet from the guest: checked, then handed to its stream. */
static void
vsock_tx_packet(struct vsock *vs, struct vq_chain *ch)
{
	struct vsock_hdr	 h;
	struct vsock_conn	*c;

	if (ch->vc_rlen < VSOCK_HDR_SIZE || vq_chain_read(&vs->vs_vqs[
	    VSOCK_Q_TX], ch, 0, &h, sizeof(h)) != sizeof(h)) {
		log_debug("vsock: tx: short packet dropped");
		return;
	}
	h.vh_src_cid = le64toh(h.vh_src_cid);
	h.vh_dst_cid = le64toh(h.vh_dst_cid);
	h.vh_src_port = le32toh(h.vh_src_port);
	h.vh_dst_port = le32toh(h.vh_dst_port);
	h.vh_len = le32toh(h.vh_len);
	h.vh_type = le16toh(h.vh_type);
	h.vh_op = le16toh(h.vh_op);
	h.vh_flags = le32toh(h.vh_flags);
	h.vh_buf_alloc = le32toh(h.vh_buf_alloc);
	h.vh_fwd_cnt = le32toh(h.vh_fwd_cnt);
	/* Spoofed or misdirected: no one to answer (§5.10.6.1). */
	if (h.vh_src_cid != vs->vs_cid || h.vh_dst_cid != VSOCK_HOST_CID ||
	    h.vh_len > ch->vc_rlen - VSOCK_HDR_SIZE) {
		log_debug("vsock: tx: bad header dropped");
		return;
	}
	if (h.vh_type != VSOCK_TYPE_STREAM) {
		/* SEQPACKET was not offered. */
		if (h.vh_op != VSOCK_OP_RST)
			vsock_rst_queue(vs, h.vh_dst_port, h.vh_src_port);
		return;
	}
	if ((c = vsock_lookup(vs, h.vh_dst_port, h.vh_src_port)) != NULL) {
		vsock_tx_conn(c, &h, ch);
		return;
	}
	if (h.vh_op == VSOCK_OP_REQUEST)
		vsock_guest_connect(vs, &h);
	else if (h.vh_op != VSOCK_OP_RST)
		vsock_rst_queue(vs, h.vh_dst_port, h.vh_src_port);
}

/* A guest packet <h> for stream <c>. */
static void
vsock_tx_conn(struct vsock_conn *c, const struct vsock_hdr *h,
    struct vq_chain *ch)
{
	struct vsock	*vs = c->vc_vs;
	char		 ok[32];
	int		 n;

	c->vc_peer_buf_alloc = h->vh_buf_alloc;
	c->vc_peer_fwd_cnt = h->vh_fwd_cnt;
	if (vsock_conn_credit(c) != 0)
		c->vc_credit_asked = 0;
	switch (h->vh_op) {
	case VSOCK_OP_RESPONSE:
		if (c->vc_state != VSOCK_REQUEST)
			goto reset;
		n = snprintf(ok, sizeof(ok), "OK %u\n", c->vc_lport);
		if (send(c->vc_fd, ok, n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
			goto reset;
		c->vc_state = VSOCK_OPEN;
		vsock_conn_deadline(c, 0);
		break;
	case VSOCK_OP_RST:
		vsock_conn_free(c);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (c->vc_state != VSOCK_OPEN)
			goto reset;	/* refused, or crossed our SHUTDOWN */
		c->vc_peer_shut |= h->vh_flags & VSOCK_SHUT_BOTH;
		if (c->vc_peer_shut == VSOCK_SHUT_BOTH)
			vsock_conn_deadline(c, vs->vs_params.vp_close_ms);
		if (vsock_conn_drained(c) == -1)
			return;
		break;
	case VSOCK_OP_RW:
		if (c->vc_state == VSOCK_CLOSING)
			break;		/* the client is gone: drop it */
		if (c->vc_state != VSOCK_OPEN ||
		    (c->vc_peer_shut & VSOCK_SHUT_SEND))
			goto reset;
		if (h->vh_len > vs->vs_params.vp_buf_alloc - c->vc_blen) {
			log_debug("vsock: stream %u:%u: guest exceeded credit",
			    c->vc_lport, c->vc_pport);
			goto reset;
		}
		if (vsock_tx_rw(c, ch, h->vh_len) == -1)
			goto reset;
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->vc_pend |= VSOCK_P_CREDIT_UPDATE;
		break;
	default:
		/* REQUEST on a live stream, or an unknown op. */
		goto reset;
	}
	vsock_conn_sched(c);
	return;
reset:
	vsock_conn_reset(c);
}

/*
 * Guest data for the client: straight to the socket, and what it does not
 * take into the stream's buffer, which the credit check keeps within
 * vp_buf_alloc.  -1 when the socket failed.
 */
static int
vsock_tx_rw(struct vsock_conn *c, struct vq_chain *ch, uint32_t len)
{
	struct vsock	*vs = c->vc_vs;
	struct vq	*txq = &vs->vs_vqs[VSOCK_Q_TX];
	uint32_t	 size = vs->vs_params.vp_buf_alloc;
	uint32_t	 off = VSOCK_HDR_SIZE, n, tail;
	ssize_t		 w;

	if (c->vc_hup) {
		vsock_conn_consumed(c, len);	/* nobody left to read it */
		return 0;
	}
	while (c->vc_blen == 0 && len != 0) {
		n = len < sizeof(vs->vs_bounce) ? len : sizeof(vs->vs_bounce);
		if (vq_chain_read(txq, ch, off, vs->vs_bounce, n) != n)
			return -1;
		w = send(c->vc_fd, vs->vs_bounce, n, MSG_NOSIGNAL |
		    MSG_DONTWAIT);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		vsock_conn_consumed(c, (uint32_t)w);
		off += (uint32_t)w;
		len -= (uint32_t)w;
		if ((uint32_t)w < n)
			break;
	}
	if (len == 0)
		return 0;
	if (c->vc_buf == NULL && (c->vc_buf = malloc(size)) == NULL)
		return -1;
	while (len != 0) {
		tail = (c->vc_bhead + c->vc_blen) % size;
		n = size - tail;
		if (n > len)
			n = len;
		if (vq_chain_read(txq, ch, off, c->vc_buf + tail, n) != n)
			return -1;
		c->vc_blen += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* The guest connects to host port dst_port: <uds_path>_<port>. */
static void
vsock_guest_connect(struct vsock *vs, const struct vsock_hdr *h)
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
	    (c = vsock_conn_new(vs, fd, VSOCK_OPEN)) == NULL) {
		log_debug("vsock: guest connect to %s: %s", sun.sun_path,
		    strerror(errno));
		close(fd);
		goto refuse;
	}
	c->vc_lport = h->vh_dst_port;
	c->vc_pport = h->vh_src_port;
	vsock_hash_insert(c);
	c->vc_peer_buf_alloc = h->vh_buf_alloc;
	c->vc_peer_fwd_cnt = h->vh_fwd_cnt;
	c->vc_pend |= VSOCK_P_RESPONSE;
	vsock_conn_sched(c);
	return;
refuse:
	vsock_rst_queue(vs, h->vh_dst_port, h->vh_src_port);
}
