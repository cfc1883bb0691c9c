/*
 * tests/unit/test_conf.c: the YAML configuration: defaults, every key and
 * type, every message, error order and cap, the examples in conf/examples/
 * and the golden error output in tests/fixtures/conf-errors/.
 *
 * Run from the top of the tree (tests/run.sh does): the examples and
 * fixtures are found by relative path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

#define EXAMPLES_DIR	"conf/examples"
#define GOLDEN_DIR	"tests/fixtures/conf-errors"

/* Two lines that make a file complete around a pool named "p". */
#define HEAD								\
	"listeners: [{name: web, listen: 127.0.0.1:8080}]\n"		\
	"routes: [{pool: p}]\n"
/* Lines 3-6: a microvm pool "p"; a test's keys start on line 7. */
#define VM_POOL								\
	"pools:\n"							\
	"  - name: p\n"							\
	"    type: microvm\n"						\
	"    kernel: build/corral-guest\n"
/* Lines 3-6 again, a static pool. */
#define STATIC_POOL							\
	"pools:\n"							\
	"  - name: p\n"							\
	"    type: static\n"						\
	"    servers: [127.0.0.1:9000]\n"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Loads <text> as "corral.yaml"; the errors are left in *<errs>. */
static struct conf *
load(const char *text, struct conf_errors **errs)
{
	*errs = conf_errors_new();
	assert_non_null(*errs);
	return conf_load_string("corral.yaml", text, strlen(text), *errs);
}

