/* The view (src/render/view.c): what a chat message says, before any
 * target lays it out. Paths without the root and repeated folders, the
 * error line of the triage line, excerpts cut by lines, grouped errors,
 * children on and off the error's path, links, mentions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "render_int.h"
#include "summary.h"

#define SEP SUMMARY_PATH_SEP
#define UI "https://app.example.com"

static void check_where(const char *path, int drop_root, const char *want)
{
	char *w = render_where(path, drop_root);

	assert_non_null(w);
	assert_string_equal(w, want);
	free(w);
}

static void test_where(void **state)
{
	(void)state;
	/* The root is left out; a step of the root stays. */
	check_where("load_dwh" SEP "Load orders", 1, "Load orders");
	check_where("Load orders", 1, "Load orders");
	check_where("load_dwh" SEP "stage" SEP "Load", 1, "stage" SEP "Load");
	check_where("load_dwh" SEP "stage" SEP "Load", 0, "load_dwh" SEP "stage" SEP "Load");
	/* A folder the pipeline before shares is left out, the root's too. */
	check_where("dwh/load" SEP "dwh/stage" SEP "dwh/raw" SEP "Load", 1,
		    "stage" SEP "raw" SEP "Load");
	/* A different folder is kept; the step's own name is never cut. */
	check_where("dwh/load" SEP "crm/stage" SEP "crm/raw" SEP "a/b", 1,
		    "crm/stage" SEP "raw" SEP "a/b");
	check_where("", 1, "");
	check_where(NULL, 1, "");
}

static void check_key(const char *msg, size_t max, const char *want)
{
	char *k = render_key_line(msg, max);

	assert_non_null(k);
	assert_string_equal(k, want);
	free(k);
}

