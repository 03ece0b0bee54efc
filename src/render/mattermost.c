/* Mattermost incoming webhook rendering of a run summary: one
 * Slack-compatible attachment (colour, title linking to the run, Markdown
 * text, short fields) and the configured mention as the post's text. Pure:
 * summary in, JSON out.
 *
 * Escaping. Mattermost renders attachment titles, text and field values
 * as Markdown (CommonMark, which takes a backslash before ASCII
 * punctuation as "this character literally" and hides it), and its server
 * scans the post text and attachment text for @channel, @all, @here and
 * @username to notify people. That scanner splits words at any character
 * that is not a letter, digit or one of . - _ : @, so a backslash before
 * '@' would still leave "@channel" as a word and notify the channel.
 * Untrusted text therefore gets a zero-width space (U+200B, no letter)
 * right after every '@': "@​channel" splits into "@" and "channel" and
 * notifies nobody, while the reader still sees "@channel". On top of that,
 * Markdown specials \ * _ ~ ` | < > # - [ ] ( ) ! get a backslash outside
 * code (no emphasis, ~channel link, heading, list, table, link or image
 * can form), and inside a code block a zero-width space follows each
 * backtick so no fence can close it. The notification line (fallback)
 * is plain text: only the '@' rule applies there.
 *
 * Size. Mattermost's documented default post limit is 16,383 characters
 * (docs.mattermost.com, "Product limits": message length; servers from
 * before 5.0 that never ran the optional migration keep 4,000). The post's
 * own text here is the mention alone, and the attachment text is kept with
 * every other string of the body within MM_TEXT_BUDGET (16,000 UTF-16
 * units, never fewer than characters), so the body stays below the
 * default whichever way a server counts it, with no setting to tune. When
 * it would not, errors go from the last and are counted in "+N more".
 *
 * What the message says is the view's (view.c). Storm grouping is not
 * implemented for Mattermost (render_group is NULL). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "render_int.h"
#include "text.h"

#define MM_TEXT_BUDGET 16000 /* all text of the body, below the 16,383 default */

#define ZWSP "\xe2\x80\x8b" /* U+200B zero-width space */
#define DOT " \xc2\xb7 "    /* " · " */
#define TITLE_CHARS 250
#define FALLBACK_CHARS 600
#define NOTE_CHARS 500
#define CONTEXT_CHARS 300
#define PATH_CHARS 300
#define MESSAGE_CHARS 1200
#define CHILD_CHARS 120

enum esc_mode {
	ESC_PLAIN, /* plain text: a zero-width space after '@' */
	ESC_MD,    /* Markdown: that, and a backslash before each special */
	ESC_CODE   /* in a code block: that, and a zero-width space after '`' */
};

/* Output of one code point c (n bytes) under mode into buf (8 bytes);
 * returns its length, *w its width in UTF-16 units. */
static size_t piece(const char *c, size_t n, int mode, char *buf, size_t *w)
{
	size_t o = 0;

	*w = n == 4 ? 2 : 1;
	if (mode == ESC_MD && n == 1 && *c != '@' && strchr("\\*_~`|<>#-[]()!", *c) != NULL) {
		buf[o++] = '\\';
		(*w)++;
	}
	memcpy(buf + o, c, n);
	o += n;
	if (*c == '@' || (mode == ESC_CODE && *c == '`')) {
		memcpy(buf + o, ZWSP, 3);
		o += 3;
		(*w)++;
	}
	return o;
}

/* Sanitises raw (newlines kept when lines), escapes it per mode and cuts
 * it to max UTF-16 units, ending in "…" when cut; an escape is never
 * split. Caller frees; NULL on ERR_NOMEM. */
static char *esc(const char *raw, size_t max, enum esc_mode mode, int lines)
{
	return render_escape_cut(raw, max, lines, piece, (int)mode);
}

/* Markdown text under construction. */
struct md {
	char *s;
	int oom;
};

/* Appends a, b and c (b, c may be NULL) to m. */
static void put3(struct md *m, const char *a, const char *b, const char *c)
{
	char *ab, *n;

	if (m->oom || a == NULL) {
		m->oom = 1;
		return;
	}
	ab = text_concat3(m->s, a, b);
	n = ab ? text_concat3(ab, c ? c : "", NULL) : NULL;
	free(ab);
	free(m->s);
	m->s = n;
	m->oom = n == NULL;
}

/* Appends escaped raw text cut to max, as a line of its own. */
static void put_line(struct md *m, const char *raw, size_t max)
{
	char *t = esc(raw, max, ESC_MD, 1);

	put3(m, *m->s ? "\n" : "", t, NULL);
	if (t == NULL)
		m->oom = 1;
	free(t);
}

