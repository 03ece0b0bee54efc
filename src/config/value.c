/* Configuration values: turns the text of one key into its typed field,
 * after ${ENV} expansion or reading a KEY_file, and reports a bad value
 * with the accepted form. A secret's value never goes into a message. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_int.h"
#include "target.h"
#include "errors.h"
#include "memory.h"
#include "parse.h"
#include "route.h"
#include "silence.h"
#include "status.h"

char *cfg_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

void cfg_free_list(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
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

char *cfg_expand(struct parse *p, const char *in)
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
			cfg_err(p, p->lineno, "malformed ${...} reference");
			goto fail;
		}
		memcpy(name, in + 2, n);
		name[n] = '\0';
		val = getenv(name);
		if (val == NULL) {
			cfg_err(p, p->lineno, "environment variable %s is not set", name);
			goto fail;
		}
		if (buf_append(out, &len, val, strlen(val)) != 0)
			goto toolong;
		in = end + 1;
	}
	return out;
toolong:
	cfg_err(p, p->lineno, "value longer than %d bytes", MAX_VALUE);
	goto fail;
nomem:
	cfg_err(p, p->lineno, "out of memory");
fail:
	free(out);
	return NULL;
}

/* A secret file holds at most MAX_VALUE bytes; trailing whitespace goes. */
char *cfg_read_secret_file(struct parse *p, const char *key, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *out = NULL;
	size_t n;

	if (f == NULL) {
		cfg_err(p, p->lineno, "%s_file: cannot open %s: %s", key, path, strerror(errno));
		goto out;
	}
	out = malloc(MAX_VALUE + 1);
	if (out == NULL) {
		cfg_err(p, p->lineno, "out of memory");
		goto out;
	}
	n = fread(out, 1, MAX_VALUE + 1, f);
	if (ferror(f) || n > MAX_VALUE || memchr(out, '\0', n) != NULL) {
		cfg_err(p, p->lineno, "%s_file: %s is unreadable, binary or larger than %d bytes",
			key, path, MAX_VALUE);
		goto fail;
	}
	out[n] = '\0';
	while (n > 0 && isspace((unsigned char)out[n - 1]))
		out[--n] = '\0';
	if (n == 0) {
		cfg_err(p, p->lineno, "%s_file: %s is empty", key, path);
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
		item = cfg_trim(item);
		if (*item == '\0' || i == MAX_LIST) {
			cfg_err(p, p->lineno, "%s: %s", what,
				i == MAX_LIST ? "too many items" : "empty item in list");
			goto fail;
		}
		v[i] = strdup(item);
		if (v[i++] == NULL) {
			cfg_free_list(v, i);
			return ERR_NOMEM;
		}
	}
	*out = v;
	*n = i;
	return 0;
fail:
	cfg_free_list(v, i);
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
		/* SLOW is not a status: a successful run much slower than usual.
		 * It takes a bit no status has (memory.h). */
		if (strcasecmp(words[i], "SLOW") == 0) {
			*mask |= MEM_NOTIFY_SLOW;
			continue;
		}
		st = status_parse(words[i]);
		if (st == ST_UNKNOWN) {
			cfg_err(p, p->lineno, "notify_on: unknown status \"%s\"", words[i]);
			rc = ERR_CONFIG;
			break;
		}
		*mask |= STATUS_BIT(st);
	}
	cfg_free_list(words, n);
	return rc;
}

/* Reports word, which names no kind of run, with the nearest kind when
 * it looks like a typo and a word about the API's two other values. */
static void bad_trigger(struct parse *p, const char *word)
{
	char up[24];
	const char *near;
	size_t i;

	for (i = 0; word[i] != '\0' && i + 1 < sizeof(up); i++)
		up[i] = (char)toupper((unsigned char)word[i]);
	up[i] = '\0';
	if (strcasecmp(word, "SCHEDULE_RUN_NOW") == 0) {
		cfg_err(p, p->lineno,
			"triggers: SCHEDULE_RUN_NOW counts as SCHEDULE (a schedule run started"
			" by hand); write SCHEDULE");
		return;
	}
	if (strcasecmp(word, "UNKNOWN") == 0) {
		cfg_err(p, p->lineno,
			"triggers: UNKNOWN cannot be chosen: a run whose trigger is unknown"
			" always notifies");
		return;
	}
	near = cfg_nearest(up, route_trigger_names, TRIG__MAX);
	if (near != NULL)
		cfg_err(p, p->lineno, "triggers: unknown trigger \"%.40s\"; did you mean %s?", word,
			near);
	else
		cfg_err(p, p->lineno,
			"triggers: unknown trigger \"%.40s\"; expected SCHEDULE, API or DESIGNER",
			word);
}

