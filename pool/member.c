/*
 * pool/member.c: one VM of a pool, from spawn to reaping.
 *
 * A member is a slot of its pool (p_members[m_slot]); the slot's socket
 * path never changes, so the workers' backends stay valid while VMs come
 * and go.  Data model: m_state follows member_step(), a pure function
 * the unit tests drive; the rest of this file acts on the transitions
 * it returns: a BOOTING member is probed every POOL_BOOT_POLL_MS until
 * its first health check passes (READY, published to the workers), a
 * READY one every health.interval; fall failures in a row (or the boot
 * timeout) kill it (FAILED); a draining one is stopped with SIGTERM
 * once no request is in flight; the pidfd reports the exit, the slot
 * becomes STOPPED and the pool reconciles (replacing it if needed).
 * m_why says why a member leaves (set by whoever asks, else read from
 * the exit status), for the logs and the pool's counters.  Every state
 * change is logged at info (warn when unasked) and marks the pool's
 * status snapshot for publication (pool_changed()).  Everything runs on
 * the pool thread.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "lib/log.h"
#include "pool/health.h"
#include "pool/member.h"
#include "pool/pool_priv.h"
#include "pool/spawn.h"

#define MEMBER_CMDLINE_MAX	4096
#define MEMBER_CID_FIRST	3	/* 0-2 are reserved by vsock */
#define MEMBER_ID_MAX		64	/* corral-vmm --id */

static void	member_exit_cb(evutil_socket_t fd, short what, void *arg);
static void	member_timer_cb(evutil_socket_t fd, short what, void *arg);
static void	member_probe_stop(struct member *m);
static void	member_probe_cb(enum health_result res, int status,
		    void *arg);
static void	member_probe_done(struct member *m, enum health_result res,
		    int status);
static void	member_exited(struct member *m, int status);
static enum member_why member_why_status(int status);
static void	member_set_state(struct member *m, enum member_state st);
static void	member_arm(struct member *m, uint64_t ms);
static void	member_last_line(const struct member *m, char *buf,
		    size_t len);

int
member_init(struct member *m, struct pool *pool, size_t slot)
{
	m->magic = MEMBER_MAGIC;
	m->m_pool = pool;
	m->m_slot = slot;
	/* CIDs only need to be unique per guest: vsock is a Unix socket. */
	m->m_cid = MEMBER_CID_FIRST + (unsigned)slot;
	m->m_pid = -1;
	m->m_pidfd = -1;
	m->m_state = MEMBER_STOPPED;
	m->m_why = MEMBER_WHY_NONE;
	m->m_health_res = -1;
	if (pool->p_base != NULL && (m->m_ev_timer = evtimer_new(
	    pool->p_base, member_timer_cb, m)) == NULL)
		return (-1);
	return (0);
}

static void
member_set_state(struct member *m, enum member_state st)
{
	bool	 was_ready = m->m_state == MEMBER_READY;

	m->m_state = st;
	m->m_state_ns = pool_now(m->m_pool);
	if (was_ready != (st == MEMBER_READY))
		pool_publish(m->m_pool);
	pool_changed(m->m_pool);
}

static void
member_arm(struct member *m, uint64_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(m->m_ev_timer, &tv);
}

