/*
 * pool/spawn.c: corral-vmm processes and run directories.
 *
 * Runs on the pool thread.  Everything the child needs (argv, the log
 * descriptor) is prepared before fork(), because between fork() and
 * execve() a child of a threaded process may call only async-signal-safe
 * functions.  The child gets its own process group (so a terminal's ^C
 * reaches corral only, which stops the VMs in order), PR_SET_PDEATHSIG
 * (SIGKILL if the pool thread that forked it dies: no orphan VMM
 * survives corral, even after a SIGKILL), and no descriptor of corral
 * but 0-2.  Exits are noticed through a pidfd, which the pool polls on
 * its event_base: no SIGCHLD handler, no process-wide state.
 *
 * Run directories are "<base>/corral-<pid>/<pool>"; at start, those of
 * pids that no longer exist are removed.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "pool/spawn.h"
#include "vmm/vmm_ctl.h"

#define SPAWN_ARGV_MAX		32
#define SPAWN_NUM		24	/* decimal uint64_t */
#define SPAWN_PREFIX		"corral-"

static const char	*spawn_base(void);
static int		 spawn_rmtree(const char *dir, int depth);

static const char *
spawn_base(void)
{
	const char	*x = getenv("XDG_RUNTIME_DIR");

	return (x != NULL && x[0] == '/' ? x : "/tmp");
}

int
spawn_run_dir(const char *name, const char *configured, pid_t pid,
    char *buf, size_t len)
{
	int	 n;

	if (configured != NULL)
		n = snprintf(buf, len, "%s", configured);
	else
		n = snprintf(buf, len, "%s/" SPAWN_PREFIX "%ld/%s",
		    spawn_base(), (long)pid, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

int
spawn_mkdir(const char *dir)
{
	char	 path[PATH_MAX];
	char	*p;

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST)
			return (-1);
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return (-1);
	return (0);
}

/*
 * Our files in <dir> (sockets, logs: "vm-*"), directories <depth> levels
 * down, then <dir> itself if that left it empty.
 */
static int
spawn_rmtree(const char *dir, int depth)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (de->d_type == DT_DIR) {
			if (depth > 0)
				spawn_rmtree(path, depth - 1);
		} else if (strncmp(de->d_name, "vm-", 3) == 0)
			unlink(path);	/* ours only: run_dir may be shared */
	}
	closedir(d);
	return (rmdir(dir));
}

void
spawn_rmdir(const char *dir)
{
	char		 parent[PATH_MAX];
	char		*slash;

	spawn_rmtree(dir, 0);
	if (snprintf(parent, sizeof(parent), "%s", dir) >=
	    (int)sizeof(parent) || (slash = strrchr(parent, '/')) == NULL)
		return;
	*slash = '\0';
	if ((slash = strrchr(parent, '/')) != NULL &&
	    strncmp(slash + 1, SPAWN_PREFIX, strlen(SPAWN_PREFIX)) == 0)
		rmdir(parent);		/* fails while other pools remain */
}

int
spawn_clean_stale(void)
{
	const char	*base = spawn_base();
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX], *end;
	long		 pid;
	int		 n = 0;

	if ((d = opendir(base)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, SPAWN_PREFIX,
		    strlen(SPAWN_PREFIX)) != 0)
			continue;
		/* Only "corral-<digits>": test scratch dirs look similar. */
		errno = 0;
		pid = strtol(de->d_name + strlen(SPAWN_PREFIX), &end, 10);
		if (errno != 0 || *end != '\0' || pid <= 0 ||
		    end == de->d_name + strlen(SPAWN_PREFIX) ||
		    pid == (long)getpid())
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", base, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (spawn_rmtree(path, 1) == 0) {
			log_info("removed the stale run directory %s", path);
			n++;
		}
	}
	closedir(d);
	return (n);
}

