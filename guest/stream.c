/*
 * guest/stream.c: vsock stream connections (see guest/stream.h).
 *
 * A struct stream owns every struct conn: a hash table finds them by
 * (peer CID, peer port, local port); three queues hold those with work:
 * rxq (data, EOF or a kick for the owner), txq (a control packet or data
 * to send), and timed (waiting for RESPONSE or for the RST that ends a
 * close); dead connections wait on deadq for stream_flush() to free them
 * after co_free().  Calls into the owner happen only from stream_deliver()
 * and stream_flush(); conn_*() calls from the owner only set flags and
 * queue the connection, so the owner may call anything from any callback.
 *
 * Flow control (virtio 1.2 5.10.6.3): we tell the peer buf_alloc =
 * STREAM_RCVBUF and fwd_cnt = bytes the owner consumed; the peer may have
 * buf_alloc - (rx_cnt - fwd_cnt) bytes in flight and one that sends more
 * is reset.  We send at most peer_buf_alloc - (tx_cnt - peer_fwd_cnt),
 * all counters u32 with wrap-around.  Receive buffers grow on demand up
 * to STREAM_RCVBUF and are freed when empty; send buffers keep 4 KiB and
 * grow up to CONN_SNDBUF, so an idle connection costs about 4.5 KiB.
 * Closing follows Linux: SHUTDOWN(RCV|SEND), then the peer's RST ends it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/klib.h"
#include "guest/stream.h"

#define CONN_MAGIC		0xc0220c0e
#define STREAM_HASH_SIZE	256
#define STREAM_RST_MAX		64
#define STREAM_BUF_MIN		4096
#define STREAM_PORT_FIRST	49152	/* our ports for outgoing streams */

/* c_flags */
#define CF_APP_CLOSED		0x0001	/* conn_close() called */
#define CF_PEER_NOSEND		0x0002	/* peer sent SHUTDOWN(SEND): EOF */
#define CF_PEER_NORECV		0x0004	/* peer sent SHUTDOWN(RCV) */
#define CF_EOF_SEEN		0x0008	/* owner was told about EOF */
#define CF_KICK			0x0010	/* conn_rx_kick() */
#define CF_WANT_WRITE		0x0020	/* owner waits for co_writable() */
#define CF_SEND_REQUEST		0x0040
#define CF_SEND_RESPONSE	0x0080
#define CF_SEND_CREDIT		0x0100	/* CREDIT_UPDATE */
#define CF_SEND_CREDIT_REQ	0x0200
#define CF_CREDIT_ASKED		0x0400	/* CREDIT_REQUEST sent, no news yet */
#define CF_NEW_DATA		0x0800	/* rx grew since the last co_recv() */

enum conn_state {
	CONN_CONNECTING = 0,	/* REQUEST sent */
	CONN_ESTABLISHED,
	CONN_CLOSING,		/* SHUTDOWN sent, waiting for RST */
	CONN_DEAD,		/* on deadq */
};

/* An intrusive doubly-linked list; a node not on a list has NULL links. */
struct stream_node {
	struct stream_node	*n_prev;
	struct stream_node	*n_next;
};

/* One vsock stream; owned by its struct stream, listed in s_hash. */
struct conn {
	unsigned		 c_magic;
	struct stream		*c_stream;
	uint64_t		 c_peer_cid;
	uint32_t		 c_peer_port;
	uint32_t		 c_local_port;
	enum conn_state		 c_state;
	unsigned		 c_flags;
	const struct stream_conn_ops *c_ops;
	void			*c_st;
	uint64_t		 c_deadline;	/* while on s_timed */

	uint8_t			*c_rx;		/* unread: c_rx_off, c_rx_len */
	uint32_t		 c_rx_cap, c_rx_off, c_rx_len;
	uint32_t		 c_rx_cnt;	/* bytes received, ever */
	uint32_t		 c_fwd_cnt;	/* bytes consumed, ever */
	uint32_t		 c_fwd_sent;	/* c_fwd_cnt the peer knows */

	uint8_t			*c_tx;		/* unsent: c_tx_off, c_tx_len */
	uint32_t		 c_tx_cap, c_tx_off, c_tx_len;
	uint32_t		 c_tx_cnt;	/* bytes sent, ever */
	uint32_t		 c_peer_buf_alloc;
	uint32_t		 c_peer_fwd_cnt;

	struct conn		*c_hnext;
	struct stream_node	 c_rxn, c_txn, c_tn;	/* rxq, txq, timed */
	struct stream_node	 c_dn;			/* deadq */
};

