/* Unit tests for src/core/log.c: exact logfmt and JSON lines, escaping of
 * hostile values (one event stays one line), truncation, level filtering,
 * whole lines under concurrent writers, and the log budget that bounds
 * lines a peer can cause (on a clock the test drives). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "log.h"

#define HOSTILE "a\nlevel=error msg=\"x\"\x01\xff"

struct capture {
	FILE *f;
	char *text;
	size_t len;
};

static int cap_start(void **state)
{
	struct capture *c = calloc(1, sizeof(*c));

	c->f = open_memstream(&c->text, &c->len);
	log_set_stream(c->f);
	*state = c;
	return 0;
}

static int cap_stop(void **state)
{
	struct capture *c = *state;

	log_set_stream(NULL);
	fclose(c->f);
	free(c->text);
	free(c);
	log_setup("info", LOG_FMT_LOGFMT);
	return 0;
}

static const char *captured(void **state)
{
	struct capture *c = *state;

	fflush(c->f);
	return c->text;
}

static size_t count_char(const char *s, char ch)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == ch;
	return n;
}

/* "ts=" plus 2026-11-28T16:00:00.123Z */
static void assert_ts(const char *s)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd')
			assert_true(isdigit((unsigned char)s[i]));
		else
			assert_int_equal(s[i], shape[i]);
	}
}

static void test_logfmt_line(void **state)
{
	const char *out;

	assert_int_equal(log_setup("info", LOG_FMT_LOGFMT), 0);
	log_event(LOG_INFO, "job delivered", "job", "42", "execution", "abc", "empty", "", "null",
		  (const char *)NULL, NULL);
	out = captured(state);
	assert_true(strncmp(out, "ts=", 3) == 0);
	assert_ts(out + 3);
	assert_string_equal(
		out + 3 + 24,
		" level=info msg=\"job delivered\" job=42 execution=abc empty=\"\" null=\"\"\n");
}

static void test_logfmt_hostile(void **state)
{
	const char *out;

	log_setup("debug", LOG_FMT_LOGFMT);
	log_event(LOG_WARN, "run finished", "pipeline", HOSTILE, "ok", "caf\xc3\xa9", NULL);
	out = captured(state);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_non_null(strstr(
		out, " level=warn msg=\"run finished\" "
		     "pipeline=\"a\\nlevel=error msg=\\\"x\\\"\\x01\\xff\" ok=caf\xc3\xa9\n"));
	/* nothing raw below 0x20 except the final newline */
	for (; out[1] != '\0'; out++)
		assert_true((unsigned char)*out >= 0x20);
}

static void test_json_hostile(void **state)
{
	const char *out;
	cJSON *j;

	log_setup("info", LOG_FMT_JSON);
	log_event(LOG_ERROR, "job failed", "job", "42", "pipeline", HOSTILE, NULL);
	out = captured(state);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_true(strncmp(out, "{\"ts\":\"", 7) == 0);
	assert_ts(out + 7);
	assert_string_equal(out + 7 + 24,
			    "\",\"level\":\"error\",\"msg\":\"job failed\",\"job\":\"42\","
			    "\"pipeline\":\"a\\nlevel=error msg=\\\"x\\\"\\u0001\\ufffd\"}\n");
	j = cJSON_Parse(out);
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "pipeline")->valuestring,
			    "a\nlevel=error msg=\"x\"\x01\xef\xbf\xbd");
	assert_string_equal(cJSON_GetObjectItem(j, "level")->valuestring, "error");
	cJSON_Delete(j);
}

/* Bad UTF-8 of every kind is escaped; good UTF-8 is kept. */
static void test_utf8(void **state)
{
	const char *out;

	log_setup("info", LOG_FMT_LOGFMT);
	log_event(LOG_INFO, "m", "overlong", "\xc0\xaf", "surrogate", "\xed\xa0\x80", "cut",
		  "\xe2\x9c", "c1", "\xc2\x9b[31m", "del", "\x7f", "ok", "\xe2\x9c\x93", "big",
		  "\xf4\x90\x80\x80", "bs", "a\\b", NULL);
	out = captured(state);
	assert_non_null(
		strstr(out, " overlong=\"\\xc0\\xaf\" surrogate=\"\\xed\\xa0\\x80\" "
			    "cut=\"\\xe2\\x9c\" c1=\"\\u009b[31m\" del=\"\\x7f\" ok=\xe2\x9c\x93 "
			    "big=\"\\xf4\\x90\\x80\\x80\" bs=\"a\\\\b\"\n"));
}

