/*
 * guest/vmmio.c: virtio-mmio version 2 (virtio 1.2 section 4.2.2) for
 * corral-guest.  Registers are 32-bit little-endian MMIO in the window
 * the command line announced; it is mapped uncached by guest/entry.S.
 * The device is not trusted: every value read is range-checked, and a
 * device that will not reset or accept our features is marked FAILED and
 * left alone.  No state beyond the caller's struct vmmio; main loop, and
 * vmmio_irq_ack() from the interrupt handler.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/cpu.h"
#include "guest/virtq.h"
#include "guest/vmmio.h"

#define VMMIO_MAGIC		0x74726976	/* "virt" */
#define VMMIO_WINDOW_MIN	0x200

#define R_MAGIC			0x000
#define R_VERSION		0x004
#define R_DEVICE_ID		0x008
#define R_DEVICE_FEATURES	0x010
#define R_DEVICE_FEATURES_SEL	0x014
#define R_DRIVER_FEATURES	0x020
#define R_DRIVER_FEATURES_SEL	0x024
#define R_QUEUE_SEL		0x030
#define R_QUEUE_NUM_MAX		0x034
#define R_QUEUE_NUM		0x038
#define R_QUEUE_READY		0x044
#define R_QUEUE_NOTIFY		0x050
#define R_INTERRUPT_STATUS	0x060
#define R_INTERRUPT_ACK		0x064
#define R_STATUS		0x070
#define R_QUEUE_DESC_LOW	0x080
#define R_QUEUE_DESC_HIGH	0x084
#define R_QUEUE_DRIVER_LOW	0x090
#define R_QUEUE_DRIVER_HIGH	0x094
#define R_QUEUE_DEVICE_LOW	0x0a0
#define R_QUEUE_DEVICE_HIGH	0x0a4
#define R_CONFIG_GENERATION	0x0fc
#define R_CONFIG		0x100

#define S_ACKNOWLEDGE		1
#define S_DRIVER		2
#define S_DRIVER_OK		4
#define S_FEATURES_OK		8
#define S_FAILED		128

#define VMMIO_SPIN_MAX		1000000

static uint32_t
vmmio_read(const struct vmmio *d, uint32_t reg)
{
	return cpu_mmio_read32(d->vm_base + reg);
}

static void
vmmio_write(struct vmmio *d, uint32_t reg, uint32_t v)
{
	cpu_mmio_write32(d->vm_base + reg, v);
}

int
vmmio_probe(struct vmmio *d, uint64_t base, uint64_t size, uint32_t irq)
{
	d->vm_base = base;
	d->vm_size = size;
	d->vm_irq = irq;
	d->vm_features = 0;
	d->vm_device_id = 0;
	/* Below 4 GiB (our page tables) and big enough for the registers. */
	if (size < VMMIO_WINDOW_MIN || base > 0x100000000ULL - size ||
	    (base & 3) != 0)
		return -1;
	if (vmmio_read(d, R_MAGIC) != VMMIO_MAGIC ||
	    vmmio_read(d, R_VERSION) != 2)
		return -1;
	d->vm_device_id = vmmio_read(d, R_DEVICE_ID);
	return d->vm_device_id == 0 ? -1 : 0;
}

static void
vmmio_status_set(struct vmmio *d, uint32_t bits)
{
	vmmio_write(d, R_STATUS, vmmio_read(d, R_STATUS) | bits);
}

void
vmmio_fail(struct vmmio *d)
{
	vmmio_status_set(d, S_FAILED);
}

