/*
 * guest/fmt.c: vsnprintf for corral-guest (see guest/fmt.h).  Output goes
 * through a small cursor that counts every character and stores those
 * that fit, so truncation is never a special case.  No state; the guest
 * console and panic paths and the self-test use it.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/fmt.h"

struct fmt_out {
	char		*fo_buf;
	size_t		 fo_size;
	size_t		 fo_len;	/* would-be length */
};

#define FMT_LEFT	0x01
#define FMT_ZERO	0x02

static void
fmt_putc(struct fmt_out *o, char c)
{
	if (o->fo_len + 1 < o->fo_size)
		o->fo_buf[o->fo_len] = c;
	o->fo_len++;
}

static void
fmt_pad(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		fmt_putc(o, c);
}

static void
fmt_str(struct fmt_out *o, const char *s, int width, int prec, int flags)
{
	int	 n = 0;

	if (s == NULL)
		s = "(null)";
	while (s[n] != '\0' && (prec < 0 || n < prec))
		n++;
	if (!(flags & FMT_LEFT))
		fmt_pad(o, ' ', width - n);
	for (int i = 0; i < n; i++)
		fmt_putc(o, s[i]);
	if (flags & FMT_LEFT)
		fmt_pad(o, ' ', width - n);
}

static void
fmt_num(struct fmt_out *o, uint64_t v, bool neg, unsigned base, bool upper,
    const char *prefix, int width, int flags)
{
	const char	*digits;
	char		 tmp[24];
	int		 n = 0, plen = 0, len;

	digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	if (neg)
		prefix = "-";
	if (prefix != NULL)
		while (prefix[plen] != '\0')
			plen++;
	len = n + plen;
	if (!(flags & (FMT_LEFT | FMT_ZERO)))
		fmt_pad(o, ' ', width - len);
	for (int i = 0; i < plen; i++)
		fmt_putc(o, prefix[i]);
	if ((flags & FMT_ZERO) && !(flags & FMT_LEFT))
		fmt_pad(o, '0', width - len);
	while (n > 0)
		fmt_putc(o, tmp[--n]);
	if (flags & FMT_LEFT)
		fmt_pad(o, ' ', width - len);
}

/* Reads the argument of an integer conversion with length <lmod>. */
static uint64_t
fmt_arg(va_list *ap, int lmod, bool is_signed, bool *neg)
{
	int64_t		 s;

	*neg = false;
	if (is_signed) {
		if (lmod == 2)
			s = va_arg(*ap, long long);
		else if (lmod == 1)
			s = va_arg(*ap, long);
		else if (lmod == 3)
			s = (int64_t)va_arg(*ap, size_t);
		else
			s = va_arg(*ap, int);
		if (s < 0) {
			*neg = true;
			return (uint64_t)0 - (uint64_t)s;
		}
		return (uint64_t)s;
	}
	if (lmod == 2)
		return va_arg(*ap, unsigned long long);
	if (lmod == 1)
		return va_arg(*ap, unsigned long);
	if (lmod == 3)
		return va_arg(*ap, size_t);
	return va_arg(*ap, unsigned int);
}

struct fmt_spec {
	int		 fs_flags;
	int		 fs_width;
	int		 fs_prec;	/* -1: none */
	int		 fs_lmod;	/* 0 none, 1 l, 2 ll, 3 z */
};

/* Parses flags, width, precision and length after a '%'; advances *<pp>. */
static void
fmt_spec(const char **pp, va_list *ap, struct fmt_spec *sp)
{
	const char	*p = *pp;

	sp->fs_flags = 0;
	for (;; p++) {
		if (*p == '-')
			sp->fs_flags |= FMT_LEFT;
		else if (*p == '0')
			sp->fs_flags |= FMT_ZERO;
		else
			break;
	}
	sp->fs_width = 0;
	if (*p == '*') {
		sp->fs_width = va_arg(*ap, int);
		if (sp->fs_width < 0) {
			sp->fs_flags |= FMT_LEFT;
			sp->fs_width = -sp->fs_width;
		}
		p++;
	} else {
		while (*p >= '0' && *p <= '9' && sp->fs_width < 1000)
			sp->fs_width = sp->fs_width * 10 + (*p++ - '0');
	}
	sp->fs_prec = -1;
	if (*p == '.') {
		p++;
		sp->fs_prec = 0;
		if (*p == '*') {
			sp->fs_prec = va_arg(*ap, int);
			p++;
		} else {
			while (*p >= '0' && *p <= '9' && sp->fs_prec < 100000)
				sp->fs_prec = sp->fs_prec * 10 + (*p++ - '0');
		}
	}
	sp->fs_lmod = 0;
	if (*p == 'l') {
		sp->fs_lmod = 1;
		if (*++p == 'l') {
			sp->fs_lmod = 2;
			p++;
		}
	} else if (*p == 'z') {
		sp->fs_lmod = 3;
		p++;
	}
	*pp = p;
}

int
fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap0)
{
	struct fmt_out	 o = { buf, size, 0 };
	struct fmt_spec	 sp;
	va_list		 ap;
	const char	*p, *start;
	uint64_t	 v;
	bool		 neg;

	va_copy(ap, ap0);
	for (p = fmt; *p != '\0'; p++) {
		if (*p != '%') {
			fmt_putc(&o, *p);
			continue;
		}
		start = p++;
		fmt_spec(&p, &ap, &sp);
		switch (*p) {
		case 'd':
		case 'i':
			v = fmt_arg(&ap, sp.fs_lmod, true, &neg);
			fmt_num(&o, v, neg, 10, false, NULL, sp.fs_width,
			    sp.fs_flags);
			break;
		case 'u':
			v = fmt_arg(&ap, sp.fs_lmod, false, &neg);
			fmt_num(&o, v, false, 10, false, NULL, sp.fs_width,
			    sp.fs_flags);
			break;
		case 'x':
		case 'X':
			v = fmt_arg(&ap, sp.fs_lmod, false, &neg);
			fmt_num(&o, v, false, 16, *p == 'X', NULL, sp.fs_width,
			    sp.fs_flags);
			break;
		case 'p':
			v = (uintptr_t)va_arg(ap, void *);
			fmt_num(&o, v, false, 16, false, "0x", sp.fs_width,
			    sp.fs_flags);
			break;
		case 's':
			fmt_str(&o, va_arg(ap, const char *), sp.fs_width,
			    sp.fs_prec, sp.fs_flags);
			break;
		case 'c':
			fmt_putc(&o, (char)va_arg(ap, int));
			break;
		case '%':
			fmt_putc(&o, '%');
			break;
		default:
			/* Unknown: copy it as it is, and stop at the end. */
			for (; start <= p && *start != '\0'; start++)
				fmt_putc(&o, *start);
			if (*p == '\0')
				p--;
			break;
		}
	}
	va_end(ap);
	if (size > 0)
		buf[o.fo_len < size ? o.fo_len : size - 1] = '\0';
	return o.fo_len > INT32_MAX ? INT32_MAX : (int)o.fo_len;
}

int
fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
