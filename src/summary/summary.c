/* Builds the summary of one run from the execution object and the pages of
 * steps the Matillion client fetches. Pure: JSON text in, struct out.
 *
 * DESIGN: memory is bounded whatever the API returns. Every step is only
 * counted by status; problem steps (FAILED, CANCELLED, FORBIDDEN) are kept in
 * detail up to SUMMARY_MAX_FAILED and counted in failed_more beyond it; child
 * runs are kept up to SUMMARY_MAX_CHILDREN (deduplicated by execution id) and
 * counted in children_more beyond it. Names are cut to NAME_MAX bytes and
 * messages to SUMMARY_MESSAGE_MAX bytes, so a kept entry has a fixed upper
 * size. Every string is sanitised and capped on its way in, through the
 * summary_set_* functions or the parsers here, except a child's execution
 * id, kept (capped) as the API sent it for dedupe and the next request; the
 * renderers sanitise again what they print before escaping it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "summary.h"
#include "text.h"

#define NAME_MAX_BYTES 256  /* a pipeline or step name as kept */
#define SHORT_MAX_BYTES 128 /* status words, ids, trigger, user */
#define LINK_PATH "/observability-dashboard/pipeline/"
#define ELLIPSIS "\xe2\x80\xa6"

/* Sanitised copy of s cut to max bytes on a code point boundary; with
 * ellipsis = 1 a cut string ends in "…" and stays within max. Leading and
 * trailing blanks are trimmed. NULL s gives "". Caller frees. */
static char *clean(const char *s, size_t max, int keep_newlines, int ellipsis)
{
	char *t, *start, *end;
	size_t n, len;

	t = text_sanitize(s ? s : "", s ? strlen(s) : 0, keep_newlines);
	if (t == NULL)
		return NULL;
	start = t + strspn(t, " \t\r\n");
	end = start + strlen(start);
	while (end > start && strchr(" \t\r\n", end[-1]) != NULL)
		end--;
	*end = '\0';
	len = (size_t)(end - start);
	if (len > max) {
		n = text_utf8_prefix(start, ellipsis ? max - 3 : max);
		if (ellipsis) {
			memcpy(start + n, ELLIPSIS, 3);
			n += 3;
		}
		start[n] = '\0';
	}
	memmove(t, start, strlen(start) + 1);
	return t;
}

/* Replaces *dst with a cleaned copy of src. Returns 0 or ERR_NOMEM. */
static int set_str(char **dst, const char *src, size_t max, int keep_newlines)
{
	char *t = clean(src, max, keep_newlines, 1);

	if (t == NULL)
		return ERR_NOMEM;
	free(*dst);
	*dst = t;
	return 0;
}

/* The string value of obj[key], or NULL when absent, null or not a string. */
static const char *get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Builds s->link from ui_base (trailing '/' dropped) and s->execution_id. */
static int make_link(struct summary *s, const char *ui_base)
{
	char *id = NULL;
	size_t blen, ilen;
	int rc = ERR_NOMEM;

	free(s->link);
	s->link = NULL;
	if (ui_base == NULL)
		return 0;
	blen = strlen(ui_base);
	while (blen > 0 && ui_base[blen - 1] == '/')
		blen--;
	/* Encoded, so an execution id can never break out of the link path
	 * (or out of Slack's <url|text>). */
	id = text_url_escape(s->execution_id);
	if (id == NULL)
		goto out;
	ilen = strlen(id);
	s->link = malloc(blen + sizeof(LINK_PATH) + ilen);
	if (s->link == NULL)
		goto out;
	memcpy(s->link, ui_base, blen);
	memcpy(s->link + blen, LINK_PATH, sizeof(LINK_PATH) - 1);
	memcpy(s->link + blen + sizeof(LINK_PATH) - 1, id, ilen + 1);
	rc = 0;
out:
	free(id);
	return rc;
}

int summary_init(struct summary *s, const char *project_id, const char *execution_id,
		 const char *ui_base)
{
	char **strs[] = { &s->project_id,  &s->project_name, &s->execution_id, &s->pipeline_name,
			  &s->environment, &s->status_text,  &s->trigger,      &s->user,
			  &s->message,     &s->schedule_id,  &s->schedule_name };
	size_t i;

	memset(s, 0, sizeof(*s));
	s->started_ms = -1;
	s->finished_ms = -1;
	s->follows_ms = -1;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		*strs[i] = strdup("");
		if (*strs[i] == NULL)
			goto fail;
	}
	if (set_str(&s->project_id, project_id, SHORT_MAX_BYTES, 0) ||
	    set_str(&s->execution_id, execution_id, SHORT_MAX_BYTES, 0) || make_link(s, ui_base))
		goto fail;
	return 0;
