/* Storm grouping's pure parts: the gate (storm_admit()), a run's line as
 * kept with its held delivery (group_item_encode()/decode(), also from
 * damaged or hostile text), and the grouped message of each target: every
 * run named or counted, within the target's limits, one mention at most,
 * hostile text inert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <cjson/cJSON.h>

#include "errors.h"
#include "storm.h"
#include "summary.h"
#include "target.h"

#define SEC 1000LL
#define T0 1796004000000LL

/* ---- the gate ---- */

static void test_gate_first_at_once_rest_held_to_window_end(void **state)
{
	struct storm_window w = { 0 };
	int64_t until;
	int i;

	(void)state;
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0), 0);
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + SEC), 0);
	/* The third within the window: held to its end, as every later one. */
	for (i = 0; i < 40; i++) {
		until = storm_admit(&w, 3, 30 * SEC, T0 + 2 * SEC + i * 100);
		assert_int_equal(until, T0 + 30 * SEC);
	}
	assert_int_equal(w.held, 40);
}

static void test_gate_storm_goes_on_window_after_window(void **state)
{
	struct storm_window w = { 0 };

	(void)state;
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0), 0);
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 1), 0);
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 2), T0 + 30 * SEC);
	/* The next window follows at once and holds everything. */
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 31 * SEC), T0 + 60 * SEC);
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 59 * SEC), T0 + 60 * SEC);
	/* A window that held nothing ends the storm. */
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 200 * SEC), 0);
	assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + 201 * SEC), 0);
}

static void test_gate_quiet_windows_post_everything(void **state)
{
	struct storm_window w = { 0 };
	int i;

	(void)state;
	/* Two problems per window, window after window: never held. */
	for (i = 0; i < 20; i++) {
		assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + i * 31 * SEC), 0);
		assert_int_equal(storm_admit(&w, 3, 30 * SEC, T0 + i * 31 * SEC + SEC), 0);
	}
}

static void test_gate_off_and_extremes(void **state)
{
	struct storm_window w = { 0 };
	int i;

	(void)state;
	for (i = 0; i < 10; i++) {
		assert_int_equal(storm_admit(&w, 0, 30 * SEC, T0 + i), 0);
		assert_int_equal(storm_admit(&w, 3, 0, T0 + i), 0);
		assert_int_equal(storm_admit(&w, -5, 30 * SEC, T0 + i), 0);
		assert_int_equal(storm_admit(&w, 3, INT64_MAX, T0 + i), 0);
		assert_int_equal(storm_admit(&w, 3, 30 * SEC, INT64_MAX), 0);
		assert_int_equal(storm_admit(&w, 3, 30 * SEC, -1), 0);
	}
	assert_int_equal(storm_admit(NULL, 3, 30 * SEC, T0), 0);
	/* Threshold 1: only the first of a window goes at once. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(storm_admit(&w, 1, 30 * SEC, T0), 0);
	assert_int_equal(storm_admit(&w, 1, 30 * SEC, T0 + 1), T0 + 30 * SEC);
	/* A huge threshold never holds. */
	memset(&w, 0, sizeof(w));
	for (i = 0; i < 999; i++)
		assert_int_equal(storm_admit(&w, 1000, 30 * SEC, T0 + i), 0);
	/* A clock that went back cannot hold a message for ever. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(storm_admit(&w, 1, 30 * SEC, T0 + 3600 * SEC), 0);
	assert_true(storm_admit(&w, 1, 30 * SEC, T0) <= T0 + 30 * SEC);
}

/* ---- a run's line ---- */

static void failed_run(struct summary *s, const char *pipeline, const char *error)
{
	char page[2048];
	cJSON *j = cJSON_CreateObject(), *res = cJSON_AddArrayToObject(j, "results"), *st, *r;
	struct page_ctx ctx = { pipeline, 0, "7c9e6679-7425-40de-944b-e07fc1f90ae7" };
	char *txt;

	assert_int_equal(summary_init(s, "proj", ctx.execution_id, "https://app.matillion.com"), 0);
	assert_int_equal(summary_set_pipeline_name(s, pipeline), 0);
	assert_int_equal(summary_set_environment(s, "prod"), 0);
	assert_int_equal(summary_set_status(s, ST_FAILED, "FAILED"), 0);
	st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "id", "s1");
	cJSON_AddStringToObject(st, "name", "Load raw");
	r = cJSON_AddObjectToObject(st, "result");
	cJSON_AddStringToObject(r, "status", "FAILED");
	cJSON_AddStringToObject(r, "message", error);
	cJSON_AddItemToArray(res, st);
	txt = cJSON_PrintUnformatted(j);
	assert_true(strlen(txt) < sizeof(page));
	snprintf(page, sizeof(page), "%s", txt);
	free(txt);
	cJSON_Delete(j);
	assert_int_equal(summary_add_page(s, &ctx, page, strlen(page), NULL), 0);
	summary_finish(s);
}

