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
 * The layout is head (banner, header, mention, caveats, facts, message,
 * counts), then failed steps while they fit the block and text budgets,
 * then "+N more failed steps", then the tail (child pipelines, button). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "render_int.h"
#include "text.h"

/* Slack's documented ceilings, published in the row's limits. */
#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION 3000
#define SLACK_MAX_HEADER 150
#define SLACK_TEXT_BUDGET 10000

#define ELLIPSIS "\xe2\x80\xa6"
#define PATH_CHARS 300     /* a step path as shown */
#define MESSAGE_CHARS 1200 /* an error message as shown */
#define FACT_CHARS 300     /* a fact value as shown */
#define CHILD_CHARS 120    /* a child pipeline name as shown */
#define FALLBACK_CHARS 3000
#define MORE_RESERVE 64 /* text reserved for the "+N more" line */

enum esc_mode {
	ESC_ENTITY, /* top-level text: & < > to entities */
	ESC_PLAIN   /* plain_text and rich_text: < > to look-alikes */
};

/* Output for one code point of s under mode: sets *out and *olen, and returns
 * its width in UTF-16 units. */
static size_t piece(const char *s, size_t n, enum esc_mode mode, const char **out, size_t *olen)
{
	*out = s;
	*olen = n;
	if (mode != ESC_PLAIN && (*s == '&' || *s == '<' || *s == '>')) {
		*out = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : "&gt;";
		*olen = strlen(*out);
		return *olen;
	}
	if (mode == ESC_PLAIN && (*s == '<' || *s == '>')) {
		*out = *s == '<' ? "\xe2\x80\xb9" : "\xe2\x80\xba";
		*olen = 3;
	}
	return n == 4 ? 2 : 1;
}

static size_t cp_bytes(const char *s)
{
	size_t n = 1;

	while (((unsigned char)s[n] & 0xc0) == 0x80)
		n++;
	return n;
}

/* Width of already-escaped text in UTF-16 units (what limits are checked
 * against). */
static size_t width(const char *s)
{
	size_t w = 0, n;

	for (; *s; s += n) {
		n = cp_bytes(s);
		w += n == 4 ? 2 : 1;
	}
	return w;
}

/* Sanitises raw, escapes it per mode and cuts it to max units, ending in
 * "…" when cut. Caller frees; NULL on ERR_NOMEM. */
static char *esc(const char *raw, size_t max, enum esc_mode mode)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, 1), *out = NULL;
	size_t total = 0, used = 0, o = 0, i, n, w, olen;
	const char *p;

	if (c == NULL)
		return NULL;
	for (i = 0; c[i]; i += n) {
		n = cp_bytes(c + i);
		total += piece(c + i, n, mode, &p, &olen);
	}
	out = malloc(strlen(c) * 5 + 4);
	if (out == NULL)
		goto done;
	for (i = 0; c[i]; i += n) {
		n = cp_bytes(c + i);
		w = piece(c + i, n, mode, &p, &olen);
		if (total > max && used + w > max - 1) {
			memcpy(out + o, ELLIPSIS, 3);
			o += 3;
			break;
		}
		memcpy(out + o, p, olen);
		o += olen;
		used += w;
	}
	out[o] = '\0';
done:
	free(c);
	return out;
}

/* Sum of the widths of every "text" string in a block: what Slack's
 * per-message text budget counts. */
static size_t block_text(const cJSON *item)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item) && item->string && strcmp(item->string, "text") == 0)
		return width(item->valuestring);
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

/* Escapes raw for a literal container, capped, and wraps it in
 * prefix/suffix (our own text). Caller frees; NULL on ERR_NOMEM. */
static char *wrap_esc(const char *prefix, const char *raw, size_t max, const char *suffix)
{
	char *e = esc(raw, max, ESC_PLAIN), *out;

	if (e == NULL)
		return NULL;
	out = text_concat3(prefix, e, suffix);
	free(e);
	return out;
}

/* A caveat (incomplete, degraded) as a plain_text context line. */
static void add_caveat(struct blocks *bl, const char *raw)
{
	char *t = wrap_esc("\xe2\x9a\xa0\xef\xb8\x8f ", raw, 500, "");

	add(bl, t ? context(t) : NULL);
	free(t);
}

static void add_header(struct blocks *bl, const struct summary *s)
{
	char *title = render_title(s), *full = NULL, *h = NULL;

	if (s->is_test)
		add(bl, block_with("section", "text",
				   mrkdwn("*\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by "
					  "dpc-notify send-test*")));
	if (title != NULL)
		full = text_concat3(render_status_emoji(s->status), " ", title);
	if (full != NULL)
		h = esc(full, SLACK_MAX_HEADER, ESC_PLAIN);
	add(bl, h ? block_with("header", "text", plain(h)) : NULL);
	free(title);
	free(full);
	free(h);
}

