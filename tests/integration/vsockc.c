/*
 * tests/integration/vsockc.c: a test client for corral-vmm's vsock Unix
 * socket (Firecracker's convention: "CONNECT <port>\n", "OK <n>\n", then
 * the stream).  One process, one poll() loop over every connection, one
 * deadline for the whole run.
 *
 *   vsockc [-t S] UDS PORT                  stdin to the guest, reply to stdout
 *   vsockc [-t S] [-n C] [-m R] [-o] -p PATH UDS PORT
 *                                           C connections x R keep-alive GETs
 *   vsockc [-t S] [-n C] [-m R] -e SIZE UDS PORT
 *                                           POST /echo of SIZE bytes, each checked
 *   vsockc [-t S] -L PATH                   listen on PATH, print the first line
 *
 * GET /bytes/N bodies are checked against the guest's pattern, echo
 * bodies against what was sent; -o prints the last body.  Exit 0 when
 * every response was 200 and right, 1 otherwise, with one line saying why.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/mtime.h"

#define VSOCKC_PATTERN	\
	"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/"

enum vsockc_state {
	VSOCKC_HANDSHAKE = 0,
	VSOCKC_HEAD,
	VSOCKC_BODY,
	VSOCKC_DONE,
};

struct vsockc_buf {
	uint8_t		*b_data;
	size_t		 b_len;
	size_t		 b_cap;
};

struct vsockc_conn {
	int			 c_fd;
	enum vsockc_state	 c_state;
	struct vsockc_buf	 c_out;
	size_t			 c_outoff;
	struct vsockc_buf	 c_in;
	struct vsockc_buf	 c_body;
	int			 c_reqs;	/* responses complete */
	int			 c_status;
	long long		 c_clen;	/* -1: chunked */
	long long		 c_chunk;	/* bytes left in this chunk */
};

struct vsockc {
	const char	*v_uds;
	unsigned long	 v_port;
	const char	*v_path;	/* GET target, or NULL for echo */
	size_t		 v_echo;	/* echo body size */
	long long	 v_expect;	/* /bytes/N: N, else -1 */
	int		 v_reqs;
	int		 v_print;
	uint8_t		*v_echo_body;
	uint64_t	 v_deadline;	/* ms */
};

static void	vsockc_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	vsockc_put(struct vsockc_buf *, const void *, size_t);
static int	vsockc_dial(const struct vsockc *);
static void	vsockc_request(struct vsockc *, struct vsockc_conn *);
static int	vsockc_input(struct vsockc *, struct vsockc_conn *);
static int	vsockc_head(struct vsockc *, struct vsockc_conn *);
static int	vsockc_chunks(struct vsockc_conn *);
static void	vsockc_check(struct vsockc *, struct vsockc_conn *);
static int	vsockc_listen(const char *, uint64_t);
static int	vsockc_pipe(struct vsockc *);
static int	vsockc_run(struct vsockc *, int);

static void
vsockc_die(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "vsockc: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
vsockc_put(struct vsockc_buf *b, const void *p, size_t len)
{
	size_t	 cap = b->b_cap ? b->b_cap : 4096;

	while (cap < b->b_len + len)
		cap *= 2;
	if (cap != b->b_cap) {
		if ((b->b_data = realloc(b->b_data, cap)) == NULL)
			vsockc_die("out of memory");
		b->b_cap = cap;
	}
	memcpy(b->b_data + b->b_len, p, len);
	b->b_len += len;
}

static void
vsockc_consume(struct vsockc_buf *b, size_t n)
{
	memmove(b->b_data, b->b_data + n, b->b_len - n);
	b->b_len -= n;
}

/* Connects and sends the CONNECT line; the OK comes back through poll. */
static int
vsockc_dial(const struct vsockc *v)
{
	struct sockaddr_un	 sun;
	char			 line[32];
	int			 fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(v->v_uds) >= sizeof(sun.sun_path))
		vsockc_die("%s: path too long", v->v_uds);
	memcpy(sun.sun_path, v->v_uds, strlen(v->v_uds));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		vsockc_die("%s: connect: %s", v->v_uds, strerror(errno));
	n = snprintf(line, sizeof(line), "CONNECT %lu\n", v->v_port);
	if (write(fd, line, n) != n)
		vsockc_die("%s: write: %s", v->v_uds, strerror(errno));
	if (fcntl(fd, F_SETFL, O_NONBLOCK) == -1)
		vsockc_die("fcntl: %s", strerror(errno));
	return fd;
}

