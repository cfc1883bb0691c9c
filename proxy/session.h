/*
 * proxy/session.h: one client connection of a worker, from accept to
 * close: requests read in order, each routed, balanced and forwarded to
 * a backend, its response streamed back (see proxy/session.c).
 */
#ifndef PROXY_SESSION_H
#define PROXY_SESSION_H

#include <sys/socket.h>

#include <stddef.h>

struct session;
struct worker;

/*
 * Starts a session on worker <w>'s thread for <fd>, accepted on listener
 * <li> (an index in the configuration's listeners) from <sa>.  Takes
 * <fd>: it is closed on failure.  0, or -1 if out of resources.
 */
int	 session_new(struct worker *w, size_t li, int fd,
	    const struct sockaddr *sa, socklen_t salen);

/*
 * Shutdown has begun: an idle session closes now, a busy one after the
 * response it is sending.
 */
void	 session_drain(struct session *s);

#endif /* PROXY_SESSION_H */