fail:
	summary_free(s);
	return ERR_NOMEM;
}

void summary_free(struct summary *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n_failed; i++) {
		free(s->failed[i].path);
		free(s->failed[i].step_id);
		free(s->failed[i].status_text);
		free(s->failed[i].message);
		free(s->failed[i].execution_id);
	}
	for (i = 0; i < s->n_groups; i++) {
		free(s->groups[i].message);
		free(s->groups[i].first_path);
		free(s->groups[i].first_step);
		free(s->groups[i].last_step);
		free(s->groups[i].execution_id);
	}
	free(s->groups);
	for (i = 0; i < s->n_children; i++) {
		free(s->children[i].execution_id);
		free(s->children[i].name);
		free(s->children[i].path);
		free(s->children[i].parent_path);
	}
	free(s->failed);
	free(s->children);
	free(s->project_id);
	free(s->project_name);
	free(s->execution_id);
	free(s->pipeline_name);
	free(s->environment);
	free(s->status_text);
	free(s->trigger);
	free(s->user);
	free(s->schedule_id);
	free(s->schedule_name);
	free(s->held_reason);
	free(s->message);
	free(s->link);
	free(s->incomplete);
	free(s->degraded);
	memset(s, 0, sizeof(*s));
}

/* Copies obj[key] into *dst when it is a non-empty string. */
static int take(char **dst, const cJSON *obj, const char *key, size_t max, int nl)
{
	const char *v = get_str(obj, key);

	if (v == NULL || *v == '\0')
		return 0;
	return set_str(dst, v, max, nl);
}

/* Execution id: also rebuilds the link. The UI base is what precedes the
 * last LINK_PATH in the current link, so this holds even if a caller
 * replaced execution_id directly. */
static int take_execution_id(struct summary *s, const cJSON *obj)
{
	const char *v = get_str(obj, "pipelineExecutionId");
	const char *at = NULL, *p;
	char *base = NULL;
	int rc;

	if (v == NULL || *v == '\0')
		return 0;
	p = s->link ? strstr(s->link, LINK_PATH) : NULL;
	while (p != NULL) {
		at = p;
		p = strstr(p + 1, LINK_PATH);
	}
	if (at != NULL) {
		base = strndup(s->link, (size_t)(at - s->link));
		if (base == NULL)
			return ERR_NOMEM;
	}
	rc = set_str(&s->execution_id, v, SHORT_MAX_BYTES, 0);
	if (rc == 0 && base != NULL)
		rc = make_link(s, base);
	free(base);
	return rc;
}

/* Pipeline name, when the API sent one. */
static int take_pipeline_name(struct summary *s, const cJSON *obj)
{
	const char *v = get_str(obj, "pipelineName");

	if (v == NULL || *v == '\0')
		return 0;
	return summary_set_pipeline_name(s, v);
}

static void take_time(int64_t *dst, const cJSON *obj, const char *key)
{
	int64_t t = summary_parse_time(get_str(obj, key));

	if (t >= 0)
		*dst = t;
}

int summary_set_execution(struct summary *s, const char *json, size_t len)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *obj = root, *inner;
	const char *st;
	int rc = ERR_PARSE;

	if (!cJSON_IsObject(root))
		goto out;
	inner = cJSON_GetObjectItemCaseSensitive(root, "result");
	if (cJSON_IsObject(inner))
		obj = inner;
	rc = take(&s->environment, obj, "environmentName", NAME_MAX_BYTES, 0);
	if (rc == 0)
		rc = take_pipeline_name(s, obj);
	st = get_str(obj, "status");
	if (rc == 0 && st != NULL && *st != '\0')
		rc = summary_set_status(s, status_parse(st), st);
	if (rc == 0)
		rc = take(&s->trigger, obj, "trigger", SHORT_MAX_BYTES, 0);
	if (rc == 0)
		rc = take(&s->user, obj, "user", NAME_MAX_BYTES, 0);
	if (rc == 0)
		rc = take(&s->schedule_id, obj, "scheduleId", SHORT_MAX_BYTES, 0);
	if (rc == 0)
		rc = take(&s->message, obj, "message", SUMMARY_MESSAGE_MAX, 1);
	if (rc == 0)
		rc = take(&s->project_id, obj, "projectId", SHORT_MAX_BYTES, 0);
	if (rc == 0)
		rc = take_execution_id(s, obj);
	if (rc)
		goto out;
	take_time(&s->started_ms, obj, "startedAt");
	take_time(&s->finished_ms, obj, "finishedAt");
