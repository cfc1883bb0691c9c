/*
 * vmm/vsock.h: the virtio-vsock device (virtio 1.2 §5.10), stream sockets
 * only, with its host side on Unix sockets as Firecracker does it: host
 * clients connect to <uds_path> and write "CONNECT <port>\n"; guest
 * connections to host port P reach <uds_path>_<P>.
 *
 * The device lives on the device thread (struct loop): every function
 * here but vsock_new() before the loop runs, and vsock_free() after it
 * stopped, is for that thread only.  vmm/vsock.c is the device,
 * vmm/vsock_host.c the Unix-socket side.
 */
#ifndef VMM_VSOCK_H
#define VMM_VSOCK_H

#include <stdint.h>

struct gmem;
struct loop;
struct mmio_dev_ops;
struct vsock;	/* opaque; owned by struct vm */

#define VSOCK_HOST_CID		2
#define VSOCK_DEVICE_ID		19

/* Limits and timeouts; vsock_params_default() gives the ones in brackets. */
struct vsock_params {
	unsigned	 vp_connect_ms;	/* guest's answer to a REQUEST [2000] */
	unsigned	 vp_line_ms;	/* host client's CONNECT line [5000] */
	unsigned	 vp_close_ms;	/* guest's RST after SHUTDOWN [2000] */
	uint32_t	 vp_buf_alloc;	/* guest->host bytes held per stream
					   [64 KiB]; also our credit */
	unsigned	 vp_conns_max;	/* streams, both directions [1024] */
};

void		 vsock_params_default(struct vsock_params *vp);

/*
 * A vsock device for a guest with CID <guest_cid> (3 .. 2^32 - 2).  Binds
 * and listens on <uds_path> now, after unlinking a stale socket there
 * (one nobody listens on), and accepts host clients on <lp>.  <gm> is
 * borrowed for the device's life.  NULL on error, errno set: EINVAL for a
 * bad CID or a path too long for a Unix socket, EEXIST when <uds_path> is
 * not a socket, EADDRINUSE when a live socket is there.
 */
struct vsock	*vsock_new(struct loop *lp, struct gmem *gm,
		    uint64_t guest_cid, const char *uds_path);
/* Closes every stream and the listener and unlinks uds_path.  NULL: no-op. */
void		 vsock_free(struct vsock *vs);

/*
 * Replaces the limits; before the loop runs.  -1 with EINVAL if a value is
 * 0 or vp_buf_alloc is not below 2^30.
 */
int		 vsock_set_params(struct vsock *vs,
		    const struct vsock_params *vp);

/*
 * Logs the device's queues of work and one line per stream (at most
 * <max>), at info level: what SIGUSR2 asks for.  Device thread.
 */
void		 vsock_dump(const struct vsock *vs, unsigned max);

/* Streams open now, in any state. */
unsigned	 vsock_nconns(const struct vsock *vs);

/*
 * Credit for sending to a peer that advertised <buf_alloc> and has
 * consumed <fwd_cnt> of the <tx_cnt> bytes sent to it (§5.10.6.3): all
 * free-running u32 counters.  0 when the peer claims more in flight than
 * its buffer holds.
 */
uint32_t	 vsock_credit(uint32_t buf_alloc, uint32_t fwd_cnt,
		    uint32_t tx_cnt);

/* The transport callbacks; the device pointer is the struct vsock. */
extern const struct mmio_dev_ops vsock_mmio_ops;

#endif /* VMM_VSOCK_H */
