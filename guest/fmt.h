/*
 * guest/fmt.h: printf-style formatting for corral-guest, which has no
 * libc.  Pure code: also built on the host for tests/unit/test_guest_fmt.c.
 */
#ifndef GUEST_FMT_H
#define GUEST_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * Formats like vsnprintf(3) into <buf> (<size> bytes, NUL-terminated if
 * <size> > 0) and returns the length the whole output would have.
 * Conversions: %d %i %u %x %X %p %s %c %%, with the flags '-' and '0', a
 * field width (digits or '*'), a precision for %s (".N" or ".*"), and the
 * length modifiers l, ll and z.  "%s" of NULL prints "(null)"; an unknown
 * conversion is copied as it is.
 */
int	 fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	    __attribute__((format(printf, 3, 0)));
int	 fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif /* GUEST_FMT_H */
