/*
 * guest/cmdline.c: parses the kernel command line (see guest/cmdline.h).
 * Numbers are parsed as the Linux kernel does for the same words: sizes
 * with memparse() suffixes, addresses and IRQs with C prefixes (0x hex,
 * 0 octal) for virtio_mmio.device, decimal elsewhere.  Every value is
 * range-checked; nothing is trusted.  No state.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/cmdline.h"
#include "guest/klib.h"

struct cmdline_word {
	const char	*w_key;
	size_t		 w_klen;
	const char	*w_val;		/* NULL: no '=' */
	size_t		 w_vlen;
	const char	*w_all;		/* the whole word, for warnings */
	size_t		 w_len;
};

static bool
cmdline_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
cmdline_digit(char c, unsigned base)
{
	unsigned	 d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return d < base ? (int)d : -1;
}

/*
 * Parses an unsigned number at *<s> (before <end>) in <base>, or with C
 * prefixes if <base> is 0, advancing *<s>.  -1 on no digits or overflow.
 */
static int
cmdline_num(const char **s, const char *end, unsigned base, uint64_t *out)
{
	const char	*p = *s;
	uint64_t	 v = 0;
	int		 d, n = 0;

	if (base == 0) {
		base = 10;
		if (end - p >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')
		    && end - p > 2 && cmdline_digit(p[2], 16) >= 0) {
			base = 16;
			p += 2;
		} else if (end - p >= 2 && p[0] == '0')
			base = 8;
	}
	for (; p < end && (d = cmdline_digit(*p, base)) >= 0; p++, n++) {
		if (v > (UINT64_MAX - (unsigned)d) / base)
			return -1;
		v = v * base + (unsigned)d;
	}
	if (n == 0)
		return -1;
	*s = p;
	*out = v;
	return 0;
}

int
cmdline_size(const char *s, size_t len, uint64_t *out)
{
	const char	*end = s + len;
	uint64_t	 v;
	unsigned	 shift = 0;

	if (cmdline_num(&s, end, 0, &v) == -1)
		return -1;
	if (s < end) {
		switch (*s++) {
		case 'E': case 'e': shift = 60; break;
		case 'P': case 'p': shift = 50; break;
		case 'T': case 't': shift = 40; break;
		case 'G': case 'g': shift = 30; break;
		case 'M': case 'm': shift = 20; break;
		case 'K': case 'k': shift = 10; break;
		default: return -1;
		}
	}
	if (s != end || (shift > 0 && v > (UINT64_MAX >> shift)))
		return -1;
	*out = v << shift;
	return 0;
}