/* What conf_errors_print() writes, as one string to free(). */
static char *
printed(struct conf_errors *errs)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp;

	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	conf_errors_print(errs, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

/* <text> must fail to load and print exactly <expected>. */
static void
assert_load_fails(const char *text, const char *expected)
{
	struct conf_errors	*errs;
	struct conf		*conf;
	char			*out;

	conf = load(text, &errs);
	out = printed(errs);
	if (strcmp(out, expected) != 0)
		print_error("config:\n%s\n", text);
	assert_string_equal(out, expected);
	assert_null(conf);
	assert_true(conf_errors_count(errs) > 0);
	free(out);
	conf_errors_free(errs);
}

/* <text> must load with no error and no warning. */
static struct conf *
load_ok(const char *text, struct conf_errors **errs)
{
	struct conf	*conf;
	char		*out;

	conf = load(text, errs);
	out = printed(*errs);
	if (out[0] != '\0')
		print_error("config:\n%s\n", text);
	assert_string_equal(out, "");
	assert_non_null(conf);
	free(out);
	return conf;
}

/* The least a file can say: one listener, one route each per pool. */
static const char	minimal_yaml[] =
    "listeners:\n"
    "  - name: web\n"
    "    listen: 127.0.0.1:8080\n"
    "routes:\n"
    "  - pool: vms\n"
    "  - pool: app\n"
    "pools:\n"
    "  - name: vms\n"
    "    type: microvm\n"
    "    kernel: build/corral-guest\n"
    "  - name: app\n"
    "    type: static\n"
    "    servers: [127.0.0.1:9000]\n";

static void
test_conf_minimal_config_gets_documented_defaults(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	const struct conf_listener *l;
	const struct conf_route	*r;
	const struct conf_pool	*p;

	(void)state;
	c = load_ok(minimal_yaml, &errs);
	assert_string_equal(c->c_file, "corral.yaml");
	assert_int_equal(c->c_workers, 0);
	assert_int_equal(c->c_log.lg_level, LOG_LEVEL_INFO);
	assert_int_equal(c->c_log.lg_access, CONF_ACCESS_OFF);
	assert_int_equal(c->c_log.lg_format, CONF_LOG_COMBINED);
	assert_true(c->c_admin.ad_enabled);
	assert_string_equal(c->c_admin.ad_listen.ca_text, "127.0.0.1:9901");
	assert_int_equal(c->c_admin.ad_listen.ca_port, 9901);

	assert_int_equal(c->c_nlisteners, 1);
	l = &c->c_listeners[0];
	assert_string_equal(l->li_name, "web");
	assert_string_equal(l->li_key, "listeners[0]");
	assert_int_equal(l->li_pos.cp_line, 2);
	assert_int_equal(l->li_pos.cp_col, 5);
	assert_null(l->li_tls);
	assert_null(l->li_redirect);
	assert_int_equal(l->li_hsts, 0);
	assert_int_equal(l->li_limits.lm_max_uri, 8 << 10);
	assert_int_equal(l->li_limits.lm_max_header_size, 32 << 10);
	assert_int_equal(l->li_limits.lm_max_headers, 100);
	assert_int_equal(l->li_limits.lm_max_body, 0);
	assert_int_equal(l->li_timeouts.lt_client_header, 10000);
	assert_int_equal(l->li_timeouts.lt_client_body, 30000);
	assert_int_equal(l->li_timeouts.lt_keepalive, 60000);
	assert_int_equal(l->li_timeouts.lt_drain, 30000);
	assert_int_equal(l->li_ntrusted, 0);

	assert_int_equal(c->c_nroutes, 2);
	r = &c->c_routes[0];
	assert_int_equal(r->ro_match.ma_kind, CONF_HOST_ANY);
	assert_string_equal(r->ro_match.ma_path_prefix, "/");
	assert_int_equal(r->ro_timeouts.rt_connect, 5000);
	assert_int_equal(r->ro_timeouts.rt_response, 60000);
	assert_int_equal(r->ro_timeouts.rt_idle, 0);
	assert_false(r->ro_max_body_set);
	assert_int_equal(r->ro_retries, 2);
	assert_int_equal(r->ro_nlisteners, 0);
	assert_ptr_equal(r->ro_pool, &c->c_pools[0]);

	p = &c->c_pools[0];
	assert_int_equal(p->pl_type, CONF_POOL_MICROVM);
	assert_int_equal(p->pl_balance, CONF_BALANCE_ROUND_ROBIN);
	assert_int_equal(p->pl_eject.ej_failures, 5);
	assert_int_equal(p->pl_eject.ej_backoff, 10000);
	assert_int_equal(p->pl_eject.ej_max_backoff, 300000);
	assert_int_equal(p->pl_keepalive.ka_idle, 32);
	assert_int_equal(p->pl_keepalive.ka_timeout, 60000);
	assert_int_equal(p->pl_nservers, 0);
	assert_string_equal(p->pl_vm.vm_kernel.cf_path, "build/corral-guest");
	assert_string_equal(p->pl_vm.vm_kernel.cf_key, "pools[0].kernel");
	assert_int_equal(p->pl_vm.vm_kernel.cf_pos.cp_line, 10);
	assert_int_equal(p->pl_vm.vm_kernel.cf_pos.cp_col, 13);
	assert_null(p->pl_vm.vm_initrd.cf_path);
	assert_null(p->pl_vm.vm_cmdline);
	assert_int_equal(p->pl_vm.vm_memory, 128 << 20);
	assert_int_equal(p->pl_vm.vm_vcpus, 1);
	assert_int_equal(p->pl_vm.vm_transport, CONF_TRANSPORT_VSOCK);
	assert_int_equal(p->pl_vm.vm_port, 8080);
	assert_int_equal(p->pl_vm.vm_size.sz_min, 1);
	assert_int_equal(p->pl_vm.vm_size.sz_max, 1);
	assert_int_equal(p->pl_vm.vm_max_inflight, 0);
	assert_int_equal(p->pl_vm.vm_queue.qu_length, 1024);
	assert_int_equal(p->pl_vm.vm_queue.qu_timeout, 5000);
	assert_string_equal(p->pl_vm.vm_health.he_path, "/health");
	assert_int_equal(p->pl_vm.vm_health.he_status, 200);
	assert_int_equal(p->pl_vm.vm_health.he_interval, 1000);
	assert_int_equal(p->pl_vm.vm_health.he_timeout, 500);
	assert_int_equal(p->pl_vm.vm_health.he_rise, 2);
	assert_int_equal(p->pl_vm.vm_health.he_fall, 3);
	assert_int_equal(p->pl_vm.vm_recycle.rc_after_requests, 0);
	assert_int_equal(p->pl_vm.vm_recycle.rc_max_age, 0);
	assert_int_equal(p->pl_vm.vm_scale.sc_target_inflight, 0);
	assert_int_equal(p->pl_vm.vm_scale.sc_cooldown, 30000);
	assert_null(p->pl_vm.vm_run_dir);
	assert_false(p->pl_vm.vm_faults);

	p = &c->c_pools[1];
	assert_int_equal(p->pl_type, CONF_POOL_STATIC);
	assert_int_equal(p->pl_nservers, 1);
	assert_int_equal(p->pl_servers[0].sv_addr.ca_kind, CONF_ADDR_IP);
	assert_int_equal(p->pl_servers[0].sv_addr.ca_port, 9000);
	assert_int_equal(p->pl_servers[0].sv_weight, 1);
	assert_false(p->pl_servers[0].sv_tls);
	assert_null(p->pl_servers[0].sv_sni);
	/* No microvm default leaks into a static pool. */
	assert_int_equal(p->pl_vm.vm_memory, 0);
	conf_free(c);
	conf_errors_free(errs);
}

/* Every key set, none to its default. */
static const char	every_key_yaml[] =
    "workers: 4\n"
    "log: { level: debug, access: /var/log/corral.log, format: json }\n"
    "admin: { listen: off }\n"
    "timeouts: { client_header: 1s, client_body: 2s, keepalive: 3s,\n"
    "            drain: 4s, connect: 5s, response: 6s, idle: 7s }\n"
    "listeners:\n"
    "  - name: tls\n"
    "    listen: \"[::1]:8443\"\n"
    "    tls:\n"
    "      cert: a.pem\n"
    "      key: a.key\n"
    "      certs: [{ cert: b.pem, key: b.key }]\n"
    "      min_version: 1.3\n"
    "      ciphers: ECDHE+AESGCM\n"
    "      client_ca: ca.pem\n"
    "      verify_client: optional\n"
    "      tickets: off\n"
    "      session_cache: 4MiB\n"
    "    hsts: 365d\n"
    "    limits: { max_uri: 4KiB, max_header_size: 16KiB,\n"
    "              max_headers: 50, max_body: 1GiB }\n"
    "    timeouts: { client_header: 9s }\n"
    "    trusted_proxies: [10.0.0.0/8, \"::1\"]\n"
    "  - name: plain\n"
    "    listen: \"*:0\"\n"
    "    redirect_https: https://example.com\n"
    "routes:\n"
    "  - match: { host: \"*.Example.COM\", path_prefix: /api }\n"
    "    pool: vms\n"
    "    timeouts: { connect: 1s, response: 2s, idle: 3s }\n"
    "    limits: { max_body: 0 }\n"
    "    retries: 0\n"
    "    listeners: [tls]\n"
    "  - match: { host: www.example.com }\n"
    "    pool: app\n"
    "pools:\n"
    "  - name: vms\n"
    "    type: microvm\n"
    "    balance: hash\n"
    "    hash: { key: header, header: X-User }\n"
    "    eject: { failures: 0, backoff: 1s, max_backoff: 1m }\n"
    "    keepalive: { idle: 0, timeout: 5s }\n"
    "    kernel: vmlinux\n"
    "    initrd: initrd.img\n"
    "    cmdline: console=ttyS0 quiet\n"
    "    memory: 2MiB\n"
    "    vcpus: 32\n"
    "    transport: vsock\n"
    "    port: 65535\n"
    "    size: { min: 0, max: 3 }\n"
    "    max_inflight_per_vm: 16\n"
    "    queue: { length: 0, timeout: 250ms }\n"
    "    health: { path: /ready, status: 204, interval: 2s,\n"
    "              timeout: 1s, rise: 1, fall: 5 }\n"
    "    recycle: { after_requests: 10000, max_age: 1h }\n"
    "    scale: { target_inflight: 8, cooldown: 1m30s }\n"
    "    run_dir: /run/corral/vms\n"
    "    faults: yes\n"
    "  - name: app\n"
    "    type: static\n"
    "    balance: least_request\n"
    "    servers:\n"
    "      - unix:/run/app.sock\n"
    "      - vsock:/run/vm-1.vsock:8080\n"
    "      - { address: app.example:443, weight: 1000, tls: true,\n"
    "          verify: false, sni: app.internal, ca: ca.pem }\n";

/* Every key of the top level and of listeners, as set in every_key_yaml. */
static void
test_conf_every_key_top_and_listeners(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	const struct conf_listener *l;
	const struct conf_tls	*t;

	(void)state;
	c = load_ok(every_key_yaml, &errs);
	assert_int_equal(c->c_workers, 4);
	assert_int_equal(c->c_log.lg_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->c_log.lg_access, CONF_ACCESS_FILE);
	assert_string_equal(c->c_log.lg_access_file.cf_path,
	    "/var/log/corral.log");
	assert_int_equal(c->c_log.lg_format, CONF_LOG_JSON);
	assert_false(c->c_admin.ad_enabled);
	assert_int_equal(c->c_timeouts.to_listener.lt_drain, 4000);
	assert_int_equal(c->c_timeouts.to_route.rt_idle, 7000);

	l = &c->c_listeners[0];
	assert_int_equal(l->li_listen.ca_ss.ss_family, AF_INET6);
	assert_int_equal(l->li_listen.ca_port, 8443);
	assert_non_null(t = l->li_tls);
	assert_string_equal(t->tl_default.ce_cert.cf_path, "a.pem");
	assert_string_equal(t->tl_default.ce_key.cf_path, "a.key");
	assert_string_equal(t->tl_default.ce_key.cf_key,
	    "listeners[0].tls.key");
	assert_int_equal(t->tl_ncerts, 1);
	assert_string_equal(t->tl_certs[0].ce_cert.cf_path, "b.pem");
	assert_string_equal(t->tl_certs[0].ce_key.cf_key,
	    "listeners[0].tls.certs[0].key");
	assert_int_equal(t->tl_min_version, CONF_TLS_1_3);
	assert_string_equal(t->tl_ciphers, "ECDHE+AESGCM");
	assert_string_equal(t->tl_client_ca.cf_path, "ca.pem");
	assert_int_equal(t->tl_verify_client, CONF_VERIFY_OPTIONAL);
	assert_false(t->tl_tickets);
	assert_int_equal(t->tl_session_cache, 4 << 20);
	assert_int_equal(l->li_hsts, 365ULL * 86400 * 1000);
	assert_int_equal(l->li_limits.lm_max_uri, 4096);
	assert_int_equal(l->li_limits.lm_max_header_size, 16384);
	assert_int_equal(l->li_limits.lm_max_headers, 50);
	assert_int_equal(l->li_limits.lm_max_body, 1ULL << 30);
	/* Its own key, then the top level's, not the built-in default. */
	assert_int_equal(l->li_timeouts.lt_client_header, 9000);
	assert_int_equal(l->li_timeouts.lt_client_body, 2000);
	assert_int_equal(l->li_ntrusted, 2);
	assert_int_equal(l->li_trusted[0].cc_family, AF_INET);
	assert_int_equal(l->li_trusted[0].cc_prefix, 8);
	assert_int_equal(l->li_trusted[0].cc_addr[0], 10);
	assert_int_equal(l->li_trusted[1].cc_family, AF_INET6);
	assert_int_equal(l->li_trusted[1].cc_prefix, 128);
	assert_int_equal(l->li_trusted[1].cc_addr[15], 1);

	l = &c->c_listeners[1];
	assert_int_equal(l->li_listen.ca_kind, CONF_ADDR_ANY);
	assert_int_equal(l->li_listen.ca_port, 0);
	assert_non_null(l->li_redirect);
	assert_string_equal(l->li_redirect->rd_url, "https://example.com");
	assert_int_equal(l->li_redirect->rd_port, 0);
	assert_int_equal(l->li_timeouts.lt_client_header, 1000);

	conf_free(c);
	conf_errors_free(errs);
}

/* Every key of routes. */
static void
test_conf_every_key_routes(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	const struct conf_route	*r;

	(void)state;
	c = load_ok(every_key_yaml, &errs);
	r = &c->c_routes[0];
	assert_int_equal(r->ro_match.ma_kind, CONF_HOST_SUFFIX);
	assert_string_equal(r->ro_match.ma_host, ".example.com");
	assert_string_equal(r->ro_match.ma_path_prefix, "/api");
	assert_int_equal(r->ro_timeouts.rt_connect, 1000);
	assert_int_equal(r->ro_timeouts.rt_idle, 3000);
	assert_true(r->ro_max_body_set);
	assert_int_equal(r->ro_max_body, 0);
	assert_int_equal(r->ro_retries, 0);
	assert_int_equal(r->ro_nlisteners, 1);
	assert_string_equal(r->ro_listener_names[0], "tls");
	assert_ptr_equal(r->ro_listeners[0], &c->c_listeners[0]);
	assert_ptr_equal(r->ro_pool, &c->c_pools[0]);
	r = &c->c_routes[1];
	assert_int_equal(r->ro_match.ma_kind, CONF_HOST_EXACT);
	assert_string_equal(r->ro_match.ma_host, "www.example.com");
	assert_int_equal(r->ro_timeouts.rt_response, 6000);
	assert_ptr_equal(r->ro_pool, &c->c_pools[1]);

	conf_free(c);
	conf_errors_free(errs);
}

/* Every key of both kinds of pool. */
static void
test_conf_every_key_pools(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	const struct conf_pool	*p;
	const struct conf_microvm *vm;
	const struct conf_server *sv;

	(void)state;
	c = load_ok(every_key_yaml, &errs);
	p = &c->c_pools[0];
	vm = &p->pl_vm;
	assert_int_equal(p->pl_balance, CONF_BALANCE_HASH);
	assert_string_equal(conf_balance_name(p->pl_balance), "hash");
	assert_int_equal(p->pl_hash.ha_key, CONF_HASH_HEADER);
	assert_string_equal(p->pl_hash.ha_header, "X-User");
	assert_int_equal(p->pl_eject.ej_failures, 0);
	assert_int_equal(p->pl_eject.ej_max_backoff, 60000);
	assert_int_equal(p->pl_keepalive.ka_idle, 0);
	assert_string_equal(vm->vm_kernel.cf_path, "vmlinux");
	assert_string_equal(vm->vm_initrd.cf_path, "initrd.img");
	assert_string_equal(vm->vm_cmdline, "console=ttyS0 quiet");
	assert_int_equal(vm->vm_memory, 2 << 20);
	assert_int_equal(vm->vm_vcpus, 32);
	assert_int_equal(vm->vm_port, 65535);
	assert_int_equal(vm->vm_size.sz_min, 0);
	assert_int_equal(vm->vm_size.sz_max, 3);
	assert_int_equal(vm->vm_max_inflight, 16);
	assert_int_equal(vm->vm_queue.qu_length, 0);
	assert_int_equal(vm->vm_queue.qu_timeout, 250);
	assert_string_equal(vm->vm_health.he_path, "/ready");
	assert_int_equal(vm->vm_health.he_status, 204);
	assert_int_equal(vm->vm_health.he_interval, 2000);
	assert_int_equal(vm->vm_health.he_timeout, 1000);
	assert_int_equal(vm->vm_health.he_rise, 1);
	assert_int_equal(vm->vm_health.he_fall, 5);
	assert_int_equal(vm->vm_recycle.rc_after_requests, 10000);
	assert_int_equal(vm->vm_recycle.rc_max_age, 3600000);
	assert_int_equal(vm->vm_scale.sc_target_inflight, 8);
	assert_int_equal(vm->vm_scale.sc_cooldown, 90000);
	assert_string_equal(vm->vm_run_dir, "/run/corral/vms");
	assert_true(vm->vm_faults);

	p = &c->c_pools[1];
	assert_int_equal(p->pl_balance, CONF_BALANCE_LEAST_REQUEST);
	assert_int_equal(p->pl_nservers, 3);
	sv = &p->pl_servers[0];
	assert_int_equal(sv->sv_addr.ca_kind, CONF_ADDR_UNIX);
	assert_string_equal(sv->sv_addr.ca_host, "/run/app.sock");
	sv = &p->pl_servers[1];
	assert_int_equal(sv->sv_addr.ca_kind, CONF_ADDR_VSOCK);
	assert_string_equal(sv->sv_addr.ca_host, "/run/vm-1.vsock");
	assert_int_equal(sv->sv_addr.ca_port, 8080);
	sv = &p->pl_servers[2];
	assert_int_equal(sv->sv_addr.ca_kind, CONF_ADDR_NAME);
	assert_string_equal(sv->sv_addr.ca_host, "app.example");
	assert_int_equal(sv->sv_addr.ca_port, 443);
	assert_int_equal(sv->sv_weight, 1000);
	assert_true(sv->sv_tls);
	assert_false(sv->sv_verify);
	assert_string_equal(sv->sv_sni, "app.internal");
	assert_string_equal(sv->sv_ca.cf_path, "ca.pem");
	assert_int_equal(sv->sv_pos.cp_line, 65);
	conf_free(c);
	conf_errors_free(errs);
}

static void
test_conf_booleans_accept_yaml_spellings(void **state)
{
	static const struct {
		const char	*text;
		bool		 value;
	} cases[] = {
		{ "true", true }, { "True", true }, { "yes", true },
		{ "on", true }, { "ON", true }, { "false", false },
		{ "no", false }, { "off", false }, { "FALSE", false },
		{ "\"yes\"", true },
	};
	struct conf_errors	*errs;
	struct conf		*c;
	char			 text[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(text, sizeof(text), HEAD VM_POOL "    faults: %s\n",
		    cases[i].text);
		c = load_ok(text, &errs);
		assert_int_equal(c->c_pools[0].pl_vm.vm_faults,
		    cases[i].value);
		conf_free(c);
		conf_errors_free(errs);
	}
}

static void
test_conf_sizes_and_durations_use_units(void **state)
{
	static const struct {
		const char	*memory;
		uint64_t	 bytes;
		const char	*interval;
		uint64_t	 ms;
	} cases[] = {
		{ "2MiB", 2ULL << 20, "1ms", 1 },
		{ "16M", 16ULL << 20, "250ms", 250 },
		{ "1GiB", 1ULL << 30, "2s", 2000 },
		{ "3000000", 3000000, "1m30s", 90000 },
		{ "4GB", 4000000000ULL, "1h", 3600000 },
		{ "1T", 1ULL << 40, "1d", 86400000 },
	};
	struct conf_errors	*errs;
	struct conf		*c;
	char			 text[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(text, sizeof(text), HEAD VM_POOL "    memory: %s\n"
		    "    health: { interval: %s }\n", cases[i].memory,
		    cases[i].interval);
		c = load_ok(text, &errs);
		assert_int_equal(c->c_pools[0].pl_vm.vm_memory,
		    cases[i].bytes);
		assert_int_equal(c->c_pools[0].pl_vm.vm_health.he_interval,
		    cases[i].ms);
		conf_free(c);
		conf_errors_free(errs);
	}
}

static void
test_conf_admin_can_be_turned_off(void **state)
{
	static const char *const off[] = {
		"admin: off\n", "admin: { listen: off }\n" };
	struct conf_errors	*errs;
	struct conf		*c;
	char			 text[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(off); i++) {
		snprintf(text, sizeof(text), "%s" HEAD STATIC_POOL, off[i]);
		c = load_ok(text, &errs);
		assert_false(c->c_admin.ad_enabled);
		conf_free(c);
		conf_errors_free(errs);
	}
	c = load_ok("admin: { listen: \"[::1]:0\" }\n" HEAD STATIC_POOL,
	    &errs);
	assert_true(c->c_admin.ad_enabled);
	assert_int_equal(c->c_admin.ad_listen.ca_ss.ss_family, AF_INET6);
	assert_int_equal(c->c_admin.ad_listen.ca_pos.cp_line, 1);
	assert_int_equal(c->c_admin.ad_listen.ca_pos.cp_col, 18);
	conf_free(c);
	conf_errors_free(errs);
	assert_load_fails("admin: [off]\n" HEAD STATIC_POOL,
	    "corral.yaml:1:8: admin: expected a map or off, got a list\n");
	assert_load_fails("admin: on\n" HEAD STATIC_POOL,
	    "corral.yaml:1:8: admin: expected a map or off, got \"on\"\n");
}

static void
test_conf_size_max_defaults_to_min(void **state)
{
	static const struct {
		const char	*size;
		unsigned	 min, max;
	} cases[] = {
		{ "{ min: 4 }", 4, 4 }, { "{ min: 0 }", 0, 1 },
		{ "{ max: 5 }", 1, 5 }, { "{ min: 0, max: 1 }", 0, 1 },
		{ "{}", 1, 1 },
	};
	struct conf_errors	*errs;
	struct conf		*c;
	char			 text[512];
	size_t			 i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(text, sizeof(text), HEAD VM_POOL "    size: %s\n",
		    cases[i].size);
		c = load_ok(text, &errs);
		assert_int_equal(c->c_pools[0].pl_vm.vm_size.sz_min,
		    cases[i].min);
		assert_int_equal(c->c_pools[0].pl_vm.vm_size.sz_max,
		    cases[i].max);
		conf_free(c);
		conf_errors_free(errs);
	}
}

