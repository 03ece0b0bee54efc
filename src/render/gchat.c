/* Google Chat rendering of a run summary for a space's incoming webhook: one
 * cardsV2 card with a text fallback, threaded per pipeline incident. Pure:
 * summary in, JSON out.
 *
 * Escaping. Card text (textParagraph, section headers) is read as a small
 * HTML subset, so every untrusted string there has & < > as entities and
 * cannot open a tag, a link or an entity of its own; newlines become <br>.
 * The top-level "text" is Chat's own markup (*bold*, _italic_, ~strike~,
 * `code`, <users/…> mentions, <url|label> links), which has no escape: in
 * it, untrusted text gets look-alike characters for < > & * _ ~ ` so no
 * marker, mention or link can form; the exact names are in the card. The
 * only live markup is the configured mention, put first in "text" on
 * problem runs (the view decides), since cards cannot mention anyone.
 *
 * Threading. Every message of one incident of one pipeline carries the
 * same thread.threadKey, made from the project, the environment, the
 * pipeline and the incident's start as run memory reports it (the same
 * for the first message, compact repeats and the recovery); a message
 * outside an incident threads by its run, so a degraded notice and its
 * follow-up share one. A still-running notice joins the thread of the
 * pipeline's incident open when it fired, else its run's (where the
 * run's outcome goes too unless it opens an incident). Chat only honours the key when the webhook URL asks
 * for replies: the row's url_query adds
 * messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD at post time
 * (deliver.c) unless the configured URL sets the option itself, so the
 * stored URL and payload stay as they are.
 *
 * Size. Google documents 32,000 bytes for a whole message, text and cards
 * together (developers.google.com/workspace/chat/create-messages, "The
 * maximum message size, including any text or cards, is 32,000 bytes").
 * When the body is larger, errors go from the last and are counted in
 * "+N more problem steps". */
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

#define GCHAT_MAX_BYTES 32000 /* whole body; published in the row's limits */

#define TEXT_CHARS 400     /* the fallback text */
#define TITLE_CHARS 400    /* the headline in the card */
#define LINE_CHARS 500     /* context, history, notes */
#define PATH_CHARS 300     /* a step path */
#define MESSAGE_CHARS 1200 /* an excerpt (VIEW_EXCERPT_CHARS plus gap lines) */
#define CHILD_CHARS 120
#define DOT " \xc2\xb7 " /* " · " */

/* ---- escaping ---- */

/* Sanitised and cut to max code points; newlines kept when lines. Caller
 * frees; NULL on ERR_NOMEM. */
static char *cut(const char *raw, size_t max, int lines)
{
	char *c = text_sanitize(raw ? raw : "", raw ? strlen(raw) : 0, lines);
	char *t = c ? text_truncate(c, max) : NULL;

	free(c);
	return t;
}

/* What one byte of card text becomes: an entity, a break, or itself. A
 * space at the start of a line becomes a no-break space, so an excerpt
 * keeps its indentation where HTML collapses blanks. */
static const char *html_piece(char ch, int lead)
{
	switch (ch) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '\n': return "<br>";
	case ' ': return lead ? "\xc2\xa0" : NULL;
	default: return NULL;
	}
}

/* Untrusted raw text for card text: cut to max code points, then & < >
 * as entities, newlines as <br>. Caller frees; NULL on ERR_NOMEM. */
static char *html(const char *raw, size_t max)
{
	char *t = cut(raw, max, 1), *out = NULL;
	const char *p;
	size_t i, o = 0;
	int lead = 1;

	if (t != NULL)
		out = malloc(strlen(t) * 5 + 1);
	if (out == NULL)
		goto done;
	for (i = 0; t[i]; i++) {
		p = html_piece(t[i], lead);
		lead = t[i] == '\n' || (lead && t[i] == ' ');
		if (p == NULL) {
			out[o++] = t[i];
			continue;
		}
		memcpy(out + o, p, strlen(p));
		o += strlen(p);
	}
	out[o] = '\0';
done:
	free(t);
	return out;
}

