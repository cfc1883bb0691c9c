/*
 * bench/poolbench.c: the stopwatch of bench/pool.sh.  It starts corral
 * (or N copies of a VMM command) itself, reads their output as it comes,
 * timestamps every line on CLOCK_MONOTONIC, and so times what a user of
 * the pool sees:
 *
 *	pool	corral with a pool of N VMs (size.min N): boots per second,
 *		then the idle VMs' memory and the CPU they and corral use,
 *		then how long SIGTERM takes and whether any VMM is left
 *	procs	N copies of a VMM command started at once ("{}" in its
 *		arguments becomes the copy's number), the same measures,
 *		for side-by-side ratios (corral-vmm alone, QEMU microvm)
 *	cold	a pool with size.min 0: GET / from zero VMs to its answer
 *	kill	kill -9 of a ready VM to the pool being back at its size
 *
 * Data model: corral's log lines are the only source of pool state
 * (which slot holds which pid, booting, ready, draining or gone); memory
 * and CPU come from /proc.  One thread and one poll() loop, which always
 * drains every child's output so that none blocks on a full pipe.
 * Results are "key=value" lines on stdout; pool.sh summarises them.
 *
 * usage: poolbench pool|procs|cold|kill [-n N] [-r RUNS] [-i SEC]
 *	      [-g GUEST_MIB] [-k MARKER]... [-t SEC] [-l LOG] -- CMD [ARGS...]
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mtime.h"

#define POOLBENCH_SLOTS_MAX	4096	/* pool/pool_set.c's POOL_SLOTS_MAX */
#define POOLBENCH_PROCS_MAX	2048
#define POOLBENCH_LINE_MAX	4096
#define POOLBENCH_TAIL		256	/* a marker never spans more */
#define POOLBENCH_MARKERS	8
#define POOLBENCH_SETTLE_MS	2000	/* before the idle measures */

enum poolbench_state {
	PB_NONE, PB_BOOTING, PB_READY, PB_DRAINING
};

/* One slot of the pool, as corral's log tells it. */
struct poolbench_slot {
	pid_t			 sl_pid;
	enum poolbench_state	 sl_state;
};

/* One copy of the command in "procs" mode. */
struct poolbench_proc {
	pid_t			 pr_pid;
	int			 pr_fd;		/* its stdout, -1 at EOF */
	uint64_t		 pr_ready_ns;	/* marker seen, or 0 */
	char			 pr_tail[POOLBENCH_TAIL * 2 + 1];
	size_t			 pr_len;
};

struct poolbench {
	unsigned		 pb_n;
	unsigned		 pb_runs;
	unsigned		 pb_idle_s;
	unsigned long		 pb_guest_kib;
	const char		*pb_markers[POOLBENCH_MARKERS];
	size_t			 pb_nmarkers;
	FILE			*pb_log;
	uint64_t		 pb_t0;		/* first fork */
	uint64_t		 pb_deadline;

	/* corral */
	pid_t			 pb_pid;
	int			 pb_fd;		/* its log, -1 at EOF */
	char			 pb_buf[POOLBENCH_LINE_MAX];
	size_t			 pb_len;
	unsigned		 pb_port;
	bool			 pb_announced;
	struct poolbench_slot	 pb_slots[POOLBENCH_SLOTS_MAX];
	unsigned		 pb_booting, pb_ready, pb_draining;
	unsigned		 pb_boots, pb_readies, pb_exits, pb_gones;
	uint64_t		 pb_first_boot_ns, pb_last_boot_ns;
	uint64_t		 pb_last_ready_ns, pb_last_gone_ns;
	double			 pb_last_ready_ms;	/* corral's figure */
	pid_t			*pb_seen;	/* every VMM pid, for leftovers */
	size_t			 pb_nseen, pb_seen_cap;

	/* procs */
	struct poolbench_proc	*pb_procs;
	size_t			 pb_nprocs;
};

static void	poolbench_usage(void);
static void	poolbench_line(struct poolbench *pb, char *line);
static void	poolbench_pump(struct poolbench *pb, int ms,
		    struct pollfd *extra);