static void test_item_round_trip(void **state)
{
	struct summary s;
	struct group_item it;
	char *enc;

	(void)state;
	failed_run(&s, "load_dwh", "Quota of 500 credits exceeded\nsecond line");
	enc = group_item_encode(&s, "<!here>");
	assert_non_null(enc);
	assert_true(strlen(enc) < GROUP_ITEM_MAX);
	assert_int_equal(group_item_decode(enc, &it), 0);
	assert_int_equal(it.status, ST_FAILED);
	assert_string_equal(it.pipeline, "load_dwh");
	assert_string_equal(it.environment, "prod");
	assert_string_equal(it.where, "Load raw");
	assert_string_equal(it.error, "Quota of 500 credits exceeded");
	assert_string_equal(it.mention, "<!here>");
	assert_true(strstr(it.link, "7c9e6679-7425-40de-944b-e07fc1f90ae7") != NULL);
	assert_true(it.sig != 0);
	group_item_free(&it);
	free(enc);
	summary_free(&s);
}

static void test_item_masked_errors_share_a_signature(void **state)
{
	struct summary a, b, c;
	struct group_item x, y, z;
	char *ea, *eb, *ec;

	(void)state;
	failed_run(&a, "p1", "Quota of 500 credits exceeded at 02:14:07 for WH_1");
	failed_run(&b, "p2", "Quota of 900 credits exceeded at 03:01:44 for WH_7");
	failed_run(&c, "p3", "Table 'X' does not exist");
	ea = group_item_encode(&a, NULL);
	eb = group_item_encode(&b, NULL);
	ec = group_item_encode(&c, NULL);
	assert_int_equal(group_item_decode(ea, &x), 0);
	assert_int_equal(group_item_decode(eb, &y), 0);
	assert_int_equal(group_item_decode(ec, &z), 0);
	assert_true(x.sig == y.sig);
	assert_true(x.sig != z.sig);
	assert_string_equal(x.mention, "");
	group_item_free(&x);
	group_item_free(&y);
	group_item_free(&z);
	free(ea);
	free(eb);
	free(ec);
	summary_free(&a);
	summary_free(&b);
	summary_free(&c);
}

static void test_item_damaged_text_reads_as_unknown(void **state)
{
	const char *bad[] = { NULL,
			      "",
			      "not json",
			      "[1,2]",
			      "{\"st\":5,\"pl\":[],\"fin\":-7,\"url\":\"javascript:alert(1)\"}",
			      "{\"url\":\"https://x/<!channel>\",\"fin\":1e300}",
			      "{\"pl\":\"\\u0000\\u202e evil\",\"m\":\"<!channel>\"}" };
	struct group_item it;
	size_t i;
	char *huge = malloc(GROUP_ITEM_MAX * 4);

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(group_item_decode(bad[i], &it), 0);
		assert_non_null(it.pipeline);
		assert_string_equal(it.link, "");
		assert_int_equal(it.finished_ms, -1);
		group_item_free(&it);
	}
	memset(huge, 'a', GROUP_ITEM_MAX * 4 - 1);
	huge[GROUP_ITEM_MAX * 4 - 1] = '\0';
	huge[0] = '{';
	assert_int_equal(group_item_decode(huge, &it), 0);
	assert_string_equal(it.pipeline, "");
	group_item_free(&it);
	free(huge);
}

/* ---- the grouped message ---- */

/* n items: pipeline i, the same masked error but for every seventh run;
 * pipeline names carry hostile text when hostile. */
static struct group_item *items_make(size_t n, int hostile)
{
	struct group_item *it = calloc(n, sizeof(*it));
	char buf[256];
	size_t i;

