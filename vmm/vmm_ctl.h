/*
 * vmm/vmm_ctl.h: the contract between corral-vmm and whoever starts it
 * (the pool supervisor, scripts, tests): exit statuses, command-line flag
 * names and the naming of the vsock Unix socket.  Constants only, so the
 * supervisor can include it without linking anything of vmm/.
 */
#ifndef VMM_VMM_CTL_H
#define VMM_VMM_CTL_H

/*
 * Exit statuses of corral-vmm; each comes with one line on stderr.  A
 * guest that powers off through the debug-exit port chooses its own
 * status (0-255), which may coincide with the values below: only the
 * supervisor that asked the guest for a status can tell them apart.
 */
#define VMM_CTL_EXIT_POWEROFF	0	/* guest powered off or reset; signal */
#define VMM_CTL_EXIT_ERROR	1	/* the VMM failed (no /dev/kvm, ENOMEM) */
#define VMM_CTL_EXIT_USAGE	2	/* bad arguments, or not a kernel */
#define VMM_CTL_EXIT_CRASH	3	/* triple fault, failed entry, ... */

/* Flags, as the supervisor writes them into argv. */
#define VMM_CTL_FLAG_KERNEL	"--kernel"	/* PATH, required */
#define VMM_CTL_FLAG_INITRD	"--initrd"	/* PATH */
#define VMM_CTL_FLAG_CMDLINE	"--cmdline"	/* STR, appended */
#define VMM_CTL_FLAG_MEMORY	"--memory"	/* SIZE, units_parse_size() */
#define VMM_CTL_FLAG_VCPUS	"--vcpus"	/* 1..VMM_CTL_VCPUS_MAX */
#define VMM_CTL_FLAG_VSOCK_CID	"--vsock-cid"	/* >= 3, with --vsock-uds */
#define VMM_CTL_FLAG_VSOCK_UDS	"--vsock-uds"	/* PATH, with --vsock-cid */
#define VMM_CTL_FLAG_SERIAL	"--serial"	/* FILE, "stdout" or "none" */
#define VMM_CTL_FLAG_ID		"--id"		/* NAME for log lines */
#define VMM_CTL_FLAG_VERBOSE	"--verbose"	/* debug logging */

#define VMM_CTL_MEMORY_DEFAULT	(128ULL << 20)
#define VMM_CTL_VCPUS_MAX	32
#define VMM_CTL_CID_MIN		3		/* 0-2 are reserved by vsock */
#define VMM_CTL_ID_MAX		64		/* bytes of --id */

/*
 * The supervisor's name for a VM's vsock socket: printf format taking the
 * run directory and the VM id, "<run_dir>/vm-<id>.vsock".  Guest-initiated
 * connections to port P arrive at "<that path>_<P>" (Firecracker's rule).
 */
#define VMM_CTL_VSOCK_PATH_FMT	"%s/vm-%s.vsock"

#endif /* VMM_VMM_CTL_H */
