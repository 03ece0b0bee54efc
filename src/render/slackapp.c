/* The slack-app row: a run's message as a Slack app posts it. The body is
 * the slack row's Block Kit message, unchanged, so both targets say the
 * same thing; an app adds what a webhook cannot have: on a problem that
 * opens (or belongs to) an incident, an actions block of buttons the
 * interactivity endpoint answers (Acknowledge, Mute for 1h / 24h / 7d,
 * and Re-run where the route allows it), and our own "dpc_thread" member
 * naming the incident, so the body can be threaded at post time. A
 * recovery also carries the "Resolved after ..." line its parent gets.
 * Only fixed text of ours and Slack's own escaped text go into blocks:
 * the resolved line reuses the parent's header as the slack row escaped
 * it. Pure: summary in, JSON out (see slackapp.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "render_int.h"
#include "slackapp.h"
#include "text.h"

#define ENVELOPE "dpc_thread" /* our member of a stored body */
#define URL_MAX 3000          /* a button's url, as Slack takes it */

static const char *const role_names[SLACKAPP__MAX] = {
	[SLACKAPP_PLAIN] = "plain",
	[SLACKAPP_OPEN] = "open",
	[SLACKAPP_RECOVERY] = "recovery",
};

/* The buttons of a parent. Value strings are constants: the click is
 * traced to its incident by the message's channel and ts. */
#define BTN(id, label, value)                                                              \
	"{\"type\":\"button\",\"action_id\":\"" id "\",\"text\":{\"type\":\"plain_text\"," \
	"\"text\":\"" label "\"},\"value\":\"" value "\""
#define OPTION(label, value) \
	"{\"text\":{\"type\":\"plain_text\",\"text\":\"" label "\"},\"value\":\"" value "\"}"
static const char ACTIONS_HEAD[] =
	"{\"type\":\"actions\",\"block_id\":\"" SLACKAPP_ACTIONS_BLOCK "\",\"elements\":[" BTN(
		SLACKAPP_ACTION_ACK, "Acknowledge",
		"ack") "},"
		       "{\"type\":\"static_select\",\"action_id\":\"" SLACKAPP_ACTION_MUTE "\","
		       "\"placeholder\":{\"type\":\"plain_text\",\"text\":\"Mute\"},\"options\":[" OPTION(
			       "Mute for 1 hour",
			       "1h") "," OPTION("Mute for 24 hours",
						"24h") "," OPTION("Mute for 7 days", "7d") "]}";
static const char ACTIONS_RERUN[] = "," BTN(
	SLACKAPP_ACTION_RERUN, "Re-run",
	"rerun") ",\"style\":\"primary\","
		 "\"confirm\":{\"title\":{\"type\":\"plain_text\",\"text\":\"Re-run the pipeline?\"},"
		 "\"text\":{\"type\":\"plain_text\",\"text\":\"Starts the pipeline again in Matillion,"
		 " in the same environment.\"},\"confirm\":{\"type\":\"plain_text\",\"text\":\"Re-run\"},"
		 "\"deny\":{\"type\":\"plain_text\",\"text\":\"Cancel\"}}}";

int slackapp_is(const struct target *t)
{
	return t == &target_slackapp;
}

/* What s's message is to its incident's thread. */
static enum slackapp_role role_of(const struct summary *s)
{
	const struct run_context *m = &s->memory;

	if (!m->known || m->incident_since_ms < 0 || s->degraded != NULL || s->is_test)
		return SLACKAPP_PLAIN;
	if (m->form == FORM_RECOVERY)
		return SLACKAPP_RECOVERY;
	if (s->status == ST_SUCCESS || s->status == ST_RUNNING)
		return SLACKAPP_PLAIN;
	return SLACKAPP_OPEN;
}

/* Appends the buttons to blocks, unless Slack's block count would be
 * passed (the message then goes without them). */
