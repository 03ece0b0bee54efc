/* Unit tests for slack.c: the rendered JSON is parsed back and checked for
 * the triage layout (headline, context line, grouped errors, child
 * pipelines, buttons), Block Kit limits at their edges, the counting of
 * errors not shown, hostile text in every place text appears, and the
 * mention rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "summary.h"
#include "target.h"
#include "text.h"

#include "render_fixtures.h"

/* The row under test, and the ceilings it publishes. */
static const struct target *slack(void)
{
	const struct target *t = target_find("slack");

	assert_non_null(t);
	return t;
}

#define SLACK_MAX_BLOCKS ((int)slack()->limits.max_blocks)
#define SLACK_MAX_SECTION (slack()->limits.max_section)
#define SLACK_MAX_HEADER (slack()->limits.max_header)
#define SLACK_TEXT_BUDGET (slack()->limits.text_budget)

static cJSON *render(const struct summary *s, const struct render_opts *d, char **raw)
{
	char *out = slack()->render(s, d);
	cJSON *root;

	assert_non_null(out);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

/* Width in UTF-16 units, as Slack may count. */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;

		if ((b & 0xc0) != 0x80)
			w += b >= 0xf0 ? 2 : 1;
	}
	return w;
}

static size_t all_text(const cJSON *item)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item) && item->string && strcmp(item->string, "text") == 0)
		return width(item->valuestring);
	for (c = item ? item->child : NULL; c; c = c->next)
		n += all_text(c);
	return n;
}

/* All "text" strings under item concatenated into buf (for rich_text). */
static void concat_text(const cJSON *item, char *buf, size_t len)
{
	const cJSON *c;
	size_t used = strlen(buf);

	if (cJSON_IsString(item) && item->string && strcmp(item->string, "text") == 0) {
		snprintf(buf + used, len - used, "%s", item->valuestring);
		return;
	}
	if (cJSON_IsObject(item) && cJSON_GetObjectItem(item, "type") &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(item, "type")),
		   "rich_text_preformatted") == 0 &&
	    used < len - 1)
		memcpy(buf + used, "\n", 2); /* shown on its own lines */
	for (c = item ? item->child : NULL; c; c = c->next)
		concat_text(c, buf, len);
}

/* The visible text of a block: a text object's text, the first element's
 * text (context, actions), or every rich_text element joined. */
static const char *block_text(const cJSON *b)
{
	static char rich[16384];
	const cJSON *t = cJSON_GetObjectItem(b, "text"), *els;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(b, "type"));

	if (type != NULL && strcmp(type, "rich_text") == 0) {
		rich[0] = '\0';
		concat_text(b, rich, sizeof(rich));
		return rich;
	}
	if (t == NULL) {
		els = cJSON_GetObjectItem(b, "elements");
		t = cJSON_GetArrayItem(els, 0);
		t = t ? cJSON_GetObjectItem(t, "text") : NULL;
	} else {
		t = cJSON_GetObjectItem(t, "text");
	}
	return cJSON_IsString(t) ? t->valuestring : "";
}

static const char *type_of(const cJSON *b)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(b, "type"));
}

/* Checks an error block: a rich_text whose first part holds the bold
 * title and, when tail is not NULL, a plain tail; then, when pre is not
 * NULL, the excerpt as a preformatted part (which keeps lines and
 * indentation). */
static void check_error(const cJSON *b, const char *title, const char *tail, const char *pre)
{
	const cJSON *parts = cJSON_GetObjectItem(b, "elements"), *sec, *el;

	assert_string_equal(type_of(b), "rich_text");
	assert_int_equal(cJSON_GetArraySize(parts), pre ? 2 : 1);
	sec = cJSON_GetArrayItem(parts, 0);
	assert_string_equal(type_of(sec), "rich_text_section");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sec, "elements")), tail ? 2 : 1);
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 0);
	assert_string_equal(type_of(el), "text");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), title);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(el, "style"), "bold")));
	if (tail != NULL) {
		el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 1);
		assert_string_equal(type_of(el), "text");
		assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), tail);
		assert_null(cJSON_GetObjectItem(el, "style"));
	}
	if (pre == NULL)
		return;
	sec = cJSON_GetArrayItem(parts, 1);
	assert_string_equal(type_of(sec), "rich_text_preformatted");
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 0);
	assert_string_equal(type_of(el), "text");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), pre);
}

