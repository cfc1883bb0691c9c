/*
 * conf/conf_walk.c: the typed walk from YAML nodes to C structs.
 *
 * conf_walk_map() follows one schema (conf_priv.h): it reports unknown
 * keys with the nearest known one, then visits the schema's fields in
 * table order, checks that each applies (a pool's "kernel" only with
 * "type: microvm"), parses the value by type or the default text when the
 * key is absent, and finally runs the schema's own cross-key check.  The
 * scalar types (numbers, sizes, durations, booleans, enums, strings,
 * paths) are parsed here, strictly, with one message shape:
 * "expected <what>, got <what was there>".
 *
 * Strings and arrays go into the struct conf's arena; an allocation
 * failure sets wk_nomem and the walk carries on, ending as an error.
 * Everything runs in the loading thread.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf/conf_priv.h"
#include "lib/log.h"
#include "lib/units.h"

/* Longest scalar quoted whole in a message; longer ones are cut. */
#define CONF_WALK_QUOTE_MAX	40
/* Most keys one schema may have (for suggestions). */
#define CONF_WALK_KEYS_MAX	48

static void	conf_walk_value(struct conf_walk *, const struct conf_field *,
		    const struct conf_node *, void *, const char *);
static void	conf_walk_default(struct conf_walk *, const struct conf_field *,
		    void *, const char *);
static void	conf_walk_unknown(struct conf_walk *,
		    const struct conf_schema *, const struct conf_node *,
		    const char *);
static void	conf_walk_uint(struct conf_walk *, const struct conf_field *,
		    const struct conf_node *, void *, const char *);
static void	conf_walk_size(struct conf_walk *, const struct conf_field *,
		    const struct conf_node *, void *, const char *);
static void	conf_walk_duration(struct conf_walk *,
		    const struct conf_field *, const struct conf_node *, void *,
		    const char *);
static void	conf_walk_bool(struct conf_walk *, const struct conf_node *,
		    void *, const char *);
static void	conf_walk_enum(struct conf_walk *, const struct conf_field *,
		    const struct conf_node *, void *, const char *);
static void	conf_walk_list(struct conf_walk *, const struct conf_field *,
		    const struct conf_node *, void *, const char *);
static void	conf_walk_join(char *, const char *, const char *);
static void	conf_walk_describe(const struct conf_node *, char *, size_t);
static unsigned	conf_walk_distance(const char *, const char *);

void
conf_walk_map(struct conf_walk *w, const struct conf_schema *s, void *obj,
    const struct conf_node *map, const char *path)
{
	const struct conf_field	*f;
	const struct conf_node	*k;
	const char		*why;
	char			 sub[CONF_PATH_MAX];
	struct conf_pos		 none = { w->wk_file, 0, 0 };
	int			 gate;

	if (map != NULL && map->nd_kind != CONF_NODE_MAP) {
		conf_walk_expected(w, map, path, "a map");
		map = NULL;
	}
	if (s->sm_init != NULL)
		s->sm_init(w, obj);
	if (s->sm_off_pos != CONF_NO_OFF)
		memcpy((char *)obj + s->sm_off_pos, map != NULL ?
		    &map->nd_pos : &none, sizeof(struct conf_pos));
	if (s->sm_off_key != CONF_NO_OFF)
		*(const char **)(void *)((char *)obj + s->sm_off_key) =
		    conf_walk_strdup(w, path);
	if (map != NULL)
		conf_walk_unknown(w, s, map, path);

	for (f = s->sm_fields; f->fd_key != NULL; f++) {
		k = conf_yaml_get(map, f->fd_key);
		why = NULL;
		gate = 1;
		if (f->fd_gate != 0 && s->sm_gate != NULL)
			gate = s->sm_gate(obj, f->fd_gate, &why);
		conf_walk_join(sub, path, f->fd_key);
		if (k != NULL && gate == 0) {
			conf_walk_error(w, k, sub, "%s", why);
			continue;
		}
		if (k == NULL) {
			if (gate == 1 && (f->fd_flags & CONF_F_REQUIRED) &&
			    map != NULL)
				conf_walk_error(w, map, path, "missing required "
				    "key \"%s\"", f->fd_key);
			if (gate != 0)
				conf_walk_default(w, f, obj, sub);
			continue;
		}
		conf_walk_value(w, f, k->nd_value, (char *)obj + f->fd_off,
		    sub);
	}
	if (s->sm_check != NULL)
		s->sm_check(w, obj, map, path);
}

