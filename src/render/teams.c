/* Microsoft Teams rendering of a run summary: an Adaptive Card 1.5 wrapped
 * in the Workflows webhook message envelope. Pure: summary in, JSON out.
 *
 * Teams processes TextBlock text and Fact titles/values as Markdown and
 * documents no escape syntax, while RichTextBlock > TextRun text is shown as
 * typed. So every untrusted string (names, paths, messages, environment,
 * caveats) sits in a TextRun, passed through text_teams_plain() so no
 * <at>…</at> tag can form; no backslashes are needed or shown. TextBlocks
 * and the FactSet carry only our own wording, numbers and values that pass
 * fact_is_plain(). The only mention is the one from the config, on problem
 * runs. The whole body must stay under TEAMS_MAX_BYTES: the card is first
 * built without steps and measured, then steps are added while their
 * serialized size fits, and the rest is reported as "+N more failed
 * steps". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "render_int.h"
#include "text.h"

#define TEAMS_MAX_BYTES 28000 /* whole body; published in the row's limits */

#define TITLE_CHARS 400
#define PATH_CHARS 300
#define MESSAGE_CHARS 1000
#define FACT_CHARS 300
#define CHILD_CHARS 120
#define CAVEAT_CHARS 500
#define MORE_SLACK 32    /* bytes the "+N more" digits may vary by */
#define DOT " \xc2\xb7 " /* " · " */

/* Sanitised, cut to max code points, then made tag-safe for a TextRun.
 * Caller frees; NULL on ERR_NOMEM. */
static char *plain(const char *raw, size_t max)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, 1);
	char *t = c ? text_truncate(c, max) : NULL, *p = t ? text_teams_plain(t) : NULL;

	free(c);
	free(t);
	return p;
}

/* Card under construction. */
struct card {
	cJSON *body; /* borrowed from the card tree */
	int oom;
};

/* Adds {"type":type} to arr and returns it (borrowed), or NULL. */
static cJSON *element(struct card *c, cJSON *arr, const char *type)
{
	cJSON *e = arr ? cJSON_CreateObject() : NULL;

	if (e == NULL || !cJSON_AddStringToObject(e, "type", type)) {
		cJSON_Delete(e);
		c->oom = 1;
		return NULL;
	}
	cJSON_AddItemToArray(arr, e);
	return e;
}

/* Adds {"type":"TextBlock","text":text,"wrap":true} to arr for TRUSTED
 * text only (Teams reads it as Markdown); returns the block or NULL. */
static cJSON *text_block(struct card *c, cJSON *arr, const char *text)
{
	cJSON *b = text ? element(c, arr, "TextBlock") : NULL;

	if (b == NULL || !cJSON_AddStringToObject(b, "text", text) ||
	    !cJSON_AddTrueToObject(b, "wrap")) {
		c->oom = 1;
		return NULL;
	}
	return b;
}

/* Adds an empty RichTextBlock to arr; returns it (borrowed) or NULL. */
static cJSON *rich(struct card *c, cJSON *arr)
{
	cJSON *b = element(c, arr, "RichTextBlock");

	if (b != NULL && cJSON_AddArrayToObject(b, "inlines") == NULL) {
		c->oom = 1;
		return NULL;
	}
	return b;
}

/* Appends a TextRun with text (already made safe, or trusted) to the
 * RichTextBlock rb; returns the run to style, or NULL. */
static cJSON *text_run(struct card *c, cJSON *rb, const char *text)
{
	cJSON *r = text ? element(c, cJSON_GetObjectItem(rb, "inlines"), "TextRun") : NULL;

	if (r == NULL || !cJSON_AddStringToObject(r, "text", text)) {
		c->oom = 1;
		return NULL;
	}
	return r;
}

/* text_run() taking ownership of text. */
static cJSON *text_run_own(struct card *c, cJSON *rb, char *text)
{
	cJSON *r = text_run(c, rb, text);

	free(text);
	return r;
}