struct stream {
	uint64_t		 s_cid;
	uint32_t		 s_port;
	const struct stream_conn_ops *s_listen;
	void			*s_listen_arg;
	stream_tx_fn		*s_tx;
	void			*s_tx_arg;
	bool			 s_tx_blocked;
	uint32_t		 s_next_port;
	struct conn		*s_hash[STREAM_HASH_SIZE];
	struct stream_node	 s_rxq, s_txq, s_timed, s_deadq;
	struct stream_hdr	 s_rst[STREAM_RST_MAX];	/* ring */
	unsigned		 s_rst_head, s_rst_len;
	struct stream_stats	 s_stats;
};

static void	 stream_tx_shrink(struct conn *);

_Static_assert(sizeof(struct stream_hdr) == STREAM_HDR_SIZE,
    "virtio_vsock_hdr is 44 bytes");

#define STREAM_CONTAINER(n, field) \
	((struct conn *)((char *)(n) - offsetof(struct conn, field)))

/* ---- lists ---- */

static void
stream_list_init(struct stream_node *head)
{
	head->n_prev = head->n_next = head;
}

static bool
stream_list_empty(const struct stream_node *head)
{
	return head->n_next == head;
}

static bool
stream_on_list(const struct stream_node *n)
{
	return n->n_next != NULL;
}

static void
stream_list_add(struct stream_node *head, struct stream_node *n)
{
	if (stream_on_list(n))
		return;
	n->n_prev = head->n_prev;
	n->n_next = head;
	head->n_prev->n_next = n;
	head->n_prev = n;
}

static void
stream_list_del(struct stream_node *n)
{
	if (!stream_on_list(n))
		return;
	n->n_prev->n_next = n->n_next;
	n->n_next->n_prev = n->n_prev;
	n->n_prev = n->n_next = NULL;
}

/* Moves every node of <from> to the empty <to>. */
static void
stream_list_take(struct stream_node *to, struct stream_node *from)
{
	stream_list_init(to);
	if (stream_list_empty(from))
		return;
	to->n_next = from->n_next;
	to->n_prev = from->n_prev;
	to->n_next->n_prev = to;
	to->n_prev->n_next = to;
	stream_list_init(from);
}

/* ---- connection table ---- */

static unsigned
stream_hash(uint64_t cid, uint32_t peer_port, uint32_t local_port)
{
	uint32_t	 h;

	h = (uint32_t)cid * 0x9e3779b1u ^ peer_port * 0x85ebca6bu ^
	    local_port * 0xc2b2ae35u;
	return (h ^ (h >> 16)) % STREAM_HASH_SIZE;
}

static struct conn *
stream_lookup(const struct stream *s, uint64_t cid, uint32_t peer_port,
    uint32_t local_port)
{
	struct conn	*c;

	c = s->s_hash[stream_hash(cid, peer_port, local_port)];
	for (; c != NULL; c = c->c_hnext)
		if (c->c_peer_cid == cid && c->c_peer_port == peer_port &&
		    c->c_local_port == local_port)
			return c;
	return NULL;
}

static void
stream_hash_del(struct stream *s, struct conn *c)
{
	struct conn	**pp;

	pp = &s->s_hash[stream_hash(c->c_peer_cid, c->c_peer_port,
	    c->c_local_port)];
	for (; *pp != NULL; pp = &(*pp)->c_hnext) {
		if (*pp == c) {
			*pp = c->c_hnext;
			c->c_hnext = NULL;
			return;
		}
	}
}

/* A new connection in the table; NULL when out of memory or slots. */
static struct conn *
stream_conn_new(struct stream *s, uint64_t cid, uint32_t peer_port,
    uint32_t local_port)
{
	struct conn	*c;
	unsigned	 h;

	if (s->s_stats.ss_conns >= STREAM_CONN_MAX)
		return NULL;
	if ((c = mem_alloc(sizeof(*c))) == NULL)
		return NULL;
	memset(c, 0, sizeof(*c));
	/* A send buffer from the start, so conn_send() always has room. */
	if ((c->c_tx = mem_alloc(STREAM_BUF_MIN)) == NULL) {
		mem_free(c);
		return NULL;
	}
	c->c_tx_cap = STREAM_BUF_MIN;
	c->c_magic = CONN_MAGIC;
	c->c_stream = s;
	c->c_peer_cid = cid;
	c->c_peer_port = peer_port;
	c->c_local_port = local_port;
	h = stream_hash(cid, peer_port, local_port);
	c->c_hnext = s->s_hash[h];
	s->s_hash[h] = c;
	s->s_stats.ss_conns++;
	return c;
}

