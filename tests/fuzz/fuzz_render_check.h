/* Invariants every rendered message must meet, shared by fuzz_summary and
 * fuzz_render: Slack Block Kit limits and escaping, the Teams envelope and
 * size cap, mentions only from the config and only on problem runs, and
 * plain text free of terminal control characters. Any violation aborts. */
#ifndef DPC_FUZZ_RENDER_CHECK_H
#define DPC_FUZZ_RENDER_CHECK_H

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz_util.h"
#include "render.h"
#include "target.h"

/* The ceilings the target rows publish. */
#define FZ_LIMITS(name) (target_find(name)->limits)
#define SLACK_MAX_BLOCKS ((int)FZ_LIMITS("slack").max_blocks)
#define SLACK_MAX_SECTION FZ_LIMITS("slack").max_section
#define SLACK_MAX_HEADER FZ_LIMITS("slack").max_header
#define SLACK_TEXT_BUDGET FZ_LIMITS("slack").text_budget
#define TEAMS_MAX_BYTES FZ_LIMITS("teams").max_bytes

/* Slack's documented ceilings beyond what its row names. */
#define FZ_SLACK_FIELD_MAX 2000
#define FZ_SLACK_FIELDS 10
#define FZ_SLACK_CONTEXT_ELEMS 10
#define FZ_SLACK_FALLBACK_MAX 40000
#define FZ_SLACK_BUTTON_TEXT 75
/* "About 10k" of block text: allow 20% over before calling it a bug;
 * Slack itself failed at ~13.2k in the field. */
#define FZ_SLACK_TEXT_HARD (SLACK_TEXT_BUDGET + SLACK_TEXT_BUDGET / 5)

struct fz_slack_ctx {
	const struct summary *s;
	const char *mention; /* what the config allows, or NULL */
	int mention_allowed; /* the run is a problem and mention is set */
	int n_unverbatim;    /* mrkdwn objects without verbatim=true */
	size_t text_total;   /* code points of all block text objects */
};

static inline const char *fz_str_item(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Length of a Slack date token at t made of our own digits only:
 * "<!date^DIGITS^{date_short_pretty} {time}|FALLBACK>" or "<!date^DIGITS^
 * {time}|FALLBACK>", FALLBACK being digits, '-', ':', ' ' and "UTC"; 0 when
 * t is not one. */
static inline size_t fz_slack_date_token(const char *t)
{
	static const char *const formats[] = { "^{date_short_pretty} {time}|", "^{time}|" };
	size_t i = 0, k, n;

	if (strncmp(t, "<!date^", 7) != 0)
		return 0;
	i = 7;
	for (n = i; t[i] >= '0' && t[i] <= '9'; i++)
		;
	if (i == n)
		return 0;
	for (k = 0; k < 2; k++)
		if (strncmp(t + i, formats[k], strlen(formats[k])) == 0)
			break;
	if (k == 2)
		return 0;
	i += strlen(formats[k]);
	for (; t[i] && t[i] != '>'; i++)
		if (!strchr("0123456789-: UTC", t[i]))
			return 0;
	return t[i] == '>' ? i + 1 : 0;
}

/* mrkdwn text carrying untrusted bytes must contain no raw < or >: every
 * Slack control sequence (<!channel>, <@U…>, <#C…>, <url|x>) needs one.
 * The only exception is our own date tokens, digits only. */
static inline void fz_slack_mrkdwn_text(const char *t, const char *where)
{
	size_t n;

	for (; *t; t++) {
		if (*t == '<' && (n = fz_slack_date_token(t)) > 0) {
			t += n - 1;
			continue;
		}
		FUZZ_CHECK(*t != '<' && *t != '>', "raw < or > in Slack mrkdwn %s: \"%.200s\"",
			   where, t);
	}
}

/* 1 when url is the run link, or the same link with another run id in
 * place of the run's (a child run), that id percent-encoded. */
static inline int fz_run_url(const struct summary *s, const char *url)
{
	const char *cut;
	size_t base;

	if (s->link == NULL || url == NULL)
		return 0;
	if (strcmp(url, s->link) == 0)
		return 1;
	cut = strrchr(s->link, '/');
	if (cut == NULL)
		return 0;
	base = (size_t)(cut - s->link) + 1;
	if (strncmp(url, s->link, base) != 0 || url[base] == '\0')
		return 0;
	for (url += base; *url; url++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%",
			    *url))
			return 0;
	return 1;
}