static int	poolbench_until(struct poolbench *pb,
		    bool (*done)(struct poolbench *, void *), void *arg);
static pid_t	poolbench_spawn(char **argv, int *fd);
static int	poolbench_corral(struct poolbench *pb, char **argv);
static void	poolbench_idle(struct poolbench *pb);
static void	poolbench_stop(struct poolbench *pb);

static void
poolbench_usage(void)
{
	fprintf(stderr, "usage: poolbench pool|procs|cold|kill [-n N] "
	    "[-r RUNS] [-i SEC] [-g GUEST_MIB]\n"
	    "\t[-k MARKER]... [-t SEC] [-l LOG] -- CMD [ARGS...]\n");
	exit(2);
}

static double
poolbench_us(uint64_t ns)
{
	return ((double)ns / 1000.0);
}

static void
poolbench_seen(struct poolbench *pb, pid_t pid)
{
	pid_t	*p;

	if (pb->pb_nseen == pb->pb_seen_cap) {
		pb->pb_seen_cap = pb->pb_seen_cap ? pb->pb_seen_cap * 2 : 256;
		if ((p = reallocarray(pb->pb_seen, pb->pb_seen_cap,
		    sizeof(*p))) == NULL) {
			perror("poolbench");
			exit(1);
		}
		pb->pb_seen = p;
	}
	pb->pb_seen[pb->pb_nseen++] = pid;
}

/* A slot leaves whatever it was counted as. */
static void
poolbench_leave(struct poolbench *pb, struct poolbench_slot *sl)
{
	if (sl->sl_state == PB_BOOTING)
		pb->pb_booting--;
	else if (sl->sl_state == PB_READY)
		pb->pb_ready--;
	else if (sl->sl_state == PB_DRAINING)
		pb->pb_draining--;
	sl->sl_state = PB_NONE;
}

/*
 * One line of corral's log ("corral: pool P: vm S: booting (pid N, ...",
 * "...: ready in X ms", "...: draining", "...: stopping it",
 * "...: stopped (...)", "...: exited while ...").
 */
static void
poolbench_line(struct poolbench *pb, char *line)
{
	uint64_t		 now = mtime_now_ns();
	struct poolbench_slot	*sl;
	const char		*p, *rest;
	unsigned		 slot;
	int			 pid, off = 0;

	if (pb->pb_log != NULL)
		fprintf(pb->pb_log, "%.3f %s\n",
		    (double)(now - pb->pb_t0) / 1e6, line);
	if ((p = strstr(line, "listener web: listening on ")) != NULL &&
	    (p = strrchr(p, ':')) != NULL)
		pb->pb_port = (unsigned)strtoul(p + 1, NULL, 10);
	if (strstr(line, " VMs ready in ") != NULL)
		pb->pb_announced = true;
	if ((p = strstr(line, ": vm ")) == NULL ||
	    sscanf(p, ": vm %u: %n", &slot, &off) != 1 || off == 0 ||
	    slot >= POOLBENCH_SLOTS_MAX)
		return;
	sl = &pb->pb_slots[slot];
	rest = p + off;
	if (sscanf(rest, "booting (pid %d", &pid) == 1) {
		poolbench_leave(pb, sl);
		sl->sl_pid = pid;
		sl->sl_state = PB_BOOTING;
		pb->pb_booting++;
		pb->pb_boots++;
		pb->pb_last_boot_ns = now;
		if (pb->pb_first_boot_ns == 0)
			pb->pb_first_boot_ns = now;
		poolbench_seen(pb, pid);
	} else if (sscanf(rest, "ready in %lf", &pb->pb_last_ready_ms) ==
	    1 && sl->sl_state == PB_BOOTING) {
		poolbench_leave(pb, sl);
		sl->sl_state = PB_READY;
		pb->pb_ready++;
		pb->pb_readies++;
		pb->pb_last_ready_ns = now;
	} else if ((strncmp(rest, "draining", 8) == 0 ||
	    strstr(rest, "stopping it") != NULL) &&
	    sl->sl_state != PB_NONE) {
		poolbench_leave(pb, sl);
		sl->sl_state = PB_DRAINING;
		pb->pb_draining++;
	} else if (strncmp(rest, "stopped (", 9) == 0 ||
	    strncmp(rest, "exited while", 12) == 0) {
		if (rest[0] == 'e')
			pb->pb_exits++;
		poolbench_leave(pb, sl);
		pb->pb_gones++;
		pb->pb_last_gone_ns = now;
	}
}

