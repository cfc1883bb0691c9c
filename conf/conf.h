/*
 * conf/conf.h: corral's one YAML file as typed, validated, plain-data
 * structs, and the error list every check reports into.
 *
 * conf_load() reads the whole file, checks the whole schema and the cross
 * references (names, pools, listen addresses), and returns a struct conf
 * only if nothing was wrong.  Every error has the shape
 *
 *	corral.yaml:14:11: pools[0].size.min: expected a whole number, got "two"
 *
 * (file as given, 1-based line and column of the offending value, or of
 * the key for unknown keys, or of the enclosing map for missing keys).
 * Checks made later by other modules (a certificate that does not load, a
 * port already taken) report at a node's struct conf_pos in the same
 * format through conf_errors_at().
 *
 * A struct conf is immutable once loaded: any thread may read it.  It owns
 * every string and array it points to; conf_free() releases them all.
 * Durations are milliseconds, sizes bytes.
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/log.h"

struct conf_arena;			/* opaque: owns a conf's memory */
struct conf_errors;			/* opaque: collected messages */

/* Where a value was written.  A line of 0 means "not from the file". */
struct conf_pos {
	const char	*cp_file;	/* as given to conf_load() */
	unsigned	 cp_line;	/* 1-based */
	unsigned	 cp_col;	/* 1-based */
};

/*
 * A path to a file the proxy opens later.  Relative paths are relative to
 * the working directory, not to the YAML file.  cf_path is NULL when the
 * key was absent.
 */
struct conf_file {
	const char	*cf_path;
	struct conf_pos	 cf_pos;	/* of the value */
	const char	*cf_key;	/* "listeners[1].tls.cert" */
};

enum conf_addr_kind {
	CONF_ADDR_IP = 0,	/* numeric IPv4 or IPv6; ca_ss is ready */
	CONF_ADDR_ANY,		/* "*": every address; ca_ss is [::] */
	CONF_ADDR_NAME,		/* a host name, resolved by whoever connects */
	CONF_ADDR_UNIX,		/* "unix:PATH"; ca_ss is the sockaddr_un */
	CONF_ADDR_VSOCK,	/* "vsock:PATH:PORT": a VM's vsock socket */
};

struct conf_addr {
	enum conf_addr_kind	 ca_kind;
	const char		*ca_text;	/* as written */
	const char		*ca_host;	/* IP or name; UNIX/VSOCK: path */
	uint32_t		 ca_port;	/* TCP port or vsock guest port */
	struct sockaddr_storage	 ca_ss;		/* IP, ANY, UNIX, VSOCK */
	socklen_t		 ca_sslen;
	struct conf_pos		 ca_pos;
};

/* One "10.0.0.0/8" of trusted_proxies. */
struct conf_cidr {
	int		 cc_family;	/* AF_INET or AF_INET6 */
	uint8_t		 cc_addr[16];	/* network order, host bits zero */
	unsigned	 cc_prefix;	/* bits */
};

enum conf_log_format {
	CONF_LOG_COMBINED = 0,
	CONF_LOG_JSON,
};

enum conf_access {
	CONF_ACCESS_OFF = 0,
	CONF_ACCESS_STDERR,
	CONF_ACCESS_FILE,	/* lg_access_file */
};

struct conf_log {
	enum log_level		 lg_level;		/* info */
	enum conf_access	 lg_access;		/* off */
	struct conf_file	 lg_access_file;
	enum conf_log_format	 lg_format;		/* combined */
};

struct conf_admin {
	bool			 ad_enabled;		/* false: "listen: off" */
	struct conf_addr	 ad_listen;		/* 127.0.0.1:9901 */
};

struct conf_listener_timeouts {
	uint64_t	 lt_client_header;	/* 10s */
	uint64_t	 lt_client_body;	/* 30s */
	uint64_t	 lt_keepalive;		/* 60s */
	uint64_t	 lt_drain;		/* 30s */
};

struct conf_route_timeouts {
	uint64_t	 rt_connect;		/* 5s */
	uint64_t	 rt_response;		/* 60s */
	uint64_t	 rt_idle;		/* 0: none */
};

/* Top-level "timeouts:": the defaults of every listener and route. */
struct conf_timeouts {
	struct conf_listener_timeouts	 to_listener;
	struct conf_route_timeouts	 to_route;
};

struct conf_limits {
	uint64_t	 lm_max_uri;		/* 8KiB */
	uint64_t	 lm_max_header_size;	/* 32KiB */
	unsigned	 lm_max_headers;	/* 100 */
	uint64_t	 lm_max_body;		/* 0: unlimited */
};

struct conf_cert {
	struct conf_file	 ce_cert;
	struct conf_file	 ce_key;
	struct conf_pos		 ce_pos;
};

enum conf_tls_version {
	CONF_TLS_1_2 = 0,
	CONF_TLS_1_3,
};

