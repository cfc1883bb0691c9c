/*
 * guest/vsock.h: the virtio-vsock device driver (virtio 1.2 section
 * 5.10): its three queues, receive buffers and transmit slots, feeding
 * guest/stream.c, which holds the connections.
 */
#ifndef GUEST_VSOCK_H
#define GUEST_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

struct stream;
struct stream_conn_ops;
struct vsock;		/* opaque; one per device, owned by main */

/*
 * Drives the virtio-mmio device at <base>/<size>/<irq> (already probed as
 * a vsock device) and listens on <port> with <listen>/<arg>.  NULL, with
 * the reason printed, if the device or memory fails.
 */
struct vsock	*vsock_new(uint64_t base, uint64_t size, uint32_t irq,
		    uint32_t port, const struct stream_conn_ops *listen,
		    void *arg);

uint64_t	 vsock_cid(const struct vsock *v);
struct stream	*vsock_stream(struct vsock *v);

/*
 * One turn of the main loop for this device: feeds received packets and
 * events to the stream layer and recycles transmitted buffers.
 */
void		 vsock_poll(struct vsock *v, uint64_t now);

/* Hands the device the buffers queued since the last call (notify). */
void		 vsock_kick(struct vsock *v);

/*
 * The device has returned buffers vsock_poll() has not seen.  Call with
 * interrupts off just before halting.
 */
bool		 vsock_pending(const struct vsock *v);

#endif /* GUEST_VSOCK_H */
