/* Slack Block Kit rendering of a run summary. Pure: summary in, JSON out.
 *
 * Untrusted strings (names, environment, trigger, user, statuses, messages,
 * notes) only ever go into containers Slack shows literally: plain_text
 * objects (header, section fields, context elements) and rich_text "text"
 * elements (message, failed steps, child list). mrkdwn has no escape for
 * * _ ~ ` and verbatim=true only stops auto-linking, so mrkdwn objects hold
 * our own fixed text and the configured mention, nothing else. One escape
 * (ESC_PLAIN) serves every literal container: '<' and '>' become the
 * look-alikes U+2039/U+203A so no <!channel>, <@U…> or <url|x> can form even
 * where Slack decodes entities. Text is sanitised first and cut to a length
 * counted in UTF-16 units, the stricter of the ways Slack may count.
 * The top-level "text" (notifications, clients without blocks) is sent with
 * "mrkdwn": false, so nothing in it formats, and with & < > as entities,
 * which Slack's message format requires; so it cannot form links or
 * mentions either.
 * What the message says is decided by the view (view.c); the layout is the
 * header (the triage line), the mention, the context line, run memory's
 * line and the notes, then the errors (at most VIEW_MAX_ERRORS) and
 * "+N more problem steps", the run's message, the child pipelines, and
 * the buttons. Every part is bounded, so the block and text limits hold. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "render_int.h"
#include "text.h"

#define DOT " \xc2\xb7 "   /* " · " */
#define PATH_CHARS 300     /* a step path as shown */
#define MESSAGE_CHARS 1200 /* an excerpt as shown (VIEW_EXCERPT_CHARS plus gap lines) */
#define CHILD_CHARS 120    /* a child pipeline name as shown */
#define FALLBACK_CHARS 600

enum esc_mode {
	ESC_ENTITY, /* top-level text: & < > to entities */
	ESC_PLAIN   /* plain_text and rich_text: < > to look-alikes */
};

/* One code point c (n bytes) under mode into buf: & < > as entities for
 * ESC_ENTITY, < > as the look-alikes U+2039/U+203A for ESC_PLAIN. Returns
 * its length; *w its width in UTF-16 units (an entity counts its
 * characters, as Slack does). */
static size_t piece(const char *c, size_t n, int mode, char *buf, size_t *w)
{
	const char *out = c;
	size_t len = n;

	*w = n == 4 ? 2 : 1;
	if (mode != ESC_PLAIN && (*c == '&' || *c == '<' || *c == '>')) {
		out = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : "&gt;";
		len = strlen(out);
		*w = len;
	} else if (mode == ESC_PLAIN && (*c == '<' || *c == '>')) {
		out = *c == '<' ? "\xe2\x80\xb9" : "\xe2\x80\xba";
		len = 3;
	}
	memcpy(buf, out, len);
	return len;
}

/* Sanitises raw, escapes it per mode and cuts it to max units, ending in
 * "…" when cut. Caller frees; NULL on ERR_NOMEM. */
static char *esc(const char *raw, size_t max, enum esc_mode mode)
{
	return render_escape_cut(raw, max, 1, piece, (int)mode);
}

/* Sum of the widths of every "text" string in a block: what Slack's
 * per-message text budget counts. */
static size_t block_text(const cJSON *item)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item) && item->string && strcmp(item->string, "text") == 0)
		return render_utf16_width(item->valuestring);
	for (c = item ? item->child : NULL; c; c = c->next)
		n += block_text(c);
	return n;
}

/* A text object: type, a copy of text, and one boolean option. */
static cJSON *text_object(const char *type, const char *text, const char *option, int on)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL || !cJSON_AddStringToObject(o, "type", type) ||
	    !cJSON_AddStringToObject(o, "text", text) || !cJSON_AddBoolToObject(o, option, on)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* mrkdwn is only for our own fixed text (see the file comment). */
static cJSON *mrkdwn(const char *text)
{
	return text_object("mrkdwn", text, "verbatim", 1);
}

/* plain_text is never formatted, linked or parsed for mentions. emoji=false
 * also keeps a ":shortcode:" in a name as typed; Unicode emoji still show. */
static cJSON *plain(const char *text)
{
	return text_object("plain_text", text, "emoji", 0);
}