static void test_key_line(void **state)
{
	(void)state;
	check_key("Table not found", 120, "Table not found");
	check_key("\n\n  Table not found\n", 120, "Table not found");
	/* The line with the database's words wins over an introduction, and
	 * an introducing first line names the kind of error. */
	check_key("SQL compilation error:\nerror line 3 at position 14\ninvalid identifier 'X'",
		  120, "SQL compilation error: invalid identifier 'X'");
	check_key("Failed to execute statement:\nINSERT INTO t\n  SELECT 1\n"
		  "SQL compilation error: error line 3 at position 6 invalid identifier 'Y'",
		  120, "SQL compilation error: error line 3 at position 6 invalid identifier 'Y'");
	/* Cut to max code points, ending in "…". */
	check_key("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, "\xc3\xa9\xc3\xa9\xe2\x80\xa6");
	check_key("", 120, "");
	check_key(NULL, 120, "");
}

/* Number of '\n' in s, plus one. */
static size_t lines_of(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_excerpt(void **state)
{
	char msg[8192], *e;
	size_t n = 0, i;
	int cut;

	(void)state;
	/* Short text is kept whole, whitespace included. */
	e = render_excerpt("a\n    b\n\tc", 8, 500, &cut);
	assert_string_equal(e, "a\n    b\n\tc");
	assert_int_equal(cut, 0);
	free(e);

	/* 35 lines: at most 8 kept, the database's last line among them, the
	 * rest counted in "⋯ N lines"; indentation kept. */
	n += (size_t)snprintf(msg + n, sizeof(msg) - n, "Failed to execute statement:\n");
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "    col_%02zu,\n", i);
	snprintf(msg + n, sizeof(msg) - n, "SQL compilation error: invalid identifier 'Z'");
	e = render_excerpt(msg, 8, 500, &cut);
	assert_non_null(e);
	assert_int_equal(cut, 1);
	assert_non_null(strstr(e, "invalid identifier 'Z'"));
	assert_non_null(strstr(e, "\n    col_00,"));
	assert_non_null(strstr(e, "\xe2\x8b\xaf 27 lines"));
	assert_true(lines_of(e) <= 8 + 2); /* kept lines and gap lines */
	free(e);

	/* One 3000-character line is cut near the character budget. */
	memset(msg, 'q', 3000);
	msg[3000] = '\0';
	e = render_excerpt(msg, 8, 500, &cut);
	assert_int_equal(cut, 1);
	assert_true(strlen(e) <= 500 + 3);
	assert_string_equal(e + strlen(e) - 3, "\xe2\x80\xa6");
	free(e);

	/* More lines than are looked at: the remainder is still counted. */
	n = 0;
	for (i = 0; i < 600 && n + 8 < sizeof(msg); i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n, "l%zu\n", i);
	e = render_excerpt(msg, 8, 500, &cut);
	assert_non_null(strstr(e, "more lines"));
	free(e);
}

static void test_run_link(void **state)
{
	struct summary s;
	char *l;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root-id", UI), 0);
	l = render_run_link(&s, "child-id");
	assert_string_equal(l, UI "/observability-dashboard/pipeline/child-id");
	free(l);
	/* A hostile id cannot leave the link's path. */
	l = render_run_link(&s, "../x?y=<z>|w");
	assert_string_equal(l, UI "/observability-dashboard/pipeline/..%2Fx%3Fy%3D%3Cz%3E%7Cw");
	free(l);
	assert_null(render_run_link(&s, ""));
	summary_free(&s);
	assert_int_equal(summary_init(&s, "p", "root-id", NULL), 0);
	assert_null(render_run_link(&s, "child-id"));
	summary_free(&s);
}

static void page(struct summary *s, const char *path, int depth, const char *id, const char *json)
{
	struct page_ctx ctx = { path, depth, id };

	assert_int_equal(summary_add_page(s, &ctx, json, strlen(json), NULL), 0);
}

/* A failure two children deep, its "Run child" rows, one more failed
 * child off the path, two children that succeeded. */
static void deep(struct summary *s, enum run_status st)
{
	assert_int_equal(summary_init(s, "p", "root", UI), 0);
	assert_int_equal(summary_set_pipeline_name(s, "load.orch.yaml"), 0);
	assert_int_equal(summary_set_environment(s, "prod"), 0);
	assert_int_equal(summary_set_status(s, st, NULL), 0);
	page(s, "load", 0, "root",
	     "{\"results\":["
	     "{\"name\":\"Run a\",\"result\":{\"status\":\"SUCCESS\"},"
	     "\"childPipeline\":{\"id\":\"ca\",\"name\":\"a.orch.yaml\"}},"
	     "{\"name\":\"Run b\",\"result\":{\"status\":\"SUCCESS\"},"
	     "\"childPipeline\":{\"id\":\"cb\",\"name\":\"b.orch.yaml\"}},"
	     "{\"name\":\"Run side\",\"result\":{\"status\":\"FAILED\",\"message\":\"Child failed\"},"
	     "\"childPipeline\":{\"id\":\"cs\",\"name\":\"side.orch.yaml\"}},"
	     "{\"name\":\"Run stage\",\"result\":{\"status\":\"FAILED\",\"message\":\"Child failed\"},"
	     "\"childPipeline\":{\"id\":\"c1\",\"name\":\"stage.orch.yaml\"}}]}");
	page(s, "load" SEP "stage", 1, "c1",
	     "{\"results\":[{\"name\":\"Run raw\",\"result\":{\"status\":\"FAILED\","
	     "\"message\":\"Child failed\"},\"childPipeline\":{\"id\":\"c2\",\"name\":\"raw\"}}]}");
	page(s, "load" SEP "stage" SEP "raw", 2, "c2",
	     "{\"results\":[{\"name\":\"Load\",\"result\":{\"status\":\"FAILED\","
	     "\"message\":\"Table 'T' does not exist\"}}]}");
	summary_finish(s);
}

static void test_child_path_and_links(void **state)
{
	struct summary s;
	struct view v;

	(void)state;
	deep(&s, ST_FAILED);
	assert_int_equal(view_build(&s, &v), 0);
	/* Only the real error is shown; "Run child" rows repeat it. */
	assert_int_equal(v.n_errors, 1);
	assert_string_equal(v.errors[0].where, "stage" SEP "raw" SEP "Load");
	assert_non_null(strstr(v.headline, "failed at stage" SEP "raw" SEP "Load: Table 'T' does "
					   "not exist"));
	/* The child off the path is listed; those on it and the successes
	 * are counted. */
	assert_int_equal(v.n_children, 1);
	assert_string_equal(v.children[0]->name, "side");
	assert_int_equal(v.children_on_path, 2);
	assert_int_equal(v.children_ok, 2);
	/* The button opens the failing child's run; the second, the run. */
	assert_string_equal(v.link, UI "/observability-dashboard/pipeline/c2");
	assert_string_equal(v.root_link, UI "/observability-dashboard/pipeline/root");
	assert_int_equal(v.mention, 1);
	view_free(&v);
	summary_free(&s);
}

/* Mentions are for failures only: never for a cancelled run, a success,
 * another status, or the follow-up of a degraded notice. */
static void test_mention_and_emoji(void **state)
{
	static const struct {
		enum run_status st;
		int follow;
		int mention;
		const char *emoji;
	} cases[] = {
		{ ST_FAILED, 0, 1, "\xe2\x9d\x8c" },  { ST_FORBIDDEN, 0, 1, "\xe2\x9d\x8c" },
		{ ST_FAILED, 1, 0, "\xe2\x9d\x8c" },  { ST_CANCELLED, 0, 0, "\xe2\x8f\xb9" },
		{ ST_SUCCESS, 0, 0, "\xe2\x9c\x85" }, { ST_RUNNING, 0, 0, "\xe2\x84\xb9" },
	};
	struct summary s;
	struct view v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		deep(&s, cases[i].st);
		s.follows_ms = cases[i].follow ? 1796004902000LL : -1;
		assert_int_equal(view_build(&s, &v), 0);
		assert_int_equal(v.mention, cases[i].mention);
		assert_string_equal(v.emoji, cases[i].emoji);
		/* One status emoji: the headline starts with it and has no other. */
		assert_memory_equal(v.headline, cases[i].emoji, strlen(cases[i].emoji));
		assert_null(strstr(v.headline + strlen(cases[i].emoji), cases[i].emoji));
		if (cases[i].follow)
			assert_non_null(
				strstr(v.follow, "Completes the notice posted at 02:15 UTC"));
		else
			assert_null(v.follow);
		view_free(&v);
		summary_free(&s);
	}
}

