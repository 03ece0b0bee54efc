/* Unit tests for webhook_parse: key spellings, nesting, limits and hostile
 * input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "webhook.h"

/* Parses a NUL-terminated literal (the length excludes the NUL). */
static int parse(const char *json, const char *qpid, struct webhook_event *ev, const char **why)
{
	return webhook_parse(json, strlen(json), qpid, 16, ev, why);
}

static void test_exec_key_spellings(void **state)
{
	static const char *const bodies[] = {
		"{\"pipelineExecutionId\":\"e-1\",\"projectId\":\"p1\"}",
		"{\"executionId\":\"e-1\",\"projectId\":\"p1\"}",
		"{\"execution_id\":\"e-1\",\"project_id\":\"p1\"}",
		"{\"id\":\"e-1\",\"projectId\":\"p1\"}",
	};
	struct webhook_event ev;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(bodies[i], NULL, &ev, &why), 0);
		assert_string_equal(ev.execution_id, "e-1");
		assert_string_equal(ev.project_id, "p1");
		assert_int_equal(ev.status, ST_UNKNOWN);
		assert_string_equal(ev.status_text, "");
		assert_string_equal(ev.pipeline_name, "");
	}
}

static void test_key_order(void **state)
{
	struct webhook_event ev;
	const char *why;

	(void)state;
	/* pipelineExecutionId wins over the others at the same level. */
	assert_int_equal(parse("{\"id\":\"a\",\"executionId\":\"b\",\"pipelineExecutionId\":\"c\","
			       "\"projectId\":\"p\"}",
			       NULL, &ev, &why),
			 0);
	assert_string_equal(ev.execution_id, "c");
	/* A specific spelling one level down beats an envelope's generic id. */
	assert_int_equal(
		parse("{\"id\":\"evt\",\"data\":{\"executionId\":\"x\",\"projectId\":\"p\"}}", NULL,
		      &ev, &why),
		0);
	assert_string_equal(ev.execution_id, "x");
	/* The same key at top level beats the nested one. */
	assert_int_equal(parse("{\"executionId\":\"top\",\"data\":{\"executionId\":\"low\"},"
			       "\"projectId\":\"p\"}",
			       NULL, &ev, &why),
			 0);
	assert_string_equal(ev.execution_id, "top");
	/* Nests are searched in order data, payload, execution, result. */
	assert_int_equal(
		parse("{\"result\":{\"executionId\":\"r\"},\"payload\":{\"executionId\":\"pl\"},"
		      "\"projectId\":\"p\"}",
		      NULL, &ev, &why),
		0);
	assert_string_equal(ev.execution_id, "pl");
}

static void test_nested_containers(void **state)
{
	static const char *const nests[] = { "data", "payload", "execution", "result" };
	struct webhook_event ev;
	const char *why;
	char body[256];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(
			body, sizeof(body),
			"{\"%s\":{\"pipelineExecutionId\":\"e%zu\",\"projectId\":\"p%zu\","
			"\"pipelineName\":\"Load\",\"environmentName\":\"prod\",\"status\":\"Failure\"}}",
			nests[i], i, i);
		assert_int_equal(parse(body, NULL, &ev, &why), 0);
		assert_int_equal(ev.execution_id[1] - '0', (int)i);
		assert_int_equal(ev.project_id[1] - '0', (int)i);
		assert_string_equal(ev.pipeline_name, "Load");
		assert_string_equal(ev.environment, "prod");
		assert_int_equal(ev.status, ST_FAILED);
	}
	/* Two levels down is not searched. */
	assert_int_equal(parse("{\"data\":{\"inner\":{\"executionId\":\"e\"}},\"projectId\":\"p\"}",
			       NULL, &ev, &why),
			 ERR_NOTFOUND);
	/* A nest key that is not an object is skipped. */
	assert_int_equal(parse("{\"data\":[\"x\"],\"executionId\":\"e\",\"projectId\":\"p\"}", NULL,
			       &ev, &why),
			 0);
}

