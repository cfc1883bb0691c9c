/*
 * conf/conf_schema.c: corral's configuration schema: one table per YAML
 * map, and the rules between keys of one map (initialisers, gates that
 * say which keys apply, checks run after the keys).
 *
 * Each table lists a map's keys in the order conf_walk.c visits them:
 * a key that depends on another comes after it (a pool's "type" before
 * "kernel", a listener's "tls" before "hsts").  Defaults are the YAML text
 * one would write.  The OFF() macros check at compile time that each
 * field has the C type its key's parser writes; the parsers of values
 * with a shape of their own are in conf_value.c.  The tables are constant;
 * what they fill belongs to the struct conf being loaded.
 *
 * Top-level "timeouts:" holds the defaults of every listener and route:
 * a listener's or route's sm_init copies them before its own keys are
 * read, which works because "timeouts" comes before "listeners" and
 * "routes" in the root table.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_priv.h"

enum conf_schema_gate {
	GATE_ALWAYS = 0,
	GATE_STATIC,		/* pool type: static */
	GATE_MICROVM,		/* pool type: microvm */
	GATE_HASH,		/* pool balance: hash */
	GATE_TLS,		/* listener with tls */
	GATE_NO_TLS,		/* listener without tls */
	GATE_HEADER,		/* hash key: header */
	GATE_SERVER_TLS,	/* server tls: true */
};

/* Field offsets in CONF_S (#defined before each table), type-checked. */
#define OFF(m, t)	(offsetof(CONF_S, m) +				\
	0 * sizeof(_Generic(((CONF_S *)0)->m, t: 1)))
#define OFF_ENUM(m)	(offsetof(CONF_S, m) +				\
	0 * sizeof(char[sizeof(((CONF_S *)0)->m) == sizeof(int) ? 1 : -1]))

#define K_UINT(k, m, lo, hi, def, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_UINT, .fd_off = OFF(m, unsigned), .fd_min = lo,	\
	.fd_max = hi, .fd_default = def, __VA_ARGS__ }
#define K_SIZE(k, m, lo, def, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_SIZE, .fd_off = OFF(m, uint64_t), .fd_min = lo,	\
	.fd_default = def, __VA_ARGS__ }
#define K_DUR(k, m, lo, def, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_DURATION, .fd_off = OFF(m, uint64_t),		\
	.fd_min = lo, .fd_default = def, __VA_ARGS__ }
#define K_BOOL(k, m, def, ...)		{ .fd_key = k,			\
	.fd_type = CONF_T_BOOL, .fd_off = OFF(m, bool), .fd_default = def,	\
	__VA_ARGS__ }
#define K_STR(k, m, ...)		{ .fd_key = k,			\
	.fd_type = CONF_T_STRING, .fd_off = OFF(m, const char *),	\
	__VA_ARGS__ }
#define K_ENUM(k, m, names, def, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_ENUM, .fd_off = OFF_ENUM(m), .fd_names = names,	\
	.fd_default = def, __VA_ARGS__ }
#define K_FILE(k, m, ...)		{ .fd_key = k,			\
	.fd_type = CONF_T_FILE, .fd_off = OFF(m, struct conf_file),	\
	__VA_ARGS__ }
#define K_MAP(k, m, type, schema, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_MAP, .fd_off = OFF(m, type),			\
	.fd_schema = schema, __VA_ARGS__ }
#define K_MAPP(k, m, type, schema, ...)	{ .fd_key = k,			\
	.fd_type = CONF_T_MAP_PTR, .fd_off = OFF(m, type *),		\
	.fd_schema = schema, __VA_ARGS__ }
#define K_LIST(k, m, n, type, elem, ...) { .fd_key = k,			\
	.fd_type = CONF_T_LIST, .fd_off = OFF(m, type *),		\
	.fd_off_count = OFF(n, size_t), .fd_elem_size = sizeof(type),	\
	.fd_elem = elem, __VA_ARGS__ }
