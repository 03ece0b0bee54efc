/* What a message says, decided once for every target (see render_int.h):
 * the triage line a lock screen shows, the context line, the errors grouped
 * and cut by lines, the child pipelines that need a look, and the links.
 * Raw text only; each renderer escapes it for its target. Pure.
 *
 * DESIGN
 * The reader is an on-call engineer on a phone. The first ~160 characters
 * (Slack's notification text, Teams' summary, the header) must say where,
 * what and how bad: "❌ prod · load_dwh failed at stage_orders › Load
 * orders raw: <first line of the error> · 14m". Everything after the header
 * explains the failure in the order it is needed: the error itself, cut to
 * its informative lines; then other errors, counted; then which child
 * pipelines failed; then links. Facts that repeat the header are gone. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "errors.h"
#include "render_int.h"
#include "text.h"

#define ELLIPSIS "\xe2\x80\xa6"
#define DOT " \xc2\xb7 " /* " · " */
#define LINK_PATH "/observability-dashboard/pipeline/"
#define LINE_CHARS 160                /* one line of an excerpt */
#define SCAN_LINES 400                /* lines of an error looked at for the excerpt */
#define NAME_CHARS 80                 /* a step name inside "(first … last)" */
#define REASON_CHARS 120              /* a silence's reason in a held summary's headline */
#define HELD_EMOJI "\xf0\x9f\x94\x95" /* U+1F515 bell with cancellation stroke */
#define EN_DASH "\xe2\x80\x93"
#define LONG_EMOJI "\xe2\x8f\xb3" /* U+23F3 hourglass with flowing sand */

/* One status emoji per message, chosen by the kind of message. */
static const char *kind_emoji(enum view_kind k)
{
	switch (k) {
	case VIEW_FAILED: return "\xe2\x9d\x8c";    /* U+274C cross mark */
	case VIEW_CANCELLED: return "\xe2\x8f\xb9"; /* U+23F9 stop button */
	case VIEW_SUCCESS: return "\xe2\x9c\x85";   /* U+2705 check mark */
	default: return "\xe2\x84\xb9";             /* U+2139 information */
	}
}

static enum view_kind kind_of(enum run_status st)
{
	switch (st) {
	case ST_FAILED:
	case ST_FORBIDDEN: return VIEW_FAILED;
	case ST_CANCELLED:
	case ST_CANCELLING: return VIEW_CANCELLED;
	case ST_SUCCESS: return VIEW_SUCCESS;
	default: return VIEW_OTHER;
	}
}

