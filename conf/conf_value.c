/*
 * conf/conf_value.c: the values of corral's configuration that are more
 * than a number, size, duration, boolean or word: addresses, networks,
 * host patterns, URL paths, names, header names, "auto", "off", "stderr".
 * Each parser has the fd_parse shape of conf_priv.h: it checks one node,
 * reports what is wrong in the "expected ..., got ..." form, and writes
 * its result (copied into the struct conf's arena) only when it is right.
 * The schema tables in conf_schema.c name them; the loading thread runs
 * them.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf_priv.h"

/* Longest listener or pool name. */
#define CONF_VALUE_NAME_MAX	64
#define CONF_VALUE_WORKERS_MAX	256

int
conf_value_workers(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*what = "auto or a whole number from 1 to 256";
	const char	*s;
	uint64_t	 v;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	if (strcmp(s, "auto") == 0)
		v = 0;
	else if (conf_walk_number(s, &v) == -1 && errno == EINVAL) {
		conf_walk_expected(w, n, path, what);
		return -1;
	} else if (errno == ERANGE || v < 1 || v > CONF_VALUE_WORKERS_MAX) {
		conf_walk_error(w, n, path, "expected %s, got %s", what, s);
		return -1;
	}
	*(unsigned *)dst = (unsigned)v;
	return 0;
}

int
conf_value_access(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_log	*lg = dst;
	const char	*s;

	if ((s = conf_walk_scalar(w, n, path, "off, stderr or a path")) ==
	    NULL)
		return -1;
	memset(&lg->lg_access_file, 0, sizeof(lg->lg_access_file));
	if (strcmp(s, "off") == 0)
		lg->lg_access = CONF_ACCESS_OFF;
	else if (strcmp(s, "stderr") == 0)
		lg->lg_access = CONF_ACCESS_STDERR;
	else {
		lg->lg_access = CONF_ACCESS_FILE;
		lg->lg_access_file.cf_path = conf_walk_strdup(w, s);
		lg->lg_access_file.cf_pos = n->nd_pos;
		lg->lg_access_file.cf_key = conf_walk_strdup(w, path);
	}
	return 0;
}

int
conf_value_admin_listen(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_admin	*ad = dst;

	if (n->nd_kind == CONF_NODE_SCALAR && !n->nd_null &&
	    strcmp(n->nd_text, "off") == 0) {
		ad->ad_enabled = false;
		return 0;
	}
	if (conf_value_listen(w, n, &ad->ad_listen, path) == -1)
		return -1;
	ad->ad_enabled = true;
	return 0;
}

int
conf_value_listen(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_addr	*a = dst;
	const char		*s;
	char			 why[128];

	if ((s = conf_walk_scalar(w, n, path, "HOST:PORT such as "
	    "127.0.0.1:8080")) == NULL)
		return -1;
	a->ca_pos = n->nd_pos;
	if (conf_addr_parse(w->wk_conf->c_arena, s, CONF_ADDR_LISTEN, a,
	    why, sizeof(why)) == -1) {
		conf_walk_expected(w, n, path, why);
		return -1;
	}
	return 0;
}

int
conf_value_address(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	struct conf_addr	*a = dst;
	const char		*s;
	char			 why[128];

	if ((s = conf_walk_scalar(w, n, path, "HOST:PORT, unix:PATH or "
	    "vsock:PATH:PORT")) == NULL)
		return -1;
	a->ca_pos = n->nd_pos;
	if (conf_addr_parse(w->wk_conf->c_arena, s, CONF_ADDR_SERVER, a,
	    why, sizeof(why)) == -1) {
		conf_walk_expected(w, n, path, why);
		return -1;
	}
	return 0;
}


