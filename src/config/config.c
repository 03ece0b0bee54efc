/* Configuration loading: reads the INI file with inih into a struct config,
 * checks every value and cross-reference, and reports each problem as
 * "file:line: message" so an operator can fix them all in one pass.
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
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <ini.h>

#include "auth.h"
#include "config.h"
#include "errors.h"
#include "status.h"
#include "target.h"

#define MAX_VALUE (64 * 1024)   /* expanded value or _file content */
#define MAX_LINE (64 * 1024)    /* physical line */
#define MAX_LIST 64             /* items in a comma list */
#define MAX_DESTS 256
#define MAX_PROJECTS 4096
#define MAX_DIAGS 500
#define MAX_KEYS 64             /* seen-masks are uint64_t */

static const char *const format_names[LOG_FMT__MAX] = {
	[LOG_FMT_LOGFMT] = "logfmt",
	[LOG_FMT_JSON] = "json",
};

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static const struct {
	const char *name;
	const char *api_base;
} regions[] = {
	{ "eu1", "https://eu1.api.matillion.com/dpc" },
	{ "us1", "https://us1.api.matillion.com/dpc" },
};

enum sec {
	SEC_NONE, SEC_SERVER, SEC_MATILLION, SEC_DELIVERY,
	SEC_DEST, SEC_PROJECT, SEC_DEFAULT, SEC_SKIP, SEC__MAX
};

static const char *const sec_names[SEC__MAX] = {
	[SEC_NONE] = "", [SEC_SERVER] = "server", [SEC_MATILLION] = "matillion",
	[SEC_DELIVERY] = "delivery", [SEC_DEST] = "destination",
	[SEC_PROJECT] = "project", [SEC_DEFAULT] = "default", [SEC_SKIP] = "?",
};

enum vtype {
	V_STR, V_LIST, V_INT, V_SIZE, V_BOOL, V_DUR, V_DUR64, V_LEVEL,
	V_FORMAT, V_REGION, V_DTYPE, V_RATE, V_STATUS
};

#define K_SECRET 1u /* accepts KEY_file; never echoed in messages */

struct key {
	enum sec sec;      /* SEC_PROJECT also serves [default] */
	const char *name;
	enum vtype type;
	size_t off;        /* field offset in the section's struct */
	size_t n_off;      /* V_LIST: offset of the item count */
	long long min, max;
	unsigned flags;
};

#define DAY 86400LL
#define CK(s, n, t, f, lo, hi, fl) { s, n, t, offsetof(struct config, f), 0, lo, hi, fl }
#define CL(s, n, f, nf, fl) \
	{ s, n, V_LIST, offsetof(struct config, f), offsetof(struct config, nf), 0, 0, fl }
#define DK(n, t, f, fl) { SEC_DEST, n, t, offsetof(struct destination, f), 0, 0, 0, fl }
#define PK(n, t, f) { SEC_PROJECT, n, t, offsetof(struct project, f), 0, 0, 0, 0 }
#define PL(n, f, nf) \
	{ SEC_PROJECT, n, V_LIST, offsetof(struct project, f), offsetof(struct project, nf), 0, 0, 0 }

