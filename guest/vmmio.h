/*
 * guest/vmmio.h: the virtio-mmio transport, version 2 (virtio 1.2 section
 * 4.2.2): probing a device window, the initialization sequence of 3.1.1,
 * queue setup, notification, interrupt acknowledgement and config space.
 */
#ifndef GUEST_VMMIO_H
#define GUEST_VMMIO_H

#include <stdbool.h>
#include <stdint.h>

struct virtq;

#define VMMIO_F_VERSION_1	(1ULL << 32)

#define VMMIO_DEV_VSOCK		19

/* One virtio-mmio device; plain data, owned by its driver. */
struct vmmio {
	uint64_t	 vm_base;
	uint64_t	 vm_size;
	uint32_t	 vm_irq;
	uint32_t	 vm_device_id;
	uint64_t	 vm_features;	/* negotiated */
};

/*
 * Checks the window at <base> (<size> bytes, IRQ <irq>): magic, version 2
 * and a non-zero device ID.  -1 if there is no usable device.
 */
int	 vmmio_probe(struct vmmio *d, uint64_t base, uint64_t size,
	    uint32_t irq);

/*
 * Resets the device, sets ACKNOWLEDGE and DRIVER, accepts the features in
 * <wanted> the device offers, and needs those in <required>
 * (VMMIO_F_VERSION_1 at least) and FEATURES_OK to stick.  -1 (device
 * marked FAILED) otherwise.
 */
int	 vmmio_negotiate(struct vmmio *d, uint64_t wanted, uint64_t required);

/*
 * Sets up queue <index> with at most <max> entries (QueueNumMax and a
 * power of two permitting) and returns it, ready; NULL if the device has
 * no such queue or memory is short.
 */
struct virtq *vmmio_queue(struct vmmio *d, uint32_t index, uint16_t max);

/* DRIVER_OK: the device may use the queues. */
void	 vmmio_driver_ok(struct vmmio *d);

/* FAILED: give up on the device. */
void	 vmmio_fail(struct vmmio *d);

/* Tells the device queue <index> has new buffers (fenced). */
void	 vmmio_notify(struct vmmio *d, uint32_t index);

/* Reads and acknowledges InterruptStatus; returns it. */
uint32_t vmmio_irq_ack(struct vmmio *d);

/*
 * A consistent 64-bit read at config offset <off> (two 32-bit reads,
 * retried while ConfigGeneration changes).
 */
uint64_t vmmio_config64(struct vmmio *d, uint32_t off);

#endif /* GUEST_VMMIO_H */
