/*
 * conf/conf_priv.h: what the files of conf/ share and nobody else sees:
 * the arena, the YAML node tree, and the schema tables the typed walk
 * follows.  Prototypes are grouped by the file that defines them.
 */
#ifndef CONF_CONF_PRIV_H
#define CONF_CONF_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

/*
 * Deepest nesting of maps and lists the YAML reader accepts, and most
 * keys in one map: past either it stops, as libyaml's scanner grows
 * quadratic with depth and the duplicate-key check with keys.
 */
#define CONF_DEPTH_MAX		32
#define CONF_KEYS_MAX		1000
/* Longest key path kept for messages ("pools[0].health.path"). */
#define CONF_PATH_MAX		256
/* Largest file conf_load() reads. */
#define CONF_FILE_MAX		(16u << 20)

/*
 * conf_arena.c: bump allocation, freed all at once.  A loaded struct conf
 * lives in one; the node tree lives in another for the time of a load.
 * Memory comes back zeroed; NULL when out of memory.
 */
struct conf_arena	*conf_arena_new(void);
void			 conf_arena_free(struct conf_arena *ar);
void			*conf_arena_alloc(struct conf_arena *ar, size_t size);
void			*conf_arena_calloc(struct conf_arena *ar, size_t n,
			    size_t size);
char			*conf_arena_strdup(struct conf_arena *ar,
			    const char *s);

/*
 * conf_yaml.c: the YAML text as a tree of nodes with positions.  Every
 * scalar is kept as text; what it means is the walk's business.  Map keys
 * are scalar nodes whose nd_value is the value; lists chain their items.
 */
enum conf_node_kind {
	CONF_NODE_SCALAR = 0,
	CONF_NODE_MAP,
	CONF_NODE_LIST,
	CONF_NODE_BAD,		/* an error was reported here already */
};

struct conf_node {
	enum conf_node_kind	 nd_kind;
	struct conf_pos		 nd_pos;
	const char		*nd_text;	/* SCALAR, NUL-terminated */
	bool			 nd_null;	/* plain "", "~" or "null" */
	struct conf_node	*nd_child;	/* MAP: first key; LIST: item */
	struct conf_node	*nd_last;
	size_t			 nd_count;	/* keys or items */
	struct conf_node	*nd_value;	/* of a map key */
	struct conf_node	*nd_next;	/* sibling */
};

/*
 * Parses <len> bytes at <text> into nodes allocated from <ar>.  Returns
 * the root of the single document, or NULL after reporting the reason
 * (syntax error, empty file, ...) to <errs>.  Duplicate keys, aliases and
 * more than one document are reported too, but the tree is still
 * returned so that the walk can report the rest.
 */
struct conf_node	*conf_yaml_parse(struct conf_arena *ar,
			    const char *file, const char *text, size_t len,
			    struct conf_errors *errs);

/* The key node named <key> in <map>, or NULL. */
const struct conf_node	*conf_yaml_get(const struct conf_node *map,
			    const char *key);

/*
 * conf_walk.c: fills structs from nodes by following schema tables.
 *
 * A schema describes one YAML map and the C struct it fills: one field
 * per key, in the order the walk visits them (so a field may depend on
 * the fields above it, e.g. a pool's keys on its "type").  Defaults are
 * written as YAML text and parsed like the file's own values.
 */
enum conf_type {
	CONF_T_UINT = 0,	/* unsigned, fd_min..fd_max */
	CONF_T_SIZE,		/* uint64_t bytes, fd_min..fd_max */
	CONF_T_DURATION,	/* uint64_t ms */
	CONF_T_BOOL,		/* bool: true/false/yes/no/on/off */
	CONF_T_STRING,		/* const char *, not empty */
	CONF_T_ENUM,		/* enum (int-sized) from fd_names */
	CONF_T_FILE,		/* struct conf_file */
	CONF_T_MAP,		/* embedded struct, fd_schema */
	CONF_T_MAP_PTR,		/* pointer to struct, NULL when absent */
	CONF_T_LIST,		/* array of fd_elem, count at fd_off_count */
	CONF_T_CUSTOM,		/* fd_parse */
};

#define CONF_F_REQUIRED		0x01	/* missing key is an error */
#define CONF_F_NONEMPTY		0x02	/* lists: at least one entry */

struct conf_walk;
struct conf_schema;

struct conf_field {
	const char		 *fd_key;
	enum conf_type		  fd_type;
	unsigned		  fd_flags;
	int			  fd_gate;	/* 0: always applies */
	size_t			  fd_off;
	size_t			  fd_off_count;	/* LIST */
	size_t			  fd_elem_size;	/* LIST */
	const char		 *fd_default;	/* YAML text, or NULL */
	uint64_t		  fd_min;	/* UINT, SIZE */
	uint64_t		  fd_max;	/* UINT, SIZE; 0: no limit */
	const struct conf_schema *fd_schema;	/* MAP, MAP_PTR */
	const struct conf_field	 *fd_elem;	/* LIST */
	const char *const	 *fd_names;	/* ENUM, NULL-terminated */
	/* CUSTOM: 0, or -1 after reporting the error. */
	int			(*fd_parse)(struct conf_walk *w,
				    const struct conf_node *n, void *dst,
				    const char *path);
};

