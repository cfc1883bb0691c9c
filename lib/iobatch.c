/*
 * lib/iobatch.c: many sockets' reads or writes in one io_uring_enter(2),
 * or in plain calls where io_uring cannot be had (see iobatch.h).
 *
 * Every entry carries MSG_DONTWAIT, which io_uring turns into a request
 * that completes with -EAGAIN instead of being parked until the socket
 * is ready: so each call has its result, and its iovecs are free, by
 * the time io_uring_submit_and_wait() returns.  Should a submission ever
 * fail part-way, the entries not submitted stay in the ring's queue,
 * where the next io_uring_enter(2) would pick them up with stale iovecs:
 * the ring is then closed, and this batch and its later ones go the
 * plain way.
 */
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/alloc.h"
#include "lib/iobatch.h"
#include "lib/log.h"

/*
 * Valgrind sees a recv(2) fill its buffer, not a ring's read: it is told,
 * or memcheck (tests/integration/proxy-drain.sh) takes every byte read
 * for uninitialised.  Outside valgrind the request is a few no-op
 * instructions; without its header there is nothing to tell.
 */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n)	((void)(p), (void)(n))
#endif

#define IOBATCH_SEND_FLAGS	(MSG_NOSIGNAL | MSG_DONTWAIT)
#define IOBATCH_RECV_FLAGS	MSG_DONTWAIT
#define IOBATCH_PENDING		(-SSIZE_MAX - 1)	/* no result yet */

struct iobatch {
	unsigned	 b_max;
	bool		 b_uring;	/* b_ring is open */
	bool		 b_op_one;	/* IORING_OP_SEND and _RECV, for
					   one iovec */
	struct io_uring	 b_ring;
	struct msghdr	*b_msg;		/* [b_max], for _SENDMSG, _RECVMSG */
};

static bool	iobatch_ring_open(struct iobatch *b);
static void	iobatch_ring_close(struct iobatch *b, int err,
		    const char *what);
static void	iobatch_ring_run(struct iobatch *b, struct iobatch_op *ops,
		    size_t n);
static void	iobatch_prep(struct iobatch *b, struct io_uring_sqe *sqe,
		    struct iobatch_op *op, struct msghdr *msg);
static void	iobatch_plain(struct iobatch_op *op);
static void	iobatch_filled(const struct iobatch_op *op);

struct iobatch *
iobatch_new(unsigned max, int flags)
{
	struct iobatch	*b;

	if (max == 0 || max > 4096) {
		errno = EINVAL;
		return (NULL);
	}
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return (NULL);
	if ((b->b_msg = calloc(max, sizeof(*b->b_msg))) == NULL) {
		free(b);
		return (NULL);
	}
	b->b_max = max;
	if (!(flags & IOBATCH_PLAIN))
		b->b_uring = iobatch_ring_open(b);
	return (b);
}

void
iobatch_free(struct iobatch *b)
{
	if (b == NULL)
		return;
	if (b->b_uring)
		io_uring_queue_exit(&b->b_ring);
	free(b->b_msg);
	free(b);
}

unsigned
iobatch_max(const struct iobatch *b)
{
	return (b->b_max);
}

bool
iobatch_uring(const struct iobatch *b)
{
	return (b->b_uring);
}

void
iobatch_run(struct iobatch *b, struct iobatch_op *ops, size_t n)
{
	size_t	 i;

	ASSERT(n <= b->b_max);
	for (i = 0; i < n; i++)
		ops[i].bo_res = IOBATCH_PENDING;
	/* One call costs one system call either way; the ring's is dearer. */
	if (b->b_uring && n > 1)
		iobatch_ring_run(b, ops, n);
	for (i = 0; i < n; i++)
		if (ops[i].bo_res == IOBATCH_PENDING)
			iobatch_plain(&ops[i]);
}

/* ------------------------------------------------------------------ */

/*
 * A ring as deep as the batch, for one thread (SINGLE_ISSUER) that reaps
 * its own completions (COOP_TASKRUN: no interrupt to run task work),
 * submitting past an entry that fails (SUBMIT_ALL).  Older kernels
 * refuse those flags, and are asked again without them.
 */
static bool
iobatch_ring_open(struct iobatch *b)
{
	struct io_uring_probe	*probe;
	int			 rc;
	bool			 ok;

	rc = io_uring_queue_init(b->b_max, &b->b_ring,
	    IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN |
	    IORING_SETUP_SINGLE_ISSUER);
	if (rc == -EINVAL)
		rc = io_uring_queue_init(b->b_max, &b->b_ring, 0);
	if (rc != 0) {
		log_debug("iobatch: no io_uring (%s): one call each",
		    strerror(-rc));
		return (false);
	}
	if ((probe = io_uring_get_probe_ring(&b->b_ring)) == NULL) {
		io_uring_queue_exit(&b->b_ring);
		return (false);
	}
	ok = io_uring_opcode_supported(probe, IORING_OP_SENDMSG) &&
	    io_uring_opcode_supported(probe, IORING_OP_RECVMSG);
	b->b_op_one = io_uring_opcode_supported(probe, IORING_OP_SEND) &&
	    io_uring_opcode_supported(probe, IORING_OP_RECV);
	io_uring_free_probe(probe);
	if (!ok) {
		log_debug("iobatch: io_uring without sendmsg: one call each");
		io_uring_queue_exit(&b->b_ring);
	}
	return (ok);
}

