/*
 * pool/spawn.h: starting corral-vmm processes and keeping their run
 * directories: where they are, creating them, removing them, and
 * removing the ones a dead corral left behind.
 */
#ifndef POOL_SPAWN_H
#define POOL_SPAWN_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* What one VM is started with; the strings are borrowed. */
struct spawn_args {
	const char	*sa_vmm;	/* corral-vmm's path */
	const char	*sa_kernel;
	const char	*sa_initrd;	/* NULL: none */
	const char	*sa_cmdline;	/* NULL: none */
	uint64_t	 sa_memory;
	unsigned	 sa_vcpus;
	unsigned	 sa_cid;
	const char	*sa_sock;	/* vsock Unix socket */
	const char	*sa_serial;	/* console log file */
	const char	*sa_log;	/* the VMM's stderr */
	const char	*sa_id;
};

/*
 * The run directory of pool <name> in corral process <pid>: <configured>
 * if not NULL, else "$XDG_RUNTIME_DIR/corral-<pid>/<name>" (or under
 * /tmp).  0, or -1 (ENAMETOOLONG).
 */
int	 spawn_run_dir(const char *name, const char *configured, pid_t pid,
	    char *buf, size_t len);

/* Creates <dir> and its parents (mode 0700).  0 or -1. */
int	 spawn_mkdir(const char *dir);

/*
 * Removes the VMs' files in <dir> ("vm-*"), then <dir> if empty, then
 * its parent if it is an empty "corral-<pid>" directory.  Best effort.
 */
void	 spawn_rmdir(const char *dir);

/*
 * Removes the "corral-<pid>" directories under the default base whose
 * process is gone (a corral killed with SIGKILL): their sockets and
 * logs.  Returns how many went.
 */
int	 spawn_clean_stale(void);

/* "<dir>/vm-<slot>.vsock", corral-vmm's naming.  0 or -1. */
int	 spawn_sock_path(const char *dir, size_t slot, char *buf,
	    size_t len);

/* A wait(2) <status> of corral-vmm in words ("status 3: guest crash"). */
void	 spawn_exit_reason(int status, char *buf, size_t len);

/* What a wait(2) <status> of corral-vmm says happened. */
enum spawn_exit {
	SPAWN_EXIT_GUEST = 0,	/* powered off, reset, or the guest's status */
	SPAWN_EXIT_ERROR,	/* the VMM failed, or was misused */
	SPAWN_EXIT_CRASH,	/* the guest crashed */
	SPAWN_EXIT_SIGNAL,	/* killed by a signal */
};
enum spawn_exit	 spawn_exit_kind(int status);

/* corral-vmm beside the running program, or $CORRAL_VMM.  0 or -1. */
int	 spawn_find_vmm(char *buf, size_t len);

/*
 * Forks and executes corral-vmm with <a>, in a process group of its
 * own, stdin from /dev/null, stderr appended to sa_log, killed if this
 * thread dies (PR_SET_PDEATHSIG).  Returns the pid, and a pidfd in
 * <*pidfd> (close-on-exec), or -1.
 */
pid_t	 spawn_vmm(const struct spawn_args *a, int *pidfd);

#endif /* POOL_SPAWN_H */
