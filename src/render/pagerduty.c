/* PagerDuty Events API v2 rendering of a run summary: a trigger event per
 * problem run, a resolve event when the pipeline recovers. Pure: summary
 * in, JSON out; the routing key is added at post time (prepare), so a
 * stored payload never holds it.
 *
 * One alert per pipeline: every event of a pipeline (project, environment,
 * pipeline) carries the same dedup_key, so the repeats of an incident are
 * folded into its open alert by PagerDuty, the recovery resolves it, and
 * the next trigger after a resolve opens a new alert (PagerDuty's rule for
 * a key whose alert is resolved). A recovery from run memory, and any
 * other successful run (run memory off, or a slow success), is a resolve:
 * a success never pages; PagerDuty drops a resolve that finds no open
 * alert. Every other run is a trigger whose severity follows the status:
 * by the destination's severity map where it names the status, else
 * critical for a failure, warning for a cancellation, info otherwise. The
 * destination's mention does not apply: PagerDuty's escalation policy
 * decides who is paged.
 *
 * A still-running notice (a run past its route's limit) is a trigger of
 * the run's own alert, "dpc-notify/running/<execution id>", at warning
 * level unless the destination's map names RUNNING: a run that hangs
 * never sends a failure, so nothing else would tell a team that PagerDuty
 * alone alerts. It stays apart from the pipeline's alert so the outcome
 * neither folds into it nor resolves it; it is resolved by hand, like any
 * alert nothing else closes.
 *
 * Limits (PagerDuty's developer docs, Events API v2: "Send an Alert
 * Event" and the overview's "Size Limits"): dedup_key at most 255
 * characters, payload.summary at most 1024, the whole event at most
 * 512 KB. Text is plain (PagerDuty formats none of it), so it is only
 * sanitised and cut; the summary is cut to 1024 bytes, which holds
 * however characters are counted. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "errors.h"
#include "render_int.h"
#include "text.h"

#define PD_MAX_BYTES (512 * 1024) /* whole event; published in the row's limits */
#define PD_SUMMARY_BYTES 1024
#define PD_DEDUP_BYTES 255

#define FIELD_CHARS 300  /* names, context, notes in custom_details */
#define ERROR_CHARS 1200 /* an error excerpt */
#define CHILD_CHARS 120

/* Sanitised, cut to max code points. Caller frees; NULL on ERR_NOMEM. */
static char *clean(const char *raw, size_t max, int lines)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, lines);
	char *t = c ? text_truncate(c, max) : NULL;

	free(c);
	return t;
}

/* ---- the dedup key ---- */

/* 1 for a still-running notice (run memory's FORM_LONG_RUNNING). */
static int long_running(const struct summary *s)
{
	return s->memory.known && s->memory.form == FORM_LONG_RUNNING;
}

/* "dpc-notify/<project>/<environment>/<pipeline>", each part percent-
 * encoded (so no part can pose as two), or, longer than PagerDuty takes,
 * "dpc-notify/sha256/<64 hex digits>" of the same text. A run without a
 * pipeline name stands alone: "dpc-notify/run/<execution id>", a
 * still-running notice is its run's: "dpc-notify/running/<execution id>",
 * and a send-test: "dpc-notify/send-test". Caller
 * frees; NULL on ERR_NOMEM. */