	assert_non_null(it);
	for (i = 0; i < n; i++) {
		it[i].status = ST_FAILED;
		it[i].status_text = strdup("FAILED");
		snprintf(buf, sizeof(buf),
			 hostile ? "<!channel> *p%zu* <https://evil|x> [a](b) <at>evil</at>"
				 : "load_%04zu",
			 i);
		it[i].pipeline = strdup(buf);
		it[i].environment = strdup("prod");
		it[i].where = strdup(hostile ? "<@U123> › step" : "Load raw");
		it[i].error = strdup(i % 7 ? "Quota exceeded" : "Table missing");
		it[i].sig = i % 7 ? 11 : 22;
		snprintf(buf, sizeof(buf), "https://app.matillion.com/run/%zu", i);
		it[i].link = strdup(buf);
		it[i].mention = strdup(i % 2 ? "<!subteam^S1>" : "");
		it[i].finished_ms = T0 + (int64_t)i * SEC;
	}
	return it;
}

static void items_free(struct group_item *it, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		group_item_free(&it[i]);
	free(it);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay += strlen(needle))
		n++;
	return n;
}

/* Runs named in body (by "load_NNNN") plus the "+N more" count. */
static size_t named_plus_more(const char *body, size_t n)
{
	char name[32];
	const char *m;
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "load_%04zu", i);
		k += strstr(body, name) != NULL;
	}
	m = strstr(body, "+");
	while (m != NULL && strstr(m, " more run") != NULL && (m[1] < '0' || m[1] > '9'))
		m = strstr(m + 1, "+");
	if (m != NULL && strstr(m, " more run") != NULL)
		k += strtoul(m + 1, NULL, 10);
	return k;
}

static void check_target(const char *name, size_t n, int hostile)
{
	const struct target *t = target_find(name);
	struct group_item *it = items_make(n, hostile);
	const struct render_opts o = { 0 };
	char *out;
	cJSON *j;

	assert_non_null(t);
	assert_non_null(t->render_group);
	out = t->render_group(it, n, &o);
	assert_non_null(out);
	j = cJSON_Parse(out);
	assert_non_null(j);
	if (t->limits.max_bytes)
		assert_true(strlen(out) <= t->limits.max_bytes);
	if (t->limits.max_blocks)
		assert_true((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(j, "blocks")) <=
			    t->limits.max_blocks);
	if (!hostile) {
		/* Every run is named or counted, none twice. */
		assert_int_equal(named_plus_more(out, n), n);
		if (n > 7)
			assert_true(strstr(out, "with: Quota exceeded") != NULL);
	} else if (strcmp(name, "slack") == 0) {
		/* Nothing the runs said can ping or link. */
		assert_int_equal(count(out, "<!channel>"), 0);
		assert_int_equal(count(out, "<@U123>"), 0);
		assert_int_equal(count(out, "<https://evil"), 0);
	} else {
		/* Teams resolves only <at> tags (TextRuns are shown as typed). */
		assert_int_equal(count(out, "<at>evil"), 0);
	}
	/* One mention at most: Slack's markup once, Teams' one entity. */
	assert_true(count(out, "<!subteam^S1>") <= (strcmp(name, "teams") == 0 ? 4u : 1u));
	assert_true(count(out, "\"type\":\"mention\"") <= 1);
	cJSON_Delete(j);
	free(out);
	items_free(it, n);
}

static void test_group_render_slack(void **state)
{
	(void)state;
	check_target("slack", 1, 0);
	check_target("slack", 12, 0);
	check_target("slack", 40, 0);
	check_target("slack", 1000, 0);
	check_target("slack", 300, 1);
}

static void test_group_render_teams(void **state)
{
	(void)state;
	check_target("teams", 1, 0);
	check_target("teams", 12, 0);
	check_target("teams", 40, 0);
	check_target("teams", 1000, 0);
	check_target("teams", 300, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gate_first_at_once_rest_held_to_window_end),
		cmocka_unit_test(test_gate_storm_goes_on_window_after_window),
		cmocka_unit_test(test_gate_quiet_windows_post_everything),
		cmocka_unit_test(test_gate_off_and_extremes),
		cmocka_unit_test(test_item_round_trip),
		cmocka_unit_test(test_item_masked_errors_share_a_signature),
		cmocka_unit_test(test_item_damaged_text_reads_as_unknown),
		cmocka_unit_test(test_group_render_slack),
		cmocka_unit_test(test_group_render_teams),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