out:
	cJSON_Delete(root);
	return rc;
}

/* What summary_add_page reads from one element of "results". */
struct step_view {
	const char *id, *name, *status, *message, *started, *finished;
	const char *child_id, *child_name;
};

static void step_view_read(const cJSON *item, struct step_view *v)
{
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(item, "result");
	const cJSON *child = cJSON_GetObjectItemCaseSensitive(item, "childPipeline");

	memset(v, 0, sizeof(*v));
	if (!cJSON_IsObject(item))
		return;
	v->id = get_str(item, "id");
	v->name = get_str(item, "name");
	if (cJSON_IsObject(result)) {
		v->status = get_str(result, "status");
		v->message = get_str(result, "message");
		v->started = get_str(result, "startedAt");
		v->finished = get_str(result, "finishedAt");
	}
	if (cJSON_IsObject(child)) {
		v->child_id = get_str(child, "id");
		v->child_name = get_str(child, "name");
	}
}

/* "ctx path › step name" (or just the name for an empty ctx path). */
static char *step_path(const struct page_ctx *ctx, const char *name)
{
	const char *pp = (ctx && ctx->pipeline_path) ? ctx->pipeline_path : "";
	char *n = clean(name, NAME_MAX_BYTES, 0, 1), *p;
	size_t plen = strlen(pp), seplen = *pp ? strlen(SUMMARY_PATH_SEP) : 0, nlen;

	if (n == NULL)
		return NULL;
	nlen = strlen(n);
	p = malloc(plen + seplen + nlen + 1);
	if (p != NULL) {
		memcpy(p, pp, plen);
		memcpy(p + plen, SUMMARY_PATH_SEP, seplen);
		memcpy(p + plen + seplen, n, nlen + 1);
	}
	free(n);
	return p;
}

/* Capacity the kept array has for n entries under the growth policy of
 * grow(): 8, 16, 32, ... clamped to cap. */
static size_t capacity(size_t n, size_t cap)
{
	size_t c = 8;

	if (n == 0)
		return 0;
	while (c < n)
		c *= 2;
	return c < cap ? c : cap;
}

/* Makes room for entry n of a kept array, never past cap (n < cap). */
static int grow(void **arr, size_t n, size_t elem, size_t cap)
{
	size_t want;
	void *p;

	if (n < capacity(n, cap))
		return 0;
	want = n == 0 ? 8 : n * 2;
	if (want > cap)
		want = cap;
	p = realloc(*arr, want * elem);
	if (p == NULL)
		return ERR_NOMEM;
	*arr = p;
	return 0;
}

static int64_t duration(const char *started, const char *finished)
{
	int64_t a = summary_parse_time(started), b = summary_parse_time(finished);

	return (a < 0 || b < 0 || b < a) ? -1 : b - a;
}

/* Keeps a problem step in detail; msg is its message, cleaned. */
static int keep_failed(struct summary *s, const struct page_ctx *ctx, const struct step_view *v,
		       enum run_status st, const char *msg)
{
	struct failed_step *f;

	if (s->n_failed >= SUMMARY_MAX_FAILED) {
		s->failed_more++;
		return 0;
	}
	if (grow((void **)&s->failed, s->n_failed, sizeof(*f), SUMMARY_MAX_FAILED))
		return ERR_NOMEM;
	f = &s->failed[s->n_failed];
	memset(f, 0, sizeof(*f));
	f->status = st;
	f->duration_ms = duration(v->started, v->finished);
	f->depth = ctx ? ctx->depth : 0;
	f->seq = (size_t)s->total_steps;
	f->path = step_path(ctx, v->name);
	f->step_id = clean(v->id, SHORT_MAX_BYTES, 0, 0);
	f->status_text = clean(v->status, SHORT_MAX_BYTES, 0, 1);
	f->message = strdup(msg);
	f->execution_id = clean(ctx ? ctx->execution_id : NULL, SHORT_MAX_BYTES, 0, 0);
	f->calls_child = v->child_id != NULL && *v->child_id != '\0';
	s->n_failed++; /* counted even if a copy failed, so summary_free frees it */
	if (!f->path || !f->step_id || !f->status_text || !f->message || !f->execution_id)
		return ERR_NOMEM;
	return 0;
}