/* One case per message the schema can give, at its line and column. */
static const struct {
	const char	*text;
	const char	*expected;
} error_cases[] = {
	{ HEAD VM_POOL "    size: { min: two }\n",
	    "corral.yaml:7:18: pools[0].size.min: expected a whole "
	    "number, got \"two\"\n" },
	{ HEAD VM_POOL "    vcpus: 0\n",
	    "corral.yaml:7:12: pools[0].vcpus: expected a whole number "
	    "from 1 to 32, got 0\n" },
	{ HEAD VM_POOL "    max_inflight_per_vm: 99999999999\n",
	    "corral.yaml:7:26: pools[0].max_inflight_per_vm: expected "
	    "a whole number of at least 0, got 99999999999\n" },
	{ HEAD VM_POOL "    memory: 1MiB\n",
	    "corral.yaml:7:13: pools[0].memory: expected a size of at "
	    "least 2MiB, got 1MiB\n" },
	{ HEAD VM_POOL "    memory: 1.5G\n",
	    "corral.yaml:7:13: pools[0].memory: expected a size such as "
	    "64MiB, got \"1.5G\"\n" },
	{ HEAD VM_POOL "    health: { timeout: 2 seconds }\n",
	    "corral.yaml:7:24: pools[0].health.timeout: expected a "
	    "duration such as 500ms or 2s, got \"2 seconds\"\n" },
	{ HEAD VM_POOL "    health: { interval: 0 }\n",
	    "corral.yaml:7:25: pools[0].health.interval: expected a "
	    "duration of at least 1ms, got 0\n" },
	{ HEAD VM_POOL "    faults: 1\n",
	    "corral.yaml:7:13: pools[0].faults: expected true or "
	    "false, got \"1\"\n" },
	{ HEAD VM_POOL "    balance: least\n",
	    "corral.yaml:7:14: pools[0].balance: expected round_robin, "
	    "least_request, random or hash, got \"least\"\n" },
	{ HEAD VM_POOL "    balance: randon\n",
	    "corral.yaml:7:14: pools[0].balance: expected round_robin, "
	    "least_request, random or hash, got \"randon\" (did you "
	    "mean \"random\"?)\n" },
	{ HEAD VM_POOL "    health: [/health]\n",
	    "corral.yaml:7:13: pools[0].health: expected a map, got a "
	    "list\n" },
	{ HEAD VM_POOL "    cmdline: { a: b }\n",
	    "corral.yaml:7:14: pools[0].cmdline: expected a string, got "
	    "a map\n" },
	{ HEAD VM_POOL "    initrd:\n",
	    "corral.yaml:7:12: pools[0].initrd: expected a path, got "
	    "nothing\n" },
	{ HEAD VM_POOL "    run_dir: \"\"\n",
	    "corral.yaml:7:14: pools[0].run_dir: expected a string, got "
	    "\"\"\n" },
	{ HEAD VM_POOL "    transport: tap\n",
	    "corral.yaml:7:16: pools[0].transport: transport \"tap\" is "
	    "not supported yet\n" },
	{ HEAD VM_POOL "    transport: tcp\n",
	    "corral.yaml:7:16: pools[0].transport: expected vsock or "
	    "tap, got \"tcp\"\n" },
	{ HEAD VM_POOL "    servers: [127.0.0.1:1]\n",
	    "corral.yaml:7:5: pools[0].servers: only valid with type: "
	    "static\n" },
	{ HEAD STATIC_POOL "    kernel: k\n",
	    "corral.yaml:7:5: pools[0].kernel: only valid with type: "
	    "microvm\n" },
	{ HEAD STATIC_POOL "    hash: { key: path }\n",
	    "corral.yaml:7:5: pools[0].hash: only valid with balance: "
	    "hash\n" },
	{ HEAD STATIC_POOL "    balance: hash\n"
	    "    hash: { key: header }\n",
	    "corral.yaml:8:11: pools[0].hash: missing required key "
	    "\"header\"\n" },
	{ HEAD STATIC_POOL "    balance: hash\n"
	    "    hash: { key: header, header: \"X User\" }\n",
	    "corral.yaml:8:34: pools[0].hash.header: expected a header "
	    "name, got \"X User\"\n" },
	{ HEAD VM_POOL "    health: { path: health }\n",
	    "corral.yaml:7:21: pools[0].health.path: expected a path "
	    "starting with /, got \"health\"\n" },
	{ HEAD VM_POOL "    size: { min: 3, max: 2 }\n",
	    "corral.yaml:7:18: pools[0].size.min: min (3) is more than "
	    "max (2)\n" },
	{ HEAD VM_POOL "    size: { max: 0 }\n",
	    "corral.yaml:7:18: pools[0].size.max: expected a whole "
	    "number of at least 1, got 0\n" },
	{ HEAD VM_POOL "    eject: { max_backoff: 1s }\n",
	    "corral.yaml:7:27: pools[0].eject.max_backoff: backoff (10s) "
	    "is longer than max_backoff (1s)\n" },
	{ HEAD "pools:\n  - name: p\n    type: microvm\n",
	    "corral.yaml:4:5: pools[0]: missing required key "
	    "\"kernel\"\n" },
	{ HEAD "pools:\n  - name: p\n    type: static\n"
	    "    servers: []\n",
	    "corral.yaml:6:14: pools[0].servers: expected at least one "
	    "entry, got an empty list\n" },
	{ HEAD "pools: {}\n",
	    "corral.yaml:3:8: pools: expected a list, got a map\n" },
	{ HEAD "pools:\n  - p\n",
	    "corral.yaml:4:5: pools[0]: expected a map, got \"p\"\n" },
	{ HEAD "pools:\n  - name: my pool\n    type: static\n"
	    "    servers: [127.0.0.1:1]\n",
	    "corral.yaml:4:11: pools[0].name: expected a name of "
	    "letters, digits, \".\", \"_\" and \"-\", got \"my pool\"\n" },
	{ "workers: 0\n" HEAD STATIC_POOL,
	    "corral.yaml:1:10: workers: expected auto or a whole number "
	    "from 1 to 256, got 0\n" },
	{ "workers: many\n" HEAD STATIC_POOL,
	    "corral.yaml:1:10: workers: expected auto or a whole number "
	    "from 1 to 256, got \"many\"\n" },
	{ "log: { access: \"\" }\n" HEAD STATIC_POOL,
	    "corral.yaml:1:16: log.access: expected off, stderr or a "
	    "path, got \"\"\n" },
	{ "admin: { listen: 127.0.0.1:99999 }\n" HEAD STATIC_POOL,
	    "corral.yaml:1:18: admin.listen: expected HOST:PORT with a "
	    "port from 0 to 65535, got \"127.0.0.1:99999\"\n" },
	{ "admin: { listen: localhost:80:80 }\n" HEAD STATIC_POOL,
	    "corral.yaml:1:18: admin.listen: expected an IPv6 address "
	    "in brackets, such as [::1]:8080, got \"localhost:80:80\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1, hsts: 1d}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:1:42: listeners[0].hsts: only valid with "
	    "tls\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1,\n"
	    "  tls: {cert: c, key: k}, redirect_https: 443}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:2:27: listeners[0].redirect_https: not valid "
	    "with tls: this listener is HTTPS already\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1,\n"
	    "  redirect_https: 0}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:2:19: listeners[0].redirect_https: expected a "
	    "port or an https:// URL, got \"0\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1, tls: {}}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:1:47: listeners[0].tls: no certificate: give "
	    "cert and key, or certs\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1,\n"
	    "  tls: {key: k}}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:2:8: listeners[0].tls: missing required key "
	    "\"cert\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1,\n"
	    "  tls: {cert: c, key: k, verify_client: required}}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:2:41: listeners[0].tls.verify_client: needs "
	    "client_ca\n" },
	{ HEAD STATIC_POOL "  - name: p\n    type: static\n"
	    "    servers: [127.0.0.1:1]\n",
	    "corral.yaml:7:11: pools[1].name: \"p\" is already the name "
	    "of pools[0] (line 4)\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1}]\n"
	    "routes: [{pool: q}]\n" STATIC_POOL,
	    "corral.yaml:2:17: routes[0].pool: no pool named \"q\"\n"
	    "corral.yaml:4:11: warning: pools[0].name: no route uses "
	    "pool \"p\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1}]\n"
	    "routes: [{pool: p, listeners: [a, b]}]\n" STATIC_POOL,
	    "corral.yaml:2:35: routes[0].listeners[1]: no listener "
	    "named \"b\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1}]\n"
	    "routes: [{pool: p, match: {host: \"a*b\"}}]\n" STATIC_POOL,
	    "corral.yaml:2:34: routes[0].match.host: expected a host "
	    "name, \"*.domain\" or \"*\", got \"a*b\"\n" },
	{ "listeners: [{name: a, listen: 1.2.3.4:1},\n"
	    "  {name: b, listen: \"*:1\"}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:2:21: listeners[1].listen: \"*:1\" collides "
	    "with listeners[0].listen \"1.2.3.4:1\" (line 1)\n" },
	{ "admin: { listen: \"[::]:1\" }\n"
	    "listeners: [{name: a, listen: 1.2.3.4:1}]\n"
	    "routes: [{pool: p}]\n" STATIC_POOL,
	    "corral.yaml:1:18: admin.listen: \"[::]:1\" collides with "
	    "listeners[0].listen \"1.2.3.4:1\" (line 2)\n" },
};

