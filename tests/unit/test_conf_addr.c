/*
 * tests/unit/test_conf_addr.c: listen and server addresses, networks and
 * collisions as conf/conf_addr.c parses them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "conf/conf_priv.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static int
setup(void **state)
{
	*state = conf_arena_new();
	return *state == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	conf_arena_free(*state);
	return 0;
}

/* The sockaddr's address as text and its port. */
static void
assert_sockaddr(const struct conf_addr *a, int family, const char *ip,
    uint16_t port)
{
	const struct sockaddr_in	*sin = (const void *)&a->ca_ss;
	const struct sockaddr_in6	*sin6 = (const void *)&a->ca_ss;
	char				 buf[INET6_ADDRSTRLEN];

	assert_int_equal(a->ca_ss.ss_family, family);
	if (family == AF_INET) {
		assert_int_equal(a->ca_sslen, sizeof(*sin));
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin->sin_port), port);
	} else {
		assert_int_equal(a->ca_sslen, sizeof(*sin6));
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
		assert_int_equal(ntohs(sin6->sin6_port), port);
	}
	assert_string_equal(buf, ip);
}

static void
test_conf_addr_listen_forms(void **state)
{
	static const struct {
		const char		*in;
		enum conf_addr_kind	 kind;
		int			 family;
		const char		*ip;
		uint16_t		 port;
	} cases[] = {
		{ "127.0.0.1:8080", CONF_ADDR_IP, AF_INET, "127.0.0.1", 8080 },
		{ "0.0.0.0:0", CONF_ADDR_IP, AF_INET, "0.0.0.0", 0 },
		{ "[::1]:8443", CONF_ADDR_IP, AF_INET6, "::1", 8443 },
		{ "[::]:80", CONF_ADDR_IP, AF_INET6, "::", 80 },
		{ "*:8080", CONF_ADDR_ANY, AF_INET6, "::", 8080 },
		{ "localhost:9901", CONF_ADDR_IP, AF_INET, "127.0.0.1", 9901 },
		{ "10.1.2.3:65535", CONF_ADDR_IP, AF_INET, "10.1.2.3", 65535 },
	};
	struct conf_addr	a;
	char			why[128];
	size_t			i;

	for (i = 0; i < NITEMS(cases); i++) {
		memset(&a, 0, sizeof(a));
		assert_int_equal(conf_addr_parse(*state, cases[i].in,
		    CONF_ADDR_LISTEN, &a, why, sizeof(why)), 0);
		assert_int_equal(a.ca_kind, cases[i].kind);
		assert_string_equal(a.ca_text, cases[i].in);
		assert_int_equal(a.ca_port, cases[i].port);
		assert_sockaddr(&a, cases[i].family, cases[i].ip,
		    cases[i].port);
	}
}

static void
test_conf_addr_server_forms(void **state)
{
	struct conf_addr		 a;
	const struct sockaddr_un	*sun = (const void *)&a.ca_ss;
	char				 why[128];

	memset(&a, 0, sizeof(a));
	assert_int_equal(conf_addr_parse(*state, "app.example:80",
	    CONF_ADDR_SERVER, &a, why, sizeof(why)), 0);
	assert_int_equal(a.ca_kind, CONF_ADDR_NAME);
	assert_string_equal(a.ca_host, "app.example");
	assert_int_equal(a.ca_port, 80);
	assert_int_equal(a.ca_sslen, 0);

	assert_int_equal(conf_addr_parse(*state, "unix:/run/app.sock",
	    CONF_ADDR_SERVER, &a, why, sizeof(why)), 0);
	assert_int_equal(a.ca_kind, CONF_ADDR_UNIX);
	assert_string_equal(a.ca_host, "/run/app.sock");
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/app.sock");
	assert_int_equal(a.ca_sslen, offsetof(struct sockaddr_un, sun_path) +
	    sizeof("/run/app.sock"));

	assert_int_equal(conf_addr_parse(*state, "vsock:/run/vm:7.sock:8080",
	    CONF_ADDR_SERVER, &a, why, sizeof(why)), 0);
	assert_int_equal(a.ca_kind, CONF_ADDR_VSOCK);
	assert_string_equal(a.ca_host, "/run/vm:7.sock");
	assert_string_equal(sun->sun_path, "/run/vm:7.sock");
	assert_int_equal(a.ca_port, 8080);

	assert_int_equal(conf_addr_parse(*state, "[2001:db8::1]:443",
	    CONF_ADDR_SERVER, &a, why, sizeof(why)), 0);
	assert_sockaddr(&a, AF_INET6, "2001:db8::1", 443);
	assert_string_equal(a.ca_host, "2001:db8::1");
}