/* {"type":type, key: obj}; takes obj. */
static cJSON *block_with(const char *type, const char *key, cJSON *obj)
{
	cJSON *b = cJSON_CreateObject();

	if (b == NULL || obj == NULL || !cJSON_AddStringToObject(b, "type", type)) {
		cJSON_Delete(b);
		cJSON_Delete(obj);
		return NULL;
	}
	cJSON_AddItemToObject(b, key, obj);
	return b;
}

/* A context block of one plain_text element. */
static cJSON *context(const char *text)
{
	cJSON *els = cJSON_CreateArray(), *t = plain(text);

	if (els == NULL || t == NULL) {
		cJSON_Delete(els);
		cJSON_Delete(t);
		return NULL;
	}
	cJSON_AddItemToArray(els, t);
	return block_with("context", "elements", els);
}

/* A rich_text "text" element; its text is shown literally (no mrkdwn, no
 * links, no mentions), so text must only be made tag-free (ESC_PLAIN).
 * Takes nothing; NULL on ERR_NOMEM. */
static cJSON *rt_text(const char *text, int bold)
{
	cJSON *t = cJSON_CreateObject(), *style;

	if (t == NULL || !cJSON_AddStringToObject(t, "type", "text") ||
	    !cJSON_AddStringToObject(t, "text", text))
		goto fail;
	if (bold) {
		style = cJSON_AddObjectToObject(t, "style");
		if (style == NULL || !cJSON_AddTrueToObject(style, "bold"))
			goto fail;
	}
	return t;
fail:
	cJSON_Delete(t);
	return NULL;
}

/* {"type":type,"elements":[...]} for a rich_text part, or NULL. */
static cJSON *rt_part(cJSON *parts, const char *type)
{
	cJSON *p = cJSON_CreateObject();

	if (p == NULL || !cJSON_AddStringToObject(p, "type", type) ||
	    cJSON_AddArrayToObject(p, "elements") == NULL) {
		cJSON_Delete(p);
		return NULL;
	}
	cJSON_AddItemToArray(parts, p);
	return cJSON_GetObjectItem(p, "elements");
}

/* Appends rt_text(text) to els; returns 0, or -1 on ERR_NOMEM. */
static int rt_add(cJSON *els, const char *text, int bold)
{
	cJSON *t = els ? rt_text(text, bold) : NULL;

	if (t == NULL)
		return -1;
	cJSON_AddItemToArray(els, t);
	return 0;
}

/* A titled rich_text block: the fixed title in bold, then lines (escaped
 * text, may be NULL) on the same part, then pre (escaped, may be NULL) as a
 * preformatted part. Takes nothing; NULL on ERR_NOMEM. */
static cJSON *rich_block(const char *title, const char *lines, const char *pre)
{
	cJSON *b = cJSON_CreateObject(), *parts = NULL, *els;

	if (b != NULL && cJSON_AddStringToObject(b, "type", "rich_text"))
		parts = cJSON_AddArrayToObject(b, "elements");
	if (parts == NULL)
		goto fail;
	els = rt_part(parts, "rich_text_section");
	if (rt_add(els, title, 1) || (lines && *lines && rt_add(els, lines, 0)))
		goto fail;
	if (pre && *pre && rt_add(rt_part(parts, "rich_text_preformatted"), pre, 0))
		goto fail;
	return b;
fail:
	cJSON_Delete(b);
	return NULL;
}

/* Blocks under construction with their running totals. */
struct blocks {
	cJSON *arr;
	size_t n;    /* blocks */
	size_t text; /* units of text */
	int oom;     /* an allocation failed */
};

/* Appends b (taken); a NULL b records the allocation failure. */
static void add(struct blocks *bl, cJSON *b)
{
	if (b == NULL) {
		bl->oom = 1;
		return;
	}
	bl->text += block_text(b);
	bl->n++;
	cJSON_AddItemToArray(bl->arr, b);
}

/* A plain_text context line of raw text. */
static void add_note(struct blocks *bl, const char *raw)
{
	char *t;

	/* Slack refuses an empty text object. */
	if (raw == NULL || *raw == '\0')
		return;
	t = esc(raw, 500, ESC_PLAIN);
	add(bl, t ? context(t) : NULL);
	free(t);
}

