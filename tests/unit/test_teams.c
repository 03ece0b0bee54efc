/* Unit tests for teams.c: the rendered body is parsed back and checked for
 * the Workflows envelope, the Adaptive Card structure, the 28 KB cap with
 * the "+N more" policy, hostile text (only ever inside TextRuns, never
 * backslash-escaped) and the mention rule. */
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

/* The row under test. */
static const struct target *teams(void)
{
	const struct target *t = target_find("teams");

	assert_non_null(t);
	return t;
}

static cJSON *render(const struct summary *s, const struct render_opts *d, char **raw)
{
	char *out = teams()->render(s, d);
	cJSON *root;

	assert_non_null(out);
	assert_true(strlen(out) <= teams()->limits.max_bytes);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

static cJSON *card_of(const cJSON *root)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0),
				   "content");
}

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v ? v : "";
}

/* Item i of array key of o. */
static cJSON *at(const cJSON *o, const char *key, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(o, key), i);
}

/* Checks that RichTextBlock rb holds exactly the n TextRun texts given. */
static void check_runs(const cJSON *rb, size_t n, const char *const *want)
{
	size_t i;

	assert_string_equal(str(rb, "type"), "RichTextBlock");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(rb, "inlines")), n);
	for (i = 0; i < n; i++) {
		assert_string_equal(str(at(rb, "inlines", (int)i), "type"), "TextRun");
		assert_string_equal(str(at(rb, "inlines", (int)i), "text"), want[i]);
	}
}

static void check_fact(const cJSON *fs, int i, const char *title, const char *value)
{
	assert_string_equal(str(at(fs, "facts", i), "title"), title);
	assert_string_equal(str(at(fs, "facts", i), "value"), value);
}

static void check_envelope(const cJSON *root)
{
	cJSON *att = at(root, "attachments", 0), *card = card_of(root);

	assert_string_equal(str(root, "type"), "message");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "attachments")), 1);
	assert_string_equal(str(att, "contentType"), "application/vnd.microsoft.card.adaptive");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(att, "contentUrl")));
	assert_string_equal(str(card, "type"), "AdaptiveCard");
	assert_string_equal(str(card, "version"), "1.5");
	assert_string_equal(str(card, "$schema"),
			    "http://adaptivecards.io/schemas/adaptive-card.json");
	assert_string_equal(str(cJSON_GetObjectItem(card, "msteams"), "width"), "Full");
}

