/*
 * vmm/vsock.c: the virtio-vsock device (virtio 1.2 §5.10), streams only:
 * the transport callbacks, the rx and tx queues, and what each packet
 * means for its stream.  vmm/vsock_host.c has the Unix-socket side.
 *
 * Data model (vsock_priv.h): one struct vsock_conn per stream, found by
 * (local port, peer port) in a hash table; "local" is the host side.  A
 * stream owes the guest packets (control ops in vc_pend, data when its
 * socket is readable and the guest has credit); such streams wait on
 * vs_rxq, and vsock_rx_run() turns them into packets as long as the guest
 * gives us rx buffers, one packet per stream per turn.  RSTs for packets
 * that match no stream wait in a small ring.  Guest->host data is written
 * to the socket at once; what the socket does not take is held in a
 * per-stream ring of at most vp_buf_alloc bytes, which is exactly the
 * credit we advertise, so a guest that sends more is reset.  Host->guest
 * data is read only when it can go straight into an rx buffer.
 *
 * Everything runs on the device thread (struct loop); the transport calls
 * in through vsock_mmio_ops.  The guest is hostile: every header is
 * checked and anything unexpected gets an RST or is dropped.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/log.h"
#include "vmm/mmio.h"
#include "vmm/vq.h"
#include "vmm/vsock.h"
#include "vmm/vsock_priv.h"

static void	vsock_config_read(void *, uint32_t, void *, uint32_t);
static void	vsock_activate(void *, struct mmio_dev *, struct vq *,
		    uint64_t);
static void	vsock_notify(void *, unsigned);
static void	vsock_reset(void *);
static void	vsock_broken(struct vsock *);
static void	vsock_tx_run(struct vsock *);
static void	vsock_tx_packet(struct vsock *, struct vq_chain *);
static void	vsock_tx_conn(struct vsock_conn *, const struct vsock_hdr *,
		    struct vq_chain *);
static int	vsock_tx_rw(struct vsock_conn *, struct vq_chain *, uint32_t);
static void	vsock_hdr_fill(struct vsock *, struct vsock_hdr *, uint32_t,
		    uint32_t, enum vsock_op, uint32_t, uint32_t);
static void	vsock_conn_hdr(struct vsock_conn *, struct vsock_hdr *,
		    enum vsock_op, uint32_t, uint32_t);

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
	struct vsock	*vs;

	/* 0-2 are reserved and -1 means "any" (§5.10.4). */
	if (guest_cid < 3 || guest_cid >= 0xffffffffULL) {
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
	if ((vs->vs_path = strdup(uds_path)) == NULL ||
	    vsock_host_listen(vs) == -1)
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
	vsock_host_close(vs);
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

void
vsock_dump(const struct vsock *vs, unsigned max)
{
	const struct vsock_conn	*c;
	unsigned		 i, nrxq = 0, shown = 0;

	TAILQ_FOREACH(c, &vs->vs_rxq, vc_rxe)
		nrxq++;
	log_info("vsock: cid %llu: %u streams, %u owe the guest, %u rsts "
	    "queued, driver %s", (unsigned long long)vs->vs_cid, vs->vs_nconns,
	    nrxq, vs->vs_nrsts, vs->vs_md != NULL ? "ready" : "absent");
	for (i = 0; i < VSOCK_BUCKETS; i++) {
		for (c = vs->vs_hash[i]; c != NULL; c = c->vc_hnext) {
			if (shown++ == max)
				return;
			log_info("vsock: %u:%u state %d pend %#x rxq %d "
			    "ev %#x readable %d eof %d hup %d peer_shut %u | "
			    "to guest: credit %u tx %u peer_fwd %u alloc %u "
			    "asked %d | from guest: held %u fwd %u adv %u",
			    c->vc_lport, c->vc_pport, c->vc_state, c->vc_pend,
			    c->vc_onrxq, c->vc_events, c->vc_readable,
			    c->vc_eof, c->vc_hup, c->vc_peer_shut,
			    vsock_conn_credit(c), c->vc_tx_cnt,
			    c->vc_peer_fwd_cnt, c->vc_peer_buf_alloc,
			    c->vc_credit_asked, c->vc_blen, c->vc_fwd_cnt,
			    c->vc_fwd_adv);
		}
	}
}

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
	vsock_host_drop_all(vs);
	vs->vs_md = NULL;
	vs->vs_vqs = NULL;
	log_debug("vsock: guest cid %llu: device reset",
	    (unsigned long long)vs->vs_cid);
}

uint32_t
vsock_conn_credit(const struct vsock_conn *c)
{
	return vsock_credit(c->vc_peer_buf_alloc, c->vc_peer_fwd_cnt,
	    c->vc_tx_cnt);
}

/*
 * Fills rx chain <ch> with the next packet <c> owes the guest.  Returns
 * its length, or 0 when <c> owes nothing after all.  Control before data
 * for REQUEST and RESPONSE, data before the rest, so a SHUTDOWN follows
 * the last byte.  Reschedules or frees <c>; the caller must not use it.
 */
