/*
 * conf/conf.c: loading a configuration, and the error list.
 *
 * conf_load_string() runs three passes over one file: conf_yaml.c turns
 * the text into a node tree (in a scratch arena freed before returning),
 * conf_walk.c fills a struct conf from it following conf_schema.c's
 * tables, and conf_check.c checks what spans several entries.  All three
 * report into one struct conf_errors and carry on, so one run shows every
 * mistake; the struct conf is returned only if none was found.
 *
 * An error is formatted when it is added, so it outlives the conf it was
 * about; the list is sorted into file order when it is read.  The caller
 * owns both the struct conf and the struct conf_errors.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf_priv.h"

/* Errors kept in memory; past this they are only counted. */
#define CONF_ERRORS_KEEP	10000

struct conf_message {
	unsigned	 me_line;
	unsigned	 me_col;
	size_t		 me_seq;	/* order added: ties keep it */
	char		*me_text;
};

struct conf_msglist {
	struct conf_message	*ml_v;
	size_t			 ml_n;		/* kept */
	size_t			 ml_cap;
	size_t			 ml_total;	/* added, kept or not */
	bool			 ml_sorted;
};

struct conf_errors {
	struct conf_msglist	 es_errors;
	struct conf_msglist	 es_warnings;
	char			*es_file;	/* of the first message */
	size_t			 es_seq;
};

static char	*conf_read_file(const char *, size_t *, struct conf_errors *);
static void	 conf_errors_add(struct conf_errors *, bool,
		    const struct conf_pos *, const char *, const char *,
		    va_list) __attribute__((format(printf, 5, 0)));
static int	 conf_errors_cmp(const void *, const void *);
static void	 conf_errors_sort(struct conf_msglist *);

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf	*conf;
	char		*text;
	size_t		 len;

	if ((text = conf_read_file(path, &len, errs)) == NULL)
		return NULL;
	conf = conf_load_string(path, text, len, errs);
	free(text);
	return conf;
}

/* The whole file, NUL-terminated, or NULL after reporting why. */
static char *
conf_read_file(const char *path, size_t *lenp, struct conf_errors *errs)
{
	struct conf_pos	 pos = { path, 0, 0 };
	struct stat	 st;
	char		*buf = NULL;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_errors_at(errs, &pos, NULL, "%s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1) {
		conf_errors_at(errs, &pos, NULL, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONF_FILE_MAX) {
		conf_errors_at(errs, &pos, NULL, "not a regular file of at "
		    "most %u bytes", CONF_FILE_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		conf_errors_at(errs, &pos, NULL, "%s", strerror(errno));
		goto fail;
	}
	/* The size may change under us: read what is there, up to it. */
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_errors_at(errs, &pos, NULL, "%s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}

struct conf *
conf_load_string(const char *name, const char *text, size_t len,
    struct conf_errors *errs)
{
	struct conf_walk	 w;
	struct conf_arena	*tree = NULL, *ar = NULL;
	struct conf_node	*root;
	struct conf		*conf = NULL;
	struct conf_pos		 pos = { name, 0, 0 };
	size_t			 before = conf_errors_count(errs);

	if ((ar = conf_arena_new()) == NULL ||
	    (tree = conf_arena_new()) == NULL ||
	    (conf = conf_arena_alloc(ar, sizeof(*conf))) == NULL ||
	    (conf->c_file = conf_arena_strdup(ar, name)) == NULL) {
		conf_errors_at(errs, &pos, NULL, "out of memory");
		goto fail;
	}
	conf->c_arena = ar;
	if ((root = conf_yaml_parse(tree, conf->c_file, text, len,
	    errs)) == NULL)
		goto fail;

	memset(&w, 0, sizeof(w));
	w.wk_conf = conf;
	w.wk_errs = errs;
	w.wk_file = conf->c_file;
	conf_walk_map(&w, &conf_schema_root, conf, root, "");
	conf_check_refs(&w, root);
	if (w.wk_nomem)
		conf_errors_at(errs, &pos, NULL, "out of memory");
	if (conf_errors_count(errs) != before)
		goto fail;
	conf_arena_free(tree);
	return conf;
fail:
	conf_arena_free(tree);
	conf_arena_free(ar);
	return NULL;
}

void
conf_free(struct conf *conf)
{
	if (conf == NULL)
		return;
	/* The struct itself lives in its arena. */
	conf_arena_free(conf->c_arena);
}

const struct conf_pool *
conf_pool_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->c_npools; i++)
		if (conf->c_pools[i].pl_name != NULL &&
		    strcmp(conf->c_pools[i].pl_name, name) == 0)
			return &conf->c_pools[i];
	return NULL;
}

const struct conf_listener *
conf_listener_find(const struct conf *conf, const char *name)
{
	size_t	i;

	for (i = 0; i < conf->c_nlisteners; i++)
		if (conf->c_listeners[i].li_name != NULL &&
		    strcmp(conf->c_listeners[i].li_name, name) == 0)
			return &conf->c_listeners[i];
	return NULL;
}

const char *
conf_balance_name(enum conf_balance balance)
{
	switch (balance) {
	case CONF_BALANCE_ROUND_ROBIN:
		return "round_robin";
	case CONF_BALANCE_LEAST_REQUEST:
		return "least_request";
	case CONF_BALANCE_RANDOM:
		return "random";
	case CONF_BALANCE_HASH:
		return "hash";
	}
	return "round_robin";
}

struct conf_errors *
conf_errors_new(void)
{
	return calloc(1, sizeof(struct conf_errors));
}

void
conf_errors_free(struct conf_errors *errs)
{
	struct conf_msglist	*lists[2];
	size_t			 i, j;

	if (errs == NULL)
		return;
	lists[0] = &errs->es_errors;
	lists[1] = &errs->es_warnings;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < lists[i]->ml_n; j++)
			free(lists[i]->ml_v[j].me_text);
		free(lists[i]->ml_v);
	}
	free(errs->es_file);
	free(errs);
}

