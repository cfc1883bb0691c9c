/*
 * conf/conf_yaml.c: YAML text to a tree of positioned nodes, via
 * libyaml's event parser.
 *
 * Only the shape of the document is handled here: maps, lists and
 * scalars kept as text, each with its line and column (libyaml counts
 * from 0, we from 1).  The rules that hold for any YAML we accept are
 * checked here too: one document, no duplicate keys, string keys, no
 * aliases, bounded nesting, no NUL bytes.  Such mistakes are reported and
 * the offending node is left out or marked CONF_NODE_BAD, so the walk can
 * still report everything else.  A libyaml syntax error ends the parse,
 * as what follows it cannot be trusted, and so does nesting too deep or
 * a map too large: no tree is returned then.
 *
 * Nodes live in the caller's arena; the builder keeps an explicit stack,
 * so hostile nesting costs no C stack.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "conf/conf_priv.h"

struct conf_yaml_frame {
	struct conf_node	*yf_node;	/* MAP or LIST being filled */
	struct conf_node	*yf_key;	/* MAP: key waiting for a value */
	struct conf_node	*yf_open;	/* MAP: key of the value open */
};

struct conf_yaml {
	struct conf_arena	*ya_ar;
	struct conf_errors	*ya_errs;
	const char		*ya_file;
	const char		*ya_text;
	size_t			 ya_len;
	struct conf_yaml_frame	 ya_stack[CONF_DEPTH_MAX];
	int			 ya_depth;
	int			 ya_skip;	/* levels being ignored */
	struct conf_node	*ya_root;
	int			 ya_docs;
	bool			 ya_nomem;
	bool			 ya_stop;	/* reported; no tree */
};

static struct conf_node	*conf_yaml_node(struct conf_yaml *,
			    enum conf_node_kind, const yaml_mark_t *);
static void		 conf_yaml_attach(struct conf_yaml *,
			    struct conf_node *);
static bool		 conf_yaml_want_key(const struct conf_yaml *);
static const char	*conf_yaml_path(const struct conf_yaml *,
			    const struct conf_node *, char *, size_t);
static void		 conf_yaml_error(struct conf_yaml *,
			    const struct conf_pos *, const char *,
			    const char *, ...)
			    __attribute__((format(printf, 4, 5)));
static int		 conf_yaml_event(struct conf_yaml *,
			    const yaml_event_t *);
static void		 conf_yaml_start(struct conf_yaml *,
			    const yaml_event_t *, enum conf_node_kind);
static void		 conf_yaml_scalar(struct conf_yaml *,
			    const yaml_event_t *);
static void		 conf_yaml_syntax(struct conf_yaml *,
			    const yaml_parser_t *);

struct conf_node *
conf_yaml_parse(struct conf_arena *ar, const char *file, const char *text,
    size_t len, struct conf_errors *errs)
{
	struct conf_yaml	 y;
	struct conf_pos		 start = { file, 1, 1 };
	yaml_parser_t		 parser;
	yaml_event_t		 ev;
	int			 done = 0;

	memset(&y, 0, sizeof(y));
	y.ya_ar = ar;
	y.ya_errs = errs;
	y.ya_file = file;
	y.ya_text = text;
	y.ya_len = len;
	if (!yaml_parser_initialize(&parser)) {
		conf_yaml_error(&y, &start, NULL, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	    len);
	while (!done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			conf_yaml_syntax(&y, &parser);
			yaml_parser_delete(&parser);
			return NULL;
		}
		done = conf_yaml_event(&y, &ev) || y.ya_stop;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (y.ya_stop)
		return NULL;
	if (y.ya_nomem) {
		conf_yaml_error(&y, &start, NULL, "out of memory");
		return NULL;
	}
	if (y.ya_root == NULL || (y.ya_root->nd_kind == CONF_NODE_SCALAR &&
	    y.ya_root->nd_null)) {
		conf_yaml_error(&y, &start, NULL, "empty file");
		return NULL;
	}
	return y.ya_root;
}

/* Handles one event; 1 when parsing should stop. */
static int
conf_yaml_event(struct conf_yaml *y, const yaml_event_t *ev)
{
	struct conf_pos		 pos;
	struct conf_node	*n;
	char			 path[CONF_PATH_MAX];

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		return 1;
	case YAML_DOCUMENT_START_EVENT:
		if (++y->ya_docs == 1)
			return 0;
		pos.cp_file = y->ya_file;
		pos.cp_line = (unsigned)ev->start_mark.line + 1;
		pos.cp_col = (unsigned)ev->start_mark.column + 1;
		conf_yaml_error(y, &pos, NULL, "more than one YAML document; "
		    "a configuration is one");
		return 1;
	case YAML_MAPPING_START_EVENT:
		conf_yaml_start(y, ev, CONF_NODE_MAP);
		return 0;
	case YAML_SEQUENCE_START_EVENT:
		conf_yaml_start(y, ev, CONF_NODE_LIST);
		return 0;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (y->ya_skip > 0)
			y->ya_skip--;
		else if (y->ya_depth > 0)
			y->ya_depth--;
		return 0;
	case YAML_SCALAR_EVENT:
		conf_yaml_scalar(y, ev);
		return 0;
	case YAML_ALIAS_EVENT:
		if (y->ya_skip > 0)
			return 0;
		if ((n = conf_yaml_node(y, CONF_NODE_BAD,
		    &ev->start_mark)) == NULL)
			return 1;
		conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n, path,
		    sizeof(path)), "aliases (*%s) are not supported; write "
		    "the value out", (const char *)ev->data.alias.anchor);
		conf_yaml_attach(y, n);
		return 0;
	default:
		return 0;
	}
}