/* Every key of every section; the table replaces per-key parsing code. */
static const struct key keys[] = {
	CK(SEC_SERVER, "listen", V_STR, listen, 0, 0, 0),
	CL(SEC_SERVER, "auth_token", auth_tokens, n_auth_tokens, K_SECRET),
	CL(SEC_SERVER, "hmac_secret", hmac_secrets, n_hmac_secrets, K_SECRET),
	CK(SEC_SERVER, "signature_tolerance", V_DUR, signature_tolerance, 1, DAY, 0),
	CK(SEC_SERVER, "allow_unauthenticated", V_BOOL, allow_unauthenticated, 0, 1, 0),
	CK(SEC_SERVER, "max_body", V_SIZE, max_body, 1024, 64LL << 20, 0),
	CK(SEC_SERVER, "max_json_depth", V_INT, max_json_depth, 1, 256, 0),
	CK(SEC_SERVER, "max_connections", V_INT, max_connections, 1, 100000, 0),
	CK(SEC_SERVER, "max_connections_per_ip", V_INT, max_connections_per_ip, 1, 100000, 0),
	CK(SEC_SERVER, "connection_timeout", V_DUR, connection_timeout, 1, 3600, 0),
	CK(SEC_SERVER, "store", V_STR, store, 0, 0, 0),
	CK(SEC_SERVER, "workers", V_INT, workers, 1, 64, 0),
	CK(SEC_SERVER, "shutdown_grace", V_DUR, shutdown_grace, 0, 3600, 0),
	CK(SEC_SERVER, "allow_core_dumps", V_BOOL, allow_core_dumps, 0, 1, 0),
	CK(SEC_SERVER, "log_level", V_LEVEL, log_level, 0, 0, 0),
	CK(SEC_SERVER, "log_format", V_FORMAT, log_format, 0, 0, 0),
	CK(SEC_MATILLION, "region", V_REGION, api_base, 0, 0, 0),
	CK(SEC_MATILLION, "api_base", V_STR, api_base, 0, 0, 0),
	CK(SEC_MATILLION, "token_url", V_STR, token_url, 0, 0, 0),
	CK(SEC_MATILLION, "client_id", V_STR, client_id, 0, 0, K_SECRET),
	CK(SEC_MATILLION, "client_secret", V_STR, client_secret, 0, 0, K_SECRET),
	CK(SEC_MATILLION, "ui_base", V_STR, ui_base, 0, 0, 0),
	CK(SEC_MATILLION, "requests_per_minute", V_INT, requests_per_minute, 0, 100000, 0),
	CK(SEC_MATILLION, "burst", V_INT, burst, 1, 10000, 0),
	CK(SEC_MATILLION, "max_child_depth", V_INT, max_child_depth, 0, 32, 0),
	CK(SEC_MATILLION, "max_api_calls", V_INT, max_api_calls, 1, 100000, 0),
	CK(SEC_DELIVERY, "max_attempts", V_INT, max_attempts, 1, 1000, 0),
	CK(SEC_DELIVERY, "max_age", V_DUR64, max_age, 60, 365 * DAY, 0),
	CK(SEC_DELIVERY, "retry_after_max", V_DUR64, retry_after_max, 1, DAY, 0),
	CK(SEC_DELIVERY, "dedup_window", V_DUR64, dedup_window, 0, 365 * DAY, 0),
	CK(SEC_DELIVERY, "degraded_notice", V_BOOL, degraded_notice, 0, 1, 0),
	CK(SEC_DELIVERY, "allow_http", V_BOOL, allow_http, 0, 1, 0),
	CK(SEC_DELIVERY, "ca_file", V_STR, ca_file, 0, 0, 0),
	CK(SEC_DELIVERY, "proxy", V_STR, proxy, 0, 0, 0),
	CK(SEC_DELIVERY, "connect_timeout", V_DUR, connect_timeout, 1, 300, 0),
	CK(SEC_DELIVERY, "timeout", V_DUR, timeout, 1, 3600, 0),
	DK("type", V_DTYPE, target, 0),
	DK("url", V_STR, url, K_SECRET),
	DK("mention", V_STR, mention, 0),
	DK("rate", V_RATE, rate_per_sec, 0),
	PK("name", V_STR, name),
	PL("destinations", destinations, n_destinations),
	PK("notify_on", V_STATUS, notify_on),
	PL("environments", environments, n_environments),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(sizeof(keys) / sizeof(keys[0]) <= MAX_KEYS, "seen masks hold 64 keys");

/* Where a section instance and each of its keys were given. */
struct meta {
	int line;              /* header line; 0 when the section is absent */
	uint64_t seen;         /* keys given */
	uint64_t seen_file;    /* keys given as KEY_file */
	int key_line[NKEYS];
};

struct parse {
	const char *path;
	struct config *c;
	struct diags *d;
	FILE *f;
	char *buf;             /* getline buffer */
	size_t bufcap;
	int lineno;
	const char *value;     /* value of the current key line (in buf) */
	enum sec sec;
	size_t idx;            /* current destination or project */
	struct meta single[SEC_DELIVERY + 1];
	struct meta *dmeta;    /* parallel to c->destinations */
	struct meta *pmeta;    /* parallel to c->projects */
	struct meta defmeta;
	const char *region;    /* static name from regions[] */
	int inline_secret;     /* a secret is written in the file itself */
};

/* ---- diagnostics ---- */

static void diag_vadd(struct diags *d, int warn, const char *path, int line,
		      const char *fmt, va_list ap)
{
	char msg[1024];
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
	n = snprintf(NULL, 0, "%s:%d: %s%s", path, line, warn ? "warning: " : "", msg);
	s = malloc((size_t)n + 1);
	grown = realloc(d->lines, (d->n + 1) * sizeof(*d->lines));
	if (s == NULL || grown == NULL) {
		free(s);
		if (grown != NULL)
			d->lines = grown;
		return;
	}
	d->lines = grown;
	snprintf(s, (size_t)n + 1, "%s:%d: %s%s", path, line, warn ? "warning: " : "", msg);
	d->lines[d->n++] = s;
}

__attribute__((format(printf, 3, 4)))
static void perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(p->d, 0, p->path, line, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void pwarn(struct parse *p, int line, const char *fmt, ...)
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

/* ---- small helpers ---- */

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int valid_name(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("._:-", *s) == NULL)
			return 0;
	return 1;
}

static int parse_ll(const char *s, long long *out)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return 0;
}

/* Seconds, or a number with one of the suffixes s, m, h, d. */
static int parse_duration(const char *s, long long *out)
{
	static const struct { char c; long long mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char num[32];
	size_t len = strlen(s), i;
	long long mul = 1;

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (num[len - 1] == units[i].c) {
			num[--len] = '\0';
			mul = units[i].mul;
			break;
		}
	}
	if (parse_ll(num, out) != 0 || *out < 0 || *out > LLONG_MAX / mul)
		return -1;
	*out *= mul;
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "true", "yes", "1", "on" };
	static const char *const no[] = { "false", "no", "0", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -1;
}

/* ---- value sources: ${ENV} and KEY_file ---- */

static int buf_append(char *out, size_t *len, const char *s, size_t n)
{
	if (*len + n >= MAX_VALUE)
		return -1;
	memcpy(out + *len, s, n);
	*len += n;
	out[*len] = '\0';
	return 0;
}

/* Expands ${NAME} from the environment. Returns a new string or NULL after
 * reporting the problem. */
static char *expand(struct parse *p, const char *in)
{
	char *out = malloc(MAX_VALUE);
	char name[128];
	size_t len = 0, n;
	const char *end, *val;

	if (out == NULL)
		goto nomem;
	out[0] = '\0';
	while (*in != '\0') {
		if (in[0] != '$' || in[1] != '{') {
			if (buf_append(out, &len, in++, 1) != 0)
				goto toolong;
			continue;
		}
		end = strchr(in + 2, '}');
		n = end == NULL ? 0 : (size_t)(end - in - 2);
		if (end == NULL || n == 0 || n >= sizeof(name)) {
			perr(p, p->lineno, "malformed ${...} reference");
			goto fail;
		}
		memcpy(name, in + 2, n);
		name[n] = '\0';
		val = getenv(name);
		if (val == NULL) {
			perr(p, p->lineno, "environment variable %s is not set", name);
			goto fail;
		}
		if (buf_append(out, &len, val, strlen(val)) != 0)
			goto toolong;
		in = end + 1;
	}
	return out;
toolong:
	perr(p, p->lineno, "value longer than %d bytes", MAX_VALUE);
	goto fail;
nomem:
	perr(p, p->lineno, "out of memory");
fail:
	free(out);
	return NULL;
}