int
vmmio_negotiate(struct vmmio *d, uint64_t wanted, uint64_t required)
{
	uint64_t	 offered;
	unsigned	 spin;

	/* Reset; a device must read back 0 once it is done (4.2.3.1). */
	vmmio_write(d, R_STATUS, 0);
	for (spin = 0; vmmio_read(d, R_STATUS) != 0; spin++)
		if (spin > VMMIO_SPIN_MAX)
			return -1;
	vmmio_status_set(d, S_ACKNOWLEDGE);
	vmmio_status_set(d, S_DRIVER);
	vmmio_write(d, R_DEVICE_FEATURES_SEL, 0);
	offered = vmmio_read(d, R_DEVICE_FEATURES);
	vmmio_write(d, R_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)vmmio_read(d, R_DEVICE_FEATURES) << 32;
	wanted |= required;
	if ((offered & required) != required)
		goto fail;
	d->vm_features = offered & wanted;
	vmmio_write(d, R_DRIVER_FEATURES_SEL, 0);
	vmmio_write(d, R_DRIVER_FEATURES, (uint32_t)d->vm_features);
	vmmio_write(d, R_DRIVER_FEATURES_SEL, 1);
	vmmio_write(d, R_DRIVER_FEATURES, (uint32_t)(d->vm_features >> 32));
	vmmio_status_set(d, S_FEATURES_OK);
	if (!(vmmio_read(d, R_STATUS) & S_FEATURES_OK))
		goto fail;
	return 0;
fail:
	vmmio_fail(d);
	return -1;
}

struct virtq *
vmmio_queue(struct vmmio *d, uint32_t index, uint16_t max)
{
	struct virtq	*vq;
	uint32_t	 nmax;
	uint16_t	 num;
	uint64_t	 a;

	vmmio_write(d, R_QUEUE_SEL, index);
	if (vmmio_read(d, R_QUEUE_READY) != 0)
		return NULL;
	nmax = vmmio_read(d, R_QUEUE_NUM_MAX);
	if (nmax == 0)
		return NULL;
	if (nmax > max)
		nmax = max;
	for (num = 1; (uint32_t)num * 2 <= nmax && num < VIRTQ_SIZE_MAX;
	    num *= 2)
		;
	if ((vq = virtq_new(num)) == NULL)
		return NULL;
	vmmio_write(d, R_QUEUE_NUM, num);
	a = virtq_desc_addr(vq);
	vmmio_write(d, R_QUEUE_DESC_LOW, (uint32_t)a);
	vmmio_write(d, R_QUEUE_DESC_HIGH, (uint32_t)(a >> 32));
	a = virtq_avail_addr(vq);
	vmmio_write(d, R_QUEUE_DRIVER_LOW, (uint32_t)a);
	vmmio_write(d, R_QUEUE_DRIVER_HIGH, (uint32_t)(a >> 32));
	a = virtq_used_addr(vq);
	vmmio_write(d, R_QUEUE_DEVICE_LOW, (uint32_t)a);
	vmmio_write(d, R_QUEUE_DEVICE_HIGH, (uint32_t)(a >> 32));
	cpu_mb();
	vmmio_write(d, R_QUEUE_READY, 1);
	return vq;
}

void
vmmio_driver_ok(struct vmmio *d)
{
	cpu_mb();
	vmmio_status_set(d, S_DRIVER_OK);
}

void
vmmio_notify(struct vmmio *d, uint32_t index)
{
	cpu_mb();
	vmmio_write(d, R_QUEUE_NOTIFY, index);
}

uint32_t
vmmio_irq_ack(struct vmmio *d)
{
	uint32_t	 st;

	st = vmmio_read(d, R_INTERRUPT_STATUS);
	if (st != 0)
		vmmio_write(d, R_INTERRUPT_ACK, st);
	return st;
}

uint64_t
vmmio_config64(struct vmmio *d, uint32_t off)
{
	uint32_t	 gen, lo, hi;
	unsigned	 tries;

	for (tries = 0; tries < 100; tries++) {
		gen = vmmio_read(d, R_CONFIG_GENERATION);
		lo = vmmio_read(d, R_CONFIG + off);
		hi = vmmio_read(d, R_CONFIG + off + 4);
		if (vmmio_read(d, R_CONFIG_GENERATION) == gen)
			break;
	}
	return (uint64_t)hi << 32 | lo;
}