void render_compact_duration(int64_t ms, char *out, size_t outlen)
{
	int64_t s = ms / 1000;

	if (out == NULL || outlen == 0)
		return;
	if (ms < 0)
		out[0] = '\0';
	else if (s < 60)
		snprintf(out, outlen, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(out, outlen, "%lldm", (long long)(s / 60));
	else
		snprintf(out, outlen, "%lldh %02lldm", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
}

void render_clock(int64_t ms, int with_date, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (out == NULL || outlen == 0)
		return;
	if (ms < 0 || gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, with_date ? "%Y-%m-%d %H:%M" : "%H:%M", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* ---- text helpers ---- */

/* Growable string; oom is sticky. */
struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	char *np;
	size_t want;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		want = b->cap ? b->cap : 64;
		while (want < b->len + n + 1)
			want *= 2;
		np = realloc(b->p, want);
		if (np == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = want;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* The string built, or NULL on ERR_NOMEM (freed then). */
static char *done(struct buf *b)
{
	if (b->oom) {
		free(b->p);
		return NULL;
	}
	if (b->p == NULL)
		return strdup("");
	return b->p;
}

/* Number of code points in s[0..n). */
static size_t chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			c++;
	return c;
}

/* Appends s[0..n) cut to max code points, ending in "…" when cut. */
static void put_cut(struct buf *b, const char *s, size_t n, size_t max)
{
	size_t i, c = 0;

	if (chars(s, n) <= max) {
		put(b, s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++c > max - 1)
			break;
	}
	put(b, s, i);
	puts_(b, ELLIPSIS);
}

/* ---- where: a step's path as the reader needs it ---- */

/* Length of the folder part of a pipeline name ("a/b/" of "a/b/name"). */
static size_t folder_len(const char *seg, size_t n)
{
	size_t i = n;

	while (i > 0 && seg[i - 1] != '/')
		i--;
	return i;
}

char *render_where(const char *path, int drop_root)
{
	const char *sep = SUMMARY_PATH_SEP, *p = path ? path : "", *end, *prev = NULL;
	size_t slen = strlen(sep), n, f, prevf = 0;
	struct buf b = { 0 };
	int first = 1, idx = 0, last;

	for (;; idx++) {
		end = strstr(p, sep);
		n = end ? (size_t)(end - p) : strlen(p);
		last = end == NULL;
		if (!(drop_root && idx == 0 && !last)) {
			/* Pipeline segments drop a folder the previous one shares;
			 * the step (last segment) is shown whole. */
			f = last ? 0 : folder_len(p, n);
			if (!first)
				puts_(&b, sep);
			if (f > 0 && prev != NULL && f == prevf && strncmp(p, prev, f) == 0)
				put(&b, p + f, n - f);
			else
				put(&b, p, n);
			first = 0;
		}
		prev = p;
		prevf = last ? 0 : folder_len(p, n);
		if (last)
			break;
		p = end + slen;
	}
	return done(&b);
}

/* ---- the error text ---- */

/* Bounds of line i of msg, lines split on '\n' with a trailing '\r'
 * dropped. */
struct line {
	const char *s;
	size_t n;
};

static size_t split_lines(const char *msg, struct line *out, size_t max, size_t *total)
{
	const char *p = msg, *nl;
	size_t k = 0, t = 0;

	while (*p) {
		nl = strchr(p, '\n');
		if (k < max) {
			out[k].s = p;
			out[k].n = nl ? (size_t)(nl - p) : strlen(p);
			if (out[k].n > 0 && out[k].s[out[k].n - 1] == '\r')
				out[k].n--;
			k++;
		}
		t++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* A trailing empty line says nothing. */
	while (k > 0 && out[k - 1].n == 0) {
		k--;
		t--;
	}
	*total = t;
	return k;
}

static int blank(const struct line *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return 0;
	return 1;
}

/* 1 when a line carries the database's own words or a position: the line
 * to keep when a long error is cut. */
static int telling(const struct line *l)
{
	static const char *const words[] = { "error",     "exception", "position", "line ",
					     "ora-",      "sqlstate",  "invalid",  "does not exist",
					     "not found", "denied",    "failed",   "syntax",
					     "timeout",   "violat",    "duplicate" };
	char low[LINE_CHARS * 4 + 1];
	size_t i, n = l->n < sizeof(low) - 1 ? l->n : sizeof(low) - 1;

	for (i = 0; i < n; i++)
		low[i] = (char)((l->s[i] >= 'A' && l->s[i] <= 'Z') ? l->s[i] + 32 : l->s[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(low, words[i]) != NULL)
			return 1;
	return 0;
}

/* How much a line says about what went wrong: the database's own words
 * count most; an introduction ("Failed to execute statement:") least. */
static int score(const struct line *l)
{
	static const char *const strong[] = { "invalid",   "does not exist", "not exist",
					      "not found", "not authorized", "denied",
					      "duplicate", "violat",         "cannot",
					      "quota",     "timeout",        "timed out",
					      "syntax",    "not recognized", "exceeded",
					      "refused",   "reset",          "ora-",
					      "sqlstate",  "no such",        "unknown" };
	static const char *const weak[] = { "error", "exception", "fail" };
	char low[LINE_CHARS * 4 + 1];
	size_t i, n = l->n < sizeof(low) - 1 ? l->n : sizeof(low) - 1;
	int sc = 0;

	for (i = 0; i < n; i++)
		low[i] = (char)((l->s[i] >= 'A' && l->s[i] <= 'Z') ? l->s[i] + 32 : l->s[i]);
	low[n] = '\0';
	for (i = 0; i < sizeof(strong) / sizeof(strong[0]); i++)
		if (strstr(low, strong[i]) != NULL) {
			sc += 2;
			break;
		}
	for (i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		if (strstr(low, weak[i]) != NULL) {
			sc += 1;
			break;
		}
	if (n > 0 && low[n - 1] == ':')
		sc -= 1;
	return sc;
}

/* Appends line l without its leading blanks. */
static void put_trimmed(struct buf *b, const struct line *l)
{
	size_t k = strspn(l->s, " \t");

	if (k > l->n)
		k = l->n;
	put(b, l->s + k, l->n - k);
}

char *render_key_line(const char *msg, size_t max)
{
	struct line ls[SCAN_LINES];
	size_t total, n = split_lines(msg ? msg : "", ls, SCAN_LINES, &total), i, first, best;
	struct buf b = { 0 }, c = { 0 };
	int sc, best_sc = -100;
	char *all;

	for (first = 0; first < n && blank(&ls[first]); first++)
		;
	if (first == n)
		return strdup("");
	best = first;
	for (i = first; i < n; i++) {
		if (blank(&ls[i]))
			continue;
		sc = score(&ls[i]);
		if (sc > best_sc) {
			best_sc = sc;
			best = i;
		}
	}
	/* An opening line that introduces ("SQL compilation error:") names
	 * the kind of error the chosen line details. */
	if (best != first && ls[first].n > 0 && ls[first].s[ls[first].n - 1] == ':' &&
	    score(&ls[best]) < 3) {
		put_trimmed(&b, &ls[first]);
		puts_(&b, " ");
	}
	put_trimmed(&b, &ls[best]);
	all = done(&b);
	if (all == NULL)
		return NULL;
	put_cut(&c, all, strlen(all), max);
	free(all);
	return done(&c);
}

/* Marks line i kept when it fits; returns 1 when kept. */
static int keep_line(const struct line *ls, int *keep, size_t i, size_t *used_lines,
		     size_t *used_chars, size_t max_lines, size_t max_chars)
{
	size_t c = chars(ls[i].s, ls[i].n);

	if (c > LINE_CHARS)
		c = LINE_CHARS;
	if (keep[i] || *used_lines >= max_lines || (*used_lines > 0 && *used_chars + c > max_chars))
		return 0;
	keep[i] = 1;
	(*used_lines)++;
	*used_chars += c;
	return 1;
}

char *render_excerpt(const char *msg, size_t max_lines, size_t max_chars, int *cut)
{
	struct line ls[SCAN_LINES];
	int keep[SCAN_LINES] = { 0 };
	size_t total, n = split_lines(msg ? msg : "", ls, SCAN_LINES, &total), i, skipped;
	size_t used_lines = 0, used_chars = 0, all_chars = 0;
	struct buf b = { 0 };
	char gap[64];

	*cut = 0;
	for (i = 0; i < n; i++)
		all_chars += chars(ls[i].s, ls[i].n);
	if (n == total && n <= max_lines && all_chars <= max_chars) {
		for (i = 0; i < n; i++) {
			if (i)
				puts_(&b, "\n");
			put(&b, ls[i].s, ls[i].n);
		}
		return done(&b);
	}
	*cut = 1;
	/* The opening line, then the lines that carry the database's words
	 * or a position, then the rest in order, while they fit. */
	for (i = 0; i < n && blank(&ls[i]); i++)
		;
	if (i < n)
		keep_line(ls, keep, i, &used_lines, &used_chars, max_lines, max_chars);
	for (i = 0; i < n; i++)
		if (telling(&ls[i]))
			keep_line(ls, keep, i, &used_lines, &used_chars, max_lines, max_chars);
	for (i = 0; i < n; i++)
		if (!blank(&ls[i]))
			keep_line(ls, keep, i, &used_lines, &used_chars, max_lines, max_chars);
	skipped = 0;
	for (i = 0; i < n; i++) {
		if (!keep[i]) {
			skipped++;
			continue;
		}
		if (skipped) {
			snprintf(gap, sizeof(gap), "%s\xe2\x8b\xaf %zu line%s", b.len ? "\n" : "",
				 skipped, skipped == 1 ? "" : "s");
			puts_(&b, gap);
			skipped = 0;
		}
		if (b.len)
			puts_(&b, "\n");
		put_cut(&b, ls[i].s, ls[i].n, used_lines == 1 ? max_chars : LINE_CHARS);
	}
	skipped += total - n;
	if (skipped) {
		snprintf(gap, sizeof(gap), "\n\xe2\x8b\xaf %zu more line%s", skipped,
			 skipped == 1 ? "" : "s");
		puts_(&b, gap);
	}
	return done(&b);
}

/* ---- links ---- */

char *render_run_link(const struct summary *s, const char *execution_id)
{
	const char *at = NULL, *p;
	char *id, *out;
	size_t blen;

	if (s->link == NULL || execution_id == NULL || *execution_id == '\0')
		return NULL;
	for (p = strstr(s->link, LINK_PATH); p != NULL; p = strstr(p + 1, LINK_PATH))
		at = p;
	if (at == NULL)
		return NULL;
	id = text_url_escape(execution_id);
	if (id == NULL)
		return NULL;
	blen = (size_t)(at - s->link) + strlen(LINK_PATH);
	out = malloc(blen + strlen(id) + 1);
	if (out != NULL) {
		memcpy(out, s->link, blen);
		memcpy(out + blen, id, strlen(id) + 1);
	}
	free(id);
	return out;
}

/* ---- lines the targets share ---- */

void view_more_line(uint64_t steps, uint64_t errors, char *out, size_t outlen)
{
	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	if (steps > 0)
		snprintf(out, outlen, "+%llu more problem step%s with %llu other error%s",
			 (unsigned long long)steps, steps == 1 ? "" : "s",
			 (unsigned long long)errors, errors == 1 ? "" : "s");
}

void view_children_line(const struct view *v, int with_more, char *out, size_t outlen)
{
	size_t n = 0;
	const char *sep = "";

	if (out == NULL || outlen == 0)
		return;
	out[0] = '\0';
	if (with_more && v->children_more) {
		n = (size_t)snprintf(out, outlen, "+%llu more failed",
				     (unsigned long long)v->children_more);
		sep = DOT;
	}
	if (v->children_ok && n < outlen) {
		n += (size_t)snprintf(out + n, outlen - n, "%s%llu %schild pipeline%s succeeded",
				      sep, (unsigned long long)v->children_ok,
				      v->children_on_path || v->n_children ? "other " : "",
				      v->children_ok == 1 ? "" : "s");
		sep = ", ";
	}
	if (v->children_other && n < outlen)
		snprintf(out + n, outlen - n, "%s%llu %sdid not run to the end", sep,
			 (unsigned long long)v->children_other,
			 *sep && v->children_ok ? "" : "child pipelines ");
}

/* ---- the view ---- */

/* "Scheduled (nightly_dwh)", "API", "Designer run by jane.doe", ... */
static void who(const struct summary *s, struct buf *b)
{
	const char *t = s->trigger;

	if (strcasecmp(t, "SCHEDULE") == 0) {
		puts_(b, "Scheduled");
		if (*s->schedule_name) {
			puts_(b, " (");
			put_cut(b, s->schedule_name, strlen(s->schedule_name), 60);
			puts_(b, ")");
		}
		return;
	}
	if (strcasecmp(t, "SCHEDULE_RUN_NOW") == 0)
		puts_(b, *s->schedule_name ? "Schedule run now" : "Run now");
	else if (strcasecmp(t, "DESIGNER") == 0)
		puts_(b, "Designer run");
	else if (strcasecmp(t, "API") == 0)
		puts_(b, "API");
	else if (*t && strcasecmp(t, "UNKNOWN") != 0)
		put_cut(b, t, strlen(t), 40);
	if (*s->user) {
		puts_(b, *t ? " by " : "Run by ");
		put_cut(b, s->user, strlen(s->user), 60);
	}
}

/* 1 when group g tells the reader something the groups already chosen do
 * not: runs of child pipelines only repeat their child's error, so they
 * are shown only when no real step error is known. */
static int worth_showing(const struct summary *s, const struct error_group *g, int pass)
{
	size_t i;
	int have_real = 0;

	for (i = 0; i < s->n_groups; i++)
		if (!s->groups[i].calls_child)
			have_real = 1;
	if (g->calls_child && have_real)
		return 0;
	/* Pass 0 takes failures, pass 1 the rest (cancelled siblings). */
	return pass == 0 ? (g->status == ST_FAILED || g->status == ST_FORBIDDEN)
			 : !(g->status == ST_FAILED || g->status == ST_FORBIDDEN);
}

/* "300 steps failed with the same error"; NULL for one step. */
static char *steps_line(const struct error_group *g)
{
	char num[96];

	if (g->count <= 1)
		return NULL;
	snprintf(num, sizeof(num), "%llu steps %s with the same error",
		 (unsigned long long)g->count,
		 g->status == ST_CANCELLED ? "were cancelled" : "failed");
	return strdup(num);
}

/* Where a group's steps are: the first step's path for one step; for
 * several, the pipeline path then "Replicate table 12 … 311". */
static char *where_of(const struct error_group *g)
{
	char *w = render_where(g->first_path, 1), *cut;
	const char *a = g->first_step, *z = g->last_step;
	struct buf b = { 0 };
	size_t p = 0, alen = strlen(a), wlen;

	if (w == NULL || g->count <= 1 || *a == '\0')
		return w;
	/* The path ends in the first step's name: keep what precedes it. */
	wlen = strlen(w);
	cut = wlen >= alen && strcmp(w + wlen - alen, a) == 0 ? w + wlen - alen : w + wlen;
	put(&b, w, (size_t)(cut - w));
	put_cut(&b, a, alen, NAME_CHARS);
	if (strcmp(a, z) != 0 && *z) {
		/* Leave out what the last name shares with the first, but never
		 * split a number: "Replicate table 12 … 311". */
		while (a[p] && a[p] == z[p])
			p++;
		while (p > 0 && z[p - 1] >= '0' && z[p - 1] <= '9')
			p--;
		while (p > 0 && ((unsigned char)z[p] & 0xc0) == 0x80)
			p--;
		puts_(&b, " " ELLIPSIS " ");
		put_cut(&b, z + p, strlen(z + p), NAME_CHARS);
	}
	free(w);
	return done(&b);
}

static int add_error(const struct summary *s, struct view *v, const struct error_group *g)
{
	struct view_error *e = &v->errors[v->n_errors++];

	e->status = g->status;
	e->count = g->count;
	e->full = g->message;
	e->where = where_of(g);
	e->steps = steps_line(g);
	e->excerpt = render_excerpt(g->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS, &e->cut);
	if (*g->execution_id && strcmp(g->execution_id, s->execution_id) != 0)
		e->link = render_run_link(s, g->execution_id);
	if (e->where == NULL || e->excerpt == NULL || (g->count > 1 && e->steps == NULL))
		return ERR_NOMEM;
	return 0;
}

static int pick_errors(const struct summary *s, struct view *v)
{
	const struct error_group *g;
	size_t i;
	int pass, rc;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < s->n_groups; i++) {
			g = &s->groups[i];
			if (!worth_showing(s, g, pass))
				continue;
			if (v->n_errors < VIEW_MAX_ERRORS) {
				rc = add_error(s, v, g);
				if (rc)
					return rc;
			} else if (!g->calls_child) {
				v->more_steps += g->count;
				v->more_errors++;
			}
			if (pass == 0)
				v->problem_steps += g->count;
		}
	}
	if (s->groups_more > 0) {
		v->more_steps += s->groups_more;
		v->more_errors++;
		v->problem_steps += s->groups_more;
	}
	return 0;
}

/* 1 when child c is on the path of the first error shown: that path
 * already names it. */
static int on_error_path(const struct summary *s, const struct child_run *c)
{
	const char *path = s->n_groups ? NULL : "", *pp = c->parent_path ? c->parent_path : "";
	size_t i, plen = strlen(pp), nlen = c->name ? strlen(c->name) : 0, sl;

	for (i = 0; i < s->n_groups && path == NULL; i++)
		if (worth_showing(s, &s->groups[i], 0) || worth_showing(s, &s->groups[i], 1))
			path = s->groups[i].first_path;
	if (path == NULL)
		return 0;
	sl = strlen(SUMMARY_PATH_SEP);
	if (nlen == 0)
		return 0;
	if (plen > 0 &&
	    (strncmp(path, pp, plen) != 0 || strncmp(path + plen, SUMMARY_PATH_SEP, sl) != 0))
		return 0;
	if (plen > 0)
		path += plen + sl;
	return strncmp(path, c->name, nlen) == 0 && strncmp(path + nlen, SUMMARY_PATH_SEP, sl) == 0;
}

static void pick_children(const struct summary *s, struct view *v)
{
	const struct child_run *c;
	size_t i;

	for (i = 0; i < s->n_children; i++) {
		c = &s->children[i];
		if (c->status == ST_SUCCESS)
			v->children_ok++;
		else if (!status_is_problem(c->status))
			v->children_other++;
		else if (on_error_path(s, c))
			v->children_on_path++;
		else if (v->n_children < VIEW_MAX_CHILDREN)
			v->children[v->n_children++] = c;
		else
			v->children_more++;
	}
	v->children_more += s->children_more;
}

/* "1st", "2nd", "3rd", "11th", "22nd" ... */
static void ordinal(uint32_t n, char *out, size_t outlen)
{
	const char *suf = "th";

	if (n % 100 < 11 || n % 100 > 13)
		suf = n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
	snprintf(out, outlen, "%lu%s", (unsigned long)n, suf);
}

/* "Tue 02:00 UTC" */
static void day_clock(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms < 0 || gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%a %H:%M UTC", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* "02:00–04:00 UTC", dated when the stretch is not inside one UTC day;
 * "" when either end is unknown, they are out of order, or both fall in
 * the same minute. */
static void span_text(int64_t from, int64_t until, char *out, size_t outlen)
{
	char a[40], b[40];
	int dated;

	out[0] = '\0';
	if (from < 0 || until <= from || until == INT64_MAX)
		return;
	dated = from / 86400000 != (until - 1) / 86400000;
	render_clock(from, dated, a, sizeof(a));
	render_clock(until, dated, b, sizeof(b));
	if (strcmp(a, b) != 0) /* "05:26–05:26" would say nothing */
		snprintf(out, outlen, "%s" EN_DASH "%s UTC", a, b);
}

/* The held summary's headline after the name: ": 5 failures held back
 * while silenced (02:00–04:00 UTC: warehouse upgrade)". */
static void held_tail(const struct summary *s, struct buf *b)
{
	const struct run_context *m = &s->memory;
	const char *why = s->held_reason != NULL ? s->held_reason : "";
	char n[96], span[96];

	snprintf(n, sizeof(n), ": %lu failure%s held back while silenced",
		 (unsigned long)m->held_before, m->held_before == 1 ? "" : "s");
	puts_(b, n);
	span_text(m->held_from_ms, m->held_until_ms, span, sizeof(span));
	if (!*span && !*why)
		return;
	puts_(b, " (");
	puts_(b, span);
	if (*span && *why)
		puts_(b, ": ");
	put_cut(b, why, strlen(why), REASON_CHARS);
	puts_(b, ")");
}

/* The held summary's second line: "Still failing since Tue 01:55 UTC
 * (7 failed runs) · Last error: <its telling line>". */
static char *held_history(const struct summary *s)
{
	const struct run_context *m = &s->memory;
	struct buf b = { 0 };
	char at[40], line[160];
	char *key = NULL;

	day_clock(m->incident_since_ms, at, sizeof(at));
	snprintf(line, sizeof(line), "Still failing since %s (%lu failed run%s)", at,
		 (unsigned long)m->incident_failures, m->incident_failures == 1 ? "" : "s");
	puts_(&b, line);
	if (*s->message) {
		key = render_key_line(s->message, VIEW_KEY_CHARS);
		if (key == NULL)
			b.oom = 1;
		else if (*key) {
			puts_(&b, DOT "Last error: ");
			puts_(&b, key);
		}
	}
	free(key);
	return done(&b);
}

/* A limit as a person writes it: "2h" rather than "2h 00m". */
static void limit_text(int64_t ms, char *out, size_t outlen)
{
	size_t n;

	render_compact_duration(ms, out, outlen);
	n = strlen(out);
	if (n > 4 && strcmp(out + n - 4, " 00m") == 0)
		out[n - 4] = '\0';
}

/* A still-running notice's headline after the name: " still running
 * after 2h 05m (usually 22m)", or "(limit 2h)" when the route's
 * max_duration was passed. */
static void long_tail(const struct summary *s, struct buf *b)
{
	const struct run_context *m = &s->memory;
	char d[32], u[32], line[128];

	d[0] = '\0';
	if (s->started_ms >= 0 && m->long_at_ms >= s->started_ms)
		render_compact_duration(m->long_at_ms - s->started_ms, d, sizeof(d));
	if (m->long_slow && m->usual_ms >= 0) {
		render_compact_duration(m->usual_ms, u, sizeof(u));
		snprintf(line, sizeof(line), " (usually %s)", u);
	} else {
		limit_text(m->long_limit_ms, u, sizeof(u));
		snprintf(line, sizeof(line), " (limit %s)", u);
	}
	puts_(b, *d ? " still running after " : " still running");
	puts_(b, d);
	puts_(b, line);
}

/* A still-running notice's second line: "Limit 2h (max_duration) · the
 * outcome follows when it finishes", or "Limit 1h 06m (slow_factor ×
 * usual 22m) · ..." (the start is on the context line already). */
static char *long_history(const struct summary *s)
{
	const struct run_context *m = &s->memory;
	char lim[32], u[32], line[200];

	limit_text(m->long_limit_ms, lim, sizeof(lim));
	render_compact_duration(m->usual_ms, u, sizeof(u));
	if (m->long_slow && *u)
		snprintf(line, sizeof(line),
			 "Limit %s (slow_factor \xc3\x97 usual %s)" DOT
			 "the outcome follows when it finishes",
			 lim, u);
	else
		snprintf(line, sizeof(line),
			 "Limit %s (%s)" DOT "the outcome follows when it finishes", lim,
			 m->long_slow ? "slow_factor" : "max_duration");
	return strdup(line);
}

/* The triage line: "❌ prod · load_dwh failed at <where>: <line> · 14m". */
static char *headline(const struct summary *s, const struct view *v)
{
	const char *name = *s->pipeline_name ? s->pipeline_name : "Pipeline run";
	struct buf b = { 0 };
	char *key = NULL;
	const char *why = v->n_errors ? v->errors[0].full : s->message;

	if (s->is_test)
		puts_(&b, "\xf0\x9f\xa7\xaa TEST" DOT);
	puts_(&b, v->emoji);
	puts_(&b, " ");
	if (*s->environment) {
		put_cut(&b, s->environment, strlen(s->environment), 40);
		puts_(&b, DOT);
	}
	put_cut(&b, name, strlen(name), 80);
	if (s->memory.known && s->memory.form == FORM_HELD) {
		held_tail(s, &b);
		return done(&b);
	}
	if (s->memory.known && s->memory.form == FORM_LONG_RUNNING) {
		long_tail(s, &b);
		return done(&b);
	}
	if (s->memory.known && s->memory.form == FORM_RECOVERY) {
		char n[128], at[40], d[32];

		snprintf(n, sizeof(n), " recovered after %lu failed run%s",
			 (unsigned long)s->memory.incident_failures,
			 s->memory.incident_failures == 1 ? "" : "s");
		puts_(&b, n);
		if (s->memory.incident_since_ms >= 0 &&
		    s->finished_ms >= s->memory.incident_since_ms) {
			render_clock(s->memory.incident_since_ms, 0, at, sizeof(at));
			render_compact_duration(s->finished_ms - s->memory.incident_since_ms, d,
						sizeof(d));
			snprintf(n, sizeof(n), " (failing since %s UTC, %s)", at, d);
			puts_(&b, n);
		}
		return done(&b);
	}
	if (s->memory.known && s->memory.form == FORM_COMPACT) {
		char n[96], o[32];

		ordinal(s->memory.streak, o, sizeof(o));
		snprintf(n, sizeof(n), " %s again" DOT "%s in a row, same error",
			 v->kind == VIEW_CANCELLED ? "was cancelled" : "failed", o);
		puts_(&b, n);
		if (v->duration[0]) {
			puts_(&b, DOT);
			puts_(&b, v->duration);
		}
		return done(&b);
	}
	switch (v->kind) {
	case VIEW_FAILED: puts_(&b, " failed"); break;
	case VIEW_CANCELLED: puts_(&b, " was cancelled"); break;
	case VIEW_SUCCESS: puts_(&b, " succeeded"); break;
	default:
		puts_(&b, " finished ");
		put_cut(&b, render_status_word(s->status, s->status_text),
			strlen(render_status_word(s->status, s->status_text)), 40);
		break;
	}
	if (v->kind == VIEW_FAILED && v->problem_steps > 1) {
		char n[48];

		snprintf(n, sizeof(n), " in %llu steps", (unsigned long long)v->problem_steps);
		puts_(&b, n);
	} else if (v->n_errors && *v->errors[0].where && v->kind != VIEW_SUCCESS) {
		puts_(&b, " at ");
		put_cut(&b, v->errors[0].where, strlen(v->errors[0].where), 80);
	}
	if (v->kind != VIEW_SUCCESS && why != NULL && *why) {
		key = render_key_line(why, VIEW_KEY_CHARS);
		if (key == NULL)
			b.oom = 1;
		else if (*key) {
			puts_(&b, ": ");
			puts_(&b, key);
		}
	}
	if (s->degraded != NULL && v->n_errors == 0)
		puts_(&b, s->degraded_promise ? " (details follow)" : " (no step details)");
	if (v->duration[0]) {
		puts_(&b, DOT);
		puts_(&b, v->duration);
	}
	/* A slow run says so where a lock screen shows it. */
	if (s->memory.known && s->memory.slow && s->memory.usual_ms >= 0) {
		char u[32];

		render_compact_duration(s->memory.usual_ms, u, sizeof(u));
		puts_(&b, " (slow: usually ");
		puts_(&b, u);
		puts_(&b, ")");
	}
	free(key);
	return done(&b);
}

/* The untrusted part of the context line: project, who ran it. */
static char *context(const struct summary *s)
{
	struct buf b = { 0 }, w = { 0 };
	const char *project = *s->project_name ? s->project_name : "";
	char *who_s;

	if (*project)
		put_cut(&b, project, strlen(project), 60);
	who(s, &w);
	who_s = done(&w);
	if (who_s == NULL)
		b.oom = 1;
	else if (*who_s) {
		if (b.len)
			puts_(&b, DOT);
		puts_(&b, who_s);
	}
	free(who_s);
	return done(&b);
}

/* The run's history in one line, from run memory: "3rd failure in a row
 * (since Tue 02:00 UTC) · took 2h 10m, usually 22m". NULL when memory
 * says nothing worth a line. */
static char *history(const struct summary *s, const struct view *v)
{
	const struct run_context *m = &s->memory;
	struct buf b = { 0 };
	char n[32], at[40], a[32], u[32], line[200];
	const char *sep = "";

	if (!m->known)
		return NULL;
	if (m->form == FORM_HELD)
		return held_history(s);
	if (m->form == FORM_LONG_RUNNING)
		return long_history(s);
	if (m->late) {
		puts_(&b, "An older run, reported after a newer one");
		sep = DOT;
	} else if (v->kind == VIEW_FAILED || v->kind == VIEW_CANCELLED) {
		if (m->new_error) {
			puts_(&b, "New error");
			sep = DOT;
		} else if (m->reminder) {
			puts_(&b, "Still failing");
			sep = DOT;
		}
		if (m->streak > 1 && m->form != FORM_COMPACT) {
			ordinal(m->streak, n, sizeof(n));
			day_clock(m->streak_since_ms, at, sizeof(at));
			snprintf(line, sizeof(line), "%s%s failure in a row (since %s)", sep, n,
				 at);
			puts_(&b, line);
			sep = DOT;
		} else if (m->streak == 1 && m->successes_before > 0) {
			snprintf(line, sizeof(line), "%sFirst failure after %lu successful run%s",
				 sep, (unsigned long)m->successes_before,
				 m->successes_before == 1 ? "" : "s");
			puts_(&b, line);
			sep = DOT;
		}
	}
	if (m->held_before > 0) {
		snprintf(line, sizeof(line), "%s%lu failure%s held back since the last message",
			 sep, (unsigned long)m->held_before, m->held_before == 1 ? "" : "s");
		puts_(&b, line);
		sep = DOT;
	}
	if (m->usual_ms >= 0 && s->started_ms >= 0 && s->finished_ms >= s->started_ms &&
	    m->form != FORM_COMPACT) {
		render_compact_duration(s->finished_ms - s->started_ms, a, sizeof(a));
		render_compact_duration(m->usual_ms, u, sizeof(u));
		snprintf(line, sizeof(line), "%s%s %s, usually %s", sep,
			 m->slow ? "Slow: took" : "Took", a, u);
		puts_(&b, line);
	}
	if (b.len == 0)
		return NULL;
	return done(&b);
}

static char *follow_note(const struct summary *s)
{
	char at[32], line[160];

	if (s->follows_ms < 0)
		return NULL;
	render_clock(s->follows_ms, 0, at, sizeof(at));
	snprintf(line, sizeof(line),
		 "Completes the notice posted at %s UTC: Matillion's API is answering again.", at);
	return strdup(line);
}

int view_build(const struct summary *s, struct view *v)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->kind = kind_of(s->status);
	v->emoji = kind_emoji(v->kind);
	if (s->memory.known && s->memory.form == FORM_HELD)
		v->emoji = HELD_EMOJI; /* a digest of silenced runs, not one run */
	if (s->memory.known && s->memory.form == FORM_LONG_RUNNING)
		v->emoji = LONG_EMOJI; /* not an outcome: the run goes on */
	v->started_ms = s->started_ms;
	v->finished_ms = s->finished_ms;
	if (s->started_ms >= 0 && s->finished_ms >= s->started_ms)
		render_compact_duration(s->finished_ms - s->started_ms, v->duration,
					sizeof(v->duration));
	snprintf(v->run_id, sizeof(v->run_id), "%.*s", (int)text_utf8_prefix(s->execution_id, 8),
		 s->execution_id);
	/* Mentions are for failures only, and not again for a follow-up. */
	v->mention = v->kind == VIEW_FAILED && s->follows_ms < 0;
	rc = pick_errors(s, v);
	if (rc)
		goto fail;
	pick_children(s, v);
	if (v->n_errors == 0 && *s->message)
		v->message = s->message;
	v->headline = headline(s, v);
	v->context = context(s);
	v->follow = follow_note(s);
	v->history = history(s, v);
	if (s->memory.known && s->memory.form != FORM_FULL) {
		/* A compact line, a recovery or a held summary lists no
		 * errors or children, and mentions no one. */
		v->compact = 1;
		v->mention = 0;
	}
	/* A run that hangs never sends a failure: this notice is the one
	 * that must reach the on-call, so it carries the mention. */
	if (s->memory.known && s->memory.form == FORM_LONG_RUNNING)
		v->mention = 1;
	if (v->n_errors && v->errors[0].link != NULL) {
		v->link = strdup(v->errors[0].link);
		v->root_link = s->link ? strdup(s->link) : NULL;
		if (v->link == NULL || (s->link && v->root_link == NULL))
			goto nomem;
	} else if (s->link != NULL && *s->execution_id) {
		v->link = strdup(s->link);
		if (v->link == NULL)
			goto nomem;
	}
	if (v->headline == NULL || v->context == NULL || (s->follows_ms >= 0 && v->follow == NULL))
		goto nomem;
	if (s->memory.known && v->history == NULL &&
	    (s->memory.held_before > 0 || s->memory.form == FORM_HELD ||
	     s->memory.form == FORM_LONG_RUNNING))
		goto nomem;
	return 0;
nomem:
	rc = ERR_NOMEM;
fail:
	view_free(v);
	return rc;
}

void view_free(struct view *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n_errors; i++) {
		free(v->errors[i].where);
		free(v->errors[i].steps);
		free(v->errors[i].excerpt);
		free(v->errors[i].link);
	}
	free(v->headline);
	free(v->context);
	free(v->follow);
	free(v->history);
	free(v->link);
	free(v->root_link);
	memset(v, 0, sizeof(*v));
}