/* Frees <c>, which is off every list but maybe still in the table. */
static void
stream_conn_destroy(struct stream *s, struct conn *c)
{
	stream_hash_del(s, c);
	stream_list_del(&c->c_rxn);
	stream_list_del(&c->c_txn);
	stream_list_del(&c->c_tn);
	stream_list_del(&c->c_dn);
	mem_free(c->c_rx);
	c->c_rx = NULL;
	mem_free(c->c_tx);
	c->c_tx = NULL;
	c->c_magic = 0;
	s->s_stats.ss_conns--;
	mem_free(c);
}

/* ---- packets out ---- */

static void
stream_hdr_init(const struct stream *s, const struct conn *c,
    struct stream_hdr *h, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->sh_src_cid = s->s_cid;
	h->sh_dst_cid = c->c_peer_cid;
	h->sh_src_port = c->c_local_port;
	h->sh_dst_port = c->c_peer_port;
	h->sh_type = STREAM_TYPE_STREAM;
	h->sh_op = op;
	h->sh_buf_alloc = STREAM_RCVBUF;
	h->sh_fwd_cnt = c->c_fwd_cnt;
}

/* Queues an RST answering <in> (swapped addresses); lost if full. */
static void
stream_rst_reply(struct stream *s, const struct stream_hdr *in)
{
	struct stream_hdr	*h;

	if (s->s_rst_len == STREAM_RST_MAX) {
		s->s_stats.ss_rst_dropped++;
		return;
	}
	h = &s->s_rst[(s->s_rst_head + s->s_rst_len++) % STREAM_RST_MAX];
	memset(h, 0, sizeof(*h));
	h->sh_src_cid = s->s_cid;
	h->sh_dst_cid = in->sh_src_cid;
	h->sh_src_port = in->sh_dst_port;
	h->sh_dst_port = in->sh_src_port;
	h->sh_type = in->sh_type;
	h->sh_op = STREAM_OP_RST;
}

/*
 * Ends <c> now: it leaves the table (later packets for it get RST), the
 * owner hears co_free() in stream_flush().  <rst>: tell the peer.
 */
static void
stream_conn_kill(struct stream *s, struct conn *c, bool rst)
{
	struct stream_hdr	 h;

	if (c->c_state == CONN_DEAD)
		return;
	if (rst) {
		/* Built as if answering the peer, so reuse the RST queue. */
		stream_hdr_init(s, c, &h, STREAM_OP_RST);
		h.sh_src_cid = c->c_peer_cid;
		h.sh_dst_cid = s->s_cid;
		h.sh_src_port = c->c_peer_port;
		h.sh_dst_port = c->c_local_port;
		stream_rst_reply(s, &h);
		s->s_stats.ss_resets_out++;
	}
	c->c_state = CONN_DEAD;
	stream_hash_del(s, c);
	stream_list_del(&c->c_rxn);
	stream_list_del(&c->c_txn);
	stream_list_del(&c->c_tn);
	stream_list_add(&s->s_deadq, &c->c_dn);
}

uint32_t
stream_credit_avail(uint32_t buf_alloc, uint32_t tx_cnt, uint32_t fwd_cnt)
{
	uint32_t	 inflight = tx_cnt - fwd_cnt;

	/*
	 * Wrap-around is fine: the counters are u32 on both sides.  A peer
	 * that claims more consumed than we sent, or a window shrunk below
	 * what is in flight, gets nothing.
	 */
	if (inflight > buf_alloc)
		return 0;
	return buf_alloc - inflight;
}

static uint32_t
stream_credit(const struct conn *c)
{
	return stream_credit_avail(c->c_peer_buf_alloc, c->c_tx_cnt,
	    c->c_peer_fwd_cnt);
}

static bool
stream_has_tx(const struct conn *c)
{
	if (c->c_flags & (CF_SEND_REQUEST | CF_SEND_RESPONSE))
		return true;
	if (c->c_state != CONN_ESTABLISHED)
		return false;
	if (c->c_tx_len > 0 && stream_credit(c) > 0)
		return true;
	if (c->c_flags & (CF_SEND_CREDIT | CF_SEND_CREDIT_REQ))
		return true;
	return (c->c_flags & CF_APP_CLOSED) && c->c_tx_len == 0;
}

static void
stream_want_tx(struct stream *s, struct conn *c)
{
	/*
	 * Data waits for a window the peer has not opened: ask once.  The
	 * flag clears when the peer's credit changes.
	 */
	if (c->c_state == CONN_ESTABLISHED && c->c_tx_len > 0 &&
	    stream_credit(c) == 0 && !(c->c_flags & CF_CREDIT_ASKED))
		c->c_flags |= CF_SEND_CREDIT_REQ;
	if (c->c_state != CONN_DEAD && stream_has_tx(c))
		stream_list_add(&s->s_txq, &c->c_txn);
}

