/* Microsoft Teams rendering of a run summary: an Adaptive Card 1.5 wrapped
 * in the Workflows webhook message envelope. Pure: summary in, JSON out.
 *
 * Teams processes TextBlock text and Fact titles/values as Markdown and
 * documents no escape syntax, while RichTextBlock > TextRun text is shown as
 * typed. So every untrusted string (names, paths, messages, environment,
 * caveats) sits in a TextRun, passed through text_teams_plain() so no
 * <at>…</at> tag can form; no backslashes are needed or shown. TextBlocks
 * carry only our own wording and numbers. The only mention is the one
 * from the config, on failures (the view decides). What the card says is
 * the view's (view.c). The whole body must stay under TEAMS_MAX_BYTES:
 * when it does not, the "Show full error" card goes first, then errors
 * from the last, which are then counted in "+N more problem steps". */
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

/* Text colours: the status is carried by the one emoji, and text keeps
 * the theme's default colour, which meets WCAG AA contrast in Teams'
 * light and dark themes (the named accent colours do not all do so). */

/* Leading spaces of each line become no-break spaces, so an excerpt keeps
 * its indentation where Teams collapses blanks. Caller frees; NULL on
 * ERR_NOMEM. */
static char *keep_indent(const char *t)
{
	size_t n = strlen(t), i, o = 0;
	char *out = malloc(n * 2 + 1);
	int lead = 1;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if (lead && t[i] == ' ') {
			out[o++] = '\xc2';
			out[o++] = '\xa0';
			continue;
		}
		lead = t[i] == '\n';
		out[o++] = t[i];
	}
	out[o] = '\0';
	return out;
}

/* plain() then keep_indent(): an error text for a monospace TextRun. */
static char *code(const char *raw, size_t max)
{
	char *p = plain(raw, max), *k = p ? keep_indent(p) : NULL;

	free(p);
	return k;
}

static void add_title(struct card *c, const struct view *v)
{
	cJSON *r = text_run_own(c, rich(c, c->body), plain(v->headline, TITLE_CHARS));

	set(r, "size", "Large");
	set(r, "weight", "Bolder");
}

/* The mention from the config (a UPN): "<at>UPN</at>" in a TextBlock, the
 * only place Teams resolves it, plus the msteams entity that makes it a
 * real mention. */