/* Reads a secret from path: at most MAX_VALUE bytes, trailing whitespace
 * removed. Returns a new string or NULL after reporting the problem. */
static char *read_secret_file(struct parse *p, const char *key, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *out = NULL;
	size_t n;

	if (f == NULL) {
		perr(p, p->lineno, "%s_file: cannot open %s: %s", key, path, strerror(errno));
		goto out;
	}
	out = malloc(MAX_VALUE + 1);
	if (out == NULL) {
		perr(p, p->lineno, "out of memory");
		goto out;
	}
	n = fread(out, 1, MAX_VALUE + 1, f);
	if (ferror(f) || n > MAX_VALUE || memchr(out, '\0', n) != NULL) {
		perr(p, p->lineno, "%s_file: %s is unreadable, binary or larger than %d bytes",
		     key, path, MAX_VALUE);
		goto fail;
	}
	out[n] = '\0';
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		out[--n] = '\0';
	if (n == 0) {
		perr(p, p->lineno, "%s_file: %s is empty", key, path);
		goto fail;
	}
	goto out;
fail:
	free(out);
	out = NULL;
out:
	if (f != NULL)
		fclose(f);
	return out;
}

/* ---- typed values ---- */

/* Splits s on commas into trimmed, non-empty items. */
static int parse_list(struct parse *p, const char *what, char *s, char ***out, size_t *n)
{
	char **v = calloc(MAX_LIST, sizeof(*v));
	char *item, *comma;
	size_t i = 0;

	if (v == NULL)
		return ERR_NOMEM;
	for (item = s; item != NULL; item = comma) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma++ = '\0';
		item = trim(item);
		if (*item == '\0' || i == MAX_LIST) {
			perr(p, p->lineno, "%s: %s", what,
			     i == MAX_LIST ? "too many items" : "empty item in list");
			goto fail;
		}
		v[i] = strdup(item);
		if (v[i++] == NULL) {
			free_list(v, i);
			return ERR_NOMEM;
		}
	}
	*out = v;
	*n = i;
	return 0;
fail:
	free_list(v, i);
	return ERR_CONFIG;
}

static int parse_status_mask(struct parse *p, char *s, unsigned *mask)
{
	char **words = NULL;
	size_t n = 0, i;
	enum run_status st;
	int rc;

	rc = parse_list(p, "notify_on", s, &words, &n);
	if (rc != 0)
		return rc;
	*mask = 0;
	for (i = 0; i < n; i++) {
		st = status_parse(words[i]);
		if (st == ST_UNKNOWN) {
			perr(p, p->lineno, "notify_on: unknown status \"%s\"", words[i]);
			rc = ERR_CONFIG;
			break;
		}
		*mask |= STATUS_BIT(st);
	}
	free_list(words, n);
	return rc;
}

static int bad_value(struct parse *p, const struct key *k, const char *v, const char *want)
{
	if (k->flags & K_SECRET)
		perr(p, p->lineno, "%s: invalid value; expected %s", k->name, want);
	else
		perr(p, p->lineno, "%s: invalid value \"%s\"; expected %s", k->name, v, want);
	return ERR_CONFIG;
}

static int set_number(struct parse *p, const struct key *k, const char *v, void *field)
{
	long long n;
	int bad = k->type == V_DUR || k->type == V_DUR64 ? parse_duration(v, &n) : parse_ll(v, &n);
	char want[96];

	if (bad != 0 || n < k->min || n > k->max) {
		snprintf(want, sizeof(want), "%s %lld..%lld",
			 k->type == V_DUR || k->type == V_DUR64 ? "seconds (or s/m/h/d suffix)" :
			 "an integer", k->min, k->max);
		return bad_value(p, k, v, want);
	}
	if (k->type == V_SIZE)
		*(size_t *)field = (size_t)n;
	else if (k->type == V_DUR64)
		*(int64_t *)field = (int64_t)n;
	else
		*(int *)field = (int)n;
	return 0;
}

/* type = NAME: a row of the target table, which also words the error. */
static int set_target(struct parse *p, const struct key *k, const char *v,
		      const struct target **field)
{
	char names[256];

	*field = target_find(v);
	if (*field != NULL)
		return 0;
	target_names(names, sizeof(names), NULL);
	return bad_value(p, k, v, names);
}

static int set_enum(struct parse *p, const struct key *k, const char *v, void *field)
{
	int i;

	switch (k->type) {
	case V_LEVEL:
		if (name_index(level_names, 4, v) < 0)
			return bad_value(p, k, v, "debug, info, warn or error");
		return (*(char **)field = strdup(v)) == NULL ? ERR_NOMEM : 0;
	case V_FORMAT:
		i = name_index(format_names, LOG_FMT__MAX, v);
		if (i < 0)
			return bad_value(p, k, v, "logfmt or json");
		*(enum log_format *)field = (enum log_format)i;
		return 0;
	case V_DTYPE:
		return set_target(p, k, v, (const struct target **)field);
	default:
		for (i = 0; i < (int)(sizeof(regions) / sizeof(regions[0])); i++) {
			if (strcasecmp(v, regions[i].name) == 0) {
				p->region = regions[i].name;
				return 0;
			}
		}
		return bad_value(p, k, v, "eu1 or us1");
	}
}

