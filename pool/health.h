/*
 * pool/health.h: one active health check of a VM: HTTP/1.1 GET of the
 * health path over its vsock socket (CONNECT <port> handshake first),
 * with a deadline.  Runs on the pool thread's loop.
 */
#ifndef POOL_HEALTH_H
#define POOL_HEALTH_H

#include <stdint.h>

struct event_base;
struct health_conn;	/* a connection kept for the next probe */
struct health_probe;

enum health_result {
	HEALTH_OK = 0,		/* the expected status came back */
	HEALTH_CONNECT,		/* no socket, refused, or closed early */
	HEALTH_HANDSHAKE,	/* no "OK <port>" to CONNECT */
	HEALTH_TIMEOUT,		/* no answer within the timeout */
	HEALTH_STATUS,		/* an answer, with another status */
	HEALTH_PROTOCOL,	/* not an HTTP response */
};

/* <status>: the response's status, 0 if none arrived. */
typedef void	(*health_cb)(enum health_result res, int status, void *arg);

/*
 * Starts a probe of the guest port <port> behind the vsock socket <sock>
 * for <path>, expecting <expect>, within <timeout_ms>.  <cb> is called
 * exactly once, never from inside this call; the probe frees itself
 * after <cb> returns, so the caller drops its pointer there.  NULL only
 * if out of resources.
 *
 * <keep> (NULL: a connection per probe) is where the caller keeps a
 * connection between probes, as Envoy's health checker does: the probe
 * takes the one there, if any, and puts its own back when the response
 * allows it, before <cb>.  A kept connection that the guest closed is
 * replaced within the probe, so that is not a failed check.  Reusing
 * it saves a connect, the CONNECT handshake and a vsock stream per
 * check: most of what an idle VM costs.  *<keep> must stay valid while
 * the probe runs.
 */
struct health_probe	*health_probe_start(struct event_base *base,
			    const char *sock, unsigned port, const char *path,
			    int expect, uint64_t timeout_ms,
			    struct health_conn **keep, health_cb cb,
			    void *arg);
/* Cancels a probe: <cb> will not be called.  NULL is a no-op. */
void			 health_probe_free(struct health_probe *p);
/* Closes a kept connection.  NULL is a no-op. */
void			 health_conn_free(struct health_conn *hc);

const char		*health_strerror(enum health_result res);

/*
 * The thread that ran probes is ending: frees what it kept for reuse
 * (response parsers, see proxy/http.h).
 */
void			 health_thread_end(void);

#endif /* POOL_HEALTH_H */