static void
stream_want_rx(struct stream *s, struct conn *c)
{
	if (c->c_state != CONN_DEAD)
		stream_list_add(&s->s_rxq, &c->c_rxn);
}

static void
stream_timed(struct stream *s, struct conn *c, uint64_t deadline)
{
	c->c_deadline = deadline;
	stream_list_add(&s->s_timed, &c->c_tn);
}

/*
 * Sends the most urgent packet <c> has.  1 if one went out, 0 if <c> had
 * nothing, -1 if the device is full.
 */
static int
stream_send_one(struct stream *s, struct conn *c, uint64_t now)
{
	struct stream_hdr	 h;
	uint32_t		 n = 0;
	uint16_t		 op;

	if (c->c_flags & CF_SEND_REQUEST)
		op = STREAM_OP_REQUEST;
	else if (c->c_flags & CF_SEND_RESPONSE)
		op = STREAM_OP_RESPONSE;
	else if (c->c_state != CONN_ESTABLISHED)
		return 0;
	else if (c->c_tx_len > 0 && stream_credit(c) > 0) {
		op = STREAM_OP_RW;
		n = c->c_tx_len;
		if (n > STREAM_PKT_MAX)
			n = STREAM_PKT_MAX;
		if (n > stream_credit(c))
			n = stream_credit(c);
	} else if (c->c_flags & CF_SEND_CREDIT_REQ)
		op = STREAM_OP_CREDIT_REQUEST;
	else if (c->c_flags & CF_SEND_CREDIT)
		op = STREAM_OP_CREDIT_UPDATE;
	else if ((c->c_flags & CF_APP_CLOSED) && c->c_tx_len == 0)
		op = STREAM_OP_SHUTDOWN;
	else
		return 0;

	stream_hdr_init(s, c, &h, op);
	h.sh_len = n;
	if (op == STREAM_OP_SHUTDOWN)
		h.sh_flags = STREAM_SHUTDOWN_RCV | STREAM_SHUTDOWN_SEND;
	if (s->s_tx(s->s_tx_arg, &h, c->c_tx + c->c_tx_off, n) == -1) {
		s->s_tx_blocked = true;
		return -1;
	}
	/* Every header carries fwd_cnt: the peer is up to date now. */
	c->c_fwd_sent = c->c_fwd_cnt;
	c->c_flags &= ~CF_SEND_CREDIT;
	switch (op) {
	case STREAM_OP_REQUEST:
		c->c_flags &= ~CF_SEND_REQUEST;
		break;
	case STREAM_OP_RESPONSE:
		c->c_flags &= ~CF_SEND_RESPONSE;
		break;
	case STREAM_OP_RW:
		c->c_tx_off += n;
		c->c_tx_len -= n;
		c->c_tx_cnt += n;
		if (c->c_tx_len == 0) {
			c->c_tx_off = 0;
			stream_tx_shrink(c);
		}
		break;
	case STREAM_OP_CREDIT_REQUEST:
		c->c_flags &= ~CF_SEND_CREDIT_REQ;
		c->c_flags |= CF_CREDIT_ASKED;
		break;
	case STREAM_OP_SHUTDOWN:
		c->c_state = CONN_CLOSING;
		stream_timed(s, c, now + STREAM_CLOSE_MS);
		break;
	}
	return 1;
}

/* ---- buffers ---- */

static uint32_t
stream_roundup(uint32_t need, uint32_t max)
{
	uint32_t	 cap = STREAM_BUF_MIN;

	while (cap < need && cap < max)
		cap *= 2;
	return cap < max ? cap : max;
}

/*
 * Makes room for <more> bytes after the <len> bytes at <off> in the
 * buffer *<buf> of *<cap> bytes, up to <max>: moves the data to the front
 * and grows the buffer if needed.  -1 if memory is short; nothing is lost.
 */
static int
stream_buf_room(uint8_t **buf, uint32_t *cap, uint32_t *off, uint32_t len,
    uint32_t more, uint32_t max)
{
	uint8_t		*nb;
	uint32_t	 ncap;

	if (*off + len + more <= *cap)
		return 0;
	if (len + more <= *cap) {
		memmove(*buf, *buf + *off, len);
		*off = 0;
		return 0;
	}
	ncap = stream_roundup(len + more, max);
	if ((nb = mem_alloc(ncap)) == NULL)
		return -1;
	if (len > 0)
		memcpy(nb, *buf + *off, len);
	mem_free(*buf);
	*buf = nb;
	*cap = ncap;
	*off = 0;
	return 0;
}