int
member_spawn(struct member *m)
{
	struct pool		*pool = m->m_pool;
	const struct conf_microvm *vm = &pool->p_conf.pl_vm;
	struct spawn_args	 a;
	char			 cmdline[MEMBER_CMDLINE_MAX], id[MEMBER_ID_MAX];
	char			 serial[PATH_MAX], logf[PATH_MAX];
	int			 n, pidfd;
	pid_t			 pid;

	ASSERT(m->m_state == MEMBER_STOPPED);
	snprintf(id, sizeof(id), "%s-%zu", pool->p_name, m->m_slot);
	n = snprintf(cmdline, sizeof(cmdline), "%s%scorral.id=%s "
	    "corral.port=%u%s", vm->vm_cmdline != NULL ? vm->vm_cmdline : "",
	    vm->vm_cmdline != NULL ? " " : "", id, vm->vm_port,
	    vm->vm_faults ? " corral.faults=1" : "");
	if (n < 0 || (size_t)n >= sizeof(cmdline) ||
	    snprintf(serial, sizeof(serial), "%s/vm-%zu.serial", pool->p_dir,
	    m->m_slot) >= (int)sizeof(serial) ||
	    snprintf(logf, sizeof(logf), "%s/vm-%zu.log", pool->p_dir,
	    m->m_slot) >= (int)sizeof(logf)) {
		log_warnx("pool %s: vm %zu: paths or command line too long",
		    pool->p_name, m->m_slot);
		return (-1);
	}
	memset(&a, 0, sizeof(a));
	a.sa_vmm = pool->p_vmm;
	a.sa_kernel = vm->vm_kernel.cf_path;
	a.sa_initrd = vm->vm_initrd.cf_path;
	a.sa_cmdline = cmdline;
	a.sa_memory = vm->vm_memory;
	a.sa_vcpus = vm->vm_vcpus > 0 ? vm->vm_vcpus : 1;
	a.sa_cid = m->m_cid;
	a.sa_sock = m->m_sock;
	a.sa_serial = serial;
	a.sa_log = logf;
	a.sa_id = id;
	/* A socket left by a VM killed with SIGKILL. */
	unlink(m->m_sock);
	if ((pid = spawn_vmm(&a, &pidfd)) == -1) {
		log_warn("pool %s: vm %zu: cannot start %s", pool->p_name,
		    m->m_slot, pool->p_vmm);
		return (-1);
	}
	if ((m->m_ev_exit = event_new(pool->p_base, pidfd, EV_READ | EV_PERSIST,
	    member_exit_cb, m)) == NULL || event_add(m->m_ev_exit, NULL) ==
	    -1) {
		/* Cannot watch it: do not let it run unwatched. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		if (m->m_ev_exit != NULL)
			event_free(m->m_ev_exit);
		m->m_ev_exit = NULL;
		close(pidfd);
		log_warnx("pool %s: vm %zu: out of resources", pool->p_name,
		    m->m_slot);
		return (-1);
	}
	m->m_pid = pid;
	m->m_pidfd = pidfd;
	m->m_boot = ++pool->p_boot_seq;
	m->m_spawn_ns = pool_now(pool);
	m->m_ready_ns = 0;
	m->m_recycle = m->m_killed = m->m_termed = false;
	m->m_why = MEMBER_WHY_NONE;
	m->m_health_res = -1;
	m->m_health_status = 0;
	m->m_health_ns = 0;
	memset(&m->m_health, 0, sizeof(m->m_health));
	atomic_store(&pool->p_slots[m->m_slot].sl_requests, 0);
	atomic_store(&pool->p_slots[m->m_slot].sl_failures, 0);
	pool->p_boots++;
	member_set_state(m, MEMBER_BOOTING);
	log_info("pool %s: vm %zu: booting (pid %ld, cid %u)", pool->p_name,
	    m->m_slot, (long)pid, m->m_cid);
	member_arm(m, 0);
	return (0);
}

/* Probes when due, and the deadlines of booting and draining. */
static void
member_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct member		*m = arg;
	struct pool		*pool = m->m_pool;
	const struct conf_health *he = &pool->p_conf.pl_vm.vm_health;
	uint64_t		 now = pool_now(pool);

	(void)fd;
	(void)what;
	ASSERT(m->magic == MEMBER_MAGIC);
	if (m->m_state == MEMBER_BOOTING && now - m->m_spawn_ns >=
	    (uint64_t)POOL_BOOT_TIMEOUT_MS * MTIME_NS_PER_MS) {
		member_kill(m, MEMBER_WHY_BOOT_TIMEOUT,
		    "not ready within the boot timeout");
		pool_info_flush(pool);
		return;
	}
	if (m->m_state != MEMBER_BOOTING && m->m_state != MEMBER_READY)
		return;
	if (m->m_probe != NULL)
		return;
	m->m_probe = health_probe_start(pool->p_base, m->m_sock,
	    pool->p_conf.pl_vm.vm_port, he->he_path, (int)he->he_status,
	    he->he_timeout, &m->m_hconn, member_probe_cb, m);
	if (m->m_probe == NULL)
		member_arm(m, he->he_interval);
}

/* No more checks: the one under way and the kept connection go. */
static void
member_probe_stop(struct member *m)
{
	health_probe_free(m->m_probe);
	m->m_probe = NULL;
	health_conn_free(m->m_hconn);
	m->m_hconn = NULL;
}

static void
member_probe_cb(enum health_result res, int status, void *arg)
{
	struct member		*m = arg;

	ASSERT(m->magic == MEMBER_MAGIC);
	m->m_probe = NULL;
	member_probe_done(m, res, status);
	pool_info_flush(m->m_pool);
}

static void
member_probe_done(struct member *m, enum health_result res, int status)
{
	struct pool		*pool = m->m_pool;
	const struct conf_health *he = &pool->p_conf.pl_vm.vm_health;
	enum member_state	 st;
	bool			 out = m->m_health.mh_out;
	char			 why[128];

	m->m_health_res = (int)res;
	m->m_health_status = status;
	m->m_health_ns = pool_now(pool);
	pool_changed(pool);
	st = member_step(m->m_state, res == HEALTH_OK ? MEMBER_EV_PROBE_OK :
	    MEMBER_EV_PROBE_FAIL, &m->m_health, he->he_fall, he->he_rise);
	if (m->m_state == MEMBER_BOOTING) {
		if (st == MEMBER_READY) {
			m->m_ready_ns = pool_now(pool);
			member_set_state(m, st);
			pool_hist_add(&pool->p_boot_time, (m->m_ready_ns -
			    m->m_spawn_ns) / 1000);
			pool->p_crashes = 0;
			log_info("pool %s: vm %zu: ready in %.1f ms",
			    pool->p_name, m->m_slot, (double)(m->m_ready_ns -
			    m->m_spawn_ns) / 1e6);
			member_arm(m, he->he_interval);
			pool_reconcile(pool);
		} else
			member_arm(m, POOL_BOOT_POLL_MS);
		return;
	}
	if (m->m_state != MEMBER_READY)
		return;
	if (res != HEALTH_OK) {
		if (status != 0)
			snprintf(why, sizeof(why), "%s %d",
			    health_strerror(res), status);
		else
			snprintf(why, sizeof(why), "%s", health_strerror(res));
		log_warnx("pool %s: vm %zu: health check failed (%u/%u): %s",
		    pool->p_name, m->m_slot, m->m_health.mh_fail,
		    he->he_fall, why);
		if (st == MEMBER_FAILED) {
			member_kill(m, MEMBER_WHY_HEALTH, "marked down");
			return;
		}
	}
	if (out != m->m_health.mh_out) {
		if (out)
			log_info("pool %s: vm %zu: back in rotation after %u "
			    "passed checks", pool->p_name, m->m_slot,
			    m->m_health.mh_ok);
		else
			log_warnx("pool %s: vm %zu: out of rotation until %u "
			    "checks pass", pool->p_name, m->m_slot,
			    he->he_rise > 0 ? he->he_rise : 1);
		pool_publish(pool);
	}
	member_arm(m, he->he_interval);
}

void
member_check_now(struct member *m)
{
	if (m->m_state != MEMBER_READY || m->m_probe != NULL)
		return;
	evtimer_del(m->m_ev_timer);
	member_arm(m, 0);
}

void
member_drain(struct member *m, enum member_why why)
{
	struct pool	*pool = m->m_pool;
	enum member_state st;
	const char	*how;

	st = member_step(m->m_state, MEMBER_EV_DRAIN, &m->m_health, 0, 0);
	if (st == MEMBER_FAILED) {
		member_kill(m, why, "not needed any more");
		return;
	}
	if (st != MEMBER_DRAINING)
		return;
	member_probe_stop(m);
	m->m_why = why;
	member_set_state(m, st);
	switch (why) {
	case MEMBER_WHY_RECYCLE:
		how = " (recycled)";
		break;
	case MEMBER_WHY_ADMIN:
		how = " (replaced)";
		break;
	case MEMBER_WHY_SCALE_DOWN:
		how = " (scaling down)";
		break;
	default:
		how = "";
		break;
	}
	log_info("pool %s: vm %zu: draining%s", pool->p_name, m->m_slot, how);
	member_tick(m);
}

void
member_replace(struct member *m, enum member_why why)
{
	struct pool	*pool = m->m_pool;

	if (m->m_state == MEMBER_BOOTING) {
		/* Not serving yet: nothing to keep up, boot another. */
		pool->p_replaced[why]++;
		member_kill(m, why, "replaced while booting");
		return;
	}
	if (m->m_state != MEMBER_READY || m->m_recycle)
		return;
	/* pool_reconcile() boots the replacement, then drains this one. */
	m->m_recycle = true;
	m->m_why = why;
	pool->p_replaced[why]++;
	pool_changed(pool);
}

void
member_kill(struct member *m, enum member_why why, const char *text)
{
	struct pool	*pool = m->m_pool;

	member_probe_stop(m);
	/*
	 * A member still serving may carry the reason of a replacement
	 * not made yet (member_replace()): what stops it now is this.
	 */
	if (m->m_why == MEMBER_WHY_NONE || m->m_state == MEMBER_BOOTING ||
	    m->m_state == MEMBER_READY)
		m->m_why = why;
	if (m->m_state != MEMBER_FAILED) {
		if (member_why_asked(why))
			log_info("pool %s: vm %zu: %s: stopping it",
			    pool->p_name, m->m_slot, text);
		else
			log_warnx("pool %s: vm %zu: %s: stopping it",
			    pool->p_name, m->m_slot, text);
		member_set_state(m, MEMBER_FAILED);
	}
	if (m->m_pid > 0 && !m->m_killed) {
		kill(m->m_pid, SIGKILL);
		m->m_killed = true;
	}
}

void
member_tick(struct member *m)
{
	struct pool	*pool = m->m_pool;
	uint64_t	 now = pool_now(pool), since;

	if (m->m_state != MEMBER_DRAINING || m->m_pid <= 0)
		return;
	since = (now - m->m_state_ns) / MTIME_NS_PER_MS;
	if (!m->m_termed && (atomic_load(&pool->p_slots[m->m_slot].
	    sl_inflight) == 0 || since >= POOL_DRAIN_MAX_MS)) {
		kill(m->m_pid, SIGTERM);
		m->m_termed = true;
		m->m_state_ns = now;
	} else if (m->m_termed && !m->m_killed &&
	    since >= POOL_STOP_GRACE_MS) {
		log_warnx("pool %s: vm %zu: no exit %u ms after SIGTERM: "
		    "killing it", pool->p_name, m->m_slot, POOL_STOP_GRACE_MS);
		kill(m->m_pid, SIGKILL);
		m->m_killed = true;
	}
}

/* The process is gone: reap it, free the slot, let the pool decide. */
static void
member_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct member		*m = arg;
	int			 status = 0;

	(void)fd;
	(void)what;
	ASSERT(m->magic == MEMBER_MAGIC);
	if (waitpid(m->m_pid, &status, WNOHANG) == 0)
		return;		/* spurious */
	member_exited(m, status);
	pool_info_flush(m->m_pool);
}

