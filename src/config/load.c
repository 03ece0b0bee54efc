/* Configuration loading: reads the INI file with inih into a struct config
 * through the key table (keys.c), has every value and cross-reference
 * checked (value.c, check.c), and reports each problem as "file:line:
 * message" so an operator can fix them all in one pass.
 *
 * DESIGN: inih drives the parse and splits names, but our reader wrapper
 * sees every physical line first. It counts lines (Debian's inih is built
 * without INI_HANDLER_LINENO), recognises section headers itself (inih does
 * not report a section that has no keys, and we must catch duplicate ones),
 * and keeps the value text: inih's compiled line limit (200 bytes) is
 * shorter than a Teams Workflows URL, so the reader hands inih only "name="
 * and the handler takes the value from the reader's copy. Indented lines are
 * trimmed so inih's multi-line continuation never applies. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "config_int.h"
#include "errors.h"
#include "parse.h"

/* ---- diagnostics ---- */

static void diag_vadd(struct diags *d, int warn, const char *path, int line, const char *fmt,
		      va_list ap)
{
	char msg[1024], where[16];
	char *s;
	char **grown;
	int n;

	if (warn)
		d->n_warnings++;
	else
		d->n_errors++;
	if (d->n >= MAX_DIAGS)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Line 0 is about the file as a whole: no line number then. */
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	else
		where[0] = '\0';
	n = snprintf(NULL, 0, "%s%s: %s%s", path, where, warn ? "warning: " : "", msg);
	s = malloc((size_t)n + 1);
	grown = realloc(d->lines, (d->n + 1) * sizeof(*d->lines));
	if (s == NULL || grown == NULL) {
		free(s);
		if (grown != NULL)
			d->lines = grown;
		return;
	}
	d->lines = grown;
	snprintf(s, (size_t)n + 1, "%s%s: %s%s", path, where, warn ? "warning: " : "", msg);
	d->lines[d->n++] = s;
}

void cfg_err(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->d, 0, p->path, line, fmt, ap);
	va_end(ap);
}

void cfg_warn(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->d, 1, p->path, line, fmt, ap);
	va_end(ap);
}

void diags_free(struct diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

/* ---- sections ---- */

static int valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._:-", *s) == NULL)
			return 0;
	return 1;
}

static struct meta *cur_meta(struct parse *p)
{
	switch (p->sec) {
	case SEC_DEST: return &p->dmeta[p->idx];
	case SEC_PROJECT: return &p->pmeta[p->idx];
	case SEC_ROUTE: return &p->rmeta[p->idx];
	case SEC_DEFAULT: return &p->defmeta;
	default: return &p->single[p->sec];
	}
}

static char *cur_base(struct parse *p)
{
	switch (p->sec) {
	case SEC_DEST: return (char *)&p->c->destinations[p->idx];
	case SEC_PROJECT: return (char *)&p->c->projects[p->idx];
	case SEC_ROUTE: return (char *)&p->c->routes[p->idx];
	case SEC_DEFAULT: return (char *)p->c->default_route;
	default: return (char *)p->c;
	}
}

static void project_init(struct project *pr)
{
	memset(pr, 0, sizeof(*pr));
	cfg_set_defaults(SEC_PROJECT, (char *)pr);
}

/* The named sections: [destination NAME], [project ID] and [route NAME],
 * each an array in struct config with a parallel meta array in the parse. */
struct named {
	void **arr;      /* &c->destinations, ... */
	size_t *n;       /* &c->n_destinations, ... */
	size_t size;     /* one element */
	struct meta **m; /* &p->dmeta, ... */
	size_t max;      /* sections allowed */
};

static struct named named_of(struct parse *p, enum sec kind)
{
	struct config *c = p->c;

	if (kind == SEC_DEST)
		return (struct named){ (void **)&c->destinations, &c->n_destinations,
				       sizeof(struct destination), &p->dmeta, MAX_DESTS };
	if (kind == SEC_ROUTE)
		return (struct named){ (void **)&c->routes, &c->n_routes, sizeof(struct project),
				       &p->rmeta, MAX_ROUTES };
	return (struct named){ (void **)&c->projects, &c->n_projects, sizeof(struct project),
			       &p->pmeta, MAX_PROJECTS };
}

/* The name of element i of a named section array. */
static const char *name_at(const struct parse *p, enum sec kind, size_t i)
{
	if (kind == SEC_DEST)
		return p->c->destinations[i].name;
	return kind == SEC_ROUTE ? p->c->routes[i].id : p->c->projects[i].id;
}

