/*
 * guest/vsock.c: the virtio-vsock driver (virtio 1.2 section 5.10).
 *
 * Queue 0 (rx) is kept full of VSOCK_RX_SIZE-byte buffers, each one
 * descriptor the device fills with a header and up to STREAM_PKT_MAX
 * bytes; a used buffer goes to stream_input() and straight back to the
 * device.  Queue 1 (tx) has one fixed slot per entry: vsock_tx() copies a
 * packet into a free slot, and the slot is free again when the device
 * returns it, so nothing on the stream side has to outlive the call.
 * Queue 2 (event) holds small buffers for TRANSPORT_RESET.  Notifies are
 * batched per main-loop turn (vsock_kick()).  The interrupt handler only
 * acknowledges InterruptStatus; the main loop polls the used rings.  The
 * device is hostile: lengths are capped by virtq.c and checked again by
 * stream.c; a device that corrupts a ring gets a guest crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/apic.h"
#include "guest/app.h"
#include "guest/cons.h"
#include "guest/cpu.h"
#include "guest/klib.h"
#include "guest/stream.h"
#include "guest/virtq.h"
#include "guest/vmmio.h"
#include "guest/vsock.h"

#define VSOCK_F_STREAM		(1ULL << 0)
#define VSOCK_Q_RX		0
#define VSOCK_Q_TX		1
#define VSOCK_Q_EVENT		2
#define VSOCK_RX_BUFS		64
#define VSOCK_TX_SLOTS		64
#define VSOCK_EV_BUFS		4
#define VSOCK_RX_SIZE		(STREAM_HDR_SIZE + STREAM_PKT_MAX)
#define VSOCK_TX_SIZE		(STREAM_HDR_SIZE + STREAM_PKT_MAX)
#define VSOCK_CFG_CID		0
#define VSOCK_EVENT_RESET	0
#define VSOCK_CID_MIN		3	/* 0-2 are reserved */

struct vsock {
	struct vmmio		 v_dev;
	struct virtq		*v_rxq, *v_txq, *v_evq;
	uint64_t		 v_cid;
	struct stream		*v_stream;
	uint8_t			*v_rxbufs;
	uint8_t			*v_txbufs;
	uint32_t		*v_evbufs;
	uint16_t		*v_txfree;	/* stack of free slot numbers */
	unsigned		 v_ntxfree;
	unsigned		 v_ntx;
	bool			 v_kick_rx, v_kick_tx, v_kick_ev;
	uint64_t		 v_bad;
};

static void
vsock_irq(void *arg)
{
	struct vsock	*v = arg;

	vmmio_irq_ack(&v->v_dev);
}

static int
vsock_tx(void *arg, const struct stream_hdr *hdr, const uint8_t *payload,
    size_t len)
{
	struct vsock	*v = arg;
	uint8_t		*buf;
	uint16_t	 slot;

	if (v->v_ntxfree == 0)
		return -1;
	if (len > STREAM_PKT_MAX)
		cons_panic("vsock: packet of %zu bytes", len);
	slot = v->v_txfree[--v->v_ntxfree];
	buf = v->v_txbufs + (size_t)slot * VSOCK_TX_SIZE;
	memcpy(buf, hdr, STREAM_HDR_SIZE);
	if (len > 0)
		memcpy(buf + STREAM_HDR_SIZE, payload, len);
	if (virtq_add(v->v_txq, buf, STREAM_HDR_SIZE + (uint32_t)len, false,
	    (void *)(uintptr_t)slot) == -1) {
		v->v_txfree[v->v_ntxfree++] = slot;
		return -1;
	}
	v->v_kick_tx = true;
	return 0;
}

static void
vsock_rx_add(struct vsock *v, uint8_t *buf)
{
	if (virtq_add(v->v_rxq, buf, VSOCK_RX_SIZE, true, buf) == -1)
		cons_panic("vsock: rx queue full");
	v->v_kick_rx = true;
}

static void
vsock_ev_add(struct vsock *v, uint32_t *buf)
{
	if (virtq_add(v->v_evq, buf, sizeof(*buf), true, buf) == -1)
		cons_panic("vsock: event queue full");
	v->v_kick_ev = true;
}

/* The buffers: rx and event ones go to the device, tx slots wait. */
static int
vsock_buffers(struct vsock *v)
{
	unsigned	 i, nrx, nev;

	nrx = virtq_size(v->v_rxq);
	nev = virtq_size(v->v_evq);
	v->v_ntx = virtq_size(v->v_txq);
	if (nrx > VSOCK_RX_BUFS)
		nrx = VSOCK_RX_BUFS;
	if (nev > VSOCK_EV_BUFS)
		nev = VSOCK_EV_BUFS;
	v->v_rxbufs = mem_alloc((size_t)nrx * VSOCK_RX_SIZE);
	v->v_txbufs = mem_alloc((size_t)v->v_ntx * VSOCK_TX_SIZE);
	v->v_evbufs = mem_alloc(nev * sizeof(uint32_t));
	v->v_txfree = mem_alloc(v->v_ntx * sizeof(uint16_t));
	if (v->v_rxbufs == NULL || v->v_txbufs == NULL ||
	    v->v_evbufs == NULL || v->v_txfree == NULL)
		return -1;
	for (i = 0; i < v->v_ntx; i++)
		v->v_txfree[i] = (uint16_t)i;
	v->v_ntxfree = v->v_ntx;
	for (i = 0; i < nrx; i++)
		vsock_rx_add(v, v->v_rxbufs + (size_t)i * VSOCK_RX_SIZE);
	for (i = 0; i < nev; i++)
		vsock_ev_add(v, &v->v_evbufs[i]);
	return 0;
}