/* Text of element i of a context block. */
static const char *ctx_el(const cJSON *b, int i, const char *type)
{
	const cJSON *el = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "elements"), i);

	assert_string_equal(type_of(b), "context");
	assert_non_null(el);
	assert_string_equal(type_of(el), type);
	return cJSON_GetStringValue(cJSON_GetObjectItem(el, "text"));
}

/* Checks button i of an actions block. */
static void check_button(const cJSON *b, int i, const char *title, const char *url)
{
	const cJSON *btn = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "elements"), i);

	assert_string_equal(type_of(b), "actions");
	assert_non_null(btn);
	assert_string_equal(type_of(btn), "button");
	assert_string_equal(type_of(cJSON_GetObjectItem(btn, "text")), "plain_text");
	assert_string_equal(block_text(btn), title);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(btn, "url")), url);
}

#define RUN_URL "https://app.matillion.com/observability-dashboard/pipeline/"
#define HEAD_2STEPS \
	"\xe2\x9d\x8c prod \xc2\xb7 load_sales failed in 2 steps: Table not found \xc2\xb7 3m"

/* The triage layout: headline as notification text and header, one
 * context line, the grouped error, the failed child listed, the others
 * counted, one button to the run. No facts, no per-step blocks. */
static void test_structure(void **state)
{
	struct summary s;
	struct render_opts d = { 0 };
	cJSON *root, *blocks;

	(void)state;
	make_summary(&s, 2, 0);
	add_child(&s, "c1", "child_a", ST_FAILED);
	add_child(&s, "c2", "child_b", ST_SUCCESS);
	regroup(&s);
	root = render(&s, &d, NULL);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(root, "text")), HEAD_2STEPS);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "mrkdwn")));
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_int_equal(cJSON_GetArraySize(blocks), 6);
	assert_string_equal(type_of(cJSON_GetArrayItem(blocks, 0)), "header");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)), HEAD_2STEPS);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(
		cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 0), "text"), "emoji")));
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 1), 0, "plain_text"),
			    "Sales \xc2\xb7 Scheduled");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 1), 1, "mrkdwn"),
			    "<!date^1714557600^{date_short_pretty} {time}|2024-05-01 10:00>"
			    "\xe2\x80\x93<!date^1714557785^{time}|10:03 UTC>");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 1), 2, "plain_text"),
			    "3m \xc2\xb7 run exec-1");
	check_error(cJSON_GetArrayItem(blocks, 2), "2 steps failed with the same error",
		    "\nStep 0 \xe2\x80\xa6 1", "Table not found");
	assert_string_equal(
		block_text(cJSON_GetArrayItem(blocks, 3)),
		"Other failed child pipelines\n\xe2\x80\xa2 child_a \xe2\x80\x94 FAILED");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 4), 0, "plain_text"),
			    "1 other child pipeline succeeded");
	check_button(cJSON_GetArrayItem(blocks, 5), 0, "Open run in Matillion", RUN_URL "exec-1");
	assert_int_equal(
		cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 5), "elements")),
		1);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 1 when t starts with "<prefix><digits><rest>" (sscanf alone would
 * accept a different rest); *v gets the digits. */
static int number_then(const char *t, const char *prefix, const char *rest, unsigned long long *v)
{
	char *end;

	if (strncmp(t, prefix, strlen(prefix)) != 0)
		return 0;
	t += strlen(prefix);
	if (*t < '0' || *t > '9')
		return 0;
	*v = strtoull(t, &end, 10);
	return strncmp(end, rest, strlen(rest)) == 0;
}