#define K_CUSTOM(k, m, type, fn, def, ...) { .fd_key = k,		\
	.fd_type = CONF_T_CUSTOM, .fd_off = OFF(m, type), .fd_parse = fn,	\
	.fd_default = def, __VA_ARGS__ }
#define K_END				{ .fd_key = NULL }

#define REQUIRED	.fd_flags = CONF_F_REQUIRED
#define NONEMPTY	.fd_flags = CONF_F_NONEMPTY
#define REQUIRED_NONEMPTY .fd_flags = CONF_F_REQUIRED | CONF_F_NONEMPTY

#define NO_POS		.sm_off_pos = CONF_NO_OFF, .sm_off_key = CONF_NO_OFF

static int	conf_schema_admin(struct conf_walk *, const struct conf_node *,
		    void *, const char *);
static int	conf_schema_server(struct conf_walk *, const struct conf_node *,
		    void *, const char *);
static void	conf_schema_root_init(struct conf_walk *, void *);
static void	conf_schema_listener_init(struct conf_walk *, void *);
static void	conf_schema_route_init(struct conf_walk *, void *);
static void	conf_schema_pool_init(struct conf_walk *, void *);
static void	conf_schema_hash_init(struct conf_walk *, void *);
static int	conf_schema_listener_gate(const void *, int, const char **);
static int	conf_schema_pool_gate(const void *, int, const char **);
static int	conf_schema_hash_gate(const void *, int, const char **);
static int	conf_schema_server_gate(const void *, int, const char **);
static void	conf_schema_tls_check(struct conf_walk *, void *,
		    const struct conf_node *, const char *);
static void	conf_schema_route_limits_check(struct conf_walk *, void *,
		    const struct conf_node *, const char *);
static void	conf_schema_eject_check(struct conf_walk *, void *,
		    const struct conf_node *, const char *);
static void	conf_schema_size_check(struct conf_walk *, void *,
		    const struct conf_node *, const char *);

static const char *const conf_schema_levels[] = {	/* enum log_level */
	"warn", "info", "debug", NULL };
static const char *const conf_schema_formats[] = {
	"combined", "json", NULL };
static const char *const conf_schema_versions[] = { "1.2", "1.3", NULL };
static const char *const conf_schema_verify[] = {
	"off", "optional", "required", NULL };
static const char *const conf_schema_types[] = { "static", "microvm", NULL };
static const char *const conf_schema_balance[] = {
	"round_robin", "least_request", "random", "hash", NULL };
static const char *const conf_schema_hash_keys[] = {
	"client_ip", "path", "header", NULL };