/* Look-alikes for the characters Chat's text markup is made of. */
static const char *plain_piece(char ch)
{
	switch (ch) {
	case '<': return "\xe2\x80\xb9"; /* U+2039 */
	case '>': return "\xe2\x80\xba"; /* U+203A */
	case '&': return "\xef\xbc\x86"; /* U+FF06 fullwidth ampersand */
	case '*': return "\xe2\x88\x97"; /* U+2217 asterisk operator */
	case '_': return "\xcb\x8d";     /* U+02CD modifier letter low macron */
	case '~': return "\xe2\x88\xbc"; /* U+223C tilde operator */
	case '`': return "\xcb\x8b";     /* U+02CB modifier letter grave accent */
	default: return NULL;
	}
}

/* Untrusted raw text for the top-level "text": one line, cut to max code
 * points, with no character Chat's markup uses. Caller frees; NULL on
 * ERR_NOMEM. */
static char *plain(const char *raw, size_t max)
{
	char *t = cut(raw, max, 0), *out = NULL;
	const char *p;
	size_t i, o = 0;

	if (t != NULL)
		out = malloc(strlen(t) * 3 + 1);
	if (out == NULL)
		goto done;
	for (i = 0; t[i]; i++) {
		p = plain_piece(t[i]);
		if (p == NULL) {
			out[o++] = t[i];
			continue;
		}
		memcpy(out + o, p, strlen(p));
		o += strlen(p);
	}
	out[o] = '\0';
done:
	free(t);
	return out;
}

/* ---- the thread ---- */

/* The start of the incident this message belongs to, or -1 outside one.
 * Run memory reports it as incident_since_ms for every message of an
 * incident; a decision stored before it did so has it for the recovery
 * only, and the streak's start (the same time) for the problems. */
static int64_t incident_start(const struct summary *s)
{
	const struct run_context *m = &s->memory;

	if (!m->known || (!status_is_problem(s->status) && m->form != FORM_RECOVERY &&
			  m->form != FORM_LONG_RUNNING))
		return -1;
	return m->incident_since_ms >= 0 ? m->incident_since_ms : m->streak_since_ms;
}

/* The thread key: "dpc-notify-" and 32 hex digits of a SHA-256 over the
 * pipeline's identity and the incident's start (or the run outside an
 * incident). Fields are NUL-separated, so no two identities meet. Fixed
 * length and free of the names, which may be long or odd. out holds 64
 * bytes. Returns 0 or ERR_NOMEM. */
static int thread_key(const struct summary *s, char *out, size_t outlen)
{
	const char *parts[4] = { s->project_id, s->environment, s->pipeline_name, NULL };
	char start[32];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int64_t since = incident_start(s);
	int ok;

	if (since >= 0) {
		snprintf(start, sizeof(start), "%lld", (long long)since);
		parts[3] = start;
	} else {
		parts[3] = s->execution_id;
	}
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;
	for (i = 0; ok && i < 4; i++)
		ok = EVP_DigestUpdate(ctx, parts[i] ? parts[i] : "",
				      strlen(parts[i] ? parts[i] : "") + 1) == 1;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return ERR_NOMEM;
	snprintf(out, outlen, "dpc-notify-");
	for (i = 0; i < 16; i++)
		snprintf(out + 11 + 2 * i, outlen - 11 - 2 * i, "%02x", md[i]);
	return 0;
}

/* ---- the card ---- */

/* Card under construction. */
struct card {
	cJSON *sections; /* borrowed from the tree */
	cJSON *widgets;  /* of the current section */
	int oom;
};