static void test_truncation(void **state)
{
	char *big = malloc(10001);
	const char *out;
	size_t len;
	cJSON *j;

	memset(big, 'x', 10000);
	big[10000] = '\0';
	log_setup("info", LOG_FMT_JSON);
	log_event(LOG_INFO, "m", "big", big, "after", "dropped", NULL);
	out = captured(state);
	len = strlen(out);
	assert_true(len <= 4096);
	assert_true(len > 4000);
	assert_string_equal(out + len - 6, "\xe2\x80\xa6\"}\n");
	assert_null(strstr(out, "dropped"));
	j = cJSON_Parse(out);
	assert_non_null(j);
	cJSON_Delete(j);
	/* hostile escapes near the cut never leave half an escape */
	memset(big, '\x01', 10000);
	log_setup("info", LOG_FMT_LOGFMT);
	log_event(LOG_INFO, "m", "big", big, NULL);
	out = strchr(captured(state), '\n') + 1;
	len = strlen(out);
	assert_true(len <= 4096);
	assert_int_equal(count_char(out, '\n'), 1);
	assert_string_equal(out + len - 9, "\\x01\xe2\x80\xa6\"\n");
	free(big);
}

static void test_levels(void **state)
{
	const char *out;

	assert_int_equal(log_setup("warn", LOG_FMT_LOGFMT), 0);
	assert_int_equal(log_enabled(LOG_DEBUG), 0);
	assert_int_equal(log_enabled(LOG_INFO), 0);
	assert_int_equal(log_enabled(LOG_WARN), 1);
	assert_int_equal(log_enabled(LOG_ERROR), 1);
	assert_int_equal(log_enabled(LOG__MAX), 0);
	log_event(LOG_INFO, "hidden info", NULL);
	log_msg(LOG_DEBUG, "hidden %s", "debug");
	log_event(LOG_WARN, "shown warn", NULL);
	log_msg(LOG_ERROR, "store: commit job %d: %s", 5, "disk\nfull");
	out = captured(state);
	assert_null(strstr(out, "hidden"));
	assert_int_equal(count_char(out, '\n'), 2);
	assert_non_null(strstr(out, " level=warn msg=\"shown warn\"\n"));
	assert_non_null(strstr(out, " level=error msg=\"store: commit job 5: disk\\nfull\"\n"));
	assert_int_equal(log_setup("loud", LOG_FMT_LOGFMT), ERR_INVALID);
	assert_int_equal(log_setup(NULL, LOG_FMT_LOGFMT), ERR_INVALID);
	assert_int_equal(log_setup("info", LOG_FMT__MAX), ERR_INVALID);
	/* a failed setup leaves the level alone */
	assert_int_equal(log_enabled(LOG_INFO), 0);
	assert_int_equal(log_setup("DEBUG", LOG_FMT_JSON), 0);
	assert_int_equal(log_enabled(LOG_DEBUG), 1);
	/* Only the documented names: "warning" is refused like in the file. */
	assert_int_equal(log_setup("warning", LOG_FMT_JSON), ERR_INVALID);
	assert_int_equal(log_enabled(LOG_DEBUG), 1);
	assert_int_equal(log_setup("Warn", LOG_FMT_JSON), 0);
	assert_int_equal(log_enabled(LOG_INFO), 0);
}

#define THREADS 4
#define PER_THREAD 300

static void *writer(void *arg)
{
	char id[16];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		snprintf(id, sizeof(id), "%d", i);
		log_event(LOG_INFO, "concurrent event with a longish message", "thread",
			  (const char *)arg, "i", id, "pad",
			  "0123456789012345678901234567890123456789012345678901234567890123456789",
			  NULL);
	}
	return NULL;
}