/* The configured mention is shown on failures only: not for cancelled or
 * other runs, not in the follow-up of a degraded notice, not in a compact
 * repeat or a recovery. */
static inline int fz_mention_allowed(const struct summary *s, const char *mention)
{
	return mention && *mention && (s->status == ST_FAILED || s->status == ST_FORBIDDEN) &&
	       s->follows_ms < 0 && !(s->memory.known && s->memory.form != FORM_FULL);
}

/* Checks one text object; max is the limit in code points. */
static inline void fz_slack_text_obj(struct fz_slack_ctx *c, const cJSON *o, size_t max,
				     int plain_only, const char *where)
{
	const char *type = fz_str_item(o, "type"), *t = fz_str_item(o, "text");
	size_t n;

	FUZZ_CHECK(cJSON_IsObject(o) && type && t, "%s is not a text object", where);
	FUZZ_CHECK(strcmp(type, "plain_text") == 0 || (!plain_only && strcmp(type, "mrkdwn") == 0),
		   "%s has text type %s", where, type);
	n = fz_utf8_count(t);
	FUZZ_CHECK(n >= 1 && n <= max, "%s text has %zu chars (limit %zu)", where, n, max);
	c->text_total += n;
	if (strcmp(type, "mrkdwn") != 0)
		return;
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "verbatim"))) {
		/* Only the configured mention may be parsed by Slack. */
		c->n_unverbatim++;
		FUZZ_CHECK(c->mention_allowed && strcmp(t, c->mention) == 0,
			   "mrkdwn without verbatim=true in %s: \"%.200s\"", where, t);
		return;
	}
	fz_slack_mrkdwn_text(t, where);
}

static inline void fz_slack_section(struct fz_slack_ctx *c, const cJSON *b)
{
	const cJSON *text = cJSON_GetObjectItemCaseSensitive(b, "text");
	const cJSON *fields = cJSON_GetObjectItemCaseSensitive(b, "fields"), *f;

	FUZZ_CHECK(text || fields, "section without text or fields");
	if (text)
		fz_slack_text_obj(c, text, SLACK_MAX_SECTION, 0, "section");
	if (fields == NULL)
		return;
	FUZZ_CHECK(cJSON_IsArray(fields), "section fields is not an array");
	FUZZ_CHECK(cJSON_GetArraySize(fields) >= 1 && cJSON_GetArraySize(fields) <= FZ_SLACK_FIELDS,
		   "section has %d fields", cJSON_GetArraySize(fields));
	cJSON_ArrayForEach(f, fields)
		fz_slack_text_obj(c, f, FZ_SLACK_FIELD_MAX, 0, "section field");
}

static inline void fz_slack_actions(struct fz_slack_ctx *c, const cJSON *b)
{
	const cJSON *els = cJSON_GetObjectItemCaseSensitive(b, "elements"), *e;
	const char *url;

	FUZZ_CHECK(cJSON_IsArray(els) && cJSON_GetArraySize(els) >= 1, "actions without elements");
	cJSON_ArrayForEach(e, els)
	{
		fz_slack_text_obj(c, cJSON_GetObjectItemCaseSensitive(e, "text"),
				  FZ_SLACK_BUTTON_TEXT, 1, "button");
		url = fz_str_item(e, "url");
		if (url != NULL)
			FUZZ_CHECK(fz_run_url(c->s, url), "button url is not a run link");
	}
}

/* rich_text content is literal, so < > are harmless there; what must never
 * come from untrusted text are the structural elements that ping or link
 * (user, usergroup, broadcast, channel; links other than the run link). */
