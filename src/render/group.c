/* Grouped messages (storm grouping): the line each held-back run keeps
 * for a grouped message, and what a grouped message says, decided once
 * for every target (as view.c does for one run). Pure.
 *
 * DESIGN
 * When many runs fail at once (the warehouse is down), the reader needs
 * the cause once and every run named, not forty copies of one error. A
 * held run's line is encoded when its message is held back, from the
 * same view its own message would have shown (so where, error and link
 * read the same), and kept in the store with the delivery: the grouped
 * message is rendered later, maybe after a restart, without the API. The
 * runs are clustered by their error with numbers, ids and literals masked
 * (mem_signature()), the largest cluster first, so "11 of 12 failed
 * with: …" leads and the odd one out follows. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "memory.h"
#include "render_int.h"
#include "text.h"

#define DOT " \xc2\xb7 "        /* " · " */
#define FIELD_CHARS 300         /* names, environment, path as kept */
#define LINK_BYTES 2000         /* a link as kept */
#define HEADLINE_ERROR_CHARS 60 /* the shared error in the headline */

/* Cut raw to max code points on a character boundary, sanitised, never
 * NULL unless out of memory. */
static char *clean(const char *raw, size_t max)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, 0);
	char *t = c ? text_truncate(c, max) : NULL;

	free(c);
	return t;
}

static int add_str(cJSON *o, const char *key, const char *raw, size_t max)
{
	char *t = clean(raw, max);
	int ok = t != NULL && cJSON_AddStringToObject(o, key, t) != NULL;

	free(t);
	return ok;
}

char *group_item_encode(const struct summary *s, const char *mention)
{
	struct view v;
	cJSON *o = NULL;
	char *err = NULL, *out = NULL;
	const char *where = "", *full = "";
	int ok;

	if (s == NULL || view_build(s, &v) != 0)
		return NULL;
	if (v.n_errors) {
		where = v.errors[0].where ? v.errors[0].where : "";
		full = v.errors[0].full ? v.errors[0].full : "";
	} else if (v.message) {
		full = v.message;
	}
	err = render_key_line(full, VIEW_KEY_CHARS);
	o = cJSON_CreateObject();
	ok = o != NULL && err != NULL;
	ok = ok && cJSON_AddStringToObject(o, "st", status_names[s->status]) != NULL;
	ok = ok && add_str(o, "stt", s->status_text, 40);
	ok = ok && add_str(o, "pl", s->pipeline_name, FIELD_CHARS);
	ok = ok && add_str(o, "env", s->environment, FIELD_CHARS);
	ok = ok && add_str(o, "at", where, FIELD_CHARS);
	ok = ok && add_str(o, "err", err, VIEW_KEY_CHARS);
	if (ok && v.link != NULL && strlen(v.link) < LINK_BYTES)
		ok = cJSON_AddStringToObject(o, "url", v.link) != NULL;
	if (ok && v.mention && mention != NULL && *mention)
		ok = add_str(o, "m", mention, 256);
	ok = ok && cJSON_AddNumberToObject(o, "fin", (double)s->finished_ms) != NULL;
	if (ok)
		out = cJSON_PrintUnformatted(o);
	/* Every field is cut above, so this holds; it is the contract. */
	if (out != NULL && strlen(out) >= GROUP_ITEM_MAX) {
		free(out);
		out = NULL;
	}
	cJSON_Delete(o);
	free(err);
	view_free(&v);
	return out;
}

/* The string member key of o, cleaned and cut; "" when absent. */
static char *get_str(const cJSON *o, const char *key, size_t max)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, key);

	return clean(cJSON_IsString(f) ? f->valuestring : "", max);
}

