/*
 * conf/conf_check.c: the rules that span several entries of the file,
 * checked once the walk has filled the struct conf: unique names,
 * listen addresses that do not collide, routes that name pools and
 * listeners that exist (resolving them to pointers), pools no route uses
 * (a warning); and, separately, whether the files the configuration names
 * can be read.
 *
 * Entries that failed to parse have NULL names or unset addresses and are
 * skipped here, their error already reported; a name not found is not
 * reported either when the list it would be in had an error, since the
 * missing name may be the one that failed.  Messages point at the
 * value concerned, found again in the node tree, which lives until the
 * load ends.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_priv.h"

static const struct conf_node	*conf_check_node(const struct conf_node *,
				    const char *, size_t, const char *);
static const struct conf_node	*conf_check_item(const struct conf_node *,
				    size_t);
static const struct conf_node	*conf_check_value(const struct conf_node *,
				    const char *);
static void	conf_check_names(struct conf_walk *, const struct conf_node *,
		    const char *, const char *const *, size_t);
static void	conf_check_listen(struct conf_walk *,
		    const struct conf_node *);
static void	conf_check_routes(struct conf_walk *,
		    const struct conf_node *);
static void	conf_check_route_listeners(struct conf_walk *,
		    const struct conf_node *, struct conf_route *, size_t);
static void	conf_check_unused(struct conf_walk *,
		    const struct conf_node *);
static bool	conf_check_complete(const struct conf_node *, const char *,
		    size_t, const char *const *);
static int	conf_check_file(const struct conf_file *,
		    struct conf_errors *);

void
conf_check_refs(struct conf_walk *w, const struct conf_node *root)
{
	struct conf	*c = w->wk_conf;
	const char	**names;
	size_t		 i, n;

	n = c->c_nlisteners > c->c_npools ? c->c_nlisteners : c->c_npools;
	if ((names = calloc(n + 1, sizeof(*names))) == NULL) {
		w->wk_nomem = true;
		return;
	}
	for (i = 0; i < c->c_nlisteners; i++)
		names[i] = c->c_listeners[i].li_name;
	conf_check_names(w, root, "listeners", names, c->c_nlisteners);
	w->wk_listeners_ok = conf_check_complete(root, "listeners",
	    c->c_nlisteners, names);
	for (i = 0; i < c->c_npools; i++)
		names[i] = c->c_pools[i].pl_name;
	conf_check_names(w, root, "pools", names, c->c_npools);
	w->wk_pools_ok = conf_check_complete(root, "pools", c->c_npools,
	    names);
	free(names);

	conf_check_listen(w, root);
	conf_check_routes(w, root);
	conf_check_unused(w, root);
}

/*
 * Whether every entry of top-level <list> was read with its name, so that
 * a name not among <names> is really not there.
 */
static bool
conf_check_complete(const struct conf_node *root, const char *list,
    size_t n, const char *const *names)
{
	const struct conf_node	*k;
	size_t			 i;

	if ((k = conf_yaml_get(root, list)) == NULL ||
	    k->nd_value->nd_kind != CONF_NODE_LIST ||
	    k->nd_value->nd_count != n)
		return false;
	for (i = 0; i < n; i++)
		if (names[i] == NULL)
			return false;
	return true;
}

