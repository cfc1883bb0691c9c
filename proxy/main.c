/*
 * proxy/main.c: corral's main(): the command line, loading and checking
 * the configuration, binding the listeners, starting the workers, and
 * the main thread's loop, which does nothing but handle signals:
 *
 *	SIGTERM, SIGINT	stop accepting, let the workers drain their
 *			sessions up to the drain timeout, stop every VM of
 *			the microvm pools (pool/pool.h), exit 0
 *	SIGHUP		re-read the file; if all of it builds (conf, files,
 *			TLS contexts), swap the new runtime in for new
 *			sessions, else report every error and keep going
 *	SIGUSR1		reopen the access log
 *
 * The main thread owns the listeners (until the workers take their
 * sockets), the workers, one reference to the current runtime, the
 * session-ticket keys every runtime's TLS listeners share (so that a
 * reload does not invalidate the tickets clients hold), the workers'
 * request counters (proxy/metrics.h, one shard each) and the admin
 * listener (proxy/admin.h, a thread of its own).
 * Signals are blocked in the other threads, so they all arrive here.
 */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "conf/conf.h"
#include "lib/bufmem.h"
#include "lib/log.h"
#include "pool/pool.h"
#include "proxy/accesslog.h"
#include "proxy/admin.h"
#include "proxy/listener.h"
#include "proxy/metrics.h"
#include "proxy/runtime.h"
#include "proxy/tls.h"
#include "proxy/worker.h"

#define MAIN_EXIT_USAGE		2
#define MAIN_EXIT_CONFIG	2
#define MAIN_EXIT_FAILURE	1
#define MAIN_NSIGNALS		4

/* The main thread's state; lives on main()'s stack. */
struct main_ctx {
	const char		*m_path;
	struct event_base	*m_base;
	struct runtime		*m_rt;
	struct pool_group	*m_pools;	/* the pool thread */
	struct tls_tickets	*m_tickets;	/* shared by every runtime */
	struct listener		**m_listeners;
	size_t			 m_nlisteners;
	int			 m_admin_fd;	/* until the admin takes it */
	char			 m_admin_addr[ADMIN_ADDR_MAX];
	struct admin		*m_admin;
	struct metrics		*m_metrics;	/* the workers' counters */
	struct worker		**m_workers;
	size_t			 m_nworkers;
	struct event		*m_sig[MAIN_NSIGNALS];
	struct event		*m_drained;
	struct event		*m_drain_timer;
	bool			 m_stopping;
};

static void		 main_rlimit(void);
static void		 main_usage(FILE *fp);
static struct runtime	*main_load(const char *path, struct tls_tickets *tk,
			    unsigned flags, size_t *nworkers);
static size_t		 main_nworkers(unsigned configured);
static int		 main_listen(struct main_ctx *m);
static int		 main_admin_listen(struct main_ctx *m);
static int		 main_admin_start(struct main_ctx *m);
static int		 main_workers(struct main_ctx *m);
static void		 main_signal_cb(evutil_socket_t sig, short what,
			    void *arg);
static void		 main_reload(struct main_ctx *m);
static void		 main_shutdown(struct main_ctx *m);
static void		 main_drained_cb(evutil_socket_t fd, short what,
			    void *arg);
static void		 main_drain_timeout_cb(evutil_socket_t fd,
			    short what, void *arg);
static void		 main_free(struct main_ctx *m);

static const int main_signals[MAIN_NSIGNALS] = {
	SIGTERM, SIGINT, SIGHUP, SIGUSR1,
};

static void
main_usage(FILE *fp)
{
	fprintf(fp, "usage: corral [-t] -c FILE\n"
	    "  -c FILE  the configuration file\n"
	    "  -t       check the configuration and exit (0: good, 2: bad)\n"
	    "  -h       this help\n");
}

/*
 * Every connection, upstream, VM (pidfd, socket, serial log) and probe
 * is a descriptor, and Debian's default soft limit of 1,024 runs out at
 * a few hundred VMs or clients.  The hard limit is what the
 * administrator allows; corral uses only epoll, so nothing breaks above
 * FD_SETSIZE.
 */