int group_item_decode(const char *text, struct group_item *it)
{
	cJSON *o = NULL;
	const cJSON *f;
	char *st = NULL;

	memset(it, 0, sizeof(*it));
	it->finished_ms = -1;
	if (text != NULL && strlen(text) < GROUP_ITEM_MAX)
		o = cJSON_Parse(text);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = NULL;
	}
	st = get_str(o, "st", 40);
	it->status_text = get_str(o, "stt", 40);
	it->pipeline = get_str(o, "pl", FIELD_CHARS);
	it->environment = get_str(o, "env", FIELD_CHARS);
	it->where = get_str(o, "at", FIELD_CHARS);
	it->error = get_str(o, "err", VIEW_KEY_CHARS);
	it->mention = get_str(o, "m", 256);
	f = cJSON_GetObjectItemCaseSensitive(o, "url");
	/* A link is ours (made from the configured UI base and ids the
	 * worker checked); a damaged one is dropped, not shown. */
	if (cJSON_IsString(f) && strlen(f->valuestring) < LINK_BYTES &&
	    (strncmp(f->valuestring, "https://", 8) == 0 ||
	     strncmp(f->valuestring, "http://", 7) == 0) &&
	    strpbrk(f->valuestring, " \"<>|\r\n\t") == NULL)
		it->link = strdup(f->valuestring);
	else
		it->link = strdup("");
	f = cJSON_GetObjectItemCaseSensitive(o, "fin");
	if (cJSON_IsNumber(f) && f->valuedouble >= 0 && f->valuedouble < 1e15)
		it->finished_ms = (int64_t)f->valuedouble;
	cJSON_Delete(o);
	if (st == NULL || !it->status_text || !it->pipeline || !it->environment || !it->where ||
	    !it->error || !it->mention || !it->link) {
		free(st);
		group_item_free(it);
		return ERR_NOMEM;
	}
	it->status = status_parse(st);
	it->sig = *it->error ? mem_signature("", it->error) : 0;
	free(st);
	return 0;
}

void group_item_free(struct group_item *it)
{
	if (it == NULL)
		return;
	free(it->status_text);
	free(it->pipeline);
	free(it->environment);
	free(it->where);
	free(it->error);
	free(it->link);
	free(it->mention);
	memset(it, 0, sizeof(*it));
}

/* ---- the grouped view ---- */