static void
test_conf_error_messages(void **state)
{
	size_t	i;

	(void)state;
	for (i = 0; i < NITEMS(error_cases); i++)
		assert_load_fails(error_cases[i].text, error_cases[i].expected);
}

static void
test_conf_unknown_key_suggests_nearest(void **state)
{
	static const struct {
		const char	*key;
		const char	*suggestion;	/* NULL: none */
	} cases[] = {
		{ "sise", "size" }, { "memroy", "memory" },
		{ "kernal", "kernel" }, { "helth", "health" },
		{ "cpus", "vcpus" }, { "run-dir", "run_dir" },
		{ "faultz", "faults" }, { "colour", NULL }, { "x", NULL },
		{ "max_inflight", NULL }, { "Memory", "memory" },
	};
	char	text[512], expected[512];
	size_t	i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++) {
		snprintf(text, sizeof(text), HEAD VM_POOL "    %s: 1\n",
		    cases[i].key);
		if (cases[i].suggestion != NULL)
			snprintf(expected, sizeof(expected), "corral.yaml:7:5: "
			    "pools[0].%s: unknown key (did you mean \"%s\"?)\n",
			    cases[i].key, cases[i].suggestion);
		else
			snprintf(expected, sizeof(expected), "corral.yaml:7:5: "
			    "pools[0].%s: unknown key\n", cases[i].key);
		assert_load_fails(text, expected);
	}
}