static void
iobatch_ring_close(struct iobatch *b, int err, const char *what)
{
	log_warnx("iobatch: io_uring %s failed (%s); one system call per "
	    "read or write from now on", what, strerror(err));
	io_uring_queue_exit(&b->b_ring);
	b->b_uring = false;
}

static void
iobatch_ring_run(struct iobatch *b, struct iobatch_op *ops, size_t n)
{
	struct io_uring		*ring = &b->b_ring;
	struct io_uring_sqe	*sqe;
	struct io_uring_cqe	*cqe;
	size_t			 i, seen, submitted;
	uint64_t		 k;
	int			 r;

	for (i = 0; i < n; i++) {
		/* The queue is empty between runs and holds b_max. */
		sqe = io_uring_get_sqe(ring);
		ASSERT(sqe != NULL);
		iobatch_prep(b, sqe, &ops[i], &b->b_msg[i]);
		io_uring_sqe_set_data64(sqe, i);
	}
	if ((r = io_uring_submit_and_wait(ring, (unsigned)n)) < 0) {
		/* Nothing went in; the entries must not go in later. */
		iobatch_ring_close(b, -r, "submission");
		return;
	}
	/*
	 * The kernel takes entries in order: the first <submitted> went in,
	 * have completed or are about to, and are reaped before returning,
	 * as their iovecs are the caller's after that.
	 */
	submitted = (size_t)r;
	for (seen = 0; seen < submitted; seen++) {
		while ((r = io_uring_wait_cqe(ring, &cqe)) == -EINTR)
			continue;
		if (r != 0)
			break;
		k = io_uring_cqe_get_data64(cqe);
		if (k < n && ops[k].bo_res == IOBATCH_PENDING) {
			ops[k].bo_res = cqe->res;
			iobatch_filled(&ops[k]);
		}
		io_uring_cqe_seen(ring, cqe);
	}
	if (seen == submitted && submitted == n)
		return;
	/*
	 * A call whose outcome was lost may or may not have moved bytes:
	 * making it again could send them twice or lose what it read, so
	 * it fails instead.  Those not submitted are still queued: the ring
	 * goes, and they are made plainly by the caller.
	 */
	for (i = 0; i < submitted; i++)
		if (ops[i].bo_res == IOBATCH_PENDING)
			ops[i].bo_res = -EIO;
	iobatch_ring_close(b, r != 0 ? -r : EAGAIN,
	    seen < submitted ? "completion" : "submission");
}

static void
iobatch_prep(struct iobatch *b, struct io_uring_sqe *sqe,
    struct iobatch_op *op, struct msghdr *msg)
{
	/* msghdr's iovecs are not const; nothing writes them. */
	struct iovec	*iov = (struct iovec *)(uintptr_t)op->bo_iov;

	if (op->bo_niov == 1 && b->b_op_one) {
		if (op->bo_op == IOBATCH_RECV)
			io_uring_prep_recv(sqe, op->bo_fd, iov[0].iov_base,
			    iov[0].iov_len, IOBATCH_RECV_FLAGS);
		else
			io_uring_prep_send(sqe, op->bo_fd, iov[0].iov_base,
			    iov[0].iov_len, IOBATCH_SEND_FLAGS);
		return;
	}
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = iov;
	msg->msg_iovlen = (size_t)op->bo_niov;
	if (op->bo_op == IOBATCH_RECV)
		io_uring_prep_recvmsg(sqe, op->bo_fd, msg, IOBATCH_RECV_FLAGS);
	else
		io_uring_prep_sendmsg(sqe, op->bo_fd, msg, IOBATCH_SEND_FLAGS);
}

static void
iobatch_plain(struct iobatch_op *op)
{
	struct msghdr	 msg;
	struct iovec	*iov = (struct iovec *)(uintptr_t)op->bo_iov;
	ssize_t		 n;

	if (op->bo_niov == 1)
		n = op->bo_op == IOBATCH_RECV ?
		    recv(op->bo_fd, iov[0].iov_base, iov[0].iov_len,
		    IOBATCH_RECV_FLAGS) :
		    send(op->bo_fd, iov[0].iov_base, iov[0].iov_len,
		    IOBATCH_SEND_FLAGS);
	else {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)op->bo_niov;
		n = op->bo_op == IOBATCH_RECV ?
		    recvmsg(op->bo_fd, &msg, IOBATCH_RECV_FLAGS) :
		    sendmsg(op->bo_fd, &msg, IOBATCH_SEND_FLAGS);
	}
	op->bo_res = n >= 0 ? n : -errno;
}

/* The bytes a ring's read put into <op>'s buffers are defined. */
static void
iobatch_filled(const struct iobatch_op *op)
{
	size_t	 left, len;
	int	 i;

	if (op->bo_op != IOBATCH_RECV || op->bo_res <= 0)
		return;
	left = (size_t)op->bo_res;
	for (i = 0; i < op->bo_niov && left > 0; i++) {
		len = op->bo_iov[i].iov_len < left ? op->bo_iov[i].iov_len :
		    left;
		VALGRIND_MAKE_MEM_DEFINED(op->bo_iov[i].iov_base, len);
		left -= len;
	}
}