static int set_rate(struct parse *p, const struct key *k, const char *v, double *field)
{
	char *end;
	double r;

	errno = 0;
	r = strtod(v, &end);
	if (*v == '\0' || *end != '\0' || errno != 0 || !(r > 0.0 && r <= 1000.0))
		return bad_value(p, k, v, "messages per second, above 0 and at most 1000");
	*field = r;
	return 0;
}

/* Stores value v (owned; consumed) into the field k names in base. */
static int set_value(struct parse *p, const struct key *k, char *v, char *base)
{
	void *field = base + k->off;
	int rc = 0;

	switch (k->type) {
	case V_STR:
		if (*v == '\0') {
			rc = bad_value(p, k, v, "a non-empty value");
		} else {
			*(char **)field = v;
			v = NULL; /* now owned by the config */
		}
		break;
	case V_LIST:
		rc = parse_list(p, k->name, v, (char ***)field, (size_t *)(base + k->n_off));
		break;
	case V_BOOL:
		if (parse_bool(v, (int *)field) != 0)
			rc = bad_value(p, k, v, "true or false");
		break;
	case V_RATE:
		rc = set_rate(p, k, v, (double *)field);
		break;
	case V_STATUS:
		rc = parse_status_mask(p, v, (unsigned *)field);
		break;
	case V_INT: case V_SIZE: case V_DUR: case V_DUR64:
		rc = set_number(p, k, v, field);
		break;
	default:
		rc = set_enum(p, k, v, field);
		break;
	}
	free(v);
	return rc;
}

/* ---- sections ---- */

static struct meta *cur_meta(struct parse *p)
{
	switch (p->sec) {
	case SEC_DEST:
		return &p->dmeta[p->idx];
	case SEC_PROJECT:
		return &p->pmeta[p->idx];
	case SEC_DEFAULT:
		return &p->defmeta;
	default:
		return &p->single[p->sec];
	}
}

static char *cur_base(struct parse *p)
{
	switch (p->sec) {
	case SEC_DEST:
		return (char *)&p->c->destinations[p->idx];
	case SEC_PROJECT:
		return (char *)&p->c->projects[p->idx];
	case SEC_DEFAULT:
		return (char *)p->c->default_route;
	default:
		return (char *)p->c;
	}
}

static void project_init(struct project *pr)
{
	memset(pr, 0, sizeof(*pr));
	pr->notify_on = STATUS_BIT(ST_FAILED);
}

/* Line of an earlier [destination NAME] / [project NAME], or 0. */
static int earlier_section(struct parse *p, int is_dest, const char *name)
{
	const struct config *c = p->c;
	size_t i, n = is_dest ? c->n_destinations : c->n_projects;

	for (i = 0; i < n; i++)
		if (strcmp(is_dest ? c->destinations[i].name : c->projects[i].id, name) == 0)
			return is_dest ? p->dmeta[i].line : p->pmeta[i].line;
	return 0;
}

/* Grows the section array and its meta array by one zeroed entry. The
 * meta array grows first so the two never disagree on the count. */
static int grow(struct parse *p, int is_dest, size_t n)
{
	struct meta **mp = is_dest ? &p->dmeta : &p->pmeta;
	struct meta *m = realloc(*mp, (n + 1) * sizeof(**mp));
	void *arr;

	if (m == NULL)
		return ERR_NOMEM;
	*mp = m;
	memset(&m[n], 0, sizeof(m[n]));
	m[n].line = p->lineno;
	if (is_dest) {
		arr = realloc(p->c->destinations, (n + 1) * sizeof(struct destination));
		if (arr != NULL)
			p->c->destinations = arr;
	} else {
		arr = realloc(p->c->projects, (n + 1) * sizeof(struct project));
		if (arr != NULL)
			p->c->projects = arr;
	}
	return arr == NULL ? ERR_NOMEM : 0;
}

/* Appends a [destination] (is_dest) or [project]; reports duplicates. */
static int add_named(struct parse *p, int is_dest, const char *name)
{
	struct config *c = p->c;
	size_t n = is_dest ? c->n_destinations : c->n_projects;
	int first = earlier_section(p, is_dest, name);
	char *copy;

	if (first != 0) {
		perr(p, p->lineno, "duplicate section [%s %s] (first at line %d)",
		     is_dest ? "destination" : "project", name, first);
		return ERR_CONFIG;
	}
	if (n >= (is_dest ? MAX_DESTS : MAX_PROJECTS)) {
		perr(p, p->lineno, "too many [%s] sections", is_dest ? "destination" : "project");
		return ERR_LIMIT;
	}
	copy = strdup(name);
	if (copy == NULL || grow(p, is_dest, n) != 0) {
		free(copy);
		perr(p, p->lineno, "out of memory");
		return ERR_NOMEM;
	}
	if (is_dest) {
		memset(&c->destinations[n], 0, sizeof(c->destinations[n]));
		c->destinations[n].name = copy;
		c->n_destinations++;
	} else {
		project_init(&c->projects[n]);
		c->projects[n].id = copy;
		c->n_projects++;
	}
	p->idx = n;
	return 0;
}