/* The header: the triage line, cut to what a header holds. */
static void add_header(struct blocks *bl, const struct view *v)
{
	char *h = esc(v->headline, SLACK_MAX_HEADER, ESC_PLAIN);

	add(bl, h ? block_with("header", "text", plain(h)) : NULL);
	free(h);
}

/* The mention is trusted Slack markup from the config: not escaped, and no
 * verbatim flag so that <!subteam^…> and <@U…> are parsed. */
static void add_mention_text(struct blocks *bl, const char *mention)
{
	cJSON *t;

	if (mention == NULL || *mention == '\0')
		return;
	t = cJSON_CreateObject();
	if (t != NULL && (!cJSON_AddStringToObject(t, "type", "mrkdwn") ||
			  !cJSON_AddStringToObject(t, "text", mention))) {
		cJSON_Delete(t);
		t = NULL;
	}
	add(bl, block_with("section", "text", t));
}

static void add_mention(struct blocks *bl, const struct view *v, const struct render_opts *o)
{
	if (o != NULL && v->mention)
		add_mention_text(bl, o->mention);
}

/* Adds element e (taken) to the array els; NULL e or els marks oom. */
static void add_el(struct blocks *bl, cJSON *els, cJSON *e)
{
	if (els == NULL || e == NULL) {
		cJSON_Delete(e);
		bl->oom = 1;
		return;
	}
	cJSON_AddItemToArray(els, e);
}

/* The context line: who ran it (plain_text, untrusted), when, in the
 * reader's own time zone (Slack's <!date> tokens, our digits only, in
 * mrkdwn), how long, and the run's short id. */
static void add_context(struct blocks *bl, const struct summary *s, const struct view *v)
{
	cJSON *els = cJSON_CreateArray();
	char when[320], a[32], z[32], tail[96], *ctx;

	if (s->is_test)
		add_el(bl, els, plain("Test message sent by dpc-notify send-test"));
	if (*v->context) {
		ctx = esc(v->context, 300, ESC_PLAIN);
		add_el(bl, els, ctx ? plain(ctx) : NULL);
		free(ctx);
	}
	if (v->started_ms >= 0) {
		render_clock(v->started_ms, 1, a, sizeof(a));
		if (v->finished_ms >= v->started_ms) {
			render_clock(v->finished_ms, 0, z, sizeof(z));
			snprintf(when, sizeof(when),
				 "<!date^%lld^{date_short_pretty} {time}|%s>\xe2\x80\x93"
				 "<!date^%lld^{time}|%s UTC>",
				 (long long)(v->started_ms / 1000), a,
				 (long long)(v->finished_ms / 1000), z);
		} else {
			snprintf(when, sizeof(when),
				 "started <!date^%lld^{date_short_pretty} {time}|%s UTC>",
				 (long long)(v->started_ms / 1000), a);
		}
		add_el(bl, els, mrkdwn(when));
	}
	snprintf(tail, sizeof(tail), "%s%s%s%s", v->duration, *v->duration && *v->run_id ? DOT : "",
		 *v->run_id ? "run " : "", v->run_id);
	if (*tail) {
		ctx = esc(tail, 100, ESC_PLAIN);
		add_el(bl, els, ctx ? plain(ctx) : NULL);
		free(ctx);
	}
	if (cJSON_GetArraySize(els) == 0) {
		cJSON_Delete(els);
		return;
	}
	add(bl, block_with("context", "elements", els));
}

/* The notes a reader needs before the details: this completes an earlier
 * notice; the details are missing (why, in plain words); the summary is
 * incomplete. */
static void add_notes(struct blocks *bl, const struct summary *s, const struct view *v)
{
	if (v->follow)
		add_note(bl, v->follow);
	if (s->degraded)
		add_note(bl, s->degraded);
	if (s->incomplete)
		add_note(bl, s->incomplete);
}

/* One distinct error: where (bold), how many steps had it, then the
 * excerpt preformatted, which keeps its lines and indentation. mrkdwn
 * cannot bold a path holding '_' or '*' (it has no escapes), while
 * rich_text styles are structural and its text is literal. */
