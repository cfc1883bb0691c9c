/*
 * guest/klib.h: the few C library functions corral-guest has, with the
 * standard names and signatures, so that code written against them also
 * compiles on the host for unit tests (where the host libc provides them).
 * Implemented for the guest in guest/klib.c.
 */
#ifndef GUEST_KLIB_H
#define GUEST_KLIB_H

#include <stddef.h>
#include <stdint.h>

void	*memcpy(void *dst, const void *src, size_t n);
void	*memmove(void *dst, const void *src, size_t n);
void	*memset(void *dst, int c, size_t n);
int	 memcmp(const void *a, const void *b, size_t n);
size_t	 strlen(const char *s);

#endif /* GUEST_KLIB_H */