static void
test_conf_yaml_level_errors(void **state)
{
	static const struct {
		const char	*text;
		const char	*expected;
	} cases[] = {
		{ "", "corral.yaml:1:1: empty file\n" },
		{ "\n# just a comment\n", "corral.yaml:1:1: empty file\n" },
		{ "---\n...\n", "corral.yaml:1:1: empty file\n" },
		{ "workers: [1\n",
		    "corral.yaml:2:1: syntax error: did not find expected ',' "
		    "or ']'\n" },
		{ "workers: 1\n  bad: 2\n",
		    "corral.yaml:2:6: syntax error: mapping values are not "
		    "allowed in this context\n" },
		{ "workers: \"\\xff\xff\"\n",
		    "corral.yaml:1:15: syntax error: invalid leading UTF-8 "
		    "octet\n" },
		{ HEAD STATIC_POOL "---\n" HEAD STATIC_POOL,
		    "corral.yaml:7:1: more than one YAML document; a "
		    "configuration is one\n" },
		{ "workers: 1\n" HEAD STATIC_POOL "workers: 2\n",
		    "corral.yaml:8:1: workers: duplicate key (first at line "
		    "1)\n" },
		{ "x: &a 1\n" HEAD STATIC_POOL "workers: *a\n",
		    "corral.yaml:1:1: x: unknown key\n"
		    "corral.yaml:8:10: workers: aliases (*a) are not supported; "
		    "write the value out\n" },
		{ "? [a]\n: 1\n" HEAD STATIC_POOL,
		    "corral.yaml:1:3: a key must be a string, not a list\n" },
		{ "log: { level: \"in\\0fo\" }\n" HEAD STATIC_POOL,
		    "corral.yaml:1:15: log.level: a NUL character is not "
		    "allowed\n" },
		{ "- 1\n", "corral.yaml:1:1: expected a map, got a list\n" },
		{ "workers: 1\n",
		    "corral.yaml:1:1: missing required key \"listeners\"\n"
		    "corral.yaml:1:1: missing required key \"routes\"\n"
		    "corral.yaml:1:1: missing required key \"pools\"\n" },
	};
	size_t	i;

	(void)state;
	for (i = 0; i < NITEMS(cases); i++)
		assert_load_fails(cases[i].text, cases[i].expected);
}