static cJSON *error_block(const struct view_error *e)
{
	char *where = esc(*e->where ? e->where : "?", PATH_CHARS, ESC_PLAIN);
	char *steps = e->steps ? esc(e->steps, 300, ESC_PLAIN) : NULL;
	char *msg = esc(e->excerpt, MESSAGE_CHARS, ESC_PLAIN), *tail = NULL;
	cJSON *b = cJSON_CreateObject(), *parts = NULL, *els;
	int rc = -1;

	if (b != NULL && cJSON_AddStringToObject(b, "type", "rich_text"))
		parts = cJSON_AddArrayToObject(b, "elements");
	if (parts == NULL || where == NULL || msg == NULL || (e->steps && steps == NULL))
		goto out;
	if (steps != NULL)
		tail = text_concat3("\n", where, NULL);
	else if (e->status == ST_CANCELLED)
		tail = strdup(DOT "cancelled");
	else
		tail = strdup("");
	els = rt_part(parts, "rich_text_section");
	if (tail == NULL || rt_add(els, steps ? steps : where, 1) ||
	    (*tail && rt_add(els, tail, 0)))
		goto out;
	if (*msg && rt_add(rt_part(parts, "rich_text_preformatted"), msg, 0))
		goto out;
	rc = 0;
out:
	if (rc) {
		cJSON_Delete(b);
		b = NULL;
	}
	free(where);
	free(steps);
	free(msg);
	free(tail);
	return b;
}

static void add_errors(struct blocks *bl, const struct view *v)
{
	char line[160];
	size_t i;

	for (i = 0; i < v->n_errors; i++)
		add(bl, error_block(&v->errors[i]));
	view_more_line(v->more_steps, v->more_errors, line, sizeof(line));
	if (line[0])
		add(bl, context(line));
}

/* The run-level message, when no step error explains the run. */
static void add_message(struct blocks *bl, const struct view *v)
{
	int cut;
	char *ex = v->message ? render_excerpt(v->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS,
					       &cut)
			      : NULL;
	char *msg = ex ? esc(ex, MESSAGE_CHARS, ESC_PLAIN) : NULL;

	if (v->message == NULL)
		return;
	add(bl, msg ? rich_block("Message", NULL, msg) : NULL);
	free(ex);
	free(msg);
}

/* Failed child pipelines the error's path does not name, one per line,
 * then one line counting the rest: "6 others succeeded". */
static void add_children(struct blocks *bl, const struct view *v)
{
	char buf[4096], line[200], *name;
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->n_children; i++) {
		name = esc(*v->children[i]->name ? v->children[i]->name : "?", CHILD_CHARS,
			   ESC_PLAIN);
		if (name == NULL) {
			bl->oom = 1;
			return;
		}
		/* 8 lines of at most ~130 units (~400 bytes) fit buf. */
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"\n\xe2\x80\xa2 %s \xe2\x80\x94 %s", name,
					render_status_word(v->children[i]->status, NULL));
		free(name);
	}
	if (v->children_more)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "\n+%llu more",
					(unsigned long long)v->children_more);
	if (v->n_children || v->children_more)
		add(bl, rich_block("Other failed child pipelines", buf, NULL));
	view_children_line(v, 0, line, sizeof(line));
	if (line[0])
		add(bl, context(line));
}

/* Up to two buttons: the failing child's own run first when there is one,
 * then the run itself. */
static void add_buttons(struct blocks *bl, const struct view *v)
{
	const char *urls[2] = { v->link, v->root_link };
	const char *names[2] = { v->root_link ? "Open failed child run" : "Open run in Matillion",
				 "Open whole run" };
	cJSON *els, *btn;
	size_t i;

	if (v->link == NULL || strlen(v->link) > 3000)
		return;
	els = cJSON_CreateArray();
	for (i = 0; i < 2 && els != NULL; i++) {
		if (urls[i] == NULL || strlen(urls[i]) > 3000)
			continue;
		btn = block_with("button", "text", plain(names[i]));
		if (btn == NULL || !cJSON_AddStringToObject(btn, "url", urls[i])) {
			cJSON_Delete(btn);
			bl->oom = 1;
			break;
		}
		cJSON_AddItemToArray(els, btn);
	}
	add(bl, block_with("actions", "elements", els));
}

