/*
 * vmm/mmio.c: the virtio-mmio version 2 transport (virtio 1.2 §4.2.2).
 *
 * Two halves that meet under md_mtx.  The vCPU half is the register file:
 * bus callbacks read and write it and never touch a virtqueue.  The device
 * half runs on the loop thread: it owns the struct vq array and calls the
 * device.  The vCPU half wakes the device half with eventfds, never with
 * anything that can fill up: md_ctlfd when Status or QueueReady changed
 * (the device half then reconciles, so any number of wake-ups collapse
 * into one), and one eventfd per queue for QueueNotify, which KVM signals
 * itself when an ioeventfd is registered.
 *
 * A driver reset is finished only when the device half has stopped using
 * the old rings, so until then Status keeps reading non-zero (§2.4.1: the
 * driver waits for 0).  InterruptStatus is an atomic word both halves use.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/bus.h"
#include "vmm/gmem.h"
#include "vmm/hv.h"
#include "vmm/loop.h"
#include "vmm/mmio.h"
#include "vmm/vq.h"

/* Register offsets, §4.2.2. */
#define MMIO_MAGIC_VALUE	0x000
#define MMIO_VERSION		0x004
#define MMIO_DEVICE_ID		0x008
#define MMIO_VENDOR_ID		0x00c
#define MMIO_DEVICE_FEATURES	0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES	0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL		0x030
#define MMIO_QUEUE_NUM_MAX	0x034
#define MMIO_QUEUE_NUM		0x038
#define MMIO_QUEUE_READY	0x044
#define MMIO_QUEUE_NOTIFY	0x050
#define MMIO_INTERRUPT_STATUS	0x060
#define MMIO_INTERRUPT_ACK	0x064
#define MMIO_STATUS		0x070
#define MMIO_QUEUE_DESC_LOW	0x080
#define MMIO_QUEUE_DESC_HIGH	0x084
#define MMIO_QUEUE_DRIVER_LOW	0x090
#define MMIO_QUEUE_DRIVER_HIGH	0x094
#define MMIO_QUEUE_DEVICE_LOW	0x0a0
#define MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define MMIO_SHM_LEN_LOW	0x0b0
#define MMIO_SHM_LEN_HIGH	0x0b4
#define MMIO_SHM_BASE_LOW	0x0b8
#define MMIO_SHM_BASE_HIGH	0x0bc
#define MMIO_CONFIG_GENERATION	0x0fc
#define MMIO_CONFIG		0x100

#define MMIO_MAGIC		0x74726976	/* "virt" */
#define MMIO_VENDOR		0x554d4551	/* "QEMU", as most VMMs say */

/* Device status bits, §2.1. */
#define MMIO_S_ACKNOWLEDGE	0x01
#define MMIO_S_DRIVER		0x02
#define MMIO_S_DRIVER_OK	0x04
#define MMIO_S_FEATURES_OK	0x08
#define MMIO_S_NEEDS_RESET	0x40
#define MMIO_S_FAILED		0x80

#define MMIO_INT_VRING		0x1
#define MMIO_INT_CONFIG		0x2

/* What the driver wrote for one queue; vCPU half. */
struct mmio_queue {
	uint32_t	 mq_num;
	uint32_t	 mq_ready;
	uint32_t	 mq_gen;	/* which QueueReady=1 this is */
	uint64_t	 mq_desc;
	uint64_t	 mq_driver;
	uint64_t	 mq_device;
};

struct mmio_dev {
	const struct mmio_dev_ops *md_ops;
	void			*md_dev;
	struct loop		*md_loop;
	struct gmem		*md_gm;
	uint64_t		 md_base;

	int			 md_ctlfd;
	int			 md_irqfd;
	int			 md_qfd[MMIO_QUEUES_MAX];
	uint32_t		 md_isr;	/* atomic: InterruptStatus */

