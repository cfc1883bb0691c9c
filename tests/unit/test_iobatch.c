/*
 * tests/unit/test_iobatch.c: lib/iobatch.c, through io_uring and
 * through plain calls, with the same expectations for both: reads and
 * writes in one batch each get their own answer (bytes into one buffer
 * or two, nothing yet, the end); each socket written gets exactly its
 * bytes (one buffer or several), a full socket says -EAGAIN without
 * blocking, a partly full one takes part, a closed
 * peer is -EPIPE without SIGPIPE, a bad descriptor fails alone, and the
 * ring is still used after all that.  Where the kernel has io_uring, the
 * batch must use it: a silent fall-back would leave the ring untested.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/iobatch.h"

#define NPAIR		8

struct pairs {
	int	 fd[NPAIR];		/* non-blocking, written */
	int	 peer[NPAIR];		/* read back */
};

/* Whether this kernel lets this process have a ring at all. */
static bool
have_uring(void)
{
	struct io_uring	 ring;

	if (io_uring_queue_init(4, &ring, 0) != 0)
		return (false);
	io_uring_queue_exit(&ring);
	return (true);
}

static struct iobatch *
batch(int flags)
{
	struct iobatch	*sb;

	assert_non_null(sb = iobatch_new(NPAIR * 2, flags));
	if (flags & IOBATCH_PLAIN)
		assert_false(iobatch_uring(sb));
	else if (have_uring())
		assert_true(iobatch_uring(sb));
	else
		print_message("no io_uring here: the plain path only\n");
	assert_int_equal(iobatch_max(sb), NPAIR * 2);
	return (sb);
}

