/* Unit tests for summary.c: execution shapes, tricky step pages from
 * tests/unit/data/pages, caps, child dedupe, ordering, bounded memory and
 * RFC 3339 parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "render.h"
#include "summary.h"
#include "target.h"
#include "text.h"

#define SEP SUMMARY_PATH_SEP
#define T_0501_10 1714557600000LL /* 2024-05-01T10:00:00Z in ms */

/* Reads tests/unit/data/pages/<name> (found next to this source file, so
 * the test runs from the repository root or with an absolute __FILE__). */
static char *fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof(path), "%.*s/data/pages/%s", dir, slash ? __FILE__ : ".", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static int add_fixture(struct summary *s, const struct page_ctx *ctx, const char *name,
		       struct page_info *info)
{
	size_t len;
	char *json = fixture(name, &len);
	int rc = summary_add_page(s, ctx, json, len, info);

	free(json);
	return rc;
}

static int set_fixture(struct summary *s, const char *name)
{
	size_t len;
	char *json = fixture(name, &len);
	int rc = summary_set_execution(s, json, len);

	free(json);
	return rc;
}

static void test_init_defaults(void **state)
{
	struct summary s;

	(void)state;
	assert_int_equal(summary_init(&s, NULL, NULL, NULL), 0);
	assert_string_equal(s.project_id, "");
	assert_string_equal(s.execution_id, "");
	assert_string_equal(s.pipeline_name, "");
	assert_string_equal(s.project_name, "");
	assert_null(s.link);
	assert_int_equal(s.started_ms, -1);
	assert_int_equal(s.finished_ms, -1);
	assert_int_equal(s.status, ST_UNKNOWN);
	assert_null(s.incomplete);
	summary_free(&s);
	summary_free(&s); /* freeing twice after free is harmless */
}

static void test_execution_flat(void **state)
{
	struct summary s;

	(void)state;
	assert_int_equal(summary_init(&s, "proj-0", "11111111-2222-3333-4444-555555555555",
				      "https://app.matillion.com/"),
			 0);
	assert_string_equal(s.link, "https://app.matillion.com/observability-dashboard/pipeline/"
				    "11111111-2222-3333-4444-555555555555");
	assert_int_equal(set_fixture(&s, "execution_flat.json"), 0);
	assert_string_equal(s.environment, "prod");
	assert_string_equal(s.pipeline_name, "sales/load_sales");
	assert_int_equal(s.status, ST_FAILED);
	assert_string_equal(s.status_text, "FAILED");
	assert_string_equal(s.trigger, "SCHEDULE");
	assert_string_equal(s.user, "");
	assert_string_equal(s.message, "1 step failed");
	assert_string_equal(s.project_id, "proj-1");
	assert_int_equal(s.started_ms, T_0501_10 + 250);
	assert_int_equal(s.finished_ms, T_0501_10 + 185750);
	summary_free(&s);
}

static void test_execution_wrapped_keeps_known(void **state)
{
	struct summary s;

	(void)state;
	assert_int_equal(summary_init(&s, "proj-0", "old-id", "https://ui.example"), 0);
	free(s.message);
	s.message = strdup("from webhook");
	assert_int_equal(set_fixture(&s, "execution_wrapped.json"), 0);
	assert_string_equal(s.environment, "dev");
	assert_string_equal(s.pipeline_name, "nightly");
	assert_int_equal(s.status, ST_CANCELLED);
	assert_string_equal(s.status_text, "Cancelled");
	assert_string_equal(s.trigger, "DESIGNER");
	assert_string_equal(s.user, "jane@example.com");
	assert_string_equal(s.project_id, "proj-0");    /* absent in API: kept */
	assert_string_equal(s.message, "from webhook"); /* absent in API: kept */
	assert_int_equal(s.started_ms, T_0501_10);      /* +02:00 offset applied */
	assert_int_equal(s.finished_ms, -1);            /* null */
	assert_string_equal(s.execution_id, "99999999-8888-7777-6666-555555555555");
	assert_string_equal(s.link, "https://ui.example/observability-dashboard/pipeline/"
				    "99999999-8888-7777-6666-555555555555");
	summary_free(&s);
}