static void
main_rlimit(void)
{
	struct rlimit	 rl;
	rlim_t		 was;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= rl.rlim_max)
		return;
	was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		log_warn("cannot raise the open file limit from %llu",
		    (unsigned long long)was);
	else
		log_debug("open file limit raised from %llu to %llu",
		    (unsigned long long)was, (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char *argv[])
{
	struct main_ctx	 m;
	bool		 check = false;
	int		 ch;

	memset(&m, 0, sizeof(m));
	m.m_admin_fd = -1;
	log_init("corral", LOG_LEVEL_INFO);
	while ((ch = getopt(argc, argv, "c:th")) != -1) {
		switch (ch) {
		case 'c':
			m.m_path = optarg;
			break;
		case 't':
			check = true;
			break;
		case 'h':
			main_usage(stdout);
			return (0);
		default:
			main_usage(stderr);
			return (MAIN_EXIT_USAGE);
		}
	}
	if (optind != argc || m.m_path == NULL) {
		main_usage(stderr);
		return (MAIN_EXIT_USAGE);
	}
	signal(SIGPIPE, SIG_IGN);
	if (check) {
		if ((m.m_rt = main_load(m.m_path, NULL, RUNTIME_CHECK,
		    &m.m_nworkers)) == NULL)
			return (MAIN_EXIT_CONFIG);
		log_info("%s: configuration ok", m.m_path);
		runtime_put(m.m_rt);
		return (0);
	}
	/* Before libevent allocates anything (lib/bufmem.h). */
	event_set_mem_functions(bufmem_malloc, bufmem_realloc, bufmem_free);
	if (evthread_use_pthreads() == -1)
		fatalx("libevent: no thread support");
	if ((m.m_tickets = tls_tickets_new(NULL, TLS_TICKET_PERIOD_MS)) ==
	    NULL)
		fatal("cannot make session ticket keys");
	if ((m.m_rt = main_load(m.m_path, m.m_tickets, 0,
	    &m.m_nworkers)) == NULL) {
		tls_tickets_put(m.m_tickets);
		return (MAIN_EXIT_CONFIG);
	}
	if ((m.m_base = event_base_new()) == NULL)
		fatalx("cannot create the main event loop");
	/* Where each listener is bound is said whatever the level. */
	if (main_listen(&m) == -1 || main_admin_listen(&m) == -1) {
		main_free(&m);
		return (MAIN_EXIT_FAILURE);
	}
	log_init("corral", m.m_rt->rt_conf->c_log.lg_level);
	main_rlimit();
	/* The VMs boot while the workers start; early requests wait. */
	if ((m.m_pools = pool_group_new(m.m_rt->rt_conf)) == NULL ||
	    pool_group_start(m.m_pools) == -1) {
		main_free(&m);
		return (MAIN_EXIT_FAILURE);
	}
	runtime_bind_pools(m.m_rt, m.m_pools);
	if ((m.m_metrics = metrics_new(m.m_nworkers)) == NULL ||
	    main_admin_start(&m) == -1) {
		log_warnx("cannot start the admin listener: out of resources");
		main_free(&m);
		return (MAIN_EXIT_FAILURE);
	}
	if (main_workers(&m) == -1) {
		main_free(&m);
		return (MAIN_EXIT_FAILURE);
	}
	log_info("started %zu workers", m.m_nworkers);
	event_base_dispatch(m.m_base);
	main_free(&m);
	log_info("stopped");
	return (0);
}

/*
 * Loads <path> completely: conf, files, TLS contexts, backend names,
 * with a runtime slot for each of <*nworkers> workers (0: as many as
 * the file asks for, stored there).  Prints every error and warning;
 * NULL if there was an error.
 */
static struct runtime *
main_load(const char *path, struct tls_tickets *tk, unsigned flags,
    size_t *nworkers)
{
	struct conf_errors	*errs;
	struct conf		*conf;
	struct runtime		*rt = NULL;

	if ((errs = conf_errors_new()) == NULL) {
		log_warnx("%s: out of memory", path);
		return (NULL);
	}
	if ((conf = conf_load(path, errs)) != NULL &&
	    conf_check_files(conf, errs) == 0) {
		if (*nworkers == 0)
			*nworkers = main_nworkers(conf->c_workers);
		rt = runtime_new(&conf, *nworkers, tk, flags, errs);
	}
	conf_free(conf);
	if (conf_errors_count(errs) > 0 || conf_errors_warnings(errs) > 0)
		conf_errors_print(errs, stderr);
	if (rt == NULL && conf_errors_count(errs) == 0)
		log_warnx("%s: cannot load the configuration", path);
	conf_errors_free(errs);
	return (rt);
}

static size_t
main_nworkers(unsigned configured)
{
	long	 n;

	if (configured > 0)
		return (configured);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return (n > 0 ? (size_t)n : 1);
}

/* Binds every listener, one socket per worker, and says where. */
static int
main_listen(struct main_ctx *m)
{
	const struct conf	*conf = m->m_rt->rt_conf;
	const struct conf_listener *li;
	size_t			 i;

	m->m_listeners = calloc(conf->c_nlisteners, sizeof(*m->m_listeners));
	if (m->m_listeners == NULL && conf->c_nlisteners > 0)
		return (-1);
	for (i = 0; i < conf->c_nlisteners; i++) {
		li = &conf->c_listeners[i];
		if ((m->m_listeners[i] = listener_new(li, m->m_nworkers)) ==
		    NULL) {
			log_warn("listener %s: cannot listen on %s",
			    li->li_name, li->li_listen.ca_text);
			return (-1);
		}
		m->m_nlisteners = i + 1;
		log_info("listener %s: listening on %s", li->li_name,
		    m->m_listeners[i]->l_addr);
	}
	return (0);
}

/*
 * Binds the admin listener and says where.  An address the file gives
 * that cannot be bound stops corral, like any listener's; the default
 * one (127.0.0.1:9901, when the file says nothing) is only a warning,
 * so that several corrals on one host still start.
 */
static int
main_admin_listen(struct main_ctx *m)
{
	const struct conf_admin	*ad = &m->m_rt->rt_conf->c_admin;

	if (!ad->ad_enabled)
		return (0);
	if ((m->m_admin_fd = admin_listen(&ad->ad_listen, m->m_admin_addr,
	    sizeof(m->m_admin_addr))) == -1) {
		if (ad->ad_listen.ca_pos.cp_line != 0) {
			log_warn("admin: cannot listen on %s",
			    ad->ad_listen.ca_text);
			return (-1);
		}
		log_warn("admin: cannot listen on %s (the default): going on "
		    "without the admin listener", ad->ad_listen.ca_text);
		return (0);
	}
	log_info("admin: listening on %s", m->m_admin_addr);
	return (0);
}

/* The admin thread, once the pools and the counters exist. */
static int
main_admin_start(struct main_ctx *m)
{
	int	 fd = m->m_admin_fd;

	if (fd == -1)
		return (0);
	m->m_admin_fd = -1;
	if ((m->m_admin = admin_new(m->m_metrics, m->m_rt)) == NULL) {
		close(fd);
		return (-1);
	}
	if (admin_listen_fd(m->m_admin, fd) == -1 ||
	    admin_start(m->m_admin) == -1)
		return (-1);
	return (0);
}

/*
 * Catches the signals on this thread's loop, then starts the workers
 * with those signals blocked so that only this thread receives them.
 */
static int
main_workers(struct main_ctx *m)
{
	sigset_t	 set, old;
	size_t		 i, j;
	int		 rc = 0;

	for (i = 0; i < MAIN_NSIGNALS; i++) {
		m->m_sig[i] = evsignal_new(m->m_base, main_signals[i],
		    main_signal_cb, m);
		if (m->m_sig[i] == NULL || evsignal_add(m->m_sig[i], NULL) ==
		    -1) {
			log_warnx("cannot catch signal %d", main_signals[i]);
			return (-1);
		}
	}
	if ((m->m_drained = event_new(m->m_base, -1, 0, main_drained_cb,
	    m)) == NULL || (m->m_drain_timer = evtimer_new(m->m_base,
	    main_drain_timeout_cb, m)) == NULL ||
	    (m->m_workers = calloc(m->m_nworkers,
	    sizeof(*m->m_workers))) == NULL)
		return (-1);
	sigemptyset(&set);
	for (i = 0; i < MAIN_NSIGNALS; i++)
		sigaddset(&set, main_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	for (i = 0; i < m->m_nworkers && rc == 0; i++) {
		if ((m->m_workers[i] = worker_new(i, m->m_rt,
		    m->m_drained)) == NULL) {
			rc = -1;
			break;
		}
		worker_set_metrics(m->m_workers[i],
		    metrics_shard(m->m_metrics, i));
		for (j = 0; j < m->m_nlisteners && rc == 0; j++)
			rc = worker_listen(m->m_workers[i], j,
			    listener_take(m->m_listeners[j], i));
		if (rc == 0 && (rc = worker_start(m->m_workers[i])) == -1)
			log_warn("worker %zu: cannot start", i);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc == -1)
		log_warnx("cannot start the workers: out of resources");
	return (rc);
}

static void
main_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct main_ctx	*m = arg;

	(void)what;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		main_shutdown(m);
		break;
	case SIGHUP:
		main_reload(m);
		break;
	case SIGUSR1:
		if (m->m_rt->rt_log != NULL &&
		    accesslog_reopen(m->m_rt->rt_log) == -1)
			log_warn("cannot reopen the access log");
		else
			log_info("logs reopened");
		break;
	}
}

