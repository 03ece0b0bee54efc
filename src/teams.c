/* Microsoft Teams rendering of a run summary: an Adaptive Card 1.5 wrapped
 * in the Workflows webhook message envelope. Pure: summary in, JSON out.
 *
 * Untrusted text goes through text_teams_escape() (no links, emphasis or
 * <at> mentions can form) and sits in wrapped TextBlocks or FactSets. The
 * only mention is the one from the config, on problem runs. The whole body
 * must stay under TEAMS_MAX_BYTES: the card is first built without steps and
 * measured, then steps are added while their serialized size fits, and the
 * rest is reported as "+N more failed steps". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "render.h"
#include "text.h"

#define PATH_CHARS 300
#define MESSAGE_CHARS 1000
#define FACT_CHARS 300
#define CHILD_CHARS 120
#define MORE_SLACK 32 /* bytes the "+N more" digits may vary by */

/* Sanitised, cut to max code points, then escaped. Caller frees. */
static char *esc(const char *raw, size_t max)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, 1);
	char *t = c ? text_truncate(c, max) : NULL, *e = t ? text_teams_escape(t) : NULL;

	free(c);
	free(t);
	return e;
}

static char *join3(const char *a, const char *b, const char *c)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	char *out = malloc(la + lb + lc + 1);

	if (out == NULL)
		return NULL;
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	memcpy(out + la + lb, c, lc + 1);
	return out;
}

/* Card under construction. */
struct card {
	cJSON *body; /* borrowed from the card tree */
	int oom;
};

/* Adds {"type":"TextBlock","text":text,"wrap":true} to arr; returns the
 * block (borrowed) to set more properties on, or NULL. */
static cJSON *text_block(struct card *c, cJSON *arr, const char *text)
{
	cJSON *b = cJSON_CreateObject();

	if (text == NULL || b == NULL || !cJSON_AddStringToObject(b, "type", "TextBlock") ||
	    !cJSON_AddStringToObject(b, "text", text) || !cJSON_AddTrueToObject(b, "wrap")) {
		cJSON_Delete(b);
		c->oom = 1;
		return NULL;
	}
	cJSON_AddItemToArray(arr, b);
	return b;
}

/* text_block() taking ownership of text. */
static cJSON *text_block_own(struct card *c, cJSON *arr, char *text)
{
	cJSON *b = text_block(c, arr, text);

	free(text);
	return b;
}

static void set(cJSON *b, const char *key, const char *value)
{
	if (b != NULL)
		cJSON_AddStringToObject(b, key, value);
}

static void add_title(struct card *c, const struct summary *s)
{
	char *title = render_title(s), *e = title ? esc(title, 400) : NULL;
	cJSON *b;

	if (s->is_test) {
		b = text_block(c, c->body, "\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by "
					   "dpc-notify send-test");
		set(b, "weight", "Bolder");
		set(b, "color", "Warning");
	}
	b = text_block_own(c, c->body, e ? join3(render_status_emoji(s->status), " ", e) : NULL);
	set(b, "size", "Large");
	set(b, "weight", "Bolder");
	if (status_is_problem(s->status))
		set(b, "color", "Attention");
	else if (s->status == ST_SUCCESS)
		set(b, "color", "Good");
	free(title);
	free(e);
}

/* The mention from the config (a UPN): "<at>UPN</at>" in the card plus the
 * msteams entity that makes it a real mention. */