static void
member_exited(struct member *m, int status)
{
	struct pool		*pool = m->m_pool;
	enum member_state	 was = m->m_state;
	enum member_why		 why = m->m_why;
	char			 reason[64], line[160];
	bool			 asked;

	spawn_exit_reason(status, reason, sizeof(reason));
	member_last_line(m, line, sizeof(line));
	/*
	 * Not told to stop (m_why may name a replacement still booting):
	 * it crashed or exited, whatever was planned for it.
	 */
	if (was == MEMBER_BOOTING || was == MEMBER_READY)
		why = MEMBER_WHY_NONE;
	if (pool->p_stopping && why == MEMBER_WHY_NONE)
		why = MEMBER_WHY_SHUTDOWN;
	else if (was == MEMBER_DRAINING && why == MEMBER_WHY_NONE)
		why = MEMBER_WHY_SCALE_DOWN;
	else if (why == MEMBER_WHY_NONE)
		why = member_why_status(status);
	asked = member_why_asked(why);
	pool->p_exits_by[why]++;
	pool_changed(pool);
	if (asked)
		log_info("pool %s: vm %zu: stopped (%s)", pool->p_name,
		    m->m_slot, reason);
	else {
		pool->p_exits++;
		/* Reconcile boots another, unless one was booting already. */
		if (!m->m_recycle)
			pool->p_replaced[why]++;
		log_warnx("pool %s: vm %zu: exited while %s (%s)%s%s",
		    pool->p_name, m->m_slot, member_state_name(was), reason,
		    line[0] != '\0' ? ": " : "", line);
		/* Never ready, or gone at once: a crash loop in the making. */
		if (was == MEMBER_BOOTING || m->m_ready_ns == 0) {
			pool->p_crashes++;
			pool->p_next_spawn_ns = pool_now(pool) +
			    member_backoff_ms(pool->p_crashes) *
			    MTIME_NS_PER_MS;
			if (pool->p_crashes > 1)
				log_warnx("pool %s: %u failed boots in a row: "
				    "next boot in %llu ms", pool->p_name,
				    pool->p_crashes, (unsigned long long)
				    member_backoff_ms(pool->p_crashes));
		}
	}
	member_clear(m);
	unlink(m->m_sock);
	m->m_state = member_step(m->m_state, MEMBER_EV_EXIT, &m->m_health,
	    0, 0);
	m->m_state_ns = pool_now(pool);
	if (was == MEMBER_READY)
		pool_publish(pool);
	if (!pool->p_stopping)
		pool_reconcile(pool);
}

