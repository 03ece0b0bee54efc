/* The generic JSON webhook: the whole run summary as one versioned event
 * (docs/webhook-schema.md, docs/dpc-notify-event.schema.json) for the
 * reader's own automation, signed at post time the Standard Webhooks way.
 * Pure: summary in, JSON out; the prepare hook adds the signature headers.
 *
 * Nothing here is shown to a person by a chat client, so there is no markup
 * to defuse: JSON string escaping (cJSON's) is the whole escaping. Every
 * untrusted string is sanitised (valid UTF-8, no control characters but
 * newlines in error texts) and cut to a documented number of code points,
 * ending in "…" when cut. The body is bounded by JSON_MAX_BYTES: when a
 * run does not fit, the failed steps go first (they repeat what the error
 * groups say), then the child runs, then the error groups, from the last,
 * each counted in its *_omitted field. Counts saturate at 2^53 - 1, the
 * largest integer every JSON reader holds exactly.
 *
 * The event says what the summary holds; the view (view.c) contributes the
 * triage line, run memory's line and which link is the failing child's, so
 * the wording matches the chat messages. A generic webhook has no
 * mentions. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "render_int.h"
#include "sign.h"
#include "text.h"

#define JSON_MAX_BYTES 262144 /* whole body; published in the row's limits */
#define JSON_SCHEMA_VERSION 1

/* Longest strings, in code points (the JSON Schema's maxLength). */
#define ID_CHARS 128          /* ids as sent (ours are validated shorter) */
#define NAME_CHARS 256        /* names: project, pipeline, step, child, user, ... */
#define PATH_CHARS 1024       /* a step path */
#define ERROR_CHARS 4000      /* an error group's text, the run's message */
#define STEP_ERROR_CHARS 2000 /* one failed step's error */
#define NOTE_CHARS 1000       /* notes, the headline, the history line */
#define LINK_BYTES 2048       /* a link longer than this is left out, not cut */
#define POST_ID_MAX 255       /* bytes of a webhook-id */

#define JSON_INT_MAX 9007199254740991ULL /* 2^53 - 1 */

/* How much of the lists one rendering keeps. */
struct keep {
	size_t steps, children, groups;
};

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Adds raw (NULL or "" as null, with nullable; else "") sanitised and cut
 * to max code points. newlines keeps line breaks (error texts). Returns
 * 0, or -1 on ERR_NOMEM. */
static int add_text(cJSON *o, const char *key, const char *raw, size_t max, int nullable,
		    int newlines)
{
	char *c, *t;
	int rc;

	if ((raw == NULL || *raw == '\0') && nullable)
		return cJSON_AddNullToObject(o, key) ? 0 : -1;
	c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, newlines);
	t = c ? text_truncate(c, max) : NULL;
	rc = t != NULL && cJSON_AddStringToObject(o, key, t) ? 0 : -1;
	free(c);
	free(t);
	return rc;
}

static int add_name(cJSON *o, const char *key, const char *raw)
{
	return add_text(o, key, raw, NAME_CHARS, 1, 0);
}

/* RFC 3339 UTC, with milliseconds only when there are some; null when
 * unknown or outside years 1970..9999. */
static int add_time(cJSON *o, const char *key, int64_t ms)
{
	char buf[40];
	struct tm tm;
	time_t t;
	size_t n;

	if (ms < 0 || ms > 253402300799999LL)
		return cJSON_AddNullToObject(o, key) ? 0 : -1;
	t = (time_t)(ms / 1000);
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ms % 1000 ? ".%03dZ" : "Z", (int)(ms % 1000));
	return cJSON_AddStringToObject(o, key, buf) ? 0 : -1;
}

/* A count as exact decimal digits: cJSON prints a double with 15
 * significant digits and would round a large count. */
static int add_count(cJSON *o, const char *key, uint64_t n)
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%llu",
		 (unsigned long long)(n > JSON_INT_MAX ? JSON_INT_MAX : n));
	return cJSON_AddRawToObject(o, key, digits) ? 0 : -1;
}

/* A duration in ms, null when negative (unknown). */
static int add_ms(cJSON *o, const char *key, int64_t ms)
{
	if (ms < 0)
		return cJSON_AddNullToObject(o, key) ? 0 : -1;
	return add_count(o, key, (uint64_t)ms);
}

static const char *status_name(enum run_status st)
{
	return (unsigned)st < ST__MAX ? status_names[st] : status_names[ST_UNKNOWN];
}

/* A link as built from the configured ui_base and a run id; one too long
 * to be a link is left out rather than cut into a wrong one. */
