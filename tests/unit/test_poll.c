/* Unit tests for polling's pure parts: one page of Matillion's execution
 * list read with hostile replies (not JSON, huge and negative times,
 * unknown statuses, bad ids, another project, oversized pages and tokens,
 * missing fields), the watermark and overlap arithmetic of a listing
 * (fresh, complete, cut off, gaps, running runs, saturation) and the
 * budget arithmetic of poll_share. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dpc.h"
#include "errors.h"
#include "poll.h"

#define PROJ "p-1"
#define NOW 1714557600000LL /* 2024-05-01T10:00:00Z */
#define MIN 60000LL

static struct dpc_list_page page;

static int parse(const char *body)
{
	return dpc_list_parse(body, strlen(body), PROJ, NOW, &page);
}

/* A well-formed page: every field kept, the token kept. */
static void test_list_page(void **state)
{
	(void)state;
	assert_int_equal(
		parse("{\"more\":\"tok-2\",\"results\":[{\"pipelineExecutionId\":\"e-1\","
		      "\"projectId\":\"p-1\",\"pipelineName\":\"a/b.orch.yaml\","
		      "\"environmentName\":\"prod\",\"status\":\"FAILED\",\"trigger\":\"SCHEDULE\","
		      "\"startedAt\":\"2024-05-01T09:00:00Z\",\"finishedAt\":\"2024-05-01T09:05:00.5Z\"},"
		      "{\"pipelineExecutionId\":\"e-2\",\"status\":\"RUNNING\","
		      "\"startedAt\":\"2024-05-01T09:50:00Z\"}]}"),
		0);
	assert_int_equal(page.n, 2);
	assert_string_equal(page.more, "tok-2");
	assert_string_equal(page.runs[0].id, "e-1");
	assert_string_equal(page.runs[0].project_id, PROJ);
	assert_string_equal(page.runs[0].pipeline, "a/b.orch.yaml");
	assert_string_equal(page.runs[0].environment, "prod");
	assert_int_equal(page.runs[0].status, ST_FAILED);
	assert_string_equal(page.runs[0].trigger, "SCHEDULE");
	assert_int_equal(page.runs[0].started_ms, NOW - 60 * MIN);
	assert_int_equal(page.runs[0].finished_ms, NOW - 55 * MIN + 500);
	assert_true(dpc_execution_finished(&page.runs[0]));
	/* Missing fields: the asked-for project, no finish while running. */
	assert_string_equal(page.runs[1].project_id, PROJ);
	assert_string_equal(page.runs[1].pipeline, "");
	assert_int_equal(page.runs[1].finished_ms, -1);
	assert_false(dpc_execution_finished(&page.runs[1]));
}

/* Bodies that are no page at all are refused as a whole. */
static void test_list_not_a_page(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{\"results\":{}}",
		"{\"more\":\"x\"}",
		"{\"results\":[],\"more\":42}",
		"{\"results\":[],\"more\":\"has space\"}",
		"{\"results\":[],\"more\":\"line\\nbreak\"}",
		"{\"results\":[],\"more\":\"\\u00e9\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		page.n = 7;
		assert_int_equal(parse(bad[i]), ERR_PARSE);
		assert_int_equal(page.n, 0);
		assert_string_equal(page.more, "");
	}
	assert_int_equal(dpc_list_parse(NULL, 0, PROJ, NOW, &page), ERR_PARSE);
	/* No token (absent, null, "") is the last page. */
	assert_int_equal(parse("{\"results\":[],\"more\":null}"), 0);
	assert_string_equal(page.more, "");
	assert_int_equal(parse("{\"results\":[],\"more\":\"\"}"), 0);
	assert_string_equal(page.more, "");
}

/* A token of DPC_MORE_MAX-1 bytes is followed, one byte more is not;
 * a page longer than asked for is refused (reading part of it would
 * skip runs). */