static void add_mention(struct card *c, cJSON *msteams, const struct summary *s,
			const struct destination *d)
{
	char *tag;
	cJSON *ents, *ent, *who;

	if (d == NULL || d->mention == NULL || *d->mention == '\0' ||
	    !status_is_problem(s->status))
		return;
	tag = join3("<at>", d->mention, "</at>");
	ents = cJSON_AddArrayToObject(msteams, "entities");
	ent = cJSON_CreateObject();
	who = cJSON_CreateObject();
	if (tag == NULL || ents == NULL || ent == NULL || who == NULL ||
	    !cJSON_AddStringToObject(ent, "type", "mention") ||
	    !cJSON_AddStringToObject(ent, "text", tag) ||
	    !cJSON_AddStringToObject(who, "id", d->mention) ||
	    !cJSON_AddStringToObject(who, "name", d->mention)) {
		cJSON_Delete(ent);
		cJSON_Delete(who);
		free(tag);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToObject(ent, "mentioned", who);
	cJSON_AddItemToArray(ents, ent);
	text_block_own(c, c->body, tag);
}

/* A FactSet from title/value pairs; values are escaped here. */
static cJSON *fact_set(struct card *c, cJSON *arr)
{
	cJSON *fs = cJSON_CreateObject(), *facts = NULL;

	if (cJSON_AddStringToObject(fs, "type", "FactSet"))
		facts = cJSON_AddArrayToObject(fs, "facts");
	if (facts == NULL) {
		cJSON_Delete(fs);
		c->oom = 1;
		return NULL;
	}
	cJSON_AddItemToArray(arr, fs);
	return facts;
}

static void add_fact(struct card *c, cJSON *facts, const char *title, char *value)
{
	cJSON *f = cJSON_CreateObject();

	if (facts == NULL || value == NULL || f == NULL ||
	    !cJSON_AddStringToObject(f, "title", title) ||
	    !cJSON_AddStringToObject(f, "value", value)) {
		cJSON_Delete(f);
		c->oom = 1;
	} else {
		cJSON_AddItemToArray(facts, f);
	}
	free(value);
}

/* add_fact() with an owned, escaped title and a trusted value. */
static void add_fact_own_title(struct card *c, cJSON *facts, char *title, const char *value)
{
	if (title == NULL) {
		c->oom = 1;
		return;
	}
	add_fact(c, facts, title, strdup(value));
	free(title);
}

static void add_facts(struct card *c, const struct summary *s)
{
	struct render_fact f[RENDER_MAX_FACTS];
	size_t n = render_facts(s, f, RENDER_MAX_FACTS), i;
	cJSON *facts = fact_set(c, c->body);
	char line[256];
	cJSON *b;

	for (i = 0; i < n; i++)
		add_fact(c, facts, f[i].title, esc(f[i].value, FACT_CHARS));
	if (*s->message) {
		text_block(c, c->body, "**Message**");
		b = text_block_own(c, c->body, esc(s->message, MESSAGE_CHARS));
		set(b, "fontType", "Monospace");
	}
	render_counts_line(s, line, sizeof(line));
	b = text_block(c, c->body, line);
	if (b != NULL)
		cJSON_AddTrueToObject(b, "isSubtle");
}

static void add_caveats(struct card *c, const struct summary *s)
{
	const char *why[] = { s->incomplete, s->degraded };
	size_t i;
	char *e;
	cJSON *b;

	for (i = 0; i < 2; i++) {
		if (why[i] == NULL)
			continue;
		e = esc(why[i], 500);
		b = text_block_own(c, c->body, e ? join3("\xe2\x9a\xa0\xef\xb8\x8f ", e, "") : NULL);
		set(b, "color", "Warning");
		free(e);
	}
}

/* One failed step as a Container: bold path with status and duration, then
 * the message in a monospace TextBlock. Caller owns the result. */
static cJSON *step_container(const struct failed_step *f)
{
	struct card c = { NULL, 0 };
	char dur[32], tail[128], *path = esc(f->path, PATH_CHARS), *status;
	cJSON *box = cJSON_CreateObject(), *items, *b;

	status = esc(render_status_word(f->status, f->status_text), 40);
	items = box ? cJSON_AddArrayToObject(box, "items") : NULL;
	if (items == NULL || path == NULL || status == NULL ||
	    !cJSON_AddStringToObject(box, "type", "Container") ||
	    !cJSON_AddTrueToObject(box, "separator"))
		goto fail;
	text_duration(f->duration_ms, dur, sizeof(dur));
	snprintf(tail, sizeof(tail), "** \xc2\xb7 %s \xc2\xb7 %s", status, dur);
	text_block_own(&c, items, join3("**", path, tail));
	if (*f->message) {
		b = text_block_own(&c, items, esc(f->message, MESSAGE_CHARS));
		set(b, "fontType", "Monospace");
	}
	if (c.oom)
		goto fail;
	free(path);
	free(status);
	return box;
fail:
	cJSON_Delete(box);
	free(path);
	free(status);
	return NULL;
}

static void add_more(struct card *c, uint64_t omitted)
{
	char line[80];

	if (omitted == 0)
		return;
	snprintf(line, sizeof(line), "+%llu more failed steps", (unsigned long long)omitted);
	set(text_block(c, c->body, line), "weight", "Bolder");
}

static void add_children(struct card *c, const struct summary *s)
{
	size_t i, shown = s->n_children < RENDER_MAX_CHILDREN_SHOWN ? s->n_children
								 : RENDER_MAX_CHILDREN_SHOWN;
	uint64_t more = s->n_children - shown + s->children_more;
	char line[80];
	cJSON *facts;

	if (shown == 0 && more == 0)
		return;
	text_block(c, c->body, "**Child pipelines**");
	facts = fact_set(c, c->body);
	for (i = 0; i < shown; i++)
		add_fact_own_title(c, facts,
				   esc(*s->children[i].name ? s->children[i].name : "?", CHILD_CHARS),
				   render_status_word(s->children[i].status, NULL));
	if (more) {
		snprintf(line, sizeof(line), "+%llu more child pipelines", (unsigned long long)more);
		text_block(c, c->body, line);
	}
}

static void add_action(struct card *c, cJSON *content, const struct summary *s)
{
	cJSON *actions = cJSON_AddArrayToObject(content, "actions"), *a;

	if (actions == NULL) {
		c->oom = 1;
		return;
	}
	if (s->link == NULL || *s->execution_id == '\0')
		return;
	a = cJSON_CreateObject();
	if (a == NULL || !cJSON_AddStringToObject(a, "type", "Action.OpenUrl") ||
	    !cJSON_AddStringToObject(a, "title", "Open run in Matillion") ||
	    !cJSON_AddStringToObject(a, "url", s->link)) {
		cJSON_Delete(a);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(actions, a);
}

/* The envelope and card skeleton; sets *content and *msteams (borrowed
 * and owned by the caller respectively). Keys are added in the order of
 * Microsoft's samples so the body reads naturally. */
static cJSON *envelope(cJSON **content, cJSON **msteams)
{
	cJSON *root = cJSON_CreateObject(), *atts = NULL, *att = NULL, *ct = NULL;

	if (cJSON_AddStringToObject(root, "type", "message"))
		atts = cJSON_AddArrayToObject(root, "attachments");
	att = atts ? cJSON_CreateObject() : NULL;
	if (att != NULL)
		cJSON_AddItemToArray(atts, att);
	if (!cJSON_AddStringToObject(att, "contentType", "application/vnd.microsoft.card.adaptive") ||
	    !cJSON_AddNullToObject(att, "contentUrl"))
		goto fail;
	ct = cJSON_AddObjectToObject(att, "content");
	if (!cJSON_AddStringToObject(ct, "$schema", "http://adaptivecards.io/schemas/adaptive-card.json") ||
	    !cJSON_AddStringToObject(ct, "type", "AdaptiveCard") ||
	    !cJSON_AddStringToObject(ct, "version", "1.5"))
		goto fail;
	*content = ct;
	*msteams = cJSON_CreateObject();
	return root;
fail:
	cJSON_Delete(root);
	return NULL;
}

/* The whole body with the first k kept failed steps. NULL on ERR_NOMEM. */
static cJSON *build(const struct summary *s, const struct destination *d, size_t k)
{
	struct card c = { NULL, 0 };
	cJSON *content = NULL, *msteams = NULL, *root = envelope(&content, &msteams), *box;
	size_t i;

	if (root == NULL || msteams == NULL)
		goto fail;
	c.body = cJSON_AddArrayToObject(content, "body");
	if (c.body == NULL)
		goto fail;
	add_title(&c, s);
	add_mention(&c, msteams, s, d);
	add_caveats(&c, s);
	add_facts(&c, s);
	for (i = 0; i < k && i < s->n_failed && !c.oom; i++) {
		box = step_container(&s->failed[i]);
		if (box == NULL)
			c.oom = 1;
		else
			cJSON_AddItemToArray(c.body, box);
	}
	add_more(&c, (uint64_t)(s->n_failed - i) + s->failed_more);
	add_children(&c, s);
	add_action(&c, content, s);
	if (c.oom || !cJSON_AddStringToObject(msteams, "width", "Full"))
		goto fail;
	cJSON_AddItemToObject(content, "msteams", msteams);
	return root;
fail:
	cJSON_Delete(msteams);
	cJSON_Delete(root);
	return NULL;
}

/* Serialized size of the step's container plus its separating comma. */
static size_t step_size(const struct failed_step *f)
{
	cJSON *box = step_container(f);
	char *p = box ? cJSON_PrintUnformatted(box) : NULL;
	size_t n = p ? strlen(p) + 1 : SIZE_MAX;

	free(p);
	cJSON_Delete(box);
	return n;
}

/* How many failed steps fit next to the step-less card of size base. */
static size_t steps_that_fit(const struct summary *s, size_t base)
{
	size_t avail, i, n;

	if (base + MORE_SLACK >= TEAMS_MAX_BYTES)
		return 0;
	avail = TEAMS_MAX_BYTES - base - MORE_SLACK;
	for (i = 0; i < s->n_failed; i++) {
		n = step_size(&s->failed[i]);
		if (n > avail)
			break;
		avail -= n;
	}
	return i;
}

/* Prints the body with k steps; *len gets its length. */
static char *print(const struct summary *s, const struct destination *d, size_t k,
		   size_t *len)
{
	cJSON *root = build(s, d, k);
	char *out = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	*len = out ? strlen(out) : 0;
	return out;
}

char *teams_render(const struct summary *s, const struct destination *d)
{
	size_t len, k;
	char *out = print(s, d, 0, &len);

	if (out == NULL || s->n_failed == 0)
		return out;
	free(out);
	k = steps_that_fit(s, len);
	out = print(s, d, k, &len);
	/* The estimate is exact up to the "+N more" line; shrink if it was not. */
	while (out != NULL && len > TEAMS_MAX_BYTES && k > 0) {
		free(out);
		out = print(s, d, --k, &len);
	}
	return out;
}