/* 250 steps, 5 errors in turn: three shown with their counts, the rest
 * counted; every problem step is accounted for exactly once. */
static void test_grouped_errors(void **state)
{
	char p[32768];
	size_t n, i;
	int pg;
	struct summary s;
	struct view v;
	uint64_t shown = 0;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_status(&s, ST_FAILED, NULL), 0);
	for (pg = 0; pg < 5; pg++) {
		n = (size_t)snprintf(p, sizeof(p), "{\"results\":[");
		for (i = 0; i < 50; i++)
			n += (size_t)snprintf(p + n, sizeof(p) - n,
					      "%s{\"name\":\"Table %zu\",\"result\":{\"status\":"
					      "\"FAILED\",\"message\":\"error %zu\"}}",
					      i ? "," : "", pg * 50 + i, (pg * 50 + i) % 5);
		snprintf(p + n, sizeof(p) - n, "]}");
		page(&s, "r", 0, "root", p);
	}
	summary_finish(&s);
	assert_int_equal(s.n_groups, 5);
	assert_int_equal(view_build(&s, &v), 0);
	assert_int_equal(v.n_errors, VIEW_MAX_ERRORS);
	for (i = 0; i < v.n_errors; i++) {
		assert_int_equal(v.errors[i].count, 50);
		assert_string_equal(v.errors[i].steps, "50 steps failed with the same error");
		shown += v.errors[i].count;
	}
	assert_string_equal(v.errors[0].where, "Table 0 \xe2\x80\xa6 245");
	assert_int_equal(v.more_errors, 2);
	assert_int_equal(shown + v.more_steps, 250);
	assert_int_equal(v.problem_steps, 250);
	assert_non_null(strstr(v.headline, "failed in 250 steps: error 0"));
	view_free(&v);
	summary_free(&s);
}

/* The range of names never splits a number: "Copy 120 … 125", not
 * "Copy 120 … 5". */
