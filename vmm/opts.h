/*
 * vmm/opts.h: corral-vmm's command line.  Parsing is a pure function over
 * argv so the unit tests can feed it every flag and every bad value.
 */
#ifndef VMM_OPTS_H
#define VMM_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum opts_serial {
	OPTS_SERIAL_STDOUT = 0,
	OPTS_SERIAL_NONE,
	OPTS_SERIAL_FILE,	/* vo_serial_path */
};

/* Strings point into argv: borrowed, valid as long as argv is. */
struct vmm_opts {
	const char		*vo_kernel;	/* never NULL after OPTS_OK */
	const char		*vo_initrd;	/* NULL: none */
	const char		*vo_cmdline;	/* NULL: nothing appended */
	uint64_t		 vo_memory;	/* bytes, multiple of 4 KiB */
	unsigned		 vo_vcpus;
	uint64_t		 vo_cid;	/* 0: no vsock device */
	const char		*vo_uds;	/* NULL iff vo_cid == 0 */
	enum opts_serial	 vo_serial;
	const char		*vo_serial_path;
	const char		*vo_id;		/* never NULL after OPTS_OK */
	int			 vo_verbose;
};

enum opts_result {
	OPTS_OK = 0,
	OPTS_HELP,		/* --help: print opts_usage(), exit 0 */
	OPTS_ERROR,		/* <err> says why: exit 2 */
};

/* Bounds enforced by opts_parse(). */
#define OPTS_MEMORY_MIN		(2ULL << 20)
#define OPTS_MEMORY_MAX		(1ULL << 40)

/*
 * Parses <argv>[1..<argc>) into <o>, "--flag value" or "--flag=value".
 * On OPTS_ERROR, <err> (<errlen> bytes) holds one line without newline
 * naming the flag and the bad value, and <o> is in an unspecified state.
 */
enum opts_result	opts_parse(int argc, char *const argv[],
			    struct vmm_opts *o, char *err, size_t errlen);

/* Writes the --help text to <fp>. */
void			opts_usage(FILE *fp);

#endif /* VMM_OPTS_H */
