/*
 * bench/boottime.c: how long a VMM takes to boot a guest, measured from
 * outside the way a supervisor sees it.  Runs one VMM command per run
 * with its stdout (the guest's serial console) on a pipe and reports:
 *
 *	serial_us	fork() to the first console line holding <marker>
 *	health_us	fork() to the first "200" for GET /health over the
 *			vsock socket (with -u: Firecracker's CONNECT handshake)
 *	rss_kib		the VMM's resident memory just before it is stopped
 *	guest_kib	of which the guest's RAM mapping (the pages it touched)
 *
 * One line per run, "key=value" pairs, for bench/boot.sh to summarise.
 * Polling is bounded by -t; the VMM is stopped with SIGTERM, then
 * SIGKILL.
 *
 * usage: boottime [-m MARKER] [-u UDS -p PORT] [-g GUEST_MIB] [-t SEC] --
 *	      CMD [ARGS...]
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/mtime.h"

#define BOOTTIME_LINE_MAX	4096

struct boottime {
	const char	*bt_marker;	/* console text that means "booted" */
	const char	*bt_uds;	/* vsock socket, or NULL */
	unsigned	 bt_port;	/* guest port for GET /health */
	unsigned long	 bt_guest_kib;	/* guest RAM size, to find its mapping */
	uint64_t	 bt_deadline;	/* mtime ns */
};

static void
boottime_usage(void)
{
	fprintf(stderr, "usage: boottime [-m MARKER] [-u UDS -p PORT] "
	    "[-g GUEST_MIB] [-t SEC] -- CMD [ARGS...]\n");
	exit(2);
}

/*
 * One attempt at GET /health over the vsock socket; 1 when a 200 came
 * back, 0 when not (yet).  Blocking with short timeouts: the harness
 * measures, it serves nobody else meanwhile.
 */
static int
boottime_health(const struct boottime *bt)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { 0, 200000 };
	char			 buf[512], req[128];
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd, ok = 0;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(bt->bt_uds) >= sizeof(sun.sun_path))
		goto done;
	memcpy(sun.sun_path, bt->bt_uds, strlen(bt->bt_uds));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto done;
	n = snprintf(req, sizeof(req), "CONNECT %u\nGET /health HTTP/1.1\r\n"
	    "Host: bench\r\nConnection: close\r\n\r\n", bt->bt_port);
	if (write(fd, req, (size_t)n) != n)
		goto done;
	/* "OK <port>\n" then the status line. */
	while (got < sizeof(buf) - 1) {
		if ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "HTTP/1.1 200") != NULL) {
			ok = 1;
			break;
		}
		if (strstr(buf, "\r\n") != NULL)
			break;
	}
done:
	close(fd);
	return ok;
}

/* Total and guest-RAM resident KiB of <pid>, from /proc/PID/smaps. */
static void
boottime_rss(pid_t pid, unsigned long guest_kib, unsigned long *total,
    unsigned long *guest)
{
	char		 path[64], line[256];
	unsigned long	 size = 0, v;
	FILE		*f;

	*total = *guest = 0;
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "Size: %lu kB", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %lu kB", &v) == 1) {
			*total += v;
			/* The guest's RAM is the one mapping of its size. */
			if (guest_kib != 0 && size == guest_kib)
				*guest += v;
		}
	}
	fclose(f);
}

/* Reads console output until <marker> shows up; 1 found, 0 not. */
static int
boottime_serial(const struct boottime *bt, int fd)
{
	static char	 buf[BOOTTIME_LINE_MAX];
	static size_t	 len;
	struct pollfd	 pfd = { fd, POLLIN, 0 };
	ssize_t		 n;
	int		 ms;

	ms = (int)((bt->bt_deadline - mtime_now_ns()) / MTIME_NS_PER_MS);
	if (ms <= 0 || poll(&pfd, 1, ms) <= 0)
		return 0;
	if (len == sizeof(buf) - 1)
		len = 0;	/* a marker never spans a full buffer */
	if ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) <= 0)
		return -1;
	len += (size_t)n;
	buf[len] = '\0';
	return strstr(buf, bt->bt_marker) != NULL;
}

int
main(int argc, char *argv[])
{
	struct boottime	 bt = { "corral-guest", NULL, 8080, 0, 0 };
	unsigned long	 rss, guest;
	uint64_t	 t0, serial = 0, health = 0;
	pid_t		 pid;
	int		 ch, p[2], r, status, i, devnull;

	while ((ch = getopt(argc, argv, "m:u:p:g:t:")) != -1) {
		switch (ch) {
		case 'm':
			bt.bt_marker = optarg;
			break;
		case 'u':
			bt.bt_uds = optarg;
			break;
		case 'p':
			bt.bt_port = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'g':
			bt.bt_guest_kib = strtoul(optarg, NULL, 10) * 1024;
			break;
		case 't':
			bt.bt_deadline = strtoull(optarg, NULL, 10);
			break;
		default:
			boottime_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		boottime_usage();
	if (bt.bt_deadline == 0)
		bt.bt_deadline = 10;
	if (pipe2(p, O_CLOEXEC) == -1)
		return 1;
	t0 = mtime_now_ns();
	bt.bt_deadline = t0 + bt.bt_deadline * MTIME_NS_PER_S;
	if ((pid = fork()) == -1)
		return 1;
	if (pid == 0) {
		devnull = open("/dev/null", O_RDWR);
		dup2(p[1], STDOUT_FILENO);
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDERR_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while ((r = boottime_serial(&bt, p[0])) == 0 &&
	    mtime_now_ns() < bt.bt_deadline)
		;
	if (r == 1)
		serial = mtime_now_ns() - t0;
	while (r == 1 && bt.bt_uds != NULL && mtime_now_ns() < bt.bt_deadline) {
		if (boottime_health(&bt)) {
			health = mtime_now_ns() - t0;
			break;
		}
		usleep(200);
	}
	boottime_rss(pid, bt.bt_guest_kib, &rss, &guest);
	kill(pid, SIGTERM);
	for (i = 0; i < 200 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (i == 200) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	printf("serial_us=%llu health_us=%llu rss_kib=%lu guest_kib=%lu\n",
	    (unsigned long long)(serial / 1000),
	    (unsigned long long)(health / 1000), rss, guest);
	return serial == 0 || (bt.bt_uds != NULL && health == 0);
}