/* A map or a list begins. */
static void
conf_yaml_start(struct conf_yaml *y, const yaml_event_t *ev,
    enum conf_node_kind kind)
{
	struct conf_node	*n;
	char			 path[CONF_PATH_MAX];

	if (y->ya_skip > 0) {
		y->ya_skip++;
		return;
	}
	if (conf_yaml_want_key(y)) {
		if ((n = conf_yaml_node(y, CONF_NODE_BAD,
		    &ev->start_mark)) == NULL)
			return;
		conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n, path,
		    sizeof(path)), "a key must be a string, not a %s",
		    kind == CONF_NODE_MAP ? "map" : "list");
		conf_yaml_attach(y, n);
		y->ya_skip = 1;
		return;
	}
	if (y->ya_depth == CONF_DEPTH_MAX) {
		if ((n = conf_yaml_node(y, CONF_NODE_BAD,
		    &ev->start_mark)) == NULL)
			return;
		conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n, path,
		    sizeof(path)), "nested more than %d levels deep",
		    CONF_DEPTH_MAX);
		y->ya_stop = true;
		return;
	}
	if ((n = conf_yaml_node(y, kind, &ev->start_mark)) == NULL)
		return;
	conf_yaml_attach(y, n);
	y->ya_stack[y->ya_depth].yf_node = n;
	y->ya_stack[y->ya_depth].yf_key = NULL;
	y->ya_stack[y->ya_depth].yf_open = NULL;
	y->ya_depth++;
}

static void
conf_yaml_scalar(struct conf_yaml *y, const yaml_event_t *ev)
{
	const char		*v = (const char *)ev->data.scalar.value;
	size_t			 len = ev->data.scalar.length;
	struct conf_node	*n;
	char			*text, path[CONF_PATH_MAX];

	if (y->ya_skip > 0)
		return;
	if ((n = conf_yaml_node(y, CONF_NODE_SCALAR,
	    &ev->start_mark)) == NULL)
		return;
	if (memchr(v, '\0', len) != NULL) {
		conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n, path,
		    sizeof(path)), "a NUL character is not allowed");
		n->nd_kind = CONF_NODE_BAD;
		conf_yaml_attach(y, n);
		return;
	}
	if ((text = conf_arena_alloc(y->ya_ar, len + 1)) == NULL) {
		y->ya_nomem = true;
		return;
	}
	memcpy(text, v, len);
	text[len] = '\0';
	n->nd_text = text;
	n->nd_null = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (len == 0 || strcmp(text, "~") == 0 || strcmp(text, "null") == 0 ||
	    strcmp(text, "Null") == 0 || strcmp(text, "NULL") == 0);
	conf_yaml_attach(y, n);
}

/* Whether the next node is the key of the innermost map. */
static bool
conf_yaml_want_key(const struct conf_yaml *y)
{
	const struct conf_yaml_frame	*f;

	if (y->ya_depth == 0)
		return false;
	f = &y->ya_stack[y->ya_depth - 1];
	return f->yf_node->nd_kind == CONF_NODE_MAP && f->yf_key == NULL;
}

/*
 * Links <n> where it belongs: as the root, a list item, a map key or the
 * value of the pending key.  A duplicate or non-string key becomes the
 * pending key without joining the map, so its value is dropped with it.
 */
