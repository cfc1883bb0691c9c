/*
 * vmm/opts.c: corral-vmm's command-line parser.  A table of flags, each
 * with a setter that validates its value; no getopt, so there is no
 * global parser state and the unit tests can call opts_parse() at will.
 * Cross-flag rules (--kernel required, --vsock-cid and --vsock-uds
 * together) are checked once every flag has been seen.  Runs on the main
 * thread before anything else.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/units.h"
#include "vmm/opts.h"
#include "vmm/vmm_ctl.h"

struct opts_flag {
	const char	*of_name;
	int		 of_has_value;
	int		(*of_set)(struct vmm_opts *, const char *, char *,
			    size_t);
};

static int	opts_err(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	opts_parse_u64(const char *, uint64_t *);
static int	opts_set_kernel(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_initrd(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_cmdline(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_memory(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_vcpus(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_cid(struct vmm_opts *, const char *, char *, size_t);
static int	opts_set_uds(struct vmm_opts *, const char *, char *, size_t);
static int	opts_set_serial(struct vmm_opts *, const char *, char *,
		    size_t);
static int	opts_set_id(struct vmm_opts *, const char *, char *, size_t);
static int	opts_set_verbose(struct vmm_opts *, const char *, char *,
		    size_t);

static const struct opts_flag	opts_flags[] = {
	{ VMM_CTL_FLAG_KERNEL,		1, opts_set_kernel },
	{ VMM_CTL_FLAG_INITRD,		1, opts_set_initrd },
	{ VMM_CTL_FLAG_CMDLINE,		1, opts_set_cmdline },
	{ VMM_CTL_FLAG_MEMORY,		1, opts_set_memory },
	{ VMM_CTL_FLAG_VCPUS,		1, opts_set_vcpus },
	{ VMM_CTL_FLAG_VSOCK_CID,	1, opts_set_cid },
	{ VMM_CTL_FLAG_VSOCK_UDS,	1, opts_set_uds },
	{ VMM_CTL_FLAG_SERIAL,		1, opts_set_serial },
	{ VMM_CTL_FLAG_ID,		1, opts_set_id },
	{ VMM_CTL_FLAG_VERBOSE,		0, opts_set_verbose },
};

#define OPTS_NFLAGS	(sizeof(opts_flags) / sizeof(opts_flags[0]))

enum opts_result
opts_parse(int argc, char *const argv[], struct vmm_opts *o, char *err,
    size_t errlen)
{
	const struct opts_flag	*f;
	const char		*arg, *val, *eq;
	size_t			 namelen, j;
	unsigned		 seen = 0;
	int			 i;

	memset(o, 0, sizeof(*o));
	o->vo_memory = VMM_CTL_MEMORY_DEFAULT;
	o->vo_vcpus = 1;
	o->vo_serial = OPTS_SERIAL_STDOUT;
	o->vo_id = "vm";
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)
			return OPTS_HELP;
		if ((eq = strchr(arg, '=')) != NULL)
			namelen = (size_t)(eq - arg);
		else
			namelen = strlen(arg);
		f = NULL;
		for (j = 0; j < OPTS_NFLAGS; j++) {
			if (strlen(opts_flags[j].of_name) == namelen &&
			    strncmp(opts_flags[j].of_name, arg, namelen) == 0) {
				f = &opts_flags[j];
				break;
			}
		}
		if (f == NULL) {
			opts_err(err, errlen, "%s: unknown argument", arg);
			return OPTS_ERROR;
		}
		if (seen & (1U << j)) {
			opts_err(err, errlen, "%s: given twice", f->of_name);
			return OPTS_ERROR;
		}
		seen |= 1U << j;
		val = NULL;
		if (f->of_has_value) {
			if (eq != NULL)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else {
				opts_err(err, errlen, "%s: missing value",
				    f->of_name);
				return OPTS_ERROR;
			}
		} else if (eq != NULL) {
			opts_err(err, errlen, "%s: takes no value",
			    f->of_name);
			return OPTS_ERROR;
		}
		if (f->of_set(o, val, err, errlen) == -1)
			return OPTS_ERROR;
	}
	if (o->vo_kernel == NULL) {
		opts_err(err, errlen, "%s is required", VMM_CTL_FLAG_KERNEL);
		return OPTS_ERROR;
	}
	if ((o->vo_cid == 0) != (o->vo_uds == NULL)) {
		opts_err(err, errlen, "%s and %s go together",
		    VMM_CTL_FLAG_VSOCK_CID, VMM_CTL_FLAG_VSOCK_UDS);
		return OPTS_ERROR;
	}
	return OPTS_OK;
}

void
opts_usage(FILE *fp)
{
	fprintf(fp,
"usage: corral-vmm --kernel PATH [options]\n"
"\n"
"Boots one KVM microVM and runs it until the guest powers off.\n"
"\n"
"  --kernel PATH      ELF64 (vmlinux-style) or bzImage kernel (required)\n"
"  --initrd PATH      initial ramdisk\n"
"  --cmdline STR      appended to the command line the VMM builds\n"
"  --memory SIZE      guest RAM, e.g. 16MiB, 1G (default 128MiB)\n"
"  --vcpus N          vCPUs, 1 to %d (default 1)\n"
"  --vsock-cid N      guest CID (>= %d) of a virtio-vsock device\n"
"  --vsock-uds PATH   Unix socket for host-initiated vsock connections\n"
"                     (the vsock device exists iff both are given)\n"
"  --serial WHERE     8250 console output: FILE (appended to), stdout or\n"
"                     none (default stdout)\n"
"  --id NAME          VM name for log lines ([A-Za-z0-9._-], default vm)\n"
"  --verbose          debug logging\n"
"  --help             this text\n"
"\n"
"Exit status: 0 guest powered off or reset (or the status it wrote to\n"
"port 0x501), or stopped by SIGTERM/SIGINT; 1 VMM error; 2 bad usage or\n"
"not a kernel; 3 guest crash (triple fault, failed entry).\n"
"SIGUSR2 logs the virtio queues and every vsock stream (the VM runs on).\n",
	    VMM_CTL_VCPUS_MAX, VMM_CTL_CID_MIN);
}

static int
opts_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Decimal or 0x-hex, the whole string, no sign, no overflow. */
static int
opts_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
opts_set_kernel(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	if (*v == '\0')
		return opts_err(err, len, "%s: empty path",
		    VMM_CTL_FLAG_KERNEL);
	o->vo_kernel = v;
	return 0;
}

