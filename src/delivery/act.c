/* Carrying out one Slack button click (include/act.h).
 *
 * DESIGN
 * - A click reaches here as a JOB_KIND_ACTION job that intake committed
 *   (with the click) before answering Slack, so it has a job's lease,
 *   retries and crash recovery: a process killed after the answer finds
 *   the job queued again when it starts.
 * - Order: decide, act (acknowledgement, silence, re-run), record the
 *   result with store_action_finish() (which ends the job in the same
 *   transaction), then report in Slack. A crash before the record does the
 *   action again, which is harmless for an acknowledgement, adds a second
 *   silence of the same length for a mute, and starts nothing twice for a
 *   re-run (its tag is claimed in the store and Matillion refuses a second
 *   start with the same tag while the first runs). A crash after the record
 *   loses only the Slack report.
 * - Who may do what: Acknowledge and Mute anyone in the channel (Slack
 *   only shows the message there); Re-run only a user listed in the
 *   incident's route (rerun_users, or a member of rerun_usergroups asked
 *   of Slack's usergroups.users.list). Everyone else, and every click that
 *   cannot be carried out, gets an ephemeral reply through the click's
 *   response_url, which must be Slack's (https://hooks.slack.com/).
 * - Every click is logged with the user id, the action and the result;
 *   never a token or the response_url. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "act.h"
#include "clock.h"
#include "config.h"
#include "dpc.h"
#include "errors.h"
#include "httpc.h"
#include "interact.h"
#include "log.h"
#include "retry.h"
#include "route.h"
#include "silence.h"
#include "slackapi.h"
#include "slackapp.h"
#include "store.h"
#include "text.h"

#define USERGROUP_MAX_USERS 10000 /* members read of one user group */

/* What a click came to, before it is recorded. */
struct outcome {
	const char *result; /* "done", "refused" or "failed" */
	char text[512];     /* what the thread (done) or the clicker (else) is told */
	char status[200];   /* the parent's new actions line; "" leaves it */
	int64_t unmute_id;  /* a mute: the silence the Unmute button ends */
	int retry;          /* Matillion may heal: re-queue the job */
};

static void say(struct outcome *o, const char *result, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct outcome *o, const char *result, const char *fmt, ...)
{
	va_list ap;

	o->result = result;
	va_start(ap, fmt);
	vsnprintf(o->text, sizeof(o->text), fmt, ap);
	va_end(ap);
}