int
conf_value_redirect(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char		*what = "a port or an https:// URL";
	struct conf_redirect	*rd;
	const char		*s;
	uint64_t		 port;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	if ((rd = conf_arena_alloc(w->wk_conf->c_arena, sizeof(*rd))) ==
	    NULL) {
		w->wk_nomem = true;
		return -1;
	}
	if (conf_walk_number(s, &port) == 0 && port >= 1 && port <= 65535)
		rd->rd_port = (unsigned)port;
	else if (strncmp(s, "https://", 8) == 0 && s[8] != '\0' &&
	    strpbrk(s, " \t\r\n") == NULL)
		rd->rd_url = conf_walk_strdup(w, s);
	else {
		conf_walk_expected(w, n, path, what);
		return -1;
	}
	*(struct conf_redirect **)dst = rd;
	return 0;
}

int
conf_value_cidr(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*s;
	char		 why[128];

	if ((s = conf_walk_scalar(w, n, path, "an IP address or network")) ==
	    NULL)
		return -1;
	if (conf_addr_parse_cidr(s, dst, why, sizeof(why)) == -1) {
		conf_walk_expected(w, n, path, why);
		return -1;
	}
	return 0;
}

/* "*", "*.example.com" or "www.example.com", kept in lowercase. */

int
conf_value_host(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char		*what = "a host name, \"*.domain\" or \"*\"";
	struct conf_match	*m = dst;
	const char		*s, *name;
	char			*low;
	size_t			 i;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	if (strcmp(s, "*") == 0) {
		m->ma_kind = CONF_HOST_ANY;
		m->ma_host = NULL;
		return 0;
	}
	name = strncmp(s, "*.", 2) == 0 ? s + 2 : s;
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '.')
			break;
	if (name[0] == '\0' || name[0] == '.' || name[i] != '\0' || i > 253) {
		conf_walk_expected(w, n, path, what);
		return -1;
	}
	m->ma_kind = name == s ? CONF_HOST_EXACT : CONF_HOST_SUFFIX;
	/* The suffix keeps its dot: ".example.com" never matches itself. */
	low = (char *)conf_walk_strdup(w, name == s ? s : s + 1);
	for (i = 0; low[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	m->ma_host = low;
	return 0;
}

/* A URL path: "/" then visible characters. */

int
conf_value_path(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*what = "a path starting with /";
	const char	*s;
	size_t		 i;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			break;
	if (s[0] != '/' || s[i] != '\0') {
		conf_walk_expected(w, n, path, what);
		return -1;
	}
	*(const char **)dst = conf_walk_strdup(w, s);
	return 0;
}

/* Names show up in logs, metrics and file names: keep them plain. */

int
conf_value_name(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*what = "a name of letters, digits, \".\", \"_\" and "
			    "\"-\"";
	const char	*s;
	size_t		 i;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			break;
	if (s[i] != '\0' || i > CONF_VALUE_NAME_MAX) {
		conf_walk_expected(w, n, path, what);
		return -1;
	}
	*(const char **)dst = conf_walk_strdup(w, s);
	return 0;
}

/* An HTTP field name: a token (RFC 9110 §5.1). */

int
conf_value_header(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*what = "a header name";
	const char	*s;
	size_t		 i;

	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return -1;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("!#$%&'*+-.^_`|~", s[i]) == NULL)
			break;
	if (s[i] != '\0') {
		conf_walk_expected(w, n, path, what);
		return -1;
	}
	*(const char **)dst = conf_walk_strdup(w, s);
	return 0;
}

int
conf_value_transport(struct conf_walk *w, const struct conf_node *n,
    void *dst, const char *path)
{
	const char	*s;

	if ((s = conf_walk_scalar(w, n, path, "vsock or tap")) == NULL)
		return -1;
	if (strcmp(s, "vsock") == 0) {
		*(enum conf_transport *)dst = CONF_TRANSPORT_VSOCK;
		return 0;
	}
	if (strcmp(s, "tap") == 0)
		conf_walk_error(w, n, path, "transport \"tap\" is not "
		    "supported yet");
	else
		conf_walk_expected(w, n, path, "vsock or tap");
	return -1;
}