	/* vCPU half, under md_mtx. */
	pthread_mutex_t		 md_mtx;
	uint32_t		 md_status;
	uint32_t		 md_status_old;	/* shown while a reset runs */
	uint32_t		 md_dfsel;
	uint32_t		 md_drfsel;
	uint64_t		 md_drv_features;
	int			 md_drv_bad;	/* wrote a page we lack */
	uint32_t		 md_qsel;
	struct mmio_queue	 md_q[MMIO_QUEUES_MAX];
	uint32_t		 md_qgen;	/* last mq_gen handed out */
	unsigned		 md_reset_req;	/* resets asked for */
	unsigned		 md_reset_done;	/* resets the device finished */

	/* Device half, loop thread only. */
	int			 md_active;
	struct vq		 md_vqs[MMIO_QUEUES_MAX];
	uint32_t		 md_vq_gen[MMIO_QUEUES_MAX];	/* of md_vqs */
};

static void	mmio_read_cb(void *, uint64_t, void *, uint32_t);
static void	mmio_write_cb(void *, uint64_t, const void *, uint32_t);
static uint32_t	mmio_read_reg(struct mmio_dev *, uint64_t);
static int	mmio_write_reg(struct mmio_dev *, uint64_t, uint32_t);
static int	mmio_write_status(struct mmio_dev *, uint32_t);
static void	mmio_reset_regs(struct mmio_dev *);
static void	mmio_ctl_cb(int, uint32_t, void *);
static void	mmio_queue_cb(int, uint32_t, void *);
static int	mmio_start_queue(struct mmio_dev *, unsigned,
		    const struct mmio_queue *);
static void	mmio_kick(int);

static const struct bus_ops mmio_bus_ops = {
	.read = mmio_read_cb,
	.write = mmio_write_cb,
};

