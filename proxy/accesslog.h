/*
 * proxy/accesslog.h: the access log, one line per request, written when
 * the request ends.
 *
 * A struct accesslog is opened from the config before the workers start
 * and shared by all of them: accesslog_write() may be called from any
 * thread at once, and each call is one write(2), so lines never
 * interleave.  The entry carries no header values but User-Agent and
 * Referer, and no body: Authorization and Cookie cannot reach the log.
 */
#ifndef PROXY_ACCESSLOG_H
#define PROXY_ACCESSLOG_H

#include <stdint.h>
#include <time.h>

struct conf_log;

/* The longest line; longer fields are cut first (see accesslog.c). */
#define ACCESSLOG_LINE_MAX	8192

struct accesslog;

/*
 * Opens the log <lg> describes: a file (O_APPEND, created 0640), stderr,
 * or nothing (lg_access OFF gives a valid logger that drops every line).
 * <lg> is borrowed.  NULL with errno when the file cannot be opened.
 */
struct accesslog	*accesslog_open(const struct conf_log *lg);
/* NULL is a no-op.  No thread may be writing. */
void			 accesslog_free(struct accesslog *al);

/*
 * Reopens the file by its name (after a rotation, on SIGUSR1): new lines
 * go to the new file and no line is lost or split, even while other
 * threads write.  A no-op for stderr and off.  0, or -1 with errno (the
 * old file stays in use).  Any thread.
 */
int			 accesslog_reopen(struct accesslog *al);

/* Filled by the session at the end of each request; all borrowed. */
struct accesslog_entry {
	struct timespec	 ae_start;	/* wall clock, request start */
	const char	*ae_client;	/* "1.2.3.4" */
	const char	*ae_method;	/* NULL: no request line parsed */
	const char	*ae_target;
	int		 ae_version;	/* 10/11; 0: unknown */
	int		 ae_status;
	uint64_t	 ae_bytes_in;	/* from the client */
	uint64_t	 ae_bytes_out;	/* to the client */
	const char	*ae_route;	/* NULL: none matched */
	const char	*ae_pool;
	const char	*ae_upstream;	/* "127.0.0.1:9000", or NULL */
	const char	*ae_request_id;
	const char	*ae_user_agent;
	const char	*ae_referer;
	uint64_t	 ae_ttfb_us;
	uint64_t	 ae_total_us;
	uint64_t	 ae_upstream_us;
	unsigned	 ae_retries;
	int		 ae_tls;
};

/* Formats <e> and writes it as one line.  Any thread; never blocks long. */
void	accesslog_write(struct accesslog *al,
	    const struct accesslog_entry *e);

/*
 * The line accesslog_write() would write, formatted into <buf> of <len>
 * bytes (at most ACCESSLOG_LINE_MAX are used), newline included and NUL
 * terminated; returns its length without the NUL.  <json> selects the
 * format.  For tests and for callers with another destination.
 */
size_t	accesslog_format(const struct accesslog_entry *e, int json,
	    char *buf, size_t len);

/* Lines that could not be written (disk full, ...), since the open. */
uint64_t	accesslog_dropped(const struct accesslog *al);

#endif /* PROXY_ACCESSLOG_H */