static void test_list_caps(void **state)
{
	size_t cap = 64 + DPC_MORE_MAX + 200 * 40, n;
	char *b = malloc(cap);
	int i;

	(void)state;
	assert_non_null(b);
	n = (size_t)snprintf(b, cap, "{\"results\":[],\"more\":\"");
	memset(b + n, 'A', DPC_MORE_MAX - 1);
	snprintf(b + n + DPC_MORE_MAX - 1, cap - n - DPC_MORE_MAX + 1, "\"}");
	assert_int_equal(parse(b), 0);
	assert_int_equal(strlen(page.more), DPC_MORE_MAX - 1);
	memset(b + n, 'A', DPC_MORE_MAX);
	snprintf(b + n + DPC_MORE_MAX, cap - n - DPC_MORE_MAX, "\"}");
	assert_int_equal(parse(b), ERR_PARSE);
	n = (size_t)snprintf(b, cap, "{\"results\":[");
	for (i = 0; i <= DPC_LIST_LIMIT; i++)
		n += (size_t)snprintf(b + n, cap - n, "%s{\"pipelineExecutionId\":\"e-%d\"}",
				      i ? "," : "", i);
	snprintf(b + n, cap - n, "]}");
	assert_int_equal(parse(b), ERR_PARSE);
	free(b);
}

/* Hostile entries: bad ids and other projects are skipped and counted;
 * absurd times are dropped; unknown statuses are kept as sent. */
static void test_list_hostile_entries(void **state)
{
	(void)state;
	assert_int_equal(
		parse("{\"results\":["
		      "{\"pipelineExecutionId\":\"../x\"},"
		      "{\"pipelineExecutionId\":\"..\"},"
		      "{\"pipelineExecutionId\":42},"
		      "{\"pipelineExecutionId\":\"e\\u0000/../steps\"},"
		      "{\"projectId\":\"p-1\"},"
		      "{\"pipelineExecutionId\":\"e-9\",\"projectId\":\"p-2\"},"
		      "7,"
		      "{\"pipelineExecutionId\":\"e-3\",\"status\":\"EXPLODED\\r\\n\","
		      "\"startedAt\":\"9999-12-31T23:59:59Z\",\"finishedAt\":\"1970-01-01T00:00:00Z\"},"
		      "{\"pipelineExecutionId\":\"e-4\",\"status\":\"SUCCESS\","
		      "\"startedAt\":\"2024-05-01T09:00:00Z\",\"finishedAt\":\"2024-05-01T08:00:00Z\"},"
		      "{\"pipelineExecutionId\":\"e-5\",\"status\":\"UNKNOWN\","
		      "\"startedAt\":\"-2024-05-01T09:00:00Z\",\"finishedAt\":\"2024-05-01T09:01:00Z\","
		      "\"pipelineName\":\"x\\u202ey\",\"trigger\":\"API\\u0000\"}"
		      "]}"),
		0);
	assert_int_equal(page.skipped, 7);
	assert_int_equal(page.n, 3);
	assert_string_equal(page.runs[0].id, "e-3");
	assert_int_equal(page.runs[0].status, ST_UNKNOWN);
	assert_string_equal(page.runs[0].status_text, "EXPLODED");
	assert_int_equal(page.runs[0].started_ms, -1);
	assert_int_equal(page.runs[0].finished_ms, -1);
	/* An unknown status without a finish has not ended. */
	assert_false(dpc_execution_finished(&page.runs[0]));
	/* A finish before the start is not believed; the status still ends it. */
	assert_int_equal(page.runs[1].finished_ms, -1);
	assert_true(dpc_execution_finished(&page.runs[1]));
	assert_int_equal(page.runs[2].started_ms, -1);
	assert_true(dpc_execution_finished(&page.runs[2]));
	assert_null(strstr(page.runs[2].pipeline, "\xe2\x80\xae"));
}

/* A name far beyond the cap is cut on a character boundary. */
static void test_list_long_name(void **state)
{
	size_t cap = 200000, n, i;
	char *b = malloc(cap);

	(void)state;
	assert_non_null(b);
	n = (size_t)snprintf(b, cap,
			     "{\"results\":[{\"pipelineExecutionId\":\"e-1\","
			     "\"pipelineName\":\"");
	for (i = 0; i < 50000; i++, n += 2)
		memcpy(b + n, "\xc3\xa9", 2);
	snprintf(b + n, cap - n, "\"}]}");
	assert_int_equal(parse(b), 0);
	n = strlen(page.runs[0].pipeline);
	assert_true(n <= WEBHOOK_TEXT_MAX - 1);
	assert_int_equal(n % 2, 0);
	free(b);
}

static struct dpc_execution run(int64_t started, int64_t finished, enum run_status st)
{
	struct dpc_execution e;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "e");
	e.status = st;
	e.started_ms = started;
	e.finished_ms = finished;
	return e;
}

/* Never polled: the window is the overlap before now, and a complete
 * listing sets the watermark to now. */
