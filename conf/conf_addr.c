/*
 * conf/conf_addr.c: socket addresses and networks as written in the
 * configuration.
 *
 *	listen:  127.0.0.1:8080  [::1]:8080  *:8080  localhost:0
 *	servers: host.example:80  unix:/run/app.sock  vsock:/run/vm.sock:8080
 *	trusted_proxies: 10.0.0.0/8  ::1  fd00::/8
 *
 * Nothing is resolved here (no DNS at load time): a listener takes only
 * numeric addresses, "*" and "localhost" (127.0.0.1); a server may be a
 * name, left for whoever connects.  Numeric and socket-path forms come
 * out as a ready sockaddr.  The messages fit "expected <why>, got ...".
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_priv.h"

#define CONF_ADDR_HOST_MAX	253	/* RFC 1035 §2.3.4, dotted */

static int	conf_addr_socket(const char *, struct conf_addr *,
		    char [CONF_ADDR_HOST_MAX + 1], char *, size_t);
static int	conf_addr_hostport(const char *, bool, struct conf_addr *,
		    char [CONF_ADDR_HOST_MAX + 1], char *, size_t);
static int	conf_addr_port(const char *, uint64_t, uint64_t, uint32_t *);
static bool	conf_addr_hostname(const char *);
static int	conf_addr_unix(const char *, struct conf_addr *);
static bool	conf_addr_wildcard(const struct conf_addr *);

int
conf_addr_parse(struct conf_arena *ar, const char *s, unsigned flags,
    struct conf_addr *out, char *why, size_t whylen)
{
	struct conf_addr	 a;
	char			 host[CONF_ADDR_HOST_MAX + 1];
	bool			 listen = (flags & CONF_ADDR_LISTEN) != 0;
	bool			 sock;

	memset(&a, 0, sizeof(a));
	a.ca_pos = out->ca_pos;
	sock = strncmp(s, "unix:", 5) == 0 || strncmp(s, "vsock:", 6) == 0;
	if (sock && listen) {
		snprintf(why, whylen, "HOST:PORT (a listener takes no unix: "
		    "or vsock: address)");
		return -1;
	}
	if (sock && conf_addr_socket(s, &a, host, why, whylen) == -1)
		return -1;
	if (!sock && conf_addr_hostport(s, listen, &a, host, why, whylen) ==
	    -1)
		return -1;
	if ((a.ca_host = conf_arena_strdup(ar, host)) == NULL ||
	    (a.ca_text = conf_arena_strdup(ar, s)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	*out = a;
	return 0;
}

/* "unix:PATH" or "vsock:PATH:PORT" into <a>, the path into <host>. */
static int
conf_addr_socket(const char *s, struct conf_addr *a,
    char host[CONF_ADDR_HOST_MAX + 1], char *why, size_t whylen)
{
	const char	*path, *colon;

	if (strncmp(s, "unix:", 5) == 0) {
		a->ca_kind = CONF_ADDR_UNIX;
		path = s + 5;
		colon = path + strlen(path);
	} else {
		a->ca_kind = CONF_ADDR_VSOCK;
		path = s + 6;
		if ((colon = strrchr(path, ':')) == NULL ||
		    conf_addr_port(colon + 1, 1, UINT32_MAX - 1,
		    &a->ca_port) == -1) {
			snprintf(why, whylen, "vsock:PATH:PORT with a guest "
			    "port from 1 to %u", UINT32_MAX - 1);
			return -1;
		}
	}
	if ((size_t)(colon - path) > CONF_ADDR_HOST_MAX)
		goto bad;
	memcpy(host, path, (size_t)(colon - path));
	host[colon - path] = '\0';
	if (conf_addr_unix(host, a) == -1)
		goto bad;
	return 0;
bad:
	snprintf(why, whylen, "a socket path of 1 to %zu bytes",
	    sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
	return -1;
}

/*
 * "HOST:PORT" with IPv6 in brackets into <a>, the host into <host>: a
 * numeric address, "localhost" (127.0.0.1), and for a listener "*", or
 * for a server a name.
 */
static int
conf_addr_hostport(const char *s, bool listen, struct conf_addr *a,
    char host[CONF_ADDR_HOST_MAX + 1], char *why, size_t whylen)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&a->ca_ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&a->ca_ss;
	const char		*colon, *end;
	bool			 bracket = s[0] == '[';
	size_t			 hlen;

	if (bracket) {
		if ((end = strchr(s, ']')) == NULL || end[1] != ':')
			goto syntax;
		colon = end + 1;
		s++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			goto syntax;
		end = colon;
		if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
			snprintf(why, whylen, "an IPv6 address in brackets, "
			    "such as [::1]:8080");
			return -1;
		}
	}
	if ((hlen = (size_t)(end - s)) == 0 || hlen > CONF_ADDR_HOST_MAX)
		goto syntax;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (conf_addr_port(colon + 1, listen ? 0 : 1, 65535, &a->ca_port) ==
	    -1) {
		snprintf(why, whylen, "HOST:PORT with a port from %d to 65535",
		    listen ? 0 : 1);
		return -1;
	}

	a->ca_kind = CONF_ADDR_IP;
	if (bracket) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(why, whylen, "a valid IPv6 address in "
			    "brackets");
			return -1;
		}
	} else if (listen && strcmp(host, "*") == 0) {
		a->ca_kind = CONF_ADDR_ANY;
		sin6->sin6_addr = in6addr_any;
	} else if (strcmp(host, "localhost") == 0) {
		/* Never resolved: /etc/hosts may say ::1 as well. */
		snprintf(host, CONF_ADDR_HOST_MAX + 1, "127.0.0.1");
		inet_pton(AF_INET, host, &sin->sin_addr);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		/* Numeric IPv4. */
	} else if (!listen && conf_addr_hostname(host)) {
		a->ca_kind = CONF_ADDR_NAME;
		return 0;
	} else if (listen) {
		snprintf(why, whylen, "an IP address, * or localhost before "
		    "the port (names are not resolved)");
		return -1;
	} else
		goto syntax;

	if (a->ca_kind == CONF_ADDR_IP && !bracket) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)a->ca_port);
		a->ca_sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)a->ca_port);
		a->ca_sslen = sizeof(*sin6);
	}
	return 0;
