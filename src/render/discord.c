/* Discord incoming webhook rendering of a run summary: one embed, the
 * configured mention in "content", and allowed_mentions. Pure: summary in,
 * JSON out. The row also reads Discord's replies (the JSON retry_after of
 * a 429, the ids of the message ?wait=true returns and of its channel).
 * The stored body also names the run's incident (our "dpc_thread"
 * member, removed at post time), and discord.h's functions make what an
 * incident posts and edits (see src/delivery/dthread.c).
 *
 * Escaping. Discord formats embed titles, descriptions and field values as
 * its Markdown and shows <@id>, <@&id>, <#id>, <t:…> and @everyone there.
 * Its Markdown takes a backslash before any ASCII punctuation as "this
 * character literally" and hides the backslash, so untrusted text outside
 * code gets one before each of \ * _ ~ ` | < > # - [ ] ( ) @ : no emphasis,
 * spoiler, quote, heading, list, masked link or mention can form, and the
 * reader sees the text as typed. Inside a code block (error excerpts, the
 * run's message) a backslash is shown, not read, and only a closing fence
 * can escape the block, so there a zero-width space follows each backtick
 * and no fence can form. allowed_mentions is sent with an empty "parse"
 * on every message, so even text that slipped through could not notify
 * anyone; only the ids of the configured mention are listed.
 *
 * Limits (Discord's "Embed Limits", discord.com/developers/docs/resources/
 * message#embed-object-embed-limits; "Execute Webhook" for content and
 * embeds): title 256, description 4096, field name 256, field value 1024,
 * 25 fields, 10 embeds, 6000 characters across all embeds of a message,
 * content 2000. Discord counts characters; lengths here are counted in
 * UTF-16 units, never fewer than characters. Every part is cut to its
 * limit; when the whole passes 6000, errors go from the last (then counted
 * in "+N more problem steps"), then the run's message and the child list.
 *
 * What the message says is the view's (view.c): title the triage line
 * (linking to the run), the description the context line, the times as
 * Discord timestamps (shown in each reader's own zone), run memory's line
 * and the notes; a field per error, then "+N more", the run's message, the
 * child pipelines, and the links. Storm grouping is not implemented for
 * Discord (render_group is NULL): every run gets its own message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "discord.h"
#include "errors.h"
#include "render_int.h"
#include "text.h"

#define DISCORD_MAX_TITLE 256
#define DISCORD_MAX_DESCRIPTION 4096
#define DISCORD_MAX_FIELD_NAME 256
#define DISCORD_MAX_FIELD_VALUE 1024
#define DISCORD_MAX_EMBEDS 10
#define DISCORD_TEXT_BUDGET 6000 /* across all embeds */
#define DISCORD_MAX_CONTENT 2000

#define ZWSP "\xe2\x80\x8b" /* U+200B zero-width space */
#define DOT " \xc2\xb7 "    /* " · " */
#define NOTE_CHARS 500
#define CONTEXT_CHARS 300
#define PATH_CHARS 300
#define CHILD_CHARS 100
#define MENTION_TOKENS 10               /* tokens of a configured mention looked at */
#define SNOWFLAKE_MAX DISCORD_ID_DIGITS /* digits of a Discord id */
#define REPLY_PARSE_MAX 65536           /* bytes of a reply body parsed */
#define RETRY_HINT_MAX 3600             /* seconds; the worker clamps further */

enum esc_mode {
	ESC_MD,  /* Markdown text: backslash before each special */
	ESC_CODE /* inside a code block: zero-width space after each backtick */
};

/* Output of one code point c (n bytes) under mode into buf (8 bytes);
 * returns its length, *w its width in UTF-16 units. */
