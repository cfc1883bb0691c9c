/*
 * guest/cmdline.h: corral-guest's kernel command line.  Pure code: also
 * built on the host for tests/unit/test_guest_cmdline.c.
 *
 *   virtio_mmio.device=<size>@<addr>:<irq>[:<id>]   (Linux syntax; repeatable)
 *   corral.id=NAME  corral.port=N  corral.faults=0|1  corral.notify=PORT
 *   corral.selftest=1|trap|crash
 *
 * Other words (console=..., quiet, ...) are ignored.
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/app.h"

#define CMDLINE_DEV_MAX		8
#define CMDLINE_PORT_DEFAULT	8080

enum cmdline_selftest {
	CMDLINE_SELFTEST_NONE = 0,
	CMDLINE_SELFTEST_RUN,		/* timer + allocator, power off */
	CMDLINE_SELFTEST_TRAP,		/* take an exception: panic path */
	CMDLINE_SELFTEST_CRASH,		/* platform_crash(): triple fault */
};

struct cmdline_dev {
	uint64_t	 cd_addr;
	uint64_t	 cd_size;
	uint32_t	 cd_irq;
};

struct cmdline {
	char		 cl_id[APP_ID_MAX];	/* "" if none */
	uint32_t	 cl_port;
	bool		 cl_faults;
	bool		 cl_notify;
	uint32_t	 cl_notify_port;
	enum cmdline_selftest cl_selftest;
	struct cmdline_dev cl_dev[CMDLINE_DEV_MAX];
	size_t		 cl_ndev;
};

/*
 * Called for each word that was recognised but not accepted: <word> is
 * <len> bytes (not NUL-terminated), <why> a short reason.
 */
typedef void	 cmdline_warn_fn(void *arg, const char *word, size_t len,
		    const char *why);

/*
 * Parses the NUL-terminated <s> into <cl> (defaults first).  Words are
 * separated by spaces or tabs; double quotes group ("corral.id=a b" in
 * quotes).  A bad value leaves the default and is reported through <warn>
 * (may be NULL).  Returns the number of words reported.
 */
unsigned cmdline_parse(const char *s, struct cmdline *cl,
	    cmdline_warn_fn *warn, void *arg);

/*
 * Parses a Linux memparse() size ("4K", "0x1000", "1M") of exactly <len>
 * bytes at <s>.  -1 if it is not one or overflows.
 */
int	 cmdline_size(const char *s, size_t len, uint64_t *out);

#endif /* GUEST_CMDLINE_H */