/* Starts a section with a fixed header (NULL: none). */
static void section(struct card *c, const char *header)
{
	cJSON *sec = cJSON_CreateObject();

	if (sec == NULL || (header && !cJSON_AddStringToObject(sec, "header", header)) ||
	    (c->widgets = cJSON_AddArrayToObject(sec, "widgets")) == NULL) {
		cJSON_Delete(sec);
		c->widgets = NULL;
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(c->sections, sec);
}

/* Adds a textParagraph of card text (already escaped, or our own). */
static void paragraph(struct card *c, const char *text)
{
	cJSON *w = cJSON_CreateObject(),
	      *tp = w ? cJSON_AddObjectToObject(w, "textParagraph") : NULL;

	if (text == NULL || c->widgets == NULL || tp == NULL ||
	    !cJSON_AddStringToObject(tp, "text", text)) {
		cJSON_Delete(w);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(c->widgets, w);
}

/* paragraph() taking ownership of text, optionally wrapped in a tag
 * ("b", "i"). */
static void paragraph_own(struct card *c, char *text, const char *tag)
{
	char open[8], close[8], *t = NULL;

	if (text != NULL && tag != NULL) {
		snprintf(open, sizeof(open), "<%s>", tag);
		snprintf(close, sizeof(close), "</%s>", tag);
		t = text_concat3(open, text, close);
	}
	paragraph(c, t ? t : tag ? NULL : text);
	free(t);
	free(text);
}

/* Raw untrusted text as one paragraph; nothing when empty. */
static void note(struct card *c, const char *raw, size_t max, const char *tag)
{
	if (raw != NULL && *raw != '\0')
		paragraph_own(c, html(raw, max), tag);
}

/* The context line: who ran it (untrusted), when in UTC, how long, the
 * run's short id. */
static void add_context(struct card *c, const struct summary *s, const struct view *v)
{
	char a[32], z[32], line[640];
	size_t n = 0;

	line[0] = '\0';
	if (s->is_test)
		n = (size_t)snprintf(line, sizeof(line),
				     "Test message sent by dpc-notify send-test" DOT);
	if (*v->context)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s" DOT, v->context);
	if (v->started_ms >= 0 && n < sizeof(line)) {
		render_clock(v->started_ms, 1, a, sizeof(a));
		render_clock(v->finished_ms, 0, z, sizeof(z));
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      v->finished_ms >= v->started_ms ? "%s\xe2\x80\x93%s UTC" DOT
								      : "started %s UTC" DOT,
				      a, z);
	}
	if (*v->duration && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s" DOT, v->duration);
	if (*v->run_id && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "run %s", v->run_id);
	else if (n >= strlen(DOT) && n < sizeof(line))
		line[n - strlen(DOT)] = '\0';
	note(c, line, LINE_CHARS, NULL);
}

/* One distinct error: where (bold; or how many steps had it, then where),
 * then the excerpt. */
static void add_error(struct card *c, const struct view_error *e)
{
	char *head = html(e->steps ? e->steps : *e->where ? e->where : "?", PATH_CHARS);
	char *where = e->steps ? html(e->where, PATH_CHARS) : NULL, *t = NULL;

	if (head != NULL && (!e->steps || where != NULL))
		t = e->steps ? text_concat3("<b>", head, "</b><br>")
			     : text_concat3("<b>", head,
					    e->status == ST_CANCELLED ? "</b>" DOT "cancelled"
								      : "</b>");
	if (t != NULL && where != NULL) {
		free(head);
		head = t;
		t = text_concat3(head, where, NULL);
	}
	paragraph_own(c, t, NULL);
	if (*e->excerpt)
		paragraph_own(c, html(e->excerpt, MESSAGE_CHARS), NULL);
	free(head);
	free(where);
}

static void add_errors(struct card *c, const struct view *v, size_t k)
{
	uint64_t steps = v->more_steps, errors = v->more_errors;
	char line[160];
	size_t i;

	if (v->n_errors == 0 && v->more_steps == 0)
		return;
	section(c, v->n_errors > 1 ? "Errors" : "Error");
	for (i = 0; i < v->n_errors && i < k; i++)
		add_error(c, &v->errors[i]);
	/* Errors left out to fit the size limit are counted too. */
	for (; i < v->n_errors; i++) {
		steps += v->errors[i].count;
		errors++;
	}
	view_more_line(steps, errors, line, sizeof(line));
	if (line[0])
		note(c, line, LINE_CHARS, "i");
}

/* The run-level message, when no step error explains the run. */
static void add_message(struct card *c, const struct view *v)
{
	int was_cut;
	char *ex;

	if (v->message == NULL)
		return;
	section(c, "Message");
	ex = render_excerpt(v->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS, &was_cut);
	if (ex == NULL)
		c->oom = 1;
	else
		note(c, ex, MESSAGE_CHARS, NULL);
	free(ex);
}

/* Failed child pipelines off the error's path, one line each, then the
 * others counted. */
static void add_children(struct card *c, const struct view *v)
{
	char buf[4096], line[200], *name;
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < v->n_children; i++) {
		name = html(*v->children[i]->name ? v->children[i]->name : "?", CHILD_CHARS);
		if (name == NULL) {
			c->oom = 1;
			return;
		}
		/* 8 lines of at most ~120 code points, entities included
		 * (~2.5 KB at worst), fit buf. */
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"%s\xe2\x80\xa2 %s \xe2\x80\x94 %s", i ? "<br>" : "", name,
					render_status_word(v->children[i]->status, NULL));
		free(name);
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
	}
	if (v->children_more && len < sizeof(buf))
		snprintf(buf + len, sizeof(buf) - len, "%s+%llu more", len ? "<br>" : "",
			 (unsigned long long)v->children_more);
	view_children_line(v, 0, line, sizeof(line));
	if (buf[0] == '\0' && line[0] == '\0')
		return;
	section(c, buf[0] ? "Other failed child pipelines" : NULL);
	if (buf[0])
		paragraph(c, buf);
	if (line[0])
		note(c, line, LINE_CHARS, "i");
}