static void test_range_keeps_numbers(void **state)
{
	struct summary s;
	struct view v;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_status(&s, ST_FAILED, NULL), 0);
	page(&s, "r", 0, "root",
	     "{\"results\":[{\"name\":\"Copy 120\",\"result\":{\"status\":\"FAILED\","
	     "\"message\":\"e\"}},{\"name\":\"Copy 125\",\"result\":{\"status\":\"FAILED\","
	     "\"message\":\"e\"}}]}");
	summary_finish(&s);
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.errors[0].where, "Copy 120 \xe2\x80\xa6 125");
	view_free(&v);
	summary_free(&s);
}

/* More distinct errors than the summary keeps groups for: the steps
 * beyond are still counted, as "other errors". */
static void test_groups_overflow_counted(void **state)
{
	char p[65536];
	size_t n, i;
	struct summary s;
	struct view v;
	uint64_t shown = 0;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_status(&s, ST_FAILED, NULL), 0);
	n = (size_t)snprintf(p, sizeof(p), "{\"results\":[");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(p + n, sizeof(p) - n,
				      "%s{\"name\":\"T%zu\",\"result\":{\"status\":\"FAILED\","
				      "\"message\":\"distinct %zu\"}}",
				      i ? "," : "", i, i);
	snprintf(p + n, sizeof(p) - n, "]}");
	page(&s, "r", 0, "root", p);
	summary_finish(&s);
	assert_int_equal(s.n_groups, SUMMARY_MAX_GROUPS);
	assert_int_equal(s.groups_more, 40 - SUMMARY_MAX_GROUPS);
	assert_int_equal(view_build(&s, &v), 0);
	for (i = 0; i < v.n_errors; i++)
		shown += v.errors[i].count;
	assert_int_equal(shown + v.more_steps, 40);
	view_free(&v);
	summary_free(&s);
}

/* Trigger words as a reader says them. */
static void test_context_words(void **state)
{
	static const struct {
		const char *trigger, *user, *schedule, *want;
	} cases[] = {
		{ "SCHEDULE", "", "nightly_dwh", "Sales \xc2\xb7 Scheduled (nightly_dwh)" },
		{ "SCHEDULE", "", "", "Sales \xc2\xb7 Scheduled" },
		{ "API", "", "", "Sales \xc2\xb7 API" },
		{ "DESIGNER", "jane.doe", "", "Sales \xc2\xb7 Designer run by jane.doe" },
		{ "", "", "", "Sales" },
	};
	struct summary s;
	struct view v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(summary_init(&s, "p", "root", UI), 0);
		assert_int_equal(summary_set_project_name(&s, "Sales"), 0);
		free(s.trigger);
		s.trigger = strdup(cases[i].trigger);
		free(s.user);
		s.user = strdup(cases[i].user);
		assert_int_equal(summary_set_schedule_name(&s, cases[i].schedule), 0);
		assert_int_equal(view_build(&s, &v), 0);
		assert_string_equal(v.context, cases[i].want);
		view_free(&v);
		summary_free(&s);
	}
}

/* A degraded notice promises details only when a follow-up will come. */
static void test_degraded_headline(void **state)
{
	struct summary s;
	struct view v;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_pipeline_name(&s, "load"), 0);
	assert_int_equal(summary_set_status(&s, ST_FAILED, NULL), 0);
	assert_int_equal(summary_set_degraded(&s, "why"), 0);
	s.degraded_promise = 1;
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.headline, "\xe2\x9d\x8c load failed (details follow)");
	view_free(&v);
	s.degraded_promise = 0;
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.headline, "\xe2\x9d\x8c load failed (no step details)");
	view_free(&v);
	summary_free(&s);
}