/* Gives back a grown send buffer once it is empty. */
static void
stream_tx_shrink(struct conn *c)
{
	uint8_t		*nb;

	if (c->c_tx_len != 0 || c->c_tx_cap <= STREAM_BUF_MIN)
		return;
	if ((nb = mem_alloc(STREAM_BUF_MIN)) == NULL)
		return;
	mem_free(c->c_tx);
	c->c_tx = nb;
	c->c_tx_cap = STREAM_BUF_MIN;
	c->c_tx_off = 0;
}

static void
stream_rx_release(struct conn *c)
{
	if (c->c_rx_len != 0)
		return;
	mem_free(c->c_rx);
	c->c_rx = NULL;
	c->c_rx_cap = c->c_rx_off = 0;
}

/*
 * The owner closed <c>: unread data is dropped, and counted consumed so
 * the peer is not left waiting for credit.  Not done inside conn_close(),
 * which may run inside co_recv() while the owner still looks at the data.
 */
static void
stream_rx_discard(struct conn *c)
{
	c->c_fwd_cnt += c->c_rx_len;
	c->c_rx_len = 0;
	stream_rx_release(c);
}

/* Marks <n> received bytes consumed; a credit update when due. */
static void
stream_consume(struct stream *s, struct conn *c, uint32_t n)
{
	uint32_t	 known_free;

	c->c_rx_off += n;
	c->c_rx_len -= n;
	c->c_fwd_cnt += n;
	stream_rx_release(c);
	if (c->c_fwd_cnt == c->c_fwd_sent)
		return;
	/*
	 * Tell the peer once the window it knows of is under half, as
	 * Linux does (virtio_transport_stream_do_dequeue()), so a peer
	 * that filled the window does not wait for the next data packet.
	 */
	known_free = STREAM_RCVBUF - (c->c_rx_cnt - c->c_fwd_sent);
	if (known_free < STREAM_RCVBUF / 2) {
		c->c_flags |= CF_SEND_CREDIT;
		stream_want_tx(s, c);
	}
}

/* ---- packets in ---- */

static void
stream_accept(struct stream *s, const struct stream_hdr *h)
{
	struct conn	*c;
	void		*st;

	if ((c = stream_conn_new(s, h->sh_src_cid, h->sh_src_port,
	    h->sh_dst_port)) == NULL) {
		s->s_stats.ss_refused++;
		stream_rst_reply(s, h);
		return;
	}
	c->c_state = CONN_ESTABLISHED;
	c->c_ops = s->s_listen;
	c->c_peer_buf_alloc = h->sh_buf_alloc;
	c->c_peer_fwd_cnt = h->sh_fwd_cnt;
	if ((st = s->s_listen->co_accept(s->s_listen_arg, c)) == NULL) {
		stream_conn_destroy(s, c);
		s->s_stats.ss_refused++;
		stream_rst_reply(s, h);
		return;
	}
	c->c_st = st;
	c->c_flags |= CF_SEND_RESPONSE;
	s->s_stats.ss_accepted++;
	stream_want_tx(s, c);
}

static void
stream_rw(struct stream *s, struct conn *c, const uint8_t *data,
    uint32_t len)
{
	if (len == 0)
		return;
	/* Data beyond the credit we gave, or after the peer's EOF. */
	if ((c->c_flags & CF_PEER_NOSEND) ||
	    len > STREAM_RCVBUF - (c->c_rx_cnt - c->c_fwd_cnt)) {
		s->s_stats.ss_bad++;
		stream_conn_kill(s, c, true);
		return;
	}
	c->c_rx_cnt += len;
	if (c->c_flags & CF_APP_CLOSED) {
		/* Nobody will read it: consumed, so the peer is not stuck. */
		c->c_fwd_cnt += len;
		return;
	}
	if (stream_buf_room(&c->c_rx, &c->c_rx_cap, &c->c_rx_off,
	    c->c_rx_len, len, STREAM_RCVBUF) == -1) {
		s->s_stats.ss_nomem++;
		stream_conn_kill(s, c, true);
		return;
	}
	memcpy(c->c_rx + c->c_rx_off + c->c_rx_len, data, len);
	c->c_rx_len += len;
	c->c_flags |= CF_NEW_DATA;
	stream_want_rx(s, c);
}

