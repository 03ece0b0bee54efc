/* Private to src/config/: the key table and the parse state that the
 * loader (load.c), the value parsers (value.c), the cross-key checks
 * (check.c) and the printers (print.c) share.
 *
 * DESIGN: every key is one row of cfg_keys[] (keys.c), after Redis's
 * static_configs[]: its section, name, value type, field offset, bounds and
 * default. Loading, defaults, checking and printing are loops over that
 * table, so a key's default and bounds are written in exactly one place.
 * Only what depends on other keys lives in check.c: api_base from region,
 * a destination's rate from its type, and the cross-references.
 *
 * The global sections ([server] .. [memory]) come first in enum sec and
 * fill struct config itself; [destination], [project], [default] and
 * [route] fill one struct each per instance. A [route] takes the keys of
 * [project] (all but name) and its own (project, pipelines); each key it
 * does not set shares its parent's value (the [project ID] it names, else
 * [default]) and is marked in its borrowed mask so it is freed once. */
#ifndef DPC_CONFIG_INT_H
#define DPC_CONFIG_INT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

#define MAX_VALUE (64 * 1024) /* expanded value or _file content */
#define MAX_LINE (64 * 1024)  /* physical line */
#define MAX_LIST 64           /* items in a comma list */
#define MAX_DESTS 256
#define MAX_PROJECTS 4096
#define MAX_ROUTES 1024
#define MAX_DIAGS 500
#define MAX_KEYS 128 /* rows of cfg_keys at most (struct meta's arrays) */

enum sec {
	SEC_NONE,
	SEC_SERVER,
	SEC_MATILLION,
	SEC_DELIVERY,
	SEC_MEMORY,
	SEC_SLACK,
	SEC_POLL, /* the last global section: see SEC_LAST_GLOBAL */
	SEC_DEST,
	SEC_PROJECT,
	SEC_DEFAULT,
	SEC_ROUTE, /* [route NAME]: the [project] keys but name, and its own */
	SEC_SKIP,
	SEC__MAX
};

#define SEC_LAST_GLOBAL SEC_POLL

/* Section names as written in [brackets]; "" and "?" never match. */
extern const char *const cfg_sec_names[SEC__MAX];

enum vtype {
	V_STR,      /* char *: non-empty text */
	V_LIST,     /* char **: comma list, count at n_off */
	V_INT,      /* int in min..max */
	V_SIZE,     /* size_t in min..max */
	V_BOOL,     /* int 0 or 1 */
	V_DUR,      /* int seconds in min..max, s/m/h/d suffix allowed */
	V_DUR64,    /* int64_t seconds, likewise */
	V_LEVEL,    /* char *: one of names[], kept as written */
	V_ENUM,     /* int-sized enum: index in names[] */
	V_REGION,   /* sets the parse's region; check.c derives api_base */
	V_DTYPE,    /* const struct target *, by name from the target table */
	V_RATE,     /* double messages per second */
	V_STATUS,   /* unsigned mask of STATUS_BIT(), and MEM_NOTIFY_SLOW for SLOW */
	V_FACTOR,   /* double: plain decimal in fmin..fmax, or 0 with K_ZERO_OFF */
	V_MENTIONS, /* struct mention_rule *: "glob : mention" list, count at n_off */
	V_MUTE,     /* struct mute_window *: mute_windows list (silence.h), count at n_off */
	V_SEVERITY, /* unsigned char *: ST__MAX levels by status (target.h), or NULL */
	V_TRIGGERS  /* unsigned mask of TRIGGER_BIT() (route.h) */
};

#define K_SECRET 1u   /* accepts KEY_file; never echoed in messages or printed */
#define K_URL 2u      /* printed redacted: it may carry credentials */
#define K_ZERO_OFF 4u /* V_FACTOR: 0 is accepted too, meaning off */

struct key {
	enum sec sec; /* SEC_PROJECT also serves [default] and [route] */
	const char *name;
	enum vtype type;
	size_t off;               /* field offset in the section's struct */
	size_t n_off;             /* V_LIST: offset of the item count */
	long long min, max;       /* numbers and bools: accepted range */
	long long def;            /* default of a number, bool, enum or mask */
	double fmin, fmax, fdef;  /* V_FACTOR: accepted range and default */
	const char *sdef;         /* default of a string; NULL: none */
	const char *const *names; /* V_LEVEL, V_ENUM: accepted names */
	size_t n_names;
	unsigned flags; /* K_* */
};

extern const struct key cfg_keys[];
extern const size_t cfg_nkeys;

/* Matillion regions: names and API bases, parallel. The first is the
 * default when neither region nor api_base is given. */
#define N_REGIONS 2
extern const char *const cfg_region_names[N_REGIONS];
extern const char *const cfg_region_api_bases[N_REGIONS];

/* on_repeat names, indexed by enum mem_repeat. */
#define N_REPEAT 3
extern const char *const cfg_repeat_names[N_REPEAT];