/* A slow run says so in its headline and in the history line. */
static void test_slow_headline(void **state)
{
	struct summary s;
	struct view v;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_pipeline_name(&s, "load"), 0);
	assert_int_equal(summary_set_status(&s, ST_SUCCESS, NULL), 0);
	s.started_ms = 0;
	s.finished_ms = 130 * 60 * 1000;
	s.memory.known = 1;
	s.memory.usual_ms = 22 * 60 * 1000;
	s.memory.slow = 1;
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.headline,
			    "\xe2\x9c\x85 load succeeded \xc2\xb7 2h 10m (slow: usually 22m)");
	assert_string_equal(v.history, "Slow: took 2h 10m, usually 22m");
	view_free(&v);
	s.memory.slow = 0;
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.headline, "\xe2\x9c\x85 load succeeded \xc2\xb7 2h 10m");
	view_free(&v);
	summary_free(&s);
}

/* A held summary: one digest line, the silence's stretch (dated when it
 * spans days) and reason when known, the incident and its last error on
 * the second line, compact and without a mention; a hostile reason is
 * cut, never spilled past its share. */
static void test_held_summary(void **state)
{
	const int64_t h = 3600 * 1000LL, day0 = 1796004000000LL - 1796004000000LL % (24 * h);
	char longer[2048];
	struct summary s;
	struct view v;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "root", UI), 0);
	assert_int_equal(summary_set_pipeline_name(&s, "load"), 0);
	assert_int_equal(summary_set_status(&s, ST_FAILED, NULL), 0);
	s.memory.known = 1;
	s.memory.form = FORM_HELD;
	s.memory.held_before = 1;
	s.memory.incident_failures = 1;
	s.memory.incident_since_ms = day0 + h;
	s.memory.held_from_ms = -1;
	s.memory.held_until_ms = -1;
	assert_int_equal(view_build(&s, &v), 0);
	assert_string_equal(v.headline,
			    "\xf0\x9f\x94\x95 load: 1 failure held back while silenced");
	assert_true(v.compact);
	assert_int_equal(v.mention, 0);
	assert_non_null(strstr(v.history, "Still failing since "));
	assert_non_null(strstr(v.history, "01:00 UTC (1 failed run)"));
	assert_null(strstr(v.history, "Last error"));
	view_free(&v);
	/* Across midnight: dated; a reason; the error's telling line. */
	s.memory.held_before = 5;
	s.memory.held_from_ms = day0 + 23 * h;
	s.memory.held_until_ms = day0 + 26 * h;
	s.held_reason = strdup("upgrade");
	free(s.message);
	s.message = strdup("\n\nboom:\ndeep detail\nmore");
	assert_int_equal(view_build(&s, &v), 0);
	assert_non_null(strstr(v.headline, ": 5 failures held back while silenced ("));
	assert_non_null(strstr(v.headline, " 23:00\xe2\x80\x93"));
	assert_non_null(strstr(v.headline, " 02:00 UTC: upgrade)"));
	assert_non_null(strstr(v.history, "\xc2\xb7 Last error: boom: deep detail"));
	view_free(&v);
	/* Within one minute, or an end that never comes: no stretch shown. */
	s.memory.held_until_ms = s.memory.held_from_ms + 30 * 1000;
	assert_int_equal(view_build(&s, &v), 0);
	assert_non_null(strstr(v.headline, "silenced (upgrade)"));
	view_free(&v);
	s.memory.held_until_ms = INT64_MAX;
	assert_int_equal(view_build(&s, &v), 0);
	assert_non_null(strstr(v.headline, "silenced (upgrade)"));
	view_free(&v);
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	free(s.held_reason);
	s.held_reason = strdup(longer);
	s.memory.held_before = UINT32_MAX;
	assert_int_equal(view_build(&s, &v), 0);
	assert_true(strlen(v.headline) < 400);
	assert_non_null(strstr(v.headline, "4294967295 failures"));
	view_free(&v);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_where),
		cmocka_unit_test(test_key_line),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_run_link),
		cmocka_unit_test(test_child_path_and_links),
		cmocka_unit_test(test_mention_and_emoji),
		cmocka_unit_test(test_grouped_errors),
		cmocka_unit_test(test_range_keeps_numbers),
		cmocka_unit_test(test_groups_overflow_counted),
		cmocka_unit_test(test_context_words),
		cmocka_unit_test(test_degraded_headline),
		cmocka_unit_test(test_slow_headline),
		cmocka_unit_test(test_held_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