/* "03:12 UTC" of unix ms t. */
static void hhmm(int64_t t, char *out, size_t outlen)
{
	time_t s = (time_t)(t / 1000);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL || strftime(out, outlen, "%H:%M UTC", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* ---- Slack: the ephemeral reply, the thread reply, the parent ---- */

/* The bot token and Web API base of the thread's destination; token
 * NULL when it has none (a click is still carried out, just not told). */
static void slack_of(const struct act_env *e, const struct store_thread *th, const char **token,
		     const char **base)
{
	const struct destination *d = th ? config_destination(e->cfg, th->dest) : NULL;

	*token = d != NULL ? d->secret : NULL;
	*base = d != NULL && d->url != NULL ? d->url : SLACKAPI_BASE_URL;
}

/* Tells the clicker alone (response_url), never replacing the message. */
static void ephemeral(const struct act_env *e, const struct action *a, const char *text)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct httpc_response resp;
	cJSON *o = cJSON_CreateObject();
	char *body = NULL;

	memset(&resp, 0, sizeof(resp));
	if (!interact_response_url_ok(a->response_url, e->cfg->slack_response_url_any_host)) {
		log_event(LOG_WARN, "act: response_url is not Slack's; the clicker is not told",
			  "user", a->user_id, NULL);
		goto out;
	}
	if (o == NULL || !cJSON_AddStringToObject(o, "response_type", "ephemeral") ||
	    !cJSON_AddBoolToObject(o, "replace_original", 0) ||
	    !cJSON_AddStringToObject(o, "text", text))
		goto out;
	body = cJSON_PrintUnformatted(o);
	if (body == NULL)
		goto out;
	if (httpc_request(e->http, "POST", a->response_url, headers, body, strlen(body), &resp) ||
	    httpc_classify(resp.status) != 0)
		log_event(LOG_WARN, "act: ephemeral reply failed", "user", a->user_id, "error",
			  resp.error[0] ? resp.error : "HTTP error", NULL);
out:
	httpc_response_free(&resp);
	cJSON_free(body);
	cJSON_Delete(o);
}

/* One Web API call with body; 1 when Slack took it. */
static int api_body(const struct act_env *e, const struct store_thread *th, const char *method,
		    const char *body)
{
	struct slackapi_reply r;
	const char *token, *base;

	slack_of(e, th, &token, &base);
	if (body == NULL || token == NULL)
		return 0;
	if (slackapi_call(e->http, base, token, method, body, &r) != 0)
		return 0;
	if (r.cls != DELIVER_OK)
		log_event(LOG_WARN, "act: slack call failed", "method", method, "error", r.detail,
			  NULL);
	return r.cls == DELIVER_OK;
}

/* One Web API call with a JSON body built from o (deleted here). */
static void api(const struct act_env *e, const struct store_thread *th, const char *method,
		cJSON *o)
{
	char *body = o ? cJSON_PrintUnformatted(o) : NULL;

	api_body(e, th, method, body);
	cJSON_free(body);
	cJSON_Delete(o);
}

/* Posts text as a reply in the incident's thread. */
static void thread_reply(const struct act_env *e, const struct store_thread *th, const char *text)
{
	cJSON *o = cJSON_CreateObject();

	if (o != NULL && (!cJSON_AddStringToObject(o, "channel", th->channel) ||
			  !cJSON_AddStringToObject(o, "thread_ts", th->ts) ||
			  !cJSON_AddStringToObject(o, "text", text))) {
		cJSON_Delete(o);
		o = NULL;
	}
	api(e, th, "chat.postMessage", o);
}

/* ---- the parent: its clicks' lines and its Unmute button ----
 * A click that did something adds its line ("Acknowledged by ...") to
 * the parent's status block, a context block of its own above the
 * buttons, so every click's line stays; the buttons stay too (a re-run
 * is still what the on-call may want after an acknowledgement), with an
 * Unmute button while a mute from the message lasts. Each rewrite starts
 * from the body the store keeps (store_thread_set_parent() after Slack
 * took the last one), and the recovery's rewrite keeps the status block
 * while it removes the buttons (slackapp_resolved()). */

#define BLOCKS_MAX 50       /* Slack's cap on a message's blocks */
#define STATUS_LINES_MAX 10 /* Slack's cap on a context block's elements */

/* The index of the block of blocks with block_id id, or -1. */
static int block_index(const cJSON *blocks, const char *id)
{
	const cJSON *b;
	int i = 0;

	cJSON_ArrayForEach(b, blocks)
	{
		const char *v =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "block_id"));
		if (v != NULL && strcmp(v, id) == 0)
			return i;
		i++;
	}
	return -1;
}

/* Puts item into array at index at (at the end past it). By hand:
 * Debian 12's cJSON (1.7.15-1+deb12u4) refuses cJSON_InsertItemInArray()
 * inside an array. */
static int insert_at(cJSON *array, int at, cJSON *item)
{
	cJSON *tail = cJSON_CreateArray(), *x;
	int ok;

	if (tail == NULL)
		return 0;
	while ((x = cJSON_DetachItemFromArray(array, at)) != NULL)
		cJSON_AddItemToArray(tail, x);
	ok = cJSON_AddItemToArray(array, item);
	while ((x = cJSON_DetachItemFromArray(tail, 0)) != NULL)
		cJSON_AddItemToArray(array, x);
	cJSON_Delete(tail);
	return ok;
}

/* A new block {"type": type, "block_id": id, "elements": []} put before
 * the buttons (at the end when there are none); NULL when the message has
 * no room or memory ran out. */