/* Counts a problem step in the group of its error text msg (cleaned;
 * taken), opening a group while there is room; beyond SUMMARY_MAX_GROUPS
 * it is only counted. */
static int group_step(struct summary *s, const struct page_ctx *ctx, const struct step_view *v,
		      enum run_status st, char *msg)
{
	char *name;
	int calls = v->child_id != NULL && *v->child_id != '\0';
	struct error_group *g = NULL;
	size_t i;
	int rc = ERR_NOMEM;

	if (msg == NULL)
		return ERR_NOMEM;
	for (i = 0; i < s->n_groups && g == NULL; i++)
		if (s->groups[i].status == st && s->groups[i].calls_child == calls &&
		    strcmp(s->groups[i].message, msg) == 0)
			g = &s->groups[i];
	name = clean(v->name, NAME_MAX_BYTES, 0, 1);
	if (name == NULL)
		goto out;
	if (g != NULL) {
		g->count++;
		free(g->last_step);
		g->last_step = name;
		rc = 0;
		goto out;
	}
	if (s->n_groups >= SUMMARY_MAX_GROUPS) {
		s->groups_more++;
		free(name);
		rc = 0;
		goto out;
	}
	if (grow((void **)&s->groups, s->n_groups, sizeof(*g), SUMMARY_MAX_GROUPS)) {
		free(name);
		goto out;
	}
	g = &s->groups[s->n_groups++];
	memset(g, 0, sizeof(*g));
	g->message = msg;
	msg = NULL;
	g->first_step = name;
	g->status = st;
	g->depth = ctx ? ctx->depth : 0;
	g->calls_child = calls;
	g->count = 1;
	g->seq = (size_t)s->total_steps;
	g->first_path = step_path(ctx, v->name);
	g->last_step = strdup(name);
	g->execution_id = clean(ctx ? ctx->execution_id : NULL, SHORT_MAX_BYTES, 0, 0);
	if (g->first_path && g->last_step && g->execution_id)
		rc = 0;
out:
	free(msg);
	return rc;
}

static int keep_child(struct summary *s, const struct page_ctx *ctx, const struct step_view *v,
		      enum run_status st)
{
	struct child_run *c;
	char *d;
	size_t i;

	for (i = 0; i < s->n_children; i++)
		if (strcmp(s->children[i].execution_id, v->child_id) == 0)
			return 0;
	if (s->n_children >= SUMMARY_MAX_CHILDREN) {
		s->children_more++;
		return 0;
	}
	if (grow((void **)&s->children, s->n_children, sizeof(*c), SUMMARY_MAX_CHILDREN))
		return ERR_NOMEM;
	c = &s->children[s->n_children];
	memset(c, 0, sizeof(*c));
	c->status = st;
	c->depth = (ctx ? ctx->depth : 0) + 1;
	/* Kept verbatim (not cleaned) so dedupe compares what the API sent;
	 * the worker also uses it to build the next request. */
	c->execution_id = strndup(v->child_id, SHORT_MAX_BYTES);
	d = summary_display_name(v->child_name ? v->child_name : "");
	c->name = d ? clean(d, NAME_MAX_BYTES, 0, 1) : NULL;
	free(d);
	c->path = step_path(ctx, v->name);
	c->parent_path = strdup(ctx && ctx->pipeline_path ? ctx->pipeline_path : "");
	s->n_children++;
	if (!c->execution_id || !c->name || !c->path || !c->parent_path)
		return ERR_NOMEM;
	return 0;
}

static int add_step(struct summary *s, const struct page_ctx *ctx, const cJSON *item)
{
	struct step_view v;
	enum run_status st;
	int rc = 0;

	step_view_read(item, &v);
	st = status_parse(v.status);
	if (status_is_problem(st)) {
		/* Cleaned once for both the kept step and its group. */
		char *msg = clean(v.message, SUMMARY_MESSAGE_MAX, 1, 1);

		rc = msg ? keep_failed(s, ctx, &v, st, msg) : ERR_NOMEM;
		if (rc == 0)
			rc = group_step(s, ctx, &v, st, msg);
		else
			free(msg);
	}
	if (rc == 0 && v.child_id != NULL && *v.child_id != '\0')
		rc = keep_child(s, ctx, &v, st);
	s->counts[st]++;
	s->total_steps++;
	return rc;
}

static int64_t get_int(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9e15)
		return -1;
	return (int64_t)v->valuedouble;
}

