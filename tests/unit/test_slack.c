/* Unit tests for slack.c: the rendered JSON is parsed back and checked for
 * structure, Block Kit limits, the "+N more" policy, hostile text and the
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

/* Checks a failed-step rich_text block: emoji, bold path, plain tail and
 * (when msg is not NULL) the message as a preformatted part. */
static void check_step(const cJSON *b, const char *emoji, const char *path, const char *tail,
		       const char *msg)
{
	const cJSON *parts = cJSON_GetObjectItem(b, "elements"), *sec, *el;

	assert_string_equal(type_of(b), "rich_text");
	assert_int_equal(cJSON_GetArraySize(parts), msg ? 2 : 1);
	sec = cJSON_GetArrayItem(parts, 0);
	assert_string_equal(type_of(sec), "rich_text_section");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(sec, "elements")), 4);
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), emoji);
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 2);
	assert_string_equal(type_of(el), "text");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), path);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(el, "style"), "bold")));
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 3);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), tail);
	assert_null(cJSON_GetObjectItem(el, "style"));
	if (msg == NULL)
		return;
	sec = cJSON_GetArrayItem(parts, 1);
	assert_string_equal(type_of(sec), "rich_text_preformatted");
	el = cJSON_GetArrayItem(cJSON_GetObjectItem(sec, "elements"), 0);
	assert_string_equal(type_of(el), "text");
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(el, "text")), msg);
}

static void test_structure(void **state)
{
	struct summary s;
	struct render_opts d = { 0 };
	cJSON *root, *blocks, *b, *fields, *btn;
	size_t nb;

	(void)state;
	make_summary(&s, 2, 0);
	free(s.failed[0].path);
	s.failed[0].path = strdup("Root" SEP "Load");
	add_child(&s, "c1", "child_a", ST_FAILED);
	root = render(&s, &d, NULL);
	assert_true(strlen(cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"))) > 0);
	blocks = cJSON_GetObjectItem(root, "blocks");
	nb = (size_t)cJSON_GetArraySize(blocks);
	b = cJSON_GetArrayItem(blocks, 0);
	assert_string_equal(type_of(b), "header");
	assert_string_equal(block_text(b), "\xe2\x9d\x8c load_sales FAILED in prod (Sales)");
	b = cJSON_GetArrayItem(blocks, 1);
	fields = cJSON_GetObjectItem(b, "fields");
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 0), "text")),
		"Project\nSales");
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 3), "text")),
		"Trigger\nSCHEDULE");
	assert_string_equal(
		cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 5), "text")),
		"Duration\n3m 05s");
	assert_string_equal(type_of(cJSON_GetArrayItem(fields, 0)), "plain_text");
	assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetArrayItem(fields, 0), "emoji")));
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 2)),
			    "48 steps: 45 succeeded, 2 failed, 1 cancelled");
	b = cJSON_GetArrayItem(blocks, 3);
	check_step(b, "\xe2\x9d\x8c", "Root" SEP "Load", " \xc2\xb7 FAILED \xc2\xb7 3m 05s",
		   "Table not found");
	b = cJSON_GetArrayItem(blocks, 5);
	assert_string_equal(type_of(b), "rich_text");
	assert_string_equal(block_text(b),
			    "Child pipelines\n\xe2\x80\xa2 child_a \xe2\x80\x94 FAILED");
	b = cJSON_GetArrayItem(blocks, 6);
	assert_int_equal(nb, 7);
	assert_string_equal(type_of(b), "actions");
	btn = cJSON_GetArrayItem(cJSON_GetObjectItem(b, "elements"), 0);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(btn, "url")),
			    "https://app.matillion.com/observability-dashboard/pipeline/exec-1");
	assert_string_equal(block_text(btn), "Open run in Matillion");
	cJSON_Delete(root);
	summary_free(&s);
}

/* Checks every limit and returns the "+N" shown (0 if no such line) and
 * the number of step sections in *shown. */
