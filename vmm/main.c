/*
 * vmm/main.c: corral-vmm, one KVM microVM per process.  Parses the
 * command line, blocks SIGTERM and SIGINT before any thread exists (the
 * VM's device loop takes them from a signalfd), then builds, runs and
 * frees the VM.  The exit status tells the supervisor what happened
 * (vmm/vmm_ctl.h); the VM logs the one line that says why.
 */
#include <signal.h>
#include <stdio.h>

#include "lib/log.h"
#include "vmm/opts.h"
#include "vmm/vm.h"
#include "vmm/vmm_ctl.h"

int
main(int argc, char *argv[])
{
	struct vmm_opts	 o;
	struct vm	*vm;
	sigset_t	 set;
	char		 err[256], tag[32 + VMM_CTL_ID_MAX];
	int		 status;

	log_init("corral-vmm", LOG_LEVEL_INFO);
	switch (opts_parse(argc, argv, &o, err, sizeof(err))) {
	case OPTS_OK:
		break;
	case OPTS_HELP:
		opts_usage(stdout);
		return VMM_CTL_EXIT_POWEROFF;
	case OPTS_ERROR:
		log_warnx("%s (see --help)", err);
		return VMM_CTL_EXIT_USAGE;
	}
	snprintf(tag, sizeof(tag), "corral-vmm %s", o.vo_id);
	log_init(tag, o.vo_verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	/* Unix-socket peers of the vsock device may go away mid-write. */
	signal(SIGPIPE, SIG_IGN);

	if ((vm = vm_new(&o, &status)) == NULL)
		return status;
	status = vm_run(vm);
	vm_free(vm);
	return status;
}
