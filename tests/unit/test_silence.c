/* Silences and mute windows (silence.h): matching a silence to a run,
 * the command line's times, durations, globs and reasons, and mute
 * windows at their edges (start inclusive, end exclusive, across
 * midnight and the end of the week), with hostile input throughout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "errors.h"
#include "silence.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define SUN 1795910400000LL /* 2026-11-29 00:00 UTC, a Sunday */

/* Appends s to buf (cap bytes), cutting it when full. */
static void append(char *buf, size_t cap, const char *s)
{
	size_t n = strlen(buf), m = strlen(s);

	if (m > cap - 1 - n)
		m = cap - 1 - n;
	memcpy(buf + n, s, m);
	buf[n + m] = '\0';
}

static struct silence sil(const char *proj, const char *pipe, const char *env)
{
	struct silence s = { .id = 1,
			     .project_id = proj,
			     .pipeline = pipe,
			     .environment = env,
			     .start_ms = SUN,
			     .end_ms = SUN + 2 * HOUR,
			     .reason = "x",
			     .removed_ms = -1 };
	return s;
}

static void test_matches_fields(void **state)
{
	struct silence s = sil("", "load_*", "");

	(void)state;
	assert_int_equal(silence_matches(&s, "p1", "prod", "Finance/load_dwh", SUN), 1);
	assert_int_equal(silence_matches(&s, "p1", "prod", "Finance/extract", SUN), 0);
	s = sil("p1", "", "");
	assert_int_equal(silence_matches(&s, "p1", "prod", "anything", SUN), 1);
	assert_int_equal(silence_matches(&s, "p2", "prod", "anything", SUN), 0);
	assert_int_equal(silence_matches(&s, "p", "prod", "anything", SUN), 0);
	s = sil("p1", "Finance/*", "pr?d");
	assert_int_equal(silence_matches(&s, "p1", "prod", "Finance/load_dwh", SUN), 1);
	assert_int_equal(silence_matches(&s, "p1", "dev", "Finance/load_dwh", SUN), 0);
	assert_int_equal(silence_matches(&s, "p1", "prod", "Sales/load_dwh", SUN), 0);
	/* Unknown parts match only an empty field. */
	assert_int_equal(silence_matches(&s, "p1", NULL, "Finance/load_dwh", SUN), 0);
	/* fnmatch(3) for both: classes too; a glob with '/' wants the path. */
	s = sil("", "Fin*/load_[a-d]wh", "[pq]rod");
	assert_int_equal(silence_matches(&s, "p1", "prod", "Finance/load_dwh", SUN), 1);
	assert_int_equal(silence_matches(&s, "p1", "prod", "load_dwh", SUN), 0);
	assert_int_equal(silence_matches(&s, "p1", "rod", "Finance/load_dwh", SUN), 0);
	s = sil("", "", "");
	assert_int_equal(silence_matches(&s, NULL, NULL, NULL, SUN), 1);
	assert_int_equal(silence_matches(NULL, "p1", "prod", "x", SUN), 0);
}

static void test_matches_time_edges(void **state)
{
	struct silence s = sil("p1", "", "");

	(void)state;
	assert_int_equal(silence_matches(&s, "p1", "e", "x", SUN - 1), 0);
	assert_int_equal(silence_matches(&s, "p1", "e", "x", SUN), 1);
	assert_int_equal(silence_matches(&s, "p1", "e", "x", SUN + 2 * HOUR - 1), 1);
	assert_int_equal(silence_matches(&s, "p1", "e", "x", SUN + 2 * HOUR), 0);
	assert_int_equal(silence_matches(&s, "p1", "e", "x", INT64_MIN), 0);
	assert_int_equal(silence_matches(&s, "p1", "e", "x", INT64_MAX), 0);
	s.end_ms = s.start_ms; /* empty */
	assert_int_equal(silence_matches(&s, "p1", "e", "x", SUN), 0);
}