/* Lines from concurrent writers never interleave. */
static void test_threads(void **state)
{
	static const char *const names[THREADS] = { "t0", "t1", "t2", "t3" };
	pthread_t th[THREADS];
	const char *out, *nl;
	size_t lines = 0;
	int i;

	log_setup("info", LOG_FMT_LOGFMT);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)names[i]), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	out = captured(state);
	for (; *out != '\0'; out = nl + 1) {
		nl = strchr(out, '\n');
		assert_non_null(nl);
		assert_true(strncmp(out, "ts=", 3) == 0);
		assert_true(strncmp(nl - 6, "456789", 6) == 0);
		lines++;
	}
	assert_int_equal(lines, THREADS * PER_THREAD);
}

#define BUDGET_BURST 10
#define BUDGET_WINDOW_MS 60000
#define FLOOD 10000

/* 10,000 events within one minute: exactly the burst is allowed, nothing
 * is reported while the window runs, and the first event after it learns
 * the exact number suppressed, once. */
static void test_budget_flood(void **state)
{
	struct log_budget b;
	uint64_t ended = 0, allowed = 0;
	int64_t t0 = 1000;
	int i;

	(void)state;
	assert_int_equal(log_budget_init(&b, BUDGET_BURST, BUDGET_WINDOW_MS), 0);
	for (i = 0; i < FLOOD; i++) {
		/* Spread over the window, its last millisecond included. */
		int64_t now = t0 + (int64_t)i * (BUDGET_WINDOW_MS - 1) / (FLOOD - 1);
		allowed += (uint64_t)log_budget_take(&b, now, &ended);
		assert_int_equal(ended, 0);
	}
	assert_int_equal(allowed, BUDGET_BURST);
	assert_int_equal(log_budget_roll(&b, t0 + BUDGET_WINDOW_MS - 1), 0);
	/* The rollover: the new window's first line is allowed. */
	assert_int_equal(log_budget_take(&b, t0 + BUDGET_WINDOW_MS, &ended), 1);
	assert_int_equal(ended, FLOOD - BUDGET_BURST);
	assert_int_equal(log_budget_take(&b, t0 + BUDGET_WINDOW_MS, &ended), 1);
	assert_int_equal(ended, 0);
	log_budget_destroy(&b);
}

/* A timer's roll reports a window that ended with no event after it; a
 * window that suppressed nothing reports nothing. */
static void test_budget_roll(void **state)
{
	struct log_budget b;
	uint64_t ended = 99;
	int i;

	(void)state;
	assert_int_equal(log_budget_init(&b, BUDGET_BURST, BUDGET_WINDOW_MS), 0);
	assert_int_equal(log_budget_roll(&b, 0), 0);
	for (i = 0; i < BUDGET_BURST; i++)
		assert_int_equal(log_budget_take(&b, 5, &ended), 1);
	assert_int_equal(log_budget_roll(&b, 5 + BUDGET_WINDOW_MS), 0);
	for (i = 0; i < 3 * BUDGET_BURST; i++)
		log_budget_take(&b, 70000, &ended);
	assert_int_equal(log_budget_roll(&b, 70000 + BUDGET_WINDOW_MS - 1), 0);
	assert_int_equal(log_budget_roll(&b, 70000 + BUDGET_WINDOW_MS), 2 * BUDGET_BURST);
	assert_int_equal(log_budget_roll(&b, 70000 + 2 * BUDGET_WINDOW_MS), 0);
	/* After the roll the next event opens a new window. */
	assert_int_equal(log_budget_take(&b, 200000, &ended), 1);
	assert_int_equal(ended, 0);
	log_budget_destroy(&b);
}

/* Two reasons, two budgets: one flooded does not use up the other. */
static void test_budget_separate(void **state)
{
	struct log_budget a, b;
	uint64_t ended;
	int i, got_a = 0, got_b = 0;

	(void)state;
	assert_int_equal(log_budget_init(&a, BUDGET_BURST, BUDGET_WINDOW_MS), 0);
	assert_int_equal(log_budget_init(&b, BUDGET_BURST, BUDGET_WINDOW_MS), 0);
	for (i = 0; i < 1000; i++)
		got_a += log_budget_take(&a, i, &ended);
	for (i = 0; i < 1000; i++)
		got_b += log_budget_take(&b, 1000 + i, &ended);
	assert_int_equal(got_a, BUDGET_BURST);
	assert_int_equal(got_b, BUDGET_BURST);
	assert_int_equal(log_budget_roll(&a, 60000), 1000 - BUDGET_BURST);
	assert_int_equal(log_budget_roll(&b, 60000), 0); /* its window runs on */
	assert_int_equal(log_budget_roll(&b, 61000), 1000 - BUDGET_BURST);
	log_budget_destroy(&a);
	log_budget_destroy(&b);
}