/* A button that opens url. */
static cJSON *button(const char *label, const char *url)
{
	cJSON *b = cJSON_CreateObject(), *on, *open;

	on = b ? cJSON_AddObjectToObject(b, "onClick") : NULL;
	open = on ? cJSON_AddObjectToObject(on, "openLink") : NULL;
	if (!cJSON_AddStringToObject(b, "text", label) || open == NULL ||
	    !cJSON_AddStringToObject(open, "url", url)) {
		cJSON_Delete(b);
		return NULL;
	}
	return b;
}

/* Up to two buttons: the failing child's own run first when there is one,
 * then the run itself. */
static void add_buttons(struct card *c, const struct view *v)
{
	const char *urls[2] = { v->link, v->root_link };
	const char *names[2] = { v->root_link ? "Open failed child run" : "Open run in Matillion",
				 "Open whole run" };
	cJSON *w, *list, *arr, *b;
	size_t i;

	if (v->link == NULL)
		return;
	section(c, NULL);
	w = cJSON_CreateObject();
	list = w ? cJSON_AddObjectToObject(w, "buttonList") : NULL;
	arr = list ? cJSON_AddArrayToObject(list, "buttons") : NULL;
	if (arr == NULL || c->widgets == NULL) {
		cJSON_Delete(w);
		c->oom = 1;
		return;
	}
	cJSON_AddItemToArray(c->widgets, w);
	for (i = 0; i < 2; i++) {
		if (urls[i] == NULL)
			continue;
		b = button(names[i], urls[i]);
		if (b == NULL)
			c->oom = 1;
		else
			cJSON_AddItemToArray(arr, b);
	}
}

/* The top-level text: the configured mention (trusted Chat markup, on
 * problem runs only) then the headline with no live markup. */
static char *fallback_text(const struct view *v, const struct render_opts *o)
{
	char *h = plain(v->headline, TEXT_CHARS), *t;

	if (h == NULL || o == NULL || !v->mention || o->mention == NULL || *o->mention == '\0')
		return h;
	t = text_concat3(o->mention, " ", h);
	free(h);
	return t;
}

/* The whole body with the first k errors; NULL on ERR_NOMEM. */
static cJSON *build(const struct summary *s, const struct view *v, const struct render_opts *o,
		    size_t k)
{
	struct card c = { NULL, NULL, 0 };
	cJSON *root = cJSON_CreateObject(), *thread, *cards, *cw = NULL, *card = NULL;
	char key[64], *text = fallback_text(v, o);

	if (root == NULL || text == NULL || thread_key(s, key, sizeof(key)) != 0 ||
	    !cJSON_AddStringToObject(root, "text", text))
		goto fail;
	thread = cJSON_AddObjectToObject(root, "thread");
	cards = cJSON_AddArrayToObject(root, "cardsV2");
	if (cards != NULL)
		cw = cJSON_CreateObject();
	if (cw != NULL)
		cJSON_AddItemToArray(cards, cw);
	if (thread == NULL || !cJSON_AddStringToObject(thread, "threadKey", key) || cw == NULL ||
	    !cJSON_AddStringToObject(cw, "cardId", "dpc-notify-run") ||
	    (card = cJSON_AddObjectToObject(cw, "card")) == NULL ||
	    (c.sections = cJSON_AddArrayToObject(card, "sections")) == NULL)
		goto fail;
	section(&c, NULL);
	note(&c, v->headline, TITLE_CHARS, "b");
	add_context(&c, s, v);
	note(&c, v->history, LINE_CHARS, NULL);
	note(&c, v->follow, LINE_CHARS, "i");
	note(&c, s->degraded, LINE_CHARS, "i");
	note(&c, s->incomplete, LINE_CHARS, "i");
	if (!v->compact) {
		add_errors(&c, v, k);
		add_message(&c, v);
		add_children(&c, v);
	}
	add_buttons(&c, v);
	if (c.oom)
		goto fail;
	free(text);
	return root;
fail:
	free(text);
	cJSON_Delete(root);
	return NULL;
}