static uint64_t check_limits(const struct summary *s, size_t *shown)
{
	cJSON *root = render(s, NULL, NULL), *blocks = cJSON_GetObjectItem(root, "blocks"), *b;
	uint64_t more = 0;
	unsigned long long v;

	*shown = 0;
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
		if (strncmp(t, "\xe2\x9d\x8c Root" SEP "Step ",
			    strlen("\xe2\x9d\x8c Root" SEP "Step ")) == 0)
			(*shown)++;
		if (sscanf(t, "+%llu more failed steps", &v) == 1) {
			assert_int_equal(more, 0); /* only one such line */
			more = v;
		}
	}
	cJSON_Delete(root);
	return more;
}

static void test_limits(void **state)
{
	struct summary s;
	size_t shown;
	uint64_t more;

	(void)state;
	check_more_counts(check_limits, 0);
	check_more_counts(check_limits, 1000);
	/* failed_more (beyond the summary's cap) is part of N. */
	make_summary(&s, 3, 0);
	s.failed_more = 7;
	more = check_limits(&s, &shown);
	assert_int_equal(shown, 3);
	assert_int_equal(more, 7);
	summary_free(&s);
	/* Short messages: the 50-block cap binds before the text budget. */
	make_summary(&s, 100, 0);
	more = check_limits(&s, &shown);
	assert_int_equal(more, 100 - shown);
	assert_true(shown >= 40);
	summary_free(&s);
}

/* A path with mrkdwn markers is still bold and shown as typed (rich_text
 * is literal); an unknown duration is left out, never "?"; '<' '>' in
 * rich_text become look-alikes. */