static int begin_default(struct parse *p)
{
	if (p->c->default_route != NULL) {
		perr(p, p->lineno, "duplicate section [default] (first at line %d)", p->defmeta.line);
		return ERR_CONFIG;
	}
	p->c->default_route = malloc(sizeof(*p->c->default_route));
	if (p->c->default_route != NULL) {
		project_init(p->c->default_route);
		p->c->default_route->id = strdup("");
	}
	p->defmeta.line = p->lineno;
	if (p->c->default_route == NULL || p->c->default_route->id == NULL) {
		perr(p, p->lineno, "out of memory");
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
	name = trim(name);
	kind = name_index(sec_names, SEC_SKIP, hdr);
	p->sec = SEC_SKIP;
	if (kind <= SEC_NONE) {
		perr(p, p->lineno, "unknown section [%s]", hdr);
	} else if ((kind == SEC_DEST || kind == SEC_PROJECT) != (*name != '\0')) {
		perr(p, p->lineno, "section [%s] %s", hdr,
		     *name != '\0' ? "takes no name" : "needs a name");
	} else if (*name != '\0' && !valid_name(name)) {
		perr(p, p->lineno, "[%s %s]: name may only hold A-Z a-z 0-9 . _ : -", hdr, name);
	} else if (kind == SEC_DEST || kind == SEC_PROJECT) {
		if (add_named(p, kind == SEC_DEST, name) == 0)
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
	line = trim(line);
	if (*line == '\0' || *line == ';' || *line == '#')
		return "";
	if (*line == '[') {
		end = strchr(line, ']');
		if (end == NULL || (end[1] != '\0' && end[1] != ';' && end[1] != '#' &&
				    !isspace((unsigned char)end[1]))) {
			perr(p, p->lineno, "malformed section header");
			p->sec = SEC_SKIP;
			return "";
		}
		*end = '\0';
		begin_section(p, trim(line + 1));
		return "";
	}
	eq = strchr(line, '=');
	if (eq == NULL) {
		perr(p, p->lineno, "expected \"key = value\"");
		return "";
	}
	*eq = '\0';
	name = trim(line);
	for (end = name; isalnum((unsigned char)*end) || *end == '_'; end++)
		;
	if (*name == '\0' || *end != '\0' || end - name > 64) {
		perr(p, p->lineno, "invalid key name");
		return "";
	}
	strip_comment(eq + 1);
	p->value = trim(eq + 1);
	return name;
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
	p->lineno++;
	p->value = NULL;
	if (n > MAX_LINE) {
		perr(p, p->lineno, "line longer than %d bytes", MAX_LINE);
		text = "";
	} else {
		text = prepare_line(p, p->buf);
	}
	if (num < 3 || strlen(text) + 3 > (size_t)num) {
		perr(p, p->lineno, "key name too long");
		p->value = NULL;
	}
	/* inih splits the name; the value stays in p->value. */
	snprintf(str, (size_t)num, "%s%s\n", p->value != NULL ? text : "",
		 p->value != NULL ? "=" : "");
	return str;
}

static const struct key *find_key(enum sec sec, const char *name, size_t len)
{
	size_t i;

	if (sec == SEC_DEFAULT)
		sec = SEC_PROJECT;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sec == sec && strlen(keys[i].name) == len &&
		    strncmp(keys[i].name, name, len) == 0)
			return &keys[i];
	return NULL;
}

/* Finds the key and checks it is given once; NULL after reporting. */
static const struct key *check_key(struct parse *p, const char *name, int *is_file)
{
	size_t len = strlen(name);
	const struct key *k;
	struct meta *m = cur_meta(p);
	uint64_t bit;

	*is_file = len > 5 && strcmp(name + len - 5, "_file") == 0;
	k = find_key(p->sec, name, *is_file ? len - 5 : len);
	if (k == NULL && *is_file)
		k = find_key(p->sec, name, len), *is_file = 0;
	if (k == NULL || (*is_file && !(k->flags & K_SECRET))) {
		perr(p, p->lineno, "unknown key \"%s\" in [%s]", name, sec_names[p->sec]);
		return NULL;
	}
	bit = 1ull << (k - keys);
	if (m->seen & bit) {
		if (((m->seen_file & bit) != 0) != (*is_file != 0))
			perr(p, p->lineno, "%s given both as %s and %s_file", k->name, k->name, k->name);
		else
			perr(p, p->lineno, "duplicate key \"%s\" (first at line %d)", name,
			     m->key_line[k - keys]);
		return NULL;
	}
	m->seen |= bit;
	if (*is_file)
		m->seen_file |= bit;
	m->key_line[k - keys] = p->lineno;
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
		perr(p, p->lineno, "key \"%s\" outside of any section", name);
		return 1;
	}
	k = check_key(p, name, &is_file);
	if (k == NULL)
		return 1;
	if ((k->flags & K_SECRET) && !is_file && strstr(p->value, "${") == NULL)
		p->inline_secret = 1;
	v = expand(p, p->value);
	if (v != NULL && is_file) {
		char *path = v;

		v = read_secret_file(p, k->name, path);
		free(path);
	}
	if (v != NULL && set_value(p, k, v, cur_base(p)) == ERR_NOMEM)
		perr(p, p->lineno, "out of memory");
	return 1;
}

/* ---- validation ---- */

static int key_line(const struct meta *m, const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0 && (m->seen & (1ull << i)))
			return m->key_line[i];
	return m->line;
}

static int url_scheme_ok(struct parse *p, const char *url, int line, const char *what)
{
	const unsigned char *u;
	size_t skip;

	/* libcurl takes a backslash as a path separator, a reader of the
	 * config (or of a redacted URL) does not: refuse the ambiguity. */
	for (u = (const unsigned char *)url; *u != '\0'; u++) {
		if (*u == '\\' || *u <= 0x20 || *u == 0x7f) {
			perr(p, line, "%s contains a backslash, a space or a control character;"
			     " write it with / separators", what);
			return 0;
		}
	}
	if (strncasecmp(url, "https://", 8) == 0)
		skip = 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		skip = 7;
	else
		skip = 0;
	if (skip == 0 || url[skip] == '\0' || url[skip] == '/') {
		perr(p, line, "%s must be an http(s) URL", what);
		return 0;
	}
	if (skip == 7 && !p->c->allow_http) {
		perr(p, line, "%s uses http://; set [delivery] allow_http = true to permit it", what);
		return 0;
	}
	return 1;
}