static int add_link(cJSON *o, const char *key, const char *url)
{
	if (url == NULL || *url == '\0' || strlen(url) > LINK_BYTES)
		return cJSON_AddNullToObject(o, key) ? 0 : -1;
	return add_text(o, key, url, LINK_BYTES, 1, 0);
}

/* What happened, for a receiver to branch on: run memory's form first (a
 * recovery, a repeat told in one line), then the status. */
static const char *event_type(const struct summary *s)
{
	if (s->memory.known && s->memory.form == FORM_RECOVERY)
		return "run.recovered";
	if (s->memory.known && s->memory.form == FORM_HELD)
		return "silence.ended";
	if (s->memory.known && s->memory.form == FORM_LONG_RUNNING)
		return "run.long_running";
	if (status_is_problem(s->status) && s->memory.known && s->memory.form == FORM_COMPACT)
		return "run.repeated";
	switch (s->status) {
	case ST_FAILED:
	case ST_FORBIDDEN: return "run.failed";
	case ST_CANCELLED: return "run.cancelled";
	case ST_SUCCESS: return "run.succeeded";
	default: return "run.finished";
	}
}

static int add_run(cJSON *data, const struct summary *s)
{
	cJSON *run = cJSON_AddObjectToObject(data, "run"), *sch;
	int rc = run == NULL;

	rc |= add_text(run, "project_id", s->project_id, ID_CHARS, 1, 0);
	rc |= add_name(run, "project_name", s->project_name);
	rc |= add_text(run, "execution_id", s->execution_id, ID_CHARS, 1, 0);
	rc |= add_name(run, "pipeline", s->pipeline_name);
	rc |= add_name(run, "environment", s->environment);
	rc |= cJSON_AddStringToObject(run, "status", status_name(s->status)) == NULL;
	rc |= add_name(run, "status_text", s->status_text);
	rc |= add_name(run, "trigger", s->trigger);
	if (*s->schedule_id || *s->schedule_name) {
		sch = cJSON_AddObjectToObject(run, "schedule");
		rc |= sch == NULL;
		rc |= add_text(sch, "id", s->schedule_id, ID_CHARS, 1, 0);
		rc |= add_name(sch, "name", s->schedule_name);
	} else {
		rc |= cJSON_AddNullToObject(run, "schedule") == NULL;
	}
	rc |= add_name(run, "user", s->user);
	rc |= add_time(run, "started_at", s->started_ms);
	rc |= add_time(run, "finished_at", s->finished_ms);
	rc |= add_ms(run, "duration_ms",
		     s->started_ms >= 0 && s->finished_ms >= s->started_ms
			     ? s->finished_ms - s->started_ms
			     : -1);
	rc |= add_text(run, "message", s->message, ERROR_CHARS, 1, 1);
	return rc ? -1 : 0;
}

/* Steps by status, every status named (lower case), and the total. */
static int add_counts(cJSON *data, const struct summary *s)
{
	cJSON *c = cJSON_AddObjectToObject(data, "counts");
	char key[16];
	size_t i, k;
	int rc = c == NULL || add_count(c, "total", s->total_steps);

	for (i = 0; i < ST__MAX && !rc; i++) {
		for (k = 0; status_names[i][k] && k + 1 < sizeof(key); k++)
			key[k] = (char)(status_names[i][k] | 0x20);
		key[k] = '\0';
		rc = add_count(c, key, s->counts[i]);
	}
	return rc ? -1 : 0;
}

/* The last segment of a step path: the step's own name. */
static const char *step_name(const char *path)
{
	const char *p = path, *hit;

	while ((hit = strstr(p, SUMMARY_PATH_SEP)) != NULL)
		p = hit + strlen(SUMMARY_PATH_SEP);
	return p;
}

static int add_step(cJSON *arr, const struct failed_step *f)
{
	cJSON *o = cJSON_CreateObject();
	int rc = o == NULL;

	if (o != NULL)
		cJSON_AddItemToArray(arr, o);
	rc |= add_text(o, "path", f->path, PATH_CHARS, 0, 0);
	rc |= add_text(o, "step", step_name(f->path ? f->path : ""), NAME_CHARS, 0, 0);
	rc |= cJSON_AddStringToObject(o, "status", status_name(f->status)) == NULL;
	rc |= add_name(o, "status_text", f->status_text);
	rc |= add_text(o, "error", f->message, STEP_ERROR_CHARS, 0, 1);
	rc |= add_text(o, "execution_id", f->execution_id, ID_CHARS, 1, 0);
	rc |= cJSON_AddNumberToObject(o, "depth", f->depth < 0 ? 0 : f->depth) == NULL;
	rc |= add_ms(o, "duration_ms", f->duration_ms);
	rc |= cJSON_AddBoolToObject(o, "calls_child", f->calls_child != 0) == NULL;
	return rc ? -1 : 0;
}