struct conf_schema {
	const struct conf_field	*sm_fields;	/* ends with a NULL key */
	size_t			 sm_size;	/* of the struct */
	size_t			 sm_off_pos;	/* struct conf_pos, or -1 */
	size_t			 sm_off_key;	/* const char *path, or -1 */
	/* Before the fields: defaults that are not constants. */
	void			(*sm_init)(struct conf_walk *w, void *obj);
	/*
	 * Whether field gate <gate> applies to <obj> as filled so far: 1
	 * yes, 0 no (*why says "only valid with ..."), -1 unknown because
	 * an earlier value was wrong (accept the key, require nothing).
	 */
	int			(*sm_gate)(const void *obj, int gate,
				    const char **why);
	/* After the fields: rules between keys.  <map> may be NULL. */
	void			(*sm_check)(struct conf_walk *w, void *obj,
				    const struct conf_node *map,
				    const char *path);
};

struct conf_walk {
	struct conf		*wk_conf;	/* root, and its arena */
	struct conf_errors	*wk_errs;
	const char		*wk_file;
	bool			 wk_nomem;
	/* conf_check.c: every entry of the list was read, name and all. */
	bool			 wk_listeners_ok;
	bool			 wk_pools_ok;
};

#define CONF_NO_OFF		((size_t)-1)

/* Walks <map> (NULL: absent, defaults only) into <obj> by <s>. */
void	conf_walk_map(struct conf_walk *w, const struct conf_schema *s,
	    void *obj, const struct conf_node *map, const char *path);

/* Reports an error at <n> (NULL: no position) under <path>. */
void	conf_walk_error(struct conf_walk *w, const struct conf_node *n,
	    const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));

/*
 * Reports "expected <what>, got <n>" where <n> reads as "two" (quoted,
 * shortened), a map, a list or nothing.
 */
void	conf_walk_expected(struct conf_walk *w, const struct conf_node *n,
	    const char *path, const char *what);

/* A scalar with text, else reports "expected <what>" and returns NULL. */
const char	*conf_walk_scalar(struct conf_walk *w,
		    const struct conf_node *n, const char *path,
		    const char *what);

/* An arena copy of <s>; on failure records out-of-memory and gives "". */
const char	*conf_walk_strdup(struct conf_walk *w, const char *s);

/*
 * Writes <ms> with the largest unit that divides it ("5m", "1500ms") into
 * <buf>; returns <buf>.
 */
const char	*conf_walk_duration_str(uint64_t ms, char *buf, size_t size);

/* Parses a decimal whole number strictly; 0 or -1. */
int	conf_walk_number(const char *s, uint64_t *out);

/*
 * The entry of <names> (NULL-terminated) nearest to <s> by edit distance
 * if it is at most 2 and smaller than <s>'s length, else NULL.
 */
const char	*conf_walk_suggest(const char *s, const char *const *names);

/* conf_schema.c: the tables for struct conf and everything under it. */
extern const struct conf_schema	conf_schema_root;

/*
 * conf_value.c: fd_parse functions for values with a shape of their own.
 * Each takes the node, the destination its table entry names and the key
 * path; 0, or -1 after reporting.
 */
int	conf_value_workers(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* unsigned: auto is 0 */
int	conf_value_access(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_log */
int	conf_value_admin_listen(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_admin */
int	conf_value_listen(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_addr */
int	conf_value_address(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_addr */
int	conf_value_redirect(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_redirect * */
int	conf_value_cidr(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_cidr */
int	conf_value_host(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* struct conf_match */
int	conf_value_path(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* const char * */
int	conf_value_name(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* const char * */
int	conf_value_header(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* const char * */
int	conf_value_transport(struct conf_walk *, const struct conf_node *,
	    void *, const char *);		/* enum conf_transport */

/* conf_addr.c: addresses and networks. */
#define CONF_ADDR_LISTEN	0x01	/* IP, "*", localhost; port 0 ok */
#define CONF_ADDR_SERVER	0x02	/* names, unix:, vsock:; port > 0 */

/*
 * Parses <s> into <out>, its strings copied into <ar>; ca_pos is left
 * alone.  0, or -1 with a message in <why> ("out of memory" included).
 */
int	conf_addr_parse(struct conf_arena *ar, const char *s, unsigned flags,
	    struct conf_addr *out, char *why, size_t whylen);
int	conf_addr_parse_cidr(const char *s, struct conf_cidr *out,
	    char *why, size_t whylen);
/* Whether binding both would collide (same port, overlapping address). */
bool	conf_addr_overlap(const struct conf_addr *a,
	    const struct conf_addr *b);

/*
 * conf_check.c: rules across the whole file, after the walk of <root>
 * (still alive, for the positions of values).
 */
void	conf_check_refs(struct conf_walk *w, const struct conf_node *root);

#endif /* CONF_CONF_PRIV_H */