/* Incoming webhook body: the triage line as notification "text" (sent with
 * "mrkdwn": false, & < > as entities, so it never formats or links) and
 * as the header; then the context line, notes, the errors, child
 * pipelines and buttons. o->mention is added for failures only. Every
 * part is bounded (VIEW_MAX_*), so the whole stays far inside Slack's
 * block and text limits; the totals are still checked. Caller frees;
 * NULL on ERR_NOMEM. */
static char *slack_render(const struct summary *s, const struct render_opts *o)
{
	struct blocks bl = { cJSON_CreateArray(), 0, 0, 0 };
	cJSON *root = cJSON_CreateObject();
	char *text = NULL, *out = NULL;
	struct view v;

	if (view_build(s, &v) != 0) {
		cJSON_Delete(root);
		cJSON_Delete(bl.arr);
		return NULL;
	}
	text = esc(v.headline, FALLBACK_CHARS, ESC_ENTITY);
	if (!root || !bl.arr || !text)
		goto out;
	add_header(&bl, &v);
	add_mention(&bl, &v, o);
	add_context(&bl, s, &v);
	if (v.history)
		add_note(&bl, v.history);
	add_notes(&bl, s, &v);
	if (!v.compact) {
		add_errors(&bl, &v);
		add_message(&bl, &v);
		add_children(&bl, &v);
	}
	add_buttons(&bl, &v);
	if (bl.oom || bl.n > SLACK_MAX_BLOCKS || bl.text > SLACK_TEXT_BUDGET)
		goto out;
	cJSON_AddStringToObject(root, "text", text);
	cJSON_AddFalseToObject(root, "mrkdwn");
	cJSON_AddItemToObject(root, "blocks", bl.arr);
	bl.arr = NULL;
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	cJSON_Delete(bl.arr);
	free(text);
	view_free(&v);
	return out;
}

/* ---- grouped messages ---- */

#define GROUP_RUN_CHARS 400 /* one run's line as shown */
#define GROUP_BLOCKS_MAX 40 /* cluster blocks, leaving room for the rest */

/* A rich_text link element to url with a fixed label. */
static cJSON *rt_link(const char *url, const char *label)
{
	cJSON *t = cJSON_CreateObject();

	if (t == NULL || !cJSON_AddStringToObject(t, "type", "link") ||
	    !cJSON_AddStringToObject(t, "url", url) || !cJSON_AddStringToObject(t, "text", label)) {
		cJSON_Delete(t);
		return NULL;
	}
	return t;
}

/* One run as a bullet: its line (with the error when its cluster has no
 * heading) and a link to the run. */
static int group_bullet(cJSON *list, const struct group_item *it, int with_env, int with_error)
{
	cJSON *els = rt_part(list, "rich_text_section"), *l;
	char *line = group_run_line(it, with_env, with_error),
	     *t = line ? esc(line, GROUP_RUN_CHARS, ESC_PLAIN) : NULL;
	int rc = -1;

	if (els != NULL && t != NULL && rt_add(els, t, 0) == 0) {
		rc = 0;
		if (*it->link && strlen(it->link) <= 3000) {
			l = rt_link(it->link, "open run");
			if (rt_add(els, DOT, 0) != 0 || l == NULL) {
				cJSON_Delete(l);
				rc = -1;
			} else {
				cJSON_AddItemToArray(els, l);
			}
		}
	}
	free(line);
	free(t);
	return rc;
}

/* Cluster k as one rich_text block: its heading in bold, then a bullet
 * list of at most *budget of its runs (taken from *budget). */