/* Names in <list> must differ: each repeat is reported at its value. */
static void
conf_check_names(struct conf_walk *w, const struct conf_node *root,
    const char *list, const char *const *names, size_t n)
{
	const struct conf_node	*first;
	char			 path[CONF_PATH_MAX];
	size_t			 i, j;

	for (i = 0; i < n; i++) {
		if (names[i] == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (names[j] != NULL && strcmp(names[i], names[j]) == 0)
				break;
		if (j == i)
			continue;
		first = conf_check_node(root, list, j, "name");
		snprintf(path, sizeof(path), "%s[%zu].name", list, i);
		conf_walk_error(w, conf_check_node(root, list, i, "name"),
		    path, "\"%s\" is already the name of %s[%zu] (line %u)",
		    names[i], list, j, first != NULL ? first->nd_pos.cp_line :
		    0);
	}
}

/* Listeners and the admin listener must not bind the same socket. */
static void
conf_check_listen(struct conf_walk *w, const struct conf_node *root)
{
	const struct conf	*c = w->wk_conf;
	const struct conf_addr	*a, *b;
	const struct conf_node	*n;
	char			 path[CONF_PATH_MAX];
	size_t			 i, j;

	for (i = 0; i <= c->c_nlisteners; i++) {
		if (i < c->c_nlisteners) {
			a = &c->c_listeners[i].li_listen;
			n = conf_check_node(root, "listeners", i, "listen");
			snprintf(path, sizeof(path), "listeners[%zu].listen",
			    i);
		} else if (c->c_admin.ad_enabled) {
			a = &c->c_admin.ad_listen;
			n = conf_check_value(conf_check_value(root, "admin"),
			    "listen");
			snprintf(path, sizeof(path), "admin.listen");
		} else
			break;
		if (a->ca_text == NULL)
			continue;
		for (j = 0; j < i && j < c->c_nlisteners; j++) {
			b = &c->c_listeners[j].li_listen;
			if (b->ca_text == NULL || !conf_addr_overlap(a, b))
				continue;
			conf_walk_error(w, n, path, "\"%s\" collides with "
			    "listeners[%zu].listen \"%s\" (line %u)",
			    a->ca_text, j, b->ca_text, b->ca_pos.cp_line);
			break;
		}
	}
}

static void
conf_check_routes(struct conf_walk *w, const struct conf_node *root)
{
	struct conf		*c = w->wk_conf;
	struct conf_route	*r;
	const char		**names, *best;
	char			 path[CONF_PATH_MAX];
	size_t			 i;

	if ((names = calloc(c->c_npools + 1, sizeof(*names))) == NULL) {
		w->wk_nomem = true;
		return;
	}
	for (i = 0; i < c->c_npools; i++)
		names[i] = c->c_pools[i].pl_name != NULL ?
		    c->c_pools[i].pl_name : "";
	for (i = 0; i < c->c_nroutes; i++) {
		r = &c->c_routes[i];
		conf_check_route_listeners(w, root, r, i);
		if (r->ro_pool_name == NULL)
			continue;
		if ((r->ro_pool = conf_pool_find(c, r->ro_pool_name)) != NULL ||
		    !w->wk_pools_ok)
			continue;
		snprintf(path, sizeof(path), "routes[%zu].pool", i);
		if ((best = conf_walk_suggest(r->ro_pool_name, names)) != NULL)
			conf_walk_error(w, conf_check_node(root, "routes", i,
			    "pool"), path, "no pool named \"%s\" (did you mean "
			    "\"%s\"?)", r->ro_pool_name, best);
		else
			conf_walk_error(w, conf_check_node(root, "routes", i,
			    "pool"), path, "no pool named \"%s\"",
			    r->ro_pool_name);
	}
	free(names);
}

static void
conf_check_route_listeners(struct conf_walk *w, const struct conf_node *root,
    struct conf_route *r, size_t ri)
{
	const struct conf_node	*list;
	char			 path[CONF_PATH_MAX];
	size_t			 i;

	if (r->ro_nlisteners == 0)
		return;
	r->ro_listeners = conf_arena_calloc(w->wk_conf->c_arena,
	    r->ro_nlisteners, sizeof(*r->ro_listeners));
	if (r->ro_listeners == NULL) {
		w->wk_nomem = true;
		return;
	}
	list = conf_check_node(root, "routes", ri, "listeners");
	for (i = 0; i < r->ro_nlisteners; i++) {
		if (r->ro_listener_names[i] == NULL)
			continue;
		r->ro_listeners[i] = conf_listener_find(w->wk_conf,
		    r->ro_listener_names[i]);
		if (r->ro_listeners[i] != NULL || !w->wk_listeners_ok)
			continue;
		snprintf(path, sizeof(path), "routes[%zu].listeners[%zu]", ri,
		    i);
		conf_walk_error(w, conf_check_item(list, i), path, "no "
		    "listener named \"%s\"", r->ro_listener_names[i]);
	}
}

static void
conf_check_unused(struct conf_walk *w, const struct conf_node *root)
{
	const struct conf	*c = w->wk_conf;
	const struct conf_pool	*p;
	const struct conf_node	*n;
	struct conf_pos		 none = { w->wk_file, 0, 0 };
	char			 path[CONF_PATH_MAX];
	size_t			 i, j;

	for (i = 0; i < c->c_npools; i++) {
		p = &c->c_pools[i];
		/* A second pool of one name gets an error, not this. */
		if (p->pl_name == NULL || conf_pool_find(c, p->pl_name) != p)
			continue;
		for (j = 0; j < c->c_nroutes; j++)
			if (c->c_routes[j].ro_pool == p)
				break;
		if (j < c->c_nroutes)
			continue;
		n = conf_check_node(root, "pools", i, "name");
		snprintf(path, sizeof(path), "pools[%zu].name", i);
		conf_errors_warn_at(w->wk_errs, n != NULL ? &n->nd_pos : &none,
		    path, "no route uses pool \"%s\"", p->pl_name);
	}
}

/* The value of <key> in item <i> of top-level list <list>, or NULL. */
static const struct conf_node *
conf_check_node(const struct conf_node *root, const char *list, size_t i,
    const char *key)
{
	return conf_check_value(conf_check_item(conf_check_value(root, list),
	    i), key);
}

/* The value of <key> in <map>, or NULL. */
static const struct conf_node *
conf_check_value(const struct conf_node *map, const char *key)
{
	const struct conf_node	*k;

	if ((k = conf_yaml_get(map, key)) == NULL)
		return NULL;
	return k->nd_value;
}

static const struct conf_node *
conf_check_item(const struct conf_node *list, size_t i)
{
	const struct conf_node	*n;

	if (list == NULL || list->nd_kind != CONF_NODE_LIST)
		return NULL;
	for (n = list->nd_child; n != NULL && i > 0; n = n->nd_next)
		i--;
	return n;
}

int
conf_check_files(const struct conf *conf, struct conf_errors *errs)
{
	const struct conf_listener	*l;
	const struct conf_pool		*p;
	size_t				 i, j;
	int				 rv = 0;

	for (i = 0; i < conf->c_nlisteners; i++) {
		if ((l = &conf->c_listeners[i])->li_tls == NULL)
			continue;
		rv |= conf_check_file(&l->li_tls->tl_default.ce_cert, errs);
		rv |= conf_check_file(&l->li_tls->tl_default.ce_key, errs);
		for (j = 0; j < l->li_tls->tl_ncerts; j++) {
			rv |= conf_check_file(&l->li_tls->tl_certs[j].ce_cert,
			    errs);
			rv |= conf_check_file(&l->li_tls->tl_certs[j].ce_key,
			    errs);
		}
		rv |= conf_check_file(&l->li_tls->tl_client_ca, errs);
	}
	for (i = 0; i < conf->c_npools; i++) {
		p = &conf->c_pools[i];
		for (j = 0; j < p->pl_nservers; j++)
			rv |= conf_check_file(&p->pl_servers[j].sv_ca, errs);
		rv |= conf_check_file(&p->pl_vm.vm_kernel, errs);
		rv |= conf_check_file(&p->pl_vm.vm_initrd, errs);
	}
	return rv == 0 ? 0 : -1;
}

/* 0 if <f> is absent or a readable regular file; else reports, -1. */
static int
conf_check_file(const struct conf_file *f, struct conf_errors *errs)
{
	struct stat	st;
	int		fd;

	if (f->cf_path == NULL)
		return 0;
	if ((fd = open(f->cf_path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "cannot read "
		    "\"%s\": %s", f->cf_path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_errors_at(errs, &f->cf_pos, f->cf_key, "\"%s\" is not a "
		    "regular file", f->cf_path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