static void test_execution_errors(void **state)
{
	struct summary s;
	const char *bad[] = { "", "not json", "[1,2]", "\"str\"", "{\"a\":" };
	const char *wrong = "{\"status\":5,\"environmentName\":[]}";
	size_t i;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(summary_set_execution(&s, bad[i], strlen(bad[i])), ERR_PARSE);
	/* Wrong types are ignored, not fatal. */
	assert_int_equal(summary_set_execution(&s, wrong, strlen(wrong)), 0);
	assert_int_equal(s.status, ST_UNKNOWN);
	assert_string_equal(s.environment, "");
	summary_free(&s);
}

static void test_link_is_encoded(void **state)
{
	struct summary s;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "a/../b c>|<!x", "https://h"), 0);
	assert_string_equal(
		s.link, "https://h/observability-dashboard/pipeline/a%2F..%2Fb%20c%3E%7C%3C%21x");
	summary_free(&s);
}

static void test_page_mixed(void **state)
{
	struct summary s;
	struct page_ctx ctx = { "Root", 0, NULL };
	struct page_info info;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(add_fixture(&s, &ctx, "steps_mixed.json", &info), 0);
	assert_int_equal(info.total, 9);
	assert_int_equal(info.page, 0);
	assert_int_equal(info.n_results, 9);
	assert_int_equal(s.total_steps, 9);
	assert_int_equal(s.counts[ST_SUCCESS], 1);
	assert_int_equal(s.counts[ST_FAILED], 2);
	assert_int_equal(s.counts[ST_CANCELLED], 1);
	assert_int_equal(s.counts[ST_FORBIDDEN], 1);
	assert_int_equal(s.counts[ST_UNKNOWN], 4);
	assert_int_equal(s.n_failed, 4);
	assert_int_equal(s.failed_more, 0);
	assert_int_equal(s.n_children, 0);

	assert_string_equal(s.failed[0].path, "Root" SEP "Load orders");
	assert_string_equal(s.failed[0].step_id, "s2");
	assert_string_equal(s.failed[0].message, "Table \"ORDERS\" not found");
	assert_int_equal(s.failed[0].duration_ms, 185500);
	assert_int_equal(s.failed[0].depth, 0);
	assert_string_equal(s.failed[1].path, "Root" SEP "Load orders"); /* repeated name */
	assert_string_equal(s.failed[1].status_text, "failed");
	assert_string_equal(s.failed[1].message, "");
	assert_int_equal(s.failed[1].duration_ms, -1);
	assert_int_equal(s.failed[2].status, ST_CANCELLED);
	assert_int_equal(s.failed[2].duration_ms, 1000); /* offsets on both ends */
	assert_int_equal(s.failed[3].status, ST_FORBIDDEN);
	assert_int_equal(s.failed[3].duration_ms, -1); /* unparsable start */
	assert_true(s.failed[0].seq < s.failed[1].seq);
	summary_free(&s);
}

static void test_page_errors(void **state)
{
	const char *bad[] = { "steps_results_object.json", "steps_no_results.json", "not_json.txt",
			      "steps_top_array.json" };
	struct summary s;
	struct page_info info;
	size_t i;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		info.n_results = 99;
		assert_int_equal(add_fixture(&s, NULL, bad[i], &info), ERR_PARSE);
		assert_int_equal(info.n_results, 0);
		assert_int_equal(info.total, -1);
	}
	assert_int_equal(summary_add_page(&s, NULL, "", 0, NULL), ERR_PARSE);
	assert_int_equal(s.total_steps, 0);
	assert_int_equal(add_fixture(&s, NULL, "steps_empty_wrong_types.json", &info), 0);
	assert_int_equal(info.page, -1);
	assert_int_equal(info.total, -1);
	assert_int_equal(info.n_results, 0);
	summary_free(&s);
}