/* Styling setters; a NULL element (already counted as ERR_NOMEM) is skipped. */
static void set(cJSON *b, const char *key, const char *value)
{
	if (b != NULL)
		cJSON_AddStringToObject(b, key, value);
}

static void set_true(cJSON *b, const char *key)
{
	if (b != NULL)
		cJSON_AddTrueToObject(b, key);
}

static const char *status_color(enum run_status st)
{
	if (status_is_problem(st))
		return "Attention";
	return st == ST_SUCCESS ? "Good" : "Default";
}

static void add_title(struct card *c, const struct summary *s)
{
	char *title = render_title(s), *p = title ? plain(title, TITLE_CHARS) : NULL;
	cJSON *r;

	if (s->is_test) {
		r = text_block(c, c->body,
			       "\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by "
			       "dpc-notify send-test");
		set(r, "weight", "Bolder");
		set(r, "color", "Warning");
	}
	r = text_run_own(c, rich(c, c->body),
			 p ? text_concat3(render_status_emoji(s->status), " ", p) : NULL);
	set(r, "size", "Large");
	set(r, "weight", "Bolder");
	set(r, "color", status_color(s->status));
	free(title);
	free(p);
}

/* The mention from the config (a UPN): "<at>UPN</at>" in a TextBlock, the
 * only place Teams resolves it, plus the msteams entity that makes it a
 * real mention. */
static void add_mention(struct card *c, cJSON *msteams, const struct summary *s,
			const struct render_opts *o)
{
	char *tag;
	cJSON *ents, *ent, *who;

	if (o == NULL || o->mention == NULL || *o->mention == '\0' || !status_is_problem(s->status))
		return;
	tag = text_concat3("<at>", o->mention, "</at>");
	ents = cJSON_AddArrayToObject(msteams, "entities");
	ent = cJSON_CreateObject();
	who = cJSON_CreateObject();
	if (tag == NULL || ents == NULL || ent == NULL || who == NULL ||
	    !cJSON_AddStringToObject(ent, "type", "mention") ||
	    !cJSON_AddStringToObject(ent, "text", tag) ||
	    !cJSON_AddStringToObject(who, "id", o->mention) ||
	    !cJSON_AddStringToObject(who, "name", o->mention)) {
		cJSON_Delete(ent);
		cJSON_Delete(who);
		free(tag);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToObject(ent, "mentioned", who);
	cJSON_AddItemToArray(ents, ent);
	text_block(c, c->body, tag);
	free(tag);
}

/* 1 when a fact value may sit in a FactSet (Markdown) as is: letters,
 * digits, space, '-', ':' and '.', starting with a letter or digit and
 * without ". " (so no list marker, emphasis, link or tag can form). Times,
 * durations, status words and UUIDs pass; names mostly do not. */
static int fact_is_plain(const char *v)
{
	size_t i;

	if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9')))
		return 0;
	for (i = 0; v[i] != '\0'; i++) {
		if (strchr(" -:.", v[i]) == NULL && !(v[i] >= 'A' && v[i] <= 'Z') &&
		    !(v[i] >= 'a' && v[i] <= 'z') && !(v[i] >= '0' && v[i] <= '9'))
			return 0;
		if (v[i] == '.' && v[i + 1] == ' ')
			return 0;
	}
	return 1;
}

/* Facts that name things people type (so always shown as literal text,
 * even when their value happens to pass fact_is_plain()). */
static int fact_is_name(const char *title)
{
	return strcmp(title, "Project") == 0 || strcmp(title, "Environment") == 0;
}

/* The untrusted facts as one RichTextBlock line under the title:
 * "Project Sales · Environment prod", labels subtle, values bold. */
static void add_name_facts(struct card *c, const struct render_fact *f, size_t n)
{
	cJSON *rb = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!fact_is_name(f[i].title) && fact_is_plain(f[i].value))
			continue;
		if (rb == NULL)
			rb = rich(c, c->body);
		else
			set_true(text_run(c, rb, DOT), "isSubtle");
		set_true(text_run_own(c, rb, text_concat3(f[i].title, " ", "")), "isSubtle");
		set(text_run_own(c, rb, plain(f[i].value, FACT_CHARS)), "weight", "Bolder");
	}
}