/* Orders clusters: the largest first, then the one seen first. */
static int cluster_cmp(const void *a, const void *b)
{
	const struct group_cluster *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

/* The status word of the message: "failed" when every run failed,
 * "were cancelled" when every one was, else "had problems". */
static const char *group_verb(const struct group_item *items, size_t n, const char **emoji)
{
	size_t i, failed = 0, cancelled = 0;

	for (i = 0; i < n; i++) {
		if (items[i].status == ST_FAILED || items[i].status == ST_FORBIDDEN)
			failed++;
		else if (items[i].status == ST_CANCELLED || items[i].status == ST_CANCELLING)
			cancelled++;
	}
	if (cancelled == n) {
		*emoji = "\xe2\x8f\xb9"; /* U+23F9 stop button, as view.c */
		return "were cancelled";
	}
	*emoji = "\xe2\x9d\x8c"; /* U+274C cross mark */
	return failed == n ? "failed" : "had problems";
}

/* Every item's environment when they all share one, else NULL. */
static const char *common_env(const struct group_item *items, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (strcmp(items[i].environment, items[0].environment) != 0)
			return NULL;
	return *items[0].environment ? items[0].environment : NULL;
}

static int build_headline(struct group_view *g, const struct group_item *items, size_t n)
{
	const char *verb = group_verb(items, n, &g->emoji), *env = common_env(items, n);
	const struct group_cluster *top = &g->clusters[0];
	char head[512], with[256], *err;

	if (env != NULL)
		snprintf(head, sizeof(head), "%s %s" DOT "%zu pipeline runs %s", g->emoji, env, n,
			 verb);
	else
		snprintf(head, sizeof(head), "%s %zu pipeline runs %s", g->emoji, n, verb);
	with[0] = '\0';
	if (top->n >= 2 && *items[top->first].error) {
		/* Short enough for a lock screen; the cluster's heading has
		 * it whole. */
		err = text_truncate(items[top->first].error, HEADLINE_ERROR_CHARS);
		if (err == NULL)
			return ERR_NOMEM;
		snprintf(with, sizeof(with), DOT "%zu with: %s", top->n, err);
		free(err);
	}
	g->headline = text_concat3(head, with, "");
	return g->headline ? 0 : ERR_NOMEM;
}

/* "Finished 02:00–02:09 UTC · 3 pipelines" from the runs' finish times. */
static int build_context(struct group_view *g, const struct group_item *items, size_t n)
{
	int64_t lo = -1, hi = -1;
	char a[32], b[32], line[160];
	size_t i, j, pipelines = 0;

	for (i = 0; i < n; i++) {
		if (items[i].finished_ms < 0)
			continue;
		if (lo < 0 || items[i].finished_ms < lo)
			lo = items[i].finished_ms;
		if (items[i].finished_ms > hi)
			hi = items[i].finished_ms;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (strcmp(items[i].pipeline, items[j].pipeline) == 0)
				break;
		pipelines += j == i;
	}
	render_clock(lo, 0, a, sizeof(a));
	render_clock(hi, 0, b, sizeof(b));
	if (lo < 0)
		snprintf(line, sizeof(line),
			 "%zu pipeline%s" DOT "listed together: many problems at once", pipelines,
			 pipelines == 1 ? "" : "s");
	else if (strcmp(a, b) == 0)
		snprintf(line, sizeof(line),
			 "Finished %s UTC" DOT "%zu pipeline%s" DOT
			 "listed together: many problems at once",
			 a, pipelines, pipelines == 1 ? "" : "s");
	else
		snprintf(line, sizeof(line),
			 "Finished %s\xe2\x80\x93%s UTC" DOT "%zu pipeline%s" DOT
			 "listed together: many problems at once",
			 a, b, pipelines, pipelines == 1 ? "" : "s");
	g->context = strdup(line);
	return g->context ? 0 : ERR_NOMEM;
}

int group_view_build(const struct group_item *items, size_t n, struct group_view *g)
{
	size_t i, k, o = 0;

	memset(g, 0, sizeof(*g));
	if (items == NULL || n == 0)
		return ERR_INVALID;
	g->clusters = calloc(n, sizeof(*g->clusters));
	g->order = calloc(n, sizeof(*g->order));
	if (g->clusters == NULL || g->order == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		for (k = 0; k < g->n_clusters; k++)
			if (items[i].sig != 0 && items[g->clusters[k].first].sig == items[i].sig)
				break;
		if (k == g->n_clusters)
			g->clusters[g->n_clusters++].first = i;
		g->clusters[k].n++;
		if (g->mention == NULL && *items[i].mention)
			g->mention = items[i].mention;
	}
	qsort(g->clusters, g->n_clusters, sizeof(*g->clusters), cluster_cmp);
	for (k = 0; k < g->n_clusters; k++) {
		g->clusters[k].start = o;
		for (i = g->clusters[k].first; i < n; i++)
			if (i == g->clusters[k].first ||
			    (items[i].sig != 0 && items[i].sig == items[g->clusters[k].first].sig))
				g->order[o++] = i;
	}
	g->n = n;
	g->one_env = common_env(items, n) != NULL;
	if (build_headline(g, items, n) != 0 || build_context(g, items, n) != 0)
		goto nomem;
	return 0;
nomem:
	group_view_free(g);
	return ERR_NOMEM;
}

void group_view_free(struct group_view *g)
{
	if (g == NULL)
		return;
	free(g->clusters);
	free(g->order);
	free(g->headline);
	free(g->context);
	memset(g, 0, sizeof(*g));
}

char *group_run_line(const struct group_item *it, int with_env, int with_error)
{
	char line[1024];
	size_t o;

	o = (size_t)snprintf(line, sizeof(line), "%s", *it->pipeline ? it->pipeline : "?");
	if (with_env && *it->environment && o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, DOT "%s", it->environment);
	if (*it->where && o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, DOT "%s", it->where);
	if (it->status != ST_FAILED && o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, DOT "%s",
				      render_status_word(it->status, it->status_text));
	if (with_error && *it->error && o < sizeof(line))
		snprintf(line + o, sizeof(line) - o, ": %s", it->error);
	/* snprintf may have cut it inside a character: sanitising drops
	 * the broken end. */
	return clean(line, 400);
}

void group_cluster_line(const struct group_view *g, size_t k, const struct group_item *items,
			char *out, size_t outlen)
{
	const struct group_cluster *c = &g->clusters[k];

	if (c->n >= 2 && *items[c->first].error)
		snprintf(out, outlen, "%zu of %zu with: %s", c->n, g->n, items[c->first].error);
	else if (c->n >= 2)
		snprintf(out, outlen, "%zu of %zu without an error text", c->n, g->n);
	else
		out[0] = '\0';
}
