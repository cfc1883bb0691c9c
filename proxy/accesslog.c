/*
 * proxy/accesslog.c: formats and writes access-log lines.
 *
 * One struct accesslog for the process, opened from "log:" before the
 * workers start.  Every worker formats its line into a stack buffer and
 * emits it with a single write(2) on a descriptor opened with O_APPEND,
 * so lines from different threads never interleave (on a pipe, only up
 * to PIPE_BUF bytes are atomic).  No lock on that path.
 *
 * Rotation: accesslog_reopen() opens the file again by name and dup3()s
 * the new descriptor onto the old number, which the kernel does in one
 * step: a write already under way finishes into the old file, every
 * later one goes to the new file, and no thread ever sees a closed or
 * reused descriptor.  A mutex only keeps two reopens apart.
 *
 * Bytes from the client (target, User-Agent, Referer, a trusted request
 * id) are escaped in both formats, and each field is cut to a budget
 * that keeps any line below ACCESSLOG_LINE_MAX, so JSON lines stay valid.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "proxy/accesslog.h"

/* Escaped bytes per field; the sum stays well below the line maximum. */
#define ACCESSLOG_TARGET_MAX	3072
#define ACCESSLOG_HEADER_MAX	1024	/* User-Agent, Referer */
#define ACCESSLOG_FIELD_MAX	256	/* the rest */

#define ACCESSLOG_ELLIPSIS	"..."	/* ends a field that was cut */
#define ACCESSLOG_CUT		" [cut]" /* ends a line that was cut */
#define ACCESSLOG_TIME_MAX	64

/* Owned by the runtime; shared by every worker. */
struct accesslog {
	enum conf_access	 al_kind;
	enum conf_log_format	 al_format;
	int			 al_fd;		/* -1 off, 2 stderr */
	char			*al_path;	/* CONF_ACCESS_FILE */
	pthread_mutex_t		 al_lock;	/* reopens take turns */
	atomic_uint_least64_t	 al_dropped;
};

/* A line being built in a caller's buffer. */
struct accesslog_buf {
	char	*ab_p;
	size_t	 ab_len;
	size_t	 ab_cap;	/* less room for marker, "\n" */
	bool	 ab_cut;	/* full: nothing more goes in */
};