/* Why a VM nobody asked to stop went, from corral-vmm's status. */
static enum member_why
member_why_status(int status)
{
	switch (spawn_exit_kind(status)) {
	case SPAWN_EXIT_CRASH:
		return (MEMBER_WHY_CRASH);
	case SPAWN_EXIT_ERROR:
		return (MEMBER_WHY_ERROR);
	case SPAWN_EXIT_SIGNAL:
		return (MEMBER_WHY_SIGNAL);
	case SPAWN_EXIT_GUEST:
		break;
	}
	return (MEMBER_WHY_EXIT);
}

bool
member_why_asked(enum member_why why)
{
	switch (why) {
	case MEMBER_WHY_RECYCLE:
	case MEMBER_WHY_SCALE_DOWN:
	case MEMBER_WHY_ADMIN:
	case MEMBER_WHY_SHUTDOWN:
		return (true);
	default:
		return (false);
	}
}

const char *
member_why_name(enum member_why why)
{
	static const char *const names[MEMBER_NWHY] = {
		[MEMBER_WHY_NONE] = "none",
		[MEMBER_WHY_CRASH] = "crash",
		[MEMBER_WHY_ERROR] = "vmm_error",
		[MEMBER_WHY_EXIT] = "exit",
		[MEMBER_WHY_SIGNAL] = "signal",
		[MEMBER_WHY_HEALTH] = "health",
		[MEMBER_WHY_BOOT_TIMEOUT] = "boot_timeout",
		[MEMBER_WHY_RECYCLE] = "recycle",
		[MEMBER_WHY_SCALE_DOWN] = "scale_down",
		[MEMBER_WHY_ADMIN] = "admin",
		[MEMBER_WHY_SHUTDOWN] = "shutdown",
	};

	if ((unsigned)why >= MEMBER_NWHY)
		return ("?");
	return (names[why]);
}

