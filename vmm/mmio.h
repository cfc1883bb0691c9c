/*
 * vmm/mmio.h: the virtio-mmio transport, version 2 (virtio 1.2 §4.2.2).
 * One struct mmio_dev per device: it owns the register file the vCPUs
 * see, the virtqueues, the queue-notify eventfds and the interrupt
 * eventfd; the device behind it (vsock, ...) is a table of callbacks.
 *
 * Threads: registers are accessed on vCPU threads (bus callbacks) under a
 * mutex; everything the device does runs on the device thread (struct
 * loop), including the activate, notify and reset callbacks.
 */
#ifndef VMM_MMIO_H
#define VMM_MMIO_H

#include <stdint.h>

#define MMIO_SLOT_SIZE		0x1000
#define MMIO_QUEUES_MAX		8

/* Feature bits the transport knows (§6). */
#define MMIO_F_VERSION_1	(1ULL << 32)

struct bus;
struct gmem;
struct hv;
struct loop;
struct vq;
struct mmio_dev;	/* opaque; owned by struct vm */

/*
 * What a device tells the transport.  <dev> is the device pointer given to
 * mmio_new().
 */
struct mmio_dev_ops {
	uint32_t	 mo_device_id;	/* DeviceID register */
	uint64_t	 mo_features;	/* offered; VERSION_1 is always added */
	unsigned	 mo_nqueues;	/* 1 .. MMIO_QUEUES_MAX */
	uint16_t	 mo_queue_max;	/* QueueNumMax, <= VQ_SIZE_MAX */
	uint32_t	 mo_config_size;	/* bytes of config space at 0x100 */

	/*
	 * vCPU thread: fill <data> with the <len> config bytes at <off>;
	 * the transport has checked that they lie within mo_config_size.
	 */
	void	(*mo_config_read)(void *dev, uint32_t off, void *data,
		    uint32_t len);
	/*
	 * Device thread: the driver set DRIVER_OK with <features>.  <vqs> has
	 * mo_nqueues entries, owned by the transport and valid until
	 * mo_reset; a queue is usable while vq_ready is set and vq_broken is
	 * not.  Every ready queue gets an mo_notify right after.
	 */
	void	(*mo_activate)(void *dev, struct mmio_dev *md, struct vq *vqs,
		    uint64_t features);
	/* Device thread: the driver notified queue <q>. */
	void	(*mo_notify)(void *dev, unsigned q);
	/* Device thread: the driver reset the device; forget <vqs>. */
	void	(*mo_reset)(void *dev);
};

/*
 * Maps a virtio-mmio device at [<base>, <base> + MMIO_SLOT_SIZE) on <b>,
 * interrupting on <gsi>.  When <hv> is given, queue notifications arrive
 * by ioeventfd and interrupts leave by irqfd; without <hv>, or if
 * registering them fails, QueueNotify writes that reach the bus are
 * handed to the device thread and interrupts only signal the eventfd that
 * mmio_irq_fd() returns.  <ops> and <dev> are borrowed and must outlive
 * the result.  Before vCPUs start.  NULL on error, errno set.
 */
struct mmio_dev	*mmio_new(struct bus *b, struct hv *hv, struct loop *lp,
		    struct gmem *gm, uint64_t base, uint32_t gsi,
		    const struct mmio_dev_ops *ops, void *dev);
/*
 * After the vCPUs and the loop have stopped, and before the device is
 * freed.  NULL is a no-op.  The bus range stays registered: the bus is
 * freed with the VM.
 */
void		 mmio_free(struct mmio_dev *md);

/* The interrupt eventfd: what a VMM without irqfd, or a test, watches. */
int		 mmio_irq_fd(const struct mmio_dev *md);

/*
 * Device thread: used buffers were added to queue <q>; interrupts the
 * driver unless it asked not to be.
 */
void		 mmio_interrupt(struct mmio_dev *md, unsigned q);

/*
 * Device thread: queue <q> has more work than one turn of the loop should
 * do (a guest that refills a ring as fast as we drain it would otherwise
 * keep the device thread, and the signals it handles, to itself).
 * mo_notify(<q>) comes again after the loop has served what else is
 * ready.
 */
void		 mmio_notify_again(struct mmio_dev *md, unsigned q);

/*
 * Device thread: the driver broke the device (a malformed ring, say).
 * Sets DEVICE_NEEDS_RESET, stops every queue and raises a configuration
 * change interrupt (§2.1.2); the driver's next reset recovers.
 */
void		 mmio_needs_reset(struct mmio_dev *md);
/*
 * Logs the transport's state and each queue's indexes (vq_describe()),
 * at info level: what SIGUSR2 asks for.  Device thread.
 */
void		 mmio_dump(struct mmio_dev *md);

#endif /* VMM_MMIO_H */