static void	accesslog_add(struct accesslog_buf *, const char *, size_t);
static void	accesslog_adds(struct accesslog_buf *, const char *);
static void	accesslog_addf(struct accesslog_buf *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static size_t	accesslog_utf8(const unsigned char *, size_t);
static void	accesslog_esc(struct accesslog_buf *, const char *, size_t,
		    bool, bool);
static void	accesslog_secs(char *, size_t, uint64_t);
static void	accesslog_proto(char *, size_t, int);
static void	accesslog_word(struct accesslog_buf *, const char *);
static void	accesslog_quoted(struct accesslog_buf *, const char *,
		    size_t);
static void	accesslog_combined(struct accesslog_buf *,
		    const struct accesslog_entry *);
static void	accesslog_json_str(struct accesslog_buf *, const char *,
		    const char *, size_t);
static void	accesslog_json(struct accesslog_buf *,
		    const struct accesslog_entry *);

struct accesslog *
accesslog_open(const struct conf_log *lg)
{
	struct accesslog	*al;

	if ((al = calloc(1, sizeof(*al))) == NULL)
		return NULL;
	al->al_kind = lg->lg_access;
	al->al_format = lg->lg_format;
	al->al_fd = -1;
	atomic_init(&al->al_dropped, 0);
	if ((errno = pthread_mutex_init(&al->al_lock, NULL)) != 0) {
		free(al);
		return NULL;
	}
	switch (al->al_kind) {
	case CONF_ACCESS_OFF:
		break;
	case CONF_ACCESS_STDERR:
		al->al_fd = STDERR_FILENO;
		break;
	case CONF_ACCESS_FILE:
		if (lg->lg_access_file.cf_path == NULL) {
			errno = EINVAL;
			goto fail;
		}
		if ((al->al_path = strdup(lg->lg_access_file.cf_path)) == NULL)
			goto fail;
		al->al_fd = open(al->al_path,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (al->al_fd == -1)
			goto fail;
		break;
	}
	return al;

fail:
	accesslog_free(al);
	return NULL;
}

void
accesslog_free(struct accesslog *al)
{
	int	 saved = errno;

	if (al == NULL)
		return;
	if (al->al_kind == CONF_ACCESS_FILE && al->al_fd != -1)
		close(al->al_fd);
	free(al->al_path);
	pthread_mutex_destroy(&al->al_lock);
	free(al);
	errno = saved;
}

int
accesslog_reopen(struct accesslog *al)
{
	int	 fd, saved, rc = 0;

	if (al->al_kind != CONF_ACCESS_FILE)
		return 0;
	pthread_mutex_lock(&al->al_lock);
	fd = open(al->al_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640);
	if (fd == -1)
		rc = -1;
	else if (dup3(fd, al->al_fd, O_CLOEXEC) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		rc = -1;
	} else
		close(fd);
	pthread_mutex_unlock(&al->al_lock);
	return rc;
}

uint64_t
accesslog_dropped(const struct accesslog *al)
{
	return atomic_load(&al->al_dropped);
}

void
accesslog_write(struct accesslog *al, const struct accesslog_entry *e)
{
	char	 line[ACCESSLOG_LINE_MAX];
	size_t	 len, off;
	ssize_t	 n;

	if (al->al_fd == -1)
		return;
	len = accesslog_format(e, al->al_format == CONF_LOG_JSON, line,
	    sizeof(line));
	/* One write; more only if the kernel took part of it (disk full). */
	for (off = 0; off < len; off += (size_t)n) {
		n = write(al->al_fd, line + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			atomic_fetch_add(&al->al_dropped, 1);
			return;
		}
	}
}

size_t
accesslog_format(const struct accesslog_entry *e, int json, char *buf,
    size_t len)
{
	struct accesslog_buf	 b;
	size_t			 reserve = sizeof(ACCESSLOG_CUT) + 1;

	if (len > ACCESSLOG_LINE_MAX)
		len = ACCESSLOG_LINE_MAX;
	if (len < reserve + 1) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	b.ab_p = buf;
	b.ab_len = 0;
	b.ab_cap = len - reserve;
	b.ab_cut = false;
	if (json)
		accesslog_json(&b, e);
	else
		accesslog_combined(&b, e);
	if (b.ab_cut) {
		memcpy(b.ab_p + b.ab_len, ACCESSLOG_CUT,
		    sizeof(ACCESSLOG_CUT) - 1);
		b.ab_len += sizeof(ACCESSLOG_CUT) - 1;
	}
	b.ab_p[b.ab_len++] = '\n';
	b.ab_p[b.ab_len] = '\0';
	return b.ab_len;
}

/* ------------------------------------------------------------------ */
/* Building a line */

static void
accesslog_add(struct accesslog_buf *b, const char *s, size_t n)
{
	if (b->ab_cut)
		return;
	if (n > b->ab_cap - b->ab_len) {
		b->ab_cut = true;
		return;
	}
	memcpy(b->ab_p + b->ab_len, s, n);
	b->ab_len += n;
}

static void
accesslog_adds(struct accesslog_buf *b, const char *s)
{
	accesslog_add(b, s, strlen(s));
}

static void
accesslog_addf(struct accesslog_buf *b, const char *fmt, ...)
{
	char	 tmp[128];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->ab_cut = true;	/* cannot happen with our formats */
		return;
	}
	accesslog_add(b, tmp, (size_t)n);
}

/*
 * Length of the well-formed UTF-8 sequence at <p> (RFC 3629 §4: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t
accesslog_utf8(const unsigned char *p, size_t n)
{
	size_t	 len, i;
	unsigned char lo = 0x80, hi = 0xbf;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

/*
 * Appends <n> bytes of <s>, escaped, at most <max> bytes of output (then
 * cut, ending in "...").  JSON: RFC 8259 escapes, well-formed UTF-8 kept,
 * any other byte as \u00XX.  Combined (nginx's way): '"', '\', control
 * and non-ASCII bytes as \xXX, and spaces too when <space> (unquoted
 * fields stay one word).
 */
static void
accesslog_esc(struct accesslog_buf *b, const char *s, size_t max,
    bool json, bool space)
{
	const unsigned char	*p = (const unsigned char *)s;
	const char		*out;
	char			 tmp[8];
	size_t			 n, k, used = 0, len = strlen(s);

	max -= sizeof(ACCESSLOG_ELLIPSIS) - 1;
	for (n = 0; n < len; n += k) {
		out = tmp;
		k = 1;
		if (json) {
			switch (p[n]) {
			case '"': out = "\\\""; break;
			case '\\': out = "\\\\"; break;
			case '\b': out = "\\b"; break;
			case '\f': out = "\\f"; break;
			case '\n': out = "\\n"; break;
			case '\r': out = "\\r"; break;
			case '\t': out = "\\t"; break;
			default:
				if (p[n] >= 0x20 && p[n] != 0x7f &&
				    (k = accesslog_utf8(p + n, len - n)) > 0)
					out = (const char *)p + n;
				else {
					k = 1;
					snprintf(tmp, sizeof(tmp), "\\u%04x",
					    p[n]);
				}
				break;
			}
		} else if (p[n] == '"' || p[n] == '\\' || p[n] < 0x20 ||
		    p[n] >= 0x7f || (space && p[n] == ' '))
			snprintf(tmp, sizeof(tmp), "\\x%02X", p[n]);
		else
			out = (const char *)p + n;
		if (out == (const char *)p + n) {
			if (used + k > max)
				break;
			accesslog_add(b, out, k);
			used += k;
		} else {
			if (used + strlen(out) > max)
				break;
			accesslog_adds(b, out);
			used += strlen(out);
		}
	}
	if (n < len)
		accesslog_adds(b, ACCESSLOG_ELLIPSIS);
}

/* "0.012": microseconds as seconds, millisecond precision. */
static void
accesslog_secs(char *buf, size_t len, uint64_t us)
{
	snprintf(buf, len, "%" PRIu64 ".%03" PRIu64, us / 1000000,
	    us % 1000000 / 1000);
}

static void
accesslog_proto(char *buf, size_t len, int version)
{
	if (version > 0 && version < 100)
		snprintf(buf, len, "HTTP/%d.%d", version / 10, version % 10);
	else
		snprintf(buf, len, "-");
}

/* An unquoted combined field: "-" when absent or empty. */
static void
accesslog_word(struct accesslog_buf *b, const char *s)
{
	if (s == NULL || *s == '\0')
		accesslog_adds(b, "-");
	else
		accesslog_esc(b, s, ACCESSLOG_FIELD_MAX, false, true);
}

/* A quoted combined field: "-" when absent or empty, as Apache does. */
static void
accesslog_quoted(struct accesslog_buf *b, const char *s, size_t max)
{
	accesslog_adds(b, "\"");
	if (s == NULL || *s == '\0')
		accesslog_adds(b, "-");
	else
		accesslog_esc(b, s, max, false, false);
	accesslog_adds(b, "\"");
}

/*
 * 127.0.0.1 - - [02/Jan/2024:03:04:05 +0000] "GET / HTTP/1.1" 200 5
 * "-" "curl/8.0" rt=0.012 uct=0.003 ttfb=0.010 up=127.0.0.1:9000
 * route=routes[0] pool=app rid=0f3a... retries=0
 */
static void
accesslog_combined(struct accesslog_buf *b, const struct accesslog_entry *e)
{
	char		 t[ACCESSLOG_TIME_MAX], proto[16];
	char		 rt[32], uct[32], ttfb[32];
	struct tm	 tm;

	if (gmtime_r(&e->ae_start.tv_sec, &tm) == NULL ||
	    strftime(t, sizeof(t), "%d/%b/%Y:%H:%M:%S +0000", &tm) == 0)
		snprintf(t, sizeof(t), "-");
	accesslog_proto(proto, sizeof(proto), e->ae_version);
	accesslog_secs(rt, sizeof(rt), e->ae_total_us);
	accesslog_secs(uct, sizeof(uct), e->ae_upstream_us);
	accesslog_secs(ttfb, sizeof(ttfb), e->ae_ttfb_us);

	accesslog_word(b, e->ae_client);
	accesslog_addf(b, " - - [%s] \"", t);
	if (e->ae_method == NULL)
		accesslog_adds(b, "-");
	else {
		accesslog_esc(b, e->ae_method, ACCESSLOG_FIELD_MAX, false,
		    true);
		accesslog_adds(b, " ");
		if (e->ae_target == NULL || *e->ae_target == '\0')
			accesslog_adds(b, "-");
		else
			accesslog_esc(b, e->ae_target, ACCESSLOG_TARGET_MAX,
			    false, true);
		accesslog_addf(b, " %s", proto);
	}
	accesslog_addf(b, "\" %d %" PRIu64 " ", e->ae_status,
	    e->ae_bytes_out);
	accesslog_quoted(b, e->ae_referer, ACCESSLOG_HEADER_MAX);
	accesslog_adds(b, " ");
	accesslog_quoted(b, e->ae_user_agent, ACCESSLOG_HEADER_MAX);
	accesslog_addf(b, " rt=%s uct=%s ttfb=%s up=", rt, uct, ttfb);
	accesslog_word(b, e->ae_upstream);
	accesslog_adds(b, " route=");
	accesslog_word(b, e->ae_route);
	accesslog_adds(b, " pool=");
	accesslog_word(b, e->ae_pool);
	accesslog_adds(b, " rid=");
	accesslog_word(b, e->ae_request_id);
	accesslog_addf(b, " retries=%u", e->ae_retries);
}

/* ,"key":"escaped" or ,"key":null; no comma before the first key. */
static void
accesslog_json_str(struct accesslog_buf *b, const char *key, const char *s,
    size_t max)
{
	accesslog_addf(b, ",\"%s\":", key);
	if (s == NULL) {
		accesslog_adds(b, "null");
		return;
	}
	accesslog_adds(b, "\"");
	accesslog_esc(b, s, max, true, false);
	accesslog_adds(b, "\"");
}

static void
accesslog_json(struct accesslog_buf *b, const struct accesslog_entry *e)
{
	char		 t[ACCESSLOG_TIME_MAX], proto[16];
	char		 rt[32], uct[32], ttfb[32];
	struct tm	 tm;

	if (gmtime_r(&e->ae_start.tv_sec, &tm) == NULL ||
	    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(t, sizeof(t), "1970-01-01T00:00:00");
	accesslog_proto(proto, sizeof(proto), e->ae_version);
	accesslog_secs(rt, sizeof(rt), e->ae_total_us);
	accesslog_secs(uct, sizeof(uct), e->ae_upstream_us);
	accesslog_secs(ttfb, sizeof(ttfb), e->ae_ttfb_us);

	accesslog_addf(b, "{\"time\":\"%s.%03ldZ\"", t,
	    (long)(e->ae_start.tv_nsec / 1000000));
	accesslog_json_str(b, "client", e->ae_client, ACCESSLOG_FIELD_MAX);
	accesslog_json_str(b, "method", e->ae_method, ACCESSLOG_FIELD_MAX);
	accesslog_json_str(b, "target", e->ae_target, ACCESSLOG_TARGET_MAX);
	accesslog_json_str(b, "version", e->ae_version > 0 ? proto : NULL,
	    ACCESSLOG_FIELD_MAX);
	accesslog_addf(b, ",\"status\":%d,\"bytes_in\":%" PRIu64
	    ",\"bytes_out\":%" PRIu64, e->ae_status, e->ae_bytes_in,
	    e->ae_bytes_out);
	accesslog_json_str(b, "referer", e->ae_referer, ACCESSLOG_HEADER_MAX);
	accesslog_json_str(b, "user_agent", e->ae_user_agent,
	    ACCESSLOG_HEADER_MAX);
	accesslog_addf(b, ",\"rt\":%s,\"uct\":%s,\"ttfb\":%s", rt, uct, ttfb);
	accesslog_json_str(b, "upstream", e->ae_upstream, ACCESSLOG_FIELD_MAX);
	accesslog_json_str(b, "route", e->ae_route, ACCESSLOG_FIELD_MAX);
	accesslog_json_str(b, "pool", e->ae_pool, ACCESSLOG_FIELD_MAX);
	accesslog_json_str(b, "request_id", e->ae_request_id,
	    ACCESSLOG_FIELD_MAX);
	accesslog_addf(b, ",\"retries\":%u,\"tls\":%s}", e->ae_retries,
	    e->ae_tls ? "true" : "false");
}