static void
test_conf_deep_nesting_is_an_error_not_a_crash(void **state)
{
	char	*text;
	size_t	 depth = 100000, i, len = 0;

	(void)state;
	text = malloc(2 * depth + 16);
	assert_non_null(text);
	len += (size_t)snprintf(text, 2 * depth + 16, "x: ");
	for (i = 0; i < depth; i++)
		text[len++] = '[';
	for (i = 0; i < depth; i++)
		text[len++] = ']';
	text[len++] = '\n';
	text[len] = '\0';
	assert_load_fails(text,
	    "corral.yaml:1:35: x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
	    "[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]: nested more "
	    "than 32 levels deep\n");
	free(text);
}

static void
test_conf_huge_map_is_an_error_not_a_stall(void **state)
{
	char	*text;
	size_t	 i, len = 0, size = 20000 * 16;

	(void)state;
	text = malloc(size);
	assert_non_null(text);
	for (i = 0; i < 20000; i++)
		len += (size_t)snprintf(text + len, size - len, "k%zu: 1\n", i);
	assert_load_fails(text, "corral.yaml:1001:1: k1000: more than 1000 "
	    "keys in one map\n");
	free(text);
}

static void
test_conf_message_quotes_and_shortens_values(void **state)
{
	(void)state;
	assert_load_fails(HEAD VM_POOL "    vcpus: \"a\\\"b\\\\c\\td\"\n",
	    "corral.yaml:7:12: pools[0].vcpus: expected a whole number, got "
	    "\"a\\\"b\\\\c\\x09d\"\n");
	assert_load_fails(HEAD VM_POOL "    vcpus: "
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz\n",
	    "corral.yaml:7:12: pools[0].vcpus: expected a whole number, got "
	    "\"abcdefghijklmnopqrstuvwxyzabcdefghijklmn...\"\n");
}