/* Space webhook body: {"text":…,"thread":{"threadKey":…},"cardsV2":[…]}
 * under GCHAT_MAX_BYTES, errors dropped from the last when it does not
 * fit. Caller frees; NULL on ERR_NOMEM. */
static char *gchat_render(const struct summary *s, const struct render_opts *o)
{
	struct view v;
	cJSON *root;
	char *out = NULL;
	size_t k;

	if (view_build(s, &v) != 0)
		return NULL;
	for (k = v.n_errors;; k--) {
		root = build(s, &v, o, k);
		out = root ? cJSON_PrintUnformatted(root) : NULL;
		cJSON_Delete(root);
		if (out == NULL || strlen(out) <= GCHAT_MAX_BYTES || k == 0)
			break;
		free(out);
		out = NULL;
	}
	view_free(&v);
	return out;
}

/* Chat answers 200 with the created message, or an error status with a
 * JSON error (429 RESOURCE_EXHAUSTED, 400 INVALID_ARGUMENT); the status
 * alone decides. */
static int gchat_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

/* 1 when the query of url has name=value (value NULL: any non-empty). */
static int has_param(const char *url, const char *name, const char *value)
{
	const char *q = strchr(url, '?'), *p;
	size_t n = strlen(name), vl;

	for (p = q; p != NULL; p = strchr(p + 1, '&')) {
		if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=')
			continue;
		vl = strcspn(p + 2 + n, "&#");
		if (value == NULL ? vl > 0
				  : vl == strlen(value) && strncmp(p + 2 + n, value, vl) == 0)
			return 1;
	}
	return 0;
}

/* A space webhook is https://chat.googleapis.com/v1/spaces/SPACE/messages
 * ?key=…&token=…; a messageReplyOption of its own that is not
 * REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD gets a warning (threads may fail). */
static const char *gchat_url_warning(const char *url)
{
	const char *h = strstr(url, "://"), *path;

	if (h == NULL)
		return NULL;
	h += 3;
	path = h + strcspn(h, "/?#");
	if ((size_t)(path - h) != 19 || strncasecmp(h, "chat.googleapis.com", 19) != 0 ||
	    strncmp(path, "/v1/spaces/", 11) != 0 || path[11] == '/' || path[11] == '?' ||
	    strstr(path, "/messages?") == NULL || !has_param(url, "key", NULL) ||
	    !has_param(url, "token", NULL))
		return "not a Google Chat space webhook URL "
		       "(https://chat.googleapis.com/v1/spaces/SPACE/messages?key=…&token=…)";
	if (has_param(url, "messageReplyOption", NULL) &&
	    !has_param(url, "messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"))
		return "messageReplyOption other than REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD in the url:"
		       " a reply to a thread that is gone may fail (leave it out, dpc-notify adds it)";
	return NULL;
}

const struct target target_gchat = {
	.name = "googlechat",
	/* Chat allows 60 message writes a minute per space, shared by every
	 * app and webhook posting there (developers.google.com/workspace/
	 * chat/limits, per-space quotas): one a second. */
	.default_rate = 1.0,
	.content_type = "application/json; charset=UTF-8",
	.limits = { .max_bytes = GCHAT_MAX_BYTES },
	.render = gchat_render,
	.render_group = NULL,
	.classify = gchat_classify,
	.url_warning = gchat_url_warning,
	.url_query = "messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
};