/* Line of an earlier section of this kind with this name, or 0. */
static int earlier_section(struct parse *p, enum sec kind, const char *name)
{
	struct named nm = named_of(p, kind);
	size_t i;

	for (i = 0; i < *nm.n; i++)
		if (strcmp(name_at(p, kind, i), name) == 0)
			return (*nm.m)[i].line;
	return 0;
}

/* Grows the section array and its meta array by one zeroed entry. The
 * meta array grows first so the two never disagree on the count. */
static int grow(struct parse *p, enum sec kind, size_t n)
{
	struct named nm = named_of(p, kind);
	struct meta *m = realloc(*nm.m, (n + 1) * sizeof(**nm.m));
	void *arr;

	if (m == NULL)
		return ERR_NOMEM;
	*nm.m = m;
	memset(&m[n], 0, sizeof(m[n]));
	m[n].line = p->lineno;
	arr = realloc(*nm.arr, (n + 1) * nm.size);
	if (arr == NULL)
		return ERR_NOMEM;
	*nm.arr = arr;
	return 0;
}

/* Appends a [destination], [project] or [route]; reports duplicates. */
static int add_named(struct parse *p, enum sec kind, const char *name)
{
	struct config *c = p->c;
	struct named nm = named_of(p, kind);
	size_t n = *nm.n;
	int first = earlier_section(p, kind, name);
	char *copy;

	if (first != 0) {
		cfg_err(p, p->lineno, "duplicate section [%s %s] (first at line %d)",
			cfg_sec_names[kind], name, first);
		return ERR_CONFIG;
	}
	if (n >= nm.max) {
		cfg_err(p, p->lineno, "too many [%s] sections", cfg_sec_names[kind]);
		return ERR_LIMIT;
	}
	copy = strdup(name);
	if (copy == NULL || grow(p, kind, n) != 0) {
		free(copy);
		cfg_err(p, p->lineno, "out of memory");
		return ERR_NOMEM;
	}
	if (kind == SEC_DEST) {
		memset(&c->destinations[n], 0, sizeof(c->destinations[n]));
		cfg_set_defaults(SEC_DEST, (char *)&c->destinations[n]);
		c->destinations[n].name = copy;
	} else {
		struct project *pr = kind == SEC_ROUTE ? &c->routes[n] : &c->projects[n];

		project_init(pr);
		pr->id = copy;
		pr->line = p->lineno;
	}
	(*nm.n)++;
	p->idx = n;
	return 0;
}

static int begin_default(struct parse *p)
{
	if (p->c->default_route != NULL) {
		cfg_err(p, p->lineno, "duplicate section [default] (first at line %d)",
			p->defmeta.line);
		return ERR_CONFIG;
	}
	p->c->default_route = malloc(sizeof(*p->c->default_route));
	if (p->c->default_route != NULL) {
		project_init(p->c->default_route);
		p->c->default_route->id = strdup("");
	}
	p->defmeta.line = p->lineno;
	if (p->c->default_route != NULL)
		p->c->default_route->line = p->lineno;
	if (p->c->default_route == NULL || p->c->default_route->id == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		return ERR_NOMEM;
	}
	return 0;
}

/* Handles the text between [ and ]: "server", "destination NAME", ... */
static void begin_section(struct parse *p, char *hdr)
{
	char *name = hdr;
	int kind;

	while (*name != '\0' && !isspace((unsigned char)*name))
		name++;
	if (*name != '\0')
		*name++ = '\0';
	name = cfg_trim(name);
	kind = parse_name(cfg_sec_names, SEC_SKIP, hdr);
	p->sec = SEC_SKIP;
	if (kind <= SEC_NONE) {
		cfg_err(p, p->lineno, "unknown section [%s]", hdr);
	} else if ((kind == SEC_DEST || kind == SEC_PROJECT || kind == SEC_ROUTE) !=
		   (*name != '\0')) {
		cfg_err(p, p->lineno, "section [%s] %s", hdr,
			*name != '\0' ? "takes no name" : "needs a name");
	} else if (*name != '\0' && !valid_name(name)) {
		cfg_err(p, p->lineno, "[%s %s]: name may only hold A-Z a-z 0-9 . _ : -", hdr, name);
	} else if (kind == SEC_DEST || kind == SEC_PROJECT || kind == SEC_ROUTE) {
		if (add_named(p, (enum sec)kind, name) == 0)
			p->sec = (enum sec)kind;
	} else if (kind == SEC_DEFAULT) {
		if (begin_default(p) == 0)
			p->sec = SEC_DEFAULT;
	} else {
		p->sec = (enum sec)kind;
		if (p->single[kind].line == 0)
			p->single[kind].line = p->lineno;
	}
}