static void
pairs_open(struct pairs *p, int sndbuf)
{
	int	 sv[2], i;

	for (i = 0; i < NPAIR; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
		if (sndbuf > 0)
			assert_int_equal(setsockopt(sv[0], SOL_SOCKET,
			    SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
		p->fd[i] = sv[0];
		p->peer[i] = sv[1];
	}
}

static void
pairs_close(struct pairs *p)
{
	int	 i;

	for (i = 0; i < NPAIR; i++) {
		close(p->fd[i]);
		if (p->peer[i] != -1)
			close(p->peer[i]);
	}
}

/* Everything the peer of pair <i> has now, up to <max> bytes. */
static size_t
peer_read(struct pairs *p, int i, char *buf, size_t max)
{
	size_t	 got = 0;
	ssize_t	 n;

	while (got < max && (n = recv(p->peer[i], buf + got, max - got,
	    MSG_DONTWAIT)) > 0)
		got += (size_t)n;
	return (got);
}

static void
op_set(struct iobatch_op *op, int fd, const struct iovec *iov, int niov)
{
	op->bo_op = IOBATCH_SEND;
	op->bo_fd = fd;
	op->bo_iov = iov;
	op->bo_niov = niov;
	op->bo_res = 12345;		/* must be overwritten */
}

/* ------------------------------------------------------------------ */

static void
bytes_arrive(int flags)
{
	struct iobatch	*sb = batch(flags);
	struct iobatch_op	 op[NPAIR];
	struct iovec		 iov[NPAIR][3];
	char			 msg[NPAIR][3][32], want[128], got[256];
	struct pairs		 p;
	size_t			 len, n;
	int			 i, k, round;

	pairs_open(&p, 0);
	/* Several rounds: the ring is reused, its queue left empty. */
	for (round = 0; round < 50; round++) {
		for (i = 0; i < NPAIR; i++) {
			/* Even pairs one buffer, odd ones three. */
			for (k = 0; k < 3; k++) {
				len = (size_t)snprintf(msg[i][k],
				    sizeof(msg[i][k]), "r%d p%d part%d;",
				    round, i, k);
				iov[i][k].iov_base = msg[i][k];
				iov[i][k].iov_len = len;
			}
			op_set(&op[i], p.fd[i], iov[i], i % 2 ? 3 : 1);
		}
		iobatch_run(sb, op, NPAIR);
		for (i = 0; i < NPAIR; i++) {
			len = 0;
			for (k = 0; k < (i % 2 ? 3 : 1); k++) {
				memcpy(want + len, msg[i][k], iov[i][k].iov_len);
				len += iov[i][k].iov_len;
			}
			assert_int_equal(op[i].bo_res, (ssize_t)len);
			n = peer_read(&p, i, got, sizeof(got));
			assert_int_equal(n, len);
			assert_memory_equal(got, want, len);
		}
	}
	/* One write, and none, go the same way. */
	op_set(&op[0], p.fd[3], iov[3], 2);
	iobatch_run(sb, op, 1);
	assert_int_equal(op[0].bo_res,
	    (ssize_t)(iov[3][0].iov_len + iov[3][1].iov_len));
	assert_int_equal(peer_read(&p, 3, got, sizeof(got)), op[0].bo_res);
	iobatch_run(sb, op, 0);
	pairs_close(&p);
	iobatch_free(sb);
}

static void
test_iobatch_bytes_arrive(void **state)
{
	(void)state;
	bytes_arrive(0);
}

static void
test_iobatch_bytes_arrive_plain(void **state)
{
	(void)state;
	bytes_arrive(IOBATCH_PLAIN);
}

/*
 * Pair 0 full, pair 1 with some room, pair 2's peer gone, pair 3 a
 * descriptor that is no socket's, the rest ordinary: each gets its own
 * answer, and the ordinary ones are written all the same.
 */
static void
failures_are_per_write(int flags)
{
	struct iobatch	*sb = batch(flags);
	struct iobatch_op	 op[NPAIR];
	struct iovec		 iov[NPAIR], big;
	struct pairs		 p;
	char			*buf, small[16];
	size_t			 room;
	ssize_t			 n;
	int			 i, badfd;

	assert_non_null(buf = malloc(1 << 20));
	memset(buf, 'b', 1 << 20);
	pairs_open(&p, 16384);
	/* Pair 0 full; pair 1, empty, is offered far more than it holds. */
	room = 0;
	while ((n = send(p.fd[0], buf, 1 << 20, MSG_DONTWAIT)) > 0)
		room += (size_t)n;
	assert_true(room > 0);
	close(p.peer[2]);
	p.peer[2] = -1;
	assert_true((badfd = dup(p.fd[7])) != -1);
	close(badfd);				/* now nobody's */
	memcpy(small, "0123456789abcdef", 16);
	big.iov_base = buf;
	big.iov_len = 1 << 20;
	for (i = 0; i < NPAIR; i++) {
		iov[i].iov_base = small;
		iov[i].iov_len = sizeof(small);
		op_set(&op[i], p.fd[i], &iov[i], 1);
	}
	op[1].bo_iov = &big;
	op[3].bo_fd = badfd;
	iobatch_run(sb, op, NPAIR);
	assert_int_equal(op[0].bo_res, -EAGAIN);
	assert_true(op[1].bo_res > 0 && op[1].bo_res < 1 << 20);
	assert_int_equal(op[2].bo_res, -EPIPE);	/* and we are alive */
	assert_int_equal(op[3].bo_res, -EBADF);
	for (i = 4; i < NPAIR; i++) {
		assert_int_equal(op[i].bo_res, (ssize_t)sizeof(small));
		assert_int_equal(peer_read(&p, i, buf, 1 << 20),
		    sizeof(small));
	}
	assert_int_equal(peer_read(&p, 1, buf, 1 << 20),
	    (size_t)op[1].bo_res);
	/* None of that was the ring's failure: it is still in use. */
	if (!(flags & IOBATCH_PLAIN) && have_uring())
		assert_true(iobatch_uring(sb));
	pairs_close(&p);
	free(buf);
	iobatch_free(sb);
}

static void
test_iobatch_failures_are_per_write(void **state)
{
	(void)state;
	failures_are_per_write(0);
}

static void
test_iobatch_failures_are_per_write_plain(void **state)
{
	(void)state;
	failures_are_per_write(IOBATCH_PLAIN);
}

/*
 * Reads beside writes: pair 0 has 10 bytes for one buffer, pair 1 10
 * for two buffers of 4 and 16, pair 2 nothing yet, pair 3 has ended,
 * pair 4 has more than the buffer holds; the rest are written.
 */
static void
reads_and_writes(int flags)
{
	struct iobatch		*b = batch(flags);
	struct iobatch_op	 op[NPAIR];
	struct iovec		 iov[NPAIR][2];
	char			 in[NPAIR][2][16], got[64];
	struct pairs		 p;
	int			 i;

	pairs_open(&p, 0);
	/* Both ways over the pair: peer writes, fd reads. */
	assert_int_equal(write(p.peer[0], "0123456789", 10), 10);
	assert_int_equal(write(p.peer[1], "abcdefghij", 10), 10);
	assert_int_equal(shutdown(p.peer[3], SHUT_WR), 0);
	assert_int_equal(write(p.peer[4], "0123456789ABCDEFGHIJ", 20), 20);
	for (i = 0; i < NPAIR; i++) {
		iov[i][0].iov_base = in[i][0];
		iov[i][0].iov_len = sizeof(in[i][0]);
		iov[i][1].iov_base = in[i][1];
		iov[i][1].iov_len = sizeof(in[i][1]);
		op_set(&op[i], p.fd[i], iov[i], 1);
		if (i < 5)
			op[i].bo_op = IOBATCH_RECV;
		else
			memcpy(in[i][0], "out out out out!", 16);
	}
	iov[1][0].iov_len = 4;
	op[1].bo_niov = 2;
	iobatch_run(b, op, NPAIR);
	assert_int_equal(op[0].bo_res, 10);
	assert_memory_equal(in[0][0], "0123456789", 10);
	assert_int_equal(op[1].bo_res, 10);
	assert_memory_equal(in[1][0], "abcd", 4);
	assert_memory_equal(in[1][1], "efghij", 6);
	assert_int_equal(op[2].bo_res, -EAGAIN);
	assert_int_equal(op[3].bo_res, 0);
	assert_int_equal(op[4].bo_res, 16);
	assert_memory_equal(in[4][0], "0123456789ABCDEF", 16);
	for (i = 5; i < NPAIR; i++) {
		assert_int_equal(op[i].bo_res, 16);
		assert_int_equal(peer_read(&p, i, got, sizeof(got)), 16);
		assert_memory_equal(got, "out out out out!", 16);
	}
	/* What was left is there for the next read. */
	op_set(&op[0], p.fd[4], iov[4], 1);
	op[0].bo_op = IOBATCH_RECV;
	op_set(&op[1], p.fd[2], iov[2], 1);
	op[1].bo_op = IOBATCH_RECV;
	iobatch_run(b, op, 2);
	assert_int_equal(op[0].bo_res, 4);
	assert_memory_equal(in[4][0], "GHIJ", 4);
	assert_int_equal(op[1].bo_res, -EAGAIN);
	pairs_close(&p);
	iobatch_free(b);
}

static void
test_iobatch_reads_and_writes(void **state)
{
	(void)state;
	reads_and_writes(0);
}

static void
test_iobatch_reads_and_writes_plain(void **state)
{
	(void)state;
	reads_and_writes(IOBATCH_PLAIN);
}

static void
test_iobatch_size_checked(void **state)
{
	(void)state;
	errno = 0;
	assert_null(iobatch_new(0, 0));
	assert_int_equal(errno, EINVAL);
	assert_null(iobatch_new(100000, 0));
	assert_int_equal(errno, EINVAL);
	iobatch_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iobatch_bytes_arrive),
		cmocka_unit_test(test_iobatch_bytes_arrive_plain),
		cmocka_unit_test(test_iobatch_failures_are_per_write),
		cmocka_unit_test(test_iobatch_failures_are_per_write_plain),
		cmocka_unit_test(test_iobatch_reads_and_writes),
		cmocka_unit_test(test_iobatch_reads_and_writes_plain),
		cmocka_unit_test(test_iobatch_size_checked),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