/* Whole lines out of what corral wrote; a line too long is cut. */
static void
poolbench_read_corral(struct poolbench *pb)
{
	ssize_t	 n;
	char	*nl, *start;

	n = read(pb->pb_fd, pb->pb_buf + pb->pb_len,
	    sizeof(pb->pb_buf) - 1 - pb->pb_len);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(pb->pb_fd);
			pb->pb_fd = -1;
		}
		return;
	}
	pb->pb_len += (size_t)n;
	pb->pb_buf[pb->pb_len] = '\0';
	start = pb->pb_buf;
	while ((nl = strchr(start, '\n')) != NULL) {
		*nl = '\0';
		poolbench_line(pb, start);
		start = nl + 1;
	}
	pb->pb_len -= (size_t)(start - pb->pb_buf);
	memmove(pb->pb_buf, start, pb->pb_len);
	if (pb->pb_len == sizeof(pb->pb_buf) - 1) {
		pb->pb_buf[pb->pb_len] = '\0';
		poolbench_line(pb, pb->pb_buf);
		pb->pb_len = 0;
	}
}

/* What a copy printed: keeps a tail long enough to hold any marker. */
static void
poolbench_read_proc(struct poolbench *pb, struct poolbench_proc *pr)
{
	char	 chunk[POOLBENCH_TAIL];
	ssize_t	 n;
	size_t	 i, keep;

	if ((n = read(pr->pr_fd, chunk, sizeof(chunk))) <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(pr->pr_fd);
			pr->pr_fd = -1;
		}
		return;
	}
	if (pr->pr_ready_ns != 0)
		return;
	memcpy(pr->pr_tail + pr->pr_len, chunk, (size_t)n);
	pr->pr_len += (size_t)n;
	pr->pr_tail[pr->pr_len] = '\0';
	for (i = 0; i < pb->pb_nmarkers; i++)
		if (strstr(pr->pr_tail, pb->pb_markers[i]) != NULL)
			pr->pr_ready_ns = mtime_now_ns();
	if (pr->pr_len > POOLBENCH_TAIL) {
		keep = POOLBENCH_TAIL;
		memmove(pr->pr_tail, pr->pr_tail + pr->pr_len - keep, keep);
		pr->pr_len = keep;
	}
}

/*
 * Waits up to <ms> for output of corral or of the copies (and for
 * <extra>, whose revents the caller reads), and consumes it.
 */
static void
poolbench_pump(struct poolbench *pb, int ms, struct pollfd *extra)
{
	static struct pollfd	 pfd[POOLBENCH_PROCS_MAX + 2];
	static size_t		 who[POOLBENCH_PROCS_MAX + 2];
	size_t			 n = 0, i;
	int			 r;

	if (extra != NULL) {
		extra->revents = 0;
		pfd[n++] = *extra;
	}
	if (pb->pb_fd != -1) {
		pfd[n].fd = pb->pb_fd;
		pfd[n++].events = POLLIN;
	}
	for (i = 0; i < pb->pb_nprocs; i++) {
		if (pb->pb_procs[i].pr_fd == -1)
			continue;
		who[n] = i;
		pfd[n].fd = pb->pb_procs[i].pr_fd;
		pfd[n++].events = POLLIN;
	}
	if (n == 0) {
		usleep((useconds_t)ms * 1000);
		return;
	}
	if ((r = poll(pfd, (nfds_t)n, ms)) <= 0)
		return;
	i = 0;
	if (extra != NULL)
		extra->revents = pfd[i++].revents;
	if (pb->pb_fd != -1 && pfd[i++].revents != 0)
		poolbench_read_corral(pb);
	for (; i < n; i++)
		if (pfd[i].revents != 0)
			poolbench_read_proc(pb, &pb->pb_procs[who[i]]);
}