static int add_actions(cJSON *blocks, int rerun)
{
	char json[sizeof(ACTIONS_HEAD) + sizeof(ACTIONS_RERUN) + 4];
	cJSON *b;

	if (cJSON_GetArraySize(blocks) >= SLACK_MAX_BLOCKS)
		return 0;
	snprintf(json, sizeof(json), "%s%s]}", ACTIONS_HEAD, rerun ? ACTIONS_RERUN : "");
	b = cJSON_Parse(json);
	return b != NULL && cJSON_AddItemToArray(blocks, b) ? 0 : ERR_NOMEM;
}

/* {"text": "✅ Resolved after 3h 12m", "url": run link} of a recovery. */
static cJSON *resolved_of(const struct summary *s)
{
	char dur[32] = "", text[96];
	cJSON *r = cJSON_CreateObject();
	int64_t since = s->memory.incident_since_ms;

	if (since >= 0 && s->finished_ms >= since)
		render_compact_duration(s->finished_ms - since, dur, sizeof(dur));
	snprintf(text, sizeof(text), "\xe2\x9c\x85 Resolved%s%s", dur[0] ? " after " : "", dur);
	if (r == NULL || !cJSON_AddStringToObject(r, "text", text) ||
	    !cJSON_AddStringToObject(
		    r, "url", s->link != NULL && strlen(s->link) <= URL_MAX ? s->link : "")) {
		cJSON_Delete(r);
		return NULL;
	}
	return r;
}

/* Our member: the incident's key, start and the message's role. */
/* Adds name: raw as sanitised text (text_sanitize(): invalid UTF-8 and
 * control characters become U+FFFD), so the stored body stays valid UTF-8
 * JSON whatever bytes a peer put in a name. Every message of an incident
 * goes through here, so the thread key read back stays the same for all
 * of them. 1, or 0 when out of memory. */
static int add_clean(cJSON *e, const char *name, const char *raw)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, 0);
	int ok = c != NULL && cJSON_AddStringToObject(e, name, c) != NULL;

	free(c);
	return ok;
}

static cJSON *envelope(const struct summary *s, enum slackapp_role role)
{
	char since[24];
	cJSON *e = cJSON_CreateObject();
	int ok;

	snprintf(since, sizeof(since), "%lld", (long long)s->memory.incident_since_ms);
	ok = e != NULL && cJSON_AddStringToObject(e, "role", role_names[role]) &&
	     add_clean(e, "project", s->project_id) &&
	     add_clean(e, "environment", s->environment) &&
	     add_clean(e, "pipeline", s->pipeline_name) &&
	     cJSON_AddStringToObject(e, "since_ms", since);
	if (ok && role == SLACKAPP_RECOVERY) {
		cJSON *r = resolved_of(s);
		ok = r != NULL && cJSON_AddItemToObject(e, "resolved", r);
	}
	if (!ok) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

int render_add_thread(cJSON *root, const struct summary *s, int always)
{
	enum slackapp_role role = role_of(s);
	cJSON *e;

	if (role == SLACKAPP_PLAIN && !always)
		return 0;
	e = envelope(s, role);
	if (e == NULL || !cJSON_AddItemToObject(root, ENVELOPE, e)) {
		cJSON_Delete(e);
		return ERR_NOMEM;
	}
	return 0;
}

/* The slack row's body, plus the buttons on a problem of an incident and
 * our member on any message of one. Caller frees; NULL on ERR_NOMEM. */
static char *slackapp_render(const struct summary *s, const struct render_opts *o)
{
	char *body = target_slack.render(s, o), *out = NULL;
	cJSON *root = body != NULL ? cJSON_Parse(body) : NULL;
	cJSON *blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks"), *e;
	enum slackapp_role role = role_of(s);

	free(body);
	if (root == NULL || !cJSON_IsArray(blocks))
		goto out;
	if (role == SLACKAPP_OPEN && add_actions(blocks, o != NULL && o->allow_rerun) != 0)
		goto out;
	if (role != SLACKAPP_PLAIN) {
		e = envelope(s, role);
		if (e == NULL || !cJSON_AddItemToObject(root, ENVELOPE, e)) {
			cJSON_Delete(e);
			goto out;
		}
	}
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

/* Copies string member name of o into out (cap bytes), cut back to a
 * UTF-8 character boundary; "" when it is missing. */
static void copy_member(const cJSON *o, const char *name, char *out, size_t cap)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));
	size_t n = v != NULL ? strnlen(v, cap) : 0;

	if (n == cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(out, v, n);
	out[n] = '\0';
}