static void test_children_dedupe(void **state)
{
	struct summary s;
	struct page_ctx ctx = { "Root", 1, NULL };

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(add_fixture(&s, &ctx, "steps_children.json", NULL), 0);
	assert_int_equal(s.n_children, 2);
	assert_string_equal(s.children[0].execution_id, "exec-A");
	assert_string_equal(s.children[0].name, "child_a");
	assert_string_equal(s.children[0].path, "Root" SEP "Run child A");
	assert_string_equal(s.children[0].parent_path, "Root");
	assert_int_equal(s.children[0].decided, 0);
	assert_int_equal(s.children[0].status, ST_FAILED);
	assert_int_equal(s.children[0].depth, 2);
	assert_int_equal(s.children[0].visited, 0);
	assert_string_equal(s.children[1].execution_id, "exec-B");
	assert_string_equal(s.children[1].name, "sub/child_b");
	assert_int_equal(s.children[1].status, ST_SUCCESS);
	/* The step that ran the failed child is itself a failed step. */
	assert_int_equal(s.n_failed, 1);
	assert_string_equal(s.failed[0].path, "Root" SEP "Run child A");
	assert_string_equal(s.failed[0].message, "child failed");
	assert_int_equal(s.failed[0].depth, 1);
	/* The same page again adds no child but counts the steps again. */
	assert_int_equal(add_fixture(&s, &ctx, "steps_children.json", NULL), 0);
	assert_int_equal(s.n_children, 2);
	assert_int_equal(s.children_more, 0);
	assert_int_equal(s.total_steps, 12);
	assert_int_equal(s.n_failed, 2);
	summary_free(&s);
}

/* A page of n steps all with status st; with children, each step starts a
 * distinct child run "<tag>-<i>". Caller frees. */
static char *make_page(size_t n, const char *st, const char *tag, int children)
{
	size_t cap = 64 + n * 200, len = 0, i;
	char *p = malloc(cap);

	assert_non_null(p);
	len += (size_t)snprintf(p + len, cap - len, "{\"page\":0,\"total\":%zu,\"results\":[", n);
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(p + len, cap - len,
					"%s{\"id\":\"%s-%zu\",\"name\":\"step %zu\",\"result\":"
					"{\"status\":\"%s\",\"message\":\"m%zu\"}",
					i ? "," : "", tag, i, i, st, i);
		if (children)
			len += (size_t)snprintf(
				p + len, cap - len,
				",\"childPipeline\":{\"id\":\"%s-%zu\",\"name\":\"c\"}", tag, i);
		len += (size_t)snprintf(p + len, cap - len, "}");
	}
	snprintf(p + len, cap - len, "]}");
	return p;
}

static void test_caps_count_overflow(void **state)
{
	struct summary s;
	char *page;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	page = make_page(150, "FAILED", "f", 0);
	assert_int_equal(summary_add_page(&s, NULL, page, strlen(page), NULL), 0);
	free(page);
	assert_int_equal(s.n_failed, SUMMARY_MAX_FAILED);
	assert_int_equal(s.failed_more, 50);
	assert_int_equal(s.counts[ST_FAILED], 150);
	assert_string_equal(s.failed[99].path, "step 99");
	page = make_page(250, "SUCCESS", "c", 1);
	assert_int_equal(summary_add_page(&s, NULL, page, strlen(page), NULL), 0);
	free(page);
	assert_int_equal(s.n_children, SUMMARY_MAX_CHILDREN);
	assert_int_equal(s.children_more, 50);
	assert_string_equal(s.children[199].execution_id, "c-199");
	assert_int_equal(s.total_steps, 400);
	summary_free(&s);
}