static void
stream_shutdown_in(struct stream *s, struct conn *c, uint32_t flags)
{
	if (flags & STREAM_SHUTDOWN_RCV)
		c->c_flags |= CF_PEER_NORECV;
	if (flags & STREAM_SHUTDOWN_SEND) {
		c->c_flags |= CF_PEER_NOSEND;
		stream_want_rx(s, c);
	}
	/*
	 * Both directions shut: the peer is gone, and expects our RST
	 * (Linux virtio_transport_recv_connected()).
	 */
	if ((c->c_flags & (CF_PEER_NORECV | CF_PEER_NOSEND)) ==
	    (CF_PEER_NORECV | CF_PEER_NOSEND))
		stream_conn_kill(s, c, true);
}

static void
stream_input_conn(struct stream *s, struct conn *c,
    const struct stream_hdr *h, const uint8_t *data)
{
	uint32_t	 credit_before = stream_credit(c);

	c->c_peer_buf_alloc = h->sh_buf_alloc;
	c->c_peer_fwd_cnt = h->sh_fwd_cnt;
	if (stream_credit(c) != credit_before)
		c->c_flags &= ~CF_CREDIT_ASKED;

	if (h->sh_op == STREAM_OP_RST) {
		s->s_stats.ss_resets_in++;
		stream_conn_kill(s, c, false);
		return;
	}
	if (c->c_state == CONN_CONNECTING) {
		if (h->sh_op != STREAM_OP_RESPONSE) {
			s->s_stats.ss_bad++;
			stream_conn_kill(s, c, true);
			return;
		}
		c->c_state = CONN_ESTABLISHED;
		stream_list_del(&c->c_tn);
		if (c->c_ops->co_connected != NULL)
			c->c_ops->co_connected(c->c_st);
		stream_want_tx(s, c);
		return;
	}
	switch (h->sh_op) {
	case STREAM_OP_RW:
		stream_rw(s, c, data, h->sh_len);
		break;
	case STREAM_OP_CREDIT_UPDATE:
		break;
	case STREAM_OP_CREDIT_REQUEST:
		c->c_flags |= CF_SEND_CREDIT;
		break;
	case STREAM_OP_SHUTDOWN:
		stream_shutdown_in(s, c, h->sh_flags);
		break;
	default:
		/* REQUEST or RESPONSE on an open stream, or no such op. */
		s->s_stats.ss_bad++;
		stream_conn_kill(s, c, true);
		return;
	}
	stream_want_tx(s, c);
}

void
stream_input(struct stream *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	struct stream_hdr	 h;
	struct conn		*c;

	(void)now;
	if (len < STREAM_HDR_SIZE) {
		s->s_stats.ss_bad++;
		return;
	}
	memcpy(&h, pkt, sizeof(h));
	if (h.sh_len > len - STREAM_HDR_SIZE || h.sh_dst_cid != s->s_cid) {
		s->s_stats.ss_bad++;
		return;
	}
	if (h.sh_type != STREAM_TYPE_STREAM) {
		/* Linux answers a socket type it lacks with RST. */
		s->s_stats.ss_bad++;
		if (h.sh_op != STREAM_OP_RST)
			stream_rst_reply(s, &h);
		return;
	}
	c = stream_lookup(s, h.sh_src_cid, h.sh_src_port, h.sh_dst_port);
	if (c == NULL) {
		if (h.sh_op == STREAM_OP_REQUEST && h.sh_dst_port == s->s_port)
			stream_accept(s, &h);
		else if (h.sh_op != STREAM_OP_RST)
			stream_rst_reply(s, &h);
		return;
	}
	stream_input_conn(s, c, &h, pkt + STREAM_HDR_SIZE);
}

/* ---- the main loop's calls ---- */

void
stream_deliver(struct stream *s)
{
	struct stream_node	 batch, *n;
	struct conn		*c;
	size_t			 used;
	bool			 eof, new_eof;

	/* Kicks from inside co_recv() wait for the next turn. */
	stream_list_take(&batch, &s->s_rxq);
	while (!stream_list_empty(&batch)) {
		n = batch.n_next;
		stream_list_del(n);
		c = STREAM_CONTAINER(n, c_rxn);
		if (c->c_state == CONN_DEAD || (c->c_flags & CF_APP_CLOSED))
			continue;
		eof = (c->c_flags & CF_PEER_NOSEND) != 0;
		new_eof = eof && !(c->c_flags & CF_EOF_SEEN);
		if (!(c->c_flags & (CF_NEW_DATA | CF_KICK)) && !new_eof)
			continue;
		c->c_flags &= ~(CF_NEW_DATA | CF_KICK);
		if (eof)
			c->c_flags |= CF_EOF_SEEN;
		used = c->c_ops->co_recv(c->c_st,
		    c->c_rx != NULL ? c->c_rx + c->c_rx_off : NULL,
		    c->c_rx_len, eof);
		if (c->c_state == CONN_DEAD)
			continue;
		if (c->c_flags & CF_APP_CLOSED) {
			stream_rx_discard(c);
			continue;
		}
		if (used > c->c_rx_len)
			used = c->c_rx_len;
		if (used > 0)
			stream_consume(s, c, (uint32_t)used);
	}
}

