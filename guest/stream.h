/*
 * guest/stream.h: virtio-vsock stream sockets (virtio 1.2 section 5.10.6)
 * above the device: connection state, credit-based flow control, receive
 * and send buffers, and the struct conn of guest/app.h with conn_send(),
 * conn_close() and friends.  Pure code: packets come in through
 * stream_input() and leave through the caller's transmit function, so it
 * also builds on the host for tests/unit/test_guest_stream.c.
 *
 * Everything runs in the main loop, in this order each turn:
 * stream_input() for each received packet, stream_deliver() (app_recv),
 * app_poll(), stream_flush() (transmit, close, free), then halt unless
 * stream_busy().
 */
#ifndef GUEST_STREAM_H
#define GUEST_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;
struct stream;		/* opaque: every connection of one vsock device */

/* struct virtio_vsock_hdr: little-endian, packed, 44 bytes. */
struct stream_hdr {
	uint64_t	 sh_src_cid;
	uint64_t	 sh_dst_cid;
	uint32_t	 sh_src_port;
	uint32_t	 sh_dst_port;
	uint32_t	 sh_len;
	uint16_t	 sh_type;
	uint16_t	 sh_op;
	uint32_t	 sh_flags;
	uint32_t	 sh_buf_alloc;
	uint32_t	 sh_fwd_cnt;
} __attribute__((packed));

#define STREAM_HDR_SIZE		44
#define STREAM_TYPE_STREAM	1
#define STREAM_OP_INVALID	0
#define STREAM_OP_REQUEST	1
#define STREAM_OP_RESPONSE	2
#define STREAM_OP_RST		3
#define STREAM_OP_SHUTDOWN	4
#define STREAM_OP_RW		5
#define STREAM_OP_CREDIT_UPDATE	6
#define STREAM_OP_CREDIT_REQUEST 7
#define STREAM_SHUTDOWN_RCV	1
#define STREAM_SHUTDOWN_SEND	2
#define STREAM_CID_HOST		2

#define STREAM_PKT_MAX		4096		/* payload we send per packet */
#define STREAM_RCVBUF		(64 * 1024)	/* our buf_alloc */
#define CONN_SNDBUF		(64 * 1024)	/* see conn_send() */
#define STREAM_CONN_MAX		512		/* beyond: RST */
#define STREAM_CONNECT_MS	2000		/* no RESPONSE: give up */
#define STREAM_CLOSE_MS		5000		/* SHUTDOWN unanswered: RST */

/*
 * Transmits one packet, <hdr> then <len> bytes of <payload>; copies both.
 * Returns 0, or -1 when the device has no room now (stream_tx_ready()
 * tells the stream to try again).
 */
typedef int	 stream_tx_fn(void *arg, const struct stream_hdr *hdr,
		    const uint8_t *payload, size_t len);

/*
 * The owner of a connection: the application (guest/app.h) or the
 * platform's own client (guest/notify.c).  co_recv, co_writable and
 * co_free have app_recv()'s, app_writable()'s and app_free()'s contracts.
 */
struct stream_conn_ops {
	/* Listening only: a new connection; NULL refuses it (RST). */
	void	*(*co_accept)(void *arg, struct conn *c);
	/* Connecting only, may be NULL: the peer accepted. */
	void	 (*co_connected)(void *st);
	size_t	 (*co_recv)(void *st, const uint8_t *data, size_t len,
		    bool eof);
	void	 (*co_writable)(void *st);
	void	 (*co_free)(void *st);
};

struct stream_stats {
	uint64_t	 ss_accepted;
	uint64_t	 ss_refused;	/* app said no, or STREAM_CONN_MAX */
	uint64_t	 ss_bad;	/* malformed or misaddressed packets */
	uint64_t	 ss_resets_in;	/* RSTs that ended a connection */
	uint64_t	 ss_resets_out;	/* RSTs we sent */
	uint64_t	 ss_rst_dropped; /* RSTs lost to a full queue */
	uint64_t	 ss_nomem;	/* streams reset for want of memory */
	unsigned	 ss_conns;	/* open now */
};

/*
 * A stream layer for guest CID <cid> that accepts connections to <port>
 * with <listen>->co_accept(<listen_arg>, c) and sends with <tx>(<tx_arg>).
 * <listen> and <tx_arg> are borrowed for the stream's life.  NULL when out
 * of memory.
 */
struct stream	*stream_new(uint64_t cid, uint32_t port,
		    const struct stream_conn_ops *listen, void *listen_arg,
		    stream_tx_fn *tx, void *tx_arg);

/* Connections are dropped without co_free(); NULL is a no-op. */
void		 stream_free(struct stream *s);

/*
 * One received packet of <len> bytes (header and payload) at <pkt>; any
 * content is handled: what makes no sense is counted and dropped, or
 * answered with RST as Linux does.
 */
void		 stream_input(struct stream *s, const uint8_t *pkt, size_t len,
		    uint64_t now);

/* app_recv() for the connections that got data, EOF or a kick. */
void		 stream_deliver(struct stream *s);

/*
 * Transmits what is pending while the device takes it (control packets,
 * then data as peer credit allows, round-robin), calls co_writable() when
 * send buffers drain, handles timeouts, and frees dead connections with
 * co_free().
 */
void		 stream_flush(struct stream *s, uint64_t now);

/* The device has room again after stream_tx_fn returned -1. */
void		 stream_tx_ready(struct stream *s);

/* Work that needs no interrupt to proceed: do not halt. */
bool		 stream_busy(const struct stream *s);

/* The next timeout, or UINT64_MAX. */
uint64_t	 stream_deadline(const struct stream *s);

/*
 * The device lost every connection (VIRTIO_VSOCK_EVENT_TRANSPORT_RESET):
 * all are dropped, co_free() follows in stream_flush(); new CID <cid>.
 */
void		 stream_reset(struct stream *s, uint64_t cid);

/*
 * Opens a connection to <cid>:<port> owned by <ops>/<st>: co_connected()
 * when the peer accepts; co_free() when it is over, accepted or not.
 * conn_send() may be used at once (data waits for the connection).  NULL
 * when out of memory or connections.
 */
struct conn	*stream_connect(struct stream *s, uint64_t cid, uint32_t port,
		    const struct stream_conn_ops *ops, void *st, uint64_t now);

void		 stream_stats_get(const struct stream *s,
		    struct stream_stats *st);

/*
 * Bytes we may send to a peer that announced <buf_alloc> and <fwd_cnt>
 * when we have sent <tx_cnt> in all (virtio 1.2 5.10.6.3, u32 arithmetic
 * with wrap-around); 0 for impossible combinations.
 */
uint32_t	 stream_credit_avail(uint32_t buf_alloc, uint32_t tx_cnt,
		    uint32_t fwd_cnt);

#endif /* GUEST_STREAM_H */