static cJSON *group_cluster_block(const struct group_view *g, size_t k,
				  const struct group_item *items, size_t *budget)
{
	const struct group_cluster *c = &g->clusters[k];
	cJSON *b = cJSON_CreateObject(), *parts = NULL, *list, *style;
	char head[640], *h = NULL;
	size_t i;

	if (b != NULL && cJSON_AddStringToObject(b, "type", "rich_text"))
		parts = cJSON_AddArrayToObject(b, "elements");
	if (parts == NULL)
		goto fail;
	group_cluster_line(g, k, items, head, sizeof(head));
	if (head[0]) {
		h = esc(head, GROUP_RUN_CHARS, ESC_PLAIN);
		if (h == NULL || rt_add(rt_part(parts, "rich_text_section"), h, 1))
			goto fail;
	}
	list = cJSON_CreateObject();
	if (list == NULL) /* rt_part()'s shape, with a style */
		goto fail;
	cJSON_AddItemToArray(parts, list);
	style = cJSON_AddArrayToObject(list, "elements");
	if (style == NULL || !cJSON_AddStringToObject(list, "type", "rich_text_list") ||
	    !cJSON_AddStringToObject(list, "style", "bullet"))
		goto fail;
	for (i = 0; i<c->n && * budget> 0; i++, (*budget)--)
		if (group_bullet(style, &items[g->order[c->start + i]], !g->one_env,
				 head[0] == '\0'))
			goto fail;
	free(h);
	return b;
fail:
	free(h);
	cJSON_Delete(b);
	return NULL;
}

/* The grouped body naming at most max_runs runs. NULL on ERR_NOMEM. */
static char *slack_group_body(const struct group_view *g, const struct group_item *items,
			      size_t max_runs, const struct render_opts *o, size_t *units)
{
	struct blocks bl = { cJSON_CreateArray(), 0, 0, 0 };
	cJSON *root = cJSON_CreateObject();
	char *text = esc(g->headline, FALLBACK_CHARS, ESC_ENTITY), *h, *out = NULL, more[96];
	size_t k, budget = max_runs;

	if (!root || !bl.arr || !text)
		goto out;
	h = esc(g->headline, SLACK_MAX_HEADER, ESC_PLAIN);
	add(&bl, h ? block_with("header", "text", plain(h)) : NULL);
	free(h);
	/* One mention for the whole message, the first run's that has one;
	 * the configured one is preferred when it is set. */
	add_mention_text(&bl, o && o->mention && *o->mention ? o->mention : g->mention);
	add_note(&bl, g->context);
	for (k = 0; k < g->n_clusters && budget > 0 && k < GROUP_BLOCKS_MAX; k++)
		add(&bl, group_cluster_block(g, k, items, &budget));
	if (budget == 0 || k < g->n_clusters) {
		snprintf(more, sizeof(more), "+%zu more run%s not listed",
			 g->n - (max_runs - budget), g->n - (max_runs - budget) == 1 ? "" : "s");
		if (max_runs - budget < g->n)
			add_note(&bl, more);
	}
	if (bl.oom)
		goto out;
	*units = bl.n > SLACK_MAX_BLOCKS ? SIZE_MAX : bl.text;
	cJSON_AddStringToObject(root, "text", text);
	cJSON_AddFalseToObject(root, "mrkdwn");
	cJSON_AddItemToObject(root, "blocks", bl.arr);
	bl.arr = NULL;
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	cJSON_Delete(bl.arr);
	free(text);
	return out;
}

/* A grouped message: the headline as notification text and header, one
 * mention at most, the context line, then each cluster of runs (the
 * largest first) with its shared error as heading and a bullet per run
 * linking to it. Runs that do not fit Slack's block and text limits are
 * counted in "+N more runs not listed". */
static char *slack_render_group(const struct group_item *items, size_t n,
				const struct render_opts *o)
{
	struct group_view g;
	size_t max_runs, units = 0;
	char *out = NULL;

	if (group_view_build(items, n, &g) != 0)
		return NULL;
	for (max_runs = n;; max_runs = max_runs * 3 / 4) {
		out = slack_group_body(&g, items, max_runs, o, &units);
		if (out == NULL || units <= SLACK_TEXT_BUDGET || max_runs <= 1)
			break;
		free(out);
		out = NULL;
	}
	group_view_free(&g);
	return out;
}

/* Slack answers 200 "ok" or a status with a bare error word; the status
 * alone decides. */
static int slack_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

const struct target target_slack = {
	.name = "slack",
	.default_rate = 1.0,
	.content_type = "application/json",
	.limits = {
		.max_blocks = SLACK_MAX_BLOCKS,
		.max_section = SLACK_MAX_SECTION,
		.max_header = SLACK_MAX_HEADER,
		.text_budget = SLACK_TEXT_BUDGET,
	},
	.render = slack_render,
	.render_group = slack_render_group,
	.classify = slack_classify,
	.url_warning = NULL,
};