/* Every key of <map> that <s> does not know, with a suggestion. */
static void
conf_walk_unknown(struct conf_walk *w, const struct conf_schema *s,
    const struct conf_node *map, const char *path)
{
	const char		*names[CONF_WALK_KEYS_MAX + 1];
	const struct conf_node	*k;
	const char		*best;
	char			 sub[CONF_PATH_MAX];
	size_t			 n, i;

	for (n = 0; s->sm_fields[n].fd_key != NULL; n++) {
		ASSERT(n < CONF_WALK_KEYS_MAX);
		names[n] = s->sm_fields[n].fd_key;
	}
	names[n] = NULL;
	for (k = map->nd_child; k != NULL; k = k->nd_next) {
		for (i = 0; i < n; i++)
			if (strcmp(names[i], k->nd_text) == 0)
				break;
		if (i < n)
			continue;
		conf_walk_join(sub, path, k->nd_text);
		if ((best = conf_walk_suggest(k->nd_text, names)) != NULL)
			conf_walk_error(w, k, sub, "unknown key (did you mean "
			    "\"%s\"?)", best);
		else
			conf_walk_error(w, k, sub, "unknown key");
	}
}

static void
conf_walk_value(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	const char	*s;
	void		*p;

	if (n != NULL && n->nd_kind == CONF_NODE_BAD)
		return;			/* reported by conf_yaml.c */
	switch (f->fd_type) {
	case CONF_T_UINT:
		conf_walk_uint(w, f, n, dst, path);
		break;
	case CONF_T_SIZE:
		conf_walk_size(w, f, n, dst, path);
		break;
	case CONF_T_DURATION:
		conf_walk_duration(w, f, n, dst, path);
		break;
	case CONF_T_BOOL:
		conf_walk_bool(w, n, dst, path);
		break;
	case CONF_T_ENUM:
		conf_walk_enum(w, f, n, dst, path);
		break;
	case CONF_T_STRING:
		if ((s = conf_walk_scalar(w, n, path, "a string")) != NULL)
			*(const char **)dst = conf_walk_strdup(w, s);
		break;
	case CONF_T_FILE:
		if ((s = conf_walk_scalar(w, n, path, "a path")) == NULL)
			break;
		((struct conf_file *)dst)->cf_path = conf_walk_strdup(w, s);
		((struct conf_file *)dst)->cf_pos = n->nd_pos;
		((struct conf_file *)dst)->cf_key = conf_walk_strdup(w, path);
		break;
	case CONF_T_MAP:
		conf_walk_map(w, f->fd_schema, dst, n, path);
		break;
	case CONF_T_MAP_PTR:
		p = conf_arena_alloc(w->wk_conf->c_arena,
		    f->fd_schema->sm_size);
		if (p == NULL) {
			w->wk_nomem = true;
			break;
		}
		*(void **)dst = p;
		conf_walk_map(w, f->fd_schema, p, n, path);
		break;
	case CONF_T_LIST:
		conf_walk_list(w, f, n, dst, path);
		break;
	case CONF_T_CUSTOM:
		(void)f->fd_parse(w, n, dst, path);
		break;
	}
}

/*
 * An absent key: its default text parsed as if written (at no position),
 * or for an embedded map, the defaults of its own fields.
 */
static void
conf_walk_default(struct conf_walk *w, const struct conf_field *f,
    void *obj, const char *path)
{
	struct conf_node	n;

	if (f->fd_default != NULL) {
		memset(&n, 0, sizeof(n));
		n.nd_kind = CONF_NODE_SCALAR;
		n.nd_pos.cp_file = w->wk_file;
		n.nd_text = f->fd_default;
		conf_walk_value(w, f, &n, (char *)obj + f->fd_off, path);
	} else if (f->fd_type == CONF_T_MAP)
		conf_walk_map(w, f->fd_schema, (char *)obj + f->fd_off, NULL,
		    path);
}

static void
conf_walk_uint(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	uint64_t	 v, max = f->fd_max != 0 ? f->fd_max : UINT_MAX;
	const char	*s;

	if ((s = conf_walk_scalar(w, n, path, "a whole number")) == NULL)
		return;
	if (conf_walk_number(s, &v) == -1 && errno == EINVAL) {
		conf_walk_expected(w, n, path, "a whole number");
		return;
	}
	/* Here v is set, or errno is ERANGE. */
	if (errno == ERANGE || v < f->fd_min || v > max) {
		if (max == UINT_MAX)
			conf_walk_error(w, n, path, "expected a whole number "
			    "of at least %llu, got %s",
			    (unsigned long long)f->fd_min, s);
		else
			conf_walk_error(w, n, path, "expected a whole number "
			    "from %llu to %llu, got %s",
			    (unsigned long long)f->fd_min,
			    (unsigned long long)max, s);
		return;
	}
	*(unsigned *)dst = (unsigned)v;
}