/* co_writable() for <c> if it waits and there is room. */
static void
stream_writable(struct conn *c)
{
	if (!(c->c_flags & CF_WANT_WRITE) || (c->c_flags & CF_APP_CLOSED) ||
	    c->c_state == CONN_DEAD)
		return;
	if (c->c_tx_len > CONN_SNDBUF / 2)
		return;
	c->c_flags &= ~CF_WANT_WRITE;
	stream_tx_shrink(c);
	c->c_ops->co_writable(c->c_st);
}

static void
stream_timeouts(struct stream *s, uint64_t now)
{
	struct stream_node	*n, *next;
	struct conn		*c;

	for (n = s->s_timed.n_next; n != &s->s_timed; n = next) {
		next = n->n_next;
		c = STREAM_CONTAINER(n, c_tn);
		if (c->c_deadline <= now)
			stream_conn_kill(s, c, true);
	}
}

static void
stream_reap(struct stream *s)
{
	struct stream_node	*n;
	struct conn		*c;

	while (!stream_list_empty(&s->s_deadq)) {
		n = s->s_deadq.n_next;
		c = STREAM_CONTAINER(n, c_dn);
		stream_list_del(n);
		if (c->c_ops != NULL && c->c_st != NULL)
			c->c_ops->co_free(c->c_st);
		stream_conn_destroy(s, c);
	}
}

void
stream_flush(struct stream *s, uint64_t now)
{
	struct stream_node	*n;
	struct conn		*c;
	int			 r;

	stream_timeouts(s, now);
	while (s->s_rst_len > 0) {
		if (s->s_tx(s->s_tx_arg, &s->s_rst[s->s_rst_head], NULL, 0) ==
		    -1) {
			s->s_tx_blocked = true;
			break;
		}
		s->s_rst_head = (s->s_rst_head + 1) % STREAM_RST_MAX;
		s->s_rst_len--;
	}
	while (!s->s_tx_blocked && !stream_list_empty(&s->s_txq)) {
		n = s->s_txq.n_next;
		c = STREAM_CONTAINER(n, c_txn);
		stream_list_del(n);
		if ((c->c_flags & CF_APP_CLOSED) && c->c_rx_len > 0)
			stream_rx_discard(c);
		if ((c->c_flags & CF_PEER_NORECV) && c->c_tx_len > 0) {
			/* The peer reads no more: drop what it won't take. */
			c->c_tx_cnt += c->c_tx_len;
			c->c_tx_len = c->c_tx_off = 0;
		}
		if ((r = stream_send_one(s, c, now)) == -1) {
			stream_list_add(&s->s_txq, n);
			break;
		}
		stream_writable(c);
		/* To the back: one packet per turn keeps streams fair. */
		stream_want_tx(s, c);
	}
	stream_reap(s);
}

void
stream_tx_ready(struct stream *s)
{
	s->s_tx_blocked = false;
}

bool
stream_busy(const struct stream *s)
{
	if (!stream_list_empty(&s->s_rxq) || !stream_list_empty(&s->s_deadq))
		return true;
	return !s->s_tx_blocked &&
	    (s->s_rst_len > 0 || !stream_list_empty(&s->s_txq));
}

uint64_t
stream_deadline(const struct stream *s)
{
	const struct stream_node	*n;
	uint64_t			 d = UINT64_MAX;

	for (n = s->s_timed.n_next; n != &s->s_timed; n = n->n_next)
		if (STREAM_CONTAINER(n, c_tn)->c_deadline < d)
			d = STREAM_CONTAINER(n, c_tn)->c_deadline;
	return d;
}

void
stream_reset(struct stream *s, uint64_t cid)
{
	struct conn	*c;
	unsigned	 i;

	for (i = 0; i < STREAM_HASH_SIZE; i++)
		while ((c = s->s_hash[i]) != NULL)
			stream_conn_kill(s, c, false);
	s->s_rst_len = 0;
	s->s_cid = cid;
}