static void test_structure(void **state)
{
	static const char *const title[] = { "\xe2\x9d\x8c load_sales FAILED in prod (Sales)" };
	static const char *const names[] = { "Project ", "Sales", " \xc2\xb7 ", "Environment ",
					     "prod" };
	static const char *const step[] = { "Root" SEP "Load_x", " \xc2\xb7 FAILED",
					    " \xc2\xb7 3m 05s" };
	static const char *const msg[] = { "Table not found" };
	static const char *const child[] = { "\xe2\x80\xa2 child_a", " \xe2\x80\x94 ", "FAILED" };
	struct summary s;
	cJSON *root, *card, *body, *b, *act;

	(void)state;
	make_summary(&s, 1, 0);
	free(s.failed[0].path);
	s.failed[0].path = strdup("Root" SEP "Load_x");
	add_child(&s, "c1", "child_a", ST_FAILED);
	root = render(&s, NULL, NULL);
	check_envelope(root);
	card = card_of(root);
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities"));
	body = cJSON_GetObjectItem(card, "body");
	b = cJSON_GetArrayItem(body, 0);
	check_runs(b, 1, title);
	assert_string_equal(str(at(b, "inlines", 0), "size"), "Large");
	assert_string_equal(str(at(b, "inlines", 0), "weight"), "Bolder");
	assert_string_equal(str(at(b, "inlines", 0), "color"), "Attention");
	b = cJSON_GetArrayItem(body, 1);
	check_runs(b, 5, names);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(at(b, "inlines", 0), "isSubtle")));
	assert_string_equal(str(at(b, "inlines", 1), "weight"), "Bolder");
	b = cJSON_GetArrayItem(body, 2);
	assert_string_equal(str(b, "type"), "FactSet");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(b, "facts")), 5);
	check_fact(b, 0, "Status", "FAILED");
	check_fact(b, 1, "Trigger", "SCHEDULE");
	check_fact(b, 2, "Started", "2024-05-01 10:00:00 UTC");
	check_fact(b, 3, "Duration", "3m 05s");
	check_fact(b, 4, "Execution", "exec-1");
	b = cJSON_GetArrayItem(body, 3);
	assert_string_equal(str(b, "type"), "TextBlock");
	assert_string_equal(str(b, "text"), "48 steps: 45 succeeded, 2 failed, 1 cancelled");
	b = cJSON_GetArrayItem(body, 4);
	assert_string_equal(str(b, "type"), "Container");
	check_runs(at(b, "items", 0), 3, step);
	assert_string_equal(str(at(at(b, "items", 0), "inlines", 0), "weight"), "Bolder");
	assert_string_equal(str(at(at(b, "items", 0), "inlines", 1), "color"), "Attention");
	check_runs(at(b, "items", 1), 1, msg);
	assert_string_equal(str(at(at(b, "items", 1), "inlines", 0), "fontType"), "Monospace");
	assert_string_equal(str(cJSON_GetArrayItem(body, 5), "text"), "Child pipelines");
	check_runs(cJSON_GetArrayItem(body, 6), 3, child);
	assert_int_equal(cJSON_GetArraySize(body), 7);
	act = at(card, "actions", 0);
	assert_string_equal(str(act, "type"), "Action.OpenUrl");
	assert_string_equal(str(act, "title"), "Open run in Matillion");
	assert_string_equal(str(act, "url"),
			    "https://app.matillion.com/observability-dashboard/pipeline/exec-1");
	cJSON_Delete(root);
	summary_free(&s);
}

/* Names with Markdown specials are shown exactly as typed: no backslash
 * anywhere in the body, and an unknown duration is left out, not "?". */
static void test_names_shown_literally(void **state)
{
	static const char *const step[] = { "Finance/load_dwh (v2) *x*" SEP "Load [raw]",
					    " \xc2\xb7 FAILED" };
	static const char *const child[] = { "\xe2\x80\xa2 load_dwh (v2) *x*", " \xe2\x80\x94 ",
					     "FAILED" };
	struct summary s;
	cJSON *root, *body, *b;
	char *out;

	(void)state;
	make_summary(&s, 1, 0);
	set(&s.pipeline_name, "load_dwh (v2) *x*");
	set(&s.environment, "dev_1");
	set(&s.failed[0].path, "Finance/load_dwh (v2) *x*" SEP "Load [raw]");
	set(&s.failed[0].message, "column `A_B` #1 ~x~ (see [docs])");
	s.failed[0].duration_ms = -1;
	add_child(&s, "c1", "load_dwh (v2) *x*", ST_FAILED);
	root = render(&s, NULL, &out);
	assert_null(strchr(out, '\\'));
	body = cJSON_GetObjectItem(card_of(root), "body");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 0), "inlines", 0), "text"),
			    "\xe2\x9d\x8c load_dwh (v2) *x* FAILED in dev_1 (Sales)");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 1), "inlines", 4), "text"), "dev_1");
	b = cJSON_GetArrayItem(body, 4);
	check_runs(at(b, "items", 0), 2, step);
	assert_string_equal(str(at(at(b, "items", 1), "inlines", 0), "text"),
			    "column `A_B` #1 ~x~ (see [docs])");
	check_runs(cJSON_GetArrayItem(body, 6), 3, child);
	assert_null(strstr(out, "\xc2\xb7 ?"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* Only values that cannot form Markdown reach the FactSet; the rest move to
 * the literal line under the title. */
static void test_fact_set_only_plain_values(void **state)
{
	static const char *const names[] = {
		"Project ", "Sales",           " \xc2\xb7 ", "Environment ", "prod", " \xc2\xb7 ",
		"Trigger ", "SCHEDULE by a_b", " \xc2\xb7 ", "Execution ",   "12. x"
	};
	struct summary s;
	cJSON *root, *body, *fs;

	(void)state;
	make_summary(&s, 0, 0);
	set(&s.user, "a_b");
	set(&s.execution_id, "12. x");
	s.status = ST_UNKNOWN;
	set(&s.status_text, "HALF-DONE");
	root = render(&s, NULL, NULL);
	body = cJSON_GetObjectItem(card_of(root), "body");
	check_runs(cJSON_GetArrayItem(body, 1), 11, names);
	fs = cJSON_GetArrayItem(body, 2);
	assert_string_equal(str(fs, "type"), "FactSet");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(fs, "facts")), 3);
	check_fact(fs, 0, "Status", "HALF-DONE");
	check_fact(fs, 1, "Started", "2024-05-01 10:00:00 UTC");
	check_fact(fs, 2, "Duration", "3m 05s");
	cJSON_Delete(root);
	summary_free(&s);
}

