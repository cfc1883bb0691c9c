/*
 * lib/log.c: line-oriented logging to stderr.
 *
 * Each message is formatted into one buffer and written with a single
 * write(2), so lines from several threads never interleave.  The tag and
 * level are set by log_init() before threads start and only read after.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define LOG_LINE_MAX	1024

static const char	*log_tag = "corral";
static enum log_level	 log_level = LOG_LEVEL_INFO;

static void	log_vemit(const char *, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

void
log_init(const char *tag, enum log_level level)
{
	if (tag != NULL)
		log_tag = tag;
	log_level = level;
}

enum log_level
log_getlevel(void)
{
	return log_level;
}

/*
 * Formats "<tag>: <prefix><message>[: <strerror(errnum)>]\n".  A message
 * longer than the buffer is cut, and the cut is marked, rather than split
 * over two writes.
 */
static void
log_vemit(const char *prefix, int errnum, const char *fmt, va_list ap)
{
	char	 line[LOG_LINE_MAX];
	size_t	 len;
	int	 n;

	n = snprintf(line, sizeof(line), "%s: %s", log_tag, prefix);
	len = n < 0 ? 0 : (size_t)n;
	if (len < sizeof(line)) {
		n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
		if (n > 0)
			len += (size_t)n;
	}
	if (errnum != 0 && len < sizeof(line)) {
		n = snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(errnum));
		if (n > 0)
			len += (size_t)n;
	}
	if (len >= sizeof(line) - 1) {
		len = sizeof(line) - 1;
		memcpy(line + len - 3, "...", 3);
	}
	line[len++] = '\n';
	(void)!write(STDERR_FILENO, line, len);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit("", saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit("", 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vemit("", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vemit("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vemit("fatal: ", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vemit("fatal: ", 0, fmt, ap);
	va_end(ap);
	exit(1);
}

void
log_assert_failed(const char *file, int line, const char *expr)
{
	char	 buf[LOG_LINE_MAX];
	int	 n;

	n = snprintf(buf, sizeof(buf), "%s: assertion failed: %s:%d: %s\n",
	    log_tag, file, line, expr);
	if (n > 0)
		(void)!write(STDERR_FILENO, buf,
		    (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	abort();
}