void
conf_errors_at(struct conf_errors *errs, const struct conf_pos *pos,
    const char *path, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_errors_add(errs, false, pos, path, fmt, ap);
	va_end(ap);
}

void
conf_errors_warn_at(struct conf_errors *errs, const struct conf_pos *pos,
    const char *path, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	conf_errors_add(errs, true, pos, path, fmt, ap);
	va_end(ap);
}

/*
 * Formats and keeps one message.  Out of memory, the message is counted
 * but not kept, so that conf_load() still fails.
 */
static void
conf_errors_add(struct conf_errors *errs, bool warning,
    const struct conf_pos *pos, const char *path, const char *fmt,
    va_list ap)
{
	struct conf_msglist	*ml;
	struct conf_message	*v, *me;
	char			 msg[1024], where[64];
	char			*text;
	size_t			 cap;

	ml = warning ? &errs->es_warnings : &errs->es_errors;
	ml->ml_total++;
	if (errs->es_file == NULL)
		errs->es_file = strdup(pos->cp_file);
	if (ml->ml_n >= CONF_ERRORS_KEEP)
		return;
	if (ml->ml_n == ml->ml_cap) {
		cap = ml->ml_cap == 0 ? 16 : ml->ml_cap * 2;
		if ((v = reallocarray(ml->ml_v, cap, sizeof(*v))) == NULL)
			return;
		ml->ml_v = v;
		ml->ml_cap = cap;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pos->cp_line != 0)
		snprintf(where, sizeof(where), ":%u:%u", pos->cp_line,
		    pos->cp_col);
	else
		where[0] = '\0';
	if (asprintf(&text, "%s%s: %s%s%s%s", pos->cp_file, where,
	    warning ? "warning: " : "", path != NULL ? path : "",
	    path != NULL && path[0] != '\0' ? ": " : "", msg) == -1)
		return;
	me = &ml->ml_v[ml->ml_n++];
	me->me_line = pos->cp_line;
	me->me_col = pos->cp_col;
	me->me_seq = errs->es_seq++;
	me->me_text = text;
	ml->ml_sorted = false;
}

static int
conf_errors_cmp(const void *a, const void *b)
{
	const struct conf_message	*x = a, *y = b;

	if (x->me_line != y->me_line)
		return x->me_line < y->me_line ? -1 : 1;
	if (x->me_col != y->me_col)
		return x->me_col < y->me_col ? -1 : 1;
	if (x->me_seq != y->me_seq)
		return x->me_seq < y->me_seq ? -1 : 1;
	return 0;
}

static void
conf_errors_sort(struct conf_msglist *ml)
{
	if (ml->ml_sorted || ml->ml_n == 0)
		return;
	qsort(ml->ml_v, ml->ml_n, sizeof(*ml->ml_v), conf_errors_cmp);
	ml->ml_sorted = true;
}

size_t
conf_errors_count(const struct conf_errors *errs)
{
	return errs->es_errors.ml_total;
}

size_t
conf_errors_warnings(const struct conf_errors *errs)
{
	return errs->es_warnings.ml_total;
}

const char *
conf_errors_line(struct conf_errors *errs, bool warning, size_t i)
{
	struct conf_msglist	*ml;

	ml = warning ? &errs->es_warnings : &errs->es_errors;
	if (i >= ml->ml_n)
		return NULL;
	conf_errors_sort(ml);
	return ml->ml_v[i].me_text;
}

void
conf_errors_print(struct conf_errors *errs, FILE *fp)
{
	struct conf_msglist	*ml = &errs->es_errors;
	size_t			 i;

	conf_errors_sort(ml);
	for (i = 0; i < ml->ml_n && i < CONF_ERRORS_MAX; i++)
		fprintf(fp, "%s\n", ml->ml_v[i].me_text);
	if (ml->ml_total > CONF_ERRORS_MAX)
		fprintf(fp, "%s: too many errors (%zu), only the first %d are "
		    "shown\n", errs->es_file != NULL ? errs->es_file : "",
		    ml->ml_total, CONF_ERRORS_MAX);
	else if (ml->ml_total > ml->ml_n)
		fprintf(fp, "%s: out of memory: %zu errors not shown\n",
		    errs->es_file != NULL ? errs->es_file : "",
		    ml->ml_total - ml->ml_n);
	ml = &errs->es_warnings;
	conf_errors_sort(ml);
	for (i = 0; i < ml->ml_n; i++)
		fprintf(fp, "%s\n", ml->ml_v[i].me_text);
}