/* The row of key name (len bytes) in section sec, or NULL. */
const struct key *cfg_find_key(enum sec sec, const char *name, size_t len);

/* Sets every number, flag, enum and mask of section sec in base (the
 * struct config, destination or project) to its default. */
void cfg_set_defaults(enum sec sec, char *base);

/* Gives each string key of section sec still NULL in base a copy of its
 * default. 0 or ERR_NOMEM. */
int cfg_fill_defaults(enum sec sec, char *base);

/* Frees the strings and lists of section sec in base (not base itself). */
void cfg_free_fields(enum sec sec, char *base);
/* The same, but leaves the fields of the rows set in borrowed (bit = row
 * index in cfg_keys[]) alone: they belong to another section. */
void cfg_free_fields_except(enum sec sec, char *base, uint64_t borrowed);
/* k's bit in such a mask: its place among the rows of its section (at
 * most 64 rows a section; test_config checks). */
uint64_t cfg_key_bit(const struct key *k);
/* Makes key k's field (and count) in dst a shallow copy of src's. */
void cfg_share_field(const struct key *k, char *dst, const char *src);

/* Where a section instance and each of its keys were given. */
struct meta {
	int line;                          /* header line; 0 when the section is absent */
	unsigned char seen[MAX_KEYS];      /* keys given, by row index */
	unsigned char seen_file[MAX_KEYS]; /* keys given as KEY_file */
	int key_line[MAX_KEYS];
};

/* The state of one config_load(). */
struct parse {
	const char *path;
	struct config *c;
	struct diags *d;
	FILE *f;
	char *buf; /* getline buffer */
	size_t bufcap;
	int lineno;
	uint64_t hash;     /* FNV-1a of every byte read so far */
	const char *value; /* value of the current key line (in buf) */
	enum sec sec;
	size_t idx; /* current destination or project */
	struct meta single[SEC_LAST_GLOBAL + 1];
	struct meta *dmeta; /* parallel to c->destinations */
	struct meta *pmeta; /* parallel to c->projects */
	struct meta *rmeta; /* parallel to c->routes until they are sorted */
	struct meta defmeta;
	const char *region; /* static name from cfg_regions[] */
	int inline_secret;  /* a secret is written in the file itself */
	int read_only;      /* CONFIG_READ_ONLY: secret values skipped */
};

/* Appends "path:line: message" (an error, or a warning) to p's diags. */
void cfg_err(struct parse *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cfg_warn(struct parse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reports name (a key not in the current section) as unknown, with the
 * nearest key of the section ("did you mean notify_on?") or the section
 * the name belongs to when it is a key elsewhere. */
void cfg_unknown_key(struct parse *p, const char *name);

/* The name of names[0..n) nearest to word by edit distance (one edit in a
 * short word, two in a longer one), for "did you mean" hints; NULL when
 * none is that close. Case-sensitive: give word as the names are written. */
const char *cfg_nearest(const char *word, const char *const *names, size_t n);

/* value.c: text to values. */
char *cfg_trim(char *s);
void cfg_free_list(char **v, size_t n);
/* Expands ${NAME} in, and reads a KEY_file: a new string (caller frees), or
 * NULL after reporting the problem. */
char *cfg_expand(struct parse *p, const char *in);
char *cfg_read_secret_file(struct parse *p, const char *key, const char *path);
/* Stores value v (owned; consumed) into the field k names in base. 0, or
 * ERR_CONFIG after reporting, or ERR_NOMEM. */
int cfg_set_value(struct parse *p, const struct key *k, char *v, char *base);

/* mentions.c: the mentions list. Parses s (a whole value, modified) into a
 * new array (caller frees with cfg_free_mentions()) and its count. 0, or
 * ERR_CONFIG after reporting the first bad pair, or ERR_NOMEM. */
int cfg_parse_mentions(struct parse *p, char *s, struct mention_rule **out, size_t *n);
void cfg_free_mentions(struct mention_rule *v, size_t n);
/* Writes the list as it would be written in the file, or "(none)". */
void cfg_print_mentions(FILE *out, const struct mention_rule *v, size_t n);

/* secret.c: reports (as errors at line) each of the n values of key that
 * is an obvious placeholder or shorter than 16 bytes, never echoing one. */
void cfg_check_secrets(struct parse *p, const char *key, char *const *v, size_t n, int line);

/* check.c: defaults that depend on other keys, then every cross-key rule. */
void cfg_validate(struct parse *p);

/* route.c: gives each route the keys it does not set from its parent and
 * checks its globs; run once every section is read, before cfg_validate(). */
void cfg_routes_resolve(struct parse *p);
/* route.c: sorts c->routes most specific first (route.h); run last, on a
 * valid config, since p->rmeta no longer follows c->routes after it. */
void cfg_routes_sort(struct config *c);

#endif