int
spawn_find_vmm(char *buf, size_t len)
{
	const char	*env = getenv("CORRAL_VMM");
	char		 self[PATH_MAX];
	char		*slash;
	ssize_t		 n;

	if (env != NULL && env[0] != '\0') {
		if (snprintf(buf, len, "%s", env) >= (int)len)
			goto toolong;
		return (0);
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		return (-1);
	self[n] = '\0';
	if ((slash = strrchr(self, '/')) == NULL)
		slash = self;
	*slash = '\0';
	if (snprintf(buf, len, "%s/corral-vmm", self) >= (int)len)
		goto toolong;
	return (0);
toolong:
	errno = ENAMETOOLONG;
	return (-1);
}

pid_t
spawn_vmm(const struct spawn_args *a, int *pidfd)
{
	const char	*argv[SPAWN_ARGV_MAX];
	char		 mem[SPAWN_NUM], vcpus[SPAWN_NUM], cid[SPAWN_NUM];
	size_t		 n = 0;
	pid_t		 pid, parent = getpid();
	int		 logfd, nullfd, fd, e;

	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)a->sa_memory);
	snprintf(vcpus, sizeof(vcpus), "%u", a->sa_vcpus);
	snprintf(cid, sizeof(cid), "%u", a->sa_cid);
	argv[n++] = a->sa_vmm;
	argv[n++] = VMM_CTL_FLAG_KERNEL;
	argv[n++] = a->sa_kernel;
	if (a->sa_initrd != NULL) {
		argv[n++] = VMM_CTL_FLAG_INITRD;
		argv[n++] = a->sa_initrd;
	}
	if (a->sa_cmdline != NULL) {
		argv[n++] = VMM_CTL_FLAG_CMDLINE;
		argv[n++] = a->sa_cmdline;
	}
	argv[n++] = VMM_CTL_FLAG_MEMORY;
	argv[n++] = mem;
	argv[n++] = VMM_CTL_FLAG_VCPUS;
	argv[n++] = vcpus;
	argv[n++] = VMM_CTL_FLAG_VSOCK_CID;
	argv[n++] = cid;
	argv[n++] = VMM_CTL_FLAG_VSOCK_UDS;
	argv[n++] = a->sa_sock;
	argv[n++] = VMM_CTL_FLAG_SERIAL;
	argv[n++] = a->sa_serial;
	argv[n++] = VMM_CTL_FLAG_ID;
	argv[n++] = a->sa_id;
	argv[n] = NULL;

	if ((logfd = open(a->sa_log, O_WRONLY | O_CREAT | O_APPEND |
	    O_CLOEXEC, 0600)) == -1)
		return (-1);
	if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		close(logfd);
		errno = e;
		return (-1);
	}
	if ((pid = fork()) == -1) {
		e = errno;
		close(logfd);
		close(nullfd);
		errno = e;
		return (-1);
	}
	if (pid == 0) {
		/* Async-signal-safe calls only from here on. */
		sigset_t	 none;

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(VMM_CTL_EXIT_ERROR);	/* corral already gone */
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		dup2(nullfd, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		if (syscall(SYS_close_range, 3, ~0U, 0) == -1)
			for (fd = 3; fd < 1024; fd++)
				close(fd);
		execv(a->sa_vmm, (char *const *)argv);
		_exit(127);
	}
	close(logfd);
	close(nullfd);
	if ((*pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		e = errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		errno = e;
		return (-1);
	}
	fcntl(*pidfd, F_SETFD, FD_CLOEXEC);
	return (pid);
}

int
spawn_sock_path(const char *dir, size_t slot, char *buf, size_t len)
{
	char	 id[SPAWN_NUM];
	int	 n;

	snprintf(id, sizeof(id), "%zu", slot);
	n = snprintf(buf, len, VMM_CTL_VSOCK_PATH_FMT, dir, id);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

void
spawn_exit_reason(int status, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d", WTERMSIG(status));
	else if (!WIFEXITED(status))
		snprintf(buf, len, "status 0x%x", status);
	else if (WEXITSTATUS(status) == VMM_CTL_EXIT_POWEROFF)
		snprintf(buf, len, "status 0: powered off");
	else if (WEXITSTATUS(status) == VMM_CTL_EXIT_ERROR)
		snprintf(buf, len, "status 1: vmm error");
	else if (WEXITSTATUS(status) == VMM_CTL_EXIT_USAGE)
		snprintf(buf, len, "status 2: bad usage");
	else if (WEXITSTATUS(status) == VMM_CTL_EXIT_CRASH)
		snprintf(buf, len, "status 3: guest crash");
	else if (WEXITSTATUS(status) == 127)
		snprintf(buf, len, "status 127: cannot execute corral-vmm");
	else
		snprintf(buf, len, "status %d", WEXITSTATUS(status));
}

enum spawn_exit
spawn_exit_kind(int status)
{
	if (WIFSIGNALED(status) || !WIFEXITED(status))
		return (SPAWN_EXIT_SIGNAL);
	switch (WEXITSTATUS(status)) {
	case VMM_CTL_EXIT_CRASH:
		return (SPAWN_EXIT_CRASH);
	case VMM_CTL_EXIT_ERROR:
	case VMM_CTL_EXIT_USAGE:
	case 127:			/* the exec failed */
		return (SPAWN_EXIT_ERROR);
	default:
		/* 0 or what the guest wrote to the debug-exit port. */
		return (SPAWN_EXIT_GUEST);
	}
}