static size_t piece(const char *c, size_t n, int mode, char *buf, size_t *w)
{
	size_t o = 0;

	*w = n == 4 ? 2 : 1;
	if (mode == ESC_MD && n == 1 && strchr("\\*_~`|<>#-[]()@", *c) != NULL) {
		buf[o++] = '\\';
		(*w)++;
	}
	memcpy(buf + o, c, n);
	o += n;
	if (mode == ESC_CODE && *c == '`') {
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

/* A code block of raw text within max units, fences included. Caller
 * frees; NULL on ERR_NOMEM. */
static char *code_block(const char *raw, size_t max)
{
	char *body = esc(raw, max > 8 ? max - 8 : 1, ESC_CODE, 1), *out;

	if (body == NULL)
		return NULL;
	out = text_concat3("```\n", body, "\n```");
	free(body);
	return out;
}

/* The embed under construction with its running count of characters. */
struct embed {
	cJSON *obj;
	cJSON *fields;
	size_t units; /* what the 6000 budget counts */
	int oom;
};

/* Sets key to text (taken; NULL records ERR_NOMEM) and counts it. */
static void put_text(struct embed *e, cJSON *obj, const char *key, char *text)
{
	if (text == NULL || obj == NULL || !cJSON_AddStringToObject(obj, key, text))
		e->oom = 1;
	else
		e->units += render_utf16_width(text);
	free(text);
}

/* Adds a field: name is our own fixed text or escaped, value escaped;
 * both taken and cut to Discord's limits. Empty values are left out. */
static void add_field(struct embed *e, char *name, char *value)
{
	cJSON *f;

	if (name == NULL || value == NULL) {
		e->oom = 1;
	} else if (*value != '\0' && *name != '\0' && cJSON_GetArraySize(e->fields) < 25) {
		f = cJSON_CreateObject();
		if (f == NULL) {
			e->oom = 1;
		} else {
			cJSON_AddItemToArray(e->fields, f);
			put_text(e, f, "name", name);
			put_text(e, f, "value", value);
			return;
		}
	}
	free(name);
	free(value);
}

/* Our own fixed text as a field name or value. */
static char *own(const char *text)
{
	return strdup(text);
}

/* Appends raw text (escaped, cut to max) and a newline to a description. */
static int desc_add(char **d, const char *raw, size_t max)
{
	char *t = esc(raw, max, ESC_MD, 1), *n;

	if (t == NULL)
		return -1;
	n = text_concat3(*d, **d ? "\n" : "", t);
	free(t);
	free(*d);
	*d = n;
	return n == NULL ? -1 : 0;
}

/* "<t:START:f> – <t:END:t> · 14m · run 1a2b3c4d": Discord timestamps show
 * in each reader's zone, our digits only; the run id is escaped like any
 * untrusted text. Caller frees; NULL on ERR_NOMEM. */
static char *when_line(const struct view *v)
{
	char line[160], *id = esc(v->run_id, 40, ESC_MD, 0), *out;
	size_t n = 0;

	if (id == NULL)
		return NULL;
	line[0] = '\0';
	if (v->started_ms >= 0) {
		if (v->finished_ms >= v->started_ms)
			n = (size_t)snprintf(line, sizeof(line),
					     "<t:%lld:f> \xe2\x80\x93 <t:%lld:t>",
					     (long long)(v->started_ms / 1000),
					     (long long)(v->finished_ms / 1000));
		else
			n = (size_t)snprintf(line, sizeof(line), "started <t:%lld:f>",
					     (long long)(v->started_ms / 1000));
	}
	if (*v->duration && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, "%s%s", n ? DOT : "", v->duration);
	out = text_concat3(line, *id && *line ? DOT "run " : *id ? "run " : "", id);
	free(id);
	return out;
}

/* The description: test note, context line, times, run memory's line,
 * notes. Each part is bounded, so the whole stays far below 4096. */
static char *description(const struct summary *s, const struct view *v)
{
	const char *why[] = { v->history, v->follow, s->degraded, s->incomplete };
	char *d = strdup(""), *when = when_line(v), *t;
	size_t i;
	int rc = d == NULL || when == NULL;

	if (rc == 0 && s->is_test)
		rc |= desc_add(&d, "Test message sent by dpc-notify send-test", 100);
	if (rc == 0 && *v->context)
		rc |= desc_add(&d, v->context, CONTEXT_CHARS);
	if (rc == 0 && *when) {
		t = text_concat3(d, *d ? "\n" : "", when);
		free(d);
		d = t;
		rc |= d == NULL;
	}
	free(when);
	for (i = 0; i < sizeof(why) / sizeof(why[0]) && rc == 0; i++)
		if (why[i] != NULL && *why[i] != '\0')
			rc |= desc_add(&d, why[i], NOTE_CHARS);
	if (rc != 0 || d == NULL) {
		free(d);
		return NULL;
	}
	if (render_utf16_width(d) > DISCORD_MAX_DESCRIPTION) {
		/* Cannot happen with the bounds above; cut rather than fail. */
		d[text_utf8_prefix(d, DISCORD_MAX_DESCRIPTION)] = '\0';
	}
	return d;
}

/* One error as a field: name the place (or "300 steps failed with the same
 * error"), value the place when the name is the count, then the excerpt
 * as a code block. */
static void add_error(struct embed *e, const struct view_error *er)
{
	char *name = esc(er->steps    ? er->steps
			 : *er->where ? er->where
				      : "?",
			 DISCORD_MAX_FIELD_NAME - 16, ESC_MD, 0);
	char *where = er->steps ? esc(er->where, PATH_CHARS, ESC_MD, 0) : strdup("");
	char *block = NULL, *value = NULL, *t;

	if (name != NULL && er->status == ST_CANCELLED) {
		t = text_concat3(name, DOT "cancelled", NULL);
		free(name);
		name = t;
	}
	if (where != NULL)
		block = *er->excerpt
				? code_block(er->excerpt, DISCORD_MAX_FIELD_VALUE -
								  render_utf16_width(where) - 1)
				: strdup("(no error text)");
	if (block != NULL)
		value = text_concat3(where, *where ? "\n" : "", block);
	add_field(e, name, value); /* takes both; a NULL records ERR_NOMEM */
	free(where);
	free(block);
}

/* The run-level message, when no step error explains the run. */
static void add_message(struct embed *e, const struct view *v)
{
	char *ex;
	int cut;

	if (v->message == NULL)
		return;
	ex = render_excerpt(v->message, VIEW_EXCERPT_LINES, VIEW_EXCERPT_CHARS, &cut);
	add_field(e, own("Message"), ex ? code_block(ex, DISCORD_MAX_FIELD_VALUE) : NULL);
	free(ex);
}

/* Failed child pipelines not on the error's path, one per line while they
 * fit a field value, the rest counted; then the other children counted. */
static void add_children(struct embed *e, const struct view *v)
{
	char buf[DISCORD_MAX_FIELD_VALUE * 4 + 64], line[200], *name;
	size_t i, len = 0, units = 0, w;
	uint64_t more = v->children_more;

	buf[0] = '\0';
	for (i = 0; i < v->n_children; i++) {
		name = esc(*v->children[i]->name ? v->children[i]->name : "?", CHILD_CHARS, ESC_MD,
			   0);
		if (name == NULL) {
			e->oom = 1;
			return;
		}
		w = render_utf16_width(name) + 16 +
		    strlen(render_status_word(v->children[i]->status, NULL));
		if (units + w > DISCORD_MAX_FIELD_VALUE - 40) {
			more += v->n_children - i;
			free(name);
			break;
		}
		len += (size_t)snprintf(buf + len, sizeof(buf) - len,
					"%s\xe2\x80\xa2 %s \xe2\x80\x94 %s", len ? "\n" : "", name,
					render_status_word(v->children[i]->status, NULL));
		units += w;
		free(name);
	}
	if (more)
		snprintf(buf + len, sizeof(buf) - len, "%s+%llu more", len ? "\n" : "",
			 (unsigned long long)more);
	if (buf[0])
		add_field(e, own("Other failed child pipelines"), own(buf));
	view_children_line(v, 0, line, sizeof(line));
	if (line[0])
		add_field(e, own("Child pipelines"), esc(line, DISCORD_MAX_FIELD_VALUE, ESC_MD, 0));
}

/* 1 when url can sit inside a Markdown link as it is: http(s), no blank,
 * no bracket or parenthesis, not too long. Run links are built from
 * checked ids, so this only guards the shape. */
static int link_ok(const char *url)
{
	return url != NULL && strlen(url) <= 512 &&
	       (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0) &&
	       strpbrk(url, " \t\n<>()[]\\\"") == NULL;
}

static void add_links(struct embed *e, const struct view *v)
{
	char buf[1200];
	size_t n = 0;

	if (!link_ok(v->link))
		return;
	n = (size_t)snprintf(buf, sizeof(buf), "[%s](%s)",
			     v->root_link ? "Open failed child run" : "Open run in Matillion",
			     v->link);
	if (link_ok(v->root_link) && n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, DOT "[Open whole run](%s)", v->root_link);
	add_field(e, own("Links"), own(buf));
}

/* Embed colours by kind of message: red, grey, green, amber. */
static int colour(enum view_kind k)
{
	switch (k) {
	case VIEW_FAILED: return 0xD93F0B;
	case VIEW_CANCELLED: return 0x8C8C8C;
	case VIEW_SUCCESS: return 0x2EA043;
	default: return 0xDBAB09;
	}
}

/* ISO 8601 UTC of ms into out; "" for a negative time. */
static void iso_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	out[0] = '\0';
	if (ms >= 0 && gmtime_r(&t, &tm) != NULL)
		strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* What the message leaves out to fit the 6000 budget. */
struct cut {
	size_t errors; /* errors shown (from the first) */
	int message;   /* show the run's message */
	int children;  /* show the child pipelines */
};

/* The one embed with the parts c keeps; *units gets its characters. NULL
 * on ERR_NOMEM. */
static cJSON *build_embed(const struct summary *s, const struct view *v, const struct cut *c,
			  size_t *units)
{
	struct embed e = { cJSON_CreateObject(), NULL, 0, 0 };
	char line[160], when[40];
	uint64_t steps = v->more_steps, errors = v->more_errors;
	size_t i;

	if (e.obj == NULL)
		return NULL;
	put_text(&e, e.obj, "title", esc(v->headline, DISCORD_MAX_TITLE, ESC_MD, 0));
	if (link_ok(v->link) && !cJSON_AddStringToObject(e.obj, "url", v->link))
		e.oom = 1;
	put_text(&e, e.obj, "description", description(s, v));
	if (!cJSON_AddNumberToObject(e.obj, "color", colour(v->kind)))
		e.oom = 1;
	e.fields = cJSON_AddArrayToObject(e.obj, "fields");
	if (e.fields == NULL)
		e.oom = 1;
	for (i = 0; !v->compact && e.fields && i < v->n_errors; i++) {
		if (i < c->errors) {
			add_error(&e, &v->errors[i]);
			continue;
		}
		steps += v->errors[i].count;
		errors++;
	}
	view_more_line(steps, errors, line, sizeof(line));
	if (!v->compact && e.fields && line[0])
		add_field(&e, own("Not shown"), own(line));
	if (!v->compact && e.fields && c->message)
		add_message(&e, v);
	if (!v->compact && e.fields && c->children)
		add_children(&e, v);
	if (e.fields)
		add_links(&e, v);
	iso_time(v->finished_ms >= 0 ? v->finished_ms : v->started_ms, when, sizeof(when));
	if (when[0] && !cJSON_AddStringToObject(e.obj, "timestamp", when))
		e.oom = 1;
	if (e.oom) {
		cJSON_Delete(e.obj);
		return NULL;
	}
	*units = e.units;
	return e.obj;
}

/* 1 when s[0..n) is a Discord id: 1 to SNOWFLAKE_MAX digits. */
static int snowflake(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SNOWFLAKE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Adds id (n bytes) to the array key of am, made on first use. */
static int allow_id(cJSON *am, const char *key, const char *id, size_t n)
{
	cJSON *arr = cJSON_GetObjectItemCaseSensitive(am, key), *v;
	char buf[SNOWFLAKE_MAX + 1];

	if (arr == NULL)
		arr = cJSON_AddArrayToObject(am, key);
	memcpy(buf, id, n);
	buf[n] = '\0';
	v = arr ? cJSON_CreateString(buf) : NULL;
	if (v == NULL)
		return -1;
	cJSON_AddItemToArray(arr, v);
	return 0;
}

/* Reads one token of the configured mention: <@id>, <@!id> (a user),
 * <@&id> (a role), @everyone or @here. Known tokens are allowed in am and
 * kept as markup (returns 1); anything else returns 0 and is shown
 * escaped, so it notifies nobody. -1 on ERR_NOMEM. */
static int mention_token(cJSON *am, const char *t, size_t n, int *everyone)
{
	if ((n == 9 && strncmp(t, "@everyone", 9) == 0) ||
	    (n == 5 && strncmp(t, "@here", 5) == 0)) {
		*everyone = 1;
		return 1;
	}
	if (n < 4 || t[0] != '<' || t[1] != '@' || t[n - 1] != '>')
		return 0;
	if (t[2] == '&')
		return snowflake(t + 3, n - 4) ? (allow_id(am, "roles", t + 3, n - 4) ? -1 : 1) : 0;
	if (t[2] == '!')
		return snowflake(t + 3, n - 4) ? (allow_id(am, "users", t + 3, n - 4) ? -1 : 1) : 0;
	return snowflake(t + 2, n - 3) ? (allow_id(am, "users", t + 2, n - 3) ? -1 : 1) : 0;
}

/* "content" and "allowed_mentions" for mention (NULL: none): the known
 * tokens as markup, each allowed by id; "parse" stays empty unless the
 * mention is @everyone or @here. */
static int add_mention(cJSON *root, const char *mention)
{
	cJSON *am = cJSON_AddObjectToObject(root, "allowed_mentions"), *parse;
	char content[DISCORD_MAX_CONTENT * 4], tok[300], *e;
	size_t len = 0, n, k;
	int everyone = 0, r;

	parse = am ? cJSON_AddArrayToObject(am, "parse") : NULL;
	if (parse == NULL)
		return -1;
	content[0] = '\0';
	for (k = 0; mention != NULL && *mention && k < MENTION_TOKENS; k++) {
		mention += strspn(mention, " ");
		n = strcspn(mention, " ");
		if (n == 0)
			break;
		snprintf(tok, sizeof(tok), "%.*s", (int)(n < 299 ? n : 299), mention);
		r = mention_token(am, tok, strlen(tok), &everyone);
		e = r == 1 ? strdup(tok) : r == 0 ? esc(tok, 300, ESC_MD, 0) : NULL;
		if (e == NULL)
			return -1;
		if (len >= sizeof(content) - 1) {
			free(e);
			break;
		}
		len += (size_t)snprintf(content + len, sizeof(content) - len, "%s%s",
					len ? " " : "", e);
		free(e);
		mention += n;
	}
	if (everyone && !cJSON_AddItemToArray(parse, cJSON_CreateString("everyone")))
		return -1;
	if (content[0] == '\0')
		return 0;
	content[text_utf8_prefix(content, DISCORD_MAX_CONTENT)] = '\0';
	return cJSON_AddStringToObject(root, "content", content) ? 0 : -1;
}

/* The body with cut c; *units gets the embed's characters. */
static char *print(const struct summary *s, const struct view *v, const struct render_opts *o,
		   const struct cut *c, size_t *units)
{
	cJSON *root = cJSON_CreateObject(), *embeds = NULL, *em;
	char *out = NULL;

	if (root == NULL || add_mention(root, o != NULL && v->mention ? o->mention : NULL) != 0)
		goto out;
	embeds = cJSON_AddArrayToObject(root, "embeds");
	em = embeds ? build_embed(s, v, c, units) : NULL;
	if (em == NULL)
		goto out;
	cJSON_AddItemToArray(embeds, em);
	/* Stripped at post time (discord_message()). */
	if (render_add_thread(root, s, 1) == 0)
		out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

/* Execute-webhook body: {"content": mention, "embeds": [one embed],
 * "allowed_mentions": {...}}. Errors, then the run's message, then the
 * child list go until the embed is within DISCORD_TEXT_BUDGET. Caller
 * frees; NULL on ERR_NOMEM. */
static char *discord_render(const struct summary *s, const struct render_opts *o)
{
	struct view v;
	struct cut c = { 0, 1, 1 };
	size_t units = 0;
	char *out = NULL;

	if (view_build(s, &v) != 0)
		return NULL;
	for (c.errors = v.n_errors;;) {
		out = print(s, &v, o, &c, &units);
		if (out == NULL || units <= DISCORD_TEXT_BUDGET)
			break;
		free(out);
		out = NULL;
		if (c.errors > 0)
			c.errors--;
		else if (c.message)
			c.message = 0;
		else if (c.children)
			c.children = 0;
		else
			break;
	}
	view_free(&v);
	return out;
}

/* Discord answers 204 (200 with the message under ?wait=true), 429 when
 * rate limited, 400 with {"code": 50035, ...} for a body it refuses, 404
 * for a deleted webhook: the status alone decides. */
static int discord_classify(long status, int by_status, const char *body, size_t len)
{
	(void)status;
	(void)body;
	(void)len;
	return by_status;
}

/* Seconds to wait from a JSON retry_after (seconds, may be fractional),
 * rounded up; -1 for a missing, negative or NaN one; at most
 * RETRY_HINT_MAX for a huge or infinite one. */
static int64_t retry_hint(const cJSON *ra)
{
	double d;

	if (!cJSON_IsNumber(ra))
		return -1;
	d = ra->valuedouble;
	if (isnan(d) || d < 0)
		return -1;
	if (d >= RETRY_HINT_MAX)
		return RETRY_HINT_MAX;
	return (int64_t)ceil(d);
}

/* A 429's JSON retry_after, and the message id a ?wait=true post returns. */
static void discord_read_reply(long status, const char *body, size_t len, struct target_reply *out)
{
	cJSON *root, *id, *ch;

	if (body == NULL || len == 0 || len > REPLY_PARSE_MAX)
		return;
	root = cJSON_ParseWithLength(body, len);
	if (root == NULL)
		return;
	if (status == 429)
		out->retry_after_s =
			retry_hint(cJSON_GetObjectItemCaseSensitive(root, "retry_after"));
	id = cJSON_GetObjectItemCaseSensitive(root, "id");
	ch = cJSON_GetObjectItemCaseSensitive(root, "channel_id");
	if (status >= 200 && status < 300 && cJSON_IsString(id) &&
	    snowflake(id->valuestring, strlen(id->valuestring)))
		snprintf(out->message_id, sizeof(out->message_id), "%s", id->valuestring);
	if (out->message_id[0] && cJSON_IsString(ch) &&
	    snowflake(ch->valuestring, strlen(ch->valuestring)))
		snprintf(out->channel_id, sizeof(out->channel_id), "%s", ch->valuestring);
	cJSON_Delete(root);
}

/* ---- incidents: a forum post's title, the posted body, the resolved edit ---- */

#define ENVELOPE "dpc_thread" /* our member (slackapp.h) */
#define WAS DOT "was: "

int discord_is(const struct target *t)
{
	return t == &target_discord;
}

int discord_id_valid(const char *id)
{
	return id != NULL && snowflake(id, strnlen(id, SNOWFLAKE_MAX + 1));
}

/* A thread name's characters are plain text: each one as it is. */
static size_t plain_piece(const char *c, size_t n, int mode, char *buf, size_t *w)
{
	(void)mode;
	memcpy(buf, c, n);
	*w = n == 4 ? 2 : 1;
	return n;
}

int discord_thread_name(const struct slackapp_meta *m, char *out, size_t cap)
{
	const char *env = m != NULL ? m->environment : "", *pipe = m != NULL ? m->pipeline : "";
	char *raw = text_concat3(env, env[0] && pipe[0] ? DOT : "", pipe), *cut;
	size_t n;

	if (raw == NULL)
		return ERR_NOMEM;
	/* Blanks at either end would be trimmed by Discord; a name of only
	 * blanks would be refused. */
	cut = render_escape_cut(raw + strspn(raw, " "), DISCORD_THREAD_NAME_MAX, 0, plain_piece, 0);
	free(raw);
	if (cut == NULL)
		return ERR_NOMEM;
	n = strlen(cut);
	while (n > 0 && cut[n - 1] == ' ')
		n--;
	cut[n] = '\0';
	n = text_utf8_prefix(cut, cap > 0 ? cap - 1 : 0);
	if (cap > 0 && n > 0)
		snprintf(out, cap, "%.*s", (int)n, cut);
	else if (cap > 0)
		snprintf(out, cap, "%s", "dpc-notify");
	free(cut);
	return 0;
}

char *discord_message(const char *stored, const char *thread_name)
{
	cJSON *root = stored != NULL ? cJSON_Parse(stored) : NULL;
	char *out = NULL;

	if (!cJSON_IsObject(root))
		goto out;
	cJSON_DeleteItemFromObjectCaseSensitive(root, ENVELOPE);
	cJSON_DeleteItemFromObjectCaseSensitive(root, "thread_name");
	if (thread_name != NULL && !cJSON_AddStringToObject(root, "thread_name", thread_name))
		goto out;
	out = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return out;
}

/* Width in UTF-16 units of string member name of o; 0 when missing. */
static size_t member_units(const cJSON *o, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));

	return v != NULL ? render_utf16_width(v) : 0;
}

/* What Discord's 6000 counts of embed e. */
static size_t embed_units(const cJSON *e)
{
	const cJSON *f;
	size_t n = member_units(e, "title") + member_units(e, "description");

	f = cJSON_GetObjectItemCaseSensitive(e, "fields");
	for (f = cJSON_IsArray(f) ? f->child : NULL; f != NULL; f = f->next)
		n += member_units(f, "name") + member_units(f, "value");
	n += member_units(cJSON_GetObjectItemCaseSensitive(e, "footer"), "text");
	return n + member_units(cJSON_GetObjectItemCaseSensitive(e, "author"), "name");
}

/* Bytes of the longest start of escaped text t that is at most max
 * UTF-16 units and ends neither inside a character nor between a
 * backslash and the character it escapes. */
static size_t escaped_prefix(const char *t, size_t max)
{
	size_t i = 0, w = 0, n, cw;

	while (t[i] != '\0') {
		n = t[i] == '\\' && t[i + 1] != '\0' ? 1 + render_cp_bytes(t + i + 1)
						     : render_cp_bytes(t + i);
		cw = t[i] == '\\' && t[i + 1] != '\0' ? 1 : 0;
		cw += render_cp_bytes(t + i + cw) == 4 ? 2 : 1;
		if (w + cw > max)
			break;
		w += cw;
		i += n;
	}
	return i;
}

/* The resolved title: line, then " · was: " and as much of old as max
 * units allow ("…" when cut); line alone when nothing of old fits.
 * Caller frees; NULL on ERR_NOMEM. */
static char *resolved_title(const char *line, const char *old, size_t max)
{
	size_t lw = render_utf16_width(line), sw = render_utf16_width(WAS), n;
	char *out, *head;

	if (old == NULL || old[0] == '\0' || lw + sw + 2 > max)
		return strdup(line);
	n = render_utf16_width(old) <= max - lw - sw ? strlen(old)
						     : escaped_prefix(old, max - lw - sw - 1);
	head = malloc(n + 1);
	if (head == NULL)
		return NULL;
	memcpy(head, old, n);
	head[n] = '\0';
	out = text_concat3(line, WAS, head);
	if (out != NULL && n < strlen(old)) {
		free(head);
		head = out;
		out = text_concat3(head, "\xe2\x80\xa6", NULL);
	}
	free(head);
	return out;
}

/* Rewrites embed e (a posted first message's) as resolved by resolved
 * ({"text", "url"} of the recovery). 0, ERR_PARSE or ERR_NOMEM. */
static int resolve_embed(cJSON *e, const cJSON *resolved)
{
	const char *line = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resolved, "text"));
	const char *url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(resolved, "url"));
	const char *old = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "title"));
	size_t used = embed_units(e), tw = old != NULL ? render_utf16_width(old) : 0, max;
	char *title;
	int ok;

	if (line == NULL || line[0] == '\0')
		return ERR_PARSE;
	/* The title may grow only into what the embed has left of 6000. */
	max = used < DISCORD_TEXT_BUDGET ? tw + (DISCORD_TEXT_BUDGET - used) : tw;
	title = resolved_title(line, old, max < DISCORD_MAX_TITLE ? max : DISCORD_MAX_TITLE);
	if (title == NULL)
		return ERR_NOMEM;
	cJSON_DeleteItemFromObjectCaseSensitive(e, "title");
	cJSON_DeleteItemFromObjectCaseSensitive(e, "color");
	ok = cJSON_AddStringToObject(e, "title", title) &&
	     cJSON_AddNumberToObject(e, "color", colour(VIEW_SUCCESS));
	free(title);
	if (ok && link_ok(url)) {
		cJSON_DeleteItemFromObjectCaseSensitive(e, "url");
		ok = cJSON_AddStringToObject(e, "url", url) != NULL;
	}
	return ok ? 0 : ERR_NOMEM;
}