static void test_glob_valid(void **state)
{
	char big[400];

	(void)state;
	assert_int_equal(silence_glob_valid("load_*"), 1);
	assert_int_equal(silence_glob_valid("Finance/Ölé [ab]?"), 1);
	assert_int_equal(silence_glob_valid(""), 0);
	assert_int_equal(silence_glob_valid(NULL), 0);
	assert_int_equal(silence_glob_valid("a\nb"), 0);
	assert_int_equal(silence_glob_valid("a\x1b[31mb"), 0);
	assert_int_equal(silence_glob_valid("a\x7f"), 0);
	assert_int_equal(silence_glob_valid("a\xc2\x85"), 0);     /* C1 NEL */
	assert_int_equal(silence_glob_valid("a\xe2\x80\xae"), 0); /* RLO */
	assert_int_equal(silence_glob_valid("a\xff"), 0);
	memset(big, 'a', sizeof(big));
	big[SILENCE_GLOB_MAX - 1] = '\0';
	assert_int_equal(silence_glob_valid(big), 1); /* 255 bytes */
	big[SILENCE_GLOB_MAX - 1] = 'a';
	big[SILENCE_GLOB_MAX] = '\0';
	assert_int_equal(silence_glob_valid(big), 0);
}

static void test_parse_time(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(silence_parse_time("2026-11-29 02:30", &ms), 0);
	assert_int_equal(ms, SUN + 2 * HOUR + 30 * MIN);
	assert_int_equal(silence_parse_time("2026-11-29T02:30:00Z", &ms), 0);
	assert_int_equal(ms, SUN + 2 * HOUR + 30 * MIN);
	assert_int_equal(silence_parse_time("2026-11-29T02:30:00.250Z", &ms), 0);
	assert_int_equal(ms, SUN + 2 * HOUR + 30 * MIN + 250);
	assert_int_equal(silence_parse_time("2026-11-29T04:30:00+02:00", &ms), 0);
	assert_int_equal(ms, SUN + 2 * HOUR + 30 * MIN);
	assert_int_equal(silence_parse_time("2026-11-28T23:30:00-03:00", &ms), 0);
	assert_int_equal(ms, SUN + 2 * HOUR + 30 * MIN);
	assert_int_equal(silence_parse_time("2024-02-29 00:00", &ms), 0);
	assert_int_equal(silence_parse_time("9999-12-31 23:59", &ms), 0);
	static const char *const bad[] = {
		"",
		"2026-11-29",
		"2026-11-29 2:30",
		"2026-11-29 24:00",
		"2026-11-29 02:60",
		"2026-13-01 00:00",
		"2026-02-29 00:00",
		"2026-04-31 00:00",
		"2026-11-29T02:30:00",
		"2026-11-29T02:30:61Z",
		"2026-11-29T02:30:00+24:00",
		"2026-11-29 02:30 ",
		" 2026-11-29 02:30",
		"1969-12-31 23:59",
		"99999-01-01 00:00",
		"2026-11-29T02:30:00.Z",
		"2026-11-29T02:30:00.1234567890123456789012Z",
		"-2026-11-29 02:30",
		"2026-11-29 02:30\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (silence_parse_time(bad[i], &ms) != ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_parse_for(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(silence_parse_for("2h", &ms), 0);
	assert_int_equal(ms, 2 * HOUR);
	assert_int_equal(silence_parse_for("90d", &ms), 0);
	assert_int_equal(ms, 90 * DAY);
	assert_int_equal(silence_parse_for("1", &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(silence_parse_for("91d", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("999999999d", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("9223372036854775807", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("0", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("-2h", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("2w", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for("", &ms), ERR_PARSE);
	assert_int_equal(silence_parse_for(NULL, &ms), ERR_PARSE);
}

static void test_reason_clean(void **state)
{
	char big[4096];
	char *r;

	(void)state;
	r = silence_reason_clean("  warehouse upgrade\nCHG-42 \x1b[2J ");
	assert_non_null(r);
	assert_string_equal(r, "warehouse upgrade CHG-42 \xef\xbf\xbd[2J");
	free(r);
	assert_null(silence_reason_clean(""));
	assert_null(silence_reason_clean("   \n\t "));
	assert_null(silence_reason_clean(NULL));
	memset(big, 'x', SILENCE_REASON_MAX);
	big[SILENCE_REASON_MAX] = '\0';
	r = silence_reason_clean(big);
	assert_non_null(r);
	free(r);
	/* 200 characters of two bytes each are still 200 characters. */
	big[0] = '\0';
	for (int i = 0; i < SILENCE_REASON_MAX; i++)
		append(big, sizeof(big), "\xc3\xa9");
	r = silence_reason_clean(big);
	assert_non_null(r);
	free(r);
	append(big, sizeof(big), "x");
	assert_null(silence_reason_clean(big));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(silence_reason_clean(big));
}

/* ---- mute windows ---- */

static void test_mute_edges(void **state)
{
	const char *w = "Sun 01:00-03:00";

	(void)state;
	assert_int_equal(mute_window_active(w, SUN + HOUR - 1), 0);
	assert_int_equal(mute_window_active(w, SUN + HOUR), 1);
	assert_int_equal(mute_window_active(w, SUN + 3 * HOUR - 1), 1);
	assert_int_equal(mute_window_active(w, SUN + 3 * HOUR), 0);
	/* Only on Sundays. */
	assert_int_equal(mute_window_active(w, SUN + DAY + 2 * HOUR), 0);
	assert_int_equal(mute_window_active(w, SUN + 7 * DAY + 2 * HOUR), 1);
	assert_int_equal(mute_window_active(w, SUN - 7 * DAY + 2 * HOUR), 1);
	/* Days are case-blind; daily is every day. */
	assert_int_equal(mute_window_active("sUN 01:00-03:00", SUN + 2 * HOUR), 1);
	for (int d = 0; d < 7; d++) {
		assert_int_equal(mute_window_active("daily 02:00-02:15", SUN + d * DAY + 2 * HOUR),
				 1);
		assert_int_equal(mute_window_active("daily 02:00-02:15",
						    SUN + d * DAY + 2 * HOUR + 15 * MIN),
				 0);
	}
}

static void test_mute_ranges_and_lists(void **state)
{
	const char *w = "Sun 01:00-03:00, Mon-Fri 12:00-12:30, daily 02:00-02:15";

	(void)state;
	/* Monday..Friday noon, not Saturday or Sunday. */
	for (int d = 0; d < 7; d++)
		assert_int_equal(mute_window_active(w, SUN + d * DAY + 12 * HOUR + 10 * MIN),
				 d >= 1 && d <= 5);
	/* A range across the week's end: Fri, Sat, Sun, Mon. */
	for (int d = 0; d < 7; d++)
		assert_int_equal(
			mute_window_active("Fri-Mon 08:00-09:00", SUN + d * DAY + 8 * HOUR),
			d == 0 || d == 1 || d == 5 || d == 6);
	assert_int_equal(mute_window_active("daily 00:00-24:00", SUN + DAY - 1), 1);
}

static void test_mute_across_midnight(void **state)
{
	(void)state;
	/* Saturday 23:00 to Sunday 01:00: across midnight and the week's end. */
	const int64_t sat = SUN + 6 * DAY;
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + 23 * HOUR - 1), 0);
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + 23 * HOUR), 1);
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + DAY), 1);
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + DAY + HOUR - 1), 1);
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + DAY + HOUR), 0);
	/* The early part belongs to the day before: not Saturday 00:30. */
	assert_int_equal(mute_window_active("Sat 23:00-01:00", sat + 30 * MIN), 0);
	/* Sunday 00:30 of the previous week's Saturday window. */
	assert_int_equal(mute_window_active("Sat 23:00-01:00", SUN + 30 * MIN), 1);
	/* End 00:00 is midnight of the next day. */
	assert_int_equal(mute_window_active("Sat 22:00-00:00", sat + DAY - 1), 1);
	assert_int_equal(mute_window_active("Sat 22:00-00:00", sat + DAY), 0);
	/* Before 1970 the week still turns: 1969-12-28 was a Sunday. */
	assert_int_equal(mute_window_active("Sun 01:00-03:00", -4 * DAY + 2 * HOUR), 1);
	assert_int_equal(mute_window_active("Sun 01:00-03:00", INT64_MIN), 0);
	assert_int_equal(mute_window_active("daily 00:00-24:00", INT64_MIN), 1);
	assert_int_equal(mute_window_active("daily 00:00-24:00", INT64_MAX), 1);
}