static void
vsockc_request(struct vsockc *v, struct vsockc_conn *c)
{
	char	 head[512];
	int	 n;

	if (v->v_path != NULL)
		n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\n"
		    "Host: vm\r\n\r\n", v->v_path);
	else
		n = snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\n"
		    "Host: vm\r\nContent-Length: %zu\r\n\r\n", v->v_echo);
	if (n < 0 || (size_t)n >= sizeof(head))
		vsockc_die("request line too long");
	vsockc_put(&c->c_out, head, n);
	if (v->v_path == NULL)
		vsockc_put(&c->c_out, v->v_echo_body, v->v_echo);
	c->c_state = VSOCKC_HEAD;
	c->c_body.b_len = 0;
}

/* Parses a response head in c_in.  0: need more, 1: done, -1: bad. */
static int
vsockc_head(struct vsockc *v, struct vsockc_conn *c)
{
	uint8_t	*end;
	char	*head, *line, *save, *val;
	size_t	 n;

	(void)v;
	end = memmem(c->c_in.b_data, c->c_in.b_len, "\r\n\r\n", 4);
	if (end == NULL)
		return c->c_in.b_len > 16384 ? -1 : 0;
	n = end - c->c_in.b_data + 4;
	if ((head = strndup((char *)c->c_in.b_data, n - 4)) == NULL)
		vsockc_die("out of memory");
	vsockc_consume(&c->c_in, n);
	c->c_status = 0;
	c->c_clen = -2;
	line = strtok_r(head, "\r\n", &save);
	if (line == NULL || sscanf(line, "HTTP/1.1 %d", &c->c_status) != 1) {
		free(head);
		return -1;
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		if ((val = strchr(line, ':')) == NULL)
			continue;
		*val++ = '\0';
		val += strspn(val, " \t");
		if (strcasecmp(line, "Content-Length") == 0)
			c->c_clen = strtoll(val, NULL, 10);
		else if (strcasecmp(line, "Transfer-Encoding") == 0 &&
		    strcasecmp(val, "chunked") == 0)
			c->c_clen = -1;
	}
	free(head);
	if (c->c_clen == -2)
		return -1;	/* we only speak to servers that say the length */
	c->c_chunk = 0;
	c->c_state = VSOCKC_BODY;
	return 1;
}

/* Chunked decoding of what c_in holds.  1: body complete, 0: more, -1. */
static int
vsockc_chunks(struct vsockc_conn *c)
{
	uint8_t		*eol;
	size_t		 n;
	long long	 size;

	for (;;) {
		if (c->c_chunk > 0) {
			n = c->c_in.b_len < (size_t)c->c_chunk ? c->c_in.b_len :
			    (size_t)c->c_chunk;
			vsockc_put(&c->c_body, c->c_in.b_data, n);
			vsockc_consume(&c->c_in, n);
			c->c_chunk -= n;
			if (c->c_chunk > 0)
				return 0;
			c->c_chunk = -1;	/* its CRLF is next */
		}
		if (c->c_chunk == -1) {
			if (c->c_in.b_len < 2)
				return 0;
			if (memcmp(c->c_in.b_data, "\r\n", 2) != 0)
				return -1;
			vsockc_consume(&c->c_in, 2);
			c->c_chunk = 0;
		}
		eol = memmem(c->c_in.b_data, c->c_in.b_len, "\r\n", 2);
		if (eol == NULL)
			return c->c_in.b_len > 64 ? -1 : 0;
		size = strtoll((char *)c->c_in.b_data, NULL, 16);
		if (size < 0)
			return -1;
		if (size == 0) {
			/* Last chunk: no trailers from our guest. */
			if (c->c_in.b_len < (size_t)(eol - c->c_in.b_data) + 4)
				return 0;
			vsockc_consume(&c->c_in, eol - c->c_in.b_data + 4);
			return 1;
		}
		vsockc_consume(&c->c_in, eol - c->c_in.b_data + 2);
		c->c_chunk = size;
	}
}