/* Returns the N of "+N more failed steps" (0 if absent); *shown gets the
 * number of step containers. */
static uint64_t more_of(const struct summary *s, size_t *shown)
{
	cJSON *root = render(s, NULL, NULL), *b;
	uint64_t more = 0;
	unsigned long long v;

	*shown = 0;
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(card_of(root), "body"))
	{
		if (strcmp(str(b, "type"), "Container") == 0)
			(*shown)++;
		if (sscanf(str(b, "text"), "+%llu more failed steps", &v) == 1) {
			assert_int_equal(more, 0);
			more = v;
		}
	}
	cJSON_Delete(root);
	return more;
}

static void test_size_limits(void **state)
{
	struct summary s;
	size_t i, shown;
	uint64_t more;

	(void)state;
	check_more_counts(more_of, 1000);
	/* Short steps all fit; failed_more still shows. */
	make_summary(&s, 50, 0);
	s.failed_more = 9;
	more = more_of(&s, &shown);
	assert_int_equal(shown, 50);
	assert_int_equal(more, 9);
	summary_free(&s);
	/* Worst-case growth (every '<' becomes a 3-byte look-alike, every '"'
	 * a JSON escape pair) still stays within the cap. */
	make_summary(&s, 100, 1000);
	for (i = 0; i < s.n_failed; i++) {
		memset(s.failed[i].message, i % 2 ? '<' : '"', 1000);
		set(&s.failed[i].path, "<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<");
	}
	more = more_of(&s, &shown);
	assert_int_equal(more, 100 - shown);
	assert_true(shown >= 1 && shown < 20);
	summary_free(&s);
}

#define MARKER "QZX"

/* Fails unless every string in node that contains MARKER is the "text" of
 * a TextRun (the only text Teams does not read as Markdown); returns how
 * many such runs were seen. */
static size_t marker_only_in_runs(const cJSON *node)
{
	const cJSON *c;
	size_t n = 0;

	for (c = node ? node->child : NULL; c != NULL; c = c->next) {
		if (cJSON_IsString(c) && strstr(c->valuestring, MARKER) != NULL) {
			assert_non_null(c->string);
			assert_string_equal(c->string, "text");
			assert_string_equal(str(node, "type"), "TextRun");
			n++;
		}
		n += marker_only_in_runs(c);
	}
	return n;
}