static inline void fz_slack_rich(struct fz_slack_ctx *c, const cJSON *part, int depth)
{
	const char *type = fz_str_item(part, "type"), *t;
	const cJSON *els = cJSON_GetObjectItemCaseSensitive(part, "elements"), *e;

	FUZZ_CHECK(type != NULL && depth < 4, "rich_text element without type or too deep");
	if (strcmp(type, "rich_text_section") == 0 || strcmp(type, "rich_text_preformatted") == 0 ||
	    strcmp(type, "rich_text_quote") == 0 || strcmp(type, "rich_text_list") == 0) {
		FUZZ_CHECK(cJSON_IsArray(els), "%s without elements", type);
		cJSON_ArrayForEach(e, els) fz_slack_rich(c, e, depth + 1);
		return;
	}
	if (strcmp(type, "text") == 0) {
		t = fz_str_item(part, "text");
		FUZZ_CHECK(t != NULL && *t, "rich_text text element without text");
		c->text_total += fz_utf8_count(t);
		return;
	}
	if (strcmp(type, "link") == 0) {
		t = fz_str_item(part, "url");
		FUZZ_CHECK(t && c->s->link && strcmp(t, c->s->link) == 0,
			   "rich_text link to something other than the run");
		return;
	}
	FUZZ_CHECK(strcmp(type, "emoji") == 0, "rich_text element of type %s", type);
}

static inline void fz_slack_block(struct fz_slack_ctx *c, const cJSON *b)
{
	const char *type = fz_str_item(b, "type");
	const cJSON *els, *e;

	FUZZ_CHECK(type != NULL, "block without type");
	if (strcmp(type, "section") == 0) {
		fz_slack_section(c, b);
	} else if (strcmp(type, "header") == 0) {
		fz_slack_text_obj(c, cJSON_GetObjectItemCaseSensitive(b, "text"), SLACK_MAX_HEADER,
				  1, "header");
	} else if (strcmp(type, "context") == 0) {
		els = cJSON_GetObjectItemCaseSensitive(b, "elements");
		FUZZ_CHECK(cJSON_IsArray(els) && cJSON_GetArraySize(els) >= 1 &&
				   cJSON_GetArraySize(els) <= FZ_SLACK_CONTEXT_ELEMS,
			   "context elements");
		cJSON_ArrayForEach(e, els) fz_slack_text_obj(c, e, SLACK_MAX_SECTION, 0, "context");
	} else if (strcmp(type, "actions") == 0) {
		fz_slack_actions(c, b);
	} else if (strcmp(type, "rich_text") == 0) {
		els = cJSON_GetObjectItemCaseSensitive(b, "elements");
		FUZZ_CHECK(cJSON_IsArray(els) && cJSON_GetArraySize(els) >= 1,
			   "rich_text without elements");
		cJSON_ArrayForEach(e, els) fz_slack_rich(c, e, 0);
	} else {
		FUZZ_CHECK(strcmp(type, "divider") == 0, "unexpected block type %s", type);
	}
}

static inline void fz_check_slack(const struct summary *s, const struct render_opts *d,
				  const char *out)
{
	struct fz_slack_ctx c = { s, d ? d->mention : NULL, 0, 0, 0 };
	cJSON *root;
	const cJSON *blocks, *b;
	const char *text;

	c.mention_allowed = fz_mention_allowed(s, c.mention);
	FUZZ_CHECK(out != NULL, "slack_render returned NULL");
	FUZZ_CHECK(fz_utf8_valid(out, strlen(out)), "Slack body is not valid UTF-8");
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "Slack body is not JSON");
	text = fz_str_item(root, "text");
	FUZZ_CHECK(text && *text && fz_utf8_count(text) <= FZ_SLACK_FALLBACK_MAX,
		   "Slack fallback text missing or too long");
	fz_slack_mrkdwn_text(text, "fallback text");
	blocks = cJSON_GetObjectItemCaseSensitive(root, "blocks");
	FUZZ_CHECK(cJSON_IsArray(blocks), "Slack body without blocks");
	FUZZ_CHECK(cJSON_GetArraySize(blocks) >= 1 &&
			   cJSON_GetArraySize(blocks) <= SLACK_MAX_BLOCKS,
		   "Slack body has %d blocks", cJSON_GetArraySize(blocks));
	cJSON_ArrayForEach(b, blocks) fz_slack_block(&c, b);
	FUZZ_CHECK(c.text_total <= FZ_SLACK_TEXT_HARD, "Slack block text totals %zu chars",
		   c.text_total);
	FUZZ_CHECK(c.n_unverbatim == c.mention_allowed, "mention shown %d times, allowed %d",
		   c.n_unverbatim, c.mention_allowed);
	cJSON_Delete(root);
}

/* Walks every string in the Teams body: no mention tag may appear unless
 * the config's mention is allowed, and then only that exact tag. */