static void test_deepest_first(void **state)
{
	struct summary s;
	struct page_ctx root = { "Root", 0, NULL };
	struct page_ctx child = { "Root" SEP "Child", 1, NULL };
	struct page_ctx grand = { "Root" SEP "Child" SEP "Grand", 2, NULL };

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(add_fixture(&s, &root, "steps_deep.json", NULL), 0);
	assert_int_equal(add_fixture(&s, &grand, "steps_deep.json", NULL), 0);
	assert_int_equal(add_fixture(&s, &child, "steps_deep.json", NULL), 0);
	summary_finish(&s);
	assert_int_equal(s.n_failed, 6);
	assert_string_equal(s.failed[0].path, "Root" SEP "Child" SEP "Grand" SEP "Deep fail");
	assert_string_equal(s.failed[1].path, "Root" SEP "Child" SEP "Grand" SEP "Deep cancel");
	assert_string_equal(s.failed[2].path, "Root" SEP "Child" SEP "Deep fail");
	assert_string_equal(s.failed[3].path, "Root" SEP "Child" SEP "Deep cancel");
	assert_string_equal(s.failed[4].path, "Root" SEP "Deep fail");
	assert_string_equal(s.failed[5].path, "Root" SEP "Deep cancel");
	assert_int_equal(s.failed[0].depth, 2);
	assert_int_equal(s.failed[5].depth, 0);
	summary_free(&s);
}

static void test_memory_bounded(void **state)
{
	struct summary s;
	struct page_info info;
	char *page = make_page(100, "SUCCESS", "s", 0);
	size_t i;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	for (i = 0; i < 100; i++) {
		assert_int_equal(summary_add_page(&s, NULL, page, strlen(page), &info), 0);
		assert_int_equal(info.n_results, 100);
	}
	free(page);
	assert_int_equal(s.total_steps, 10000);
	assert_int_equal(s.counts[ST_SUCCESS], 10000);
	assert_int_equal(s.n_failed, 0);
	assert_null(s.failed); /* nothing was allocated for successes */
	assert_null(s.children);
	summary_free(&s);
}

static void test_message_and_names_sanitised(void **state)
{
	struct summary s;
	struct page_ctx ctx = { "", 0, NULL };
	size_t cap = 16384, len, i;
	char *page = malloc(cap), *again;

	(void)state;
	assert_non_null(page);
	len = (size_t)snprintf(page, cap,
			       "{\"results\":[{\"name\":\"bad\\u0001name\\nx\","
			       "\"result\":{\"status\":\"FAILED\",\"message\":\"");
	for (i = 0; i < 2500; i++) /* 5000 bytes of U+00E9 */
		len += (size_t)snprintf(page + len, cap - len, "\xc3\xa9");
	snprintf(page + len, cap - len, "\"}}]}");
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(summary_add_page(&s, &ctx, page, strlen(page), NULL), 0);
	free(page);
	assert_string_equal(s.failed[0].path, "bad\xef\xbf\xbdname x"); /* no prefix for "" */
	len = strlen(s.failed[0].message);
	assert_true(len <= SUMMARY_MESSAGE_MAX);
	assert_true(len >= SUMMARY_MESSAGE_MAX - 4);
	assert_string_equal(s.failed[0].message + len - 3, "\xe2\x80\xa6");
	again = text_sanitize(s.failed[0].message, len, 1);
	assert_string_equal(again, s.failed[0].message); /* still valid UTF-8 */
	free(again);
	summary_free(&s);
}

/* The identity setters clean what they are given as the API path does:
 * display name, trimmed, controls replaced, capped on a code point
 * boundary; a status out of range is read as unknown and an empty status
 * text falls back to the status's name. */
static void test_identity_setters_clean(void **state)
{
	struct summary s;
	char long_name[700];

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(summary_set_pipeline_name(&s, "  load\x1b[31m.orch.yaml"), 0);
	assert_string_equal(s.pipeline_name, "load\xef\xbf\xbd[31m");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	long_name[252] = '\xc3'; /* an "é" across the cut is left out whole */
	long_name[253] = '\xa9';
	assert_int_equal(summary_set_environment(&s, long_name), 0);
	assert_int_equal(strlen(s.environment), 252 + 3);
	assert_string_equal(s.environment + 252, "\xe2\x80\xa6");
	assert_int_equal(summary_set_environment(&s, NULL), 0);
	assert_string_equal(s.environment, "");
	assert_int_equal(summary_set_status(&s, ST_FAILED, ""), 0);
	assert_int_equal(s.status, ST_FAILED);
	assert_string_equal(s.status_text, "FAILED");
	assert_int_equal(summary_set_status(&s, (enum run_status)ST__MAX, "\tweird\n"), 0);
	assert_int_equal(s.status, ST_UNKNOWN);
	assert_string_equal(s.status_text, "weird");
	assert_int_equal(summary_set_status(&s, (enum run_status) - 1, NULL), 0);
	assert_int_equal(s.status, ST_UNKNOWN);
	assert_string_equal(s.status_text, "UNKNOWN");
	summary_free(&s);
}