char *discord_resolved(const char *parent, const char *recovery)
{
	cJSON *root = parent != NULL ? cJSON_Parse(parent) : NULL;
	cJSON *rec = recovery != NULL ? cJSON_Parse(recovery) : NULL;
	cJSON *out_root = cJSON_CreateObject(), *embeds, *am;
	const cJSON *resolved = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rec, ENVELOPE), "resolved");
	char *out = NULL;

	embeds = cJSON_DetachItemFromObjectCaseSensitive(root, "embeds");
	if (out_root == NULL || !cJSON_IsArray(embeds) || !cJSON_IsObject(embeds->child) ||
	    !cJSON_IsObject(resolved) || resolve_embed(embeds->child, resolved) != 0) {
		cJSON_Delete(embeds);
		goto out;
	}
	cJSON_AddItemToObject(out_root, "embeds", embeds);
	am = cJSON_AddObjectToObject(out_root, "allowed_mentions");
	if (am != NULL && cJSON_AddArrayToObject(am, "parse") != NULL)
		out = cJSON_PrintUnformatted(out_root);
out:
	cJSON_Delete(out_root);
	cJSON_Delete(root);
	cJSON_Delete(rec);
	return out;
}

/* Discord webhook URLs are https://discord.com/api/webhooks/ID/TOKEN (the
 * host is checked with the other usual hosts). */
static const char *discord_url_warning(const char *url)
{
	if (strstr(url, "/webhooks/") == NULL)
		return "not a Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN)";
	return NULL;
}

/* Discord publishes no fixed numbers for webhooks and asks clients to read
 * the X-RateLimit headers (discord.com/developers/docs/topics/rate-limits);
 * the buckets seen on webhook posts are 5 per 2 s per webhook and about 30
 * messages a minute per channel. 0.5/s stays inside the per-channel one,
 * and a 429's hinted wait is kept when it comes anyway. */
const struct target target_discord = {
	.name = "discord",
	.default_rate = 0.5,
	.content_type = "application/json",
	.limits = {
		.max_blocks = DISCORD_MAX_EMBEDS,
		.max_section = DISCORD_MAX_DESCRIPTION,
		.max_header = DISCORD_MAX_TITLE,
		.text_budget = DISCORD_TEXT_BUDGET,
	},
	.render = discord_render,
	.render_group = NULL,
	.classify = discord_classify,
	.url_warning = discord_url_warning,
	.read_reply = discord_read_reply,
	.url_query = "wait=true",
};