int summary_add_page(struct summary *s, const struct page_ctx *ctx, const char *json, size_t len,
		     struct page_info *info)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *results, *item;
	struct page_info pi = { -1, -1, 0 };
	int rc = ERR_PARSE;

	if (!cJSON_IsObject(root))
		goto out;
	results = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (!cJSON_IsArray(results))
		goto out;
	pi.total = get_int(root, "total");
	pi.page = get_int(root, "page");
	rc = 0;
	cJSON_ArrayForEach(item, results)
	{
		pi.n_results++;
		rc = add_step(s, ctx, item);
		if (rc)
			break;
	}
out:
	if (info != NULL)
		*info = pi;
	cJSON_Delete(root);
	return rc;
}

static int cmp_failed(const void *a, const void *b)
{
	const struct failed_step *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

static int cmp_group(const void *a, const void *b)
{
	const struct error_group *x = a, *y = b;

	if (x->depth != y->depth)
		return x->depth > y->depth ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return 0;
}

void summary_finish(struct summary *s)
{
	/* seq is unique per step, so these qsort orders are total, hence
	 * stable. */
	if (s->n_failed > 1)
		qsort(s->failed, s->n_failed, sizeof(s->failed[0]), cmp_failed);
	if (s->n_groups > 1)
		qsort(s->groups, s->n_groups, sizeof(s->groups[0]), cmp_group);
}

int summary_set_schedule_name(struct summary *s, const char *name)
{
	return set_str(&s->schedule_name, name, NAME_MAX_BYTES, 0);
}

int summary_set_incomplete(struct summary *s, const char *why)
{
	return set_str(&s->incomplete, why, SUMMARY_MESSAGE_MAX, 0);
}

int summary_set_degraded(struct summary *s, const char *why)
{
	return set_str(&s->degraded, why, SUMMARY_MESSAGE_MAX, 0);
}

int summary_set_project_name(struct summary *s, const char *name)
{
	return set_str(&s->project_name, name, SUMMARY_MESSAGE_MAX, 0);
}

int summary_set_pipeline_name(struct summary *s, const char *pipeline_name)
{
	char *d = summary_display_name(pipeline_name);
	int rc;

	if (d == NULL)
		return ERR_NOMEM;
	rc = set_str(&s->pipeline_name, d, NAME_MAX_BYTES, 0);
	free(d);
	return rc;
}

int summary_set_environment(struct summary *s, const char *environment)
{
	return set_str(&s->environment, environment, NAME_MAX_BYTES, 0);
}

int summary_set_status(struct summary *s, enum run_status st, const char *text)
{
	if ((unsigned)st >= ST__MAX)
		st = ST_UNKNOWN;
	s->status = st;
	return set_str(&s->status_text, text && *text ? text : status_names[st], SHORT_MAX_BYTES,
		       0);
}

char *summary_display_name(const char *pipeline_name)
{
	static const char *const suffixes[] = { ".orch.yaml", ".tran.yaml" };
	size_t len, i, sl;

	if (pipeline_name == NULL)
		pipeline_name = "";
	len = strlen(pipeline_name);
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		sl = strlen(suffixes[i]);
		if (len > sl && strcasecmp(pipeline_name + len - sl, suffixes[i]) == 0)
			return strndup(pipeline_name, len - sl);
	}
	return strdup(pipeline_name);
}

/* Reads exactly n digits at *p into *out, advancing *p. 0 or -1. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

/* Parses "[.fraction](Z|±hh:mm|<end>)" at p: milliseconds into *ms and the
 * offset east of UTC into *off_min. A missing offset is read as UTC because
 * some Matillion payloads leave it out. 0 or -1. */
static int parse_tail(const char *p, int *ms, int *off_min)
{
	int scale = 100, oh, om;

	*ms = 0;
	*off_min = 0;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++, scale /= 10)
			*ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z')
		return p[1] == '\0' ? 0 : -1;
	if (*p == '\0')
		return 0;
	if (*p != '+' && *p != '-')
		return -1;
	{
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || *p != '\0' ||
		    oh > 23 || om > 59)
			return -1;
		*off_min = sign * (oh * 60 + om);
	}
	return 0;
}

int64_t summary_parse_time(const char *s)
{
	const char *p = s;
	int y, mo, d, h, mi, se, ms, off;
	int64_t t;

	if (s == NULL || *s == '\0')
		return -1;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &se) || parse_tail(p, &ms, &off))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - (int64_t)off * 60;
	if (t < 0)
		return -1;
	return t * 1000 + ms;
}