/* The target's own URL rule and default rate, once type and url are known. */
static void check_target(struct parse *p, struct destination *d, const struct meta *m)
{
	const char *warning;

	if (d->target == NULL)
		return; /* reported as missing or invalid */
	warning = d->target->url_warning != NULL ? d->target->url_warning(d->url) : NULL;
	if (warning != NULL)
		pwarn(p, key_line(m, "url"), "%s", warning);
	if (d->rate_per_sec == 0.0)
		d->rate_per_sec = d->target->default_rate;
}

static void check_destinations(struct parse *p)
{
	char names[256];
	size_t i;
	struct destination *d;
	struct meta *m;

	if (p->c->n_destinations == 0)
		perr(p, 0, "no [destination NAME] section; at least one is required");
	for (i = 0; i < p->c->n_destinations; i++) {
		d = &p->c->destinations[i];
		m = &p->dmeta[i];
		if (key_line(m, "type") == m->line) {
			target_names(names, sizeof(names), NULL);
			perr(p, m->line, "[destination %s] needs type = %s", d->name, names);
		}
		if (d->url == NULL) {
			/* A url that was given but failed has been reported. */
			if (key_line(m, "url") == m->line)
				perr(p, m->line, "[destination %s] needs url", d->name);
			continue;
		}
		if (!url_scheme_ok(p, d->url, key_line(m, "url"), "url"))
			continue;
		check_target(p, d, m);
	}
}

static void check_route(struct parse *p, const struct project *pr, const struct meta *m)
{
	size_t i;
	const char *label = pr->id[0] != '\0' ? pr->id : "(default)";

	if (pr->n_destinations == 0)
		perr(p, m->line, "project %s: destinations is required", label);
	for (i = 0; i < pr->n_destinations; i++)
		if (config_destination(p->c, pr->destinations[i]) == NULL)
			perr(p, key_line(m, "destinations"), "project %s: unknown destination \"%s\"",
			     label, pr->destinations[i]);
}

/* host:port with port 0..65535; an IPv6 host must be in brackets. */
static int listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	long long port;
	size_t hl;

	if (colon == NULL || colon == s || parse_ll(colon + 1, &port) != 0 ||
	    port < 0 || port > 65535 || colon[1] == '+' || colon[1] == '-')
		return 0;
	hl = (size_t)(colon - s);
	if (s[0] == '[')
		return hl > 2 && s[hl - 1] == ']' && memchr(s + 1, ']', hl - 2) == NULL;
	return memchr(s, ':', hl) == NULL && memchr(s, ']', hl) == NULL;
}

static void check_server(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_SERVER];
	size_t i;

	if (!listen_ok(c->listen))
		perr(p, key_line(m, "listen"), "listen: expected host:port (port 0..65535, [v6]:port)");
	/* A token or secret that was given but failed has been reported. */
	for (i = 0; i < c->n_hmac_secrets; i++) {
		/* The secret itself never goes into a message. */
		if (!auth_secret_ok(c->hmac_secrets[i]))
			perr(p, key_line(m, "hmac_secret"), "hmac_secret: a whsec_ secret must be"
			     " standard base64 after the prefix (A-Z a-z 0-9 + /, '=' only at the"
			     " end, at most 255 bytes); item %zu is not", i + 1);
	}
	if (c->n_auth_tokens == 0 && c->n_hmac_secrets == 0 && !c->allow_unauthenticated &&
	    key_line(m, "auth_token") == m->line && key_line(m, "hmac_secret") == m->line)
		perr(p, m->line,
		     "no webhook authentication configured; set auth_token or allow_unauthenticated = true");
}

static void check_matillion(struct parse *p)
{
	struct config *c = p->c;
	const struct meta *m = &p->single[SEC_MATILLION];
	size_t i;

	if (p->region != NULL && c->api_base != NULL) {
		perr(p, key_line(m, "api_base"), "set region or api_base, not both");
	} else if (c->api_base == NULL) {
		for (i = 0; p->region != NULL && strcmp(regions[i].name, p->region) != 0; i++)
			;
		c->api_base = strdup(regions[p->region != NULL ? i : 0].api_base);
		if (c->api_base == NULL)
			perr(p, 0, "out of memory");
	}
	if (c->client_id == NULL)
		perr(p, m->line, "[matillion] client_id is required");
	if (c->client_secret == NULL)
		perr(p, m->line, "[matillion] client_secret is required");
	if (c->api_base != NULL)
		url_scheme_ok(p, c->api_base, key_line(m, "api_base"), "api_base");
	url_scheme_ok(p, c->token_url, key_line(m, "token_url"), "token_url");
	url_scheme_ok(p, c->ui_base, key_line(m, "ui_base"), "ui_base");
}

static int fill_string_defaults(struct config *c)
{
	static const struct { size_t off; const char *def; } defs[] = {
		{ offsetof(struct config, listen), "127.0.0.1:8080" },
		{ offsetof(struct config, store), "/var/lib/dpc-notify/dpc-notify.db" },
		{ offsetof(struct config, log_level), "info" },
		{ offsetof(struct config, token_url), "https://id.core.matillion.com/oauth/dpc/token" },
		{ offsetof(struct config, ui_base), "https://app.matillion.com" },
	};
	size_t i;
	char **field;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		field = (char **)((char *)c + defs[i].off);
		if (*field == NULL)
			*field = strdup(defs[i].def);
		if (*field == NULL)
			return ERR_NOMEM;
	}
	return 0;
}