static void test_parse_time_cases(void **state)
{
	(void)state;
	assert_int_equal(summary_parse_time("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00Z"), T_0501_10);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00.123Z"), T_0501_10 + 123);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00.1Z"), T_0501_10 + 100);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00.123456789Z"), T_0501_10 + 123);
	assert_int_equal(summary_parse_time("2024-05-01t10:00:00z"), T_0501_10);
	assert_int_equal(summary_parse_time("2024-05-01T12:30:00+02:30"), T_0501_10);
	assert_int_equal(summary_parse_time("2024-05-01T05:00:00-05:00"), T_0501_10);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00"), T_0501_10);
	assert_int_equal(summary_parse_time("2024-02-29T00:00:00Z"), 1709164800000LL);
	assert_int_equal(summary_parse_time("2000-03-01T00:00:00Z"), 951868800000LL);
	assert_int_equal(summary_parse_time(NULL), -1);
	assert_int_equal(summary_parse_time(""), -1);
	assert_int_equal(summary_parse_time("2023-02-29T00:00:00Z"), -1);
	assert_int_equal(summary_parse_time("2024-13-01T00:00:00Z"), -1);
	assert_int_equal(summary_parse_time("2024-05-01T24:00:00Z"), -1);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00.Z"), -1);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00Zjunk"), -1);
	assert_int_equal(summary_parse_time("2024-05-01T10:00:00+0200"), -1);
	assert_int_equal(summary_parse_time("2024-05-01"), -1);
	assert_int_equal(summary_parse_time("1969-12-31T23:59:59Z"), -1);
	assert_int_equal(summary_parse_time("garbage"), -1);
}

static void test_display_name_and_caveats(void **state)
{
	struct summary s;
	char *d;

	(void)state;
	d = summary_display_name("a/b/load.orch.yaml");
	assert_string_equal(d, "a/b/load");
	free(d);
	d = summary_display_name("x.TRAN.YAML");
	assert_string_equal(d, "x");
	free(d);
	d = summary_display_name(".orch.yaml");
	assert_string_equal(d, ".orch.yaml");
	free(d);
	d = summary_display_name(NULL);
	assert_string_equal(d, "");
	free(d);
	assert_int_equal(summary_init(&s, "p", "e", NULL), 0);
	assert_int_equal(summary_set_incomplete(&s, "budget\nreached"), 0);
	assert_int_equal(
		summary_set_incomplete(&s, "budget reached; 3 child pipelines not fetched"), 0);
	assert_string_equal(s.incomplete, "budget reached; 3 child pipelines not fetched");
	assert_int_equal(summary_set_degraded(&s, "step details unavailable: 403"), 0);
	assert_string_equal(s.degraded, "step details unavailable: 403");
	summary_free(&s);
}