/* Appends raw text as a code block. */
static void put_code(struct md *m, const char *raw, size_t max)
{
	char *t = esc(raw, max, ESC_CODE, 1);

	put3(m, "\n```\n", t, "\n```");
	if (t == NULL)
		m->oom = 1;
	free(t);
}

/* One error: the place in bold (or "300 steps failed …" in bold, then the
 * place), then its excerpt as a code block. */
static void put_error(struct md *m, const struct view_error *e)
{
	char *head = esc(e->steps ? e->steps : *e->where ? e->where : "?", PATH_CHARS, ESC_MD, 0);

	put3(m, "\n\n**", head, "**");
	if (head == NULL)
		m->oom = 1;
	free(head);
	if (e->steps)
		put_line(m, e->where, PATH_CHARS);
	else if (e->status == ST_CANCELLED)
		put3(m, DOT "cancelled", NULL, NULL);
	if (*e->excerpt)
		put_code(m, e->excerpt, MESSAGE_CHARS);
}

/* 1 when url can sit inside a Markdown link as it is. */
static int link_ok(const char *url)
{
	return url != NULL && strlen(url) <= 512 &&
	       (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) &&
	       strpbrk(url, " \t\n<>()[]\\\"") == NULL;
}

/* The attachment's Markdown text with the first k errors. */
static char *body_text(const struct summary *s, const struct view *v, size_t k)
{
	const char *why[] = { v->history, v->follow, s->degraded, s->incomplete };
	struct md m = { strdup(""), 0 };
	uint64_t steps = v->more_steps, errors = v->more_errors;
	char line[200], *name;
	size_t i;
	int cut;

	m.oom = m.s == NULL;
	if (s->is_test)
		put_line(&m, "Test message sent by dpc-notify send-test", 100);
	if (*v->context)
		put_line(&m, v->context, CONTEXT_CHARS);
	for (i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (why[i] != NULL && *why[i] != '\0')
			put_line(&m, why[i], NOTE_CHARS);
	for (i = 0; !v->compact && i < v->n_errors; i++) {
		if (i < k) {
			put_error(&m, &v->errors[i]);
			continue;
		}
		steps += v->errors[i].count;
		errors++;
	}
	view_more_line(steps, errors, line, sizeof(line));
	if (!v->compact && line[0])
		put3(&m, "\n\n", line, NULL);
	if (!v->compact && v->message != NULL) {
		put3(&m, "\n\n**Message**", NULL, NULL);
		name = render_excerpt(v->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS, &cut);
		if (name == NULL)
			m.oom = 1;
		else
			put_code(&m, name, MESSAGE_CHARS);
		free(name);
	}
	if (!v->compact && (v->n_children || v->children_more)) {
		put3(&m, "\n\n**Other failed child pipelines**", NULL, NULL);
		for (i = 0; i < v->n_children; i++) {
			name = esc(*v->children[i]->name ? v->children[i]->name : "?", CHILD_CHARS,
				   ESC_MD, 0);
			put3(&m, "\n\xe2\x80\xa2 ", name, " \xe2\x80\x94 ");
			put3(&m, render_status_word(v->children[i]->status, NULL), NULL, NULL);
			if (name == NULL)
				m.oom = 1;
			free(name);
		}
		if (v->children_more) {
			snprintf(line, sizeof(line), "\n+%llu more",
				 (unsigned long long)v->children_more);
			put3(&m, line, NULL, NULL);
		}
	}
	view_children_line(v, 0, line, sizeof(line));
	if (!v->compact && line[0])
		put3(&m, "\n", line, NULL);
	if (link_ok(v->link)) {
		put3(&m, "\n\n[", v->root_link ? "Open failed child run" : "Open run in Matillion",
		     "](");
		put3(&m, v->link, ")", NULL);
		if (link_ok(v->root_link))
			put3(&m, DOT "[Open whole run](", v->root_link, ")");
	}
	if (m.oom) {
		free(m.s);
		return NULL;
	}
	return m.s;
}

/* Adds {"short": true, "title": title, "value": value} (value taken). */
static int add_fact(cJSON *fields, const char *title, char *value)
{
	cJSON *f = cJSON_CreateObject();
	int rc = -1;

	if (f != NULL && value != NULL && cJSON_AddTrueToObject(f, "short") &&
	    cJSON_AddStringToObject(f, "title", title) &&
	    cJSON_AddStringToObject(f, "value", value)) {
		cJSON_AddItemToArray(fields, f);
		f = NULL;
		rc = 0;
	}
	cJSON_Delete(f);
	free(value);
	return rc;
}

/* Short fields: when it started (UTC), how long, the run's short id. */
static int add_facts(cJSON *att, const struct view *v)
{
	cJSON *fields = cJSON_AddArrayToObject(att, "fields");
	char a[32], z[32], when[80];
	int rc = fields == NULL;

	if (rc == 0 && v->started_ms >= 0) {
		render_clock(v->started_ms, 1, a, sizeof(a));
		render_clock(v->finished_ms, 0, z, sizeof(z));
		snprintf(when, sizeof(when),
			 v->finished_ms >= v->started_ms ? "%s\xe2\x80\x93%s UTC" : "%s UTC", a, z);
		rc |= add_fact(fields, "When", strdup(when));
	}
	if (rc == 0 && *v->duration)
		rc |= add_fact(fields, "Duration", strdup(v->duration));
	if (rc == 0 && *v->run_id)
		rc |= add_fact(fields, "Run", esc(v->run_id, 40, ESC_MD, 0));
	return rc;
}

static const char *colour(enum view_kind k)
{
	switch (k) {
	case VIEW_FAILED: return "#D93F0B";
	case VIEW_CANCELLED: return "#8C8C8C";
	case VIEW_SUCCESS: return "#2EA043";
	default: return "#DBAB09";
	}
}

/* Sum of the widths of every string in item: what the budget counts. */
static size_t all_text(const cJSON *item)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item))
		return render_utf16_width(item->valuestring);
	for (c = item ? item->child : NULL; c; c = c->next)
		n += all_text(c);
	return n;
}