void
member_clear(struct member *m)
{
	member_probe_stop(m);
	if (m->m_ev_timer != NULL)
		evtimer_del(m->m_ev_timer);
	if (m->m_ev_exit != NULL)
		event_free(m->m_ev_exit);
	m->m_ev_exit = NULL;
	if (m->m_pidfd != -1)
		close(m->m_pidfd);
	m->m_pidfd = -1;
	m->m_pid = -1;
}

/* The VMM's last line on stderr (its log file): why it stopped. */
static void
member_last_line(const struct member *m, char *buf, size_t len)
{
	char	 path[PATH_MAX], tail[512];
	FILE	*fp;
	long	 size;
	size_t	 n;
	char	*p, *end;

	buf[0] = '\0';
	if (snprintf(path, sizeof(path), "%s/vm-%zu.log", m->m_pool->p_dir,
	    m->m_slot) >= (int)sizeof(path) ||
	    (fp = fopen(path, "re")) == NULL)
		return;
	if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) > 0 &&
	    fseek(fp, size > (long)sizeof(tail) - 1 ? size -
	    ((long)sizeof(tail) - 1) : 0, SEEK_SET) == 0) {
		n = fread(tail, 1, sizeof(tail) - 1, fp);
		tail[n] = '\0';
		end = tail + n;
		while (end > tail && (end[-1] == '\n' || end[-1] == '\r'))
			*--end = '\0';
		p = strrchr(tail, '\n');
		p = p != NULL ? p + 1 : tail;
		n = strlen(p) < len ? strlen(p) : len - 1;
		memcpy(buf, p, n);
		buf[n] = '\0';
	}
	fclose(fp);
}