static char *dedup_key(const struct summary *s)
{
	const char *raw[3] = { s->project_id, s->environment, s->pipeline_name };
	char *part[3] = { NULL, NULL, NULL }, *key = NULL, *p;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	size_t i, n = 16;

	/* A send-test event opens an alert of its own, never one of a
	 * pipeline's. */
	if (s->is_test)
		return strdup("dpc-notify/send-test");
	if (*s->pipeline_name == '\0' || long_running(s)) {
		/* No pipeline known: the run is its own incident; so is a
		 * still-running notice, apart from the pipeline's alert. */
		p = text_url_escape(s->execution_id);
		key = p ? text_concat3(long_running(s) ? "dpc-notify/running/" : "dpc-notify/run/",
				       p, "")
			: NULL;
		free(p);
		if (key == NULL)
			return NULL;
		n = strlen(key) + 1;
	} else {
		for (i = 0; i < 3; i++) {
			part[i] = text_url_escape(raw[i]);
			if (part[i] == NULL)
				goto out;
			n += strlen(part[i]) + 1;
		}
		key = malloc(n);
		if (key == NULL)
			goto out;
		snprintf(key, n, "dpc-notify/%s/%s/%s", part[0], part[1], part[2]);
	}
	/* Too long (hostile or huge names, or a run id): hashed, so it
	 * stays within PagerDuty's 255 bytes and the same for the same
	 * parts. */
	if (strlen(key) <= PD_DEDUP_BYTES)
		goto out;
	if (EVP_Digest(key, strlen(key), md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
		free(key);
		key = NULL;
		goto out;
	}
	n = (size_t)snprintf(key, 19, "dpc-notify/sha256/");
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(key + n, 3, "%02x", md[i]);
out:
	for (i = 0; i < 3; i++)
		free(part[i]);
	return key;
}

/* ---- the event ---- */

/* The level of a trigger when the destination's map does not name one:
 * critical for a failure, warning for a cancellation, info otherwise. */
static const unsigned char default_severity[ST__MAX] = {
	[ST_UNKNOWN] = TSEV_INFO,    [ST_RUNNING] = TSEV_INFO,       [ST_SUCCESS] = TSEV_INFO,
	[ST_FAILED] = TSEV_CRITICAL, [ST_CANCELLING] = TSEV_WARNING, [ST_CANCELLED] = TSEV_WARNING,
	[ST_SKIPPED] = TSEV_INFO,    [ST_FORBIDDEN] = TSEV_CRITICAL, [ST_QUEUED] = TSEV_INFO,
};

/* payload.severity for status st from the destination's map (NULL: the
 * default); a status past the table reads as unknown, an entry that is
 * no level as the default's. */
static const char *severity_of(enum run_status st, const unsigned char *map)
{
	size_t i = (unsigned)st < ST__MAX ? (size_t)st : (size_t)ST_UNKNOWN;
	unsigned lv = map != NULL ? map[i] : TSEV__MAX;

	if (lv >= TSEV__MAX)
		lv = default_severity[i];
	return target_severity_names[lv];
}

/* payload.severity of s: a still-running notice is a warning unless the
 * map names RUNNING; any other run as severity_of() says. */
static const char *level_of(const struct summary *s, const unsigned char *map)
{
	if (long_running(s) && (map == NULL || map[ST_RUNNING] >= TSEV__MAX))
		return target_severity_names[TSEV_WARNING];
	return severity_of(s->status, map);
}

/* Adds key: raw text, sanitised and cut; nothing for NULL or "". Returns
 * 0, or -1 on ERR_NOMEM. */
static int add_text(cJSON *o, const char *key, const char *raw, size_t max, int lines)
{
	char *t;
	int ok;

	if (raw == NULL || *raw == '\0')
		return 0;
	t = clean(raw, max, lines);
	ok = t != NULL && cJSON_AddStringToObject(o, key, t) != NULL;
	free(t);
	return ok ? 0 : -1;
}

/* The headline cut to PD_SUMMARY_BYTES, ending in "…" when cut. */
static char *summary_line(const struct view *v)
{
	char *t = clean(v->headline, PD_SUMMARY_BYTES, 0);
	size_t n;

	if (t == NULL || strlen(t) <= PD_SUMMARY_BYTES)
		return t;
	n = text_utf8_prefix(t, PD_SUMMARY_BYTES - 3);
	memcpy(t + n, "\xe2\x80\xa6", 4);
	return t;
}

/* "2026-11-30T02:14:31Z" into out, or "" for an unknown time. */
static void iso_time(int64_t ms, char *out, size_t outlen)
{
	char t[40];

	out[0] = '\0';
	if (ms < 0)
		return;
	render_time(ms, t, sizeof(t)); /* "2026-11-30 02:14:31 UTC" */
	if (strlen(t) == 23) {
		t[10] = 'T';
		snprintf(out, outlen, "%.19sZ", t);
	}
}

/* The first k errors as objects: where, how many steps, the excerpt, the
 * status, the failing child's run. */
static int add_failed_steps(cJSON *d, const struct view *v, size_t k)
{
	cJSON *arr = cJSON_AddArrayToObject(d, "failed_steps"), *e;
	const struct view_error *ve;
	size_t i;
	int rc = 0;

	for (i = 0; arr != NULL && rc == 0 && i < v->n_errors && i < k; i++) {
		ve = &v->errors[i];
		e = cJSON_CreateObject();
		if (e == NULL)
			return -1;
		cJSON_AddItemToArray(arr, e);
		rc = add_text(e, "where", ve->where, FIELD_CHARS, 0);
		rc |= add_text(e, "steps", ve->steps, FIELD_CHARS, 0);
		rc |= add_text(e, "error", ve->excerpt, ERROR_CHARS, 1);
		rc |= cJSON_AddStringToObject(e, "status", render_status_word(ve->status, NULL))
			      ? 0
			      : -1;
		rc |= cJSON_AddNumberToObject(e, "count", (double)ve->count) ? 0 : -1;
		rc |= add_text(e, "link", ve->link, 3000, 0);
	}
	return arr == NULL ? -1 : rc;
}

/* Failed children off the error's path, and the others counted. */
static int add_children(cJSON *d, const struct view *v)
{
	cJSON *arr, *c;
	char line[200];
	size_t i;
	int rc = 0;

	if (v->n_children > 0) {
		arr = cJSON_AddArrayToObject(d, "failed_children");
		for (i = 0; arr != NULL && rc == 0 && i < v->n_children; i++) {
			c = cJSON_CreateObject();
			if (c == NULL)
				return -1;
			cJSON_AddItemToArray(arr, c);
			rc = add_text(c, "name", *v->children[i]->name ? v->children[i]->name : "?",
				      CHILD_CHARS, 0);
			rc |= cJSON_AddStringToObject(
				      c, "status", render_status_word(v->children[i]->status, NULL))
				      ? 0
				      : -1;
		}
		if (arr == NULL)
			return -1;
	}
	view_children_line(v, 1, line, sizeof(line));
	return rc | add_text(d, "children", line, sizeof(line), 0);
}

/* custom_details: what the responder needs before opening the run. */
static int add_details(cJSON *ev, const struct summary *s, const struct view *v, size_t k)
{
	cJSON *d = cJSON_AddObjectToObject(ev, "custom_details");
	uint64_t steps = v->more_steps, errors = v->more_errors;
	char line[200];
	size_t i;
	int rc;

	if (d == NULL)
		return -1;
	rc = add_text(d, "pipeline", s->pipeline_name, FIELD_CHARS, 0);
	rc |= add_text(d, "environment", s->environment, FIELD_CHARS, 0);
	rc |= add_text(d, "project", *s->project_name ? s->project_name : s->project_id,
		       FIELD_CHARS, 0);
	rc |= add_text(d, "status", render_status_word(s->status, s->status_text), FIELD_CHARS, 0);
	rc |= add_text(d, "context", v->context, FIELD_CHARS, 0);
	rc |= add_text(d, "execution_id", s->execution_id, FIELD_CHARS, 0);
	rc |= add_text(d, "duration", v->duration, FIELD_CHARS, 0);
	rc |= add_text(d, "history", v->history, FIELD_CHARS, 0);
	rc |= add_text(d, "note", v->follow, FIELD_CHARS, 0);
	rc |= add_text(d, "details_missing", s->degraded, FIELD_CHARS, 0);
	rc |= add_text(d, "incomplete", s->incomplete, FIELD_CHARS, 0);
	render_counts_line(s, line, sizeof(line));
	if (long_running(s))
		line[0] = '\0'; /* no steps are known of a run still going */
	rc |= add_text(d, "counts", line, sizeof(line), 0);
	rc |= add_failed_steps(d, v, k);
	for (i = k; i < v->n_errors; i++) {
		steps += v->errors[i].count;
		errors++;
	}
	view_more_line(steps, errors, line, sizeof(line));
	rc |= add_text(d, "more", line, sizeof(line), 0);
	if (v->message != NULL)
		rc |= add_text(d, "message", v->message, ERROR_CHARS, 1);
	return rc | add_children(d, v);
}

/* links: the failing child's run first when there is one, then the run. */
static int add_links(cJSON *ev, const struct view *v)
{
	const char *urls[2] = { v->link, v->root_link };
	const char *names[2] = { v->root_link ? "Open failed child run" : "Open run in Matillion",
				 "Open whole run" };
	cJSON *arr, *l;
	size_t i;

	if (v->link == NULL)
		return 0;
	arr = cJSON_AddArrayToObject(ev, "links");
	for (i = 0; arr != NULL && i < 2; i++) {
		if (urls[i] == NULL)
			continue;
		l = cJSON_CreateObject();
		if (l == NULL)
			return -1;
		cJSON_AddItemToArray(arr, l);
		if (!cJSON_AddStringToObject(l, "href", urls[i]) ||
		    !cJSON_AddStringToObject(l, "text", names[i]))
			return -1;
	}
	return arr == NULL ? -1 : 0;
}

/* The whole trigger event with the first k errors, its severity from the
 * map (NULL: the default); NULL on ERR_NOMEM. */
static cJSON *trigger(const struct summary *s, const struct view *v, const char *key, size_t k,
		      const unsigned char *severity)
{
	cJSON *root = cJSON_CreateObject(), *p;
	char when[32], src[320], *sum = summary_line(v);
	int rc = -1;

	snprintf(src, sizeof(src), "matillion:%s:%s", s->project_id,
		 *s->environment ? s->environment : "-");
	iso_time(long_running(s) ? s->memory.long_at_ms : s->finished_ms, when, sizeof(when));
	if (root == NULL || sum == NULL ||
	    !cJSON_AddStringToObject(root, "event_action", "trigger") ||
	    !cJSON_AddStringToObject(root, "dedup_key", key))
		goto out;
	p = cJSON_AddObjectToObject(root, "payload");
	if (p == NULL || !cJSON_AddStringToObject(p, "summary", sum) ||
	    add_text(p, "source", src, 255, 0) ||
	    !cJSON_AddStringToObject(p, "severity", level_of(s, severity)) ||
	    (*when && !cJSON_AddStringToObject(p, "timestamp", when)) ||
	    add_text(p, "component", s->pipeline_name, FIELD_CHARS, 0) ||
	    add_text(p, "group", s->environment, FIELD_CHARS, 0) ||
	    add_text(p, "class", render_status_word(s->status, s->status_text), FIELD_CHARS, 0) ||
	    add_details(p, s, v, k) || !cJSON_AddStringToObject(root, "client", "dpc-notify") ||
	    add_links(root, v))
		goto out;
	rc = 0;
out:
	free(sum);
	if (rc) {
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

/* A resolve of the pipeline's alert. NULL on ERR_NOMEM. */
static cJSON *resolve(const char *key)
{
	cJSON *root = cJSON_CreateObject();

	if (root == NULL || !cJSON_AddStringToObject(root, "event_action", "resolve") ||
	    !cJSON_AddStringToObject(root, "dedup_key", key)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* The event without routing_key (prepare adds it): a resolve for a
 * successful run, else a trigger under PD_MAX_BYTES (errors dropped from
 * the last should it not fit, and counted) with o->severity's level for
 * the run's status. Caller frees; NULL on ERR_NOMEM. o->mention is not
 * used. */
static char *pd_render(const struct summary *s, const struct render_opts *o)
{
	struct view v;
	char *key = dedup_key(s), *out = NULL;
	cJSON *root;
	size_t k;

	if (key == NULL || view_build(s, &v) != 0) {
		free(key);
		return NULL;
	}
	if (s->status == ST_SUCCESS || (s->memory.known && s->memory.form == FORM_RECOVERY)) {
		root = resolve(key);
		out = root ? cJSON_PrintUnformatted(root) : NULL;
		cJSON_Delete(root);
		goto done;
	}
	for (k = v.n_errors;; k--) {
		root = trigger(s, &v, key, k, o != NULL ? o->severity : NULL);
		out = root ? cJSON_PrintUnformatted(root) : NULL;
		cJSON_Delete(root);
		if (out == NULL || strlen(out) <= PD_MAX_BYTES - 256 || k == 0)
			break;
		free(out);
		out = NULL;
	}
done:
	view_free(&v);
	free(key);
	return out;
}

/* Adds routing_key (the destination's secret =, the integration key) to
 * the stored event. No key, or a stored body that is not an event: the
 * event cannot be sent (ERR_INVALID, given up). */
static int pd_prepare(const char *body, const char *secret, const char *post_id, int64_t now_s,
		      struct target_post *out)
{
	cJSON *root;
	int rc = 0;

	(void)post_id;
	(void)now_s;
	if (secret == NULL || *secret == '\0' || body == NULL)
		return ERR_INVALID;
	root = cJSON_Parse(body);
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return ERR_INVALID;
	}
	cJSON_DeleteItemFromObject(root, "routing_key");
	if (!cJSON_AddStringToObject(root, "routing_key", secret))
		rc = ERR_NOMEM;
	else if ((out->body = cJSON_PrintUnformatted(root)) == NULL)
		rc = ERR_NOMEM;
	cJSON_Delete(root);
	return rc;
}

/* 202 accepted; 400 a bad event (never better on a retry); 429 and 5xx
 * later, with backoff, since PagerDuty sends no Retry-After. The status
 * decides. */
static int pd_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

/* The Events API v2 lives at /v2/enqueue on events.pagerduty.com, or on
 * events.eu.pagerduty.com for accounts in the EU service region. */
static const char *pd_url_warning(const char *url)
{
	static const char *const good[] = {
		"https://events.pagerduty.com/v2/enqueue",
		"https://events.eu.pagerduty.com/v2/enqueue",
	};
	size_t i;

	for (i = 0; i < 2; i++)
		if (strcasecmp(url, good[i]) == 0)
			return NULL;
	return "not the PagerDuty Events API v2 endpoint (https://events.pagerduty.com/v2/enqueue, "
	       "or events.eu.pagerduty.com for the EU region)";
}

const struct target target_pagerduty = {
	.name = "pagerduty",
	/* About 120 events a minute per integration key (PagerDuty's
	 * developer docs, "Events API Rate Limits"): two a second. */
	.default_rate = 2.0,
	.content_type = "application/json",
	.limits = { .max_bytes = PD_MAX_BYTES },
	.render = pd_render,
	.render_group = NULL,
	.prepare = pd_prepare,
	.classify = pd_classify,
	.url_warning = pd_url_warning,
	.takes_severity = 1,
};