int
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
				vsock_host_deadline(c,
				    vs->vs_params.vp_close_ms);
			}
			goto control;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			vsock_conn_hdr(c, &h, VSOCK_OP_RST, 0, 0);
			if (vq_chain_write(&vs->vs_vqs[VSOCK_Q_RX], ch, 0, &h,
			    sizeof(h)) != sizeof(h))
				mmio_needs_reset(vs->vs_md);
			vsock_host_conn_free(c);
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
		vsock_host_sched(c);
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
	vsock_host_sched(c);
	return VSOCK_HDR_SIZE + (int)n;
}

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

void
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
void
vsock_rx_run(struct vsock *vs)
{
	struct vq		*rxq;
	struct vq_chain		*ch = &vs->vs_rxc;
	struct vsock_hdr	 h;
	struct vsock_rst	*r;
	unsigned		 pushed = 0;
	int			 len;

	if (vs->vs_md == NULL)
		return;
	rxq = &vs->vs_vqs[VSOCK_Q_RX];
	while (rxq->vq_ready && !rxq->vq_broken &&
	    (vs->vs_nrsts != 0 || !TAILQ_EMPTY(&vs->vs_rxq))) {
		/* Fast clients and a fast guest: leave the loop to others. */
		if (pushed == rxq->vq_size) {
			mmio_notify_again(vs->vs_md, VSOCK_Q_RX);
			break;
		}
		if (vq_pop(rxq, ch) != 1)
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
			    sizeof(h)) {
				mmio_needs_reset(vs->vs_md);
				break;
			}
			len = VSOCK_HDR_SIZE;
		} else if ((len = vsock_conn_rx(TAILQ_FIRST(&vs->vs_rxq),
		    ch)) == 0) {
			vq_unpop(rxq);
			continue;
		}
		if (vq_push(rxq, ch->vc_head, (uint32_t)len) == -1)
			break;
		pushed++;
	}
	if (rxq->vq_broken)
		vsock_broken(vs);
	else if (pushed != 0)
		mmio_interrupt(vs->vs_md, VSOCK_Q_RX);
}

/*
 * The guest broke a ring.  Linux never resets a device that asks for it,
 * so the streams would hang until the VM dies: end them now, and every
 * new one as it comes, so host clients fail fast.
 */
static void
vsock_broken(struct vsock *vs)
{
	mmio_needs_reset(vs->vs_md);
	vsock_host_drop_all(vs);
}

static void
vsock_tx_run(struct vsock *vs)
{
	struct vq	*txq;
	unsigned	 n;

	if (vs->vs_md == NULL)
		return;
	txq = &vs->vs_vqs[VSOCK_Q_TX];
	for (n = 0; txq->vq_ready && !txq->vq_broken; n++) {
		/* The guest may refill as fast as we drain: one ring a turn. */
		if (n == txq->vq_size) {
			mmio_notify_again(vs->vs_md, VSOCK_Q_TX);
			break;
		}
		if (vq_pop(txq, &vs->vs_txc) != 1)
			break;
		vsock_tx_packet(vs, &vs->vs_txc);
		if (vq_push(txq, vs->vs_txc.vc_head, 0) == -1)
			break;
	}
	if (txq->vq_broken)
		vsock_broken(vs);
	else if (n != 0)
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
	if ((c = vsock_host_lookup(vs, h.vh_dst_port, h.vh_src_port)) != NULL) {
		vsock_tx_conn(c, &h, ch);
		return;
	}
	if (h.vh_op == VSOCK_OP_REQUEST)
		vsock_host_dial(vs, &h);
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
		vsock_host_deadline(c, 0);
		break;
	case VSOCK_OP_RST:
		vsock_host_conn_free(c);
		return;
	case VSOCK_OP_SHUTDOWN:
		if (c->vc_state != VSOCK_OPEN)
			goto reset;	/* refused, or crossed our SHUTDOWN */
		c->vc_peer_shut |= h->vh_flags & VSOCK_SHUT_BOTH;
		/* The client's writes now fail instead of filling a void. */
		if ((c->vc_peer_shut & VSOCK_SHUT_RCV) && !c->vc_rd_shut &&
		    !c->vc_hup) {
			(void)shutdown(c->vc_fd, SHUT_RD);
			c->vc_rd_shut = 1;
		}
		if (c->vc_peer_shut == VSOCK_SHUT_BOTH)
			vsock_host_deadline(c, vs->vs_params.vp_close_ms);
		if (vsock_host_drained(c) == -1)
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
	vsock_host_sched(c);
	return;
reset:
	vsock_host_conn_reset(c);
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
		vsock_host_consumed(c, len);	/* nobody left to read it */
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
		vsock_host_consumed(c, (uint32_t)w);
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