/* ---- inih glue ---- */

/* Strips an inline comment: ';' after whitespace, as inih does. */
static void strip_comment(char *s)
{
	char *q;

	for (q = s; *q != '\0'; q++) {
		if (*q == ';' && q > s && isspace((unsigned char)q[-1])) {
			*q = '\0';
			return;
		}
	}
}

/* Classifies one physical line; returns the text inih should see. */
static const char *prepare_line(struct parse *p, char *line)
{
	char *eq, *end, *name;

	if (p->lineno == 1 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	line = cfg_trim(line);
	if (*line == '\0' || *line == ';' || *line == '#')
		return "";
	if (*line == '[') {
		end = strchr(line, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ';' && end[1] != '#' &&
				    !isspace((unsigned char)end[1]))) {
			cfg_err(p, p->lineno, "malformed section header");
			p->sec = SEC_SKIP;
			return "";
		}
		*end = '\0';
		begin_section(p, cfg_trim(line + 1));
		return "";
	}
	eq = strchr(line, '=');
	if (eq == NULL) {
		cfg_err(p, p->lineno, "expected \"key = value\"");
		return "";
	}
	*eq = '\0';
	name = cfg_trim(line);
	for (end = name; isalnum((unsigned char)*end) || *end == '_'; end++)
		;
	if (*name == '\0' || *end != '\0' || end - name > 64) {
		cfg_err(p, p->lineno, "invalid key name");
		return "";
	}
	strip_comment(eq + 1);
	p->value = cfg_trim(eq + 1);
	return name;
}

/* FNV-1a, 64 bits: enough to tell an edited file from the same one. */
static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* inih's fgets-style reader: see the DESIGN note at the top. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	ssize_t n;
	const char *text;

	n = getline(&p->buf, &p->bufcap, p->f);
	if (n < 0)
		return NULL;
	p->hash = hash_bytes(p->hash, p->buf, (size_t)n);
	p->lineno++;
	p->value = NULL;
	if (n > MAX_LINE) {
		cfg_err(p, p->lineno, "line longer than %d bytes", MAX_LINE);
		text = "";
	} else {
		text = prepare_line(p, p->buf);
	}
	if (num < 3 || strlen(text) + 3 > (size_t)num) {
		cfg_err(p, p->lineno, "key name too long");
		p->value = NULL;
	}
	/* inih splits the name; the value stays in p->value. */
	snprintf(str, (size_t)num, "%s%s\n", p->value != NULL ? text : "",
		 p->value != NULL ? "=" : "");
	return str;
}

/* Finds the key and checks it is given once; NULL after reporting. */
static const struct key *check_key(struct parse *p, const char *name, int *is_file)
{
	size_t len = strlen(name);
	const struct key *k;
	struct meta *m = cur_meta(p);
	size_t bit;

	*is_file = len > 5 && strcmp(name + len - 5, "_file") == 0;
	k = cfg_find_key(p->sec, name, *is_file ? len - 5 : len);
	if (k == NULL && *is_file)
		k = cfg_find_key(p->sec, name, len), *is_file = 0;
	if (k == NULL || (*is_file && !(k->flags & K_SECRET))) {
		cfg_unknown_key(p, name);
		return NULL;
	}
	bit = (size_t)(k - cfg_keys);
	if (m->seen[bit]) {
		if ((m->seen_file[bit] != 0) != (*is_file != 0))
			cfg_err(p, p->lineno, "%s given both as %s and %s_file", k->name, k->name,
				k->name);
		else
			cfg_err(p, p->lineno, "duplicate key \"%s\" (first at line %d)", name,
				m->key_line[k - cfg_keys]);
		return NULL;
	}
	m->seen[bit] = 1;
	if (*is_file)
		m->seen_file[bit] = 1;
	m->key_line[k - cfg_keys] = p->lineno;
	return k;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const struct key *k;
	char *v;
	int is_file;

	(void)section; /* the reader tracks sections, including empty ones */
	(void)value;   /* inih saw only "name="; the reader kept the value */
	if (p->sec == SEC_SKIP || p->value == NULL)
		return 1;
	if (p->sec == SEC_NONE) {
		cfg_err(p, p->lineno, "key \"%s\" outside of any section", name);
		return 1;
	}
	k = check_key(p, name, &is_file);
	if (k == NULL)
		return 1;
	if ((k->flags & K_SECRET) && !is_file && strstr(p->value, "${") == NULL)
		p->inline_secret = 1;
	if ((k->flags & K_SECRET) && p->read_only)
		return 1; /* see CONFIG_READ_ONLY */
	v = cfg_expand(p, p->value);
	if (v != NULL && is_file) {
		char *path = v;

		v = cfg_read_secret_file(p, k->name, path);
		free(path);
	}
	if (v != NULL && cfg_set_value(p, k, v, cur_base(p)) == ERR_NOMEM)
		cfg_err(p, p->lineno, "out of memory");
	return 1;
}