static void test_walk_fresh_complete(void **state)
{
	struct poll_mark m = { 0 };
	struct poll_walk w;
	struct dpc_execution e;

	(void)state;
	poll_walk_begin(&w, &m, NOW, 10 * MIN);
	assert_int_equal(w.since_ms, NOW - 10 * MIN);
	assert_int_equal(w.before_ms, -1);
	e = run(NOW - 5 * MIN, NOW - MIN, ST_FAILED);
	assert_int_equal(poll_walk_run(&w, &e), 1);
	/* Finished before the window: an earlier listing saw it finished. */
	e = run(NOW - 30 * MIN, NOW - 11 * MIN, ST_FAILED);
	assert_int_equal(poll_walk_run(&w, &e), 0);
	/* Finished, finish unknown: stored (the dedup key decides). */
	e = run(NOW - 30 * MIN, -1, ST_SUCCESS);
	assert_int_equal(poll_walk_run(&w, &e), 1);
	assert_int_equal(poll_walk_end(&w, 1, &m), 1);
	assert_int_equal(m.watermark_ms, NOW);
	assert_int_equal(m.gap_before_ms, 0);
	assert_int_equal(m.found, 1);
	/* The next window begins overlap before it. */
	poll_walk_begin(&w, &m, NOW + MIN, 10 * MIN);
	assert_int_equal(w.since_ms, NOW - 10 * MIN);
	assert_int_equal(w.mark_ms, NOW + MIN);
}

/* A running run holds the watermark at its start, never below the floor;
 * one whose start is unknown holds it at the old watermark. */
static void test_walk_running_holds(void **state)
{
	struct poll_mark m = { .watermark_ms = NOW, .found = 1 };
	struct poll_walk w;
	struct dpc_execution e;

	(void)state;
	poll_walk_begin(&w, &m, NOW + MIN, 10 * MIN);
	e = run(NOW - 3 * MIN, -1, ST_RUNNING);
	assert_int_equal(poll_walk_run(&w, &e), 0);
	e = run(NOW - 2 * MIN, -1, ST_CANCELLING);
	assert_int_equal(poll_walk_run(&w, &e), 0);
	assert_int_equal(poll_walk_end(&w, 1, &m), 1);
	assert_int_equal(m.watermark_ms, NOW - 3 * MIN);
	/* Unknown start: the old watermark (since + overlap). */
	poll_walk_begin(&w, &m, NOW + 2 * MIN, 10 * MIN);
	e = run(-1, -1, ST_RUNNING);
	poll_walk_run(&w, &e);
	assert_int_equal(w.mark_ms, NOW - 3 * MIN);
	/* A run running for days holds it only POLL_RUNNING_MAX_MS. */
	e = run(NOW - 10 * POLL_RUNNING_MAX_MS, -1, ST_RUNNING);
	poll_walk_run(&w, &e);
	assert_int_equal(w.mark_ms, NOW + 2 * MIN - POLL_RUNNING_MAX_MS);
}

/* A cut-off listing keeps the window's lower end and lists the gap below
 * the oldest start it processed next; the gap's end sets the watermark;
 * a cut without progress changes nothing. */
static void test_walk_cut_and_gap(void **state)
{
	struct poll_mark m = { .watermark_ms = NOW, .found = 1 }, before;
	struct poll_walk w;
	struct dpc_execution e;

	(void)state;
	poll_walk_begin(&w, &m, NOW + 5 * MIN, MIN);
	e = run(NOW + 4 * MIN, NOW + 4 * MIN + 1, ST_FAILED);
	assert_int_equal(poll_walk_run(&w, &e), 1);
	e = run(NOW + 2 * MIN, NOW + 3 * MIN, ST_FAILED);
	assert_int_equal(poll_walk_run(&w, &e), 1);
	assert_int_equal(poll_walk_end(&w, 0, &m), 1);
	assert_int_equal(m.watermark_ms, NOW);
	assert_int_equal(m.gap_before_ms, NOW + 2 * MIN + 1);
	assert_int_equal(m.gap_mark_ms, NOW + 5 * MIN);
	/* The gap is listed with the same lower end. */
	poll_walk_begin(&w, &m, NOW + 6 * MIN, MIN);
	assert_int_equal(w.since_ms, NOW - MIN);
	assert_int_equal(w.before_ms, NOW + 2 * MIN + 1);
	assert_int_equal(w.mark_ms, NOW + 5 * MIN);
	/* Cut again with nothing older processed: no change. */
	before = m;
	e = run(NOW + 2 * MIN, NOW + 3 * MIN, ST_FAILED);
	poll_walk_run(&w, &e);
	assert_int_equal(poll_walk_end(&w, 0, &m), 0);
	assert_memory_equal(&m, &before, sizeof(m));
	/* A cut before any page: no change either. */
	poll_walk_begin(&w, &m, NOW + 6 * MIN, MIN);
	assert_int_equal(poll_walk_end(&w, 0, &m), 0);
	/* The gap completes: the mark it began with becomes the watermark. */
	poll_walk_begin(&w, &m, NOW + 7 * MIN, MIN);
	e = run(NOW + MIN, NOW + 7 * MIN, ST_FAILED);
	assert_int_equal(poll_walk_run(&w, &e), 1);
	assert_int_equal(poll_walk_end(&w, 1, &m), 1);
	assert_int_equal(m.watermark_ms, NOW + 5 * MIN);
	assert_int_equal(m.gap_before_ms, 0);
}