/* The body with the first k errors; *units gets its text's width. */
static char *print(const struct summary *s, const struct view *v, const struct render_opts *o,
		   size_t k, size_t *units)
{
	cJSON *root = cJSON_CreateObject(), *atts, *att = NULL;
	char *fallback = esc(v->headline, FALLBACK_CHARS, ESC_PLAIN, 0);
	char *title = esc(v->headline, TITLE_CHARS, ESC_MD, 0), *text = body_text(s, v, k);
	char *out = NULL;
	const char *mention = o != NULL && v->mention ? o->mention : NULL;

	atts = root ? cJSON_AddArrayToObject(root, "attachments") : NULL;
	if (atts != NULL && (att = cJSON_CreateObject()) != NULL)
		cJSON_AddItemToArray(atts, att);
	if (att == NULL || fallback == NULL || title == NULL || text == NULL)
		goto out;
	/* The mention is trusted markup from the config (@user, @channel). */
	if (mention != NULL && *mention != '\0' && !cJSON_AddStringToObject(root, "text", mention))
		goto out;
	if (!cJSON_AddStringToObject(att, "fallback", fallback) ||
	    !cJSON_AddStringToObject(att, "color", colour(v->kind)) ||
	    !cJSON_AddStringToObject(att, "title", title) ||
	    (link_ok(v->link) && !cJSON_AddStringToObject(att, "title_link", v->link)) ||
	    !cJSON_AddStringToObject(att, "text", text) || add_facts(att, v) != 0)
		goto out;
	*units = all_text(root);
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	free(fallback);
	free(title);
	free(text);
	return out;
}

/* Incoming webhook body: {"text": mention, "attachments": [{fallback,
 * color, title, title_link, text, fields}]}, within MM_TEXT_BUDGET (errors
 * go from the last when it would not fit). Caller frees; NULL on
 * ERR_NOMEM. */
static char *mattermost_render(const struct summary *s, const struct render_opts *o)
{
	struct view v;
	size_t units = 0, k;
	char *out = NULL;

	if (view_build(s, &v) != 0)
		return NULL;
	for (k = v.n_errors;; k--) {
		out = print(s, &v, o, k, &units);
		if (out == NULL || units <= MM_TEXT_BUDGET || k == 0)
			break;
		free(out);
		out = NULL;
	}
	view_free(&v);
	return out;
}

/* Mattermost answers 200 "ok"; 400 with a JSON error for a body it
 * refuses, 403 for a disabled hook, 429 when its rate limiting is on, 5xx
 * when down: the status alone decides. */
static int mattermost_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

/* Servers are self-hosted, so only the path is known: /hooks/KEY. */
static const char *mattermost_url_warning(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? strchr(p + 3, '/') : NULL;
	if (p == NULL || strstr(p, "/hooks/") == NULL)
		return "not a Mattermost incoming webhook URL (https://HOST/hooks/KEY)";
	return NULL;
}

/* Mattermost's rate limiting is off by default; switched on, it allows 10
 * requests a second per client with a burst of 100 (docs.mattermost.com,
 * "Rate limiting configuration settings"). 2/s stays well inside that and
 * keeps a channel readable. */
const struct target target_mattermost = {
	.name = "mattermost",
	.default_rate = 2.0,
	.content_type = "application/json",
	.limits = { .text_budget = MM_TEXT_BUDGET },
	.render = mattermost_render,
	.render_group = NULL,
	.classify = mattermost_classify,
	.url_warning = mattermost_url_warning,
};