/* Pumps until <done> or the deadline: 0, or -1 (and says so). */
static int
poolbench_until(struct poolbench *pb,
    bool (*done)(struct poolbench *, void *), void *arg)
{
	while (!done(pb, arg)) {
		if (mtime_now_ns() >= pb->pb_deadline) {
			fprintf(stderr, "poolbench: deadline passed "
			    "(ready %u, booting %u, draining %u)\n",
			    pb->pb_ready, pb->pb_booting, pb->pb_draining);
			return (-1);
		}
		if (pb->pb_pid > 0 && pb->pb_fd == -1) {
			fprintf(stderr, "poolbench: corral exited\n");
			return (-1);
		}
		poolbench_pump(pb, 50, NULL);
	}
	return (0);
}

static void
poolbench_sleep(struct poolbench *pb, unsigned ms)
{
	uint64_t	 end = mtime_now_ns() + ms * MTIME_NS_PER_MS;
	uint64_t	 now;

	while ((now = mtime_now_ns()) < end)
		poolbench_pump(pb, (int)((end - now) / MTIME_NS_PER_MS) + 1,
		    NULL);
}

/* Starts <argv> with stdout and stderr on a pipe, read end in <*fd>. */
static pid_t
poolbench_spawn(char **argv, int *fd)
{
	pid_t	 pid;
	int	 p[2], devnull;

	if (pipe2(p, O_CLOEXEC) == -1)
		return (-1);
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	if (pid == 0) {
		if ((devnull = open("/dev/null", O_RDONLY)) != -1)
			dup2(devnull, STDIN_FILENO);
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	*fd = p[0];
	return (pid);
}

static int
poolbench_corral(struct poolbench *pb, char **argv)
{
	pb->pb_t0 = mtime_now_ns();
	if ((pb->pb_pid = poolbench_spawn(argv, &pb->pb_fd)) == -1) {
		perror("poolbench: cannot start corral");
		return (-1);
	}
	return (0);
}

/* ------------------------------------------------------------------ */
/* /proc */

/* Resident and proportional KiB of <pid>, and of its guest RAM. */
static void
poolbench_mem(pid_t pid, unsigned long guest_kib, unsigned long *rss,
    unsigned long *pss, unsigned long *guest)
{
	char		 path[64], line[256];
	unsigned long	 size = 0, v;
	FILE		*f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Size: %lu kB", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %lu kB", &v) == 1) {
			*rss += v;
			/* The guest's RAM is the one mapping of its size. */
			if (guest_kib != 0 && size == guest_kib)
				*guest += v;
		} else if (sscanf(line, "Pss: %lu kB", &v) == 1)
			*pss += v;
	}
	fclose(f);
}

/* User plus system clock ticks of <pid> (every thread), or 0. */
static unsigned long long
poolbench_ticks(pid_t pid)
{
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut = 0, st = 0;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
	    "%llu %llu", &ut, &st) != 2)
		return (0);
	return (ut + st);
}

/* The machine's busy and total ticks, all CPUs, from /proc/stat. */
static void
poolbench_machine(unsigned long long *busy, unsigned long long *total)
{
	unsigned long long	 v[8] = { 0 };
	FILE			*f;
	int			 i;

	*busy = *total = 0;
	if ((f = fopen("/proc/stat", "re")) == NULL)
		return;
	if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++)
			*total += v[i];
		*busy = *total - v[3] - v[4];	/* idle, iowait */
	}
	fclose(f);
}

/* The VMM pids now alive: the pool's, or the copies. */
static size_t
poolbench_vmms(struct poolbench *pb, pid_t *out, size_t max)
{
	size_t	 i, n = 0;

	for (i = 0; i < POOLBENCH_SLOTS_MAX && n < max && pb->pb_pid > 0;
	    i++)
		if (pb->pb_slots[i].sl_state != PB_NONE)
			out[n++] = pb->pb_slots[i].sl_pid;
	for (i = 0; i < pb->pb_nprocs && n < max; i++)
		out[n++] = pb->pb_procs[i].pr_pid;
	return (n);
}