/* The mention is trusted Slack markup from the config: not escaped, and no
 * verbatim flag so that <!subteam^…> and <@U…> are parsed. */
static void add_mention(struct blocks *bl, const struct summary *s, const struct render_opts *o)
{
	cJSON *t;

	if (o == NULL || o->mention == NULL || *o->mention == '\0' || !status_is_problem(s->status))
		return;
	t = cJSON_CreateObject();
	if (t != NULL && (!cJSON_AddStringToObject(t, "type", "mrkdwn") ||
			  !cJSON_AddStringToObject(t, "text", o->mention))) {
		cJSON_Delete(t);
		t = NULL;
	}
	add(bl, block_with("section", "text", t));
}

/* The facts as plain_text section fields, "Label\nvalue" each: the label
 * cannot be bold there, but a value can never format. */
static void add_facts(struct blocks *bl, const struct summary *s)
{
	struct render_fact f[RENDER_MAX_FACTS];
	size_t n = render_facts(s, f, RENDER_MAX_FACTS), i;
	cJSON *fields = cJSON_CreateArray(), *t;
	char *v, *label;

	for (i = 0; fields != NULL && i < n; i++) {
		label = text_concat3(f[i].title, "\n", NULL);
		v = label ? wrap_esc(label, f[i].value, FACT_CHARS, "") : NULL;
		t = v ? plain(v) : NULL;
		free(label);
		free(v);
		if (t == NULL) {
			cJSON_Delete(fields);
			fields = NULL;
			break;
		}
		cJSON_AddItemToArray(fields, t);
	}
	add(bl, block_with("section", "fields", fields));
}

/* The execution message as a rich_text block, like a failed step's. */
static void add_message(struct blocks *bl, const struct summary *s)
{
	char *msg = esc(s->message, MESSAGE_CHARS, ESC_PLAIN);

	add(bl, msg ? rich_block("Message", NULL, msg) : NULL);
	free(msg);
}

static void add_head(struct blocks *bl, const struct summary *s, const struct render_opts *o)
{
	char line[256];

	add_header(bl, s);
	add_mention(bl, s, o);
	if (s->incomplete)
		add_caveat(bl, s->incomplete);
	if (s->degraded)
		add_caveat(bl, s->degraded);
	add_facts(bl, s);
	if (*s->message)
		add_message(bl, s);
	render_counts_line(s, line, sizeof(line));
	if (line[0] != '\0')
		add(bl, context(line));
}

/* One failed step as a rich_text block: "❌ " then the path in bold, then
 * " · FAILED · 3m 05s" (duration left out when unknown), then the message
 * preformatted. mrkdwn cannot bold a path holding '_' or '*' (it has no
 * escapes), while rich_text styles are structural and its text is literal,
 * so any name shows exactly as typed. */
static cJSON *step_block(const struct failed_step *f)
{
	char tail[128], dur[32], *path = esc(*f->path ? f->path : "?", PATH_CHARS, ESC_PLAIN);
	char *msg = esc(f->message, MESSAGE_CHARS, ESC_PLAIN), *status = NULL;
	cJSON *b = cJSON_CreateObject(), *parts = NULL, *els;
	int rc = -1;

	status = esc(render_status_word(f->status, f->status_text), 40, ESC_PLAIN);
	if (b != NULL && cJSON_AddStringToObject(b, "type", "rich_text"))
		parts = cJSON_AddArrayToObject(b, "elements");
	if (parts == NULL || path == NULL || msg == NULL || status == NULL)
		goto out;
	text_duration(f->duration_ms, dur, sizeof(dur));
	snprintf(tail, sizeof(tail), " \xc2\xb7 %s%s%s", status,
		 f->duration_ms >= 0 ? " \xc2\xb7 " : "", f->duration_ms >= 0 ? dur : "");
	els = rt_part(parts, "rich_text_section");
	if (rt_add(els, render_status_emoji(f->status), 0) || rt_add(els, " ", 0) ||
	    rt_add(els, path, 1) || rt_add(els, tail, 0))
		goto out;
	if (*msg && rt_add(rt_part(parts, "rich_text_preformatted"), msg, 0))
		goto out;
	rc = 0;
out:
	if (rc) {
		cJSON_Delete(b);
		b = NULL;
	}
	free(path);
	free(msg);
	free(status);
	return b;
}

/* The child list as a titled rich_text block: one "• name — STATUS" line
 * each, literal like the steps. */