static int add_group(cJSON *arr, const struct error_group *g)
{
	cJSON *o = cJSON_CreateObject();
	int rc = o == NULL;

	if (o != NULL)
		cJSON_AddItemToArray(arr, o);
	rc |= add_text(o, "error", g->message, ERROR_CHARS, 0, 1);
	rc |= cJSON_AddStringToObject(o, "status", status_name(g->status)) == NULL;
	rc |= add_count(o, "count", g->count);
	rc |= add_text(o, "first_path", g->first_path, PATH_CHARS, 0, 0);
	rc |= add_text(o, "first_step", g->first_step, NAME_CHARS, 0, 0);
	rc |= add_text(o, "last_step", g->last_step, NAME_CHARS, 0, 0);
	rc |= add_text(o, "execution_id", g->execution_id, ID_CHARS, 1, 0);
	rc |= cJSON_AddNumberToObject(o, "depth", g->depth < 0 ? 0 : g->depth) == NULL;
	rc |= cJSON_AddBoolToObject(o, "calls_child", g->calls_child != 0) == NULL;
	return rc ? -1 : 0;
}

static int add_child(cJSON *arr, const struct child_run *c)
{
	cJSON *o = cJSON_CreateObject();
	int rc = o == NULL;

	if (o != NULL)
		cJSON_AddItemToArray(arr, o);
	rc |= add_name(o, "name", c->name);
	rc |= cJSON_AddStringToObject(o, "status", status_name(c->status)) == NULL;
	rc |= add_text(o, "execution_id", c->execution_id, ID_CHARS, 1, 0);
	rc |= add_text(o, "path", c->path, PATH_CHARS, 1, 0);
	rc |= cJSON_AddNumberToObject(o, "depth", c->depth < 0 ? 0 : c->depth) == NULL;
	return rc ? -1 : 0;
}

/* The three lists, each cut to what k keeps, and what was left out. */
static int add_lists(cJSON *data, const struct summary *s, const struct keep *k)
{
	cJSON *steps = cJSON_AddArrayToObject(data, "failed_steps"), *groups, *children;
	uint64_t left = 0;
	size_t i;
	int rc = steps == NULL;

	for (i = 0; i < s->n_failed && i < k->steps && !rc; i++)
		rc = add_step(steps, &s->failed[i]);
	rc |= add_count(data, "failed_steps_omitted", sat_add(s->failed_more, s->n_failed - i));
	groups = cJSON_AddArrayToObject(data, "error_groups");
	rc |= groups == NULL;
	for (i = 0; i < s->n_groups && i < k->groups && !rc; i++)
		rc = add_group(groups, &s->groups[i]);
	for (left = s->groups_more; i < s->n_groups; i++)
		left = sat_add(left, s->groups[i].count);
	rc |= add_count(data, "error_groups_omitted_steps", left);
	children = cJSON_AddArrayToObject(data, "children");
	rc |= children == NULL;
	for (i = 0; i < s->n_children && i < k->children && !rc; i++)
		rc = add_child(children, &s->children[i]);
	rc |= add_count(data, "children_omitted", sat_add(s->children_more, s->n_children - i));
	return rc ? -1 : 0;
}

/* Links, caveats, the follow-up and the reader's wording (from the view). */
static int add_context(cJSON *data, const struct summary *s, const struct view *v)
{
	cJSON *links = cJSON_AddObjectToObject(data, "links");
	cJSON *notes = cJSON_AddObjectToObject(data, "notes"), *fu, *text;
	int rc = links == NULL || notes == NULL;

	rc |= add_link(links, "run", s->link);
	rc |= add_link(links, "failing_child_run", v->root_link ? v->link : NULL);
	rc |= add_text(notes, "degraded", s->degraded, NOTE_CHARS, 1, 0);
	rc |= add_text(notes, "incomplete", s->incomplete, NOTE_CHARS, 1, 0);
	rc |= cJSON_AddBoolToObject(notes, "details_follow",
				    s->degraded != NULL && s->degraded_promise) == NULL;
	if (s->follows_ms >= 0) {
		fu = cJSON_AddObjectToObject(data, "follow_up");
		rc |= fu == NULL || add_time(fu, "completes_notice_at", s->follows_ms);
	} else {
		rc |= cJSON_AddNullToObject(data, "follow_up") == NULL;
	}
	text = cJSON_AddObjectToObject(data, "text");
	rc |= text == NULL;
	rc |= add_text(text, "headline", v->headline, NOTE_CHARS, 0, 0);
	rc |= add_text(text, "history", v->history, NOTE_CHARS, 1, 0);
	return rc ? -1 : 0;
}