static void add_fact(struct card *c, cJSON *facts, const char *title, const char *value)
{
	cJSON *f = cJSON_CreateObject();

	if (facts == NULL || f == NULL || !cJSON_AddStringToObject(f, "title", title) ||
	    !cJSON_AddStringToObject(f, "value", value)) {
		cJSON_Delete(f);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(facts, f);
}

/* The trusted facts (status, trigger, times, ids that pass
 * fact_is_plain()) as a FactSet; none, no FactSet. */
static void add_plain_facts(struct card *c, const struct render_fact *f, size_t n)
{
	cJSON *fs = NULL, *facts = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (fact_is_name(f[i].title) || !fact_is_plain(f[i].value))
			continue;
		if (fs == NULL) {
			fs = element(c, c->body, "FactSet");
			facts = fs ? cJSON_AddArrayToObject(fs, "facts") : NULL;
		}
		add_fact(c, facts, f[i].title, f[i].value);
	}
}

static void add_facts(struct card *c, const struct summary *s)
{
	struct render_fact f[RENDER_MAX_FACTS];
	size_t n = render_facts(s, f, RENDER_MAX_FACTS);
	char line[256];

	add_name_facts(c, f, n);
	add_plain_facts(c, f, n);
	if (*s->message) {
		set(text_block(c, c->body, "Message"), "weight", "Bolder");
		set(text_run_own(c, rich(c, c->body), plain(s->message, MESSAGE_CHARS)), "fontType",
		    "Monospace");
	}
	render_counts_line(s, line, sizeof(line));
	if (line[0] != '\0')
		set_true(text_block(c, c->body, line), "isSubtle");
}

static void add_caveats(struct card *c, const struct summary *s)
{
	const char *why[] = { s->incomplete, s->degraded };
	size_t i;
	char *p;

	for (i = 0; i < 2; i++) {
		if (why[i] == NULL)
			continue;
		p = plain(why[i], CAVEAT_CHARS);
		set(text_run_own(c, rich(c, c->body),
				 p ? text_concat3("\xe2\x9a\xa0\xef\xb8\x8f ", p, "") : NULL),
		    "color", "Warning");
		free(p);
	}
}

/* One failed step as a Container: the bold path, status and duration (left
 * out when unknown) as TextRuns, then the message in a monospace TextRun.
 * Caller owns the result; NULL on ERR_NOMEM. */