static void
conf_walk_size(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	uint64_t	 v;
	const char	*s;
	char		 lim[32];

	if ((s = conf_walk_scalar(w, n, path, "a size such as 64MiB")) ==
	    NULL)
		return;
	if (units_parse_size(s, &v) == -1) {
		conf_walk_expected(w, n, path, "a size such as 64MiB");
		return;
	}
	if (v < f->fd_min) {
		conf_walk_error(w, n, path, "expected a size of at least %s, "
		    "got %s", units_format_size(f->fd_min, lim, sizeof(lim)),
		    s);
		return;
	}
	if (f->fd_max != 0 && v > f->fd_max) {
		conf_walk_error(w, n, path, "expected a size of at most %s, "
		    "got %s", units_format_size(f->fd_max, lim, sizeof(lim)),
		    s);
		return;
	}
	*(uint64_t *)dst = v;
}

static void
conf_walk_duration(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	uint64_t	 v;
	const char	*s;
	char		 lim[32];

	if ((s = conf_walk_scalar(w, n, path,
	    "a duration such as 500ms or 2s")) == NULL)
		return;
	if (units_parse_duration(s, &v) == -1) {
		conf_walk_expected(w, n, path,
		    "a duration such as 500ms or 2s");
		return;
	}
	if (v < f->fd_min) {
		conf_walk_error(w, n, path, "expected a duration of at least "
		    "%s, got %s", conf_walk_duration_str(f->fd_min, lim,
		    sizeof(lim)), s);
		return;
	}
	*(uint64_t *)dst = v;
}

static void
conf_walk_bool(struct conf_walk *w, const struct conf_node *n, void *dst,
    const char *path)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	const char	*s;
	size_t		 i;

	if ((s = conf_walk_scalar(w, n, path, "true or false")) == NULL)
		return;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*(bool *)dst = true;
			return;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*(bool *)dst = false;
			return;
		}
	}
	conf_walk_expected(w, n, path, "true or false");
}

static void
conf_walk_enum(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	const char	*s, *best;
	char		 what[256], got[CONF_WALK_QUOTE_MAX * 4 + 8];
	size_t		 len = 0, i;
	int		 r;

	for (i = 0; f->fd_names[i] != NULL && len < sizeof(what); i++) {
		r = snprintf(what + len, sizeof(what) - len, "%s%s",
		    i == 0 ? "" : f->fd_names[i + 1] == NULL ? " or " : ", ",
		    f->fd_names[i]);
		if (r < 0)
			break;
		len += (size_t)r;
	}
	if ((s = conf_walk_scalar(w, n, path, what)) == NULL)
		return;
	for (i = 0; f->fd_names[i] != NULL; i++) {
		if (strcmp(s, f->fd_names[i]) == 0) {
			*(int *)dst = (int)i;
			return;
		}
	}
	conf_walk_describe(n, got, sizeof(got));
	if ((best = conf_walk_suggest(s, f->fd_names)) != NULL)
		conf_walk_error(w, n, path, "expected %s, got %s (did you "
		    "mean \"%s\"?)", what, got, best);
	else
		conf_walk_error(w, n, path, "expected %s, got %s", what, got);
}

static void
conf_walk_list(struct conf_walk *w, const struct conf_field *f,
    const struct conf_node *n, void *dst, const char *path)
{
	const struct conf_node	*item;
	char			 sub[CONF_PATH_MAX];
	char			*arr;
	size_t			 i;

	if (n == NULL || n->nd_kind != CONF_NODE_LIST) {
		conf_walk_expected(w, n, path, "a list");
		return;
	}
	if (n->nd_count == 0) {
		if (f->fd_flags & CONF_F_NONEMPTY)
			conf_walk_error(w, n, path, "expected at least one "
			    "entry, got an empty list");
		return;
	}
	arr = conf_arena_calloc(w->wk_conf->c_arena, n->nd_count,
	    f->fd_elem_size);
	if (arr == NULL) {
		w->wk_nomem = true;
		return;
	}
	for (i = 0, item = n->nd_child; item != NULL;
	    i++, item = item->nd_next) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		conf_walk_value(w, f->fd_elem, item, arr + i * f->fd_elem_size,
		    sub);
	}
	/* <dst> is the array pointer at fd_off; the count is beside it. */
	*(void **)dst = arr;
	*(size_t *)(void *)((char *)dst - f->fd_off + f->fd_off_count) =
	    n->nd_count;
}

void
conf_walk_error(struct conf_walk *w, const struct conf_node *n,
    const char *path, const char *fmt, ...)
{
	struct conf_pos	 none = { w->wk_file, 0, 0 };
	char		 msg[1024];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_errors_at(w->wk_errs, n != NULL ? &n->nd_pos : &none, path, "%s",
	    msg);
}