static const char *const form_names[] = {
	[FORM_FULL] = "full", [FORM_COMPACT] = "compact",           [FORM_RECOVERY] = "recovery",
	[FORM_HELD] = "held", [FORM_LONG_RUNNING] = "long_running",
};

/* A still-running notice's "long_running": when it was noticed, how long
 * the run had been running then, the limit it passed and which key set
 * it. */
static int add_long_running(cJSON *o, const struct summary *s)
{
	const struct run_context *m = &s->memory;
	cJSON *lr = cJSON_AddObjectToObject(o, "long_running");
	int64_t ran = s->started_ms >= 0 && m->long_at_ms >= s->started_ms
			      ? m->long_at_ms - s->started_ms
			      : -1;

	if (lr == NULL || add_time(lr, "noticed_at", m->long_at_ms) ||
	    add_ms(lr, "running_ms", ran) || add_ms(lr, "limit_ms", m->long_limit_ms) ||
	    cJSON_AddStringToObject(lr, "limit", m->long_slow ? "slow_factor" : "max_duration") ==
		    NULL)
		return -1;
	return 0;
}

/* What run memory said about this run; null when it knew nothing. */
static int add_memory(cJSON *data, const struct summary *s)
{
	const struct run_context *m = &s->memory;
	cJSON *o, *inc;
	int rc;

	if (!m->known)
		return cJSON_AddNullToObject(data, "memory") ? 0 : -1;
	o = cJSON_AddObjectToObject(data, "memory");
	rc = o == NULL;
	rc |= cJSON_AddStringToObject(o, "form",
				      (unsigned)m->form <= FORM_LONG_RUNNING ? form_names[m->form]
									     : "full") == NULL;
	rc |= add_count(o, "streak", m->streak);
	rc |= add_time(o, "since", m->streak_since_ms);
	rc |= add_count(o, "successes_before", m->successes_before);
	rc |= add_ms(o, "usual_duration_ms", m->usual_ms);
	rc |= cJSON_AddBoolToObject(o, "slow", m->slow != 0) == NULL;
	rc |= add_count(o, "held_back", m->held_before);
	rc |= cJSON_AddBoolToObject(o, "new_error", m->new_error != 0) == NULL;
	rc |= cJSON_AddBoolToObject(o, "reminder", m->reminder != 0) == NULL;
	rc |= cJSON_AddBoolToObject(o, "late", m->late != 0) == NULL;
	if (m->form == FORM_RECOVERY) {
		inc = cJSON_AddObjectToObject(o, "incident");
		rc |= inc == NULL || add_count(inc, "failures", m->incident_failures) ||
		      add_time(inc, "since", m->incident_since_ms);
	} else {
		rc |= cJSON_AddNullToObject(o, "incident") == NULL;
	}
	if (m->form == FORM_HELD) {
		inc = cJSON_AddObjectToObject(o, "silence");
		rc |= inc == NULL || add_time(inc, "from", m->held_from_ms) ||
		      add_time(inc, "until", m->held_until_ms) ||
		      add_text(inc, "reason", s->held_reason ? s->held_reason : "", NOTE_CHARS, 0,
			       0);
	}
	if (m->form == FORM_LONG_RUNNING)
		rc |= add_long_running(o, s);
	return rc ? -1 : 0;
}

/* The event with the lists cut to k. New string or NULL on ERR_NOMEM. */
static char *print(const struct summary *s, const struct view *v, const struct keep *k)
{
	cJSON *root = cJSON_CreateObject(), *data = NULL;
	char *out = NULL;
	int rc;

	if (root == NULL)
		return NULL;
	rc = cJSON_AddNumberToObject(root, "schema_version", JSON_SCHEMA_VERSION) == NULL;
	rc |= cJSON_AddStringToObject(root, "type", event_type(s)) == NULL;
	rc |= add_time(root, "timestamp",
		       s->memory.known && s->memory.form == FORM_LONG_RUNNING ? s->memory.long_at_ms
		       : s->finished_ms >= 0                                  ? s->finished_ms
									      : s->started_ms);
	rc |= cJSON_AddBoolToObject(root, "test", s->is_test != 0) == NULL;
	data = cJSON_AddObjectToObject(root, "data");
	rc |= data == NULL;
	if (!rc)
		rc = add_run(data, s) || add_counts(data, s) || add_lists(data, s, k) ||
		     add_context(data, s, v) || add_memory(data, s);
	if (!rc)
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return out;
}