static void test_hostile_text(void **state)
{
	struct summary s;
	size_t i;
	char *out, *again, t[128];
	cJSON *root;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		snprintf(t, sizeof(t), "%s " MARKER, hostile[i]);
		make_hostile(&s, t);
		root = render(&s, NULL, &out);
		assert_null(strstr(out, "<at>"));
		assert_null(strstr(out, "</at>"));
		assert_null(strstr(out, "<!"));
		assert_null(strstr(out, "<@"));
		assert_null(strstr(out, "<http"));
		assert_null(strstr(out, "<#"));
		/* title, names line, message, caveats x2, 3 steps x (path, status,
		 * message), child: 14 runs at least, and nowhere else. */
		assert_true(marker_only_in_runs(root) >= 14);
		assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card_of(root), "msteams"),
						"entities"));
		again = text_sanitize(out, strlen(out), 1);
		assert_string_equal(again, out);
		free(again);
		free(out);
		cJSON_Delete(root);
		summary_free(&s);
	}
	/* Literal in a TextRun: the link text shows as typed, the tag does not
	 * form, and no backslash is added. */
	make_hostile(&s, "[x](javascript:alert(1)) <at>CEO</at> " MARKER);
	root = render(&s, NULL, &out);
	assert_non_null(strstr(out, "\"[x](javascript:alert(1)) \xe2\x80\xb9"
				    "at\xe2\x80\xba"
				    "CEO\xe2\x80\xb9/at\xe2\x80\xba " MARKER "\""));
	assert_null(strchr(out, '\\'));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 1 when the card carries the config mention (and checks its shape). */
static int has_mention(const struct summary *s, const struct render_opts *d)
{
	cJSON *root = render(s, d, NULL), *card = card_of(root), *ents, *e, *b;
	int found_text = 0, found_entity = 0;

	cJSON_ArrayForEach(b, cJSON_GetObjectItem(
				      card, "body")) if (strcmp(str(b, "text"),
								"<at>oncall@example.com</at>") == 0)
	{
		assert_string_equal(str(b, "type"), "TextBlock");
		found_text = 1;
	}
	ents = cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities");
	e = cJSON_GetArrayItem(ents, 0);
	if (e != NULL) {
		assert_int_equal(cJSON_GetArraySize(ents), 1);
		assert_string_equal(str(e, "type"), "mention");
		assert_string_equal(str(e, "text"), "<at>oncall@example.com</at>");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "id"),
				    "oncall@example.com");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "name"),
				    "oncall@example.com");
		found_entity = 1;
	}
	cJSON_Delete(root);
	assert_int_equal(found_text, found_entity);
	return found_text;
}

static void test_mention_only_for_problems(void **state)
{
	struct render_opts d = { 0 };
	struct summary s;

	(void)state;
	d.mention = "oncall@example.com";
	make_summary(&s, 1, 0);
	assert_true(has_mention(&s, &d));
	s.status = ST_FORBIDDEN;
	assert_true(has_mention(&s, &d));
	s.status = ST_SUCCESS;
	assert_false(has_mention(&s, &d));
	s.status = ST_SKIPPED;
	assert_false(has_mention(&s, &d));
	s.status = ST_FAILED;
	assert_false(has_mention(&s, NULL));
	summary_free(&s);
}

static void test_banner_and_caveats(void **state)
{
	struct summary s;
	cJSON *root, *body;

	(void)state;
	make_summary(&s, 0, 0);
	s.is_test = 1;
	s.incomplete = strdup("API call budget reached");
	free(s.link);
	s.link = NULL;
	root = render(&s, NULL, NULL);
	body = cJSON_GetObjectItem(card_of(root), "body");
	assert_string_equal(
		str(cJSON_GetArrayItem(body, 0), "text"),
		"\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by dpc-notify send-test");
	assert_string_equal(str(cJSON_GetArrayItem(body, 0), "type"), "TextBlock");
	assert_string_equal(str(cJSON_GetArrayItem(body, 1), "type"), "RichTextBlock");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 2), "inlines", 0), "text"),
			    "\xe2\x9a\xa0\xef\xb8\x8f API call budget reached");
	assert_string_equal(str(at(cJSON_GetArrayItem(body, 2), "inlines", 0), "color"), "Warning");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(card_of(root), "actions")), 0);
	cJSON_Delete(root);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_names_shown_literally),
		cmocka_unit_test(test_fact_set_only_plain_values),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_mention_only_for_problems),
		cmocka_unit_test(test_banner_and_caveats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