static void
vsockc_check(struct vsockc *v, struct vsockc_conn *c)
{
	size_t	 i;

	if (c->c_status != 200)
		vsockc_die("fd %d: response %d: status %d", c->c_fd,
		    c->c_reqs, c->c_status);
	if (v->v_path == NULL) {
		if (c->c_body.b_len != v->v_echo ||
		    memcmp(c->c_body.b_data, v->v_echo_body, v->v_echo) != 0)
			vsockc_die("echo: body differs (%zu of %zu bytes)",
			    c->c_body.b_len, v->v_echo);
	} else if (v->v_expect >= 0) {
		if ((long long)c->c_body.b_len != v->v_expect)
			vsockc_die("%s: %zu bytes, expected %lld", v->v_path,
			    c->c_body.b_len, v->v_expect);
		for (i = 0; i < c->c_body.b_len; i++)
			if (c->c_body.b_data[i] != VSOCKC_PATTERN[i % 64])
				vsockc_die("%s: byte %zu differs", v->v_path,
				    i);
	}
}

/* Handles what arrived on <c>.  -1 at EOF or error. */
static int
vsockc_input(struct vsockc *v, struct vsockc_conn *c)
{
	uint8_t		 buf[65536], *nl;
	ssize_t		 n;
	int		 rc;

	n = read(c->c_fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	vsockc_put(&c->c_in, buf, n);
	for (;;) {
		switch (c->c_state) {
		case VSOCKC_HANDSHAKE:
			nl = memchr(c->c_in.b_data, '\n', c->c_in.b_len);
			if (nl == NULL)
				return 0;
			if (c->c_in.b_len < 3 ||
			    memcmp(c->c_in.b_data, "OK ", 3) != 0)
				vsockc_die("handshake: no OK line");
			vsockc_consume(&c->c_in, nl - c->c_in.b_data + 1);
			vsockc_request(v, c);
			break;
		case VSOCKC_HEAD:
			if ((rc = vsockc_head(v, c)) == -1)
				vsockc_die("fd %d: bad response head", c->c_fd);
			if (rc == 0)
				return 0;
			break;
		case VSOCKC_BODY:
			if (c->c_clen >= 0) {
				if (c->c_in.b_len < (size_t)c->c_clen)
					return 0;
				vsockc_put(&c->c_body, c->c_in.b_data,
				    c->c_clen);
				vsockc_consume(&c->c_in, c->c_clen);
			} else if ((rc = vsockc_chunks(c)) == -1)
				vsockc_die("fd %d: bad chunking", c->c_fd);
			else if (rc == 0)
				return 0;
			vsockc_check(v, c);
			if (++c->c_reqs == v->v_reqs) {
				c->c_state = VSOCKC_DONE;
				return 0;
			}
			vsockc_request(v, c);
			break;
		case VSOCKC_DONE:
			if (c->c_in.b_len != 0)
				vsockc_die("fd %d: bytes after the last response",
				    c->c_fd);
			return 0;
		}
	}
}

/* Where each unfinished connection stood, for a run that timed out. */
static void
vsockc_report(const struct vsockc *v, const struct vsockc_conn *cs,
    int nconns)
{
	static const char *const names[] = { "handshake", "head", "body",
	    "done" };
	const struct vsockc_conn *c;
	int			 i, shown = 0;

	for (i = 0; i < nconns; i++) {
		c = &cs[i];
		if (c->c_state == VSOCKC_DONE)
			continue;
		if (shown++ == 10) {
			fprintf(stderr, "vsockc: ...\n");
			break;
		}
		fprintf(stderr, "vsockc: fd %d: %s, %d of %d responses, "
		    "%zu bytes unparsed, %zu of %zu request bytes written\n",
		    c->c_fd, names[c->c_state], c->c_reqs, v->v_reqs,
		    c->c_in.b_len, c->c_outoff, c->c_out.b_len);
	}
}

static int
vsockc_run(struct vsockc *v, int nconns)
{
	struct vsockc_conn	*cs;
	struct pollfd		*pfds;
	uint64_t		 now;
	ssize_t			 w;
	int			 i, left = nconns;

	if ((cs = calloc(nconns, sizeof(*cs))) == NULL ||
	    (pfds = calloc(nconns, sizeof(*pfds))) == NULL)
		vsockc_die("out of memory");
	for (i = 0; i < nconns; i++)
		cs[i].c_fd = vsockc_dial(v);
	while (left > 0) {
		for (i = 0; i < nconns; i++) {
			pfds[i].fd = cs[i].c_state == VSOCKC_DONE ? -1 :
			    cs[i].c_fd;
			pfds[i].events = POLLIN;
			if (cs[i].c_outoff < cs[i].c_out.b_len)
				pfds[i].events |= POLLOUT;
		}
		if ((now = mtime_now_ms()) >= v->v_deadline) {
			vsockc_report(v, cs, nconns);
			vsockc_die("deadline: %d of %d connections unfinished",
			    left, nconns);
		}
		if (poll(pfds, nconns, (int)(v->v_deadline - now)) == -1 &&
		    errno != EINTR)
			vsockc_die("poll: %s", strerror(errno));
		for (i = 0; i < nconns; i++) {
			struct vsockc_conn *c = &cs[i];

			if (pfds[i].fd == -1 || pfds[i].revents == 0)
				continue;
			if (pfds[i].revents & POLLOUT) {
				w = write(c->c_fd, c->c_out.b_data +
				    c->c_outoff, c->c_out.b_len - c->c_outoff);
				if (w == -1 && errno != EAGAIN)
					vsockc_die("write: %s", strerror(errno));
				if (w > 0)
					c->c_outoff += w;
				if (c->c_outoff == c->c_out.b_len)
					c->c_outoff = c->c_out.b_len = 0;
			}
			if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    vsockc_input(v, c) == -1)
				vsockc_die("fd %d: closed after %d of %d "
				    "responses", c->c_fd, c->c_reqs,
				    v->v_reqs);
			if (c->c_state == VSOCKC_DONE)
				left--;
		}
	}
	if (v->v_print)
		fwrite(cs[0].c_body.b_data, 1, cs[0].c_body.b_len, stdout);
	for (i = 0; i < nconns; i++) {
		close(cs[i].c_fd);
		free(cs[i].c_in.b_data);
		free(cs[i].c_out.b_data);
		free(cs[i].c_body.b_data);
	}
	free(cs);
	free(pfds);
	return 0;
}