/*
 * The idle VMs after a settling pause: memory per VM, then the CPU they
 * (and corral) use over pb_idle_s seconds, as a share of one CPU and of
 * the whole machine.
 */
static void
poolbench_idle(struct poolbench *pb)
{
	static pid_t		 pids[POOLBENCH_SLOTS_MAX];
	unsigned long		 rss = 0, pss = 0, guest = 0;
	unsigned long		 crss = 0, cpss = 0, cguest = 0;
	unsigned long long	 t0 = 0, t1 = 0, c0 = 0, c1 = 0;
	unsigned long long	 b0, b1, m0, m1;
	uint64_t		 w0, w1;
	double			 hz = (double)sysconf(_SC_CLK_TCK), secs;
	size_t			 n, i;

	poolbench_sleep(pb, POOLBENCH_SETTLE_MS);
	n = poolbench_vmms(pb, pids, POOLBENCH_SLOTS_MAX);
	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		poolbench_mem(pids[i], pb->pb_guest_kib, &rss, &pss, &guest);
	if (pb->pb_pid > 0)
		poolbench_mem(pb->pb_pid, 0, &crss, &cpss, &cguest);
	printf("idle vms=%zu vm_rss_kib=%lu vm_pss_kib=%lu vm_guest_kib=%lu "
	    "corral_rss_kib=%lu corral_pss_kib=%lu\n", n, rss / n, pss / n,
	    guest / n, crss, cpss);
	if (pb->pb_idle_s == 0)
		return;
	w0 = mtime_now_ns();
	poolbench_machine(&b0, &m0);
	for (i = 0; i < n; i++)
		t0 += poolbench_ticks(pids[i]);
	if (pb->pb_pid > 0)
		c0 = poolbench_ticks(pb->pb_pid);
	poolbench_sleep(pb, pb->pb_idle_s * 1000);
	for (i = 0; i < n; i++)
		t1 += poolbench_ticks(pids[i]);
	if (pb->pb_pid > 0)
		c1 = poolbench_ticks(pb->pb_pid);
	poolbench_machine(&b1, &m1);
	w1 = mtime_now_ns();
	secs = (double)(w1 - w0) / 1e9;
	printf("cpu vms=%zu secs=%.1f vmm_cpu_pct=%.2f corral_cpu_pct=%.2f "
	    "machine_cpu_pct=%.2f ncpu=%ld\n", n, secs,
	    100.0 * (double)(t1 - t0) / hz / secs,
	    100.0 * (double)(c1 - c0) / hz / secs,
	    m1 > m0 ? 100.0 * (double)(b1 - b0) / (double)(m1 - m0) : 0.0,
	    sysconf(_SC_NPROCESSORS_ONLN));
	fflush(stdout);
}

/* SIGTERM to corral: how long until it is gone, and VMMs left over. */
static void
poolbench_stop(struct poolbench *pb)
{
	uint64_t	 t0 = mtime_now_ns();
	size_t		 i, left = 0;
	int		 status;

	kill(pb->pb_pid, SIGTERM);
	pb->pb_deadline = t0 + 60 * MTIME_NS_PER_S;
	while (pb->pb_fd != -1 && mtime_now_ns() < pb->pb_deadline)
		poolbench_pump(pb, 100, NULL);
	if (pb->pb_fd != -1)
		kill(pb->pb_pid, SIGKILL);
	waitpid(pb->pb_pid, &status, 0);
	for (i = 0; i < pb->pb_nseen; i++)
		if (kill(pb->pb_seen[i], 0) == 0)
			left++;
	printf("stop stop_us=%.0f status=%d leftover_vmms=%zu\n",
	    poolbench_us(mtime_now_ns() - t0),
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
	    left);
}

/* ------------------------------------------------------------------ */
/* the modes */

static bool
poolbench_all_ready(struct poolbench *pb, void *arg)
{
	(void)arg;
	return (pb->pb_announced && pb->pb_ready >= pb->pb_n);
}