/* ---- public API ---- */

static struct config *config_new(const char *path)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	cfg_set_defaults(SEC_SERVER, (char *)c);
	cfg_set_defaults(SEC_MATILLION, (char *)c);
	cfg_set_defaults(SEC_DELIVERY, (char *)c);
	cfg_set_defaults(SEC_MEMORY, (char *)c);
	cfg_set_defaults(SEC_SLACK, (char *)c);
	cfg_set_defaults(SEC_POLL, (char *)c);
	if (c->path == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

struct config *config_load(const char *path, struct diags *d)
{
	return config_load_flags(path, 0, d);
}

struct config *config_load_flags(const char *path, unsigned flags, struct diags *d)
{
	struct parse p;
	size_t errors_before = d->n_errors;

	memset(&p, 0, sizeof(p));
	p.read_only = (flags & CONFIG_READ_ONLY) != 0;
	p.path = path;
	p.d = d;
	p.hash = 0xcbf29ce484222325ull;
	p.c = config_new(path);
	p.f = fopen(path, "r");
	if (p.c == NULL || p.f == NULL) {
		cfg_err(&p, 0, "cannot open: %s", p.f == NULL ? strerror(errno) : "out of memory");
		goto out;
	}
	if (ini_parse_stream(reader, &p, handler, &p) < 0 || ferror(p.f))
		cfg_err(&p, p.lineno, "read error");
	cfg_routes_resolve(&p);
	p.c->file_hash = p.hash;
	cfg_validate(&p);
	if (d->n_errors == errors_before)
		cfg_routes_sort(p.c);
out:
	if (p.f != NULL)
		fclose(p.f);
	free(p.buf);
	free(p.dmeta);
	free(p.pmeta);
	free(p.rmeta);
	if (d->n_errors != errors_before) {
		config_free(p.c);
		return NULL;
	}
	return p.c;
}

int config_same_file(const struct config *a, const struct config *b)
{
	return a != NULL && b != NULL && strcmp(a->path, b->path) == 0 &&
	       a->file_hash == b->file_hash;
}

static void project_free(struct project *pr)
{
	free(pr->id);
	cfg_free_fields(SEC_PROJECT, (char *)pr);
}

void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	cfg_free_fields(SEC_SERVER, (char *)c);
	cfg_free_fields(SEC_MATILLION, (char *)c);
	cfg_free_fields(SEC_DELIVERY, (char *)c);
	cfg_free_fields(SEC_MEMORY, (char *)c);
	cfg_free_fields(SEC_SLACK, (char *)c);
	for (i = 0; i < c->n_destinations; i++) {
		free(c->destinations[i].name);
		cfg_free_fields(SEC_DEST, (char *)&c->destinations[i]);
	}
	free(c->destinations);
	for (i = 0; i < c->n_projects; i++)
		project_free(&c->projects[i]);
	free(c->projects);
	if (c->default_route != NULL)
		project_free(c->default_route);
	free(c->default_route);
	for (i = 0; i < c->n_routes; i++) {
		free(c->routes[i].id);
		cfg_free_fields_except(SEC_PROJECT, (char *)&c->routes[i], c->routes[i].borrowed);
		cfg_free_fields(SEC_ROUTE, (char *)&c->routes[i]);
	}
	free(c->routes);
	free(c);
}

const struct destination *config_destination(const struct config *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->n_destinations; i++)
		if (strcmp(c->destinations[i].name, name) == 0)
			return &c->destinations[i];
	return NULL;
}

/* Characters a host[:port] may hold, IPv6 brackets included. */