static void test_query_project_id(void **state)
{
	struct webhook_event ev;
	const char *why;

	(void)state;
	assert_int_equal(parse("{\"executionId\":\"e\"}", "qp-1", &ev, &why), 0);
	assert_string_equal(ev.project_id, "qp-1");
	/* The body's project id beats the query. */
	assert_int_equal(parse("{\"executionId\":\"e\",\"projectId\":\"body\"}", "qp-1", &ev, &why),
			 0);
	assert_string_equal(ev.project_id, "body");
	/* The query id obeys the same alphabet. */
	assert_int_equal(parse("{\"executionId\":\"e\"}", "a/b", &ev, &why), ERR_LIMIT);
	assert_int_equal(parse("{\"executionId\":\"e\"}", "", &ev, &why), ERR_NOTFOUND);
}

static void test_numeric_ids(void **state)
{
	struct webhook_event ev;
	const char *why;

	(void)state;
	assert_int_equal(parse("{\"id\":12345,\"projectId\":9007199254740991}", NULL, &ev, &why),
			 0);
	assert_string_equal(ev.execution_id, "12345");
	assert_string_equal(ev.project_id, "9007199254740991");
	/* Booleans and null are not ids; a fraction is a bad one. */
	assert_int_equal(parse("{\"id\":1.5,\"projectId\":\"p\"}", NULL, &ev, &why), ERR_LIMIT);
	assert_int_equal(parse("{\"id\":true,\"projectId\":\"p\"}", NULL, &ev, &why), ERR_NOTFOUND);
	assert_int_equal(parse("{\"id\":null,\"projectId\":\"p\"}", NULL, &ev, &why), ERR_NOTFOUND);
	assert_int_equal(parse("{\"id\":\"\",\"projectId\":\"p\"}", NULL, &ev, &why), ERR_NOTFOUND);
	/* A non-id value under the first key falls through to the next key. */
	assert_int_equal(
		parse("{\"executionId\":false,\"id\":7,\"projectId\":\"p\"}", NULL, &ev, &why), 0);
	assert_string_equal(ev.execution_id, "7");
}

/* A numeric id is taken exactly as written or not at all: only plain
 * non-negative integers up to 2^53; anything a double would round, cut or
 * sign is a 422 with its reason (ERR_LIMIT), never a different id. */
static void test_numeric_ids_exact(void **state)
{
	static const char *const bad[] = {
		"9007199254740993",
		"9007199254740994",
		"18446744073709551616",
		"1e300",
		"-1",
		"1.5",
		"1.0",
		"1e3",
		"10E0",
		"-0",
		"0.0000000000000000001",
		"123456789012345678901234567890",
	};
	struct webhook_event ev;
	const char *why = NULL;
	char body[256];
	size_t i;

	(void)state;
	assert_int_equal(parse("{\"id\":9007199254740992,\"projectId\":0}", NULL, &ev, &why), 0);
	assert_string_equal(ev.execution_id, "9007199254740992");
	assert_string_equal(ev.project_id, "0");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"id\":%s,\"projectId\":\"p\"}", bad[i]);
		why = NULL;
		if (parse(body, NULL, &ev, &why) != ERR_LIMIT)
			fail_msg("id %s: accepted as \"%s\" or not ERR_LIMIT (%s)", bad[i],
				 ev.execution_id, why ? why : "-");
		assert_non_null(strstr(why, "2^53"));
		snprintf(body, sizeof(body), "{\"id\":\"e1\",\"data\":{\"projectId\":%s}}", bad[i]);
		assert_int_equal(parse(body, NULL, &ev, &why), ERR_LIMIT);
		assert_non_null(strstr(why, "project id"));
	}
	/* Numbers elsewhere in the body are nobody's business. */
	assert_int_equal(parse("{\"id\":\"e1\",\"projectId\":\"p\",\"took\":1.5e300,"
			       "\"n\":[-1,2e5]}",
			       NULL, &ev, &why),
			 0);
}

/* An id holding NUL (\u0000) is refused, not cut at the NUL; the escape
 * counts only inside a string, written as an escape. */