/* Extreme clocks and bounds: no overflow, a clock going back stays in
 * the window, burst 0 logs nothing but counts everything, a window of 0
 * or less is taken as 1 ms. */
static void test_budget_extremes(void **state)
{
	struct log_budget b;
	uint64_t ended = 0;
	int i;

	(void)state;
	assert_int_equal(log_budget_init(&b, 1, INT64_MAX), 0);
	assert_int_equal(log_budget_take(&b, 0, &ended), 1);
	assert_int_equal(log_budget_take(&b, INT64_MAX - 1, &ended), 0);
	assert_int_equal(log_budget_take(&b, INT64_MIN, &ended), 0); /* went back */
	assert_int_equal(ended, 0);
	assert_int_equal(log_budget_roll(&b, INT64_MAX), 2);
	log_budget_destroy(&b);

	/* From the smallest to the largest clock: a window ended long ago. */
	assert_int_equal(log_budget_init(&b, 1, BUDGET_WINDOW_MS), 0);
	assert_int_equal(log_budget_take(&b, INT64_MIN, &ended), 1);
	assert_int_equal(log_budget_take(&b, INT64_MIN, &ended), 0);
	assert_int_equal(log_budget_take(&b, INT64_MAX, &ended), 1);
	assert_int_equal(ended, 1);
	log_budget_destroy(&b);

	assert_int_equal(log_budget_init(&b, 0, BUDGET_WINDOW_MS), 0);
	for (i = 0; i < 100; i++)
		assert_int_equal(log_budget_take(&b, INT64_MAX, &ended), 0);
	assert_int_equal(log_budget_roll(&b, INT64_MAX), 0);
	log_budget_destroy(&b);

	assert_int_equal(log_budget_init(&b, 1, -5), 0);
	assert_int_equal(log_budget_take(&b, 0, &ended), 1);
	assert_int_equal(log_budget_take(&b, 0, &ended), 0);
	assert_int_equal(log_budget_take(&b, 1, &ended), 1);
	assert_int_equal(ended, 1);
	log_budget_destroy(&b);
}

struct budget_arg {
	struct log_budget *b;
	uint64_t allowed, ended;
};

static void *budget_worker(void *p)
{
	struct budget_arg *a = p;
	uint64_t ended;
	int i;

	for (i = 0; i < FLOOD / THREADS; i++) {
		a->allowed += (uint64_t)log_budget_take(a->b, i, &ended);
		a->ended += ended;
	}
	return NULL;
}

/* Concurrent takers share one budget exactly. */
static void test_budget_threads(void **state)
{
	struct budget_arg args[THREADS];
	struct log_budget b;
	pthread_t th[THREADS];
	uint64_t allowed = 0;
	int i;

	(void)state;
	assert_int_equal(log_budget_init(&b, BUDGET_BURST, BUDGET_WINDOW_MS), 0);
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct budget_arg){ .b = &b };
		assert_int_equal(pthread_create(&th[i], NULL, budget_worker, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		allowed += args[i].allowed;
		assert_int_equal(args[i].ended, 0);
	}
	assert_int_equal(allowed, BUDGET_BURST);
	assert_int_equal(log_budget_roll(&b, BUDGET_WINDOW_MS), FLOOD - BUDGET_BURST);
	log_budget_destroy(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_logfmt_line, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_logfmt_hostile, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_json_hostile, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_utf8, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_truncation, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_levels, cap_start, cap_stop),
		cmocka_unit_test_setup_teardown(test_threads, cap_start, cap_stop),
		cmocka_unit_test(test_budget_flood),
		cmocka_unit_test(test_budget_roll),
		cmocka_unit_test(test_budget_separate),
		cmocka_unit_test(test_budget_extremes),
		cmocka_unit_test(test_budget_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