static void check_permissions(struct parse *p)
{
	struct stat st;

	if (p->inline_secret && fstat(fileno(p->f), &st) == 0 &&
	    (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
		pwarn(p, 0, "%s is readable by other users and holds secrets; "
		      "chmod 600 it or use ${ENV} / KEY_file", p->path);
}

static void validate(struct parse *p)
{
	size_t i;

	if (fill_string_defaults(p->c) != 0) {
		perr(p, 0, "out of memory");
		return;
	}
	check_server(p);
	check_matillion(p);
	check_destinations(p);
	for (i = 0; i < p->c->n_projects; i++)
		check_route(p, &p->c->projects[i], &p->pmeta[i]);
	if (p->c->default_route != NULL)
		check_route(p, p->c->default_route, &p->defmeta);
	check_permissions(p);
}

/* ---- public API ---- */

static struct config *config_new(const char *path)
{
	struct config *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->path = strdup(path);
	c->signature_tolerance = 300;
	c->max_body = 65536;
	c->max_json_depth = 16;
	c->max_connections = 256;
	c->max_connections_per_ip = 32;
	c->connection_timeout = 10;
	c->workers = 4;
	c->shutdown_grace = 20;
	c->log_format = LOG_FMT_LOGFMT;
	c->requests_per_minute = 60;
	c->burst = 5;
	c->max_child_depth = 5;
	c->max_api_calls = 50;
	c->max_attempts = 12;
	c->max_age = 86400;
	c->retry_after_max = 300;
	c->dedup_window = 604800;
	c->degraded_notice = 1;
	c->connect_timeout = 5;
	c->timeout = 20;
	if (c->path == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

struct config *config_load(const char *path, struct diags *d)
{
	struct parse p;
	size_t errors_before = d->n_errors;

	memset(&p, 0, sizeof(p));
	p.path = path;
	p.d = d;
	p.c = config_new(path);
	p.f = fopen(path, "r");
	if (p.c == NULL || p.f == NULL) {
		perr(&p, 0, "cannot open: %s", p.f == NULL ? strerror(errno) : "out of memory");
		goto out;
	}
	if (ini_parse_stream(reader, &p, handler, &p) < 0 || ferror(p.f))
		perr(&p, p.lineno, "read error");
	validate(&p);
out:
	if (p.f != NULL)
		fclose(p.f);
	free(p.buf);
	free(p.dmeta);
	free(p.pmeta);
	if (d->n_errors != errors_before) {
		config_free(p.c);
		return NULL;
	}
	return p.c;
}

static void project_free(struct project *pr)
{
	free(pr->id);
	free(pr->name);
	free_list(pr->destinations, pr->n_destinations);
	free_list(pr->environments, pr->n_environments);
}

void config_free(struct config *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->listen);
	free_list(c->auth_tokens, c->n_auth_tokens);
	free_list(c->hmac_secrets, c->n_hmac_secrets);
	free(c->store);
	free(c->log_level);
	free(c->api_base);
	free(c->token_url);
	free(c->client_id);
	free(c->client_secret);
	free(c->ui_base);
	free(c->ca_file);
	free(c->proxy);
	for (i = 0; i < c->n_destinations; i++) {
		free(c->destinations[i].name);
		free(c->destinations[i].url);
		free(c->destinations[i].mention);
	}
	free(c->destinations);
	for (i = 0; i < c->n_projects; i++)
		project_free(&c->projects[i]);
	free(c->projects);
	if (c->default_route != NULL)
		project_free(c->default_route);
	free(c->default_route);
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
#define HOST_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-:[]"
#define SCHEME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"

/* Rule: scheme://host[:port]/ then at most two characters of the first
 * path segment (of the one after /services/ for Slack-style URLs), then
 * "…redacted". User info, the rest of the path, query and fragment go.
 * A backslash separates like a slash; a host that holds anything else
 * than host characters (%5C, ;) is cut there and no path shows, so no
 * spelling of the separators lets the secret part pass for the host. */
void config_redact_url(const char *url, char *out, size_t outlen)
{
	const char *sep, *h, *end, *seg = "", *at, *prefix = "";
	size_t hl, sl = 0;

	if (outlen == 0)
		return;
	sep = url != NULL ? strstr(url, "://") : NULL;
	if (sep == NULL || sep == url || sep - url > 10 ||
	    strspn(url, SCHEME_CHARS) != (size_t)(sep - url)) {
		snprintf(out, outlen, "…redacted");
		return;
	}
	h = sep + 3;
	end = h + strcspn(h, "/\\?#");
	/* Drop user:password@ */
	while ((at = memchr(h, '@', (size_t)(end - h))) != NULL)
		h = at + 1;
	hl = strspn(h, HOST_CHARS);
	if (hl > (size_t)(end - h))
		hl = (size_t)(end - h);
	if (hl == (size_t)(end - h) && (*end == '/' || *end == '\\')) {
		seg = end + 1;
		if (strncmp(seg, "services", 8) == 0 && (seg[8] == '/' || seg[8] == '\\')) {
			prefix = "services/";
			seg += 9;
		}
		sl = strcspn(seg, "/\\?#;&=%@");
		if (sl > 2)
			sl = 2;
	}
	snprintf(out, outlen, "%.*s://%.*s/%s%.*s…redacted", (int)(sep - url), url, (int)hl, h,
		 prefix, (int)sl, seg);
}

static void print_list(FILE *out, char *const *v, size_t n, const char *none)
{
	size_t i;

	if (n == 0)
		fputs(none, out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i > 0 ? "," : "", v[i]);
}

static void print_route(const struct project *pr, FILE *out)
{
	int st, first = 1;

	if (pr->id[0] != '\0')
		fprintf(out, "  %s%s%s%s\n", pr->id, pr->name != NULL ? " (" : "",
			pr->name != NULL ? pr->name : "", pr->name != NULL ? ")" : "");
	else
		fprintf(out, "  [default]\n");
	fputs("    destinations ", out);
	print_list(out, pr->destinations, pr->n_destinations, "(none)");
	fputs("; notify_on ", out);
	for (st = 0; st < ST__MAX; st++) {
		if (pr->notify_on & STATUS_BIT(st)) {
			fprintf(out, "%s%s", first ? "" : ",", status_names[st]);
			first = 0;
		}
	}
	fputs("; environments ", out);
	print_list(out, pr->environments, pr->n_environments, "(all)");
	fputc('\n', out);
}

void config_print_summary(const struct config *c, FILE *out)
{
	size_t i, j;
	char red[256];
	const struct destination *d;

	fprintf(out, "config:       %s\n", c->path);
	fprintf(out, "listen:       %s\n", c->listen);
	if (c->n_auth_tokens == 0 && c->n_hmac_secrets == 0)
		fprintf(out, "auth:         UNAUTHENTICATED\n");
	else
		fprintf(out, "auth:         %zu token%s, %zu HMAC secret%s (tolerance %ds)\n",
			c->n_auth_tokens, c->n_auth_tokens == 1 ? "" : "s", c->n_hmac_secrets,
			c->n_hmac_secrets == 1 ? "" : "s", c->signature_tolerance);
	fprintf(out, "store:        %s\n", c->store);
	fprintf(out, "workers:      %d (log %s %s)\n", c->workers, c->log_level,
		format_names[c->log_format]);
	fprintf(out, "core dumps:   %s\n", c->allow_core_dumps ? "allowed (allow_core_dumps = true)" :
		"off (the process is not dumpable, core limit 0)");
	fprintf(out, "matillion:    api_base %s\n", c->api_base);
	fprintf(out, "              token_url %s\n", c->token_url);
	fprintf(out, "              client_id %s, client_secret %s\n",
		c->client_id != NULL ? "set" : "MISSING", c->client_secret != NULL ? "set" : "MISSING");
	fprintf(out, "delivery:     max_attempts %d, max_age %llds, proxy %s%s\n", c->max_attempts,
		(long long)c->max_age, c->proxy != NULL ? "set" : "none",
		c->allow_http ? ", http allowed" : "");
	fprintf(out, "projects:     %zu\n", c->n_projects);
	for (i = 0; i < c->n_projects; i++)
		print_route(&c->projects[i], out);
	if (c->default_route != NULL)
		print_route(c->default_route, out);
	else
		fprintf(out, "  (no [default]: runs of other projects are not notified)\n");
	fprintf(out, "destinations: %zu\n", c->n_destinations);
	for (j = 0; j < c->n_destinations; j++) {
		d = &c->destinations[j];
		config_redact_url(d->url, red, sizeof(red));
		fprintf(out, "  %-16s %-5s %s rate %.2g/s%s\n", d->name, d->target->name, red,
			d->rate_per_sec, d->mention != NULL ? " mention set" : "");
	}
}

/* ---- holder ---- */

struct snap {
	struct config *c;
	unsigned refs;     /* readers plus one while current */
	struct snap *next; /* retired snapshots still referenced */
};

struct config_holder {
	pthread_mutex_t mu;
	struct snap *cur;
	struct snap *retired;
};

static struct snap *snap_new(struct config *c)
{
	struct snap *s = calloc(1, sizeof(*s));

	if (s != NULL) {
		s->c = c;
		s->refs = 1;
	}
	return s;
}

struct config_holder *config_holder_new(struct config *c)
{
	struct config_holder *h;

	if (c == NULL)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (h == NULL || pthread_mutex_init(&h->mu, NULL) != 0)
		goto fail;
	h->cur = snap_new(c);
	if (h->cur == NULL) {
		pthread_mutex_destroy(&h->mu);
		goto fail;
	}
	return h;
fail:
	free(h);
	config_free(c);
	return NULL;
}

void config_holder_free(struct config_holder *h)
{
	struct snap *s, *next;

	if (h == NULL)
		return;
	for (s = h->retired; s != NULL; s = next) {
		next = s->next;
		config_free(s->c);
		free(s);
	}
	config_free(h->cur->c);
	free(h->cur);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

const struct config *config_get(struct config_holder *h)
{
	const struct config *c;

	pthread_mutex_lock(&h->mu);
	h->cur->refs++;
	c = h->cur->c;
	pthread_mutex_unlock(&h->mu);
	return c;
}

/* Drops one reference of s; called with the lock held. */
static void snap_unref(struct config_holder *h, struct snap *s)
{
	struct snap **pp;

	if (--s->refs > 0 || s == h->cur)
		return;
	for (pp = &h->retired; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	config_free(s->c);
	free(s);
}

void config_put(struct config_holder *h, const struct config *c)
{
	struct snap *s;

	if (c == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	s = h->cur->c == c ? h->cur : NULL;
	for (struct snap *r = h->retired; s == NULL && r != NULL; r = r->next)
		if (r->c == c)
			s = r;
	if (s != NULL)
		snap_unref(h, s);
	pthread_mutex_unlock(&h->mu);
}

void config_swap(struct config_holder *h, struct config *c)
{
	struct snap *s = c != NULL ? snap_new(c) : NULL;
	struct snap *old;

	if (s == NULL) {
		config_free(c); /* the header promises the holder takes c */
		return;
	}
	pthread_mutex_lock(&h->mu);
	old = h->cur;
	h->cur = s;
	old->next = h->retired;
	h->retired = old;
	snap_unref(h, old);
	pthread_mutex_unlock(&h->mu);
}