static void test_nul_in_ids(void **state)
{
	struct webhook_event ev;
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse("{\"id\":\"abc\\u0000def\",\"projectId\":\"p\"}", NULL, &ev, &why),
			 ERR_LIMIT);
	assert_int_equal(parse("{\"id\":\"\\u0000\",\"executionId\":\"e2\",\"projectId\":\"p\"}",
			       NULL, &ev, &why),
			 0);
	assert_string_equal(ev.execution_id, "e2"); /* executionId comes before id */
	assert_int_equal(parse("{\"id\":\"e1\",\"projectId\":\"p\\u0000q\"}", NULL, &ev, &why),
			 ERR_LIMIT);
	assert_int_equal(parse("{\"id\":\"\\u0000\",\"projectId\":\"p\"}", NULL, &ev, &why),
			 ERR_LIMIT);
	/* An escaped backslash before u0000 is text, not a NUL. */
	assert_int_equal(parse("{\"id\":\"e1\",\"projectId\":\"p\",\"pipelineName\":"
			       "\"a\\\\u0000b\"}",
			       NULL, &ev, &why),
			 0);
	assert_string_equal(ev.pipeline_name, "a\\u0000b");
	/* A NUL in display text no longer cuts it short: it shows as U+FFFD,
	 * as it does in text from the API. */
	assert_int_equal(parse("{\"id\":\"e1\",\"projectId\":\"p\",\"pipelineName\":"
			       "\"load\\u0000 orders\"}",
			       NULL, &ev, &why),
			 0);
	assert_string_equal(ev.pipeline_name, "load\xef\xbf\xbd orders");
}

static void test_status(void **state)
{
	static const struct {
		const char *sent;
		enum run_status st;
		const char *text;
	} cases[] = {
		{ "Failure", ST_FAILED, "Failure" },
		{ "FAILED", ST_FAILED, "FAILED" },
		{ "error", ST_FAILED, "error" },
		{ "Success", ST_SUCCESS, "Success" },
		{ "Canceled", ST_CANCELLED, "Canceled" },
		{ "Exploded", ST_UNKNOWN, "Exploded" },
		{ "Fa\\u0001il\\nX", ST_UNKNOWN, "FailX" },
	};
	struct webhook_event ev;
	const char *why;
	char body[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"id\":\"e\",\"projectId\":\"p\",\"status\":\"%s\"}",
			 cases[i].sent);
		assert_int_equal(parse(body, NULL, &ev, &why), 0);
		assert_int_equal(ev.status, cases[i].st);
		assert_string_equal(ev.status_text, cases[i].text);
	}
}

static void test_long_status_cut(void **state)
{
	struct webhook_event ev;
	char body[512];
	char word[201];

	(void)state;
	memset(word, 'S', 200);
	word[200] = '\0';
	snprintf(body, sizeof(body), "{\"id\":\"e\",\"projectId\":\"p\",\"status\":\"%s\"}", word);
	assert_int_equal(parse(body, NULL, &ev, NULL), 0);
	assert_int_equal(strlen(ev.status_text), sizeof(ev.status_text) - 1);
}

static void test_missing_ids(void **state)
{
	struct webhook_event ev;
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse("{\"projectId\":\"p\"}", NULL, &ev, &why), ERR_NOTFOUND);
	assert_non_null(why);
	assert_non_null(strstr(why, "execution id"));
	why = NULL;
	assert_int_equal(parse("{\"executionId\":\"e\"}", NULL, &ev, &why), ERR_NOTFOUND);
	assert_non_null(strstr(why, "project id"));
	/* Nothing half-filled is left behind. */
	assert_string_equal(ev.execution_id, "");
}

static void test_bad_json(void **state)
{
	static const char *const bad[] = {
		"",
		"{",
		"not json",
		"{\"id\":\"e\",}",
		"[{\"id\":\"e\",\"projectId\":\"p\"}]",
		"\"string\"",
		"42",
		"null",
		"{\"id\":\"e\",\"projectId\":\"p\"} trailing",
		"{\"id\":\"e\",\"projectId\":\"p\"}{}",
	};
	struct webhook_event ev;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(parse(bad[i], NULL, &ev, &why), ERR_PARSE);
		assert_non_null(why);
	}
	assert_int_equal(webhook_parse(NULL, 0, NULL, 16, &ev, &why), ERR_PARSE);
	/* Trailing whitespace is fine. */
	assert_int_equal(parse("{\"id\":\"e\",\"projectId\":\"p\"}\r\n ", NULL, &ev, &why), 0);
}