static int
poolbench_mode_pool(struct poolbench *pb, char **argv)
{
	uint64_t	 span;

	if (poolbench_corral(pb, argv) == -1)
		return (1);
	if (poolbench_until(pb, poolbench_all_ready, NULL) == -1) {
		printf("notready vms=%u ready=%u booting=%u boots=%u exits=%u "
		    "after_us=%.0f\n", pb->pb_n, pb->pb_ready, pb->pb_booting,
		    pb->pb_boots, pb->pb_exits,
		    poolbench_us(mtime_now_ns() - pb->pb_t0));
		poolbench_stop(pb);
		return (1);
	}
	span = pb->pb_last_ready_ns - pb->pb_first_boot_ns;
	printf("boot vms=%u first_boot_to_all_ready_us=%.0f "
	    "start_to_all_ready_us=%.0f boots_per_s=%.1f boots=%u "
	    "exits=%u\n", pb->pb_n, poolbench_us(span),
	    poolbench_us(pb->pb_last_ready_ns - pb->pb_t0),
	    span > 0 ? pb->pb_n / ((double)span / 1e9) : 0.0,
	    pb->pb_boots, pb->pb_exits);
	fflush(stdout);
	poolbench_idle(pb);
	poolbench_stop(pb);
	return (0);
}

/* "{}" in <arg> becomes <i>. */
static char *
poolbench_subst(const char *arg, unsigned i)
{
	char		 num[16], *out;
	const char	*p;
	size_t		 len;

	if ((p = strstr(arg, "{}")) == NULL)
		return (strdup(arg));
	snprintf(num, sizeof(num), "%u", i);
	len = strlen(arg) - 2 + strlen(num) + 1;
	if ((out = malloc(len)) == NULL)
		return (NULL);
	snprintf(out, len, "%.*s%s%s", (int)(p - arg), arg, num, p + 2);
	return (out);
}

static bool
poolbench_procs_ready(struct poolbench *pb, void *arg)
{
	size_t	 i;

	(void)arg;
	/* A copy that closed its output without the marker has failed. */
	for (i = 0; i < pb->pb_nprocs; i++)
		if (pb->pb_procs[i].pr_ready_ns == 0 &&
		    pb->pb_procs[i].pr_fd != -1)
			return (false);
	return (true);
}

static int
poolbench_mode_procs(struct poolbench *pb, int argc, char **argv)
{
	struct poolbench_proc	*pr;
	char			**av;
	uint64_t		 last = 0, first = 0, t;
	unsigned		 i, failed = 0;
	int			 j, status, rc = 0;

	if (pb->pb_n > POOLBENCH_PROCS_MAX || pb->pb_nmarkers == 0)
		poolbench_usage();
	if ((pb->pb_procs = calloc(pb->pb_n, sizeof(*pr))) == NULL ||
	    (av = calloc((size_t)argc + 1, sizeof(*av))) == NULL)
		return (1);
	pb->pb_t0 = mtime_now_ns();
	for (i = 0; i < pb->pb_n; i++) {
		for (j = 0; j < argc; j++)
			if ((av[j] = poolbench_subst(argv[j], i)) == NULL)
				return (1);
		pr = &pb->pb_procs[i];
		if ((pr->pr_pid = poolbench_spawn(av, &pr->pr_fd)) == -1) {
			perror("poolbench: fork");
			break;
		}
		pb->pb_nprocs++;
		for (j = 0; j < argc; j++)
			free(av[j]);
	}
	free(av);
	if (pb->pb_nprocs < pb->pb_n ||
	    poolbench_until(pb, poolbench_procs_ready, NULL) == -1)
		rc = 1;
	for (i = 0; rc == 0 && i < pb->pb_nprocs; i++) {
		if (pb->pb_procs[i].pr_ready_ns == 0) {
			failed++;
			continue;
		}
		t = pb->pb_procs[i].pr_ready_ns - pb->pb_t0;
		last = t > last ? t : last;
		first = first == 0 || t < first ? t : first;
	}
	if (rc == 0 && failed > 0) {
		printf("notready vms=%u failed=%u\n", pb->pb_n, failed);
		rc = 1;
	} else if (rc == 0) {
		printf("boot vms=%u first_ready_us=%.0f start_to_all_ready_us="
		    "%.0f boots_per_s=%.1f\n", pb->pb_n, poolbench_us(first),
		    poolbench_us(last), pb->pb_n / ((double)last / 1e9));
		fflush(stdout);
		poolbench_idle(pb);
	}
	for (i = 0; i < pb->pb_nprocs; i++)
		kill(pb->pb_procs[i].pr_pid, SIGTERM);
	pb->pb_deadline = mtime_now_ns() + 30 * MTIME_NS_PER_S;
	for (i = 0; i < pb->pb_nprocs; i++) {
		while (waitpid(pb->pb_procs[i].pr_pid, &status, WNOHANG) == 0) {
			if (mtime_now_ns() >= pb->pb_deadline)
				kill(pb->pb_procs[i].pr_pid, SIGKILL);
			poolbench_pump(pb, 10, NULL);
		}
		if (pb->pb_procs[i].pr_fd != -1)
			close(pb->pb_procs[i].pr_fd);
		pb->pb_procs[i].pr_fd = -1;
	}
	return (rc);
}

