/*
 * lib/iobatch.h: the reads or the writes of many sockets in one system
 * call.
 *
 * An event loop pass of a proxy reads from several sockets and ends
 * with a write on most of them: with a recv(2) and a send(2) each,
 * system-call entry is a good part of a proxied request's CPU time on a
 * virtual machine, where entering the kernel is dear.  A batch is a
 * small io_uring: each read or write is one non-blocking recvmsg(2) or
 * sendmsg(2) in a submission entry, all go in with one io_uring_enter(2),
 * and all have completed when it returns, since a non-blocking call
 * either moves bytes or fails at once.  Where io_uring is missing or
 * refused (an old kernel, a seccomp policy, a container's sysctl), the
 * same calls are made one by one: the caller sees the same results
 * either way.
 *
 * A batch belongs to the thread that made it.
 */
#ifndef LIB_IOBATCH_H
#define LIB_IOBATCH_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>

struct iobatch;

/* bo_op */
#define IOBATCH_SEND		0	/* sendmsg(fd, iov, MSG_NOSIGNAL) */
#define IOBATCH_RECV		1	/* recvmsg(fd, iov, 0) */

/* One call on a connected, non-blocking socket. */
struct iobatch_op {
	int		 bo_op;
	int		 bo_fd;
	const struct iovec *bo_iov;	/* RECV: written into */
	int		 bo_niov;
	ssize_t		 bo_res;	/* out: bytes moved, or -errno */
};

/* iobatch_new()'s <flags> */
#define IOBATCH_PLAIN		0x01	/* one system call each, no io_uring */

/*
 * A batch of up to <max> calls at a time, or NULL (errno) without
 * memory.  Without io_uring it is a plain one (iobatch_uring() says).
 */
struct iobatch	*iobatch_new(unsigned max, int flags);
void		 iobatch_free(struct iobatch *b);

/* How many calls one iobatch_run() takes at most. */
unsigned	 iobatch_max(const struct iobatch *b);

/* Whether calls go through io_uring. */
bool		 iobatch_uring(const struct iobatch *b);

/*
 * Makes the <n> calls of <ops> (n <= iobatch_max(), one per socket),
 * in no particular order, and sets each bo_res (0 for a read: the peer
 * has finished).  The iovecs are used before it returns and not after.
 * A call that would block is -EAGAIN; none blocks.
 */
void		 iobatch_run(struct iobatch *b, struct iobatch_op *ops,
		    size_t n);

#endif /* LIB_IOBATCH_H */