static void test_not_nul_terminated(void **state)
{
	const char *src = "{\"id\":\"e\",\"projectId\":\"p\"}";
	size_t n = strlen(src);
	struct webhook_event ev;
	char *buf = malloc(n);

	(void)state;
	assert_non_null(buf);
	memcpy(buf, src, n); /* exactly n bytes, no terminator: ASan checks reads */
	assert_int_equal(webhook_parse(buf, n, NULL, 16, &ev, NULL), 0);
	assert_string_equal(ev.execution_id, "e");
	/* A prefix of a valid body is not valid. */
	assert_int_equal(webhook_parse(buf, n - 1, NULL, 16, &ev, NULL), ERR_PARSE);
	free(buf);
}

static void test_depth(void **state)
{
	const size_t n = 100000;
	struct webhook_event ev;
	const char *why = NULL;
	char *bomb = malloc(n);

	(void)state;
	assert_non_null(bomb);
	memset(bomb, '[', n);
	assert_int_equal(webhook_parse(bomb, n, NULL, 16, &ev, &why), ERR_PARSE);
	assert_non_null(strstr(why, "deep"));
	free(bomb);
	/* Depth 3 passes with max 3, fails with max 2; brackets in strings
	 * (even after an escaped quote) do not count. */
	const char *three = "{\"id\":\"e\",\"projectId\":\"p\",\"x\":{\"y\":[\"[[[{{\\\"[[\"]}}";
	assert_int_equal(webhook_parse(three, strlen(three), NULL, 3, &ev, NULL), 0);
	assert_int_equal(webhook_parse(three, strlen(three), NULL, 2, &ev, NULL), ERR_PARSE);
}

static void test_id_limits(void **state)
{
	struct webhook_event ev;
	const char *why;
	char body[512], id[WEBHOOK_ID_MAX + 1];

	(void)state;
	memset(id, 'a', WEBHOOK_ID_MAX - 1);
	id[WEBHOOK_ID_MAX - 1] = '\0';
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"projectId\":\"p\"}", id);
	assert_int_equal(parse(body, NULL, &ev, &why), 0);
	assert_int_equal(strlen(ev.execution_id), WEBHOOK_ID_MAX - 1);
	id[WEBHOOK_ID_MAX - 1] = 'a';
	id[WEBHOOK_ID_MAX] = '\0';
	snprintf(body, sizeof(body), "{\"id\":\"%s\",\"projectId\":\"p\"}", id);
	assert_int_equal(parse(body, NULL, &ev, &why), ERR_LIMIT);
	assert_int_equal(parse("{\"id\":\"e\",\"projectId\":\"../etc\"}", NULL, &ev, &why),
			 ERR_LIMIT);
	assert_int_equal(parse("{\"id\":\"a b\",\"projectId\":\"p\"}", NULL, &ev, &why), ERR_LIMIT);
	/* Not "a": an id is never cut at a NUL (see test_nul_in_ids). */
	assert_int_equal(parse("{\"id\":\"a\\u0000b\",\"projectId\":\"p\"}", NULL, &ev, &why),
			 ERR_LIMIT);
	assert_int_equal(parse("{\"id\":\"A.b_c:d-9\",\"projectId\":\"p\"}", NULL, &ev, &why), 0);
	assert_string_equal(ev.execution_id, "A.b_c:d-9");
}

