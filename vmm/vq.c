/*
 * vmm/vq.c: the device side of split virtqueues (virtio 1.2 §2.7).
 *
 * The rings live in guest RAM and the guest may rewrite them at any
 * moment, so nothing read from them is trusted or kept: each call reads
 * the index or descriptor it needs through gmem, checks it, and copies it
 * into host memory before use.  Only the ring addresses (checked once by
 * vq_init; RAM never shrinks) and our own two indices persist.  Indices
 * are free-running u16 counters compared modulo 2^16.
 *
 * Device thread only; the barriers order our ring accesses against the
 * vCPUs that run the driver.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/gmem.h"
#include "vmm/vq.h"

/* Ring layouts, §2.7.5, §2.7.6, §2.7.8: all fields little-endian. */
#define VQ_DESC_SIZE		16
#define VQ_AVAIL_IDX		2
#define VQ_AVAIL_RING		4
#define VQ_USED_IDX		2
#define VQ_USED_RING		4
#define VQ_USED_ELEM_SIZE	8

struct vq_desc {
	uint64_t	 vd_addr;
	uint32_t	 vd_len;
	uint16_t	 vd_flags;
	uint16_t	 vd_next;
} __attribute__((packed));

static int	vq_fail(struct vq *, int);
static int	vq_read16(const struct vq *, uint64_t, uint16_t *);
static int	vq_write16(const struct vq *, uint64_t, uint16_t);

int
vq_init(struct vq *vq, struct gmem *gm, uint16_t size, uint64_t desc,
    uint64_t avail, uint64_t used)
{
	memset(vq, 0, sizeof(*vq));
	if (size == 0 || size > VQ_SIZE_MAX || (size & (size - 1)) != 0 ||
	    (desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0) {
		errno = EINVAL;
		return -1;
	}
	/* The avail and used rings end with an event word (§2.7.6, §2.7.8). */
	if (gmem_ptr(gm, desc, (uint64_t)size * VQ_DESC_SIZE) == NULL ||
	    gmem_ptr(gm, avail, VQ_AVAIL_RING + 2ULL * size + 2) == NULL ||
	    gmem_ptr(gm, used, VQ_USED_RING + (uint64_t)VQ_USED_ELEM_SIZE *
	    size + 2) == NULL) {
		errno = EFAULT;
		return -1;
	}
	vq->vq_gm = gm;
	vq->vq_size = size;
	vq->vq_desc = desc;
	vq->vq_avail = avail;
	vq->vq_used = used;
	vq->vq_ready = 1;
	return 0;
}

static int
vq_fail(struct vq *vq, int err)
{
	vq->vq_broken = 1;
	errno = err;
	return -1;
}

/*
 * The index and flag words are shared with a vCPU that writes them while
 * we read: one 16-bit access each, never gmem_read()'s memcpy, which may
 * copy byte by byte and see half of an update (0x00ff -> 0x0100 read as
 * 0x01ff).  vq_init checked the rings' alignment.
 */
static int
vq_read16(const struct vq *vq, uint64_t gpa, uint16_t *v)
{
	uint16_t	*p;

	if ((p = gmem_ptr(vq->vq_gm, gpa, sizeof(*p))) == NULL)
		return -1;
	*v = le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
	return 0;
}

static int
vq_write16(const struct vq *vq, uint64_t gpa, uint16_t v)
{
	uint16_t	*p;

	if ((p = gmem_ptr(vq->vq_gm, gpa, sizeof(*p))) == NULL)
		return -1;
	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
	return 0;
}

int
vq_pop(struct vq *vq, struct vq_chain *c)
{
	struct vq_desc	 d;
	uint64_t	 rlen = 0, wlen = 0;
	uint16_t	 avail_idx, head, i, flags;
	unsigned	 n, nseg = 0, nread = 0;
	int		 seen_write = 0;

	if (!vq->vq_ready || vq->vq_broken) {
		errno = EINVAL;
		return -1;
	}
	if (vq_read16(vq, vq->vq_avail + VQ_AVAIL_IDX, &avail_idx) == -1)
		return vq_fail(vq, EFAULT);
	if (avail_idx == vq->vq_last_avail)
		return 0;
	/* More entries than the ring holds: the driver lost count (§2.7.13). */
	if ((uint16_t)(avail_idx - vq->vq_last_avail) > vq->vq_size)
		return vq_fail(vq, EINVAL);
	/* Read the ring entry only after the index that published it. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (vq_read16(vq, vq->vq_avail + VQ_AVAIL_RING +
	    2ULL * (vq->vq_last_avail & (vq->vq_size - 1)), &head) == -1)
		return vq_fail(vq, EFAULT);
	if (head >= vq->vq_size)
		return vq_fail(vq, EINVAL);

	i = head;
	for (n = 0;; n++) {
		/* A chain visits each descriptor at most once, or it loops. */
		if (n == vq->vq_size)
			return vq_fail(vq, EINVAL);
		if (gmem_read(vq->vq_gm, vq->vq_desc + (uint64_t)i *
		    VQ_DESC_SIZE, &d, sizeof(d)) == -1)
			return vq_fail(vq, EFAULT);
		flags = le16toh(d.vd_flags);
		d.vd_addr = le64toh(d.vd_addr);
		d.vd_len = le32toh(d.vd_len);
		if (flags & VQ_DESC_F_INDIRECT)
			return vq_fail(vq, EINVAL);	/* not negotiated */
		if (flags & VQ_DESC_F_WRITE) {
			seen_write = 1;
			wlen += d.vd_len;
		} else if (seen_write)
			return vq_fail(vq, EINVAL);	/* read after write */
		else
			rlen += d.vd_len;
		if (rlen > UINT32_MAX || wlen > UINT32_MAX)
			return vq_fail(vq, EINVAL);
		if (d.vd_len != 0) {
			if (gmem_ptr(vq->vq_gm, d.vd_addr, d.vd_len) == NULL)
				return vq_fail(vq, EFAULT);
			c->vc_segs[nseg].vs_gpa = d.vd_addr;
			c->vc_segs[nseg].vs_len = d.vd_len;
			nseg++;
			if (!seen_write)
				nread++;
		}
		if (!(flags & VQ_DESC_F_NEXT))
			break;
		i = le16toh(d.vd_next);
		if (i >= vq->vq_size)
			return vq_fail(vq, EINVAL);
	}
	c->vc_head = head;
	c->vc_nread = nread;
	c->vc_nwrite = nseg - nread;
	c->vc_rlen = (uint32_t)rlen;
	c->vc_wlen = (uint32_t)wlen;
	vq->vq_last_avail++;
	return 1;
}