struct mmio_dev *
mmio_new(struct bus *b, struct hv *hv, struct loop *lp, struct gmem *gm,
    uint64_t base, uint32_t gsi, const struct mmio_dev_ops *ops, void *dev)
{
	struct mmio_dev	*md;
	unsigned	 i;

	if (ops->mo_nqueues == 0 || ops->mo_nqueues > MMIO_QUEUES_MAX ||
	    ops->mo_queue_max == 0 || ops->mo_queue_max > VQ_SIZE_MAX ||
	    ops->mo_config_size > MMIO_SLOT_SIZE - MMIO_CONFIG) {
		errno = EINVAL;
		return NULL;
	}
	if ((md = calloc(1, sizeof(*md))) == NULL)
		return NULL;
	md->md_ops = ops;
	md->md_dev = dev;
	md->md_loop = lp;
	md->md_gm = gm;
	md->md_base = base;
	md->md_ctlfd = md->md_irqfd = -1;
	for (i = 0; i < MMIO_QUEUES_MAX; i++)
		md->md_qfd[i] = -1;
	pthread_mutex_init(&md->md_mtx, NULL);

	if ((md->md_ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (md->md_irqfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		goto fail;
	if (loop_add(lp, md->md_ctlfd, EPOLLIN, mmio_ctl_cb, md) == -1)
		goto fail;
	for (i = 0; i < ops->mo_nqueues; i++) {
		if ((md->md_qfd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) ==
		    -1)
			goto fail;
		if (loop_add(lp, md->md_qfd[i], EPOLLIN, mmio_queue_cb,
		    md) == -1)
			goto fail;
	}
	if (bus_register(b, BUS_MMIO, base, MMIO_SLOT_SIZE, &mmio_bus_ops,
	    md) == -1)
		goto fail;
	/*
	 * Without these the device still works, only slower: notifications
	 * come through the bus and the interrupt eventfd reaches nobody
	 * unless the VMM watches it.
	 */
	if (hv != NULL) {
		for (i = 0; i < ops->mo_nqueues; i++)
			if (hv_ioeventfd(hv, base + MMIO_QUEUE_NOTIFY, 4, i,
			    md->md_qfd[i]) == -1)
				log_warn("virtio-mmio@%#llx: queue %u: ioeventfd",
				    (unsigned long long)base, i);
		if (hv_irqfd(hv, md->md_irqfd, gsi) == -1)
			log_warn("virtio-mmio@%#llx: irqfd for gsi %u",
			    (unsigned long long)base, gsi);
	}
	return md;
fail:
	mmio_free(md);
	return NULL;
}

void
mmio_free(struct mmio_dev *md)
{
	unsigned	 i;
	int		 saved = errno;

	if (md == NULL)
		return;
	for (i = 0; i < MMIO_QUEUES_MAX; i++) {
		if (md->md_qfd[i] == -1)
			continue;
		(void)loop_del(md->md_loop, md->md_qfd[i]);
		close(md->md_qfd[i]);
	}
	if (md->md_ctlfd != -1) {
		(void)loop_del(md->md_loop, md->md_ctlfd);
		close(md->md_ctlfd);
	}
	if (md->md_irqfd != -1)
		close(md->md_irqfd);
	pthread_mutex_destroy(&md->md_mtx);
	free(md);
	errno = saved;
}

int
mmio_irq_fd(const struct mmio_dev *md)
{
	return md->md_irqfd;
}

static void
mmio_kick(int fd)
{
	uint64_t	 one = 1;

	/* Only fails when the counter would overflow: it is set anyway. */
	(void)!write(fd, &one, sizeof(one));
}

/* ---- vCPU half: the register file. */

static void
mmio_read_cb(void *arg, uint64_t off, void *data, uint32_t len)
{
	struct mmio_dev	*md = arg;
	uint32_t	 v;

	memset(data, 0, len);
	if (off >= MMIO_CONFIG) {
		/* Config fields are read at their natural width (§4.2.2.2). */
		off -= MMIO_CONFIG;
		if ((len != 1 && len != 2 && len != 4 && len != 8) ||
		    (off & (len - 1)) != 0 ||
		    off + len > md->md_ops->mo_config_size)
			return;
		md->md_ops->mo_config_read(md->md_dev, (uint32_t)off, data, len);
		return;
	}
	if (len != 4 || (off & 3) != 0) {
		log_debug("virtio-mmio@%#llx: %u-byte read at %#llx ignored",
		    (unsigned long long)md->md_base, len,
		    (unsigned long long)off);
		return;
	}
	pthread_mutex_lock(&md->md_mtx);
	v = mmio_read_reg(md, off);
	pthread_mutex_unlock(&md->md_mtx);
	memcpy(data, &v, sizeof(v));
}

/* Under md_mtx. */
static uint32_t
mmio_read_reg(struct mmio_dev *md, uint64_t off)
{
	const struct mmio_dev_ops	*ops = md->md_ops;
	const struct mmio_queue		*q = NULL;
	uint64_t			 feat;

	if (md->md_qsel < ops->mo_nqueues)
		q = &md->md_q[md->md_qsel];
	switch (off) {
	case MMIO_MAGIC_VALUE:
		return MMIO_MAGIC;
	case MMIO_VERSION:
		return 2;
	case MMIO_DEVICE_ID:
		return ops->mo_device_id;
	case MMIO_VENDOR_ID:
		return MMIO_VENDOR;
	case MMIO_DEVICE_FEATURES:
		feat = ops->mo_features | MMIO_F_VERSION_1;
		if (md->md_dfsel == 0)
			return (uint32_t)feat;
		if (md->md_dfsel == 1)
			return (uint32_t)(feat >> 32);
		return 0;
	case MMIO_QUEUE_NUM_MAX:
		return q != NULL ? ops->mo_queue_max : 0;
	case MMIO_QUEUE_READY:
		return q != NULL ? q->mq_ready : 0;
	case MMIO_INTERRUPT_STATUS:
		return __atomic_load_n(&md->md_isr, __ATOMIC_ACQUIRE);
	case MMIO_STATUS:
		if (md->md_status == 0 && md->md_reset_req != md->md_reset_done)
			return md->md_status_old;
		return md->md_status;
	case MMIO_SHM_LEN_LOW:
	case MMIO_SHM_LEN_HIGH:
	case MMIO_SHM_BASE_LOW:
	case MMIO_SHM_BASE_HIGH:
		return 0xffffffff;	/* no shared memory region (§4.2.2) */
	case MMIO_CONFIG_GENERATION:
		return 0;		/* our config never changes */
	default:
		return 0;		/* write-only or reserved */
	}
}

static void
mmio_write_cb(void *arg, uint64_t off, const void *data, uint32_t len)
{
	struct mmio_dev	*md = arg;
	uint32_t	 v;
	int		 kick;

	if (off >= MMIO_CONFIG)
		return;			/* config spaces we offer are read-only */
	if (len != 4 || (off & 3) != 0) {
		log_debug("virtio-mmio@%#llx: %u-byte write at %#llx ignored",
		    (unsigned long long)md->md_base, len,
		    (unsigned long long)off);
		return;
	}
	memcpy(&v, data, sizeof(v));
	if (off == MMIO_QUEUE_NOTIFY) {
		/* Here only when no ioeventfd took the write. */
		if (v < md->md_ops->mo_nqueues)
			mmio_kick(md->md_qfd[v]);
		return;
	}
	if (off == MMIO_INTERRUPT_ACK) {
		__atomic_and_fetch(&md->md_isr, ~v, __ATOMIC_ACQ_REL);
		return;
	}
	pthread_mutex_lock(&md->md_mtx);
	kick = mmio_write_reg(md, off, v);
	pthread_mutex_unlock(&md->md_mtx);
	if (kick)
		mmio_kick(md->md_ctlfd);
}

/* Under md_mtx.  1 when the device half must look at the new state. */
static int
mmio_write_reg(struct mmio_dev *md, uint64_t off, uint32_t v)
{
	struct mmio_queue	*q = NULL;

	if (md->md_qsel < md->md_ops->mo_nqueues)
		q = &md->md_q[md->md_qsel];
	switch (off) {
	case MMIO_DEVICE_FEATURES_SEL:
		md->md_dfsel = v;
		return 0;
	case MMIO_DRIVER_FEATURES_SEL:
		md->md_drfsel = v;
		return 0;
	case MMIO_DRIVER_FEATURES:
		/* Frozen once FEATURES_OK is set (§3.1.1). */
		if (md->md_status & MMIO_S_FEATURES_OK)
			return 0;
		if (md->md_drfsel == 0)
			md->md_drv_features = (md->md_drv_features &
			    ~0xffffffffULL) | v;
		else if (md->md_drfsel == 1)
			md->md_drv_features = (md->md_drv_features &
			    0xffffffffULL) | ((uint64_t)v << 32);
		else if (v != 0)
			md->md_drv_bad = 1;
		return 0;
	case MMIO_QUEUE_SEL:
		md->md_qsel = v;
		return 0;
	case MMIO_STATUS:
		return mmio_write_status(md, v);
	}
	if (q == NULL)
		return 0;
	/* The rest configures a queue, only while it is off (§4.2.3.2). */
	if (q->mq_ready) {
		if (off != MMIO_QUEUE_READY || (v & 1))
			return 0;
		q->mq_ready = 0;
		return 1;
	}
	switch (off) {
	case MMIO_QUEUE_NUM:
		q->mq_num = v;
		return 0;
	case MMIO_QUEUE_READY:
		q->mq_ready = v & 1;
		if (q->mq_ready)
			q->mq_gen = ++md->md_qgen;
		return q->mq_ready;
	case MMIO_QUEUE_DESC_LOW:
		q->mq_desc = (q->mq_desc & ~0xffffffffULL) | v;
		return 0;
	case MMIO_QUEUE_DESC_HIGH:
		q->mq_desc = (q->mq_desc & 0xffffffffULL) | (uint64_t)v << 32;
		return 0;
	case MMIO_QUEUE_DRIVER_LOW:
		q->mq_driver = (q->mq_driver & ~0xffffffffULL) | v;
		return 0;
	case MMIO_QUEUE_DRIVER_HIGH:
		q->mq_driver = (q->mq_driver & 0xffffffffULL) |
		    (uint64_t)v << 32;
		return 0;
	case MMIO_QUEUE_DEVICE_LOW:
		q->mq_device = (q->mq_device & ~0xffffffffULL) | v;
		return 0;
	case MMIO_QUEUE_DEVICE_HIGH:
		q->mq_device = (q->mq_device & 0xffffffffULL) |
		    (uint64_t)v << 32;
		return 0;
	}
	return 0;
}

/* Under md_mtx. */
static int
mmio_write_status(struct mmio_dev *md, uint32_t v)
{
	uint64_t	 offered;
	uint32_t	 added;

	if (v == 0) {
		if (md->md_status != 0)
			md->md_status_old = md->md_status;
		mmio_reset_regs(md);
		md->md_reset_req++;
		return 1;
	}
	/*
	 * The driver only ever adds bits (§2.1.2), and NEEDS_RESET is ours to
	 * set: keep what was there.
	 */
	added = v & ~md->md_status & ~MMIO_S_NEEDS_RESET;
	if (added & MMIO_S_FEATURES_OK) {
		offered = md->md_ops->mo_features | MMIO_F_VERSION_1;
		if (md->md_drv_bad || (md->md_drv_features & ~offered) != 0 ||
		    !(md->md_drv_features & MMIO_F_VERSION_1)) {
			/* Leaving FEATURES_OK clear is the refusal (§3.1.1). */
			added &= ~MMIO_S_FEATURES_OK;
		}
	}
	if ((added & MMIO_S_DRIVER_OK) &&
	    !((md->md_status | added) & MMIO_S_FEATURES_OK)) {
		log_warnx("virtio-mmio@%#llx: DRIVER_OK without FEATURES_OK",
		    (unsigned long long)md->md_base);
		added &= ~MMIO_S_DRIVER_OK;
		added |= MMIO_S_NEEDS_RESET;
		__atomic_or_fetch(&md->md_isr, MMIO_INT_CONFIG,
		    __ATOMIC_ACQ_REL);
		mmio_kick(md->md_irqfd);
	}
	md->md_status |= added;
	return (added & MMIO_S_DRIVER_OK) != 0;
}

/* Under md_mtx: the register side of a reset (§4.2.2.1). */
static void
mmio_reset_regs(struct mmio_dev *md)
{
	md->md_status = 0;
	md->md_dfsel = md->md_drfsel = 0;
	md->md_drv_features = 0;
	md->md_drv_bad = 0;
	md->md_qsel = 0;
	memset(md->md_q, 0, sizeof(md->md_q));
	__atomic_store_n(&md->md_isr, 0, __ATOMIC_RELEASE);
}

/* ---- Device half: the loop thread. */

static void
mmio_ctl_cb(int fd, uint32_t revents, void *arg)
{
	struct mmio_dev		*md = arg;
	struct mmio_queue	 q[MMIO_QUEUES_MAX];
	uint64_t		 features, v;
	unsigned		 i, reset_req, nq = md->md_ops->mo_nqueues;
	int			 run, started;

	(void)revents;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&md->md_mtx);
	reset_req = md->md_reset_req;
	run = (md->md_status & (MMIO_S_DRIVER_OK | MMIO_S_NEEDS_RESET)) ==
	    MMIO_S_DRIVER_OK;
	features = md->md_drv_features;
	memcpy(q, md->md_q, sizeof(q));
	pthread_mutex_unlock(&md->md_mtx);

	if (reset_req != md->md_reset_done) {
		if (md->md_active)
			md->md_ops->mo_reset(md->md_dev);
		md->md_active = 0;
		memset(md->md_vqs, 0, sizeof(md->md_vqs));
		pthread_mutex_lock(&md->md_mtx);
		md->md_reset_done = reset_req;
		pthread_mutex_unlock(&md->md_mtx);
	}
	if (!run)
		return;
	started = 0;
	for (i = 0; i < nq; i++) {
		if (!q[i].mq_ready) {
			md->md_vqs[i].vq_ready = 0;
			continue;
		}
		/*
		 * Still the rings we started, unless the driver turned the
		 * queue off and on again (new rings) before we looked.
		 */
		if (md->md_vqs[i].vq_ready && md->md_vq_gen[i] == q[i].mq_gen)
			continue;
		if (mmio_start_queue(md, i, &q[i]) == -1) {
			mmio_needs_reset(md);
			return;
		}
		md->md_vq_gen[i] = q[i].mq_gen;
		started |= 1 << i;
	}
	if (!md->md_active) {
		md->md_active = 1;
		md->md_ops->mo_activate(md->md_dev, md, md->md_vqs, features);
	}
	/* The driver may have notified before we were looking (§3.1.1). */
	for (i = 0; i < nq; i++)
		if ((started & (1 << i)) && md->md_active &&
		    md->md_vqs[i].vq_ready)
			md->md_ops->mo_notify(md->md_dev, i);
}

static int
mmio_start_queue(struct mmio_dev *md, unsigned i, const struct mmio_queue *q)
{
	if (q->mq_num > md->md_ops->mo_queue_max ||
	    vq_init(&md->md_vqs[i], md->md_gm, (uint16_t)q->mq_num,
	    q->mq_desc, q->mq_driver, q->mq_device) == -1) {
		log_warnx("virtio-mmio@%#llx: queue %u: bad size %u or rings "
		    "%#llx %#llx %#llx", (unsigned long long)md->md_base, i,
		    q->mq_num, (unsigned long long)q->mq_desc,
		    (unsigned long long)q->mq_driver,
		    (unsigned long long)q->mq_device);
		return -1;
	}
	return 0;
}

static void
mmio_queue_cb(int fd, uint32_t revents, void *arg)
{
	struct mmio_dev	*md = arg;
	uint64_t	 v;
	unsigned	 i;

	(void)revents;
	(void)!read(fd, &v, sizeof(v));
	if (!md->md_active)
		return;
	for (i = 0; i < md->md_ops->mo_nqueues; i++)
		if (md->md_qfd[i] == fd)
			break;
	if (i == md->md_ops->mo_nqueues || !md->md_vqs[i].vq_ready ||
	    md->md_vqs[i].vq_broken)
		return;
	md->md_ops->mo_notify(md->md_dev, i);
}

void
mmio_interrupt(struct mmio_dev *md, unsigned q)
{
	if (q < md->md_ops->mo_nqueues && !vq_want_interrupt(&md->md_vqs[q]))
		return;
	__atomic_or_fetch(&md->md_isr, MMIO_INT_VRING, __ATOMIC_ACQ_REL);
	mmio_kick(md->md_irqfd);
}

void
mmio_notify_again(struct mmio_dev *md, unsigned q)
{
	if (q < md->md_ops->mo_nqueues)
		mmio_kick(md->md_qfd[q]);
}

void
mmio_needs_reset(struct mmio_dev *md)
{
	unsigned	 i;
	int		 raise = 0;

	for (i = 0; i < MMIO_QUEUES_MAX; i++)
		md->md_vqs[i].vq_broken = 1;
	pthread_mutex_lock(&md->md_mtx);
	/* A reset since the error started a new driver that did no wrong. */
	if (md->md_status != 0 && !(md->md_status & MMIO_S_NEEDS_RESET) &&
	    md->md_reset_req == md->md_reset_done) {
		/* The cause is in InterruptStatus before Status shows it. */
		__atomic_or_fetch(&md->md_isr, MMIO_INT_CONFIG,
		    __ATOMIC_ACQ_REL);
		md->md_status |= MMIO_S_NEEDS_RESET;
		raise = 1;
	}
	pthread_mutex_unlock(&md->md_mtx);
	if (!raise)
		return;
	log_warnx("virtio-mmio@%#llx: device needs reset: driver error",
	    (unsigned long long)md->md_base);
	mmio_kick(md->md_irqfd);
}

void
mmio_dump(struct mmio_dev *md)
{
	char		 line[200];
	uint32_t	 status;
	unsigned	 i;

	pthread_mutex_lock(&md->md_mtx);
	status = md->md_status;
	pthread_mutex_unlock(&md->md_mtx);
	log_info("virtio-mmio@%#llx: status %#x isr %#x active %d",
	    (unsigned long long)md->md_base, status,
	    __atomic_load_n(&md->md_isr, __ATOMIC_RELAXED), md->md_active);
	for (i = 0; i < md->md_ops->mo_nqueues && i < MMIO_QUEUES_MAX; i++) {
		vq_describe(&md->md_vqs[i], line, sizeof(line));
		log_info("virtio-mmio@%#llx: queue %u: %s",
		    (unsigned long long)md->md_base, i, line);
	}
}
