/*
 * pool/lb.c: what the balancing algorithms share: lookup by name, the key
 * hash and the random generator.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pool/lb.h"

static const struct lb_ops *const lb_all[] = {
	&lb_rr_ops, &lb_lr_ops, &lb_random_ops, &lb_hash_ops,
};

const struct lb_ops *
lb_find(const char *name)
{
	size_t	 i;

	for (i = 0; i < sizeof(lb_all) / sizeof(lb_all[0]); i++)
		if (strcmp(lb_all[i]->lo_name, name) == 0)
			return lb_all[i];
	return NULL;
}

long
lb_draw(const struct lb_target *t, size_t n, uint64_t rnd, long skip,
    const struct lb_filter *f)
{
	uint64_t	 total = 0, r;
	size_t		 i;

	for (i = 0; i < n; i++)
		if ((long)i != skip && lb_usable(f, i))
			total += t[i].lt_weight;
	if (total == 0)
		return -1;
	r = rnd % total;
	for (i = 0; i < n; i++) {
		if ((long)i == skip || !lb_usable(f, i))
			continue;
		if (r < t[i].lt_weight)
			return (long)i;
		r -= t[i].lt_weight;
	}
	return -1;	/* the filter changed its mind between the passes */
}

uint64_t
lb_hash_bytes(const void *p, size_t len)
{
	const uint8_t	*b = p;
	uint64_t	 h = 0xcbf29ce484222325ULL;
	size_t		 i;

	for (i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	/*
	 * FNV-1a alone spreads short, similar keys ("10.0.0.1:80#3") badly
	 * over the high bits the ring compares; the splitmix64 finaliser
	 * fixes the avalanche.
	 */
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

uint64_t
lb_rand(uint64_t *state)
{
	uint64_t	 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}