/*
 * SIGHUP: a new runtime from the file, swapped in only if all of it
 * builds and the listeners are the ones already bound.
 */
static void
main_reload(struct main_ctx *m)
{
	struct conf_errors		*errs;
	struct conf			*conf;
	struct runtime			*rt = NULL;
	const struct conf_listener	*li;
	size_t				 i;
	bool				 ok = true;

	if (m->m_stopping)
		return;
	if ((errs = conf_errors_new()) == NULL) {
		log_warnx("%s: reload: out of memory", m->m_path);
		return;
	}
	if ((conf = conf_load(m->m_path, errs)) != NULL &&
	    conf_check_files(conf, errs) == 0)
		rt = runtime_new(&conf, m->m_nworkers, m->m_tickets, 0,
		    errs);
	conf_free(conf);
	if (rt != NULL && rt->rt_conf->c_nlisteners != m->m_nlisteners) {
		li = rt->rt_conf->c_nlisteners > 0 ?
		    &rt->rt_conf->c_listeners[0] : NULL;
		conf_errors_at(errs, li != NULL ? &li->li_pos :
		    &(const struct conf_pos){ m->m_path, 0, 0 }, "listeners",
		    "adding or removing listeners needs a restart");
		ok = false;
	}
	for (i = 0; rt != NULL && ok && i < m->m_nlisteners; i++) {
		li = &rt->rt_conf->c_listeners[i];
		if (!listener_matches(m->m_listeners[i], li)) {
			conf_errors_at(errs, &li->li_listen.ca_pos,
			    li->li_key, "changing a listener's name or "
			    "address needs a restart");
			ok = false;
		}
	}
	if (conf_errors_count(errs) > 0 || conf_errors_warnings(errs) > 0)
		conf_errors_print(errs, stderr);
	conf_errors_free(errs);
	if (rt == NULL || !ok) {
		runtime_put(rt);
		log_warnx("%s: reload failed, keeping the running "
		    "configuration", m->m_path);
		return;
	}
	if (main_nworkers(rt->rt_conf->c_workers) != m->m_nworkers)
		log_warnx("%s: workers: a new count needs a restart",
		    m->m_path);
	/* The level is read by every thread without a lock (lib/log.h). */
	if (rt->rt_conf->c_log.lg_level != log_getlevel())
		log_warnx("%s: log.level: a new level needs a restart",
		    m->m_path);
	if (rt->rt_conf->c_admin.ad_enabled !=
	    m->m_rt->rt_conf->c_admin.ad_enabled ||
	    (rt->rt_conf->c_admin.ad_enabled && strcmp(
	    rt->rt_conf->c_admin.ad_listen.ca_text,
	    m->m_rt->rt_conf->c_admin.ad_listen.ca_text) != 0))
		log_warnx("%s: admin.listen: a new address needs a restart",
		    m->m_path);
	runtime_bind_pools(rt, m->m_pools);
	for (i = 0; i < m->m_nworkers; i++)
		worker_swap(m->m_workers[i], rt);
	if (m->m_admin != NULL)
		admin_swap(m->m_admin, rt);
	runtime_put(m->m_rt);
	m->m_rt = rt;
	log_info("config reloaded");
}