/* triggers: a comma list of kinds of run (route.h), any case. */
static int parse_triggers(struct parse *p, char *s, unsigned *mask)
{
	char **words = NULL;
	size_t n = 0, i;
	int rc, t;

	rc = parse_list(p, "triggers", s, &words, &n);
	if (rc != 0)
		return rc;
	*mask = 0;
	for (i = 0; i < n; i++) {
		for (t = 0; t < TRIG__MAX; t++)
			if (strcasecmp(words[i], route_trigger_names[t]) == 0)
				break;
		if (t == TRIG__MAX) {
			bad_trigger(p, words[i]);
			rc = ERR_CONFIG;
			break;
		}
		*mask |= TRIGGER_BIT(t);
	}
	cfg_free_list(words, n);
	return rc;
}

static int bad_value(struct parse *p, const struct key *k, const char *v, const char *want)
{
	if (k->flags & K_SECRET)
		cfg_err(p, p->lineno, "%s: invalid value; expected %s", k->name, want);
	else
		cfg_err(p, p->lineno, "%s: invalid value \"%s\"; expected %s", k->name, v, want);
	return ERR_CONFIG;
}

static int set_number(struct parse *p, const struct key *k, const char *v, void *field)
{
	int64_t n;
	int bad =
		k->type == V_DUR || k->type == V_DUR64 ? parse_duration(v, &n) : parse_int64(v, &n);
	char want[96];

	if (bad != 0 || n < k->min || n > k->max) {
		snprintf(want, sizeof(want), "%s %lld..%lld",
			 k->type == V_DUR || k->type == V_DUR64 ? "seconds (or s/m/h/d suffix)"
								: "an integer",
			 k->min, k->max);
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

/* Writes the accepted names as "a, b or c" into out. */
static void name_choices(const char *const *names, size_t n, char *out, size_t len)
{
	size_t i, used = 0;
	int w;

	out[0] = '\0';
	for (i = 0; i < n && used < len; i++) {
		w = snprintf(out + used, len - used, "%s%s",
			     i == 0       ? ""
			     : i + 1 == n ? " or "
					  : ", ",
			     names[i]);
		if (w < 0)
			break;
		used += (size_t)w;
	}
}

/* V_LEVEL, V_ENUM and V_REGION: one of the row's names. */
static int set_name(struct parse *p, const struct key *k, const char *v, void *field)
{
	int i = parse_name(k->names, k->n_names, v);
	char want[128];

	if (i < 0) {
		name_choices(k->names, k->n_names, want, sizeof(want));
		return bad_value(p, k, v, want);
	}
	if (k->type == V_LEVEL)
		return (*(char **)field = strdup(v)) == NULL ? ERR_NOMEM : 0;
	if (k->type == V_REGION)
		p->region = k->names[i];
	else
		*(int *)field = i;
	return 0;
}

/* type = NAME: a row of the target table, which also words the error. */
static int set_dest_type(struct parse *p, const struct key *k, const char *v, void *field)
{
	char names[256];

	*(const struct target **)field = target_find(v);
	if (*(const struct target **)field != NULL)
		return 0;
	target_names(names, sizeof(names), NULL);
	return bad_value(p, k, v, names);
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

/* The longest factor text taken: plenty for "100.000", short enough that
 * the parsed number is always finite. */
#define FACTOR_MAX_TEXT 32

/* V_FACTOR: a plain decimal, digits with an optional fraction ("3",
 * "2.5"), so strtod's other spellings (nan, inf, hex, exponents, signs,
 * leading space) never get in; then the row's bounds, or 0 when the row
 * allows it. */
static int set_factor(struct parse *p, const struct key *k, const char *v, double *field)
{
	const char *s = v;
	char want[96];
	double r = -1.0;
	size_t int_digits, frac_digits = 0;

	int_digits = strspn(s, "0123456789");
	s += int_digits;
	if (*s == '.') {
		frac_digits = strspn(s + 1, "0123456789");
		s += 1 + frac_digits;
	}
	if (int_digits > 0 && *s == '\0' && (s == v + int_digits || frac_digits > 0) &&
	    strlen(v) <= FACTOR_MAX_TEXT)
		r = strtod(v, NULL);
	if (!(r == 0.0 && (k->flags & K_ZERO_OFF)) && !(r >= k->fmin && r <= k->fmax)) {
		snprintf(want, sizeof(want), "%sa decimal number %g..%g",
			 k->flags & K_ZERO_OFF ? "0 (off) or " : "", k->fmin, k->fmax);
		return bad_value(p, k, v, want);
	}
	*field = r;
	return 0;
}

/* V_MUTE: recurring UTC quiet hours, parsed once here so a run's check
 * is arithmetic. The parser's message names the window and what it
 * wanted; the value itself is not echoed (it may be long). */
static int set_mute(struct parse *p, const struct key *k, const char *v, char *base)
{
	struct mute_window w[MUTE_WINDOWS_MAX], *out;
	char err[192];
	size_t n = 0;

	if (mute_parse(v, w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)) != 0) {
		cfg_err(p, p->lineno, "%s: %s", k->name, err);
		return ERR_CONFIG;
	}
	out = malloc(n * sizeof(*out));
	if (out == NULL)
		return ERR_NOMEM;
	memcpy(out, w, n * sizeof(*out));
	free(*(struct mute_window **)(base + k->off));
	*(struct mute_window **)(base + k->off) = out;
	*(size_t *)(base + k->n_off) = n;
	return 0;
}

/* V_SEVERITY: "STATUS:level" items, comma-separated; STATUS is a name of
 * status.h (any case, its other spellings too) or * for every status not
 * named, level one of target_severity_names. The result has a level for
 * each status; a status neither named nor covered by * holds TSEV__MAX,
 * which keeps the target's own default. A status named twice (FAILURE
 * and FAILED are one) is refused, since which level was meant cannot be
 * known. Echoed words are cut: the value may be long. */
static int set_severity(struct parse *p, const struct key *k, char *v, unsigned char **field)
{
	unsigned char map[ST__MAX], rest = TSEV__MAX, *out;
	char *item, *comma, *colon, *name, *level;
	int lv, st, n = 0;

	memset(map, TSEV__MAX, sizeof(map));
	for (item = v; item != NULL; item = comma) {
		comma = strchr(item, ',');
		if (comma != NULL)
			*comma++ = '\0';
		n++;
		colon = strchr(item, ':');
		if (colon == NULL) {
			cfg_err(p, p->lineno, "%s: item %d is not STATUS:level", k->name, n);
			return ERR_CONFIG;
		}
		*colon = '\0';
		name = cfg_trim(item);
		level = cfg_trim(colon + 1);
		lv = parse_name(target_severity_names, TSEV__MAX, level);
		if (lv < 0) {
			cfg_err(p, p->lineno,
				"%s: unknown level \"%.40s\"; expected critical, error, warning or info",
				k->name, level);
			return ERR_CONFIG;
		}
		if (strcmp(name, "*") == 0) {
			if (rest != TSEV__MAX) {
				cfg_err(p, p->lineno, "%s: * is given twice", k->name);
				return ERR_CONFIG;
			}
			rest = (unsigned char)lv;
			continue;
		}
		/* status_parse() folds an unknown word into ST_UNKNOWN, so the
		 * status's own name is told apart here. */
		st = strcasecmp(name, status_names[ST_UNKNOWN]) == 0 ? ST_UNKNOWN
								     : (int)status_parse(name);
		if (st == ST_UNKNOWN && strcasecmp(name, status_names[ST_UNKNOWN]) != 0) {
			cfg_err(p, p->lineno,
				"%s: unknown status \"%.40s\"; expected a status name (FAILED,"
				" CANCELLED, ...) or *",
				k->name, name);
			return ERR_CONFIG;
		}
		if (map[st] != TSEV__MAX) {
			cfg_err(p, p->lineno, "%s: %s is given twice", k->name, status_names[st]);
			return ERR_CONFIG;
		}
		map[st] = (unsigned char)lv;
	}
	for (st = 0; st < ST__MAX; st++)
		if (map[st] == TSEV__MAX)
			map[st] = rest;
	out = malloc(sizeof(map));
	if (out == NULL)
		return ERR_NOMEM;
	memcpy(out, map, sizeof(map));
	free(*field);
	*field = out;
	return 0;
}

int cfg_set_value(struct parse *p, const struct key *k, char *v, char *base)
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
	case V_RATE: rc = set_rate(p, k, v, (double *)field); break;
	case V_STATUS: rc = parse_status_mask(p, v, (unsigned *)field); break;
	case V_TRIGGERS: rc = parse_triggers(p, v, (unsigned *)field); break;
	case V_FACTOR: rc = set_factor(p, k, v, (double *)field); break;
	case V_MENTIONS:
		rc = cfg_parse_mentions(p, v, (struct mention_rule **)field,
					(size_t *)(base + k->n_off));
		break;
	case V_MUTE: rc = set_mute(p, k, v, base); break;
	case V_SEVERITY: rc = set_severity(p, k, v, (unsigned char **)field); break;
	case V_INT:
	case V_SIZE:
	case V_DUR:
	case V_DUR64: rc = set_number(p, k, v, field); break;
	case V_DTYPE: rc = set_dest_type(p, k, v, field); break;
	default: rc = set_name(p, k, v, field); break;
	}
	free(v);
	return rc;
}