void
vq_unpop(struct vq *vq)
{
	vq->vq_last_avail--;
}

int
vq_push(struct vq *vq, uint16_t head, uint32_t len)
{
	uint32_t	 elem[2];

	if (!vq->vq_ready || vq->vq_broken) {
		errno = EINVAL;
		return -1;
	}
	elem[0] = htole32(head);
	elem[1] = htole32(len);
	if (gmem_write(vq->vq_gm, vq->vq_used + VQ_USED_RING +
	    (uint64_t)VQ_USED_ELEM_SIZE * (vq->vq_used_idx &
	    (vq->vq_size - 1)), elem, sizeof(elem)) == -1)
		return vq_fail(vq, EFAULT);
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->vq_used_idx++;
	if (vq_write16(vq, vq->vq_used + VQ_USED_IDX, vq->vq_used_idx) == -1)
		return vq_fail(vq, EFAULT);
	return 0;
}

int
vq_want_interrupt(struct vq *vq)
{
	uint16_t	 flags;

	if (!vq->vq_ready)
		return 1;
	/* Our used->idx store must be ordered before the flags load. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq_read16(vq, vq->vq_avail, &flags) == -1)
		return 1;
	return !(flags & VQ_AVAIL_F_NO_INTERRUPT);
}

long
vq_chain_read(const struct vq *vq, const struct vq_chain *c, uint32_t off,
    void *dst, uint32_t len)
{
	const struct vq_seg	*s;
	uint32_t		 n, done = 0;
	unsigned		 i;

	for (i = 0; i < c->vc_nread && done < len; i++) {
		s = &c->vc_segs[i];
		if (off >= s->vs_len) {
			off -= s->vs_len;
			continue;
		}
		n = s->vs_len - off;
		if (n > len - done)
			n = len - done;
		if (gmem_read(vq->vq_gm, s->vs_gpa + off, (uint8_t *)dst + done,
		    n) == -1)
			return -1;
		done += n;
		off = 0;
	}
	return done;
}

long
vq_chain_write(const struct vq *vq, const struct vq_chain *c, uint32_t off,
    const void *src, uint32_t len)
{
	const struct vq_seg	*s;
	uint32_t		 n, done = 0;
	unsigned		 i;

	for (i = c->vc_nread; i < c->vc_nread + c->vc_nwrite && done < len;
	    i++) {
		s = &c->vc_segs[i];
		if (off >= s->vs_len) {
			off -= s->vs_len;
			continue;
		}
		n = s->vs_len - off;
		if (n > len - done)
			n = len - done;
		if (gmem_write(vq->vq_gm, s->vs_gpa + off,
		    (const uint8_t *)src + done, n) == -1)
			return -1;
		done += n;
		off = 0;
	}
	return done;
}

void
vq_describe(const struct vq *vq, char *buf, size_t len)
{
	uint16_t	 aidx, aflags, uidx;
	int		 a, f, u;

	if (!vq->vq_ready || vq->vq_gm == NULL) {
		snprintf(buf, len, "size %u not ready", vq->vq_size);
		return;
	}
	a = vq_read16(vq, vq->vq_avail + VQ_AVAIL_IDX, &aidx) == 0 ?
	    aidx : -1;
	f = vq_read16(vq, vq->vq_avail, &aflags) == 0 ? aflags : -1;
	u = vq_read16(vq, vq->vq_used + VQ_USED_IDX, &uidx) == 0 ? uidx : -1;
	snprintf(buf, len, "size %u ready %d broken %d last_avail %u "
	    "avail.idx %d avail.flags %d used_idx %u used.idx %d",
	    vq->vq_size, vq->vq_ready, vq->vq_broken, vq->vq_last_avail, a, f,
	    vq->vq_used_idx, u);
}