/* SIGTERM: drain, bounded by the longest drain timeout of a listener. */
static void
main_shutdown(struct main_ctx *m)
{
	const struct conf	*conf = m->m_rt->rt_conf;
	struct timeval		 tv;
	uint64_t		 ms = 0;
	size_t			 i;

	if (m->m_stopping) {
		log_info("second signal: stopping now");
		main_drain_timeout_cb(-1, 0, m);
		return;
	}
	m->m_stopping = true;
	for (i = 0; i < conf->c_nlisteners; i++)
		if (conf->c_listeners[i].li_timeouts.lt_drain > ms)
			ms = conf->c_listeners[i].li_timeouts.lt_drain;
	log_info("shutting down: draining for at most %llu ms",
	    (unsigned long long)ms);
	for (i = 0; i < m->m_nworkers; i++)
		worker_drain(m->m_workers[i]);
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(m->m_drain_timer, &tv);
}

static void
main_drained_cb(evutil_socket_t fd, short what, void *arg)
{
	struct main_ctx	*m = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < m->m_nworkers; i++)
		if (!worker_drained(m->m_workers[i]))
			return;
	log_info("drained");
	event_base_loopbreak(m->m_base);
}

static void
main_drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct main_ctx	*m = arg;
	size_t		 i;

	(void)fd;
	(void)what;
	log_warnx("drain timeout: closing the remaining connections");
	for (i = 0; i < m->m_nworkers; i++)
		worker_stop(m->m_workers[i]);
	event_base_loopbreak(m->m_base);
}