static bool
poolbench_empty(struct poolbench *pb, void *arg)
{
	(void)arg;
	return (pb->pb_announced && pb->pb_booting + pb->pb_ready +
	    pb->pb_draining == 0);
}

/*
 * One GET / on a new connection while pumping corral's log: its status,
 * or -1; <*first> is when the first byte came back.
 */
static int
poolbench_get(struct poolbench *pb, uint64_t *first)
{
	static const char	 req[] = "GET / HTTP/1.1\r\nHost: bench\r\n"
				    "Connection: close\r\n\r\n";
	struct sockaddr_in	 sin;
	struct pollfd		 pfd;
	char			 buf[4096], head[64];
	size_t			 hlen = 0;
	ssize_t			 n;
	int			 fd, status = -1;

	*first = 0;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)pb->pb_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		goto done;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (mtime_now_ns() < pb->pb_deadline) {
		poolbench_pump(pb, 50, &pfd);
		if (pfd.revents == 0)
			continue;
		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		if (*first == 0)
			*first = mtime_now_ns();
		if (hlen < sizeof(head) - 1) {
			memcpy(head + hlen, buf, (size_t)n < sizeof(head) - 1 -
			    hlen ? (size_t)n : sizeof(head) - 1 - hlen);
			hlen += (size_t)n < sizeof(head) - 1 - hlen ?
			    (size_t)n : sizeof(head) - 1 - hlen;
			head[hlen] = '\0';
		}
	}
	if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
		status = -1;
done:
	close(fd);
	return (status);
}

static int
poolbench_mode_cold(struct poolbench *pb, char **argv)
{
	uint64_t	 t0, t1, first;
	unsigned	 r, boots;
	int		 status;

	if (poolbench_corral(pb, argv) == -1)
		return (1);
	for (r = 0; r < pb->pb_runs; r++) {
		if (poolbench_until(pb, poolbench_empty, NULL) == -1)
			break;
		/* Let the scale-down finish (sockets, the snapshot). */
		poolbench_sleep(pb, 200);
		boots = pb->pb_boots;
		t0 = mtime_now_ns();
		status = poolbench_get(pb, &first);
		t1 = mtime_now_ns();
		printf("cold run=%u status=%d cold_us=%.0f ttfb_us=%.0f "
		    "spawn_us=%.0f vm_ready_us=%.0f corral_ready_ms=%.2f\n", r,
		    status, poolbench_us(t1 - t0), first ? poolbench_us(first -
		    t0) : 0.0, pb->pb_boots > boots ?
		    poolbench_us(pb->pb_last_boot_ns - t0) : 0.0,
		    pb->pb_readies > 0 && pb->pb_last_ready_ns > t0 ?
		    poolbench_us(pb->pb_last_ready_ns - t0) : 0.0,
		    pb->pb_last_ready_ms);
		fflush(stdout);
	}
	poolbench_stop(pb);
	return (r == pb->pb_runs ? 0 : 1);
}

