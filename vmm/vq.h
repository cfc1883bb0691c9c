/*
 * vmm/vq.h: split virtqueues (virtio 1.2 §2.7), device side, over a
 * hostile guest.  Every ring and buffer access goes through gmem and is
 * checked; a malformed ring or chain makes the call fail and marks the
 * queue broken, and the transport then asks the driver for a reset.
 * Neither VIRTIO_F_INDIRECT_DESC nor VIRTIO_F_EVENT_IDX is supported: a
 * descriptor with the INDIRECT flag is an error.
 *
 * A struct vq is plain data owned by the transport (vmm/mmio.c) and used
 * only on the device thread.
 */
#ifndef VMM_VQ_H
#define VMM_VQ_H

#include <stddef.h>
#include <stdint.h>

struct gmem;

/* Largest queue we accept; also bounds the length of a chain. */
#define VQ_SIZE_MAX		256

#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4
#define VQ_AVAIL_F_NO_INTERRUPT	1

struct vq {
	struct gmem	*vq_gm;
	uint64_t	 vq_desc;	/* guest-physical ring addresses */
	uint64_t	 vq_avail;
	uint64_t	 vq_used;
	uint16_t	 vq_size;
	uint16_t	 vq_last_avail;	/* next avail slot we consume */
	uint16_t	 vq_used_idx;	/* our copy of used->idx */
	int		 vq_ready;	/* set up and usable */
	int		 vq_broken;	/* the guest corrupted it */
};

/*
 * One line for a state dump: our indexes and the guest's (avail idx and
 * flags, used idx as the guest sees it).  Reads guest memory; never
 * fails (unreadable fields print as -1).
 */
void		 vq_describe(const struct vq *vq, char *buf, size_t len);

/* One buffer of a chain: guest-physical, checked against RAM by vq_pop. */
struct vq_seg {
	uint64_t	 vs_gpa;
	uint32_t	 vs_len;
};

/* A popped descriptor chain: readable segments first, then writable. */
struct vq_chain {
	uint16_t	 vc_head;
	unsigned	 vc_nread;
	unsigned	 vc_nwrite;
	uint32_t	 vc_rlen;	/* total readable bytes */
	uint32_t	 vc_wlen;	/* total writable bytes */
	struct vq_seg	 vc_segs[VQ_SIZE_MAX];
};

/*
 * Sets up <vq> for a queue of <size> entries whose rings the driver put at
 * <desc>, <avail> and <used>.  Checks that size is a power of two no
 * larger than VQ_SIZE_MAX, that each ring is aligned as §2.7 demands and
 * lies in RAM.  -1 with EINVAL (size, alignment) or EFAULT (not RAM); <vq>
 * is then left not ready.
 */
int	vq_init(struct vq *vq, struct gmem *gm, uint16_t size, uint64_t desc,
	    uint64_t avail, uint64_t used);

/*
 * Takes the next available chain into <c>.  1 when a chain was taken, 0
 * when the ring is empty, -1 when the ring or the chain is malformed
 * (errno EINVAL or EFAULT; the queue is then marked broken and every later
 * call fails).  A chain that fails validation is not consumed.
 */
int	vq_pop(struct vq *vq, struct vq_chain *c);

/* Gives back the chain vq_pop() just returned, unused. */
void	vq_unpop(struct vq *vq);

/*
 * Returns chain <head> to the driver with <len> bytes written into it.
 * 0, or -1 (EFAULT) if the used ring left RAM (cannot happen after
 * vq_init, but checked).
 */
int	vq_push(struct vq *vq, uint16_t head, uint32_t len);

/* 1 unless the driver asked not to be interrupted (VQ_AVAIL_F_NO_INTERRUPT). */
int	vq_want_interrupt(struct vq *vq);

/*
 * Copy between a popped chain and host memory: <len> bytes at byte offset
 * <off> of the readable (vq_chain_read) or writable (vq_chain_write) part.
 * Return the number of bytes copied, short at the end of the chain, or -1
 * (EFAULT) if guest memory could not be reached.
 */
long	vq_chain_read(const struct vq *vq, const struct vq_chain *c,
	    uint32_t off, void *dst, uint32_t len);
long	vq_chain_write(const struct vq *vq, const struct vq_chain *c,
	    uint32_t off, const void *src, uint32_t len);

#endif /* VMM_VQ_H */
