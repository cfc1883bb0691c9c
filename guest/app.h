/*
 * guest/app.h: the contract between corral-guest's platform (boot,
 * interrupts, timer, memory, the virtio-vsock driver) and its application,
 * the HTTP server in guest/http.c.
 *
 * Everything runs on the boot CPU in the main loop, never in an interrupt
 * handler, so neither side locks.  The platform calls the app_*()
 * functions; the app calls conn_*(), mem_*(), clock_ms() and platform_*().
 * Code on the app side uses only this header and guest/klib.h, so it also
 * builds on the host, where unit tests provide the platform side.
 */
#ifndef GUEST_APP_H
#define GUEST_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn;	/* one vsock stream; owned by the platform */

#define APP_ID_MAX	64

/*
 * The platform's receive buffer per stream is at least this big: the app
 * consumes a request head only once it is whole, and heads may be 8 KiB.
 */
#define APP_RX_MIN	(16 * 1024)

/*
 * conn_send(), conn_close() and conn_rx_kick() never call back into the
 * app before they return: in particular app_free() always comes later,
 * from the main loop.
 */

struct app_config {
	char		 ac_id[APP_ID_MAX];	/* corral.id=, "" if none */
	uint32_t	 ac_port;		/* corral.port=, default 8080 */
	bool		 ac_faults;		/* corral.faults=1 */
};

/* ---- implemented by the app (guest/http.c) ---- */

/* Once, before the first connection. <cfg> is borrowed for the call. */
void	 app_init(const struct app_config *cfg);

/*
 * A peer connected to the app's port.  Returns the app's state for <c>,
 * or NULL to refuse (the platform resets the stream).  <c> stays valid
 * until app_free() for the returned state.
 */
void	*app_accept(struct conn *c);

/*
 * <data>/<len>: every received byte the app has not consumed yet, oldest
 * first, contiguous.  <eof>: the peer will send nothing more.  Returns how
 * many bytes the app consumed (0 .. <len>); the rest stay buffered and
 * come again, with anything new, on the next call.  The platform grants
 * the peer credit only for consumed bytes, so a slow app holds the peer
 * back instead of growing a buffer.  Called when data or EOF arrives, and
 * soon after conn_rx_kick() even if nothing new arrived (so the app sees
 * an EOF it could not act on earlier); then <data> may be NULL with <len>
 * 0.
 */
size_t	 app_recv(void *st, const uint8_t *data, size_t len, bool eof);

/* Room opened in the send buffer of the connection of <st>. */
void	 app_writable(void *st);

/*
 * Last call for <st>: the stream is gone (closed after conn_close() and
 * flushed, or reset by the peer at any time).  The app frees <st> and
 * must not use its struct conn again.
 */
void	 app_free(void *st);

/*
 * Timed work: called from the main loop after each batch of events and
 * when the deadline it returned last has passed.  Returns the next
 * deadline in clock_ms() time, or UINT64_MAX for none.
 */
uint64_t app_poll(uint64_t now_ms);

/* ---- implemented by the platform ---- */

/*
 * Queues up to <len> bytes for the peer; returns how many were taken.
 * Fewer than <len> means the connection's send buffer (CONN_SNDBUF bytes
 * not yet sent for lack of peer credit or ring space) is full;
 * app_writable() follows when it drains.  0 after conn_close().
 */
size_t	 conn_send(struct conn *c, const void *buf, size_t len);

/* Bytes conn_send() would take now. */
size_t	 conn_send_space(const struct conn *c);

/* Ask for an app_recv() call soon even if nothing new arrives. */
void	 conn_rx_kick(struct conn *c);

/*
 * The app is done with <c>: queued bytes are sent, then the stream is
 * shut down.  app_free() follows once the platform is finished with it.
 */
void	 conn_close(struct conn *c);

/* Heap; NULL when exhausted. */
void	*mem_alloc(size_t len);
void	 mem_free(void *p);		/* NULL is a no-op */

/* Milliseconds since boot, monotonic. */
uint64_t clock_ms(void);

/* Fault injection, only reached when ac_faults is set. */
void	 platform_crash(void) __attribute__((noreturn));	/* triple fault */
void	 platform_hang(void) __attribute__((noreturn));	/* stop answering */
void	 platform_poweroff(uint8_t status) __attribute__((noreturn));

#endif /* GUEST_APP_H */