static void add_children(struct blocks *bl, const struct summary *s)
{
	size_t i, shown = s->n_children < RENDER_MAX_CHILDREN_SHOWN ? s->n_children
								    : RENDER_MAX_CHILDREN_SHOWN;
	uint64_t more = s->n_children - shown + s->children_more;
	char buf[16384], *name;
	size_t len = 0;

	if (shown == 0 && more == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < shown; i++) {
		name = esc(*s->children[i].name ? s->children[i].name : "?", CHILD_CHARS,
			   ESC_PLAIN);
		if (name == NULL) {
			bl->oom = 1;
			return;
		}
		/* 20 lines of at most ~130 units (~400 bytes) fit buf. */
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"\n\xe2\x80\xa2 %s \xe2\x80\x94 %s", name,
					render_status_word(s->children[i].status, NULL));
		free(name);
	}
	if (more)
		snprintf(buf + len, sizeof(buf) - len, "\n+%llu more child pipelines",
			 (unsigned long long)more);
	add(bl, rich_block("Child pipelines", buf, NULL));
}

static void add_button(struct blocks *bl, const struct summary *s)
{
	cJSON *btn, *els;

	if (s->link == NULL || *s->execution_id == '\0' || strlen(s->link) > 3000)
		return;
	btn = block_with("button", "text", plain("Open run in Matillion"));
	els = cJSON_CreateArray();
	if (btn == NULL || els == NULL || !cJSON_AddStringToObject(btn, "url", s->link)) {
		cJSON_Delete(btn);
		cJSON_Delete(els);
		bl->oom = 1;
		return;
	}
	cJSON_AddItemToArray(els, btn);
	add(bl, block_with("actions", "elements", els));
}

/* Adds failed steps while they fit next to the tail, then the "+N more". */
static void add_steps(struct blocks *bl, const struct summary *s, const struct blocks *tail)
{
	uint64_t omitted;
	size_t i, w;
	char line[80];
	cJSON *b;

	for (i = 0; i < s->n_failed; i++) {
		b = step_block(&s->failed[i]);
		if (b == NULL) {
			bl->oom = 1;
			return;
		}
		w = block_text(b);
		if (bl->n + 1 + tail->n + 1 > SLACK_MAX_BLOCKS ||
		    bl->text + w + tail->text + MORE_RESERVE > SLACK_TEXT_BUDGET) {
			cJSON_Delete(b);
			break;
		}
		add(bl, b);
	}
	omitted = (uint64_t)(s->n_failed - i) + s->failed_more;
	if (omitted == 0)
		return;
	snprintf(line, sizeof(line), "+%llu more failed steps", (unsigned long long)omitted);
	add(bl, context(line));
}

/* Notification text (what push notifications show): a test marker for
 * send-test, title, counts and the first failure, with & < > as entities.
 * It is sent with "mrkdwn": false (see slack_render), so it never formats. */
static char *fallback(const struct summary *s)
{
	char *title = render_title(s), *raw = NULL, *out = NULL;
	char counts[256];
	const struct failed_step *f = s->n_failed ? &s->failed[0] : NULL;
	size_t len;

	if (title == NULL)
		return NULL;
	render_counts_line(s, counts, sizeof(counts));
	len = strlen(title) + strlen(counts) + (f ? strlen(f->path) + strlen(f->message) : 0) + 96;
	raw = malloc(len);
	if (raw != NULL) {
		snprintf(raw, len, "%s%s %s. %s%s%s%s%s",
			 s->is_test ? "\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 " : "",
			 render_status_emoji(s->status), title, counts,
			 f ? ". First failure: " : "", f ? f->path : "", f ? ": " : "",
			 f ? f->message : "");
		out = esc(raw, FALLBACK_CHARS, ESC_ENTITY);
	}
	free(title);
	free(raw);
	return out;
}

/* Incoming webhook body: Block Kit blocks plus the fallback "text", within
 * the limits above; overflow becomes "+N more failed steps". o->mention is
 * added only when the run is a problem. Caller frees; NULL on ERR_NOMEM. */
static char *slack_render(const struct summary *s, const struct render_opts *o)
{
	struct blocks head = { cJSON_CreateArray(), 0, 0, 0 };
	struct blocks tail = { cJSON_CreateArray(), 0, 0, 0 };
	cJSON *root = cJSON_CreateObject(), *b;
	char *text = fallback(s), *out = NULL;

	if (!root || !head.arr || !tail.arr || !text)
		goto out;
	add_head(&head, s, o);
	add_children(&tail, s);
	add_button(&tail, s);
	add_steps(&head, s, &tail);
	if (head.oom || tail.oom)
		goto out;
	while (cJSON_GetArraySize(tail.arr) > 0) {
		b = cJSON_DetachItemFromArray(tail.arr, 0);
		cJSON_AddItemToArray(head.arr, b);
	}
	cJSON_AddStringToObject(root, "text", text);
	cJSON_AddFalseToObject(root, "mrkdwn");
	cJSON_AddItemToObject(root, "blocks", head.arr);
	head.arr = NULL;
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	cJSON_Delete(head.arr);
	cJSON_Delete(tail.arr);
	free(text);
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
	.classify = slack_classify,
	.url_warning = NULL,
};