static inline void fz_teams_strings(const cJSON *item, const char *allowed_tag)
{
	const cJSON *c;
	const char *at;

	if (cJSON_IsString(item) && item->valuestring) {
		at = fz_strcasestr(item->valuestring, "<at>");
		if (at != NULL)
			FUZZ_CHECK(allowed_tag && strcmp(item->valuestring, allowed_tag) == 0,
				   "<at> in Teams text \"%.200s\"", item->valuestring);
		return;
	}
	for (c = item->child; c; c = c->next)
		fz_teams_strings(c, allowed_tag);
}

static inline void fz_check_teams(const struct summary *s, const struct render_opts *d,
				  const char *out)
{
	const char *mention = d ? d->mention : NULL;
	int allowed = fz_mention_allowed(s, mention);
	char tag[600] = "";
	cJSON *root;
	const cJSON *att, *content, *ms, *ents;

	FUZZ_CHECK(out != NULL, "teams_render returned NULL");
	FUZZ_CHECK(strlen(out) <= TEAMS_MAX_BYTES, "Teams body is %zu bytes", strlen(out));
	FUZZ_CHECK(fz_utf8_valid(out, strlen(out)), "Teams body is not valid UTF-8");
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "Teams body is not JSON");
	FUZZ_CHECK(strcmp(fz_str_item(root, "type") ? fz_str_item(root, "type") : "", "message") ==
			   0,
		   "Teams body type is not message");
	att = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "attachments"), 0);
	FUZZ_CHECK(att && fz_str_item(att, "contentType") &&
			   strcmp(fz_str_item(att, "contentType"),
				  "application/vnd.microsoft.card.adaptive") == 0,
		   "Teams attachment is not an adaptive card");
	content = cJSON_GetObjectItemCaseSensitive(att, "content");
	FUZZ_CHECK(fz_str_item(content, "type") &&
			   strcmp(fz_str_item(content, "type"), "AdaptiveCard") == 0,
		   "card type");
	FUZZ_CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(content, "body")), "card body");
	ms = cJSON_GetObjectItemCaseSensitive(content, "msteams");
	ents = cJSON_GetObjectItemCaseSensitive(ms, "entities");
	FUZZ_CHECK(allowed || cJSON_GetArraySize(ents) == 0,
		   "Teams mention entity on a non-problem run");
	if (allowed && strlen(mention) < sizeof(tag) - 10)
		snprintf(tag, sizeof(tag), "<at>%s</at>", mention);
	fz_teams_strings(root, allowed ? tag : NULL);
	cJSON_Delete(root);
}

/* Google Chat card text: every '<' opens one of the renderer's own tags
 * and every '&' one of its entities, so no tag, link or entity comes from
 * the run. */
static inline void fz_gchat_card(const cJSON *item)
{
	static const char *const ok[] = { "<b>",  "</b>",  "<i>",  "</i>",
					  "<br>", "&amp;", "&lt;", "&gt;" };
	const cJSON *c;
	const char *p;
	size_t i;
	int hit;

	if (cJSON_IsString(item) && item->valuestring) {
		for (p = item->valuestring; *p; p++) {
			if (*p != '<' && *p != '&')
				continue;
			for (hit = 0, i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
				hit |= strncmp(p, ok[i], strlen(ok[i])) == 0;
			FUZZ_CHECK(hit, "Google Chat card text \"%.200s\"", item->valuestring);
		}
		return;
	}
	for (c = item->child; c; c = c->next)
		fz_gchat_card(c);
}

/* Google Chat: JSON within the row's byte cap with a thread key; the
 * text fallback holds no character of Chat's markup except in the
 * configured mention, which leads it on problem runs only. */
static inline void fz_check_gchat(const struct summary *s, const struct render_opts *d,
				  const char *out)
{
	const char *mention = d ? d->mention : NULL, *text;
	size_t skip = 0;
	cJSON *root;

	FUZZ_CHECK(out != NULL, "googlechat render returned NULL");
	FUZZ_CHECK(strlen(out) <= FZ_LIMITS("googlechat").max_bytes, "Chat body is %zu bytes",
		   strlen(out));
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "Chat body is not JSON");
	text = fz_str_item(root, "text");
	FUZZ_CHECK(text != NULL, "Chat body has no text");
	if (fz_mention_allowed(s, mention) && strncmp(text, mention, strlen(mention)) == 0)
		skip = strlen(mention);
	FUZZ_CHECK(strpbrk(text + skip, "<>&*_~`") == NULL, "Chat markup in text \"%.200s\"", text);
	FUZZ_CHECK(fz_str_item(cJSON_GetObjectItemCaseSensitive(root, "thread"), "threadKey"),
		   "Chat body has no thread key");
	fz_gchat_card(cJSON_GetObjectItemCaseSensitive(root, "cardsV2"));
	cJSON_Delete(root);
}