/* What the pool had done when the VM was killed. */
struct poolbench_kill {
	unsigned	 pk_gones;
	unsigned	 pk_readies;
};

static bool
poolbench_replaced(struct poolbench *pb, void *arg)
{
	struct poolbench_kill	*pk = arg;

	return (pb->pb_gones > pk->pk_gones &&
	    pb->pb_readies > pk->pk_readies && pb->pb_ready >= pb->pb_n);
}

static int
poolbench_mode_kill(struct poolbench *pb, char **argv)
{
	struct poolbench_kill	 pk;
	uint64_t		 t0;
	unsigned		 r, s = 0, i;

	if (poolbench_corral(pb, argv) == -1)
		return (1);
	for (r = 0; r < pb->pb_runs; r++) {
		if (poolbench_until(pb, poolbench_all_ready, NULL) == -1)
			break;
		poolbench_sleep(pb, 300);
		for (i = 0; i < POOLBENCH_SLOTS_MAX; i++) {
			s = (s + 1) % POOLBENCH_SLOTS_MAX;
			if (pb->pb_slots[s].sl_state == PB_READY)
				break;
		}
		pk.pk_gones = pb->pb_gones;
		pk.pk_readies = pb->pb_readies;
		t0 = mtime_now_ns();
		if (kill(pb->pb_slots[s].sl_pid, SIGKILL) == -1 ||
		    poolbench_until(pb, poolbench_replaced, &pk) == -1)
			break;
		printf("kill run=%u replace_us=%.0f exit_seen_us=%.0f "
		    "spawn_us=%.0f corral_ready_ms=%.2f\n", r,
		    poolbench_us(pb->pb_last_ready_ns - t0),
		    poolbench_us(pb->pb_last_gone_ns - t0),
		    poolbench_us(pb->pb_last_boot_ns - t0),
		    pb->pb_last_ready_ms);
		fflush(stdout);
	}
	poolbench_stop(pb);
	return (r == pb->pb_runs ? 0 : 1);
}

int
main(int argc, char *argv[])
{
	static struct poolbench	 pb;
	struct rlimit		 rl;
	const char		*mode;
	int			 ch, rc = 2;

	if (argc < 2)
		poolbench_usage();
	mode = argv[1];
	argc--;
	argv++;
	pb.pb_n = 2;
	pb.pb_runs = 10;
	pb.pb_fd = -1;
	pb.pb_deadline = 600;
	while ((ch = getopt(argc, argv, "n:r:i:g:k:t:l:")) != -1) {
		switch (ch) {
		case 'n':
			pb.pb_n = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'r':
			pb.pb_runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			pb.pb_idle_s = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			pb.pb_guest_kib = strtoul(optarg, NULL, 10) * 1024;
			break;
		case 'k':
			if (pb.pb_nmarkers == POOLBENCH_MARKERS)
				poolbench_usage();
			pb.pb_markers[pb.pb_nmarkers++] = optarg;
			break;
		case 't':
			pb.pb_deadline = strtoull(optarg, NULL, 10);
			break;
		case 'l':
			if ((pb.pb_log = fopen(optarg, "we")) == NULL) {
				perror(optarg);
				return (1);
			}
			setvbuf(pb.pb_log, NULL, _IOLBF, 0);
			break;
		default:
			poolbench_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || pb.pb_n == 0)
		poolbench_usage();
	/* A thousand VMs: a pidfd and a probe each in corral, a pipe here. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	pb.pb_deadline = mtime_now_ns() + pb.pb_deadline * MTIME_NS_PER_S;
	if (strcmp(mode, "pool") == 0)
		rc = poolbench_mode_pool(&pb, argv);
	else if (strcmp(mode, "procs") == 0)
		rc = poolbench_mode_procs(&pb, argc, argv);
	else if (strcmp(mode, "cold") == 0)
		rc = poolbench_mode_cold(&pb, argv);
	else if (strcmp(mode, "kill") == 0)
		rc = poolbench_mode_kill(&pb, argv);
	else
		poolbench_usage();
	if (pb.pb_log != NULL)
		fclose(pb.pb_log);
	return (rc);
}