static cJSON *new_block(cJSON *blocks, const char *type, const char *id)
{
	int at = block_index(blocks, SLACKAPP_ACTIONS_BLOCK);
	cJSON *b;

	if (cJSON_GetArraySize(blocks) >= BLOCKS_MAX)
		return NULL;
	b = cJSON_CreateObject();
	if (b == NULL || !cJSON_AddStringToObject(b, "type", type) ||
	    !cJSON_AddStringToObject(b, "block_id", id) || !cJSON_AddArrayToObject(b, "elements") ||
	    !insert_at(blocks, at >= 0 ? at : cJSON_GetArraySize(blocks), b)) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* Adds line to the status block. When it is full, the first line stays
 * (most often who took the incident) and the oldest after it goes. A
 * message with no room for the block goes without the line (the thread
 * has it). */
static int add_status(cJSON *blocks, const char *line)
{
	int at = block_index(blocks, SLACKAPP_STATUS_BLOCK);
	cJSON *b, *els, *t;

	if (at < 0 && cJSON_GetArraySize(blocks) >= BLOCKS_MAX)
		return 0;
	b = at >= 0 ? cJSON_GetArrayItem(blocks, at)
		    : new_block(blocks, "context", SLACKAPP_STATUS_BLOCK);
	els = cJSON_GetObjectItemCaseSensitive(b, "elements");
	if (!cJSON_IsArray(els))
		return ERR_NOMEM;
	if (cJSON_GetArraySize(els) >= STATUS_LINES_MAX)
		cJSON_DeleteItemFromArray(els, 1);
	t = cJSON_CreateObject();
	if (t == NULL || !cJSON_AddStringToObject(t, "type", "mrkdwn") ||
	    !cJSON_AddStringToObject(t, "text", line) || !cJSON_AddItemToArray(els, t)) {
		cJSON_Delete(t);
		return ERR_NOMEM;
	}
	return 0;
}

/* Removes the Unmute button of the buttons els; only the one of silence
 * id when id is not NULL. */
static void drop_unmute(cJSON *els, const char *id)
{
	cJSON *el = els != NULL ? els->child : NULL, *next;

	for (; el != NULL; el = next) {
		const char *aid =
			cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(el, "action_id"));
		const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(el, "value"));
		next = el->next;
		if (aid != NULL && strcmp(aid, action_ids[ACT_UNMUTE]) == 0 &&
		    (id == NULL || (v != NULL && strcmp(v, id) == 0)))
			cJSON_Delete(cJSON_DetachItemViaPointer(els, el));
	}
}

/* Puts the Unmute button of silence id among the buttons (a resolved
 * parent, which has none, gets a block for it when there is room). */
static int add_unmute(cJSON *blocks, int64_t id)
{
	int at = block_index(blocks, SLACKAPP_ACTIONS_BLOCK);
	cJSON *b, *els, *btn;
	char v[24];

	if (at < 0 && cJSON_GetArraySize(blocks) >= BLOCKS_MAX)
		return 0;
	b = at >= 0 ? cJSON_GetArrayItem(blocks, at)
		    : new_block(blocks, "actions", SLACKAPP_ACTIONS_BLOCK);
	els = cJSON_GetObjectItemCaseSensitive(b, "elements");
	if (!cJSON_IsArray(els))
		return ERR_NOMEM;
	drop_unmute(els, NULL);
	snprintf(v, sizeof(v), "%" PRId64, id);
	btn = cJSON_Parse("{\"type\":\"button\",\"text\":{\"type\":\"plain_text\","
			  "\"text\":\"Unmute\"}}");
	if (btn == NULL || !cJSON_AddStringToObject(btn, "action_id", action_ids[ACT_UNMUTE]) ||
	    !cJSON_AddStringToObject(btn, "value", v) || !cJSON_AddItemToArray(els, btn)) {
		cJSON_Delete(btn);
		return ERR_NOMEM;
	}
	return 0;
}

/* An unmute takes the button of its silence away; a buttons block left
 * empty goes too (Slack refuses one). */