/* PagerDuty: a trigger or resolve event within 512 KB, no routing key
 * (added at post time), dedup_key <= 255 and summary <= 1024 bytes. */
static inline void fz_check_pagerduty(const char *out)
{
	const char *action, *key, *sum;
	cJSON *root;

	FUZZ_CHECK(out != NULL, "pagerduty render returned NULL");
	FUZZ_CHECK(strlen(out) <= FZ_LIMITS("pagerduty").max_bytes, "event is %zu bytes",
		   strlen(out));
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "event is not JSON");
	action = fz_str_item(root, "event_action");
	key = fz_str_item(root, "dedup_key");
	FUZZ_CHECK(action && (strcmp(action, "trigger") == 0 || strcmp(action, "resolve") == 0),
		   "event_action");
	FUZZ_CHECK(key && *key && strlen(key) <= 255, "dedup_key");
	FUZZ_CHECK(cJSON_GetObjectItemCaseSensitive(root, "routing_key") == NULL,
		   "routing key in a stored event");
	if (strcmp(action, "trigger") == 0) {
		sum = fz_str_item(cJSON_GetObjectItemCaseSensitive(root, "payload"), "summary");
		FUZZ_CHECK(sum && *sum && strlen(sum) <= 1024, "payload.summary");
	}
	cJSON_Delete(root);
}

static inline void fz_check_plain(const char *out)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t i = 0, n, len;
	uint32_t cp;

	FUZZ_CHECK(out != NULL, "plaintext_render returned NULL");
	len = strlen(out);
	FUZZ_CHECK(fz_utf8_valid(out, len), "plain text is not valid UTF-8");
	/* It goes to terminals and logs: no escape sequences may pass. */
	while (i < len) {
		n = fz_utf8_seq(p + i, len - i, &cp);
		FUZZ_CHECK(cp >= 0x20 || cp == '\n' || cp == '\t', "control U+%04X in plain text",
			   (unsigned)cp);
		FUZZ_CHECK(cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f), "DEL/C1 in plain text");
		i += n;
	}
}

/* Renders s for all three targets and checks each. plain_rules = 0 only
 * checks that plain text was produced: it trusts the summary to have
 * sanitised its strings, so raw bytes may pass through it. */
/* The JSON event: parses, fits its row's bound, is schema_version 1 and
 * holds no raw control byte (cJSON escapes them; untrusted text is data). */
static inline void fz_check_json(const char *out)
{
	cJSON *root;
	size_t i;

	FUZZ_CHECK(out != NULL, "json render returned NULL");
	FUZZ_CHECK(strlen(out) <= FZ_LIMITS("json").max_bytes, "json body over its bound");
	for (i = 0; out[i]; i++)
		FUZZ_CHECK((unsigned char)out[i] >= 0x20, "raw control byte in the json body");
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "json body does not parse");
	FUZZ_CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(root, "schema_version")) == 1.0,
		   "json body without schema_version 1");
	cJSON_Delete(root);
}

/* Width of UTF-8 text in UTF-16 units, as the Discord and Mattermost rows
 * count their limits (never fewer than characters). */
static inline size_t fz_utf16_units(const char *s)
{
	size_t n = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xc0) == 0x80)
			continue;
		n += ((unsigned char)*s >= 0xf0) ? 2 : 1;
	}
	return n;
}

#define FZ_ZWSP "\xe2\x80\x8b" /* U+200B, the renderers' mention breaker */

/* 1 when tok (n bytes) is a whitespace-separated token of the configured
 * mention, i.e. trusted markup. */
static inline int fz_mention_token(const char *mention, const char *tok, size_t n)
{
	size_t k;

	while (mention && *mention) {
		mention += strspn(mention, " ");
		k = strcspn(mention, " ");
		if (k == n && k > 0 && strncmp(mention, tok, n) == 0)
			return 1;
		mention += k;
	}
	return 0;
}