/* stdin to the guest, then everything back to stdout until EOF. */
static int
vsockc_pipe(struct vsockc *v)
{
	struct pollfd	 pfd[2];
	uint8_t		 buf[65536];
	uint64_t	 now;
	ssize_t		 n;
	int		 fd, ok = 0, in_open = 1;

	fd = vsockc_dial(v);
	for (;;) {
		pfd[0].fd = fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = in_open && ok ? STDIN_FILENO : -1;
		pfd[1].events = POLLIN;
		if ((now = mtime_now_ms()) >= v->v_deadline)
			vsockc_die("deadline");
		if (poll(pfd, 2, (int)(v->v_deadline - now)) == -1 &&
		    errno != EINTR)
			vsockc_die("poll: %s", strerror(errno));
		if (pfd[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0) {
				in_open = 0;
				shutdown(fd, SHUT_WR);
			} else if (send(fd, buf, n, MSG_NOSIGNAL) != n) {
				/* Short only when the socket is blocking-full. */
				fcntl(fd, F_SETFL, 0);
				if (send(fd, buf, n, MSG_NOSIGNAL) != n)
					vsockc_die("send: %s", strerror(errno));
				fcntl(fd, F_SETFL, O_NONBLOCK);
			}
		}
		if (!pfd[0].revents)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		if (!ok) {
			/* The OK line is ours, not the guest's. */
			uint8_t	*nl = memchr(buf, '\n', n);

			if (nl == NULL || memcmp(buf, "OK ", 3) != 0)
				vsockc_die("handshake: no OK line");
			ok = 1;
			n -= nl - buf + 1;
			memmove(buf, nl + 1, n);
		}
		fwrite(buf, 1, n, stdout);
	}
	close(fd);
	return ok ? 0 : 1;
}

