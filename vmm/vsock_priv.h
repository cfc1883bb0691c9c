/*
 * vmm/vsock_priv.h: what vmm/vsock.c (the device: queues and packets) and
 * vmm/vsock_host.c (the Unix-socket side: streams, the listener, the
 * CONNECT handshake, timers) share.  Not for use outside vmm/vsock*.c.
 * Everything here lives on the device thread.
 */
#ifndef VMM_VSOCK_PRIV_H
#define VMM_VSOCK_PRIV_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include "vmm/vq.h"
#include "vmm/vsock.h"

struct mmio_dev;

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
	uint32_t		 vc_peer_shut;	/* VSOCK_SHUT_* from the guest */
	uint32_t		 vc_fwd_cnt;	/* bytes written to the client */
	uint32_t		 vc_fwd_adv;	/* vc_fwd_cnt the guest knows */
	uint8_t			*vc_buf;	/* vp_buf_alloc bytes, lazily */
	uint32_t		 vc_bhead;
	uint32_t		 vc_blen;
	int			 vc_wr_shut;	/* did shutdown(SHUT_WR) */
	int			 vc_rd_shut;	/* did shutdown(SHUT_RD) */

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
	int			 vs_bound;	/* vs_path is our socket */
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

/* vsock.c */
uint32_t	 vsock_conn_credit(const struct vsock_conn *);
/*
 * Fills rx chain <ch> with the next packet <c> owes the guest; its
 * length, or 0 when <c> owes nothing.  <c> may be freed.
 */
int		 vsock_conn_rx(struct vsock_conn *, struct vq_chain *);
/* Queues an RST for the stream (<lport>, <pport>) the guest may know. */
void		 vsock_rst_queue(struct vsock *, uint32_t, uint32_t);
/* Gives the guest what is owed while it gives us rx buffers. */
void		 vsock_rx_run(struct vsock *);

/* vsock_host.c */
/* Binds and listens on vs_path, and makes the timer.  -1 on error. */
int		 vsock_host_listen(struct vsock *);
/* Closes every stream, the listener and the timer; unlinks vs_path. */
void		 vsock_host_close(struct vsock *);
/* Every stream goes, host sockets closed, no RST: a reset or the end. */
void		 vsock_host_drop_all(struct vsock *);
void		 vsock_host_conn_free(struct vsock_conn *);
/* Tells the guest the stream is gone (an RST), and frees it. */
void		 vsock_host_conn_reset(struct vsock_conn *);
struct vsock_conn *vsock_host_lookup(struct vsock *, uint32_t, uint32_t);
/* Recomputes the socket events and rx work of <c> after any change. */
void		 vsock_host_sched(struct vsock_conn *);
/* Arms a deadline <ms> from now, or clears it for 0. */
void		 vsock_host_deadline(struct vsock_conn *, unsigned);
/* Counts <n> guest bytes as delivered to the client. */
void		 vsock_host_consumed(struct vsock_conn *, uint32_t);
/* After guest data drained: half-close or end.  -1 when <c> was freed. */
int		 vsock_host_drained(struct vsock_conn *);
/* The guest's REQUEST <h> to a host port: connect to <uds_path>_<port>. */
void		 vsock_host_dial(struct vsock *, const struct vsock_hdr *);

#endif /* VMM_VSOCK_PRIV_H */