static void end_unmute(cJSON *blocks, const char *id)
{
	int at = block_index(blocks, SLACKAPP_ACTIONS_BLOCK);
	cJSON *els;

	if (at < 0)
		return;
	els = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(blocks, at), "elements");
	drop_unmute(els, id);
	if (cJSON_GetArraySize(els) == 0)
		cJSON_DeleteItemFromArray(blocks, at);
}

/* The parent's new body after click a's outcome o: body (as kept) with
 * the outcome's line and button change, channel and ts set. Caller
 * frees; NULL when body is not a message or memory ran out. */
static char *parent_body(const char *body, const struct store_thread *th, const struct action *a,
			 const struct outcome *o)
{
	cJSON *root = body != NULL ? cJSON_Parse(body) : NULL;
	cJSON *blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks");
	char *out = NULL;
	int rc;

	if (!cJSON_IsArray(blocks))
		goto out;
	rc = add_status(blocks, o->status);
	if (rc == 0 && o->unmute_id > 0)
		rc = add_unmute(blocks, o->unmute_id);
	if (rc == 0 && a->kind == ACT_UNMUTE)
		end_unmute(blocks, a->value);
	cJSON_DeleteItemFromObjectCaseSensitive(root, "channel");
	cJSON_DeleteItemFromObjectCaseSensitive(root, "ts");
	cJSON_DeleteItemFromObjectCaseSensitive(root, "thread_ts");
	if (rc == 0 && cJSON_AddStringToObject(root, "channel", th->channel) &&
	    cJSON_AddStringToObject(root, "ts", th->ts))
		out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

/* Rewrites the parent message with the outcome (chat.update) and keeps
 * what Slack took as its body. The thread is read again first, so the
 * rewrite starts from the newest body (a recovery or another click may
 * have rewritten it since this click began). */
static void parent_update(const struct act_env *e, const struct store_thread *th,
			  const struct action *a, const struct outcome *o)
{
	struct store_thread now;
	char *body;
	int rc;

	memset(&now, 0, sizeof(now));
	if (store_thread_by_message(e->st, th->channel, th->ts, &now) != 0)
		goto out;
	body = parent_body(now.parent, &now, a, o);
	if (body == NULL || strlen(body) > STORE_THREAD_PARENT_MAX) {
		log_event(LOG_WARN, "act: cannot rewrite the parent", "ts", th->ts, NULL);
	} else if (api_body(e, &now, "chat.update", body)) {
		rc = store_thread_set_parent(e->st, now.id, body);
		if (rc != 0)
			log_event(LOG_WARN, "act: cannot keep the parent's new body", "ts", th->ts,
				  "error", err_str(rc), NULL);
	}
	cJSON_free(body);
out:
	store_thread_free(&now);
}

/* ---- the actions ---- */

static void do_ack(const struct act_env *e, struct action *a, const struct store_thread *th,
		   struct outcome *o)
{
	const struct mem_key k = { th->project_id, th->environment, th->pipeline };
	int64_t now = clock_wall_ms();
	char at[24];
	int rc;

	rc = store_incident_ack(e->st, &k, th->since_ms, a->user_id, a->user_name, now);
	if (rc == ERR_NOTFOUND) {
		say(o, "refused", "This incident is no longer open; nothing to acknowledge.");
		return;
	}
	if (rc != 0) {
		say(o, "failed", "Could not record the acknowledgement (%s).", err_str(rc));
		o->retry = 1;
		return;
	}
	hhmm(now, at, sizeof(at));
	snprintf(o->status, sizeof(o->status), "Acknowledged by <@%s> at %s", a->user_id, at);
	say(o, "done", "Acknowledged by <@%s> at %s; reminders stop for this incident.", a->user_id,
	    at);
}

/* The silence's pipeline glob for a display name: its last segment (the
 * rule of route_pipeline_match()) with fnmatch's special characters
 * escaped, so it matches this pipeline only. "" when it does not fit. */
static void exact_glob(const char *name, char *out, size_t outlen)
{
	const char *last = strrchr(name, '/');
	size_t o = 0;

	for (name = last ? last + 1 : name; *name != '\0' && o + 3 < outlen; name++) {
		if (strchr("*?[]\\", *name) != NULL)
			out[o++] = '\\';
		out[o++] = *name;
	}
	out[*name == '\0' ? o : 0] = '\0';
}

static void do_mute(const struct act_env *e, struct action *a, const struct store_thread *th,
		    struct outcome *o)
{
	char glob[SILENCE_GLOB_MAX], reason[SILENCE_REASON_MAX + 1];
	struct silence x;
	int64_t dur = 0, now = clock_wall_ms(), id = 0;
	char *clean;
	int rc;

	exact_glob(th->pipeline, glob, sizeof(glob));
	if (silence_parse_for(a->value, &dur) != 0 || glob[0] == '\0' ||
	    !silence_glob_valid(th->project_id)) {
		say(o, "refused",
		    "This pipeline cannot be muted from Slack; use `dpc-notify silence add`.");
		return;
	}
	snprintf(reason, sizeof(reason), "muted %s from Slack by %s (%s)", a->value,
		 a->user_name[0] ? a->user_name : a->user_id, a->user_id);
	clean = silence_reason_clean(reason);
	memset(&x, 0, sizeof(x));
	x.project_id = th->project_id;
	x.pipeline = glob;
	x.environment = th->environment;
	x.start_ms = now;
	x.end_ms = now + dur;
	x.reason = clean ? clean : "muted from Slack";
	x.created_ms = now;
	x.removed_ms = -1;
	rc = store_silence_add(e->st, &x, &id);
	free(clean);
	if (rc != 0) {
		say(o, "failed", "Could not add the silence (%s).", err_str(rc));
		o->retry = rc == ERR_IO;
		return;
	}
	o->unmute_id = id;
	snprintf(o->status, sizeof(o->status), "Muted for %s by <@%s> (silence %" PRId64 ")",
		 a->value, a->user_id, id);
	say(o, "done", "Muted for %s by <@%s>: silence %" PRId64 " holds this pipeline's messages.",
	    a->value, a->user_id, id);
}

static void do_unmute(const struct act_env *e, struct action *a, struct outcome *o)
{
	int64_t id = strtoll(a->value, NULL, 10);
	int rc = store_silence_remove(e->st, id, clock_wall_ms());

	if (rc == ERR_NOTFOUND) {
		say(o, "refused", "Silence %" PRId64 " has already ended.", id);
		return;
	}
	if (rc != 0) {
		say(o, "failed", "Could not end silence %" PRId64 " (%s).", id, err_str(rc));
		o->retry = rc == ERR_IO;
		return;
	}
	snprintf(o->status, sizeof(o->status), "Unmuted by <@%s>", a->user_id);
	say(o, "done", "Unmuted by <@%s>: silence %" PRId64 " ended.", a->user_id, id);
}

/* 1 when user is a member of Slack user group group, asked of Slack
 * (usergroups.users.list) with the thread's destination's token; 0 when
 * not, or when Slack cannot say (then the click is refused). */
static int in_usergroup(const struct act_env *e, const struct store_thread *th, const char *group,
			const char *user)
{
	const char *token, *base;
	struct httpc_response resp;
	char *auth = NULL, *url = NULL;
	const char *headers[2] = { NULL, NULL };
	cJSON *root = NULL;
	const cJSON *users, *u;
	int yes = 0, n = 0;

	memset(&resp, 0, sizeof(resp));
	slack_of(e, th, &token, &base);
	if (token == NULL || !config_slack_id_ok(group, "S"))
		return 0;
	auth = text_concat3("Authorization: Bearer ", token, NULL);
	url = text_concat3(base, base[strlen(base) - 1] == '/' ? "" : "/",
			   "usergroups.users.list?usergroup=");
	if (url != NULL) {
		char *full = text_concat3(url, group, NULL);
		free(url);
		url = full;
	}
	if (auth == NULL || url == NULL)
		goto out;
	headers[0] = auth;
	if (httpc_request(e->http, "GET", url, headers, NULL, 0, &resp) != 0 ||
	    httpc_classify(resp.status) != 0 || resp.body == NULL)
		goto out;
	root = cJSON_ParseWithLength(resp.body, resp.len);
	users = cJSON_GetObjectItemCaseSensitive(root, "users");
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ok")) || !cJSON_IsArray(users))
		goto out;
	cJSON_ArrayForEach(u, users)
	{
		if (++n > USERGROUP_MAX_USERS)
			break;
		if (cJSON_IsString(u) && strcmp(u->valuestring, user) == 0) {
			yes = 1;
			break;
		}
	}
out:
	if (!yes && resp.status != 200)
		log_event(LOG_WARN, "act: usergroups.users.list failed", "usergroup", group, NULL);
	cJSON_Delete(root);
	httpc_response_free(&resp);
	if (auth != NULL)
		memset(auth, 0, strlen(auth));
	free(auth);
	free(url);
	return yes;
}

/* 1 when the route r offers Re-run (allow_rerun) and lets user press it. */
static int may_rerun(const struct act_env *e, const struct project *r,
		     const struct store_thread *th, const char *user)
{
	size_t i;

	if (r == NULL || !r->allow_rerun)
		return 0;
	if (interact_user_listed(user, r->rerun_users, r->n_rerun_users))
		return 1;
	for (i = 0; i < r->n_rerun_usergroups; i++)
		if (in_usergroup(e, th, r->rerun_usergroups[i], user))
			return 1;
	return 0;
}

/* Finds the open incident of one pipeline that began at since_ms. */
struct incident_find {
	const struct store_thread *th;
	uint32_t failures;
	int found;
};

static void incident_pick(void *ctx, const struct mem_incident_row *r)
{
	struct incident_find *f = ctx;

	if (r->inc.open && r->inc.since_ms == f->th->since_ms &&
	    strcmp(r->project_id, f->th->project_id) == 0 &&
	    strcmp(r->environment, f->th->environment) == 0 &&
	    strcmp(r->pipeline, f->th->pipeline) == 0) {
		f->failures = r->inc.failures;
		f->found = 1;
	}
}

/* Words for a start Matillion refused. */
static void start_refused(struct outcome *o, const struct dpc_error *err, const char *who)
{
	switch (err->http_status) {
	case 409:
		say(o, "refused",
		    "Re-run by <@%s> not started: a run started for this failure is still going.",
		    who);
		break;
	case 410:
		say(o, "refused",
		    "Re-run by <@%s> not started: the pipeline is disabled in Matillion.", who);
		break;
	case 403:
		say(o, "refused",
		    "Re-run by <@%s> not started: Matillion refused (HTTP 403); dpc-notify's API"
		    " credentials may not run this pipeline.",
		    who);
		break;
	default: say(o, "failed", "Re-run by <@%s> failed: %s.", who, err->message); break;
	}
}

static void do_rerun(const struct act_env *e, struct action *a, const struct store_thread *th,
		     struct outcome *o)
{
	const struct project *r =
		route_select(e->cfg, th->project_id, th->environment, th->pipeline, NULL);
	struct incident_find f = { th, 0, 0 };
	struct dpc_error err;
	char tag[INTERACT_TAG_MAX], run[128];
	int first = 0, rc;

	if (!may_rerun(e, r, th, a->user_id)) {
		say(o, "refused", "You are not allowed to re-run this pipeline from Slack.");
		return;
	}
	rc = store_incidents(e->st, 1, incident_pick, &f);
	if (rc == 0 && !f.found) {
		say(o, "refused", "This incident is no longer open; nothing to re-run.");
		return;
	}
	interact_execution_tag(th->channel, th->ts, th->since_ms, f.failures, tag);
	if (rc == 0)
		rc = store_rerun_claim(e->st, tag, a->id, clock_wall_ms(), &first);
	if (rc != 0) {
		say(o, "failed", "Could not record the re-run (%s).", err_str(rc));
		o->retry = 1;
		return;
	}
	if (!first) {
		say(o, "refused", "A re-run for this failure was already started.");
		return;
	}
	rc = dpc_start_pipeline(e->dpc, e->http, th->project_id, th->pipeline, th->environment, tag,
				run, sizeof(run), &err);
	if (rc == ERR_TRANSIENT || rc == ERR_NOMEM) {
		say(o, "failed", "Re-run by <@%s> not started yet: %s.", a->user_id, err.message);
		o->retry = 1;
		return;
	}
	if (rc != 0) {
		start_refused(o, &err, a->user_id);
		return;
	}
	snprintf(o->status, sizeof(o->status), "Re-run started by <@%s>", a->user_id);
	say(o, "done", "Re-run started by <@%s>%s%s.", a->user_id, run[0] ? ": run " : "", run);
}

/* ---- one click ---- */

/* Records the outcome (ends the job) and logs it. */
static int finish(const struct act_env *e, struct action *a, const struct outcome *o)
{
	snprintf(a->result, sizeof(a->result), "%s", o->result);
	/* The record keeps the start of what was said. */
	memcpy(a->detail, o->text, text_utf8_prefix(o->text, sizeof(a->detail) - 1));
	a->detail[text_utf8_prefix(o->text, sizeof(a->detail) - 1)] = '\0';
	log_event(strcmp(o->result, "done") == 0 ? LOG_INFO : LOG_WARN, "act: slack click", "user",
		  a->user_id, "action", action_names[a->kind], "result", o->result, "pipeline",
		  a->pipeline, NULL);
	return store_action_finish(e->st, a, clock_wall_ms());
}

/* A failure that may heal waits; past max_attempts the click fails. */
static int retry_later(const struct act_env *e, const struct job *j, struct action *a,
		       struct outcome *o)
{
	if (j->attempts < e->cfg->max_attempts)
		return store_job_retry(e->st, j->id,
				       clock_wall_ms() + retry_delay_ms(j->attempts, -1, e->rnd),
				       o->text);
	return finish(e, a, o);
}

static void copy_key(struct action *a, const struct store_thread *th)
{
	snprintf(a->project_id, sizeof(a->project_id), "%s", th->project_id);
	snprintf(a->environment, sizeof(a->environment), "%s", th->environment);
	snprintf(a->pipeline, sizeof(a->pipeline), "%s", th->pipeline);
}

int act_run(const struct act_env *e, const struct job *j)
{
	struct store_thread th;
	struct outcome o;
	struct action a;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&th, 0, sizeof(th));
	rc = store_action_of_job(e->st, j->id, &a);
	if (rc == ERR_NOTFOUND)
		return store_job_end(e->st, j->id, JOB_DEAD, "no click for this job");
	if (rc != 0)
		return rc;
	rc = store_thread_by_message(e->st, a.channel, a.message_ts, &th);
	if (rc == ERR_NOTFOUND) {
		say(&o, "refused", "dpc-notify keeps no incident for this message.");
		rc = finish(e, &a, &o);
		ephemeral(e, &a, o.text);
		return rc;
	}
	if (rc != 0)
		goto out;
	copy_key(&a, &th);
	switch (a.kind) {
	case ACT_ACK: do_ack(e, &a, &th, &o); break;
	case ACT_MUTE: do_mute(e, &a, &th, &o); break;
	case ACT_UNMUTE: do_unmute(e, &a, &o); break;
	default: do_rerun(e, &a, &th, &o); break;
	}
	if (o.retry) {
		rc = retry_later(e, j, &a, &o);
		goto out;
	}
	rc = finish(e, &a, &o);
	if (rc != 0)
		goto out;
	/* Reported once recorded: a crash now loses a message, never repeats
	 * the action. */
	if (strcmp(o.result, "done") != 0) {
		ephemeral(e, &a, o.text);
		if (strcmp(o.result, "failed") == 0 || a.kind == ACT_RERUN)
			thread_reply(e, &th, o.text);
		goto out;
	}
	thread_reply(e, &th, o.text);
	if (o.status[0] != '\0')
		parent_update(e, &th, &a, &o);
out:
	store_thread_free(&th);
	return rc;
}
