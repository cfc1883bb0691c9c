/*
 * vmm/loop.h: the device event loop of corral-vmm, one epoll set run by
 * one thread.  Every device's work (queue notifications, host sockets,
 * timers) happens in callbacks on that thread, so device state needs no
 * lock against itself; only what vCPU threads touch directly does.
 */
#ifndef VMM_LOOP_H
#define VMM_LOOP_H

#include <stdint.h>

struct loop;	/* opaque; owned by struct vm */

/* <revents> are EPOLL* bits. */
typedef void	loop_cb(int fd, uint32_t revents, void *arg);

struct loop	*loop_new(void);	/* NULL on error, errno set */
void		 loop_free(struct loop *lp);	/* NULL is a no-op */

/*
 * Watches <fd> for <events> (EPOLLIN, EPOLLOUT, ...; level-triggered
 * unless EPOLLET is given) and calls <cb>(<fd>, revents, <arg>).  One
 * registration per fd.  Loop thread, or any thread before loop_run().
 */
int		 loop_add(struct loop *lp, int fd, uint32_t events, loop_cb *cb,
		    void *arg) __attribute__((warn_unused_result));
/* Changes the events of a registered fd; callback and arg stay. */
int		 loop_mod(struct loop *lp, int fd, uint32_t events);
/* Forgets <fd>; call before closing it.  Safe from inside a callback. */
int		 loop_del(struct loop *lp, int fd);

/*
 * Runs callbacks until loop_stop().  Returns 0, or -1 if epoll_wait failed
 * for a reason other than EINTR.
 */
int		 loop_run(struct loop *lp);
/* Any thread, async-signal-safe: makes loop_run() return soon. */
void		 loop_stop(struct loop *lp);

/*
 * Any thread: runs <cb>(-1, 0, <arg>) once on the loop thread, soon.  The
 * hand-off a vCPU thread uses to give the device thread work.  Up to
 * LOOP_CALLS_MAX calls may be pending; -1 (EAGAIN) beyond that.
 */
#define LOOP_CALLS_MAX	64
int		 loop_call(struct loop *lp, loop_cb *cb, void *arg);

#endif /* VMM_LOOP_H */