static void test_step_path_literal(void **state)
{
	struct summary s;
	cJSON *root, *b;
	char *out;

	(void)state;
	make_summary(&s, 2, 0);
	set(&s.failed[0].path, "Finance/load_dwh" SEP "Finance/stage_orders" SEP "Load *raw*");
	set(&s.failed[0].message, "col `A_B` <!channel> & ```x```");
	s.failed[0].duration_ms = -1;
	s.failed[1].status = ST_CANCELLED;
	set(&s.failed[1].status_text, "CANCELLED");
	set(&s.failed[1].message, "");
	root = render(&s, NULL, &out);
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 3);
	check_step(b, "\xe2\x9d\x8c",
		   "Finance/load_dwh" SEP "Finance/stage_orders" SEP "Load *raw*",
		   " \xc2\xb7 FAILED", "col `A_B` \xe2\x80\xb9!channel\xe2\x80\xba & ```x```");
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 4);
	check_step(b, "\xe2\x9a\xa0\xef\xb8\x8f", "Root" SEP "Step 1",
		   " \xc2\xb7 CANCELLED \xc2\xb7 3m 05s", NULL);
	assert_null(strstr(out, "\xc2\xb7 ?"));
	assert_null(strstr(out, "<!"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

static void test_hostile_text(void **state)
{
	struct summary s;
	size_t i;
	char *out, *again;
	cJSON *root;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		make_hostile(&s, hostile[i]);
		root = render(&s, NULL, &out);
		assert_null(strstr(out, "<!"));
		assert_null(strstr(out, "<@"));
		assert_null(strstr(out, "<http"));
		assert_null(strstr(out, "<at>"));
		assert_null(strstr(out, "<#"));
		again = text_sanitize(out, strlen(out), 1);
		assert_string_equal(again, out); /* valid UTF-8, no controls */
		free(again);
		free(out);
		cJSON_Delete(root);
		summary_free(&s);
	}
	make_hostile(&s, "<!channel> & co");
	root = render(&s, NULL, &out);
	assert_non_null(strstr(out, "&lt;!channel&gt; &amp; co"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
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

/* Every untrusted field (facts, caveats, message, children, steps) renders
 * literally; the fallback is not mrkdwn and links nothing; the configured
 * mention still works. */
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
	make_hostile(&s,
		     MARKER " *b* _i_ ~s~ `c` ```p``` >q <https://evil|x> https://evil.example");
	s.status = ST_FAILED;
	root = render(&s, &d, &out);
	no_marker_in_mrkdwn(cJSON_GetObjectItem(root, "blocks"));
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(root, "blocks")) mention +=
		strcmp(block_text(b), d.mention) == 0;
	assert_int_equal(mention, 1);
	/* The fallback keeps Slack's entity escapes and is not parsed as mrkdwn. */
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

static void test_mention_only_for_problems(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;
	char *m;

	(void)state;
	d.mention = "<!subteam^S123> <@U999>";
	make_summary(&s, 1, 0);
	m = mention_of(&s, &d);
	assert_non_null(m);
	free(m);
	s.status = ST_CANCELLED;
	m = mention_of(&s, &d);
	assert_non_null(m);
	free(m);
	s.status = ST_SUCCESS;
	assert_null(mention_of(&s, &d));
	s.status = ST_RUNNING;
	assert_null(mention_of(&s, &d));
	s.status = ST_FAILED;
	assert_null(mention_of(&s, NULL));
	summary_free(&s);
}

static void test_banner_caveats_and_link(void **state)
{
	struct summary s;
	cJSON *root, *blocks, *b;
	char *out;

	(void)state;
	make_summary(&s, 1, 0);
	s.is_test = 1;
	s.incomplete = strdup("API call budget reached; 3 child pipelines not fetched");
	s.degraded = strdup("step details unavailable: 403");
	root = render(&s, NULL, &out);
	blocks = cJSON_GetObjectItem(root, "blocks");
	assert_string_equal(
		block_text(cJSON_GetArrayItem(blocks, 0)),
		"*\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by dpc-notify send-test*");
	assert_string_equal(
		block_text(cJSON_GetArrayItem(blocks, 2)),
		"\xe2\x9a\xa0\xef\xb8\x8f API call budget reached; 3 child pipelines not fetched");
	assert_string_equal(block_text(cJSON_GetArrayItem(blocks, 3)),
			    "\xe2\x9a\xa0\xef\xb8\x8f step details unavailable: 403");
	b = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(blocks, 3), "elements"), 0);
	assert_string_equal(type_of(b), "plain_text");
	free(out);
	cJSON_Delete(root);
	/* No link: no actions block. */
	free(s.link);
	s.link = NULL;
	root = render(&s, NULL, &out);
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(root, "blocks"))
		assert_string_not_equal(type_of(b), "actions");
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

static void test_long_header_and_fallback(void **state)
{
	struct summary s;
	cJSON *root;
	char name[1200];
	const char *h, *text;

	(void)state;
	make_summary(&s, 1, 1000);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	set(&s.pipeline_name, name);
	set(&s.failed[0].message, "<&>");
	root = render(&s, NULL, NULL);
	h = block_text(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "blocks"), 0));
	assert_int_equal(width(h), SLACK_MAX_HEADER);
	assert_string_equal(h + strlen(h) - 3, "\xe2\x80\xa6");
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_true(width(text) <= 3000);
	assert_non_null(strstr(text, "48 steps: 45 succeeded"));
	cJSON_Delete(root);
	/* Fallback escapes and names the first failure. */
	set(&s.pipeline_name, "p");
	root = render(&s, NULL, NULL);
	text = cJSON_GetStringValue(cJSON_GetObjectItem(root, "text"));
	assert_string_equal(text, "\xe2\x9d\x8c p FAILED in prod (Sales). 48 steps: 45 succeeded, "
				  "2 failed, 1 cancelled. First failure: Root" SEP
				  "Step 0: &lt;&amp;&gt;");
	cJSON_Delete(root);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_step_path_literal),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_untrusted_never_formatted),
		cmocka_unit_test(test_mention_only_for_problems),
		cmocka_unit_test(test_banner_caveats_and_link),
		cmocka_unit_test(test_long_header_and_fallback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
