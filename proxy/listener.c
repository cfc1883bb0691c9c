/*
 * proxy/listener.c: binding the listening sockets (main thread, before
 * the workers start) and accepting on them (each worker, on its own
 * socket and event_base).
 *
 * SO_REUSEPORT gives every worker its own accept queue, so no two
 * threads ever touch one socket.  Options every connection needs
 * (TCP_NODELAY) are set on the listening socket, which accepted ones
 * inherit.  Accept errors such as EMFILE pause
 * that worker's acceptor for a moment rather than spinning on a socket
 * that stays readable.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "conf/conf.h"
#include "lib/log.h"
#include "proxy/listener.h"
#include "proxy/proxy_priv.h"
#include "proxy/session.h"

#define LISTENER_BACKLOG	1024
#define LISTENER_PAUSE_MS	100	/* after an accept error */

/* Owned by its worker. */
struct listener_acceptor {
	struct worker		*la_worker;
	size_t			 la_index;
	struct evconnlistener	*la_lev;
	struct event		*la_resume;
};

static int	listener_bind(const struct sockaddr *sa, socklen_t salen);
static void	listener_format(const struct sockaddr *sa, char *buf,
		    size_t len);
static void	listener_accept_cb(struct evconnlistener *lev,
		    evutil_socket_t fd, struct sockaddr *sa, int salen,
		    void *arg);
static void	listener_error_cb(struct evconnlistener *lev, void *arg);
static void	listener_resume_cb(evutil_socket_t fd, short what, void *arg);

struct listener *
listener_new(const struct conf_listener *li, size_t nworkers)
{
	struct listener		*l;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = li->li_listen.ca_sslen;
	size_t			 i;
	int			 saved;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	if ((l->l_name = strdup(li->li_name)) == NULL ||
	    (l->l_text = strdup(li->li_listen.ca_text)) == NULL ||
	    (l->l_fds = calloc(nworkers, sizeof(int))) == NULL)
		goto fail;
	for (i = 0; i < nworkers; i++)
		l->l_fds[i] = -1;
	l->l_nfds = nworkers;
	memcpy(&ss, &li->li_listen.ca_ss, sizeof(ss));
	for (i = 0; i < nworkers; i++) {
		if ((l->l_fds[i] = listener_bind((struct sockaddr *)&ss,
		    sslen)) == -1)
			goto fail;
		if (i == 0) {
			/* Port 0: the others take the port the first got. */
			sslen = sizeof(ss);
			if (getsockname(l->l_fds[0], (struct sockaddr *)&ss,
			    &sslen) == -1)
				goto fail;
			listener_format((struct sockaddr *)&ss, l->l_addr,
			    sizeof(l->l_addr));
		}
	}
	return (l);
fail:
	saved = errno;
	listener_free(l);
	errno = saved;
	return (NULL);
}

void
listener_free(struct listener *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	for (i = 0; i < l->l_nfds; i++)
		if (l->l_fds[i] != -1)
			close(l->l_fds[i]);
	free(l->l_fds);
	free(l->l_name);
	free(l->l_text);
	free(l);
}

int
listener_take(struct listener *l, size_t w)
{
	int	 fd;

	ASSERT(w < l->l_nfds);
	fd = l->l_fds[w];
	l->l_fds[w] = -1;
	return (fd);
}

bool
listener_matches(const struct listener *l, const struct conf_listener *li)
{
	return (strcmp(l->l_name, li->li_name) == 0 &&
	    strcmp(l->l_text, li->li_listen.ca_text) == 0);
}

static int
listener_bind(const struct sockaddr *sa, socklen_t salen)
{
	int	 fd, one = 1, zero = 0, saved;

	if ((fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ==
	    -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1)
		goto fail;
	/* "*:port" is [::]: take IPv4 too. */
	if (sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
	/*
	 * Accepted sockets inherit TCP_NODELAY: set once here, not once
	 * per connection.  A response goes out in one write anyway; this
	 * keeps the last segment of a streamed body from waiting for an
	 * ACK.
	 */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		goto fail;
	if (bind(fd, sa, salen) == -1 || listen(fd, LISTENER_BACKLOG) == -1)
		goto fail;
	return (fd);
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

static void
listener_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char	 a[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a));
		snprintf(buf, len, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, a, sizeof(a));
		snprintf(buf, len, "[%s]:%u", a, ntohs(sin6->sin6_port));
	} else
		snprintf(buf, len, "unknown");
}

/* ------------------------------------------------------------------ */

struct listener_acceptor *
listener_accept_start(struct worker *w, size_t li, int fd)
{
	struct listener_acceptor	*la;

	if ((la = calloc(1, sizeof(*la))) == NULL) {
		close(fd);
		return (NULL);
	}
	la->la_worker = w;
	la->la_index = li;
	if ((la->la_resume = evtimer_new(w->w_base, listener_resume_cb,
	    la)) == NULL ||
	    (la->la_lev = evconnlistener_new(w->w_base, listener_accept_cb,
	    la, LEV_OPT_CLOSE_ON_FREE, -1, fd)) == NULL) {
		close(fd);
		listener_accept_stop(la);
		return (NULL);
	}
	evconnlistener_set_error_cb(la->la_lev, listener_error_cb);
	return (la);
}

void
listener_accept_stop(struct listener_acceptor *la)
{
	if (la == NULL)
		return;
	if (la->la_lev != NULL)
		evconnlistener_free(la->la_lev);
	if (la->la_resume != NULL)
		event_free(la->la_resume);
	free(la);
}

static void
listener_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener_acceptor	*la = arg;

	(void)lev;
	if (session_new(la->la_worker, la->la_index, fd, sa,
	    (socklen_t)salen) == -1)
		log_debug("worker %zu: cannot start a session: out of memory",
		    la->la_worker->w_id);
}

static void
listener_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener_acceptor	*la = arg;
	struct timeval			 tv = { 0, LISTENER_PAUSE_MS * 1000 };

	log_warn("worker %zu: accept", la->la_worker->w_id);
	evconnlistener_disable(lev);
	evtimer_add(la->la_resume, &tv);
}

static void
listener_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct listener_acceptor	*la = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(la->la_lev);
}