/* When the quiet time covering a moment ends (destination mute windows
 * hold messages until then). */
static int64_t end_of(const char *spec, int64_t now)
{
	struct mute_window w[MUTE_WINDOWS_MAX];
	char err[128];
	size_t n = 0;

	assert_int_equal(mute_parse(spec, w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)), 0);
	return mute_windows_end(w, n, now);
}

static void test_mute_end(void **state)
{
	const int64_t sat = SUN + 6 * DAY;

	(void)state;
	assert_int_equal(end_of("Sun 01:00-03:00", SUN + HOUR), SUN + 3 * HOUR);
	assert_int_equal(end_of("Sun 01:00-03:00", SUN + 3 * HOUR - 1), SUN + 3 * HOUR);
	assert_int_equal(end_of("Sun 01:00-03:00", SUN + 3 * HOUR), 0);
	assert_int_equal(end_of("Sun 01:00-03:00", SUN + 12345), 0);
	/* Across midnight and the week's end. */
	assert_int_equal(end_of("Sat 23:00-01:00", sat + 23 * HOUR + 17), sat + DAY + HOUR);
	/* Touching and overlapping windows run on. */
	assert_int_equal(
		end_of("Sun 01:00-02:00, Sun 02:00-02:30, daily 02:15-04:00", SUN + HOUR + 5),
		SUN + 4 * HOUR);
	/* Every minute of the week: a week on, not for ever. */
	assert_int_equal(end_of("daily 00:00-24:00", SUN + 7), SUN + 7 + 7 * DAY);
	/* Extremes: nothing, or a bounded answer. */
	assert_int_equal(mute_windows_end(NULL, 3, SUN), 0);
	assert_int_equal(end_of("daily 00:00-24:00", INT64_MAX), 0);
	assert_int_equal(end_of("daily 00:00-24:00", INT64_MIN), 0);
	assert_true(end_of("daily 00:00-24:00", -5 * MIN + 1) > -5 * MIN + 1);
}