/* The plain-text rendering (plaintext.c) of a summary built from pages. */
static void test_plaintext_of_pages(void **state)
{
	struct summary s;
	struct page_ctx root = { "load_sales", 0, NULL };
	struct page_ctx child = { "load_sales" SEP "child_a", 1, NULL };
	char *text;

	(void)state;
	assert_int_equal(
		summary_init(&s, "proj-1", "11111111-2222-3333-4444-555555555555", "https://ui"),
		0);
	assert_int_equal(set_fixture(&s, "execution_flat.json"), 0);
	free(s.project_name);
	s.project_name = strdup("Sales");
	assert_int_equal(add_fixture(&s, &root, "steps_children.json", NULL), 0);
	assert_int_equal(add_fixture(&s, &child, "steps_deep.json", NULL), 0);
	assert_int_equal(summary_set_incomplete(&s, "1 child pipeline not fetched"), 0);
	summary_finish(&s);
	text = plaintext_render(&s);
	assert_non_null(text);
	assert_string_equal(text,
			    "\xe2\x9d\x8c sales/load_sales FAILED in prod (Sales)\n"
			    "Project: Sales\n"
			    "Environment: prod\n"
			    "Status: FAILED\n"
			    "Trigger: SCHEDULE\n"
			    "Started: 2024-05-01 10:00:00 UTC\n"
			    "Duration: 3m 05s\n"
			    "Execution: 11111111-2222-3333-4444-555555555555\n"
			    "Message:\n"
			    "  1 step failed\n"
			    "Note: 1 child pipeline not fetched\n"
			    "8 steps: 5 succeeded, 2 failed, 1 cancelled\n"
			    "\n"
			    "Failed steps (deepest first):\n"
			    "1. load_sales" SEP "child_a" SEP "Deep fail \xe2\x80\x94 FAILED\n"
			    "   deep\n"
			    "2. load_sales" SEP "child_a" SEP "Deep cancel \xe2\x80\x94 CANCELLED\n"
			    "3. load_sales" SEP "Run child A \xe2\x80\x94 FAILED\n"
			    "   child failed\n"
			    "\n"
			    "Child pipelines:\n"
			    "- child_a \xe2\x80\x94 FAILED\n"
			    "- sub/child_b \xe2\x80\x94 SUCCESS\n"
			    "\n"
			    "Open run in Matillion: https://ui/observability-dashboard/pipeline/"
			    "11111111-2222-3333-4444-555555555555\n");
	free(text);
	s.is_test = 1;
	text = plaintext_render(&s);
	assert_non_null(text);
	assert_int_equal(strncmp(text,
				 "*** TEST MESSAGE \xe2\x80\x94 sent by dpc-notify send-test ***\n",
				 54),
			 0);
	free(text);
	summary_free(&s);
}

/* A degraded notice saw no step: no renderer may claim "0 steps", and each
 * shows the reason. */
static void test_degraded_has_no_step_count(void **state)
{
	struct render_opts d = { .mention = NULL };
	struct summary s;
	char *text, *slack, *teams;

	(void)state;
	assert_int_equal(summary_init(&s, "p", "e-1", "https://ui"), 0);
	s.status = ST_FAILED;
	assert_int_equal(summary_set_degraded(&s, "step details unavailable: HTTP 503"), 0);
	text = plaintext_render(&s);
	slack = target_find("slack")->render(&s, &d);
	teams = target_find("teams")->render(&s, &d);
	assert_non_null(text);
	assert_non_null(slack);
	assert_non_null(teams);
	assert_null(strstr(text, "0 steps"));
	assert_null(strstr(slack, "0 steps"));
	assert_null(strstr(teams, "0 steps"));
	assert_non_null(strstr(text, "step details unavailable: HTTP 503"));
	assert_non_null(strstr(slack, "step details unavailable: HTTP 503"));
	assert_non_null(strstr(teams, "step details unavailable: HTTP 503"));
	free(text);
	free(slack);
	free(teams);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_defaults),
		cmocka_unit_test(test_execution_flat),
		cmocka_unit_test(test_execution_wrapped_keeps_known),
		cmocka_unit_test(test_execution_errors),
		cmocka_unit_test(test_link_is_encoded),
		cmocka_unit_test(test_page_mixed),
		cmocka_unit_test(test_page_errors),
		cmocka_unit_test(test_children_dedupe),
		cmocka_unit_test(test_caps_count_overflow),
		cmocka_unit_test(test_deepest_first),
		cmocka_unit_test(test_memory_bounded),
		cmocka_unit_test(test_message_and_names_sanitised),
		cmocka_unit_test(test_identity_setters_clean),
		cmocka_unit_test(test_parse_time_cases),
		cmocka_unit_test(test_display_name_and_caveats),
		cmocka_unit_test(test_plaintext_of_pages),
		cmocka_unit_test(test_degraded_has_no_step_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