static void
test_conf_collects_every_error_in_file_order(void **state)
{
	/* Walk errors, cross-check errors and YAML errors, interleaved. */
	static const char	text[] =
	    "listeners:\n"
	    "  - name: a\n"
	    "    listen: 127.0.0.1:80\n"
	    "    limits: { max_headers: none }\n"
	    "  - name: a\n"
	    "    listen: 127.0.0.1:80\n"
	    "routes:\n"
	    "  - pool: nope\n"
	    "    retries: 99\n"
	    "pools:\n"
	    "  - name: p\n"
	    "    type: static\n"
	    "    servers: [127.0.0.1:9000]\n"
	    "    servers: []\n"
	    "    memory: 1MiB\n";
	static const char	expected[] =
	    "corral.yaml:4:28: listeners[0].limits.max_headers: expected a "
	    "whole number, got \"none\"\n"
	    "corral.yaml:5:11: listeners[1].name: \"a\" is already the name "
	    "of listeners[0] (line 2)\n"
	    "corral.yaml:6:13: listeners[1].listen: \"127.0.0.1:80\" collides "
	    "with listeners[0].listen \"127.0.0.1:80\" (line 3)\n"
	    "corral.yaml:8:11: routes[0].pool: no pool named \"nope\"\n"
	    "corral.yaml:9:14: routes[0].retries: expected a whole number "
	    "from 0 to 10, got 99\n"
	    "corral.yaml:14:5: pools[0].servers: duplicate key (first at line "
	    "13)\n"
	    "corral.yaml:15:5: pools[0].memory: only valid with type: "
	    "microvm\n"
	    "corral.yaml:11:11: warning: pools[0].name: no route uses pool "
	    "\"p\"\n";
	struct conf_errors	*errs;

	(void)state;
	assert_load_fails(text, expected);
	assert_null(load(text, &errs));
	assert_int_equal(conf_errors_count(errs), 7);
	assert_int_equal(conf_errors_warnings(errs), 1);
	assert_string_equal(conf_errors_line(errs, false, 0),
	    "corral.yaml:4:28: listeners[0].limits.max_headers: expected a "
	    "whole number, got \"none\"");
	assert_string_equal(conf_errors_line(errs, true, 0),
	    "corral.yaml:11:11: warning: pools[0].name: no route uses pool "
	    "\"p\"");
	assert_null(conf_errors_line(errs, false, 7));
	assert_null(conf_errors_line(errs, true, 1));
	conf_errors_free(errs);
}

static void
test_conf_errors_are_capped_when_printed(void **state)
{
	struct conf_errors	*errs;
	char			*text, *out, *p;
	size_t			 i, len = 0, lines = 0;

	(void)state;
	text = malloc(150 * 16 + 1);
	assert_non_null(text);
	for (i = 0; i < 150; i++)
		len += (size_t)snprintf(text + len, 150 * 16 + 1 - len,
		    "bogus%03zu: 1\n", i);
	assert_null(load(text, &errs));
	/* 150 unknown keys and the three missing lists. */
	assert_int_equal(conf_errors_count(errs), 153);
	out = printed(errs);
	for (p = out; *p != '\0'; p++)
		lines += *p == '\n';
	assert_int_equal(lines, CONF_ERRORS_MAX + 1);
	assert_non_null(strstr(out, "corral.yaml:97:1: bogus096: unknown "
	    "key\ncorral.yaml: too many errors (153), only the first 100 are "
	    "shown\n"));
	assert_null(strstr(out, "bogus097"));
	free(out);
	free(text);
	conf_errors_free(errs);
}

/* Checks made later report at a value's position in the same format. */
static void
test_conf_errors_at_reports_later_checks(void **state)
{
	static const char	 text[] =
	    "listeners:\n"
	    "  - name: web\n"
	    "    listen: 127.0.0.1:8080\n"
	    "    tls: { cert: site.pem, key: site.key }\n"
	    "routes: [{ pool: p }]\n" STATIC_POOL;
	struct conf_errors	*errs, *later;
	struct conf		*c;
	const struct conf_listener *l;
	struct conf_pos		 nowhere = { "corral.yaml", 0, 0 };
	char			*out;

	(void)state;
	c = load_ok(text, &errs);
	l = &c->c_listeners[0];
	later = conf_errors_new();
	assert_non_null(later);
	conf_errors_at(later, &l->li_tls->tl_default.ce_key.cf_pos,
	    l->li_tls->tl_default.ce_key.cf_key, "key does not match %s",
	    "the certificate");
	conf_errors_at(later, &l->li_listen.ca_pos, "listeners[0].listen",
	    "cannot bind: %s", strerror(EADDRINUSE));
	conf_errors_at(later, &nowhere, NULL, "no worker could start");
	conf_errors_warn_at(later, &l->li_pos, l->li_key, "no route");
	out = printed(later);
	assert_string_equal(out,
	    "corral.yaml: no worker could start\n"
	    "corral.yaml:3:13: listeners[0].listen: cannot bind: Address "
	    "already in use\n"
	    "corral.yaml:4:33: listeners[0].tls.key: key does not match the "
	    "certificate\n"
	    "corral.yaml:2:5: warning: listeners[0]: no route\n");
	free(out);
	conf_errors_free(later);
	conf_free(c);
	conf_errors_free(errs);
}

static void
test_conf_load_reports_unreadable_file(void **state)
{
	struct conf_errors	*errs;
	char			*out;

	(void)state;
	errs = conf_errors_new();
	assert_null(conf_load("/nonexistent/corral.yaml", errs));
	out = printed(errs);
	assert_string_equal(out, "/nonexistent/corral.yaml: No such file or "
	    "directory\n");
	free(out);
	conf_errors_free(errs);

	errs = conf_errors_new();
	assert_null(conf_load("/", errs));
	out = printed(errs);
	assert_non_null(strstr(out, "/: not a regular file"));
	free(out);
	conf_errors_free(errs);
}

static void
test_conf_warnings_alone_do_not_fail_the_load(void **state)
{
	struct conf_errors	*errs;
	struct conf		*c;
	char			*out;

	(void)state;
	c = load(HEAD STATIC_POOL "  - name: spare\n    type: static\n"
	    "    servers: [127.0.0.1:1]\n", &errs);
	assert_non_null(c);
	assert_int_equal(conf_errors_count(errs), 0);
	assert_int_equal(conf_errors_warnings(errs), 1);
	out = printed(errs);
	assert_string_equal(out, "corral.yaml:7:11: warning: pools[1].name: "
	    "no route uses pool \"spare\"\n");
	free(out);
	conf_free(c);
	conf_errors_free(errs);
}

static void
test_conf_check_files_reports_at_the_key(void **state)
{
	char			 dir[] = "/tmp/test_conf.XXXXXX";
	char			 text[1024], path[256], *out;
	struct conf_errors	*errs;
	struct conf		*c;
	int			 fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/site.pem", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	close(fd);
	snprintf(text, sizeof(text),
	    "listeners:\n"
	    "  - name: web\n"
	    "    listen: 127.0.0.1:8443\n"
	    "    tls: { cert: %s/site.pem, key: %s/site.key }\n"
	    "routes: [{ pool: p }]\n"
	    "pools:\n"
	    "  - name: p\n"
	    "    type: microvm\n"
	    "    kernel: %s/vmlinux\n"
	    "    initrd: %s\n", dir, dir, dir, dir);
	c = load_ok(text, &errs);
	assert_int_equal(conf_check_files(c, errs), -1);
	out = printed(errs);
	assert_non_null(strstr(out, "site.key\": No such file or directory\n"));
	assert_true(strncmp(out, "corral.yaml:4:", 14) == 0);
	assert_non_null(strstr(out, ": listeners[0].tls.key: cannot read "));
	assert_non_null(strstr(out, "corral.yaml:9:13: pools[0].kernel: "
	    "cannot read \"/tmp/test_conf."));
	assert_non_null(strstr(out, "/vmlinux\": No such file or directory\n"));
	assert_non_null(strstr(out, "corral.yaml:10:13: pools[0].initrd: \""));
	assert_non_null(strstr(out, "\" is not a regular file\n"));
	assert_null(strstr(out, "site.pem"));
	assert_int_equal(conf_errors_count(errs), 3);
	free(out);
	conf_free(c);
	conf_errors_free(errs);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static int
yaml_name(const struct dirent *d)
{
	size_t	len = strlen(d->d_name);

	return len > 5 && strcmp(d->d_name + len - 5, ".yaml") == 0;
}

static void
test_conf_examples_load_cleanly(void **state)
{
	struct dirent		**names;
	struct conf_errors	*errs;
	struct conf		*c;
	char			 path[512], *out;
	int			 n, i;

	(void)state;
	n = scandir(EXAMPLES_DIR, &names, yaml_name, alphasort);
	if (n == -1)
		fail_msg("%s: %s (run from the top of the tree)", EXAMPLES_DIR,
		    strerror(errno));
	assert_true(n >= 3);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR,
		    names[i]->d_name);
		errs = conf_errors_new();
		c = conf_load(path, errs);
		out = printed(errs);
		if (c == NULL || out[0] != '\0')
			fail_msg("%s:\n%s", path, out);
		free(out);
		conf_free(c);
		conf_errors_free(errs);
		free(names[i]);
	}
	free(names);
}