/* Checks every limit of the rendered s (blocks, header, sections, total
 * text, notification text) and returns what check_more_counts() needs:
 * the N of "+N more problem steps", the steps the error blocks account
 * for, the error blocks. */
static uint64_t check_limits(const struct summary *s, uint64_t *shown, size_t *errors)
{
	cJSON *root = render(s, NULL, NULL), *blocks = cJSON_GetObjectItem(root, "blocks"), *b;
	uint64_t more = 0;
	unsigned long long v;

	*shown = 0;
	*errors = 0;
	assert_true(cJSON_GetArraySize(blocks) <= SLACK_MAX_BLOCKS);
	assert_true(all_text(blocks) <= SLACK_TEXT_BUDGET);
	assert_true(width(cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"))) <= 3000);
	cJSON_ArrayForEach(b, blocks)
	{
		const char *t = block_text(b);

		if (strcmp(type_of(b), "header") == 0)
			assert_true(width(t) <= SLACK_MAX_HEADER);
		else
			assert_true(width(t) <= SLACK_MAX_SECTION);
		if (strcmp(type_of(b), "rich_text") == 0 &&
		    strncmp(t, "Other failed child pipelines", 28) != 0 &&
		    strncmp(t, "Message", 7) != 0) {
			(*errors)++;
			*shown += number_then(t, "", " steps ", &v) ? v : 1;
		}
		if (number_then(t, "+", " more problem step", &v)) {
			assert_int_equal(more, 0); /* only one such line */
			more = v;
		}
	}
	cJSON_Delete(root);
	return more;
}

static void test_limits(void **state)
{
	(void)state;
	check_more_counts(check_limits, 0);
	check_more_counts(check_limits, 1000);
}

/* n copies of piece joined, into a new string. */
static char *repeat(const char *piece, size_t n, const char *sep)
{
	size_t pl = strlen(piece), sl = strlen(sep), i;
	char *out = malloc(n * (pl + sl) + 1), *p = out;

	assert_non_null(out);
	for (i = 0; i < n; i++) {
		if (i && sl) {
			memcpy(p, sep, sl);
			p += sl;
		}
		memcpy(p, piece, pl);
		p += pl;
	}
	*p = '\0';
	return out;
}

/* Every untrusted field far longer than the summary keeps, in astral
 * code points (2 UTF-16 units each) and characters that grow when
 * escaped: three long multi-line errors, a full child list, every note,
 * the test flag and a mention. The message still renders within every
 * limit, the header is cut with "…" at 150 units, and the same
 * holds for a run whose only text is its run-level message. */
static void test_max_lengths_everywhere(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;
	char *name = repeat("\xf0\x9f\x98\x80<&", 700, ""), *line, *msg, *path, id[32];
	cJSON *root, *blocks, *b;
	const char *h;
	size_t i, kept;

	(void)state;
	d.mention = "<!subteam^S123> <@U999>";
	line = repeat("\xf0\x9f\x98\x80<", 100, "");
	msg = repeat(line, 30, "\n");
	path = repeat(name, 3, SEP);
	make_summary(&s, 9, 0);
	set(&s.pipeline_name, name);
	set(&s.environment, name);
	set(&s.project_name, name);
	set(&s.user, name);
	set(&s.schedule_name, name);
	set(&s.message, msg);
	s.is_test = 1;
	s.incomplete = strdup(name);
	s.degraded = strdup(name);
	s.follows_ms = T0;
	for (i = 0; i < s.n_failed; i++) {
		set(&s.failed[i].path, path);
		set(&s.failed[i].message, msg);
		s.failed[i].message[i % 5] = 'A'; /* five distinct errors */
		snprintf(id, sizeof(id), "c%zu", i);
		add_child(&s, id, name, ST_FAILED);
	}
	regroup(&s);
	for (i = 0; i < 2; i++) {
		root = render(&s, &d, NULL);
		blocks = cJSON_GetObjectItem(root, "blocks");
		assert_true(cJSON_GetArraySize(blocks) <= SLACK_MAX_BLOCKS);
		assert_true(all_text(blocks) <= SLACK_TEXT_BUDGET);
		assert_true(width(cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"))) <= 3000);
		/* An astral code point that would straddle the edge is left
		 * out whole, so the header may end one unit short. */
		h = block_text(cJSON_GetArrayItem(blocks, 0));
		assert_true(width(h) <= SLACK_MAX_HEADER);
		assert_true(width(h) >= SLACK_MAX_HEADER - 1);
		assert_string_equal(h + strlen(h) - 3, "\xe2\x80\xa6");
		cJSON_ArrayForEach(b, blocks)
		{
			if (strcmp(type_of(b), "header") != 0)
				assert_true(width(block_text(b)) <= SLACK_MAX_SECTION);
		}
		cJSON_Delete(root);
		/* Second round: no step error, only the run-level message. */
		kept = s.n_failed;
		s.n_failed = 0;
		regroup(&s);
		s.n_failed = kept;
	}
	summary_free(&s);
	free(name);
	free(line);
	free(msg);
	free(path);
}

/* A path with mrkdwn markers is still bold and shown as typed (rich_text
 * is literal), the root pipeline and a repeated folder are left out of it,
 * the excerpt keeps its lines and indentation, '<' '>' become look-alikes,
 * and a cancelled sibling step is marked as such, with no empty excerpt. */
static void test_error_literal(void **state)
{
	struct summary s;
	cJSON *root, *blocks;
	char *out;

	(void)state;
	make_summary(&s, 2, 0);
	set(&s.failed[0].path, "Finance/load_dwh" SEP "Finance/stage_orders" SEP "Load *raw*");
	set(&s.failed[0].message, "col `A_B` <!channel> & ```x```\n    WHERE a > 1");
	s.failed[1].status = ST_CANCELLED;
	set(&s.failed[1].status_text, "CANCELLED");
	set(&s.failed[1].message, "");
	regroup(&s);
	root = render(&s, NULL, &out);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)),
			    "\xe2\x9d\x8c prod \xc2\xb7 load_sales failed at stage_orders" SEP
			    "Load *raw*: col `A_B` \xe2\x80\xb9!channel\xe2\x80\xba & ```x``` "
			    "\xc2\xb7 3m");
	check_error(cJSON_GetArrayItem(blocks, 2), "stage_orders" SEP "Load *raw*", NULL,
		    "col `A_B` \xe2\x80\xb9!channel\xe2\x80\xba & ```x```\n    WHERE a "
		    "\xe2\x80\xba 1");
	check_error(cJSON_GetArrayItem(blocks, 3), "Step 1", " \xc2\xb7 cancelled", NULL);
	assert_null(strstr(out, "<!channel"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* Fails unless every '<' in t opens one of our own date tokens,
 * "<!date^<digits>^{date_short_pretty} {time}|<clock>>" or
 * "<!date^<digits>^{time}|<clock> UTC>": then no <!channel>, <@U…>,
 * <url|x> or <#C…> can have formed from untrusted text. */
static void only_date_tokens(const char *t)
{
	const char *p = t, *q;

	while ((p = strchr(p, '<')) != NULL) {
		if (strncmp(p, "<!date^", 7) != 0)
			fail_msg("'<' outside a date token: %.60s", p);
		q = p + 7;
		if (*q < '0' || *q > '9')
			fail_msg("bad date token: %.60s", p);
		while (*q >= '0' && *q <= '9')
			q++;
		if (strncmp(q, "^{date_short_pretty} {time}|", 28) == 0)
			q += 28;
		else if (strncmp(q, "^{time}|", 8) == 0)
			q += 8;
		else
			fail_msg("bad date token: %.60s", p);
		q += strspn(q, "0123456789-: UTC");
		if (*q != '>')
			fail_msg("bad date token: %.60s", p);
		p = q;
	}
}

/* Every string value in the tree passes only_date_tokens(). */
static void strings_inert(const cJSON *item)
{
	const cJSON *c;

	if (cJSON_IsString(item))
		only_date_tokens(item->valuestring);
	for (c = item ? item->child : NULL; c; c = c->next)
		strings_inert(c);
}

#define MARKER "Zq9"

/* Fails if any mrkdwn text object under item carries the marker: untrusted
 * text belongs in plain_text objects or rich_text elements, which Slack
 * shows literally (mrkdwn formats *b* _i_ ~s~ `c` even with verbatim). */
static void no_marker_in_mrkdwn(const cJSON *item)
{
	const cJSON *c;
	const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(item, "type"));

	if (cJSON_IsObject(item) && type != NULL && strcmp(type, "mrkdwn") == 0) {
		const char *t = cJSON_GetStringValue(cJSON_GetObjectItem(item, "text"));

		if (t != NULL && strstr(t, MARKER) != NULL)
			fail_msg("untrusted text in a mrkdwn object: %s", t);
	}
	for (c = item ? item->child : NULL; c; c = c->next)
		no_marker_in_mrkdwn(c);
}

/* Checks a button URL: our run link with the id percent-encoded, nothing
 * else. */
static void url_inert(const char *url)
{
	const char *id;

	assert_non_null(url);
	assert_memory_equal(url, RUN_URL, strlen(RUN_URL));
	id = url + strlen(RUN_URL);
	assert_true(*id != '\0');
	assert_int_equal(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-._~%"),
			 strlen(id));
}

/* Each hostile string, with a marker, in every untrusted field of an
 * UNKNOWN-status run and of a FAILED one (headline "failed in 3 steps:
 * <error>", context line with schedule and user, grouped error titles with
 * their "first … last" range, a single error, the failing child's run,
 * listed children, notes; also as a follow-up): no tag forms anywhere,
 * the notification text has entities only, the marker reaches every one
 * of those places but never a mrkdwn object or a button title, the
 * button URLs carry the hostile id percent-encoded, and the body is valid
 * UTF-8 without controls. */
static void test_hostile_text(void **state)
{
	struct summary s;
	size_t i, k, errs, marked;
	char *out, *again, t[128];
	const char *text;
	cJSON *root, *blocks, *b, *btn;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(t, sizeof(t), "%s " MARKER, hostile[i]);
		for (k = 0; k < 3; k++) {
			if (k == 0)
				make_hostile(&s, t);
			else
				make_hostile_failed(&s, t, k == 2);
			root = render(&s, NULL, &out);
			strings_inert(root);
			no_marker_in_mrkdwn(root);
			assert_null(strstr(out, "<@"));
			assert_null(strstr(out, "<http"));
			assert_null(strstr(out, "<at>"));
			assert_null(strstr(out, "<#"));
			text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
			assert_null(strchr(text, '<'));
			assert_null(strchr(text, '>'));
			assert_non_null(strstr(text, MARKER));
			blocks = cJSON_GetObjectItem(root, "blocks");
			assert_non_null(strstr(block_text(cJSON_GetArrayItem(blocks, 0)), MARKER));
			assert_non_null(strstr(
				ctx_el(cJSON_GetArrayItem(blocks, 1), 0, "plain_text"), MARKER));
			errs = 0;
			marked = 0;
			cJSON_ArrayForEach(b, blocks)
			{
				if (strcmp(type_of(b), "rich_text") == 0 &&
				    strncmp(block_text(b), "Other failed", 12) != 0) {
					errs++;
					marked += strstr(block_text(b), MARKER) != NULL;
				}
				if (strcmp(type_of(b), "actions") != 0)
					continue;
				cJSON_ArrayForEach(btn, cJSON_GetObjectItem(b, "elements"))
				{
					assert_null(strstr(block_text(btn), MARKER));
					url_inert(cJSON_GetStringValue(
						cJSON_GetObjectItem(btn, "url")));
				}
			}
			assert_true(errs >= (k ? 2 : 1));
			assert_int_equal(marked, errs);
			if (k > 0) {
				assert_non_null(strstr(text, "failed in 3 steps"));
				assert_non_null(strstr(out, "2 steps failed with the same error"));
				assert_non_null(strstr(out, "Other failed child pipelines"));
				assert_non_null(strstr(out, "Open failed child run"));
			}
			if (k == 2)
				assert_non_null(
					strstr(out, "Completes the notice posted at 10:10 UTC"));
			again = text_sanitize(out, strlen(out), 1);
			assert_string_equal(again, out); /* valid UTF-8, no controls */
			free(again);
			free(out);
			cJSON_Delete(root);
			summary_free(&s);
		}
	}
	make_hostile_failed(&s, "<!channel> & co", 0);
	root = render(&s, NULL, &out);
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_non_null(strstr(text, "&lt;!channel&gt; &amp; co"));
	assert_non_null(strstr(out, "\xe2\x80\xb9!channel\xe2\x80\xba & co"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* Markup in every untrusted field renders literally; the notification
 * text is not mrkdwn and links nothing; the configured mention still
 * works, once, right under the header. */
static void test_untrusted_never_formatted(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;
	cJSON *root, *b;
	char *out;
	const char *text;
	int mention = 0;

	(void)state;
	d.mention = "<!subteam^S123> <@U999>";
	make_hostile_failed(
		&s, MARKER " *b* _i_ ~s~ `c` ```p``` >q <https://evil|x> https://evil.example", 1);
	s.follows_ms = -1;
	root = render(&s, &d, &out);
	no_marker_in_mrkdwn(cJSON_GetObjectItem(root, "blocks"));
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(root, "blocks")) mention +=
		strcmp(block_text(b), d.mention) == 0;
	assert_int_equal(mention, 1);
	assert_string_equal(block_text(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 1)),
			    d.mention);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(root, "mrkdwn")));
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_non_null(strstr(text, MARKER " *b* _i_ ~s~ `c`"));
	assert_null(strchr(text, '<'));
	assert_null(strchr(text, '>'));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The mention block's text, or NULL when there is none. */
static char *mention_of(const struct summary *s, const struct render_opts *d)
{
	cJSON *root = render(s, d, NULL), *b;
	char *found = NULL;

	cJSON_ArrayForEach(b, cJSON_GetObjectItem(root, "blocks"))
	{
		if (strcmp(block_text(b), "<!subteam^S123> <@U999>") == 0) {
			assert_null(
				cJSON_GetObjectItem(cJSON_GetObjectItem(b, "text"), "verbatim"));
			found = strdup(block_text(b));
		}
	}
	cJSON_Delete(root);
	return found;
}

/* Mentions are for failed and forbidden runs only: never for a cancelled
 * (or cancelling) run, a success, a run still going, nor for the follow-up
 * that completes an earlier notice. */
static void test_mention_only_for_failures(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;
	char *m;

	(void)state;
	d.mention = "<!subteam^S123> <@U999>";
	make_summary(&s, 1, 0);
	regroup(&s);
	m = mention_of(&s, &d);
	assert_non_null(m);
	free(m);
	s.status = ST_FORBIDDEN;
	m = mention_of(&s, &d);
	assert_non_null(m);
	free(m);
	s.status = ST_CANCELLED;
	assert_null(mention_of(&s, &d));
	s.status = ST_CANCELLING;
	assert_null(mention_of(&s, &d));
	s.status = ST_SUCCESS;
	assert_null(mention_of(&s, &d));
	s.status = ST_RUNNING;
	assert_null(mention_of(&s, &d));
	s.status = ST_FAILED;
	s.follows_ms = 0;
	assert_null(mention_of(&s, &d));
	s.follows_ms = T0;
	assert_null(mention_of(&s, &d));
	s.follows_ms = -1;
	assert_null(mention_of(&s, NULL));
	summary_free(&s);
}

/* The test flag leads the headline and the context line; the notes come
 * right after the context line, in plain_text (follow-up, degraded
 * reason, incomplete); a degraded run without step details says they
 * follow; no link means no buttons; an error in a child run gets its own
 * run's button first, then the whole run's. */
static void test_notes_and_links(void **state)
{
	struct summary s;
	cJSON *root, *blocks, *b;

	(void)state;
	make_summary(&s, 1, 0);
	s.is_test = 1;
	s.follows_ms = T0 + 600000;
	s.incomplete = strdup("API call budget reached; 3 child pipelines not fetched");
	s.degraded = strdup("dpc-notify couldn't reach Matillion's API.");
	s.degraded_promise = 1;
	regroup(&s);
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)),
			    "\xf0\x9f\xa7\xaa TEST \xc2\xb7 \xe2\x9d\x8c prod \xc2\xb7 load_sales "
			    "failed at Step 0: Table not found \xc2\xb7 3m");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 1), 0, "plain_text"),
			    "Test message sent by dpc-notify send-test");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 2), 0, "plain_text"),
			    "Completes the notice posted at 10:10 UTC: Matillion's API is "
			    "answering again.");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 3), 0, "plain_text"),
			    "dpc-notify couldn't reach Matillion's API.");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 4), 0, "plain_text"),
			    "API call budget reached; 3 child pipelines not fetched");
	check_error(cJSON_GetArrayItem(blocks, 5), "Step 0", NULL, "Table not found");
	cJSON_Delete(root);
	/* Degraded, no step seen: the details follow. No link: no buttons. */
	s.n_failed = 0;
	s.is_test = 0;
	s.follows_ms = -1;
	regroup(&s);
	s.n_failed = 1;
	free(s.link);
	s.link = NULL;
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)),
			    "\xe2\x9d\x8c prod \xc2\xb7 load_sales failed (details follow) "
			    "\xc2\xb7 3m");
	cJSON_ArrayForEach(b, blocks) assert_string_not_equal(type_of(b), "actions");
	cJSON_Delete(root);
	summary_free(&s);
	/* The error is in a child run: its run first, then the whole run. */
	make_summary(&s, 1, 0);
	s.failed[0].execution_id = strdup("child-9");
	regroup(&s);
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	b = cJSON_GetArrayItem(blocks, cJSON_GetArraySize(blocks) - 1);
	check_button(b, 0, "Open failed child run", RUN_URL "child-9");
	check_button(b, 1, "Open whole run", RUN_URL "exec-1");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "elements")), 2);
	cJSON_Delete(root);
	summary_free(&s);
}