/* Accepts one connection on <path> and prints its first line. */
static int
vsockc_listen(const char *path, uint64_t deadline)
{
	struct sockaddr_un	 sun;
	struct pollfd		 pfd;
	char			 line[256];
	size_t			 len = 0;
	ssize_t			 n;
	uint64_t		 now;
	int			 lfd, fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		vsockc_die("%s: path too long", path);
	memcpy(sun.sun_path, path, strlen(path));
	unlink(path);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(lfd, 8) == -1)
		vsockc_die("%s: %s", path, strerror(errno));
	/* Tell a waiting script we listen. */
	printf("LISTENING\n");
	fflush(stdout);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	while (len < sizeof(line) - 1) {
		if ((now = mtime_now_ms()) >= deadline)
			vsockc_die("%s: deadline", path);
		if (poll(&pfd, 1, (int)(deadline - now)) != 1)
			continue;
		if (fd == -1) {
			if ((fd = accept(lfd, NULL, NULL)) == -1)
				vsockc_die("accept: %s", strerror(errno));
			pfd.fd = fd;
			continue;
		}
		if ((n = read(fd, line + len, sizeof(line) - 1 - len)) <= 0)
			break;
		len += n;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	fputs(line, stdout);
	close(fd);
	close(lfd);
	unlink(path);
	return len != 0 && line[len - 1] == '\n' ? 0 : 1;
}

int
main(int argc, char *argv[])
{
	struct vsockc	 v;
	const char	*listen_path = NULL;
	unsigned long	 secs = 30;
	size_t		 i;
	int		 ch, nconns = 1;

	memset(&v, 0, sizeof(v));
	v.v_reqs = 1;
	v.v_expect = -1;
	while ((ch = getopt(argc, argv, "e:L:m:n:op:t:")) != -1) {
		switch (ch) {
		case 'e':
			v.v_echo = strtoul(optarg, NULL, 10);
			break;
		case 'L':
			listen_path = optarg;
			break;
		case 'm':
			v.v_reqs = atoi(optarg);
			break;
		case 'n':
			nconns = atoi(optarg);
			break;
		case 'o':
			v.v_print = 1;
			break;
		case 'p':
			v.v_path = optarg;
			break;
		case 't':
			secs = strtoul(optarg, NULL, 10);
			break;
		default:
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	signal(SIGPIPE, SIG_IGN);
	v.v_deadline = mtime_now_ms() + secs * 1000;
	if (listen_path != NULL)
		return vsockc_listen(listen_path, v.v_deadline);
	if (argc != 2 || nconns < 1 || v.v_reqs < 1)
		goto usage;
	v.v_uds = argv[0];
	v.v_port = strtoul(argv[1], NULL, 10);
	if (v.v_path == NULL && v.v_echo == 0)
		return vsockc_pipe(&v);
	if (v.v_path != NULL && strncmp(v.v_path, "/bytes/", 7) == 0)
		v.v_expect = strtoll(v.v_path + 7, NULL, 10);
	if (v.v_path == NULL) {
		if ((v.v_echo_body = malloc(v.v_echo)) == NULL)
			vsockc_die("out of memory");
		for (i = 0; i < v.v_echo; i++)
			v.v_echo_body[i] = VSOCKC_PATTERN[(i * 7) % 64];
	}
	ch = vsockc_run(&v, nconns);
	free(v.v_echo_body);
	return ch;
usage:
	fprintf(stderr, "usage: vsockc [-t secs] [-n conns] [-m reqs] [-o] "
	    "[-p path | -e size] uds port\n"
	    "       vsockc [-t secs] -L path\n");
	return 2;
}