static cJSON *step_container(const struct failed_step *f)
{
	struct card c = { NULL, 0 };
	char dur[32], *status = plain(render_status_word(f->status, f->status_text), 40);
	cJSON *box = cJSON_CreateObject(), *items = NULL, *rb;

	if (box != NULL && cJSON_AddStringToObject(box, "type", "Container") &&
	    cJSON_AddTrueToObject(box, "separator"))
		items = cJSON_AddArrayToObject(box, "items");
	if (items == NULL || status == NULL)
		goto fail;
	rb = rich(&c, items);
	set(text_run_own(&c, rb, plain(f->path, PATH_CHARS)), "weight", "Bolder");
	set(text_run_own(&c, rb, text_concat3(DOT, status, "")), "color", status_color(f->status));
	if (f->duration_ms >= 0) {
		text_duration(f->duration_ms, dur, sizeof(dur));
		set_true(text_run_own(&c, rb, text_concat3(DOT, dur, "")), "isSubtle");
	}
	if (*f->message)
		set(text_run_own(&c, rich(&c, items), plain(f->message, MESSAGE_CHARS)), "fontType",
		    "Monospace");
	if (c.oom)
		goto fail;
	free(status);
	return box;
fail:
	cJSON_Delete(box);
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

/* One line per child pipeline shown: "• name — FAILED", the name a TextRun. */
static void add_children(struct card *c, const struct summary *s)
{
	size_t i, shown = s->n_children < RENDER_MAX_CHILDREN_SHOWN ? s->n_children
								    : RENDER_MAX_CHILDREN_SHOWN;
	uint64_t more = s->n_children - shown + s->children_more;
	const struct child_run *ch;
	char line[80], *name;
	cJSON *rb;

	if (shown == 0 && more == 0)
		return;
	set(text_block(c, c->body, "Child pipelines"), "weight", "Bolder");
	for (i = 0; i < shown; i++) {
		ch = &s->children[i];
		rb = rich(c, c->body);
		set(rb, "spacing", "None");
		name = plain(*ch->name ? ch->name : "?", CHILD_CHARS);
		text_run_own(c, rb, name ? text_concat3("\xe2\x80\xa2 ", name, "") : NULL);
		text_run(c, rb, " \xe2\x80\x94 ");
		set(text_run(c, rb, render_status_word(ch->status, NULL)), "color",
		    status_color(ch->status));
		free(name);
	}
	if (more) {
		snprintf(line, sizeof(line), "+%llu more child pipelines",
			 (unsigned long long)more);
		set(text_block(c, c->body, line), "spacing", "None");
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
	if (!cJSON_AddStringToObject(att, "contentType",
				     "application/vnd.microsoft.card.adaptive") ||
	    !cJSON_AddNullToObject(att, "contentUrl"))
		goto fail;
	ct = cJSON_AddObjectToObject(att, "content");
	if (!cJSON_AddStringToObject(ct, "$schema",
				     "http://adaptivecards.io/schemas/adaptive-card.json") ||
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
static cJSON *build(const struct summary *s, const struct render_opts *o, size_t k)
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
	add_mention(&c, msteams, s, o);
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
static char *print(const struct summary *s, const struct render_opts *o, size_t k, size_t *len)
{
	cJSON *root = build(s, o, k);
	char *out = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	*len = out ? strlen(out) : 0;
	return out;
}

/* Workflows webhook body: {"type":"message","attachments":[{"contentType":
 * "application/vnd.microsoft.card.adaptive","content":{card}}]} with an
 * Adaptive Card 1.5, under TEAMS_MAX_BYTES; mentions only from o->mention.
 * Caller frees; NULL on ERR_NOMEM. */
static char *teams_render(const struct summary *s, const struct render_opts *o)
{
	size_t len, k;
	char *out = print(s, o, 0, &len);

	if (out == NULL || s->n_failed == 0)
		return out;
	free(out);
	k = steps_that_fit(s, len);
	out = print(s, o, k, &len);
	/* The estimate is exact up to the "+N more" line; shrink if it was not. */
	while (out != NULL && len > TEAMS_MAX_BYTES && k > 0) {
		free(out);
		out = print(s, o, --k, &len);
	}
	return out;
}

/* Legacy Teams connectors reported throttling as a 200 whose body says
 * so; otherwise the status decides. */
static int teams_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)len;
	if (by_status == 0 && body != NULL && strstr(body, "HTTP error 429") != NULL)
		return ERR_TRANSIENT;
	return by_status;
}

/* Teams' Office 365 connector hosts stopped working in 2025: such a URL
 * parses but no message arrives. */
static const char *teams_url_warning(const char *url)
{
	const char *h = strstr(url, "://");
	size_t hl;

	if (h == NULL)
		return NULL;
	h += 3;
	hl = strcspn(h, "/:?#");
	if ((hl >= 18 && strncasecmp(h + hl - 18, "webhook.office.com", 18) == 0 &&
	     (hl == 18 || h[hl - 19] == '.')) ||
	    strncasecmp(h, "outlook.office.com/webhook", 26) == 0 ||
	    strncasecmp(h, "outlook.office365.com/webhook", 29) == 0)
		return "retired Office 365 connector URL; use a Teams Workflows webhook";
	return NULL;
}

const struct target target_teams = {
	.name = "teams",
	.default_rate = 4.0,
	.content_type = "application/json",
	.limits = { .max_bytes = TEAMS_MAX_BYTES },
	.render = teams_render,
	.classify = teams_classify,
	.url_warning = teams_url_warning,
};