/* 1 when the character at t[i] has an odd run of backslashes before it,
 * which Discord's Markdown reads as "this character literally". */
static inline int fz_escaped(const char *t, size_t i)
{
	size_t k = 0;

	while (k < i && t[i - 1 - k] == '\\')
		k++;
	return k % 2 == 1;
}

/* Length of one of the Discord renderer's own timestamps at t,
 * "<t:DIGITS:f>" or "<t:DIGITS:t>"; 0 when t is not one. */
static inline size_t fz_discord_time(const char *t)
{
	size_t i = 3;

	if (strncmp(t, "<t:", 3) != 0)
		return 0;
	while (t[i] >= '0' && t[i] <= '9')
		i++;
	if (i == 3 || t[i] != ':' || (t[i + 1] != 'f' && t[i + 1] != 't') || t[i + 2] != '>')
		return 0;
	return i + 3;
}

/* Discord Markdown carrying untrusted text. Outside code every '@' and
 * '<' is backslash-escaped (so no @everyone, @here, <@id>, <@&id>, <#id>
 * can form), our digit-only timestamps excepted; a code block opens and
 * closes with our own ``` and inside it every backtick is followed by a
 * zero-width space, so untrusted text can never close it early. */
static inline void fz_discord_md(const char *t, const char *where)
{
	size_t i, n;
	int code = 0;

	for (i = 0; t[i]; i++) {
		if (code) {
			if (t[i] != '`' || strncmp(t + i + 1, FZ_ZWSP, 3) == 0)
				continue;
			FUZZ_CHECK(strncmp(t + i, "```", 3) == 0 && i > 0 && t[i - 1] == '\n',
				   "bare backtick in a Discord code block in %s: \"%.200s\"", where,
				   t + i);
			code = 0;
			i += 2;
			continue;
		}
		if (t[i] == '`' && !fz_escaped(t, i)) {
			FUZZ_CHECK(strncmp(t + i, "```\n", 4) == 0,
				   "unescaped backtick in Discord %s: \"%.200s\"", where, t + i);
			code = 1;
			i += 3;
			continue;
		}
		if (t[i] == '<' && (n = fz_discord_time(t + i)) > 0) {
			i += n - 1;
			continue;
		}
		FUZZ_CHECK((t[i] != '@' && t[i] != '<') || fz_escaped(t, i),
			   "unescaped %c in Discord %s: \"%.200s\"", t[i], where, t + i);
	}
	FUZZ_CHECK(!code, "unclosed code block in Discord %s", where);
}

/* Counts one embed string toward the 6000 total and checks its own limit
 * and its escaping. */
static inline size_t fz_discord_str(const cJSON *o, const char *key, size_t max, int required,
				    const char *where)
{
	const char *t = fz_str_item(o, key);
	size_t n;

	FUZZ_CHECK(t != NULL || !required, "Discord %s missing", where);
	if (t == NULL)
		return 0;
	n = fz_utf16_units(t);
	FUZZ_CHECK(n <= max, "Discord %s has %zu units (limit %zu)", where, n, max);
	fz_discord_md(t, where);
	return n;
}

/* allowed_mentions: "parse" empty unless the configured mention itself is
 * @everyone or @here on a run that may mention; users and roles only ids
 * the configured mention names. */
static inline void fz_discord_allowed(const cJSON *am, const char *mention, int allowed)
{
	static const char *const lists[][3] = { { "users", "<@", "<@!" }, { "roles", "<@&", NULL } };
	const cJSON *parse = cJSON_GetObjectItemCaseSensitive(am, "parse"), *a, *id;
	char tok[64];
	size_t k;
	int ok;

	FUZZ_CHECK(cJSON_IsObject(am) && cJSON_IsArray(parse), "Discord allowed_mentions.parse");
	cJSON_ArrayForEach(a, parse)
	{
		FUZZ_CHECK(cJSON_IsString(a) && strcmp(a->valuestring, "everyone") == 0 &&
				   allowed &&
				   (fz_mention_token(mention, "@everyone", 9) ||
				    fz_mention_token(mention, "@here", 5)),
			   "Discord allowed_mentions.parse is not empty");
	}
	for (k = 0; k < 2; k++) {
		cJSON_ArrayForEach(id, cJSON_GetObjectItemCaseSensitive(am, lists[k][0]))
		{
			FUZZ_CHECK(allowed && cJSON_IsString(id) && strlen(id->valuestring) < 40,
				   "Discord allowed_mentions.%s without a mention", lists[k][0]);
			snprintf(tok, sizeof(tok), "%s%s>", lists[k][1], id->valuestring);
			ok = fz_mention_token(mention, tok, strlen(tok));
			if (lists[k][2] != NULL) {
				snprintf(tok, sizeof(tok), "%s%s>", lists[k][2], id->valuestring);
				ok |= fz_mention_token(mention, tok, strlen(tok));
			}
			FUZZ_CHECK(ok, "Discord allows %s %s not in the mention", lists[k][0],
				   id->valuestring);
		}
	}
}