static void
main_free(struct main_ctx *m)
{
	size_t	 i;

	/* The admin thread first: it reads the pools and the counters. */
	admin_free(m->m_admin);
	m->m_admin = NULL;
	if (m->m_admin_fd != -1)
		close(m->m_admin_fd);
	m->m_admin_fd = -1;
	/* Workers next: they are stopped or drained, worker_free joins. */
	for (i = 0; m->m_workers != NULL && i < m->m_nworkers; i++) {
		if (m->m_workers[i] != NULL)
			worker_stop(m->m_workers[i]);
		worker_free(m->m_workers[i]);
	}
	free(m->m_workers);
	metrics_free(m->m_metrics);
	m->m_metrics = NULL;
	/* Then the VMs: every request to them is over. */
	pool_group_free(m->m_pools);
	m->m_pools = NULL;
	for (i = 0; i < m->m_nlisteners; i++)
		listener_free(m->m_listeners[i]);
	free(m->m_listeners);
	for (i = 0; i < MAIN_NSIGNALS; i++)
		if (m->m_sig[i] != NULL)
			event_free(m->m_sig[i]);
	if (m->m_drained != NULL)
		event_free(m->m_drained);
	if (m->m_drain_timer != NULL)
		event_free(m->m_drain_timer);
	runtime_put(m->m_rt);
	tls_tickets_put(m->m_tickets);
	/* What the frees above closed here went to this thread's caches. */
	worker_caches_flush();
	if (m->m_base != NULL)
		event_base_free(m->m_base);
	bufmem_flush();
}