struct vsock *
vsock_new(uint64_t base, uint64_t size, uint32_t irq, uint32_t port,
    const struct stream_conn_ops *listen, void *arg)
{
	struct vsock	*v;
	const char	*why;

	if ((v = mem_alloc(sizeof(*v))) == NULL) {
		cons_printf("corral-guest: vsock: out of memory\n");
		return NULL;
	}
	memset(v, 0, sizeof(*v));
	why = "not a virtio-mmio v2 vsock device";
	if (vmmio_probe(&v->v_dev, base, size, irq) == -1 ||
	    v->v_dev.vm_device_id != VMMIO_DEV_VSOCK)
		goto fail;
	why = "feature negotiation failed";
	if (vmmio_negotiate(&v->v_dev, VSOCK_F_STREAM, VMMIO_F_VERSION_1) ==
	    -1)
		goto fail;
	why = "queue setup failed";
	if ((v->v_rxq = vmmio_queue(&v->v_dev, VSOCK_Q_RX,
	    VSOCK_RX_BUFS)) == NULL ||
	    (v->v_txq = vmmio_queue(&v->v_dev, VSOCK_Q_TX,
	    VSOCK_TX_SLOTS)) == NULL ||
	    (v->v_evq = vmmio_queue(&v->v_dev, VSOCK_Q_EVENT,
	    VSOCK_EV_BUFS)) == NULL)
		goto fail;
	why = "bad guest CID";
	v->v_cid = vmmio_config64(&v->v_dev, VSOCK_CFG_CID);
	if (v->v_cid < VSOCK_CID_MIN || v->v_cid >= UINT32_MAX)
		goto fail;
	why = "out of memory";
	if ((v->v_stream = stream_new(v->v_cid, port, listen, arg, vsock_tx,
	    v)) == NULL)
		goto fail;
	why = "no interrupt";
	if (cpu_irq_set(APIC_VEC_IRQ_BASE + irq, vsock_irq, v) == -1 ||
	    apic_ioapic_route(irq) == -1)
		goto fail;
	vmmio_driver_ok(&v->v_dev);
	why = "out of memory";
	if (vsock_buffers(v) == -1)
		goto fail;
	vsock_kick(v);
	return v;
fail:
	cons_printf("corral-guest: vsock at 0x%lx: %s\n", base, why);
	vmmio_fail(&v->v_dev);
	/*
	 * The queues stay allocated: the device may still hold their
	 * addresses, so the memory must not be reused.
	 */
	return NULL;
}

uint64_t
vsock_cid(const struct vsock *v)
{
	return v->v_cid;
}

struct stream *
vsock_stream(struct vsock *v)
{
	return v->v_stream;
}

static void
vsock_check(const struct virtq *vq, const char *name)
{
	if (virtq_broken(vq))
		cons_panic("vsock: the device broke the %s queue", name);
}

static void
vsock_poll_rx(struct vsock *v, uint64_t now)
{
	void		*cookie;
	uint32_t	 len;
	int		 r;

	while ((r = virtq_get(v->v_rxq, &cookie, &len)) != 0) {
		if (r == -1) {
			vsock_check(v->v_rxq, "rx");
			v->v_bad++;
			continue;
		}
		stream_input(v->v_stream, cookie, len, now);
		vsock_rx_add(v, cookie);
	}
}

static void
vsock_poll_tx(struct vsock *v)
{
	void		*cookie;
	uint32_t	 len;
	int		 r;

	while ((r = virtq_get(v->v_txq, &cookie, &len)) != 0) {
		if (r == -1) {
			vsock_check(v->v_txq, "tx");
			v->v_bad++;
			continue;
		}
		v->v_txfree[v->v_ntxfree++] = (uint16_t)(uintptr_t)cookie;
		stream_tx_ready(v->v_stream);
	}
}

static void
vsock_poll_event(struct vsock *v)
{
	void		*cookie;
	uint32_t	 len, id;
	int		 r;

	while ((r = virtq_get(v->v_evq, &cookie, &len)) != 0) {
		if (r == -1) {
			vsock_check(v->v_evq, "event");
			v->v_bad++;
			continue;
		}
		id = *(uint32_t *)cookie;
		if (len >= sizeof(id) && id == VSOCK_EVENT_RESET) {
			v->v_cid = vmmio_config64(&v->v_dev, VSOCK_CFG_CID);
			cons_printf("corral-guest: vsock: transport reset, "
			    "cid %lu\n", v->v_cid);
			stream_reset(v->v_stream, v->v_cid);
		}
		vsock_ev_add(v, cookie);
	}
}

void
vsock_poll(struct vsock *v, uint64_t now)
{
	vsock_poll_tx(v);
	vsock_poll_rx(v, now);
	vsock_poll_event(v);
}

void
vsock_kick(struct vsock *v)
{
	if (v->v_kick_rx)
		vmmio_notify(&v->v_dev, VSOCK_Q_RX);
	if (v->v_kick_tx)
		vmmio_notify(&v->v_dev, VSOCK_Q_TX);
	if (v->v_kick_ev)
		vmmio_notify(&v->v_dev, VSOCK_Q_EVENT);
	v->v_kick_rx = v->v_kick_tx = v->v_kick_ev = false;
}

bool
vsock_pending(const struct vsock *v)
{
	return virtq_pending(v->v_rxq) || virtq_pending(v->v_txq) ||
	    virtq_pending(v->v_evq);
}