static void test_hostile_text(void **state)
{
	struct webhook_event ev;
	char body[2048];
	size_t i, o;

	(void)state;
	/* Control characters, DEL, C1 and invalid UTF-8 are dropped. */
	assert_int_equal(parse("{\"id\":\"e\",\"projectId\":\"p\",\"pipelineName\":"
			       "\"a\\nb\\u001b[31mc\\u007fd\\u0085e\\u00e9\"}",
			       NULL, &ev, NULL),
			 0);
	assert_string_equal(ev.pipeline_name, "ab[31mcde\xc3\xa9");
	assert_int_equal(
		parse("{\"id\":\"e\",\"projectId\":\"p\",\"environmentName\":\"x\xff\xc3y\"}", NULL,
		      &ev, NULL),
		0);
	assert_string_equal(ev.environment, "xy");
	/* A long name of 2-byte characters is cut on a code point boundary. */
	o = (size_t)snprintf(body, sizeof(body),
			     "{\"id\":\"e\",\"projectId\":\"p\",\"pipelineName\":\"a");
	for (i = 0; i < 600; i++) {
		body[o++] = '\xc3';
		body[o++] = '\xa9';
	}
	o += (size_t)snprintf(body + o, sizeof(body) - o, "\"}");
	assert_int_equal(webhook_parse(body, o, NULL, 16, &ev, NULL), 0);
	assert_int_equal(strlen(ev.pipeline_name), 1 + 2 * ((WEBHOOK_TEXT_MAX - 2) / 2));
	assert_int_equal((unsigned char)ev.pipeline_name[strlen(ev.pipeline_name) - 1], 0xa9);
	/* Non-string names are ignored rather than failing the webhook. */
	assert_int_equal(
		parse("{\"id\":\"e\",\"projectId\":\"p\",\"pipelineName\":{}}", NULL, &ev, NULL),
		0);
	assert_string_equal(ev.pipeline_name, "");
}

/* The key names of an unusable body: names only, bounded, sanitised. */
static void test_top_keys(void **state)
{
	char out[WEBHOOK_KEYS_MAX * (WEBHOOK_KEY_MAX + 1) + 1], body[4096], small[8];
	char longkey[300];
	size_t n, i;
	const char *p, *q;

	(void)state;
	n = webhook_top_keys("{\"a\":\"SECRET\",\"b c\\u0001\":{\"x\":1}}", 34, 16, out,
			     sizeof(out));
	assert_int_equal(n, 2);
	assert_string_equal(out, "a,b?c?");
	assert_int_equal(webhook_top_keys("[1,2]", 5, 16, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(webhook_top_keys("{\"a\":", 5, 16, out, sizeof(out)), 0);
	assert_int_equal(webhook_top_keys(NULL, 0, 16, out, sizeof(out)), 0);
	assert_int_equal(webhook_top_keys("{\"a\":[[[1]]]}", 14, 2, out, sizeof(out)), 0);
	/* 30 keys of 300 bytes: 20 listed, each cut at 64. */
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	body[0] = '\0';
	strncat(body, "{", sizeof(body) - strlen(body) - 1);
	for (i = 0; i < 30; i++) {
		char item[40];

		snprintf(item, sizeof(item), "%s\"%02zu%.20s\":\"v\"", i ? "," : "", i, longkey);
		strncat(body, item, sizeof(body) - strlen(body) - 1);
	}
	strncat(body, "}", sizeof(body) - strlen(body) - 1);
	n = webhook_top_keys(body, strlen(body), 16, out, sizeof(out));
	assert_int_equal(n, 30);
	for (i = 0, p = out; p != NULL; i++, p = q ? q + 1 : NULL) {
		q = strchr(p, ',');
		assert_true((size_t)(q ? q - p : (ptrdiff_t)strlen(p)) <= WEBHOOK_KEY_MAX);
	}
	assert_int_equal(i, WEBHOOK_KEYS_MAX);
	snprintf(body, sizeof(body), "{\"%s\":1}", longkey);
	webhook_top_keys(body, strlen(body), 16, out, sizeof(out));
	assert_int_equal(strlen(out), WEBHOOK_KEY_MAX);
	/* A small buffer is filled and terminated, never overrun. */
	webhook_top_keys(body, strlen(body), 16, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_key_spellings),
		cmocka_unit_test(test_key_order),
		cmocka_unit_test(test_nested_containers),
		cmocka_unit_test(test_query_project_id),
		cmocka_unit_test(test_numeric_ids),
		cmocka_unit_test(test_numeric_ids_exact),
		cmocka_unit_test(test_nul_in_ids),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_long_status_cut),
		cmocka_unit_test(test_missing_ids),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_not_nul_terminated),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_id_limits),
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_top_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