enum conf_verify {
	CONF_VERIFY_OFF = 0,
	CONF_VERIFY_OPTIONAL,
	CONF_VERIFY_REQUIRED,
};

struct conf_tls {
	/*
	 * "cert"/"key" (ce_cert.cf_path NULL when absent) and "certs", by
	 * SNI; at least one certificate in all.  Without SNI or a match the
	 * proxy serves tl_default, or else tl_certs[0].
	 */
	struct conf_cert	 tl_default;
	struct conf_cert	*tl_certs;
	size_t			 tl_ncerts;
	enum conf_tls_version	 tl_min_version;	/* 1.2 */
	const char		*tl_ciphers;		/* NULL: OpenSSL's */
	struct conf_file	 tl_client_ca;
	enum conf_verify	 tl_verify_client;	/* off */
	bool			 tl_tickets;		/* on */
	uint64_t		 tl_session_cache;	/* 1MiB; 0: none */
	struct conf_pos		 tl_pos;
};

/* redirect_https: a port on the same host, or a URL prefix. */
struct conf_redirect {
	unsigned	 rd_port;	/* 0 when rd_url */
	const char	*rd_url;	/* "https://...", or NULL */
};

struct conf_listener {
	const char			*li_name;
	struct conf_addr		 li_listen;	/* port 0: any free */
	struct conf_tls			*li_tls;	/* NULL: plain HTTP */
	uint64_t			 li_hsts;	/* 0: no header */
	struct conf_redirect		*li_redirect;	/* NULL: none */
	struct conf_limits		 li_limits;
	struct conf_listener_timeouts	 li_timeouts;
	struct conf_cidr		*li_trusted;	/* trusted_proxies */
	size_t				 li_ntrusted;
	struct conf_pos			 li_pos;
	const char			*li_key;	/* "listeners[1]" */
};

enum conf_host_match {
	CONF_HOST_ANY = 0,	/* "*" */
	CONF_HOST_EXACT,	/* ma_host, lowercase */
	CONF_HOST_SUFFIX,	/* "*.example.com": ma_host is ".example.com" */
};

struct conf_match {
	enum conf_host_match	 ma_kind;
	const char		*ma_host;
	const char		*ma_path_prefix;	/* "/" */
};

struct conf_pool;

struct conf_route {
	struct conf_match		 ro_match;
	const char			*ro_pool_name;
	const struct conf_pool		*ro_pool;	/* resolved */
	struct conf_route_timeouts	 ro_timeouts;
	bool				 ro_max_body_set;
	uint64_t			 ro_max_body;	/* else the listener's */
	unsigned			 ro_retries;	/* 2 */
	/* ro_nlisteners == 0: every listener. */
	const char			**ro_listener_names;
	const struct conf_listener	**ro_listeners;	/* resolved */
	size_t				 ro_nlisteners;
	struct conf_pos			 ro_pos;
	const char			*ro_key;	/* "routes[0]" */
};

enum conf_pool_type {
	CONF_POOL_STATIC = 0,
	CONF_POOL_MICROVM,
};

/* The same order as pool/lb.h's names: see conf_balance_name(). */
enum conf_balance {
	CONF_BALANCE_ROUND_ROBIN = 0,
	CONF_BALANCE_LEAST_REQUEST,
	CONF_BALANCE_RANDOM,
	CONF_BALANCE_HASH,
};

enum conf_hash_key {
	CONF_HASH_CLIENT_IP = 0,
	CONF_HASH_PATH,
	CONF_HASH_HEADER,	/* ha_header */
};

struct conf_hash {
	enum conf_hash_key	 ha_key;	/* client_ip */
	const char		*ha_header;
};

/* Passive ejection after consecutive failures, with growing back-off. */
struct conf_eject {
	unsigned	 ej_failures;		/* 5 */
	uint64_t	 ej_backoff;		/* 10s */
	uint64_t	 ej_max_backoff;	/* 5m */
};

struct conf_keepalive {
	unsigned	 ka_idle;	/* 32 per backend per worker */
	uint64_t	 ka_timeout;	/* 60s */
};

struct conf_server {
	struct conf_addr	 sv_addr;
	unsigned		 sv_weight;	/* 1 */
	bool			 sv_tls;	/* false */
	bool			 sv_verify;	/* true */
	const char		*sv_sni;	/* NULL: the host name */
	struct conf_file	 sv_ca;		/* NULL cf_path: system */
	struct conf_pos		 sv_pos;
};

enum conf_transport {
	CONF_TRANSPORT_VSOCK = 0,
	CONF_TRANSPORT_TAP,		/* rejected for now */
};

struct conf_size {
	unsigned	 sz_min;	/* 1 */
	unsigned	 sz_max;	/* max(min, 1) */
};

struct conf_queue {
	unsigned	 qu_length;	/* 1024 */
	uint64_t	 qu_timeout;	/* 5s */
};

