/*
 * vmm/loop.c: a small epoll loop for corral-vmm's device thread.
 *
 * Registrations live in a table indexed by fd, so dispatch is one array
 * lookup and loop_del() from inside a callback is safe: a deleted entry
 * is marked free and any event already fetched for it is skipped by
 * comparing a generation number.  Cross-thread work arrives through an
 * eventfd and a small locked queue (loop_call()).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "vmm/loop.h"

#define LOOP_EVENTS_MAX	64

struct loop_reg {
	loop_cb		*lr_cb;		/* NULL: free slot */
	void		*lr_arg;
	uint32_t	 lr_gen;	/* bumped on every add */
};

struct loop_call_ent {
	loop_cb		*lc_cb;
	void		*lc_arg;
};

struct loop {
	int			 lp_epfd;
	int			 lp_wakefd;	/* eventfd: stop and calls */
	volatile int		 lp_stop;
	struct loop_reg		*lp_regs;	/* indexed by fd */
	size_t			 lp_nregs;
	pthread_mutex_t		 lp_mtx;	/* guards lp_calls */
	struct loop_call_ent	 lp_calls[LOOP_CALLS_MAX];
	unsigned		 lp_ncalls;
};

static void	loop_wake_cb(int, uint32_t, void *);

struct loop *
loop_new(void)
{
	struct loop	*lp;

	if ((lp = calloc(1, sizeof(*lp))) == NULL)
		return NULL;
	lp->lp_epfd = lp->lp_wakefd = -1;
	pthread_mutex_init(&lp->lp_mtx, NULL);
	if ((lp->lp_epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail;
	if ((lp->lp_wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		goto fail;
	if (loop_add(lp, lp->lp_wakefd, EPOLLIN, loop_wake_cb, lp) == -1)
		goto fail;
	return lp;
fail:
	loop_free(lp);
	return NULL;
}

void
loop_free(struct loop *lp)
{
	int	 saved = errno;

	if (lp == NULL)
		return;
	if (lp->lp_wakefd != -1)
		close(lp->lp_wakefd);
	if (lp->lp_epfd != -1)
		close(lp->lp_epfd);
	pthread_mutex_destroy(&lp->lp_mtx);
	free(lp->lp_regs);
	free(lp);
	errno = saved;
}

int
loop_add(struct loop *lp, int fd, uint32_t events, loop_cb *cb, void *arg)
{
	struct epoll_event	 ev;
	struct loop_reg		*regs;
	size_t			 n;

	if (fd < 0 || cb == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((size_t)fd >= lp->lp_nregs) {
		n = lp->lp_nregs ? lp->lp_nregs : 64;
		while (n <= (size_t)fd)
			n *= 2;
		if ((regs = reallocarray(lp->lp_regs, n, sizeof(*regs))) ==
		    NULL)
			return -1;
		memset(regs + lp->lp_nregs, 0,
		    (n - lp->lp_nregs) * sizeof(*regs));
		lp->lp_regs = regs;
		lp->lp_nregs = n;
	}
	if (lp->lp_regs[fd].lr_cb != NULL) {
		errno = EEXIST;
		return -1;
	}
	lp->lp_regs[fd].lr_gen++;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(uint32_t)fd |
	    ((uint64_t)lp->lp_regs[fd].lr_gen << 32);
	if (epoll_ctl(lp->lp_epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		return -1;
	lp->lp_regs[fd].lr_cb = cb;
	lp->lp_regs[fd].lr_arg = arg;
	return 0;
}

int
loop_mod(struct loop *lp, int fd, uint32_t events)
{
	struct epoll_event	 ev;

	if (fd < 0 || (size_t)fd >= lp->lp_nregs ||
	    lp->lp_regs[fd].lr_cb == NULL) {
		errno = ENOENT;
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.u64 = (uint64_t)(uint32_t)fd |
	    ((uint64_t)lp->lp_regs[fd].lr_gen << 32);
	return epoll_ctl(lp->lp_epfd, EPOLL_CTL_MOD, fd, &ev);
}

int
loop_del(struct loop *lp, int fd)
{
	if (fd < 0 || (size_t)fd >= lp->lp_nregs ||
	    lp->lp_regs[fd].lr_cb == NULL) {
		errno = ENOENT;
		return -1;
	}
	lp->lp_regs[fd].lr_cb = NULL;
	lp->lp_regs[fd].lr_arg = NULL;
	return epoll_ctl(lp->lp_epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
loop_run(struct loop *lp)
{
	struct epoll_event	 evs[LOOP_EVENTS_MAX];
	struct loop_reg		*r;
	uint32_t		 gen;
	int			 fd, i, n;

	while (!lp->lp_stop) {
		n = epoll_wait(lp->lp_epfd, evs, LOOP_EVENTS_MAX, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n; i++) {
			fd = (int)(uint32_t)evs[i].data.u64;
			gen = (uint32_t)(evs[i].data.u64 >> 32);
			/*
			 * An earlier callback in this batch may have deleted
			 * this fd, or deleted it and registered a new one.
			 */
			if ((size_t)fd >= lp->lp_nregs)
				continue;
			r = &lp->lp_regs[fd];
			if (r->lr_cb == NULL || r->lr_gen != gen)
				continue;
			r->lr_cb(fd, evs[i].events, r->lr_arg);
		}
	}
	return 0;
}

void
loop_stop(struct loop *lp)
{
	uint64_t	 one = 1;

	lp->lp_stop = 1;
	(void)!write(lp->lp_wakefd, &one, sizeof(one));
}

int
loop_call(struct loop *lp, loop_cb *cb, void *arg)
{
	uint64_t	 one = 1;

	pthread_mutex_lock(&lp->lp_mtx);
	if (lp->lp_ncalls == LOOP_CALLS_MAX) {
		pthread_mutex_unlock(&lp->lp_mtx);
		errno = EAGAIN;
		return -1;
	}
	lp->lp_calls[lp->lp_ncalls].lc_cb = cb;
	lp->lp_calls[lp->lp_ncalls].lc_arg = arg;
	lp->lp_ncalls++;
	pthread_mutex_unlock(&lp->lp_mtx);
	(void)!write(lp->lp_wakefd, &one, sizeof(one));
	return 0;
}

static void
loop_wake_cb(int fd, uint32_t revents, void *arg)
{
	struct loop		*lp = arg;
	struct loop_call_ent	 calls[LOOP_CALLS_MAX];
	uint64_t		 v;
	unsigned		 i, n;

	(void)revents;
	(void)!read(fd, &v, sizeof(v));
	pthread_mutex_lock(&lp->lp_mtx);
	n = lp->lp_ncalls;
	memcpy(calls, lp->lp_calls, n * sizeof(calls[0]));
	lp->lp_ncalls = 0;
	pthread_mutex_unlock(&lp->lp_mtx);
	for (i = 0; i < n; i++)
		calls[i].lc_cb(-1, 0, calls[i].lc_arg);
}