/* The stretch a mute window list covers around a time: merged across
 * overlapping and touching windows, across midnight; none outside. */
static int span_of(const char *spec, int64_t at, int64_t *from, int64_t *until)
{
	struct mute_window w[MUTE_WINDOWS_MAX];
	size_t n = 0;

	assert_int_equal(mute_parse(spec, w, MUTE_WINDOWS_MAX, &n, NULL, 0), 0);
	return mute_windows_span(w, n, at, from, until);
}

static void test_mute_span(void **state)
{
	const int64_t sat = SUN + 6 * DAY;
	int64_t a = 7, b = 7;

	(void)state;
	assert_int_equal(span_of("Sun 01:00-03:00", SUN + 2 * HOUR + 17, &a, &b), 1);
	assert_true(a == SUN + HOUR && b == SUN + 3 * HOUR);
	assert_int_equal(span_of("Sun 01:00-03:00", SUN + HOUR, &a, &b), 1);
	assert_true(a == SUN + HOUR && b == SUN + 3 * HOUR);
	/* Outside: 0, and the outputs say so. */
	assert_int_equal(span_of("Sun 01:00-03:00", SUN + 3 * HOUR, &a, &b), 0);
	assert_true(a == -1 && b == -1);
	/* Touching and overlapping windows are one stretch. */
	assert_int_equal(span_of("Sun 01:00-02:00, Sun 02:00-03:00, Sun 02:30-04:10",
				 SUN + 90 * MIN, &a, &b),
			 1);
	assert_true(a == SUN + HOUR && b == SUN + 4 * HOUR + 10 * MIN);
	/* Across midnight and the week's end. */
	assert_int_equal(span_of("Sat 23:00-01:00", SUN + 30 * MIN, &a, &b), 1);
	assert_true(a == SUN - HOUR && b == SUN + HOUR);
	assert_int_equal(span_of("Sat 23:00-01:00", sat + 23 * HOUR, &a, &b), 1);
	assert_true(a == sat + 23 * HOUR && b == sat + DAY + HOUR);
	/* Always on: the stretch has no end the search can find. */
	assert_int_equal(span_of("daily 00:00-24:00", SUN, &a, &b), 1);
	assert_true(a == INT64_MIN && b == INT64_MAX);
	/* Hostile times: no overflow at the ends of int64. */
	assert_int_equal(span_of("daily 00:00-24:00", INT64_MAX, &a, &b), 1);
	assert_true(b == INT64_MAX);
	assert_int_equal(span_of("daily 00:00-24:00", INT64_MIN, &a, &b), 1);
	assert_true(a == INT64_MIN);
	assert_int_equal(mute_windows_span(NULL, 0, SUN, &a, &b), 0);
}