static int
opts_set_initrd(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	if (*v == '\0')
		return opts_err(err, len, "%s: empty path",
		    VMM_CTL_FLAG_INITRD);
	o->vo_initrd = v;
	return 0;
}

static int
opts_set_cmdline(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	/* The length limit depends on the kernel; boot_cmdline() checks it. */
	if (strpbrk(v, "\n\r") != NULL)
		return opts_err(err, len, "%s: line breaks are not allowed",
		    VMM_CTL_FLAG_CMDLINE);
	o->vo_cmdline = v;
	return 0;
}

static int
opts_set_memory(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	uint64_t	 sz;

	if (units_parse_size(v, &sz) == -1)
		return opts_err(err, len, "%s: bad size \"%s\"",
		    VMM_CTL_FLAG_MEMORY, v);
	if (sz < OPTS_MEMORY_MIN || sz > OPTS_MEMORY_MAX)
		return opts_err(err, len,
		    "%s: \"%s\" is out of range (2MiB to 1TiB)",
		    VMM_CTL_FLAG_MEMORY, v);
	if (sz % 4096 != 0)
		return opts_err(err, len,
		    "%s: \"%s\" is not a multiple of 4KiB",
		    VMM_CTL_FLAG_MEMORY, v);
	o->vo_memory = sz;
	return 0;
}

static int
opts_set_vcpus(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	uint64_t	 n;

	if (opts_parse_u64(v, &n) == -1 || n < 1 || n > VMM_CTL_VCPUS_MAX)
		return opts_err(err, len,
		    "%s: \"%s\" is not a number from 1 to %d",
		    VMM_CTL_FLAG_VCPUS, v, VMM_CTL_VCPUS_MAX);
	o->vo_vcpus = (unsigned)n;
	return 0;
}

static int
opts_set_cid(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	uint64_t	 cid;

	/* CIDs are 32 bits on the wire to Linux; 0xffffffff is "any". */
	if (opts_parse_u64(v, &cid) == -1 || cid < VMM_CTL_CID_MIN ||
	    cid >= 0xffffffffULL)
		return opts_err(err, len,
		    "%s: \"%s\" is not a CID from %d to 4294967294",
		    VMM_CTL_FLAG_VSOCK_CID, v, VMM_CTL_CID_MIN);
	o->vo_cid = cid;
	return 0;
}

static int
opts_set_uds(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	struct sockaddr_un	 sun;

	if (*v == '\0')
		return opts_err(err, len, "%s: empty path",
		    VMM_CTL_FLAG_VSOCK_UDS);
	if (strlen(v) >= sizeof(sun.sun_path))
		return opts_err(err, len, "%s: path longer than %zu bytes",
		    VMM_CTL_FLAG_VSOCK_UDS, sizeof(sun.sun_path) - 1);
	o->vo_uds = v;
	return 0;
}

static int
opts_set_serial(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	if (*v == '\0')
		return opts_err(err, len, "%s: empty value (FILE, stdout or "
		    "none)", VMM_CTL_FLAG_SERIAL);
	if (strcmp(v, "stdout") == 0)
		o->vo_serial = OPTS_SERIAL_STDOUT;
	else if (strcmp(v, "none") == 0)
		o->vo_serial = OPTS_SERIAL_NONE;
	else {
		o->vo_serial = OPTS_SERIAL_FILE;
		o->vo_serial_path = v;
	}
	return 0;
}

static int
opts_set_id(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	size_t	 n;

	n = strlen(v);
	if (n == 0 || n > VMM_CTL_ID_MAX ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "0123456789._-") != n)
		return opts_err(err, len, "%s: \"%s\" is not 1 to %d of "
		    "[A-Za-z0-9._-]", VMM_CTL_FLAG_ID, v, VMM_CTL_ID_MAX);
	o->vo_id = v;
	return 0;
}

static int
opts_set_verbose(struct vmm_opts *o, const char *v, char *err, size_t len)
{
	(void)v;
	(void)err;
	(void)len;
	o->vo_verbose = 1;
	return 0;
}