/* A whole-value decimal u32 in [<min>, <max>]. */
static int
cmdline_u32(const struct cmdline_word *w, uint32_t min, uint32_t max,
    uint32_t *out)
{
	const char	*p = w->w_val, *end = w->w_val + w->w_vlen;
	uint64_t	 v;

	if (cmdline_num(&p, end, 10, &v) == -1 || p != end || v < min ||
	    v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* <size>@<addr>:<irq>[:<id>] */
static const char *
cmdline_dev(const struct cmdline_word *w, struct cmdline *cl)
{
	const char		*p = w->w_val, *end = w->w_val + w->w_vlen;
	const char		*at;
	struct cmdline_dev	 d;
	uint64_t		 v;

	for (at = p; at < end && *at != '@'; at++)
		;
	if (at == end || cmdline_size(p, at - p, &d.cd_size) == -1)
		return "bad size";
	p = at + 1;
	if (cmdline_num(&p, end, 0, &d.cd_addr) == -1 || p == end ||
	    *p++ != ':')
		return "bad address";
	if (cmdline_num(&p, end, 0, &v) == -1 || v > UINT32_MAX)
		return "bad irq";
	d.cd_irq = (uint32_t)v;
	if (p < end && (*p++ != ':' || cmdline_num(&p, end, 0, &v) == -1 ||
	    p != end))
		return "bad device id";
	if (d.cd_size == 0 || d.cd_addr + d.cd_size < d.cd_addr)
		return "bad range";
	if (cl->cl_ndev == CMDLINE_DEV_MAX)
		return "too many devices";
	cl->cl_dev[cl->cl_ndev++] = d;
	return NULL;
}

static const char *
cmdline_id(const struct cmdline_word *w, struct cmdline *cl)
{
	size_t	 i;

	if (w->w_vlen == 0 || w->w_vlen >= sizeof(cl->cl_id))
		return "bad length";
	/* It goes into log lines and the READY message: printable only. */
	for (i = 0; i < w->w_vlen; i++)
		if (w->w_val[i] <= ' ' || w->w_val[i] > '~')
			return "not printable";
	memcpy(cl->cl_id, w->w_val, w->w_vlen);
	cl->cl_id[w->w_vlen] = '\0';
	return NULL;
}

static bool
cmdline_is(const struct cmdline_word *w, const char *key)
{
	size_t	 n = strlen(key);

	return w->w_klen == n && memcmp(w->w_key, key, n) == 0;
}

static bool
cmdline_val_is(const struct cmdline_word *w, const char *val)
{
	size_t	 n = strlen(val);

	return w->w_vlen == n && memcmp(w->w_val, val, n) == 0;
}

/* NULL if <w> is fine or not ours, else why not. */
static const char *
cmdline_word(const struct cmdline_word *w, struct cmdline *cl)
{
	uint32_t	 v;

	if (cmdline_is(w, "virtio_mmio.device"))
		return w->w_val == NULL ? "no value" : cmdline_dev(w, cl);
	if (w->w_klen < 7 || memcmp(w->w_key, "corral.", 7) != 0)
		return NULL;
	if (w->w_val == NULL)
		return "no value";
	if (cmdline_is(w, "corral.id"))
		return cmdline_id(w, cl);
	if (cmdline_is(w, "corral.port")) {
		/* 0xffffffff is VMADDR_PORT_ANY. */
		if (cmdline_u32(w, 1, UINT32_MAX - 1, &cl->cl_port) == -1)
			return "bad port";
		return NULL;
	}
	if (cmdline_is(w, "corral.notify")) {
		if (cmdline_u32(w, 1, UINT32_MAX - 1, &cl->cl_notify_port) ==
		    -1)
			return "bad port";
		cl->cl_notify = true;
		return NULL;
	}
	if (cmdline_is(w, "corral.faults")) {
		if (cmdline_u32(w, 0, 1, &v) == -1)
			return "not 0 or 1";
		cl->cl_faults = v == 1;
		return NULL;
	}
	if (cmdline_is(w, "corral.selftest")) {
		if (cmdline_val_is(w, "1"))
			cl->cl_selftest = CMDLINE_SELFTEST_RUN;
		else if (cmdline_val_is(w, "trap"))
			cl->cl_selftest = CMDLINE_SELFTEST_TRAP;
		else if (cmdline_val_is(w, "crash"))
			cl->cl_selftest = CMDLINE_SELFTEST_CRASH;
		else if (cmdline_val_is(w, "0"))
			cl->cl_selftest = CMDLINE_SELFTEST_NONE;
		else
			return "not 0, 1, trap or crash";
		return NULL;
	}
	return "unknown corral option";
}

/* Splits the word at <p>, returns where the next one may start. */
static const char *
cmdline_next(const char *p, struct cmdline_word *w)
{
	const char	*start = p, *eq = NULL;
	bool		 quoted = false;

	for (; *p != '\0' && (quoted || !cmdline_space(*p)); p++) {
		if (*p == '"')
			quoted = !quoted;
		else if (*p == '=' && eq == NULL)
			eq = p;
	}
	w->w_all = start;
	w->w_len = p - start;
	w->w_key = start;
	w->w_klen = (eq != NULL ? eq : p) - start;
	w->w_val = NULL;
	w->w_vlen = 0;
	if (eq != NULL) {
		w->w_val = eq + 1;
		w->w_vlen = p - w->w_val;
		/* Linux strips one pair of quotes around the value. */
		if (w->w_vlen >= 2 && w->w_val[0] == '"' &&
		    w->w_val[w->w_vlen - 1] == '"') {
			w->w_val++;
			w->w_vlen -= 2;
		}
	}
	if (w->w_klen >= 2 && w->w_key[0] == '"') {
		w->w_key++;
		w->w_klen--;
		if (eq == NULL && w->w_key[w->w_klen - 1] == '"')
			w->w_klen--;
	}
	return p;
}

unsigned
cmdline_parse(const char *s, struct cmdline *cl, cmdline_warn_fn *warn,
    void *arg)
{
	struct cmdline_word	 w;
	const char		*why;
	unsigned		 nbad = 0;

	memset(cl, 0, sizeof(*cl));
	cl->cl_port = CMDLINE_PORT_DEFAULT;
	while (*s != '\0') {
		if (cmdline_space(*s)) {
			s++;
			continue;
		}
		s = cmdline_next(s, &w);
		if ((why = cmdline_word(&w, cl)) != NULL) {
			nbad++;
			if (warn != NULL)
				warn(arg, w.w_all, w.w_len, why);
		}
	}
	return nbad;
}
