/*
 * guest/klib.c: the C library functions of guest/klib.h for the guest.
 * gcc emits calls to memcpy/memset/memmove/memcmp for struct copies and
 * initialisations even with -fno-builtin, so these must exist; they are
 * simple byte and word loops, which is all a 4 KiB packet copy needs.
 * No state.
 */
#include "guest/klib.h"

/* Keep gcc from turning the loops below into calls to themselves. */
#pragma GCC optimize("no-tree-loop-distribute-patterns")

void *
memcpy(void *dst, const void *src, size_t n)
{
	void	*d = dst;

	/* "rep movsb" is fast on every CPU with ERMSB and never wrong. */
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : :
	    "memory");
	return dst;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	unsigned char		*d = dst;
	const unsigned char	*s = src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d >= s + n)
		return memcpy(dst, src, n);
	/* Overlapping with dst above src: copy backwards, then restore DF. */
	d += n - 1;
	s += n - 1;
	__asm__ volatile("std; rep movsb; cld" : "+D"(d), "+S"(s), "+c"(n) : :
	    "memory");
	return dst;
}

void *
memset(void *dst, int c, size_t n)
{
	void	*d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char	*p = a, *q = b;
	size_t			 i;

	for (i = 0; i < n; i++) {
		if (p[i] != q[i])
			return p[i] < q[i] ? -1 : 1;
	}
	return 0;
}

size_t
strlen(const char *s)
{
	size_t	 n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}