static void test_mute_hostile(void **state)
{
	static const char *const bad[] = {
		"",
		",",
		"Sun 25:00-26:00",
		"Sun 01:00-24:01",
		"Sun 24:00-01:00",
		"Sun 01:60-02:00",
		"Sun 1:00-2:00",
		"Sun 01:00-01:00",
		"Sun 01:00",
		"Sun01:00-02:00",
		"Sunday 01:00-02:00",
		"Mon-Fri-Sat 01:00-02:00",
		"Mon- 01:00-02:00",
		"-Fri 01:00-02:00",
		"Xyz 01:00-02:00",
		"daily 01:00-02:00 extra",
		"daily 01:00-02:00,",
		"daily 01:00-02:00,,daily 03:00-04:00",
		"daily 01:00-02:00\x1b",
		"daily 01:00-02:00\n",
		"daily -1:00-02:00",
		"daily 99999999999999999999:00-02:00",
		"daily 01:00--02:00",
	};
	struct mute_window w[MUTE_WINDOWS_MAX];
	char err[128], big[8192];
	size_t n = 0, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (mute_parse(bad[i], w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)) != ERR_PARSE)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(err[0] != '\0');
		assert_int_equal(mute_window_active(bad[i], SUN + 2 * HOUR), ERR_PARSE);
	}
	assert_int_equal(mute_window_active(NULL, SUN), ERR_PARSE);
	/* Spaces around items are fine. */
	assert_int_equal(mute_parse("  Sun 01:00-03:00 ,daily  02:00-02:15  ", w, MUTE_WINDOWS_MAX,
				    &n, err, sizeof(err)),
			 0);
	assert_int_equal(n, 2);
	/* More windows than fit. */
	big[0] = '\0';
	for (i = 0; i < MUTE_WINDOWS_MAX + 1; i++)
		append(big, sizeof(big), i ? ",daily 01:00-02:00" : "daily 01:00-02:00");
	assert_int_equal(mute_parse(big, w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)), ERR_PARSE);
	/* A huge value is refused, not read forever. */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(mute_parse(big, w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)), ERR_PARSE);
	/* An err of size 0 or 1 is not overrun. */
	assert_int_equal(mute_parse("Sun 25:00-26:00", w, MUTE_WINDOWS_MAX, &n, err, 1), ERR_PARSE);
	assert_int_equal(mute_parse("Sun 25:00-26:00", w, MUTE_WINDOWS_MAX, &n, NULL, 0),
			 ERR_PARSE);
}

/* What is printed reads back as the same windows. */
static void test_mute_format_round_trip(void **state)
{
	struct mute_window w[MUTE_WINDOWS_MAX], w2[MUTE_WINDOWS_MAX];
	char out[512], err[128];
	size_t n, n2;

	(void)state;
	assert_int_equal(mute_parse("sun 01:00-03:00,Mon-Fri 12:00-12:30, daily 02:00-02:15,"
				    " Fri-Mon 23:00-00:00, Sat 00:00-24:00",
				    w, MUTE_WINDOWS_MAX, &n, err, sizeof(err)),
			 0);
	mute_format(w, n, out, sizeof(out));
	assert_string_equal(out, "Sun 01:00-03:00, Mon-Fri 12:00-12:30, daily 02:00-02:15,"
				 " Fri-Mon 23:00-00:00, Sat 00:00-24:00");
	assert_int_equal(mute_parse(out, w2, MUTE_WINDOWS_MAX, &n2, err, sizeof(err)), 0);
	assert_int_equal(n2, n);
	assert_memory_equal(w, w2, n * sizeof(w[0]));
	mute_format(w, n, out, 8); /* cut, terminated */
	assert_int_equal(strlen(out), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_fields),
		cmocka_unit_test(test_matches_time_edges),
		cmocka_unit_test(test_glob_valid),
		cmocka_unit_test(test_parse_time),
		cmocka_unit_test(test_parse_for),
		cmocka_unit_test(test_reason_clean),
		cmocka_unit_test(test_mute_edges),
		cmocka_unit_test(test_mute_ranges_and_lists),
		cmocka_unit_test(test_mute_across_midnight),
		cmocka_unit_test(test_mute_end),
		cmocka_unit_test(test_mute_hostile),
		cmocka_unit_test(test_mute_format_round_trip),
		cmocka_unit_test(test_mute_span),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