syntax:
	snprintf(why, whylen, listen ? "HOST:PORT such as 127.0.0.1:8080, "
	    "[::1]:8080 or *:8080" : "HOST:PORT, unix:PATH or "
	    "vsock:PATH:PORT");
	return -1;
}

/* Fills <a>'s sockaddr_un with <path>. */
static int
conf_addr_unix(const char *path, struct conf_addr *a)
{
	struct sockaddr_un	*sun = (struct sockaddr_un *)&a->ca_ss;
	size_t			 len = strlen(path);

	if (len == 0 || len >= sizeof(sun->sun_path))
		return -1;
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	a->ca_sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len + 1);
	return 0;
}

static int
conf_addr_port(const char *s, uint64_t min, uint64_t max, uint32_t *out)
{
	uint64_t	v;

	if (conf_walk_number(s, &v) == -1 || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Letters, digits, hyphens and dots, as RFC 1123 host names are. */
static bool
conf_addr_hostname(const char *s)
{
	size_t	i;

	if (s[0] == '\0' || s[0] == '.' || s[0] == '-' ||
	    strlen(s) > CONF_ADDR_HOST_MAX)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return false;
	return true;
}

int
conf_addr_parse_cidr(const char *s, struct conf_cidr *out, char *why,
    size_t whylen)
{
	struct conf_cidr	 c;
	const char		*slash;
	char			 host[INET6_ADDRSTRLEN], net[INET6_ADDRSTRLEN];
	uint64_t		 prefix;
	unsigned		 bits, i;
	size_t			 len;

	memset(&c, 0, sizeof(c));
	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(host))
		goto syntax;
	memcpy(host, s, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, c.cc_addr) == 1) {
		c.cc_family = AF_INET;
		bits = 32;
	} else if (inet_pton(AF_INET6, host, c.cc_addr) == 1) {
		c.cc_family = AF_INET6;
		bits = 128;
	} else
		goto syntax;
	prefix = bits;
	if (slash != NULL && (conf_walk_number(slash + 1, &prefix) == -1 ||
	    prefix > bits)) {
		snprintf(why, whylen, "a prefix length from 0 to %u after "
		    "the /", bits);
		return -1;
	}
	c.cc_prefix = (unsigned)prefix;
	for (i = c.cc_prefix; i < bits; i++) {
		if ((c.cc_addr[i / 8] & (0x80u >> (i % 8))) == 0)
			continue;
		/* Say what was probably meant. */
		for (; i < bits; i++)
			c.cc_addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
		inet_ntop(c.cc_family, c.cc_addr, net, sizeof(net));
		snprintf(why, whylen, "a network with no bits set past the "
		    "prefix, such as %s/%u", net, c.cc_prefix);
		return -1;
	}
	*out = c;
	return 0;
syntax:
	snprintf(why, whylen, "an IP address or network such as 10.0.0.0/8 "
	    "or fd00::/8");
	return -1;
}

static bool
conf_addr_wildcard(const struct conf_addr *a)
{
	const struct sockaddr_in	*sin = (const void *)&a->ca_ss;
	const struct sockaddr_in6	*sin6 = (const void *)&a->ca_ss;

	if (a->ca_kind == CONF_ADDR_ANY)
		return true;
	if (a->ca_ss.ss_family == AF_INET)
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

bool
conf_addr_overlap(const struct conf_addr *a, const struct conf_addr *b)
{
	const struct sockaddr_in	*a4 = (const void *)&a->ca_ss;
	const struct sockaddr_in	*b4 = (const void *)&b->ca_ss;
	const struct sockaddr_in6	*a6 = (const void *)&a->ca_ss;
	const struct sockaddr_in6	*b6 = (const void *)&b->ca_ss;

	if ((a->ca_kind != CONF_ADDR_IP && a->ca_kind != CONF_ADDR_ANY) ||
	    (b->ca_kind != CONF_ADDR_IP && b->ca_kind != CONF_ADDR_ANY))
		return false;
	/* Port 0 asks the kernel for a free port each time. */
	if (a->ca_port == 0 || a->ca_port != b->ca_port)
		return false;
	if (conf_addr_wildcard(a) || conf_addr_wildcard(b))
		return true;
	if (a->ca_ss.ss_family != b->ca_ss.ss_family)
		return false;
	if (a->ca_ss.ss_family == AF_INET)
		return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return memcmp(&a6->sin6_addr, &b6->sin6_addr,
	    sizeof(a6->sin6_addr)) == 0;
}