/* content holds only the configured mention: each token is one of its
 * tokens as configured or carries no unescaped '@' or '<'. */
static inline void fz_discord_content(const char *c, const char *mention, int allowed)
{
	size_t i, n, j;

	if (c == NULL)
		return;
	FUZZ_CHECK(allowed, "Discord content on a run that mentions no one: \"%.200s\"", c);
	FUZZ_CHECK(fz_utf16_units(c) <= 2000, "Discord content has %zu units",
		   fz_utf16_units(c));
	for (i = 0; c[i]; i += n) {
		i += strspn(c + i, " ");
		n = strcspn(c + i, " ");
		if (n == 0 || fz_mention_token(mention, c + i, n))
			continue;
		for (j = 0; j < n; j++)
			FUZZ_CHECK((c[i + j] != '@' && c[i + j] != '<') || fz_escaped(c, i + j),
				   "Discord content token not from the mention: \"%.*s\"", (int)n,
				   c + i);
	}
}

/* Discord: JSON; the Embed Limits (title 256, description 4096, field
 * name 256 and value 1024, 25 fields, 10 embeds, 6000 across embeds,
 * content 2000, in UTF-16 units as the renderer counts); nothing from the
 * run can ping; allowed_mentions as above. */
static inline void fz_check_discord(const struct summary *s, const struct render_opts *d,
				    const char *out)
{
	const char *mention = d ? d->mention : NULL;
	int allowed = fz_mention_allowed(s, mention);
	const cJSON *embeds, *e, *fields, *f;
	size_t total = 0;
	cJSON *root;

	FUZZ_CHECK(out != NULL, "discord render returned NULL");
	FUZZ_CHECK(fz_utf8_valid(out, strlen(out)), "Discord body is not valid UTF-8");
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "Discord body is not JSON");
	fz_discord_allowed(cJSON_GetObjectItemCaseSensitive(root, "allowed_mentions"), mention,
			   allowed);
	fz_discord_content(fz_str_item(root, "content"), mention, allowed);
	embeds = cJSON_GetObjectItemCaseSensitive(root, "embeds");
	FUZZ_CHECK(cJSON_IsArray(embeds) && cJSON_GetArraySize(embeds) >= 1 &&
			   cJSON_GetArraySize(embeds) <= 10,
		   "Discord body has %d embeds", cJSON_GetArraySize(embeds));
	cJSON_ArrayForEach(e, embeds)
	{
		total += fz_discord_str(e, "title", 256, 1, "title");
		total += fz_discord_str(e, "description", 4096, 0, "description");
		total += fz_discord_str(cJSON_GetObjectItemCaseSensitive(e, "footer"), "text", 2048,
					0, "footer");
		total += fz_discord_str(cJSON_GetObjectItemCaseSensitive(e, "author"), "name", 256,
					0, "author");
		if (fz_str_item(e, "url") != NULL)
			FUZZ_CHECK(fz_run_url(s, fz_str_item(e, "url")),
				   "Discord embed url is not a run link");
		fields = cJSON_GetObjectItemCaseSensitive(e, "fields");
		FUZZ_CHECK(fields == NULL || (cJSON_IsArray(fields) &&
					      cJSON_GetArraySize(fields) <= 25),
			   "Discord embed has %d fields", cJSON_GetArraySize(fields));
		cJSON_ArrayForEach(f, fields)
		{
			total += fz_discord_str(f, "name", 256, 1, "field name");
			total += fz_discord_str(f, "value", 1024, 1, "field value");
		}
	}
	FUZZ_CHECK(total <= 6000, "Discord embeds total %zu units", total);
	cJSON_Delete(root);
}