struct conf_health {
	const char	*he_path;	/* "/health" */
	unsigned	 he_status;	/* 200 */
	uint64_t	 he_interval;	/* 1s */
	uint64_t	 he_timeout;	/* 500ms */
	unsigned	 he_rise;	/* 2 */
	unsigned	 he_fall;	/* 3 */
};

/* 0 means never. */
struct conf_recycle {
	unsigned	 rc_after_requests;
	uint64_t	 rc_max_age;
};

struct conf_scale {
	unsigned	 sc_target_inflight;	/* 0: stay at size.min */
	uint64_t	 sc_cooldown;		/* 30s */
};

struct conf_microvm {
	struct conf_file	 vm_kernel;
	struct conf_file	 vm_initrd;
	const char		*vm_cmdline;		/* NULL: none */
	uint64_t		 vm_memory;		/* 128MiB */
	unsigned		 vm_vcpus;		/* 1 */
	enum conf_transport	 vm_transport;		/* vsock */
	unsigned		 vm_port;		/* 8080 */
	struct conf_size	 vm_size;
	unsigned		 vm_max_inflight;	/* 0: unlimited */
	struct conf_queue	 vm_queue;
	struct conf_health	 vm_health;
	struct conf_recycle	 vm_recycle;
	struct conf_scale	 vm_scale;
	const char		*vm_run_dir;		/* NULL: the pool's */
	bool			 vm_faults;		/* false */
};

struct conf_pool {
	const char		*pl_name;
	enum conf_pool_type	 pl_type;
	enum conf_balance	 pl_balance;		/* round_robin */
	struct conf_hash	 pl_hash;
	struct conf_eject	 pl_eject;
	struct conf_keepalive	 pl_keepalive;
	struct conf_server	*pl_servers;		/* static only */
	size_t			 pl_nservers;
	struct conf_microvm	 pl_vm;			/* microvm only */
	struct conf_pos		 pl_pos;
	const char		*pl_key;		/* "pools[0]" */
};

struct conf {
	const char		*c_file;
	unsigned		 c_workers;		/* 0: one per CPU */
	struct conf_log		 c_log;
	struct conf_admin	 c_admin;
	struct conf_timeouts	 c_timeouts;
	struct conf_listener	*c_listeners;
	size_t			 c_nlisteners;
	struct conf_route	*c_routes;		/* first match wins */
	size_t			 c_nroutes;
	struct conf_pool	*c_pools;
	size_t			 c_npools;
	struct conf_arena	*c_arena;		/* owns all of the above */
};

/*
 * Reads and checks <path>.  Returns the configuration, or NULL if there
 * was any error; every error (and warning) is added to <errs>.  File
 * existence is not checked here: see conf_check_files().
 */
struct conf	*conf_load(const char *path, struct conf_errors *errs);

/* The same for <len> bytes at <text>; <name> stands for the file name. */
struct conf	*conf_load_string(const char *name, const char *text,
		    size_t len, struct conf_errors *errs);

void		 conf_free(struct conf *conf);		/* NULL is a no-op */

/*
 * Checks that every file <conf> names (certificates, keys, CAs, kernels,
 * initrds) can be opened for reading, and reports each one that cannot at
 * its key.  0 if all can, -1 otherwise.
 */
int		 conf_check_files(const struct conf *conf,
		    struct conf_errors *errs);

/* By name, or NULL. */
const struct conf_pool		*conf_pool_find(const struct conf *conf,
				    const char *name);
const struct conf_listener	*conf_listener_find(const struct conf *conf,
				    const char *name);

/* "round_robin", ...: the names pool/lb.h's lb_find() takes. */
const char	*conf_balance_name(enum conf_balance balance);

/* At most this many errors are printed, then one "too many errors" line. */
#define CONF_ERRORS_MAX		100

struct conf_errors	*conf_errors_new(void);		/* NULL if no memory */
void			 conf_errors_free(struct conf_errors *errs);

/*
 * Adds "FILE:LINE:COL: <path>: <message>".  <pos> must name a file; a
 * line of 0 prints "FILE: ..."; a NULL or empty <path> is left out.
 */
void	conf_errors_at(struct conf_errors *errs, const struct conf_pos *pos,
	    const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* The same as a warning: "FILE:LINE:COL: warning: <path>: <message>". */
void	conf_errors_warn_at(struct conf_errors *errs,
	    const struct conf_pos *pos, const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/* Errors and warnings added so far. */
size_t	conf_errors_count(const struct conf_errors *errs);
size_t	conf_errors_warnings(const struct conf_errors *errs);

/*
 * The <i>th error, or with <warning> the <i>th warning, in file order
 * (line, then column, then the order they were added), without a newline.
 */
const char	*conf_errors_line(struct conf_errors *errs, bool warning,
		    size_t i);

/*
 * Prints the errors in file order, at most CONF_ERRORS_MAX of them and
 * then "FILE: too many errors (N), only the first 100 are shown", then
 * the warnings, one per line.
 */
void	conf_errors_print(struct conf_errors *errs, FILE *fp);

#endif /* CONF_CONF_H */
