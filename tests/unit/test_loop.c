/*
 * tests/unit/test_loop.c: the device event loop with real descriptors
 * (eventfds) and real threads: callbacks fire, deleting an fd inside a
 * callback drops its pending event even if the fd number is reused at
 * once, loop_call() runs work on the loop thread, and loop_stop() from
 * another thread ends loop_run().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "vmm/loop.h"

struct ctx {
	struct loop	*lp;
	int		 fds[2];
	int		 calls[2];
	int		 reused_fd;	/* fd registered in place of fds[1] */
	int		 stale_calls;
	pthread_t	 loop_thread;
	int		 on_loop_thread;
	int		 ncalls;
};

static void
kick(int fd)
{
	uint64_t	 one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void
drain(int fd)
{
	uint64_t	 v;

	(void)!read(fd, &v, sizeof(v));
}

static void
stop_cb(int fd, uint32_t revents, void *arg)
{
	struct ctx	*c = arg;

	(void)revents;
	drain(fd);
	c->calls[0]++;
	loop_stop(c->lp);
}

static void
test_loop_callback_fires_and_stop_ends_run(void **state)
{
	struct ctx	 c;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.lp = loop_new();
	assert_non_null(c.lp);
	c.fds[0] = eventfd(0, EFD_NONBLOCK);
	assert_int_equal(loop_add(c.lp, c.fds[0], EPOLLIN, stop_cb, &c), 0);
	errno = 0;
	assert_int_equal(loop_add(c.lp, c.fds[0], EPOLLIN, stop_cb, &c), -1);
	assert_int_equal(errno, EEXIST);
	kick(c.fds[0]);
	assert_int_equal(loop_run(c.lp), 0);
	assert_int_equal(c.calls[0], 1);
	assert_int_equal(loop_del(c.lp, c.fds[0]), 0);
	errno = 0;
	assert_int_equal(loop_del(c.lp, c.fds[0]), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(loop_mod(c.lp, c.fds[0], EPOLLIN), -1);
	close(c.fds[0]);
	loop_free(c.lp);
	loop_free(NULL);
}

static void
stale_cb(int fd, uint32_t revents, void *arg)
{
	struct ctx	*c = arg;

	(void)revents;
	drain(fd);
	c->stale_calls++;
}

/*
 * Whichever of the two ready fds runs first deletes and closes the other
 * and registers a new eventfd, which gets the same number, in its place.
 */
static void
del_other_cb(int fd, uint32_t revents, void *arg)
{
	struct ctx	*c = arg;
	int		 me = fd == c->fds[0] ? 0 : 1;
	int		 other = c->fds[!me];

	(void)revents;
	drain(fd);
	c->calls[me]++;
	if (c->calls[0] + c->calls[1] == 1) {
		assert_int_equal(loop_del(c->lp, other), 0);
		close(other);
		c->reused_fd = eventfd(0, EFD_NONBLOCK);
		assert_int_equal(c->reused_fd, other);
		assert_int_equal(loop_add(c->lp, c->reused_fd, EPOLLIN,
		    stale_cb, c), 0);
		c->fds[!me] = -1;
	}
	loop_stop(c->lp);
}

static void
test_loop_del_inside_callback_skips_the_stale_event(void **state)
{
	struct ctx	 c;
	int		 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.lp = loop_new();
	assert_non_null(c.lp);
	for (i = 0; i < 2; i++) {
		c.fds[i] = eventfd(0, EFD_NONBLOCK);
		assert_int_equal(loop_add(c.lp, c.fds[i], EPOLLIN,
		    del_other_cb, &c), 0);
		kick(c.fds[i]);
	}
	/* Both events come back from one epoll_wait. */
	assert_int_equal(loop_run(c.lp), 0);
	assert_int_equal(c.calls[0] + c.calls[1], 1);
	/* The new fd was never signalled, and the old event is gone. */
	assert_int_equal(c.stale_calls, 0);
	for (i = 0; i < 2; i++)
		if (c.fds[i] != -1)
			close(c.fds[i]);
	close(c.reused_fd);
	loop_free(c.lp);
}

static void
call_cb(int fd, uint32_t revents, void *arg)
{
	struct ctx	*c = arg;

	assert_int_equal(fd, -1);
	assert_int_equal(revents, 0);
	c->ncalls++;
	c->on_loop_thread = pthread_equal(pthread_self(), c->loop_thread);
	if (c->ncalls == 3)
		loop_stop(c->lp);
}

static void *
caller_main(void *arg)
{
	struct ctx	*c = arg;
	int		 i;

	for (i = 0; i < 3; i++)
		if (loop_call(c->lp, call_cb, c) == -1)
			return (void *)1;
	return NULL;
}

static void
test_loop_call_runs_on_the_loop_thread(void **state)
{
	struct ctx	 c;
	pthread_t	 t;
	void		*rv;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.lp = loop_new();
	assert_non_null(c.lp);
	c.loop_thread = pthread_self();
	assert_int_equal(pthread_create(&t, NULL, caller_main, &c), 0);
	assert_int_equal(loop_run(c.lp), 0);
	assert_int_equal(pthread_join(t, &rv), 0);
	assert_null(rv);
	assert_int_equal(c.ncalls, 3);
	assert_int_equal(c.on_loop_thread, 1);
	loop_free(c.lp);
}

static void
test_loop_call_queue_is_bounded(void **state)
{
	struct ctx	 c;
	int		 i;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.lp = loop_new();
	assert_non_null(c.lp);
	c.loop_thread = pthread_self();
	for (i = 0; i < LOOP_CALLS_MAX; i++)
		assert_int_equal(loop_call(c.lp, call_cb, &c), 0);
	errno = 0;
	assert_int_equal(loop_call(c.lp, call_cb, &c), -1);
	assert_int_equal(errno, EAGAIN);
	/* All of them run; the third stops the loop after the batch. */
	assert_int_equal(loop_run(c.lp), 0);
	assert_int_equal(c.ncalls, LOOP_CALLS_MAX);
	loop_free(c.lp);
}

static void *
stopper_main(void *arg)
{
	struct loop	*lp = arg;

	usleep(20000);
	loop_stop(lp);
	return NULL;
}

static void
test_loop_stop_from_another_thread(void **state)
{
	struct loop	*lp;
	pthread_t	 t;

	(void)state;
	lp = loop_new();
	assert_non_null(lp);
	assert_int_equal(pthread_create(&t, NULL, stopper_main, lp), 0);
	assert_int_equal(loop_run(lp), 0);	/* returns: it was stopped */
	pthread_join(t, NULL);
	loop_free(lp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_callback_fires_and_stop_ends_run),
		cmocka_unit_test(
		    test_loop_del_inside_callback_skips_the_stale_event),
		cmocka_unit_test(test_loop_call_runs_on_the_loop_thread),
		cmocka_unit_test(test_loop_call_queue_is_bounded),
		cmocka_unit_test(test_loop_stop_from_another_thread),
	};

	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