/* The role named by e's "role", SLACKAPP_PLAIN when none reads. */
static enum slackapp_role role_named(const cJSON *e)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "role"));
	int i;

	for (i = 0; v != NULL && i < SLACKAPP__MAX; i++)
		if (strcmp(v, role_names[i]) == 0)
			return (enum slackapp_role)i;
	return SLACKAPP_PLAIN;
}

int slackapp_meta(const char *stored, struct slackapp_meta *m)
{
	cJSON *root = stored != NULL ? cJSON_Parse(stored) : NULL;
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, ENVELOPE);
	const char *since = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "since_ms"));
	char *end = NULL;
	int rc = cJSON_IsObject(root) ? 0 : ERR_PARSE;

	memset(m, 0, sizeof(*m));
	m->role = SLACKAPP_PLAIN;
	m->since_ms = -1;
	if (cJSON_IsObject(e) && since != NULL) {
		m->since_ms = strtoll(since, &end, 10);
		if (end != since && *end == '\0')
			m->role = role_named(e);
		copy_member(e, "project", m->project_id, sizeof(m->project_id));
		copy_member(e, "environment", m->environment, sizeof(m->environment));
		copy_member(e, "pipeline", m->pipeline, sizeof(m->pipeline));
	}
	cJSON_Delete(root);
	return rc;
}

/* Removes every block of blocks whose block_id is ours. */
static void drop_actions(cJSON *blocks)
{
	cJSON *b = blocks != NULL ? blocks->child : NULL, *next;
	const char *id;

	for (; b != NULL; b = next) {
		next = b->next;
		id = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "block_id"));
		if (id != NULL && strcmp(id, SLACKAPP_ACTIONS_BLOCK) == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(blocks, b));
	}
}

/* Sets member name of o to the string v (replacing any). 0 or ERR_NOMEM. */
static int set_string(cJSON *o, const char *name, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(o, name);
	return cJSON_AddStringToObject(o, name, v) != NULL ? 0 : ERR_NOMEM;
}

char *slackapp_message(const char *stored, const struct slackapp_send *how)
{
	cJSON *root = stored != NULL ? cJSON_Parse(stored) : NULL;
	char *out = NULL;
	int rc;

	if (!cJSON_IsObject(root) || how == NULL || how->channel == NULL)
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(root, ENVELOPE);
	if (!how->keep_actions)
		drop_actions(cJSON_GetObjectItemCaseSensitive(root, "blocks"));
	rc = set_string(root, "channel", how->channel);
	if (rc == 0 && how->thread_ts != NULL)
		rc = set_string(root, "thread_ts", how->thread_ts);
	if (rc == 0 && how->thread_ts != NULL && how->broadcast)
		rc = cJSON_AddTrueToObject(root, "reply_broadcast") != NULL ? 0 : ERR_NOMEM;
	if (rc == 0)
		out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

/* "<line> · was: <old>", the old text being the slack row's, already
 * escaped for where it stood; just line when there is none. Caller
 * frees; NULL on ERR_NOMEM. */
static char *joined(const char *line, const char *old)
{
	size_t n = strlen(line) + (old != NULL ? strlen(old) : 0) + 16;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s%s%s", line, old != NULL && old[0] ? " \xc2\xb7 was: " : "",
			 old != NULL ? old : "");
	return s;
}

/* The first block of a resolved parent: the resolved line with the old
 * first block's text, and a button to the recovery's run. */