struct conn *
stream_connect(struct stream *s, uint64_t cid, uint32_t port,
    const struct stream_conn_ops *ops, void *st, uint64_t now)
{
	struct conn	*c;
	uint32_t	 local;
	unsigned	 tries;

	for (tries = 0; tries < 1000; tries++) {
		local = s->s_next_port++;
		if (s->s_next_port < STREAM_PORT_FIRST ||
		    s->s_next_port == UINT32_MAX)
			s->s_next_port = STREAM_PORT_FIRST;
		if (local != s->s_port && stream_lookup(s, cid, port, local) ==
		    NULL)
			break;
	}
	if (tries == 1000)
		return NULL;
	if ((c = stream_conn_new(s, cid, port, local)) == NULL)
		return NULL;
	c->c_state = CONN_CONNECTING;
	c->c_ops = ops;
	c->c_st = st;
	c->c_flags |= CF_SEND_REQUEST;
	stream_timed(s, c, now + STREAM_CONNECT_MS);
	stream_want_tx(s, c);
	return c;
}

struct stream *
stream_new(uint64_t cid, uint32_t port, const struct stream_conn_ops *listen,
    void *listen_arg, stream_tx_fn *tx, void *tx_arg)
{
	struct stream	*s;

	if ((s = mem_alloc(sizeof(*s))) == NULL)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->s_cid = cid;
	s->s_port = port;
	s->s_listen = listen;
	s->s_listen_arg = listen_arg;
	s->s_tx = tx;
	s->s_tx_arg = tx_arg;
	s->s_next_port = STREAM_PORT_FIRST;
	stream_list_init(&s->s_rxq);
	stream_list_init(&s->s_txq);
	stream_list_init(&s->s_timed);
	stream_list_init(&s->s_deadq);
	return s;
}

void
stream_free(struct stream *s)
{
	struct conn	*c;
	unsigned	 i;

	if (s == NULL)
		return;
	for (i = 0; i < STREAM_HASH_SIZE; i++)
		while ((c = s->s_hash[i]) != NULL)
			stream_conn_destroy(s, c);
	while (!stream_list_empty(&s->s_deadq))
		stream_conn_destroy(s, STREAM_CONTAINER(s->s_deadq.n_next,
		    c_dn));
	mem_free(s);
}

void
stream_stats_get(const struct stream *s, struct stream_stats *st)
{
	*st = s->s_stats;
}

/* ---- guest/app.h ---- */

size_t
conn_send(struct conn *c, const void *buf, size_t len)
{
	struct stream	*s = c->c_stream;
	uint32_t	 room, n;

	if (c->c_magic != CONN_MAGIC || c->c_state == CONN_DEAD ||
	    (c->c_flags & CF_APP_CLOSED) || len == 0)
		return 0;
	room = CONN_SNDBUF - c->c_tx_len;
	n = len < room ? (uint32_t)len : room;
	if (n > 0 && stream_buf_room(&c->c_tx, &c->c_tx_cap, &c->c_tx_off,
	    c->c_tx_len, n, CONN_SNDBUF) == -1) {
		/* Short of memory: take what fits the buffer we have. */
		if (c->c_tx_off > 0 && c->c_tx_len > 0)
			memmove(c->c_tx, c->c_tx + c->c_tx_off, c->c_tx_len);
		c->c_tx_off = 0;
		n = c->c_tx_cap - c->c_tx_len;
	}
	if (n > 0) {
		memcpy(c->c_tx + c->c_tx_off + c->c_tx_len, buf, n);
		c->c_tx_len += n;
		stream_want_tx(s, c);
	}
	if (n < len)
		c->c_flags |= CF_WANT_WRITE;
	return n;
}

size_t
conn_send_space(const struct conn *c)
{
	struct conn	*w = (struct conn *)(uintptr_t)c;

	if (c->c_magic != CONN_MAGIC || c->c_state == CONN_DEAD ||
	    (c->c_flags & CF_APP_CLOSED))
		return 0;
	/* The caller may wait for room now: promise co_writable(). */
	if (c->c_tx_len > 0)
		w->c_flags |= CF_WANT_WRITE;
	return CONN_SNDBUF - c->c_tx_len;
}

void
conn_rx_kick(struct conn *c)
{
	if (c->c_magic != CONN_MAGIC || c->c_state == CONN_DEAD)
		return;
	c->c_flags |= CF_KICK;
	stream_want_rx(c->c_stream, c);
}

void
conn_close(struct conn *c)
{
	struct stream	*s = c->c_stream;

	if (c->c_magic != CONN_MAGIC || (c->c_flags & CF_APP_CLOSED))
		return;
	c->c_flags |= CF_APP_CLOSED;
	c->c_flags &= ~(CF_WANT_WRITE | CF_KICK);
	if (c->c_state == CONN_DEAD)
		return;
	stream_list_del(&c->c_rxn);
	if (c->c_state == CONN_CONNECTING && c->c_tx_len == 0) {
		stream_conn_kill(s, c, true);
		return;
	}
	stream_want_tx(s, c);
}