static void add_mention_text(struct card *c, cJSON *msteams, const char *mention)
{
	char *tag;
	cJSON *ents, *ent, *who;

	if (mention == NULL || *mention == '\0')
		return;
	tag = text_concat3("<at>", mention, "</at>");
	ents = cJSON_AddArrayToObject(msteams, "entities");
	ent = cJSON_CreateObject();
	who = cJSON_CreateObject();
	if (tag == NULL || ents == NULL || ent == NULL || who == NULL ||
	    !cJSON_AddStringToObject(ent, "type", "mention") ||
	    !cJSON_AddStringToObject(ent, "text", tag) ||
	    !cJSON_AddStringToObject(who, "id", mention) ||
	    !cJSON_AddStringToObject(who, "name", mention)) {
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

static void add_mention(struct card *c, cJSON *msteams, const struct view *v,
			const struct render_opts *o)
{
	if (o != NULL && v->mention)
		add_mention_text(c, msteams, o->mention);
}

/* The context line: who ran it (untrusted, a TextRun), when in UTC with
 * the zone named, how long, the run's short id. Teams documents no
 * DATE()/TIME() support in cards, so the times are written out. */
static void add_context(struct card *c, const struct summary *s, const struct view *v)
{
	char a[32], z[32], line[160];
	cJSON *rb = rich(c, c->body);
	size_t n = 0;

	set(rb, "spacing", "Small");
	if (s->is_test)
		text_run(c, rb, "Test message sent by dpc-notify send-test" DOT);
	if (*v->context) {
		text_run_own(c, rb, plain(v->context, FACT_CHARS));
		text_run(c, rb, DOT);
	}
	line[0] = '\0';
	if (v->started_ms >= 0) {
		render_clock(v->started_ms, 1, a, sizeof(a));
		render_clock(v->finished_ms, 0, z, sizeof(z));
		n = (size_t)snprintf(line, sizeof(line),
				     v->finished_ms >= v->started_ms ? "%s\xe2\x80\x93%s UTC" DOT
								     : "started %s UTC" DOT,
				     a, z);
	}
	if (*v->duration)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s" DOT, v->duration);
	if (*v->run_id)
		snprintf(line + n, sizeof(line) - n, "run %s", v->run_id);
	else if (n >= strlen(DOT))
		line[n - strlen(DOT)] = '\0';
	text_run_own(c, rb, plain(line, sizeof(line)));
}

/* Notes before the details: completes an earlier notice; details missing
 * (why, in plain words); incomplete. Italic, default colour. */
static void add_notes(struct card *c, const struct summary *s, const struct view *v)
{
	const char *why[] = { v->follow, s->degraded, s->incomplete };
	size_t i;

	for (i = 0; i < 3; i++)
		if (why[i] != NULL && *why[i] != '\0')
			set_true(text_run_own(c, rich(c, c->body), plain(why[i], CAVEAT_CHARS)),
				 "italic");
}

/* One distinct error as a Container: what (bold: where, or "300 steps
 * failed with the same error" then where), then the excerpt in a
 * monospace TextRun. Caller owns the result; NULL on ERR_NOMEM. */
static cJSON *error_container(const struct view_error *e)
{
	struct card c = { NULL, 0 };
	cJSON *box = cJSON_CreateObject(), *items = NULL, *rb;
	char *where = NULL;

	if (box != NULL && cJSON_AddStringToObject(box, "type", "Container") &&
	    cJSON_AddTrueToObject(box, "separator"))
		items = cJSON_AddArrayToObject(box, "items");
	if (items == NULL)
		goto fail;
	rb = rich(&c, items);
	set(text_run_own(&c, rb, plain(e->steps ? e->steps : e->where, PATH_CHARS)), "weight",
	    "Bolder");
	if (e->steps) {
		/* The place holds step names: untrusted, made safe like any. */
		where = plain(e->where, PATH_CHARS);
		text_run_own(&c, rb, where ? text_concat3("\n", where, "") : NULL);
	} else if (e->status == ST_CANCELLED)
		text_run(&c, rb, DOT "cancelled");
	if (*e->excerpt)
		set(text_run_own(&c, rich(&c, items), code(e->excerpt, MESSAGE_CHARS)), "fontType",
		    "Monospace");
	if (c.oom)
		goto fail;
	free(where);
	return box;
fail:
	free(where);
	cJSON_Delete(box);
	return NULL;
}

static void add_errors(struct card *c, const struct view *v, size_t k)
{
	char line[160];
	size_t i;
	uint64_t steps = v->more_steps, errors = v->more_errors;
	cJSON *box;

	for (i = 0; i < v->n_errors && i < k && !c->oom; i++) {
		box = error_container(&v->errors[i]);
		if (box == NULL)
			c->oom = 1;
		else
			cJSON_AddItemToArray(c->body, box);
	}
	/* Errors left out to fit the size limit are counted too. */
	for (; i < v->n_errors; i++) {
		steps += v->errors[i].count;
		errors++;
	}
	view_more_line(steps, errors, line, sizeof(line));
	if (line[0])
		text_block(c, c->body, line);
}

/* The run-level message, when no step error explains the run. */
static void add_message(struct card *c, const struct view *v)
{
	int cut;
	char *ex;

	if (v->message == NULL)
		return;
	ex = render_excerpt(v->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS, &cut);
	set(text_block(c, c->body, "Message"), "weight", "Bolder");
	set(text_run_own(c, rich(c, c->body), ex ? code(ex, MESSAGE_CHARS) : NULL), "fontType",
	    "Monospace");
	free(ex);
}

/* Failed child pipelines the error's path does not name, one line each
 * ("• name — FAILED", the name a TextRun), then the others counted. */
static void add_children(struct card *c, const struct view *v)
{
	char line[200], *name;
	size_t i;
	cJSON *rb;

	if (v->n_children || v->children_more)
		set(text_block(c, c->body, "Other failed child pipelines"), "weight", "Bolder");
	for (i = 0; i < v->n_children; i++) {
		rb = rich(c, c->body);
		set(rb, "spacing", "None");
		name = plain(*v->children[i]->name ? v->children[i]->name : "?", CHILD_CHARS);
		text_run_own(c, rb, name ? text_concat3("\xe2\x80\xa2 ", name, "") : NULL);
		text_run(c, rb, " \xe2\x80\x94 ");
		text_run(c, rb, render_status_word(v->children[i]->status, NULL));
		free(name);
	}
	view_children_line(v, 1, line, sizeof(line));
	if (line[0])
		set(text_block(c, c->body, line), "spacing", "Small");
}

static void add_open(struct card *c, cJSON *actions, const char *title, const char *url)
{
	cJSON *a = cJSON_CreateObject();

	if (a == NULL || !cJSON_AddStringToObject(a, "type", "Action.OpenUrl") ||
	    !cJSON_AddStringToObject(a, "title", title) ||
	    !cJSON_AddStringToObject(a, "url", url)) {
		cJSON_Delete(a);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(actions, a);
}

/* "Show full error": the whole text of every error shown cut, behind an
 * Action.ShowCard, so the message stays one phone screen. */
static void add_full_errors(struct card *c, cJSON *actions, const struct view *v, size_t k)
{
	struct card sub = { NULL, 0 };
	cJSON *a, *card;
	size_t i;
	int any = 0;

	for (i = 0; i < v->n_errors && i < k; i++)
		any |= v->errors[i].cut;
	if (!any)
		return;
	a = cJSON_CreateObject();
	card = cJSON_CreateObject();
	if (a == NULL || card == NULL || !cJSON_AddStringToObject(a, "type", "Action.ShowCard") ||
	    !cJSON_AddStringToObject(a, "title", "Show full error") ||
	    !cJSON_AddStringToObject(card, "type", "AdaptiveCard") ||
	    (sub.body = cJSON_AddArrayToObject(card, "body")) == NULL) {
		cJSON_Delete(a);
		cJSON_Delete(card);
		c->oom = 1;
		return;
	}
	for (i = 0; i < v->n_errors && i < k; i++) {
		if (!v->errors[i].cut)
			continue;
		set(text_run_own(&sub, rich(&sub, sub.body), plain(v->errors[i].where, PATH_CHARS)),
		    "weight", "Bolder");
		set(text_run_own(&sub, rich(&sub, sub.body),
				 code(v->errors[i].full, SUMMARY_MESSAGE_MAX)),
		    "fontType", "Monospace");
	}
	cJSON_AddItemToObject(a, "card", card);
	cJSON_AddItemToArray(actions, a);
	if (sub.oom)
		c->oom = 1;
}

static void add_actions(struct card *c, cJSON *content, const struct view *v, size_t k, int full)
{
	cJSON *actions = cJSON_AddArrayToObject(content, "actions");

	if (actions == NULL) {
		c->oom = 1;
		return;
	}
	if (v->link != NULL)
		add_open(c, actions,
			 v->root_link ? "Open failed child run" : "Open run in Matillion", v->link);
	if (v->root_link != NULL)
		add_open(c, actions, "Open whole run", v->root_link);
	if (full)
		add_full_errors(c, actions, v, k);
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

/* The whole body with the first k errors, and their full text behind
 * "Show full error" when full. NULL on ERR_NOMEM. */
static cJSON *build(const struct summary *s, const struct view *v, const struct render_opts *o,
		    size_t k, int full)
{
	struct card c = { NULL, 0 };
	cJSON *content = NULL, *msteams = NULL, *root = envelope(&content, &msteams);
	char *summary = plain(v->headline, TITLE_CHARS);

	if (root == NULL || msteams == NULL || summary == NULL)
		goto fail;
	/* What the notification and chat list show (the activity's summary)
	 * and what clients without cards show (fallbackText). */
	if (!cJSON_AddStringToObject(root, "summary", summary) ||
	    !cJSON_AddStringToObject(content, "fallbackText", summary))
		goto fail;
	c.body = cJSON_AddArrayToObject(content, "body");
	if (c.body == NULL)
		goto fail;
	add_title(&c, v);
	add_mention(&c, msteams, v, o);
	add_context(&c, s, v);
	if (v->history)
		text_run_own(&c, rich(&c, c.body), plain(v->history, CAVEAT_CHARS));
	add_notes(&c, s, v);
	if (!v->compact) {
		add_errors(&c, v, k);
		add_message(&c, v);
		add_children(&c, v);
	}
	add_actions(&c, content, v, v->compact ? 0 : k, full);
	if (c.oom || !cJSON_AddStringToObject(msteams, "width", "Full"))
		goto fail;
	cJSON_AddItemToObject(content, "msteams", msteams);
	free(summary);
	return root;
fail:
	free(summary);
	cJSON_Delete(msteams);
	cJSON_Delete(root);
	return NULL;
}

/* Prints the body; *len gets its length. */
static char *print(const struct summary *s, const struct view *v, const struct render_opts *o,
		   size_t k, int full, size_t *len)
{
	cJSON *root = build(s, v, o, k, full);
	char *out = root ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	*len = out ? strlen(out) : 0;
	return out;
}

/* Workflows webhook body: {"type":"message","summary":…,"attachments":[{
 * "contentType":"application/vnd.microsoft.card.adaptive","content":{card}}]}
 * with an Adaptive Card 1.5, under TEAMS_MAX_BYTES: when the whole does not
 * fit, the full error texts go first, then errors from the last. Mentions
 * only from o->mention, on failures. Caller frees; NULL on ERR_NOMEM. */
static char *teams_render(const struct summary *s, const struct render_opts *o)
{
	struct view v;
	size_t len = 0, k;
	int full = 1;
	char *out = NULL;

	if (view_build(s, &v) != 0)
		return NULL;
	for (k = v.n_errors;;) {
		out = print(s, &v, o, k, full, &len);
		if (out == NULL || len <= TEAMS_MAX_BYTES)
			break;
		free(out);
		out = NULL;
		if (full)
			full = 0;
		else if (k > 0)
			k--;
		else
			break;
	}
	view_free(&v);
	return out;
}

/* ---- grouped messages ---- */

#define GROUP_RUN_CHARS 400 /* one run's line as shown */

/* One run: a bullet TextRun with its line (with the error when its
 * cluster has no heading) and an "open run" TextRun that opens it. */
static void group_run(struct card *c, const struct group_item *it, int with_env, int with_error)
{
	char *line = group_run_line(it, with_env, with_error);
	char *safe = line ? plain(line, GROUP_RUN_CHARS) : NULL;
	cJSON *rb = rich(c, c->body), *r, *act;

	set(rb, "spacing", "None");
	text_run_own(c, rb, safe ? text_concat3("\xe2\x80\xa2 ", safe, "") : NULL);
	free(line);
	free(safe);
	if (*it->link == '\0')
		return;
	text_run(c, rb, DOT);
	r = text_run(c, rb, "open run");
	act = r ? cJSON_AddObjectToObject(r, "selectAction") : NULL;
	if (act == NULL || !cJSON_AddStringToObject(act, "type", "Action.OpenUrl") ||
	    !cJSON_AddStringToObject(act, "url", it->link))
		c->oom = 1;
}

/* The grouped card naming at most max_runs runs; NULL on ERR_NOMEM. */
static cJSON *group_build(const struct group_view *g, const struct group_item *items,
			  size_t max_runs, const struct render_opts *o)
{
	struct card c = { NULL, 0 };
	cJSON *content = NULL, *msteams = NULL, *root = envelope(&content, &msteams), *r;
	char *summary = plain(g->headline, TITLE_CHARS), head[640], more[96];
	size_t k, i, shown = 0;

	if (root == NULL || msteams == NULL || summary == NULL)
		goto fail;
	if (!cJSON_AddStringToObject(root, "summary", summary) ||
	    !cJSON_AddStringToObject(content, "fallbackText", summary))
		goto fail;
	c.body = cJSON_AddArrayToObject(content, "body");
	if (c.body == NULL)
		goto fail;
	r = text_run_own(&c, rich(&c, c.body), plain(g->headline, TITLE_CHARS));
	set(r, "size", "Large");
	set(r, "weight", "Bolder");
	add_mention_text(&c, msteams, o && o->mention && *o->mention ? o->mention : g->mention);
	set(rich(&c, c.body), "spacing", "Small");
	text_run_own(&c, cJSON_GetArrayItem(c.body, cJSON_GetArraySize(c.body) - 1),
		     plain(g->context, FACT_CHARS));
	for (k = 0; k < g->n_clusters && shown < max_runs; k++) {
		group_cluster_line(g, k, items, head, sizeof(head));
		if (head[0])
			set(text_run_own(&c, rich(&c, c.body), plain(head, GROUP_RUN_CHARS)),
			    "weight", "Bolder");
		for (i = 0; i < g->clusters[k].n && shown < max_runs; i++, shown++)
			group_run(&c, &items[g->order[g->clusters[k].start + i]], !g->one_env,
				  head[0] == '\0');
	}
	if (shown < g->n) {
		snprintf(more, sizeof(more), "+%zu more run%s not listed", g->n - shown,
			 g->n - shown == 1 ? "" : "s");
		set(text_block(&c, c.body, more), "spacing", "Small");
	}
	if (c.oom || !cJSON_AddStringToObject(msteams, "width", "Full"))
		goto fail;
	cJSON_AddItemToObject(content, "msteams", msteams);
	free(summary);
	return root;
fail:
	free(summary);
	cJSON_Delete(msteams);
	cJSON_Delete(root);
	return NULL;
}

/* A grouped card: the headline (title, summary, fallbackText), one
 * mention at most, the context line, then each cluster of runs (the
 * largest first) under its shared error, a line per run that opens it.
 * Runs beyond TEAMS_MAX_BYTES are counted in "+N more runs not listed". */
static char *teams_render_group(const struct group_item *items, size_t n,
				const struct render_opts *o)
{
	struct group_view g;
	size_t max_runs;
	char *out = NULL;
	cJSON *root;

	if (group_view_build(items, n, &g) != 0)
		return NULL;
	for (max_runs = n;; max_runs = max_runs * 3 / 4) {
		root = group_build(&g, items, max_runs, o);
		out = root ? cJSON_PrintUnformatted(root) : NULL;
		cJSON_Delete(root);
		if (out == NULL || strlen(out) <= TEAMS_MAX_BYTES || max_runs <= 1)
			break;
		free(out);
		out = NULL;
	}
	group_view_free(&g);
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
	.render_group = teams_render_group,
	.classify = teams_classify,
	.url_warning = teams_url_warning,
};
