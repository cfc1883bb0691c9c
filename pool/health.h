/*
 * pool/health.h: one active health check of a VM: HTTP/1.1 GET of the
 * health path over its vsock socket (CONNECT <port> handshake first),
 * with a deadline.  Runs on the pool thread's loop.
 */
#ifndef POOL_HEALTH_H
#define POOL_HEALTH_H

#include <stdint.h>

struct event_base;
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
 */
struct health_probe	*health_probe_start(struct event_base *base,
			    const char *sock, unsigned port, const char *path,
			    int expect, uint64_t timeout_ms, health_cb cb,
			    void *arg);
/* Cancels a probe: <cb> will not be called.  NULL is a no-op. */
void			 health_probe_free(struct health_probe *p);

const char		*health_strerror(enum health_result res);

#endif /* POOL_HEALTH_H */