/* Every '@' in s is followed by a zero-width space, so Mattermost's
 * mention scanner sees a bare "@" and never @channel, @all, @here or a
 * user name. */
static inline void fz_mm_at(const char *s)
{
	const char *p;

	for (p = strchr(s, '@'); p; p = strchr(p + 1, '@'))
		FUZZ_CHECK(strncmp(p + 1, FZ_ZWSP, 3) == 0,
			   "bare @ in Mattermost text: \"%.200s\"", p);
}

/* Walks the Mattermost body: every string within the budget's count and
 * free of bare '@' except the post's own text, which may only be the
 * configured mention on a run that may mention. */
static inline size_t fz_mm_strings(const cJSON *item, const char *mention, int allowed,
				   int top)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item) && item->valuestring) {
		if (top && item->string && strcmp(item->string, "text") == 0) {
			FUZZ_CHECK(allowed && strcmp(item->valuestring, mention) == 0,
				   "Mattermost post text is not the mention: \"%.200s\"",
				   item->valuestring);
		} else {
			fz_mm_at(item->valuestring);
		}
		return fz_utf16_units(item->valuestring);
	}
	for (c = item->child; c; c = c->next)
		n += fz_mm_strings(c, mention, allowed, 0);
	return n;
}

/* Mattermost: JSON, one attachment, all text within the row's budget
 * (16,000 UTF-16 units, below the 16,383 default post limit), no mention
 * from untrusted text, and the code blocks of the attachment text closed
 * only by our fences. */
static inline void fz_check_mattermost(const struct summary *s, const struct render_opts *d,
				       const char *out)
{
	const char *mention = d ? d->mention : NULL, *t;
	int allowed = fz_mention_allowed(s, mention), code = 0;
	const cJSON *c, *att;
	size_t units = 0, i;
	cJSON *root;

	FUZZ_CHECK(out != NULL, "mattermost render returned NULL");
	FUZZ_CHECK(fz_utf8_valid(out, strlen(out)), "Mattermost body is not valid UTF-8");
	root = cJSON_Parse(out);
	FUZZ_CHECK(root != NULL, "Mattermost body is not JSON");
	for (c = root->child; c; c = c->next)
		units += fz_mm_strings(c, mention, allowed, 1);
	FUZZ_CHECK(units <= FZ_LIMITS("mattermost").text_budget,
		   "Mattermost body text is %zu units", units);
	att = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "attachments"), 0);
	t = fz_str_item(att, "text");
	FUZZ_CHECK(t != NULL, "Mattermost attachment without text");
	for (i = 0; t[i]; i++) {
		if (t[i] != '`' || strncmp(t + i + 1, FZ_ZWSP, 3) == 0 || (!code && fz_escaped(t, i)))
			continue;
		FUZZ_CHECK(strncmp(t + i, "```", 3) == 0 && i > 0 && t[i - 1] == '\n',
			   "bare backtick in Mattermost text: \"%.200s\"", t + i);
		code = !code;
		i += 2;
	}
	FUZZ_CHECK(!code, "unclosed code block in Mattermost text");
	cJSON_Delete(root);
}

static inline void fz_check_renders(const struct summary *s, const struct render_opts *d,
				    int plain_rules)
{
	char *out;

	out = target_find("slack")->render(s, d);
	fz_check_slack(s, d, out);
	free(out);
	out = target_find("teams")->render(s, d);
	fz_check_teams(s, d, out);
	free(out);
	out = target_find("json")->render(s, d);
	fz_check_json(out);
	free(out);
	out = target_find("googlechat")->render(s, d);
	fz_check_gchat(s, d, out);
	free(out);
	out = target_find("pagerduty")->render(s, d);
	fz_check_pagerduty(out);
	free(out);
	out = target_find("discord")->render(s, d);
	fz_check_discord(s, d, out);
	free(out);
	out = target_find("mattermost")->render(s, d);
	fz_check_mattermost(s, d, out);
	free(out);
	out = plaintext_render(s);
	if (plain_rules)
		fz_check_plain(out);
	else
		FUZZ_CHECK(out != NULL, "plaintext_render returned NULL");
	free(out);
}

#endif