static void
test_conf_addr_rejects_with_reason(void **state)
{
	static const struct {
		const char	*in;
		unsigned	 flags;
		const char	*why;
	} cases[] = {
		{ "8080", CONF_ADDR_LISTEN, "HOST:PORT such as 127.0.0.1:8080, "
		    "[::1]:8080 or *:8080" },
		{ ":8080", CONF_ADDR_LISTEN, "HOST:PORT such as "
		    "127.0.0.1:8080, [::1]:8080 or *:8080" },
		{ "1.2.3.4:", CONF_ADDR_LISTEN, "HOST:PORT with a port from 0 "
		    "to 65535" },
		{ "1.2.3.4:-1", CONF_ADDR_LISTEN, "HOST:PORT with a port from "
		    "0 to 65535" },
		{ "1.2.3.4:0", CONF_ADDR_SERVER, "HOST:PORT with a port from 1 "
		    "to 65535" },
		{ "::1:80", CONF_ADDR_LISTEN, "an IPv6 address in brackets, "
		    "such as [::1]:8080" },
		{ "[::1]80", CONF_ADDR_LISTEN, "HOST:PORT such as "
		    "127.0.0.1:8080, [::1]:8080 or *:8080" },
		{ "[1.2.3.4]:80", CONF_ADDR_LISTEN, "a valid IPv6 address in "
		    "brackets" },
		{ "host.example:80", CONF_ADDR_LISTEN, "an IP address, * or "
		    "localhost before the port (names are not resolved)" },
		{ "*:80", CONF_ADDR_SERVER, "HOST:PORT, unix:PATH or "
		    "vsock:PATH:PORT" },
		{ "bad_host:80", CONF_ADDR_SERVER, "HOST:PORT, unix:PATH or "
		    "vsock:PATH:PORT" },
		{ "-host:80", CONF_ADDR_SERVER, "HOST:PORT, unix:PATH or "
		    "vsock:PATH:PORT" },
		{ "unix:/x", CONF_ADDR_LISTEN, "HOST:PORT (a listener takes no "
		    "unix: or vsock: address)" },
		{ "vsock:/x:1", CONF_ADDR_LISTEN, "HOST:PORT (a listener takes "
		    "no unix: or vsock: address)" },
		{ "unix:", CONF_ADDR_SERVER, "a socket path of 1 to 107 "
		    "bytes" },
		{ "vsock:/x", CONF_ADDR_SERVER, "vsock:PATH:PORT with a guest "
		    "port from 1 to 4294967294" },
		{ "vsock::80", CONF_ADDR_SERVER, "a socket path of 1 to 107 "
		    "bytes" },
		{ "vsock:/x:4294967295", CONF_ADDR_SERVER, "vsock:PATH:PORT "
		    "with a guest port from 1 to 4294967294" },
	};
	struct conf_addr	a;
	char			why[128], longpath[200];
	size_t			i;

	for (i = 0; i < NITEMS(cases); i++) {
		memset(&a, 0x5a, sizeof(a));
		assert_int_equal(conf_addr_parse(*state, cases[i].in,
		    cases[i].flags, &a, why, sizeof(why)), -1);
		assert_string_equal(why, cases[i].why);
		assert_int_equal(a.ca_port, 0x5a5a5a5a);   /* untouched */
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	memcpy(longpath, "unix:/", 6);
	assert_int_equal(conf_addr_parse(*state, longpath, CONF_ADDR_SERVER,
	    &a, why, sizeof(why)), -1);
	/* 107 bytes of path fit sun_path with its NUL. */
	longpath[5 + 107] = '\0';
	assert_int_equal(conf_addr_parse(*state, longpath, CONF_ADDR_SERVER,
	    &a, why, sizeof(why)), 0);
	longpath[5 + 107] = 'a';
	longpath[5 + 108] = '\0';
	assert_int_equal(conf_addr_parse(*state, longpath, CONF_ADDR_SERVER,
	    &a, why, sizeof(why)), -1);
}

static void
test_conf_addr_cidr(void **state)
{
	static const struct {
		const char	*in;
		int		 family;
		unsigned	 prefix;
		uint8_t		 first, last;	/* cc_addr[0], [len - 1] */
	} good[] = {
		{ "10.0.0.0/8", AF_INET, 8, 10, 0 },
		{ "192.168.1.7", AF_INET, 32, 192, 7 },
		{ "0.0.0.0/0", AF_INET, 0, 0, 0 },
		{ "::1", AF_INET6, 128, 0, 1 },
		{ "fd00::/8", AF_INET6, 8, 0xfd, 0 },
		{ "::/0", AF_INET6, 0, 0, 0 },
	};
	static const struct {
		const char	*in;
		const char	*why;
	} bad[] = {
		{ "10.0.0.1/8", "a network with no bits set past the prefix, "
		    "such as 10.0.0.0/8" },
		{ "fd00::1/64", "a network with no bits set past the prefix, "
		    "such as fd00::/64" },
		{ "10.0.0.0/33", "a prefix length from 0 to 32 after the /" },
		{ "::/129", "a prefix length from 0 to 128 after the /" },
		{ "10.0.0.0/", "a prefix length from 0 to 32 after the /" },
		{ "10.0.0.0/x", "a prefix length from 0 to 32 after the /" },
		{ "10.0.0/8", "an IP address or network such as 10.0.0.0/8 or "
		    "fd00::/8" },
		{ "/8", "an IP address or network such as 10.0.0.0/8 or "
		    "fd00::/8" },
		{ "localhost", "an IP address or network such as 10.0.0.0/8 or "
		    "fd00::/8" },
	};
	struct conf_cidr	c;
	char			why[128];
	size_t			i;

	(void)state;
	for (i = 0; i < NITEMS(good); i++) {
		assert_int_equal(conf_addr_parse_cidr(good[i].in, &c, why,
		    sizeof(why)), 0);
		assert_int_equal(c.cc_family, good[i].family);
		assert_int_equal(c.cc_prefix, good[i].prefix);
		assert_int_equal(c.cc_addr[0], good[i].first);
		assert_int_equal(c.cc_addr[good[i].family == AF_INET ? 3 : 15],
		    good[i].last);
	}
	for (i = 0; i < NITEMS(bad); i++) {
		assert_int_equal(conf_addr_parse_cidr(bad[i].in, &c, why,
		    sizeof(why)), -1);
		assert_string_equal(why, bad[i].why);
	}
}

static void
test_conf_addr_overlap(void **state)
{
	static const struct {
		const char	*a, *b;
		bool		 overlap;
	} cases[] = {
		{ "127.0.0.1:80", "127.0.0.1:80", true },
		{ "127.0.0.1:80", "127.0.0.2:80", false },
		{ "127.0.0.1:80", "127.0.0.1:81", false },
		{ "127.0.0.1:0", "127.0.0.1:0", false },
		{ "*:80", "127.0.0.1:80", true },
		{ "0.0.0.0:80", "127.0.0.1:80", true },
		{ "[::]:80", "10.0.0.1:80", true },
		{ "[::1]:80", "127.0.0.1:80", false },
		{ "[::1]:80", "[::1]:80", true },
		{ "localhost:80", "127.0.0.1:80", true },
	};
	struct conf_addr	a, b;
	char			why[128];
	size_t			i;

	for (i = 0; i < NITEMS(cases); i++) {
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		assert_int_equal(conf_addr_parse(*state, cases[i].a,
		    CONF_ADDR_LISTEN, &a, why, sizeof(why)), 0);
		assert_int_equal(conf_addr_parse(*state, cases[i].b,
		    CONF_ADDR_LISTEN, &b, why, sizeof(why)), 0);
		assert_int_equal(conf_addr_overlap(&a, &b), cases[i].overlap);
		assert_int_equal(conf_addr_overlap(&b, &a), cases[i].overlap);
	}
}

static void
test_conf_walk_helpers(void **state)
{
	static const char *const names[] = {
		"size", "memory", "kernel", "round_robin", NULL };
	static const struct {
		uint64_t	 ms;
		const char	*text;
	} durations[] = {
		{ 0, "0ms" }, { 1, "1ms" }, { 1500, "1500ms" }, { 2000, "2s" },
		{ 90000, "90s" }, { 300000, "5m" }, { 7200000, "2h" },
		{ 86400000, "1d" },
	};
	char		buf[32];
	uint64_t	v;
	size_t		i;

	(void)state;
	assert_string_equal(conf_walk_suggest("sise", names), "size");
	assert_string_equal(conf_walk_suggest("memroy", names), "memory");
	assert_string_equal(conf_walk_suggest("round-robin", names),
	    "round_robin");
	assert_null(conf_walk_suggest("colour", names));
	assert_null(conf_walk_suggest("si", names));	/* too short */
	for (i = 0; i < NITEMS(durations); i++)
		assert_string_equal(conf_walk_duration_str(durations[i].ms,
		    buf, sizeof(buf)), durations[i].text);
	assert_int_equal(conf_walk_number("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(conf_walk_number("18446744073709551616", &v), -1);
	assert_int_equal(conf_walk_number("", &v), -1);
	assert_int_equal(conf_walk_number("+1", &v), -1);
	assert_int_equal(conf_walk_number("1 ", &v), -1);
	assert_int_equal(v, 7);
}

static void
test_conf_arena_zeroed_and_aligned(void **state)
{
	unsigned char	*p, *big;
	size_t		 i;

	for (i = 1; i < 200; i++) {
		p = conf_arena_alloc(*state, i);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal(p[i - 1], 0);
		memset(p, 0xff, i);
	}
	big = conf_arena_alloc(*state, 1 << 20);
	assert_non_null(big);
	assert_int_equal(big[(1 << 20) - 1], 0);
	p = conf_arena_alloc(*state, 8);
	assert_non_null(p);
	assert_int_equal(p[7], 0);
	assert_null(conf_arena_calloc(*state, SIZE_MAX / 2, 4));
	assert_string_equal(conf_arena_strdup(*state, "abc"), "abc");
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_conf_addr_listen_forms,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_conf_addr_server_forms,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_conf_addr_rejects_with_reason, setup, teardown),
		cmocka_unit_test(test_conf_addr_cidr),
		cmocka_unit_test_setup_teardown(test_conf_addr_overlap, setup,
		    teardown),
		cmocka_unit_test(test_conf_walk_helpers),
		cmocka_unit_test_setup_teardown(
		    test_conf_arena_zeroed_and_aligned, setup, teardown),
	};

	return cmocka_run_group_tests_name("conf_addr", tests, NULL, NULL);
}
