/*
 * proxy/listener.h: listening sockets.  The main thread binds, for each
 * configured listener, one SO_REUSEPORT socket per worker (the kernel
 * spreads connections over them); each worker then accepts on its own
 * socket from its own event_base.
 */
#ifndef PROXY_LISTENER_H
#define PROXY_LISTENER_H

#include <stdbool.h>
#include <stddef.h>

struct conf_listener;
struct worker;

#define LISTENER_ADDR_MAX	64	/* "[ffff:...:ffff]:65535" */

/* Owned by the main thread; the worker that takes an fd owns it. */
struct listener {
	char		*l_name;
	char		*l_text;		/* the address as configured */
	char		 l_addr[LISTENER_ADDR_MAX];	/* as bound */
	int		*l_fds;			/* per worker; -1: taken */
	size_t		 l_nfds;
};

/*
 * Binds <li> <nworkers> times with SO_REUSEPORT.  Port 0 takes a free
 * port for the first socket and binds the others to the same one.  NULL
 * on error with errno set (the caller reports it).
 */
struct listener	*listener_new(const struct conf_listener *li,
		    size_t nworkers);
/* Closes the sockets no worker took.  NULL is a no-op. */
void		 listener_free(struct listener *l);
/* Hands the socket of worker <w> over: the caller owns it. */
int		 listener_take(struct listener *l, size_t w);
/* Whether <li> (from a new configuration) is what <l> was bound for. */
bool		 listener_matches(const struct listener *l,
		    const struct conf_listener *li);

struct listener_acceptor;

/*
 * Worker side, on the worker's thread: accepts on <fd> (taken) for
 * listener index <li>, starting a session for each connection.  NULL
 * if out of resources (then <fd> is closed).
 */
struct listener_acceptor	*listener_accept_start(struct worker *w,
				    size_t li, int fd);
/* Stops accepting and closes the socket.  NULL is a no-op. */
void				 listener_accept_stop(
				    struct listener_acceptor *la);

#endif /* PROXY_LISTENER_H */