static char *
read_all(const char *path)
{
	char	*buf;
	FILE	*fp;
	long	 len;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	len = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	buf[len] = '\0';
	fclose(fp);
	return buf;
}

/*
 * Each <case>.yaml is checked as "corral -t" does, from inside the folder
 * so that messages name "<case>.yaml": load it, check its files if it
 * loaded, print everything; <case>.expected holds the exact output.
 */
static void
test_conf_golden_error_output(void **state)
{
	struct dirent		**names;
	struct conf_errors	*errs;
	struct conf		*c;
	char			 expected_path[512], *out, *expected;
	int			 n, i, cwd, failures = 0;

	(void)state;
	cwd = open(".", O_RDONLY | O_DIRECTORY);
	assert_true(cwd != -1);
	if (chdir(GOLDEN_DIR) == -1)
		fail_msg("%s: %s (run from the top of the tree)", GOLDEN_DIR,
		    strerror(errno));
	n = scandir(".", &names, yaml_name, alphasort);
	assert_true(n >= 10);
	for (i = 0; i < n; i++) {
		snprintf(expected_path, sizeof(expected_path), "%.*s.expected",
		    (int)strlen(names[i]->d_name) - 5, names[i]->d_name);
		errs = conf_errors_new();
		if ((c = conf_load(names[i]->d_name, errs)) != NULL)
			(void)conf_check_files(c, errs);
		out = printed(errs);
		if ((expected = read_all(expected_path)) == NULL) {
			print_error("%s: missing %s\n", names[i]->d_name,
			    expected_path);
			failures++;
		} else if (strcmp(out, expected) != 0) {
			print_error("%s: expected:\n%s--- got:\n%s---\n",
			    names[i]->d_name, expected, out);
			failures++;
		}
		free(expected);
		free(out);
		conf_free(c);
		conf_errors_free(errs);
		free(names[i]);
	}
	free(names);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_int_equal(failures, 0);
}

/*
 * Damaged configurations must come back either whole or not at all:
 * never a struct conf with errors, never errors without their count.
 */
static void
test_conf_damaged_examples_load_whole_or_not_at_all(void **state)
{
	static const char	 junk[] = ":-[]{}#&*!|>'\"\n\t %@`,?0aZ\\";
	struct conf_errors	*errs;
	struct conf		*c;
	char			 path[512], *orig, *text;
	uint64_t		 rnd = 0x9e3779b97f4a7c15ULL;
	size_t			 len, at, i, k;
	const char		*files[] = { "corral.yaml", "static.yaml",
				    "tls-sni.yaml" };

	(void)state;
	for (k = 0; k < NITEMS(files); k++) {
		snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, files[k]);
		if ((orig = read_all(path)) == NULL)
			fail_msg("%s: %s", path, strerror(errno));
		len = strlen(orig);
		text = malloc(len + 1);
		assert_non_null(text);
		for (i = 0; i < 1500; i++) {
			memcpy(text, orig, len + 1);
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			at = (size_t)(rnd % len);
			text[at] = junk[(rnd >> 32) % (sizeof(junk) - 1)];
			if (i % 3 == 0)		/* and cut it short */
				text[(rnd >> 16) % len] = '\0';
			errs = conf_errors_new();
			c = conf_load_string("x.yaml", text, strlen(text),
			    errs);
			assert_true((c == NULL) == (conf_errors_count(errs) >
			    0));
			if (c != NULL) {
				assert_true(c->c_nlisteners > 0);
				assert_non_null(c->c_listeners[0].li_name);
				assert_non_null(c->c_routes[0].ro_pool);
			}
			conf_free(c);
			conf_errors_free(errs);
		}
		free(text);
		free(orig);
	}
}

static void
test_conf_free_null_is_a_noop(void **state)
{
	(void)state;
	conf_free(NULL);
	conf_errors_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(
		    test_conf_minimal_config_gets_documented_defaults),
		cmocka_unit_test(test_conf_every_key_top_and_listeners),
		cmocka_unit_test(test_conf_every_key_routes),
		cmocka_unit_test(test_conf_every_key_pools),
		cmocka_unit_test(test_conf_booleans_accept_yaml_spellings),
		cmocka_unit_test(test_conf_sizes_and_durations_use_units),
		cmocka_unit_test(test_conf_admin_can_be_turned_off),
		cmocka_unit_test(test_conf_size_max_defaults_to_min),
		cmocka_unit_test(test_conf_error_messages),
		cmocka_unit_test(test_conf_unknown_key_suggests_nearest),
		cmocka_unit_test(test_conf_yaml_level_errors),
		cmocka_unit_test(test_conf_deep_nesting_is_an_error_not_a_crash),
		cmocka_unit_test(test_conf_huge_map_is_an_error_not_a_stall),
		cmocka_unit_test(test_conf_message_quotes_and_shortens_values),
		cmocka_unit_test(test_conf_collects_every_error_in_file_order),
		cmocka_unit_test(test_conf_errors_are_capped_when_printed),
		cmocka_unit_test(test_conf_errors_at_reports_later_checks),
		cmocka_unit_test(test_conf_load_reports_unreadable_file),
		cmocka_unit_test(test_conf_warnings_alone_do_not_fail_the_load),
		cmocka_unit_test(test_conf_check_files_reports_at_the_key),
		cmocka_unit_test(test_conf_examples_load_cleanly),
		cmocka_unit_test(
		    test_conf_damaged_examples_load_whole_or_not_at_all),
		cmocka_unit_test(test_conf_free_null_is_a_noop),
		/* Last: it changes directory while it runs. */
		cmocka_unit_test(test_conf_golden_error_output),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