static void
conf_yaml_attach(struct conf_yaml *y, struct conf_node *n)
{
	struct conf_yaml_frame	*f;
	struct conf_node	*parent, *k;
	char			 path[CONF_PATH_MAX];
	bool			 link = true;

	if (y->ya_depth == 0) {
		if (y->ya_root == NULL)
			y->ya_root = n;
		return;
	}
	f = &y->ya_stack[y->ya_depth - 1];
	parent = f->yf_node;
	if (parent->nd_kind == CONF_NODE_MAP) {
		if (f->yf_key != NULL) {
			f->yf_key->nd_value = n;
			f->yf_open = f->yf_key;
			f->yf_key = NULL;
			return;
		}
		if (n->nd_kind != CONF_NODE_SCALAR)
			link = false;
		if (link && parent->nd_count == CONF_KEYS_MAX) {
			conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n,
			    path, sizeof(path)), "more than %d keys in one "
			    "map", CONF_KEYS_MAX);
			y->ya_stop = true;
			return;
		}
		for (k = parent->nd_child; link && k != NULL; k = k->nd_next) {
			if (strcmp(k->nd_text, n->nd_text) != 0)
				continue;
			conf_yaml_error(y, &n->nd_pos, conf_yaml_path(y, n,
			    path, sizeof(path)), "duplicate key (first at "
			    "line %u)", k->nd_pos.cp_line);
			link = false;
		}
		f->yf_key = n;
		if (!link)
			return;
	}
	if (parent->nd_last != NULL)
		parent->nd_last->nd_next = n;
	else
		parent->nd_child = n;
	parent->nd_last = n;
	parent->nd_count++;
}

static struct conf_node *
conf_yaml_node(struct conf_yaml *y, enum conf_node_kind kind,
    const yaml_mark_t *mark)
{
	struct conf_node	*n;

	if ((n = conf_arena_alloc(y->ya_ar, sizeof(*n))) == NULL) {
		y->ya_nomem = true;
		return NULL;
	}
	n->nd_kind = kind;
	n->nd_pos.cp_file = y->ya_file;
	n->nd_pos.cp_line = (unsigned)mark->line + 1;
	n->nd_pos.cp_col = (unsigned)mark->column + 1;
	return n;
}

/*
 * "syntax error: <libyaml's problem>" where libyaml found it.  Reader
 * errors (bad UTF-8) carry only a byte offset, turned into a position
 * here.
 */
static void
conf_yaml_syntax(struct conf_yaml *y, const yaml_parser_t *p)
{
	struct conf_pos	 pos = { y->ya_file, 1, 1 };
	const char	*problem = p->problem != NULL ? p->problem : "unknown";
	size_t		 i;

	if (p->error == YAML_MEMORY_ERROR) {
		conf_yaml_error(y, &pos, NULL, "out of memory");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		for (i = 0; i < p->problem_offset && i < y->ya_len; i++) {
			if (y->ya_text[i] == '\n') {
				pos.cp_line++;
				pos.cp_col = 1;
			} else if (((unsigned char)y->ya_text[i] & 0xc0) !=
			    0x80)
				pos.cp_col++;
		}
	} else {
		pos.cp_line = (unsigned)p->problem_mark.line + 1;
		pos.cp_col = (unsigned)p->problem_mark.column + 1;
	}
	conf_yaml_error(y, &pos, NULL, "syntax error: %s", problem);
}

/*
 * The key path of <n>, about to be attached under the innermost open node
 * ("pools[0].name"); "" at the top.  A map key names itself.
 */
static const char *
conf_yaml_path(const struct conf_yaml *y, const struct conf_node *n,
    char *buf, size_t size)
{
	const struct conf_yaml_frame	*f;
	const struct conf_node		*key;
	size_t				 len = 0;
	int				 i, r;

	buf[0] = '\0';
	for (i = 0; i < y->ya_depth && len < size; i++) {
		f = &y->ya_stack[i];
		if (f->yf_node->nd_kind == CONF_NODE_LIST) {
			/* Open items are attached already; <n> is not. */
			r = snprintf(buf + len, size - len, "[%zu]",
			    f->yf_node->nd_count - (i + 1 < y->ya_depth));
		} else {
			if (i + 1 < y->ya_depth)
				key = f->yf_open;
			else
				key = f->yf_key != NULL ? f->yf_key : n;
			if (key == NULL || key->nd_text == NULL)
				break;
			r = snprintf(buf + len, size - len, "%s%s",
			    len > 0 ? "." : "", key->nd_text);
		}
		if (r < 0)
			break;
		len += (size_t)r;
	}
	return buf;
}

static void
conf_yaml_error(struct conf_yaml *y, const struct conf_pos *pos,
    const char *path, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_errors_at(y->ya_errs, pos, path, "%s", msg);
}

const struct conf_node *
conf_yaml_get(const struct conf_node *map, const char *key)
{
	const struct conf_node	*k;

	if (map == NULL || map->nd_kind != CONF_NODE_MAP)
		return NULL;
	for (k = map->nd_child; k != NULL; k = k->nd_next)
		if (strcmp(k->nd_text, key) == 0)
			return k;
	return NULL;
}