void
conf_walk_expected(struct conf_walk *w, const struct conf_node *n,
    const char *path, const char *what)
{
	char	got[CONF_WALK_QUOTE_MAX * 4 + 8];

	conf_walk_describe(n, got, sizeof(got));
	conf_walk_error(w, n, path, "expected %s, got %s", what, got);
}

/*
 * What <n> is, for "got ...": a quoted scalar with quotes, backslashes
 * and control bytes escaped and long text cut, or "a map", "a list",
 * "nothing".
 */
static void
conf_walk_describe(const struct conf_node *n, char *buf, size_t size)
{
	const unsigned char	*s;
	size_t			 len = 0, i;

	if (n == NULL || n->nd_kind == CONF_NODE_BAD ||
	    (n->nd_kind == CONF_NODE_SCALAR && n->nd_null)) {
		snprintf(buf, size, "nothing");
		return;
	}
	if (n->nd_kind != CONF_NODE_SCALAR) {
		snprintf(buf, size, "%s", n->nd_kind == CONF_NODE_MAP ?
		    "a map" : "a list");
		return;
	}
	s = (const unsigned char *)n->nd_text;
	buf[len++] = '"';
	for (i = 0; s[i] != '\0' && len + 8 < size; i++) {
		if (i == CONF_WALK_QUOTE_MAX) {
			len += (size_t)snprintf(buf + len, size - len, "...");
			break;
		}
		if (s[i] == '"' || s[i] == '\\')
			len += (size_t)snprintf(buf + len, size - len, "\\%c",
			    s[i]);
		else if (s[i] < 0x20 || s[i] == 0x7f)
			len += (size_t)snprintf(buf + len, size - len,
			    "\\x%02x", s[i]);
		else
			buf[len++] = (char)s[i];
	}
	buf[len++] = '"';
	buf[len] = '\0';
}

const char *
conf_walk_scalar(struct conf_walk *w, const struct conf_node *n,
    const char *path, const char *what)
{
	if (n == NULL || n->nd_kind != CONF_NODE_SCALAR || n->nd_null) {
		if (n == NULL || n->nd_kind != CONF_NODE_BAD)
			conf_walk_expected(w, n, path, what);
		return NULL;
	}
	if (n->nd_text[0] == '\0') {
		conf_walk_expected(w, n, path, what);
		return NULL;
	}
	return n->nd_text;
}

const char *
conf_walk_strdup(struct conf_walk *w, const char *s)
{
	char	*p;

	if ((p = conf_arena_strdup(w->wk_conf->c_arena, s)) == NULL) {
		w->wk_nomem = true;
		return "";
	}
	return p;
}

const char *
conf_walk_duration_str(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char	*unit;
		uint64_t	 ms;
	} units[] = {
		{ "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
		{ "s", 1000 },
	};
	size_t	i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (ms != 0 && ms % units[i].ms == 0) {
			snprintf(buf, size, "%llu%s",
			    (unsigned long long)(ms / units[i].ms),
			    units[i].unit);
			return buf;
		}
	}
	snprintf(buf, size, "%llums", (unsigned long long)ms);
	return buf;
}

int
conf_walk_number(const char *s, uint64_t *out)
{
	uint64_t	v = 0;

	errno = 0;
	if (*s == '\0') {
		errno = EINVAL;
		return -1;
	}
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s)) {
			errno = EINVAL;
			return -1;
		}
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			errno = ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (errno == ERANGE)
		return -1;
	*out = v;
	return 0;
}

static void
conf_walk_join(char *buf, const char *path, const char *key)
{
	snprintf(buf, CONF_PATH_MAX, "%s%s%s", path, path[0] != '\0' ?
	    "." : "", key);
}

const char *
conf_walk_suggest(const char *s, const char *const *names)
{
	const char	*best = NULL;
	unsigned	 d, bestd = 3;
	size_t		 i;

	for (i = 0; names[i] != NULL; i++) {
		d = conf_walk_distance(s, names[i]);
		if (d < bestd) {
			bestd = d;
			best = names[i];
		}
	}
	/* Two edits turn "ab" into anything of two letters: say nothing. */
	if (best != NULL && bestd >= strlen(s))
		return NULL;
	return best;
}

/* Levenshtein distance, or UINT_MAX for strings too long to bother. */
static unsigned
conf_walk_distance(const char *a, const char *b)
{
	unsigned	 row[65], diag, up, cost;
	size_t		 la = strlen(a), lb = strlen(b), i, j;

	if (la > 64 || lb > 64)
		return UINT_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = (unsigned)i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			cost = a[i - 1] == b[j - 1] ? 0 : 1;
			row[j] = diag + cost;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}