/* Three quarters of n, and 0 from 1, so every shrink makes progress. */
static size_t shrink(size_t n)
{
	return n * 3 / 4;
}

/* The event for s within JSON_MAX_BYTES: whole when it fits, else with
 * failed steps, then children, then error groups left out from the last.
 * Caller frees; NULL on ERR_NOMEM. */
static char *json_render(const struct summary *s, const struct render_opts *o)
{
	/* The summary keeps no more than these; the schema promises it. */
	struct keep k = { s->n_failed < SUMMARY_MAX_FAILED ? s->n_failed : SUMMARY_MAX_FAILED,
			  s->n_children < SUMMARY_MAX_CHILDREN ? s->n_children
							       : SUMMARY_MAX_CHILDREN,
			  s->n_groups < SUMMARY_MAX_GROUPS ? s->n_groups : SUMMARY_MAX_GROUPS };
	struct view v;
	char *out = NULL;

	(void)o; /* a generic webhook has no mention */
	if (view_build(s, &v) != 0)
		return NULL;
	for (;;) {
		out = print(s, &v, &k);
		if (out == NULL || strlen(out) <= JSON_MAX_BYTES)
			break;
		if (k.steps > 0)
			k.steps = shrink(k.steps);
		else if (k.children > 0)
			k.children = shrink(k.children);
		else if (k.groups > 0)
			k.groups = shrink(k.groups);
		else
			break; /* identity alone is far below the bound */
		free(out);
		out = NULL;
	}
	view_free(&v);
	return out;
}

/* 1 when id can go into a header and a signature unchanged: 1 to
 * POST_ID_MAX bytes of visible ASCII (no space, no control). */
static int post_id_ok(const char *id)
{
	size_t n = 0;

	for (; id[n]; n++)
		if ((unsigned char)id[n] <= 0x20 || (unsigned char)id[n] >= 0x7f)
			return 0;
	return n > 0 && n <= POST_ID_MAX;
}

/* Standard Webhooks: webhook-id is the post id (the same on every retry of
 * one delivery, so a receiver can drop a duplicate), webhook-timestamp the
 * post's time, webhook-signature "v1,<base64 HMAC-SHA256 of id.ts.body>"
 * with the destination's secret read as intake reads hmac_secret. No
 * secret, or one that cannot sign: the post is refused, never sent
 * unsigned (check-config says so at load). */
static int json_prepare(const char *body, const char *secret, const char *post_id, int64_t now_s,
			struct target_post *out)
{
	char ts[24], sig[SIGN_B64_LEN + 1];

	memset(out, 0, sizeof(*out));
	if (body == NULL || post_id == NULL || !post_id_ok(post_id) || now_s < 0)
		return ERR_INVALID;
	snprintf(ts, sizeof(ts), "%lld", (long long)now_s);
	if (sign_standard(secret, post_id, ts, body, strlen(body), sig) != 0)
		return ERR_INVALID;
	out->headers[0] = text_concat3("webhook-id: ", post_id, NULL);
	out->headers[1] = text_concat3("webhook-timestamp: ", ts, NULL);
	out->headers[2] = text_concat3("webhook-signature: v1,", sig, NULL);
	if (out->headers[0] == NULL || out->headers[1] == NULL || out->headers[2] == NULL) {
		target_post_free(out);
		return ERR_NOMEM;
	}
	return 0;
}

/* A receiver is our reader's own code: the status alone decides (2xx
 * delivered; 408, 429 and 5xx retried, after Retry-After when sent; any
 * other status given up). */
static int json_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

const struct target target_json = {
	.name = "json",
	/* No platform sets a limit: the receiver is the reader's own. Ten
	 * events a second never holds back a project's runs, yet a storm of
	 * hundreds of runs reaches a small receiver spread over seconds
	 * rather than at once. */
	.default_rate = 10.0,
	.content_type = "application/json",
	.limits = { .max_bytes = JSON_MAX_BYTES },
	.render = json_render,
	.render_group = NULL,
	.prepare = json_prepare,
	.classify = json_classify,
	.url_warning = NULL,
};