static cJSON *resolved_block(const cJSON *resolved, const cJSON *first)
{
	const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resolved, "text"));
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resolved, "url"));
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(first, "text");
	char *text =
		line != NULL
			? joined(line,
				 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "text")))
			: NULL;
	cJSON *b = cJSON_CreateObject(), *txt = cJSON_CreateObject(), *btn = NULL;
	int ok = text != NULL && b != NULL && txt != NULL &&
		 cJSON_AddStringToObject(b, "type", "section") &&
		 cJSON_AddStringToObject(txt, "type", "plain_text") &&
		 cJSON_AddStringToObject(txt, "text", text) && cJSON_AddTrueToObject(txt, "emoji");

	free(text);
	if (ok && cJSON_AddItemToObject(b, "text", txt))
		txt = NULL;
	else
		ok = 0;
	if (ok && url != NULL && url[0] != '\0' && strlen(url) <= URL_MAX) {
		btn = cJSON_Parse("{\"type\":\"button\",\"text\":{\"type\":\"plain_text\","
				  "\"text\":\"Open run\"}}");
		ok = btn != NULL && cJSON_AddStringToObject(btn, "url", url) &&
		     cJSON_AddItemToObject(b, "accessory", btn);
		if (!ok)
			cJSON_Delete(btn);
	}
	cJSON_Delete(txt);
	if (!ok) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* Rewrites root (a posted parent) as resolved by resolved. 0 or an error. */
static int resolve_root(cJSON *root, const cJSON *resolved, const char *ts)
{
	cJSON *blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks"), *first, *nb;
	const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resolved, "text"));
	char *text;
	int rc;

	if (!cJSON_IsArray(blocks) || line == NULL)
		return ERR_PARSE;
	cJSON_DeleteItemFromObjectCaseSensitive(root, ENVELOPE);
	cJSON_DeleteItemFromObjectCaseSensitive(root, "thread_ts");
	cJSON_DeleteItemFromObjectCaseSensitive(root, "reply_broadcast");
	drop_actions(blocks);
	first = cJSON_GetArrayItem(blocks, 0);
	nb = resolved_block(resolved, first);
	if (nb == NULL)
		return ERR_NOMEM;
	if (first != NULL)
		cJSON_ReplaceItemViaPointer(blocks, first, nb);
	else
		cJSON_AddItemToArray(blocks, nb);
	text = joined(line, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "text")));
	rc = text != NULL ? set_string(root, "text", text) : ERR_NOMEM;
	free(text);
	return rc == 0 ? set_string(root, "ts", ts) : rc;
}

char *slackapp_resolved(const char *parent, const char *recovery, const char *ts)
{
	cJSON *root = parent != NULL ? cJSON_Parse(parent) : NULL;
	cJSON *rec = recovery != NULL ? cJSON_Parse(recovery) : NULL;
	const cJSON *resolved = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rec, ENVELOPE), "resolved");
	char *out = NULL;

	if (cJSON_IsObject(root) && cJSON_IsObject(resolved) && ts != NULL &&
	    resolve_root(root, resolved, ts) == 0)
		out = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	cJSON_Delete(rec);
	return out;
}

/* Grouped messages are the slack row's, posted without a thread. */
static char *slackapp_render_group(const struct group_item *items, size_t n,
				   const struct render_opts *o)
{
	return target_slack.render_group(items, n, o);
}

/* Replies are read by the Web API client (slackapi.h), not here; this
 * serves a post that reaches the row's URL by another road. */
static int slackapp_classify(long status, int by_status, const char *body, size_t len)
{
	return target_slack.classify(status, by_status, body, len);
}

const struct target target_slackapp = {
	.name = "slack-app",
	.default_rate = 1.0,
	.content_type = "application/json; charset=utf-8",
	.limits = {
		.max_blocks = SLACK_MAX_BLOCKS,
		.max_section = SLACK_MAX_SECTION,
		.max_header = SLACK_MAX_HEADER,
		.text_budget = SLACK_TEXT_BUDGET,
	},
	.render = slackapp_render,
	.render_group = slackapp_render_group,
	.classify = slackapp_classify,
	.url_warning = NULL,
};