/* Extreme stored values and overlaps saturate instead of wrapping. */
static void test_walk_extremes(void **state)
{
	struct poll_mark m = { .watermark_ms = INT64_MIN, .found = 1 };
	struct poll_walk w;

	(void)state;
	poll_walk_begin(&w, &m, NOW, INT64_MAX);
	assert_int_equal(w.since_ms, 0);
	m.watermark_ms = INT64_MAX;
	poll_walk_begin(&w, &m, NOW, -5);
	assert_int_equal(w.since_ms, INT64_MAX);
	m.watermark_ms = 100;
	poll_walk_begin(&w, &m, NOW, 10 * MIN);
	assert_int_equal(w.since_ms, 0);
	poll_walk_begin(&w, &m, INT64_MIN, 0);
	assert_int_equal(w.floor_ms, INT64_MIN);
}

/* poll_share of requests_per_minute, and the projects it covers. */
static void test_budget(void **state)
{
	(void)state;
	assert_true(poll_calls_per_min(60, 30) == 18.0);
	assert_true(poll_calls_per_min(0, 30) == 0);
	assert_true(poll_calls_per_min(60, 0) == 0.6);
	assert_true(poll_calls_per_min(60, 1000) == 60.0);
	assert_true(poll_calls_per_min(-5, 30) == 0);
	assert_int_equal(poll_projects_within(60, 30, 60, 1), 18);
	assert_int_equal(poll_projects_within(60, 30, 60, 2), 9);
	assert_int_equal(poll_projects_within(60, 30, 300, 1), 90);
	assert_int_equal(poll_projects_within(60, 30, 60, 0), 18);
	assert_int_equal(poll_projects_within(0, 30, 60, 1), -1);
	assert_int_equal(poll_projects_within(100000, 100, 86400, 1), 144000000);
}

/* The project a body naming no run can be tied to: the body's id (top
 * level or one level down), else the query's, never an invalid one. */
static void test_nudge_project_hint(void **state)
{
	char out[WEBHOOK_ID_MAX];
	const char *b;

	(void)state;
	b = "{\"projectId\":\"p-7\",\"x\":1}";
	assert_int_equal(webhook_project_hint(b, strlen(b), "q-1", 16, out), 0);
	assert_string_equal(out, "p-7");
	b = "{\"data\":{\"project_id\":\"p-8\"}}";
	assert_int_equal(webhook_project_hint(b, strlen(b), NULL, 16, out), 0);
	assert_string_equal(out, "p-8");
	b = "{\"projectId\":\"../etc\"}";
	assert_int_equal(webhook_project_hint(b, strlen(b), "q-1", 16, out), 0);
	assert_string_equal(out, "q-1");
	b = "{\"projectId\":\"p\\u0000/x\"}";
	assert_int_equal(webhook_project_hint(b, strlen(b), NULL, 16, out), ERR_NOTFOUND);
	assert_string_equal(out, "");
	b = "not json";
	assert_int_equal(webhook_project_hint(b, strlen(b), "bad id!", 16, out), ERR_NOTFOUND);
	assert_int_equal(webhook_project_hint(NULL, 0, NULL, 16, out), ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_page),
		cmocka_unit_test(test_list_not_a_page),
		cmocka_unit_test(test_list_caps),
		cmocka_unit_test(test_list_hostile_entries),
		cmocka_unit_test(test_list_long_name),
		cmocka_unit_test(test_walk_fresh_complete),
		cmocka_unit_test(test_walk_running_holds),
		cmocka_unit_test(test_walk_cut_and_gap),
		cmocka_unit_test(test_walk_extremes),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_nudge_project_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