/* log: */
#define CONF_S struct conf_log
static const struct conf_field conf_schema_log_fields[] = {
	K_ENUM("level", lg_level, conf_schema_levels, "info"),
	{ .fd_key = "access", .fd_type = CONF_T_CUSTOM, .fd_off = 0,
	    .fd_parse = conf_value_access, .fd_default = "off" },
	K_ENUM("format", lg_format, conf_schema_formats, "combined"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_log = {
	.sm_fields = conf_schema_log_fields, .sm_size = sizeof(struct conf_log),
	NO_POS,
};

/* admin: (or "admin: off") */
static const struct conf_field conf_schema_admin_fields[] = {
	{ .fd_key = "listen", .fd_type = CONF_T_CUSTOM, .fd_off = 0,
	    .fd_parse = conf_value_admin_listen,
	    .fd_default = "127.0.0.1:9901" },
	K_END
};
static const struct conf_schema conf_schema_admin_map = {
	.sm_fields = conf_schema_admin_fields,
	.sm_size = sizeof(struct conf_admin), NO_POS,
};

/* Top-level timeouts: every key, with the built-in defaults. */
#define CONF_S struct conf_timeouts
static const struct conf_field conf_schema_timeouts_fields[] = {
	K_DUR("client_header", to_listener.lt_client_header, 1, "10s"),
	K_DUR("client_body", to_listener.lt_client_body, 1, "30s"),
	K_DUR("keepalive", to_listener.lt_keepalive, 0, "60s"),
	K_DUR("drain", to_listener.lt_drain, 0, "30s"),
	K_DUR("connect", to_route.rt_connect, 1, "5s"),
	K_DUR("response", to_route.rt_response, 1, "60s"),
	K_DUR("idle", to_route.rt_idle, 0, "0"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_timeouts = {
	.sm_fields = conf_schema_timeouts_fields,
	.sm_size = sizeof(struct conf_timeouts), NO_POS,
};

/* A listener's timeouts: no defaults, the top level's are copied in. */
#define CONF_S struct conf_listener_timeouts
static const struct conf_field conf_schema_ltimeouts_fields[] = {
	K_DUR("client_header", lt_client_header, 1, NULL),
	K_DUR("client_body", lt_client_body, 1, NULL),
	K_DUR("keepalive", lt_keepalive, 0, NULL),
	K_DUR("drain", lt_drain, 0, NULL),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_ltimeouts = {
	.sm_fields = conf_schema_ltimeouts_fields,
	.sm_size = sizeof(struct conf_listener_timeouts), NO_POS,
};

#define CONF_S struct conf_route_timeouts
static const struct conf_field conf_schema_rtimeouts_fields[] = {
	K_DUR("connect", rt_connect, 1, NULL),
	K_DUR("response", rt_response, 1, NULL),
	K_DUR("idle", rt_idle, 0, NULL),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_rtimeouts = {
	.sm_fields = conf_schema_rtimeouts_fields,
	.sm_size = sizeof(struct conf_route_timeouts), NO_POS,
};

#define CONF_S struct conf_limits
static const struct conf_field conf_schema_limits_fields[] = {
	K_SIZE("max_uri", lm_max_uri, 1, "8KiB"),
	K_SIZE("max_header_size", lm_max_header_size, 1, "32KiB"),
	K_UINT("max_headers", lm_max_headers, 1, 10000, "100"),
	K_SIZE("max_body", lm_max_body, 0, "0"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_limits = {
	.sm_fields = conf_schema_limits_fields,
	.sm_size = sizeof(struct conf_limits), NO_POS,
};

/* One of tls.certs. */
#define CONF_S struct conf_cert
static const struct conf_field conf_schema_cert_fields[] = {
	K_FILE("cert", ce_cert, REQUIRED),
	K_FILE("key", ce_key, REQUIRED),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_cert = {
	.sm_fields = conf_schema_cert_fields,
	.sm_size = sizeof(struct conf_cert),
	.sm_off_pos = offsetof(struct conf_cert, ce_pos),
	.sm_off_key = CONF_NO_OFF,
};
static const struct conf_field conf_schema_cert_elem = {
	.fd_type = CONF_T_MAP, .fd_schema = &conf_schema_cert,
};

#define CONF_S struct conf_tls
static const struct conf_field conf_schema_tls_fields[] = {
	K_FILE("cert", tl_default.ce_cert),
	K_FILE("key", tl_default.ce_key),
	K_LIST("certs", tl_certs, tl_ncerts, struct conf_cert,
	    &conf_schema_cert_elem, NONEMPTY),
	K_ENUM("min_version", tl_min_version, conf_schema_versions, "1.2"),
	K_STR("ciphers", tl_ciphers),
	K_FILE("client_ca", tl_client_ca),
	K_ENUM("verify_client", tl_verify_client, conf_schema_verify, "off"),
	K_BOOL("tickets", tl_tickets, "on"),
	K_SIZE("session_cache", tl_session_cache, 0, "1MiB"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_tls = {
	.sm_fields = conf_schema_tls_fields,
	.sm_size = sizeof(struct conf_tls),
	.sm_off_pos = offsetof(struct conf_tls, tl_pos),
	.sm_off_key = CONF_NO_OFF,
	.sm_check = conf_schema_tls_check,
};

static const struct conf_field conf_schema_cidr_elem = {
	.fd_type = CONF_T_CUSTOM, .fd_parse = conf_value_cidr,
};

#define CONF_S struct conf_listener
static const struct conf_field conf_schema_listener_fields[] = {
	K_CUSTOM("name", li_name, const char *, conf_value_name, NULL,
	    REQUIRED),
	K_CUSTOM("listen", li_listen, struct conf_addr, conf_value_listen,
	    NULL, REQUIRED),
	K_MAPP("tls", li_tls, struct conf_tls, &conf_schema_tls),
	K_DUR("hsts", li_hsts, 1, NULL, .fd_gate = GATE_TLS),
	K_CUSTOM("redirect_https", li_redirect, struct conf_redirect *,
	    conf_value_redirect, NULL, .fd_gate = GATE_NO_TLS),
	K_MAP("limits", li_limits, struct conf_limits, &conf_schema_limits),
	K_MAP("timeouts", li_timeouts, struct conf_listener_timeouts,
	    &conf_schema_ltimeouts),
	K_LIST("trusted_proxies", li_trusted, li_ntrusted, struct conf_cidr,
	    &conf_schema_cidr_elem),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_listener = {
	.sm_fields = conf_schema_listener_fields,
	.sm_size = sizeof(struct conf_listener),
	.sm_off_pos = offsetof(struct conf_listener, li_pos),
	.sm_off_key = offsetof(struct conf_listener, li_key),
	.sm_init = conf_schema_listener_init,
	.sm_gate = conf_schema_listener_gate,
};
static const struct conf_field conf_schema_listener_elem = {
	.fd_type = CONF_T_MAP, .fd_schema = &conf_schema_listener,
};

#define CONF_S struct conf_match
static const struct conf_field conf_schema_match_fields[] = {
	/* The host parser sets ma_kind as well: it gets the whole struct. */
	{ .fd_key = "host", .fd_type = CONF_T_CUSTOM, .fd_off = 0,
	    .fd_parse = conf_value_host, .fd_default = "*" },
	K_CUSTOM("path_prefix", ma_path_prefix, const char *,
	    conf_value_path, "/"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_match = {
	.sm_fields = conf_schema_match_fields,
	.sm_size = sizeof(struct conf_match), NO_POS,
};

/* A route's limits: the route itself is the struct (ro_max_body_set). */
#define CONF_S struct conf_route
static const struct conf_field conf_schema_rlimits_fields[] = {
	K_SIZE("max_body", ro_max_body, 0, NULL),
	K_END
};
static const struct conf_schema conf_schema_rlimits = {
	.sm_fields = conf_schema_rlimits_fields,
	.sm_size = sizeof(struct conf_route), NO_POS,
	.sm_check = conf_schema_route_limits_check,
};

static const struct conf_field conf_schema_string_elem = {
	.fd_type = CONF_T_STRING,
};

static const struct conf_field conf_schema_route_fields[] = {
	K_MAP("match", ro_match, struct conf_match, &conf_schema_match),
	K_STR("pool", ro_pool_name, REQUIRED),
	K_MAP("timeouts", ro_timeouts, struct conf_route_timeouts,
	    &conf_schema_rtimeouts),
	{ .fd_key = "limits", .fd_type = CONF_T_MAP, .fd_off = 0,
	    .fd_schema = &conf_schema_rlimits },
	K_UINT("retries", ro_retries, 0, 10, "2"),
	K_LIST("listeners", ro_listener_names, ro_nlisteners, const char *,
	    &conf_schema_string_elem, NONEMPTY),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_route = {
	.sm_fields = conf_schema_route_fields,
	.sm_size = sizeof(struct conf_route),
	.sm_off_pos = offsetof(struct conf_route, ro_pos),
	.sm_off_key = offsetof(struct conf_route, ro_key),
	.sm_init = conf_schema_route_init,
};
static const struct conf_field conf_schema_route_elem = {
	.fd_type = CONF_T_MAP, .fd_schema = &conf_schema_route,
};

#define CONF_S struct conf_hash
static const struct conf_field conf_schema_hash_fields[] = {
	K_ENUM("key", ha_key, conf_schema_hash_keys, "client_ip"),
	K_CUSTOM("header", ha_header, const char *, conf_value_header, NULL,
	    REQUIRED, .fd_gate = GATE_HEADER),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_hash = {
	.sm_fields = conf_schema_hash_fields,
	.sm_size = sizeof(struct conf_hash), NO_POS,
	.sm_init = conf_schema_hash_init,
	.sm_gate = conf_schema_hash_gate,
};

#define CONF_S struct conf_eject
static const struct conf_field conf_schema_eject_fields[] = {
	K_UINT("failures", ej_failures, 0, 1000, "5"),
	K_DUR("backoff", ej_backoff, 1, "10s"),
	K_DUR("max_backoff", ej_max_backoff, 1, "5m"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_eject = {
	.sm_fields = conf_schema_eject_fields,
	.sm_size = sizeof(struct conf_eject), NO_POS,
	.sm_check = conf_schema_eject_check,
};

#define CONF_S struct conf_keepalive
static const struct conf_field conf_schema_keepalive_fields[] = {
	K_UINT("idle", ka_idle, 0, 10000, "32"),
	K_DUR("timeout", ka_timeout, 1, "60s"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_keepalive = {
	.sm_fields = conf_schema_keepalive_fields,
	.sm_size = sizeof(struct conf_keepalive), NO_POS,
};

#define CONF_S struct conf_server
static const struct conf_field conf_schema_server_fields[] = {
	K_CUSTOM("address", sv_addr, struct conf_addr, conf_value_address,
	    NULL, REQUIRED),
	K_UINT("weight", sv_weight, 1, 1000, "1"),
	K_BOOL("tls", sv_tls, "false"),
	K_BOOL("verify", sv_verify, "true", .fd_gate = GATE_SERVER_TLS),
	K_STR("sni", sv_sni, .fd_gate = GATE_SERVER_TLS),
	K_FILE("ca", sv_ca, .fd_gate = GATE_SERVER_TLS),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_server_map = {
	.sm_fields = conf_schema_server_fields,
	.sm_size = sizeof(struct conf_server),
	.sm_off_pos = offsetof(struct conf_server, sv_pos),
	.sm_off_key = CONF_NO_OFF,
	.sm_gate = conf_schema_server_gate,
};
static const struct conf_field conf_schema_server_elem = {
	.fd_type = CONF_T_CUSTOM, .fd_parse = conf_schema_server,
};

#define CONF_S struct conf_size
static const struct conf_field conf_schema_size_fields[] = {
	K_UINT("min", sz_min, 0, 0, "1"),
	K_UINT("max", sz_max, 1, 0, NULL),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_size = {
	.sm_fields = conf_schema_size_fields,
	.sm_size = sizeof(struct conf_size), NO_POS,
	.sm_check = conf_schema_size_check,
};

#define CONF_S struct conf_queue
static const struct conf_field conf_schema_queue_fields[] = {
	K_UINT("length", qu_length, 0, 1000000, "1024"),
	K_DUR("timeout", qu_timeout, 1, "5s"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_queue = {
	.sm_fields = conf_schema_queue_fields,
	.sm_size = sizeof(struct conf_queue), NO_POS,
};

#define CONF_S struct conf_health
static const struct conf_field conf_schema_health_fields[] = {
	K_CUSTOM("path", he_path, const char *, conf_value_path, "/health"),
	K_UINT("status", he_status, 100, 599, "200"),
	K_DUR("interval", he_interval, 1, "1s"),
	K_DUR("timeout", he_timeout, 1, "500ms"),
	K_UINT("rise", he_rise, 1, 100, "2"),
	K_UINT("fall", he_fall, 1, 100, "3"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_health = {
	.sm_fields = conf_schema_health_fields,
	.sm_size = sizeof(struct conf_health), NO_POS,
};

#define CONF_S struct conf_recycle
static const struct conf_field conf_schema_recycle_fields[] = {
	K_UINT("after_requests", rc_after_requests, 0, 0, "0"),
	K_DUR("max_age", rc_max_age, 0, "0"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_recycle = {
	.sm_fields = conf_schema_recycle_fields,
	.sm_size = sizeof(struct conf_recycle), NO_POS,
};

#define CONF_S struct conf_scale
static const struct conf_field conf_schema_scale_fields[] = {
	K_UINT("target_inflight", sc_target_inflight, 0, 0, "0"),
	K_DUR("cooldown", sc_cooldown, 0, "30s"),
	K_END
};
#undef CONF_S
static const struct conf_schema conf_schema_scale = {
	.sm_fields = conf_schema_scale_fields,
	.sm_size = sizeof(struct conf_scale), NO_POS,
};

#define CONF_S struct conf_pool
#define VM	.fd_gate = GATE_MICROVM
static const struct conf_field conf_schema_pool_fields[] = {
	K_CUSTOM("name", pl_name, const char *, conf_value_name, NULL,
	    REQUIRED),
	K_ENUM("type", pl_type, conf_schema_types, NULL, REQUIRED),
	K_ENUM("balance", pl_balance, conf_schema_balance, "round_robin"),
	K_MAP("hash", pl_hash, struct conf_hash, &conf_schema_hash,
	    .fd_gate = GATE_HASH),
	K_MAP("eject", pl_eject, struct conf_eject, &conf_schema_eject),
	K_MAP("keepalive", pl_keepalive, struct conf_keepalive,
	    &conf_schema_keepalive),
	K_LIST("servers", pl_servers, pl_nservers, struct conf_server,
	    &conf_schema_server_elem, REQUIRED_NONEMPTY,
	    .fd_gate = GATE_STATIC),
	K_FILE("kernel", pl_vm.vm_kernel, REQUIRED, VM),
	K_FILE("initrd", pl_vm.vm_initrd, VM),
	K_STR("cmdline", pl_vm.vm_cmdline, VM),
	K_SIZE("memory", pl_vm.vm_memory, 2u << 20, "128MiB", VM),
	K_UINT("vcpus", pl_vm.vm_vcpus, 1, 32, "1", VM),
	K_CUSTOM("transport", pl_vm.vm_transport, enum conf_transport,
	    conf_value_transport, "vsock", VM),
	K_UINT("port", pl_vm.vm_port, 1, 65535, "8080", VM),
	K_MAP("size", pl_vm.vm_size, struct conf_size, &conf_schema_size, VM),
	K_UINT("max_inflight_per_vm", pl_vm.vm_max_inflight, 0, 0, "0", VM),
	K_MAP("queue", pl_vm.vm_queue, struct conf_queue, &conf_schema_queue,
	    VM),
	K_MAP("health", pl_vm.vm_health, struct conf_health,
	    &conf_schema_health, VM),
	K_MAP("recycle", pl_vm.vm_recycle, struct conf_recycle,
	    &conf_schema_recycle, VM),
	K_MAP("scale", pl_vm.vm_scale, struct conf_scale, &conf_schema_scale,
	    VM),
	K_STR("run_dir", pl_vm.vm_run_dir, VM),
	K_BOOL("faults", pl_vm.vm_faults, "false", VM),
	K_END
};
#undef VM
#undef CONF_S
static const struct conf_schema conf_schema_pool = {
	.sm_fields = conf_schema_pool_fields,
	.sm_size = sizeof(struct conf_pool),
	.sm_off_pos = offsetof(struct conf_pool, pl_pos),
	.sm_off_key = offsetof(struct conf_pool, pl_key),
	.sm_init = conf_schema_pool_init,
	.sm_gate = conf_schema_pool_gate,
};
static const struct conf_field conf_schema_pool_elem = {
	.fd_type = CONF_T_MAP, .fd_schema = &conf_schema_pool,
};

#define CONF_S struct conf
static const struct conf_field conf_schema_root_fields[] = {
	K_CUSTOM("workers", c_workers, unsigned, conf_value_workers, "auto"),
	K_MAP("log", c_log, struct conf_log, &conf_schema_log),
	K_CUSTOM("admin", c_admin, struct conf_admin, conf_schema_admin, NULL),
	K_MAP("timeouts", c_timeouts, struct conf_timeouts,
	    &conf_schema_timeouts),
	K_LIST("listeners", c_listeners, c_nlisteners, struct conf_listener,
	    &conf_schema_listener_elem, REQUIRED_NONEMPTY),
	K_LIST("routes", c_routes, c_nroutes, struct conf_route,
	    &conf_schema_route_elem, REQUIRED_NONEMPTY),
	K_LIST("pools", c_pools, c_npools, struct conf_pool,
	    &conf_schema_pool_elem, REQUIRED_NONEMPTY),
	K_END
};
#undef CONF_S
const struct conf_schema conf_schema_root = {
	.sm_fields = conf_schema_root_fields,
	.sm_size = sizeof(struct conf), NO_POS,
	.sm_init = conf_schema_root_init,
};

/* Initialisers, gates and checks. */

/* "admin" may be absent, a map or "off": start from its map's defaults. */
static void
conf_schema_root_init(struct conf_walk *w, void *obj)
{
	struct conf	*c = obj;

	conf_walk_map(w, &conf_schema_admin_map, &c->c_admin, NULL, "admin");
}

static void
conf_schema_listener_init(struct conf_walk *w, void *obj)
{
	struct conf_listener	*l = obj;

	l->li_timeouts = w->wk_conf->c_timeouts.to_listener;
}

static void
conf_schema_route_init(struct conf_walk *w, void *obj)
{
	struct conf_route	*r = obj;

	r->ro_timeouts = w->wk_conf->c_timeouts.to_route;
}

/* -1 until "type" and "balance" parse: the gates then say "unknown". */
static void
conf_schema_pool_init(struct conf_walk *w, void *obj)
{
	struct conf_pool	*p = obj;

	(void)w;
	p->pl_type = (enum conf_pool_type)-1;
	p->pl_balance = (enum conf_balance)-1;
}

static void
conf_schema_hash_init(struct conf_walk *w, void *obj)
{
	struct conf_hash	*h = obj;

	(void)w;
	h->ha_key = (enum conf_hash_key)-1;
}

static int
conf_schema_listener_gate(const void *obj, int gate, const char **why)
{
	const struct conf_listener	*l = obj;

	if (gate == GATE_TLS && l->li_tls == NULL) {
		*why = "only valid with tls";
		return 0;
	}
	if (gate == GATE_NO_TLS && l->li_tls != NULL) {
		*why = "not valid with tls: this listener is HTTPS already";
		return 0;
	}
	return 1;
}

static int
conf_schema_pool_gate(const void *obj, int gate, const char **why)
{
	const struct conf_pool	*p = obj;

	switch (gate) {
	case GATE_STATIC:
	case GATE_MICROVM:
		if ((int)p->pl_type == -1)
			return -1;
		if ((p->pl_type == CONF_POOL_STATIC) == (gate == GATE_STATIC))
			return 1;
		*why = gate == GATE_STATIC ? "only valid with type: static" :
		    "only valid with type: microvm";
		return 0;
	case GATE_HASH:
		if ((int)p->pl_balance == -1)
			return -1;
		if (p->pl_balance == CONF_BALANCE_HASH)
			return 1;
		*why = "only valid with balance: hash";
		return 0;
	}
	return 1;
}

static int
conf_schema_hash_gate(const void *obj, int gate, const char **why)
{
	const struct conf_hash	*h = obj;

	(void)gate;
	if ((int)h->ha_key == -1)
		return -1;
	if (h->ha_key == CONF_HASH_HEADER)
		return 1;
	*why = "only valid with key: header";
	return 0;
}

static int
conf_schema_server_gate(const void *obj, int gate, const char **why)
{
	const struct conf_server	*s = obj;

	(void)gate;
	if (s->sv_tls)
		return 1;
	*why = "only valid with tls: true";
	return 0;
}

static void
conf_schema_tls_check(struct conf_walk *w, void *obj,
    const struct conf_node *map, const char *path)
{
	struct conf_tls		*t = obj;
	const struct conf_node	*k;
	char			 sub[CONF_PATH_MAX];

	if (map == NULL)
		return;
	t->tl_default.ce_pos = t->tl_pos;
	if ((t->tl_default.ce_cert.cf_path == NULL) !=
	    (t->tl_default.ce_key.cf_path == NULL))
		conf_walk_error(w, map, path, "missing required key \"%s\"",
		    t->tl_default.ce_cert.cf_path == NULL ? "cert" : "key");
	else if (t->tl_default.ce_cert.cf_path == NULL &&
	    conf_yaml_get(map, "certs") == NULL)
		conf_walk_error(w, map, path, "no certificate: give cert and "
		    "key, or certs");
	if (t->tl_verify_client != CONF_VERIFY_OFF &&
	    t->tl_client_ca.cf_path == NULL) {
		k = conf_yaml_get(map, "verify_client");
		snprintf(sub, sizeof(sub), "%s.verify_client", path);
		conf_walk_error(w, k != NULL ? k->nd_value : map, sub,
		    "needs client_ca");
	}
}

static void
conf_schema_route_limits_check(struct conf_walk *w, void *obj,
    const struct conf_node *map, const char *path)
{
	struct conf_route	*r = obj;

	(void)w;
	(void)path;
	r->ro_max_body_set = conf_yaml_get(map, "max_body") != NULL;
}

static void
conf_schema_eject_check(struct conf_walk *w, void *obj,
    const struct conf_node *map, const char *path)
{
	struct conf_eject	*e = obj;
	const struct conf_node	*k;
	char			 sub[CONF_PATH_MAX], a[32], b[32];

	if (e->ej_backoff <= e->ej_max_backoff)
		return;
	k = conf_yaml_get(map, "backoff");
	if (k == NULL)
		k = conf_yaml_get(map, "max_backoff");
	snprintf(sub, sizeof(sub), "%s.%s", path, k != NULL ? k->nd_text :
	    "backoff");
	conf_walk_error(w, k != NULL ? k->nd_value : map, sub, "backoff "
	    "(%s) is longer than max_backoff (%s)",
	    conf_walk_duration_str(e->ej_backoff, a, sizeof(a)),
	    conf_walk_duration_str(e->ej_max_backoff, b, sizeof(b)));
}

/* Without "max", the pool does not grow past "min" (or 1). */
static void
conf_schema_size_check(struct conf_walk *w, void *obj,
    const struct conf_node *map, const char *path)
{
	struct conf_size	*s = obj;
	const struct conf_node	*k;
	char			 sub[CONF_PATH_MAX];

	if (conf_yaml_get(map, "max") == NULL) {
		s->sz_max = s->sz_min > 0 ? s->sz_min : 1;
		return;
	}
	if (s->sz_max == 0 || s->sz_min <= s->sz_max)
		return;			/* 0: max did not parse */
	k = conf_yaml_get(map, "min");
	snprintf(sub, sizeof(sub), "%s.min", path);
	conf_walk_error(w, k->nd_value, sub, "min (%u) is more than max (%u)",
	    s->sz_min, s->sz_max);
}

/* Values that are maps of their own, or one of two shapes. */



static int
conf_schema_admin(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_admin	*ad = dst;

	if (n->nd_kind == CONF_NODE_SCALAR && !n->nd_null &&
	    strcmp(n->nd_text, "off") == 0) {
		ad->ad_enabled = false;
		return 0;
	}
	if (n->nd_kind != CONF_NODE_MAP) {
		conf_walk_expected(w, n, path, "a map or off");
		return -1;
	}
	conf_walk_map(w, &conf_schema_admin_map, ad, n, path);
	return 0;
}

/* A server is an address, or a map with one and its options. */
static int
conf_schema_server(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_server	*sv = dst;

	if (n->nd_kind == CONF_NODE_MAP) {
		conf_walk_map(w, &conf_schema_server_map, sv, n, path);
		return 0;
	}
	conf_walk_map(w, &conf_schema_server_map, sv, NULL, path);
	sv->sv_pos = n->nd_pos;
	if (n->nd_kind != CONF_NODE_SCALAR) {
		conf_walk_expected(w, n, path, "an address or a map");
		return -1;
	}
	return conf_value_address(w, n, &sv->sv_addr, path);
}