/* The header is cut at 150 units with "…"; the notification text keeps
 * the whole triage line (each part already cut by the view: the name to
 * 80 characters, the error's line to 120) and escapes & < > as entities. */
static void test_long_header_and_fallback(void **state)
{
	struct summary s;
	cJSON *root;
	char name[1200], want[512];
	const char *h, *text;

	(void)state;
	make_summary(&s, 1, 1000);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	set(&s.pipeline_name, name);
	regroup(&s);
	root = render(&s, NULL, NULL);
	h = block_text(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 0));
	assert_int_equal(width(h), SLACK_MAX_HEADER);
	assert_string_equal(h + strlen(h) - 3, "\xe2\x80\xa6");
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	snprintf(want, sizeof(want),
		 "\xe2\x9d\x8c prod \xc2\xb7 %.79s\xe2\x80\xa6 failed at Step 0: "
		 "%.119s\xe2\x80\xa6 \xc2\xb7 3m",
		 name, s.failed[0].message);
	assert_string_equal(text, want);
	cJSON_Delete(root);
	set(&s.pipeline_name, "p");
	set(&s.failed[0].message, "<&>");
	regroup(&s);
	root = render(&s, NULL, NULL);
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_string_equal(text, "\xe2\x9d\x8c prod \xc2\xb7 p failed at Step 0: &lt;&amp;&gt; "
				  "\xc2\xb7 3m");
	h = block_text(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 0));
	assert_string_equal(h, "\xe2\x9d\x8c prod \xc2\xb7 p failed at Step 0: "
			       "\xe2\x80\xb9&\xe2\x80\xba \xc2\xb7 3m");
	cJSON_Delete(root);
	summary_free(&s);
}

