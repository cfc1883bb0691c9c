/*
 * guest/notify.c: "READY <id>\n" to the host once listening (see
 * guest/notify.h).  The message is queued with conn_send() as soon as the
 * stream is opened and conn_close() follows at once, so stream.c sends it
 * after the RESPONSE and then shuts the stream down.  An attempt that the
 * host refuses (RST) or leaves unanswered (STREAM_CONNECT_MS) is retried
 * NOTIFY_TRIES times, NOTIFY_RETRY_MS apart, for hosts that start
 * listening late.  One file-scope state: there is one notification per
 * boot.  Main loop only.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"
#include "guest/cons.h"
#include "guest/fmt.h"
#include "guest/notify.h"
#include "guest/stream.h"

#define NOTIFY_TRIES		10
#define NOTIFY_RETRY_MS		200

static struct {
	struct stream	*n_stream;
	uint32_t	 n_port;
	char		 n_msg[APP_ID_MAX + 8];
	size_t		 n_len;
	unsigned	 n_tries;
	bool		 n_active;	/* a connection is open */
	bool		 n_connected;	/* the host accepted one */
	bool		 n_done;
	uint64_t	 n_retry_at;	/* UINT64_MAX: nothing planned */
} notify;

static void
notify_connected(void *st)
{
	(void)st;
	notify.n_connected = true;
}

static size_t
notify_recv(void *st, const uint8_t *data, size_t len, bool eof)
{
	(void)st;
	(void)data;
	(void)eof;
	return len;		/* the host has nothing to say; drop it */
}

static void
notify_writable(void *st)
{
	(void)st;
}

static void
notify_free(void *st)
{
	(void)st;
	notify.n_active = false;
	if (notify.n_connected) {
		notify.n_done = true;
		notify.n_retry_at = UINT64_MAX;
	}
}

static const struct stream_conn_ops notify_ops = {
	.co_accept = NULL,
	.co_connected = notify_connected,
	.co_recv = notify_recv,
	.co_writable = notify_writable,
	.co_free = notify_free,
};

static void
notify_try(uint64_t now)
{
	struct conn	*c;

	notify.n_tries++;
	notify.n_retry_at = UINT64_MAX;
	c = stream_connect(notify.n_stream, STREAM_CID_HOST, notify.n_port,
	    &notify_ops, &notify, now);
	if (c == NULL) {
		notify.n_retry_at = now + NOTIFY_RETRY_MS;
		return;
	}
	notify.n_active = true;
	if (conn_send(c, notify.n_msg, notify.n_len) != notify.n_len)
		cons_panic("notify: message does not fit a send buffer");
	conn_close(c);
}

void
notify_start(struct stream *s, uint32_t port, const char *id, uint64_t now)
{
	int	 n;

	notify.n_stream = s;
	notify.n_port = port;
	n = fmt_snprintf(notify.n_msg, sizeof(notify.n_msg), "READY %s\n", id);
	if (n < 0 || (size_t)n >= sizeof(notify.n_msg))
		cons_panic("notify: id too long");
	notify.n_len = (size_t)n;
	notify_try(now);
}

uint64_t
notify_poll(uint64_t now)
{
	if (notify.n_stream == NULL || notify.n_done || notify.n_active)
		return UINT64_MAX;
	if (notify.n_retry_at == UINT64_MAX) {
		/* The last attempt just ended without a connection. */
		if (notify.n_tries >= NOTIFY_TRIES) {
			cons_printf("corral-guest: notify: host port %u did "
			    "not answer %u tries\n", notify.n_port,
			    notify.n_tries);
			notify.n_done = true;
			return UINT64_MAX;
		}
		notify.n_retry_at = now + NOTIFY_RETRY_MS;
	}
	if (now >= notify.n_retry_at)
		notify_try(now);
	return notify.n_active ? UINT64_MAX : notify.n_retry_at;
}