/* 300 steps with one error are one block "300 steps failed with the same
 * error" over "Replicate table 12 … 311"; with five errors, three are
 * shown (60 steps each) and "+120 more problem steps with 2 other errors"
 * counts the rest; a cancelled run says so in its headline with ⏹. */
static void test_grouped_errors(void **state)
{
	struct summary s;
	cJSON *root, *blocks;
	char path[64];
	size_t i;

	(void)state;
	make_summary(&s, 300, 0);
	for (i = 0; i < s.n_failed; i++) {
		snprintf(path, sizeof(path), "Root" SEP "Replicate table %zu", i + 12);
		set(&s.failed[i].path, path);
	}
	regroup(&s);
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)),
			    "\xe2\x9d\x8c prod \xc2\xb7 load_sales failed in 300 steps: Table not "
			    "found \xc2\xb7 3m");
	check_error(cJSON_GetArrayItem(blocks, 2), "300 steps failed with the same error",
		    "\nReplicate table 12 \xe2\x80\xa6 311", "Table not found");
	assert_string_equal(type_of(cJSON_GetArrayItem(blocks, 3)), "actions");
	assert_int_equal(cJSON_GetArraySize(blocks), 4);
	cJSON_Delete(root);
	distinct_errors(&s, 5);
	regroup(&s);
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	check_error(cJSON_GetArrayItem(blocks, 2), "60 steps failed with the same error",
		    "\nReplicate table 12 \xe2\x80\xa6 307", "E0 le not found");
	check_error(cJSON_GetArrayItem(blocks, 3), "60 steps failed with the same error",
		    "\nReplicate table 13 \xe2\x80\xa6 308", "E1 le not found");
	check_error(cJSON_GetArrayItem(blocks, 4), "60 steps failed with the same error",
		    "\nReplicate table 14 \xe2\x80\xa6 309", "E2 le not found");
	assert_string_equal(ctx_el(cJSON_GetArrayItem(blocks, 5), 0, "plain_text"),
			    "+120 more problem steps with 2 other errors");
	cJSON_Delete(root);
	summary_free(&s);
	make_summary(&s, 1, 0);
	s.status = ST_CANCELLED;
	s.failed[0].status = ST_CANCELLED;
	set(&s.failed[0].message, "Cancelled by user");
	regroup(&s);
	root = render(&s, NULL, NULL);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 0)),
			    "\xe2\x8f\xb9 prod \xc2\xb7 load_sales was cancelled at Step 0: "
			    "Cancelled by user \xc2\xb7 3m");
	check_error(cJSON_GetArrayItem(blocks, 2), "Step 0", " \xc2\xb7 cancelled",
		    "Cancelled by user");
	cJSON_Delete(root);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_max_lengths_everywhere),
		cmocka_unit_test(test_error_literal),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_untrusted_never_formatted),
		cmocka_unit_test(test_mention_only_for_failures),
		cmocka_unit_test(test_notes_and_links),
		cmocka_unit_test(test_long_header_and_fallback),
		cmocka_unit_test(test_grouped_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
