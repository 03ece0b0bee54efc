/* Unit tests for text.c: UTF-8 repair, truncation at every boundary, chat
 * escapes against hostile input, duration formatting, the id syntax check
 * and the defusing of escaped NULs in JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "text.h"

#define FFFD "\xef\xbf\xbd"

static void check_sanitize(const char *in, size_t len, int nl, const char *want)
{
	char *got = text_sanitize(in, len, nl);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_sanitize_valid_passthrough(void **state)
{
	(void)state;
	check_sanitize("plain ascii", 11, 0, "plain ascii");
	check_sanitize("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 0,
		       "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* Largest valid code point and the first after the surrogates. */
	check_sanitize("\xf4\x8f\xbf\xbf\xee\x80\x80", 7, 0, "\xf4\x8f\xbf\xbf\xee\x80\x80");
	check_sanitize(NULL, 5, 0, "");
	check_sanitize("", 0, 0, "");
}

static void test_sanitize_invalid_sequences(void **state)
{
	(void)state;
	/* Overlong '/' in 2 and 3 bytes. */
	check_sanitize("\xc0\xaf", 2, 0, FFFD FFFD);
	check_sanitize("\xe0\x80\xaf", 3, 0, FFFD FFFD FFFD);
	check_sanitize("\xf0\x80\x80\xaf", 4, 0, FFFD FFFD FFFD FFFD);
	/* Surrogate U+D800 and above U+10FFFF. */
	check_sanitize("\xed\xa0\x80", 3, 0, FFFD FFFD FFFD);
	check_sanitize("\xf4\x90\x80\x80", 4, 0, FFFD FFFD FFFD FFFD);
	/* Truncated sequences are one maximal subpart each. */
	check_sanitize("\xe2\x82", 2, 0, FFFD);
	check_sanitize("\xe2\x82"
		       "A",
		       3, 0, FFFD "A");
	check_sanitize("\xf0\x9f\x98", 3, 0, FFFD);
	/* Stray continuation and bytes never valid. */
	check_sanitize("a\x80z", 3, 0, "a" FFFD "z");
	check_sanitize("\xfe\xff", 2, 0, FFFD FFFD);
	/* len is honoured even past a valid NUL-free prefix. */
	check_sanitize("abc\xc3", 4, 0, "abc" FFFD);
	check_sanitize("abc\xc3\xa9", 4, 0, "abc" FFFD);
}

static void test_sanitize_controls(void **state)
{
	(void)state;
	check_sanitize("a\x01"
		       "b\x1b[31m",
		       8, 0, "a" FFFD "b" FFFD "[31m");
	check_sanitize("x\x7fy", 3, 0, "x" FFFD "y");
	check_sanitize("\xc2\x85\xc2\x9f\xc2\xa0", 6, 0, FFFD FFFD "\xc2\xa0"); /* C1, NBSP ok */
	check_sanitize("a\rb", 3, 1, "a" FFFD "b");
	check_sanitize("a\0b\0", 4, 0, "ab");
	check_sanitize("l1\n\tl2", 6, 1, "l1\n\tl2");
	check_sanitize("l1\n\tl2", 6, 0, "l1  l2");
	/* Bidi override and isolate controls; the marks just outside the
	 * ranges (U+2029, U+202F, U+2065, U+206A) pass. */
	check_sanitize("a\xe2\x80\xae"
		       "b\xe2\x81\xa6"
		       "c",
		       9, 0, "a" FFFD "b" FFFD "c");
	check_sanitize("\xe2\x80\xaa\xe2\x81\xa9", 6, 0, FFFD FFFD);
	check_sanitize("\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa", 12, 0,
		       "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa");
}

/* The shared decoder: well-formed sequences give their code point, an
 * ill-formed one -1 and the maximal subpart to replace, and a NUL or the
 * end of the buffer is never read past. */
static void test_utf8_decode_table(void **state)
{
	static const struct {
		const char *in;
		size_t len;
		size_t want_n;
		int32_t want_cp;
	} t[] = {
		{ "A", 1, 1, 'A' },
		{ "\xc3\xa9", 2, 2, 0xe9 },
		{ "\xe2\x82\xac", 3, 3, 0x20ac },
		{ "\xf0\x9f\x98\x80", 4, 4, 0x1f600 },
		{ "\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff },
		{ "\xc0\xaf", 2, 1, -1 },         /* overlong lead */
		{ "\xe0\x80\xaf", 3, 1, -1 },     /* overlong three-byte form */
		{ "\xed\xa0\x80", 3, 1, -1 },     /* surrogate */
		{ "\xf4\x90\x80\x80", 4, 1, -1 }, /* above U+10FFFF */
		{ "\xf5\x80", 2, 1, -1 },         /* no such lead byte */
		{ "\x80", 1, 1, -1 },             /* stray continuation */
		{ "\xe2\x82", 2, 2, -1 },         /* cut short by the buffer */
		{ "\xe2\x82\0", 3, 2, -1 },       /* cut short by a NUL */
		{ "\xf0\x9f\x98"
		  "A",
		  4, 3, -1 }, /* maximal subpart, then 'A' */
	};
	size_t i, n;
	int32_t cp;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = text_utf8_decode(t[i].in, t[i].len, &cp);
		assert_int_equal(n, t[i].want_n);
		assert_int_equal(cp, t[i].want_cp);
	}
}

static void test_utf8_prefix_boundaries(void **state)
{
	/* "a€😀b": byte offsets of boundaries 0,1,4,8,9. */
	const char *s = "a\xe2\x82\xac\xf0\x9f\x98\x80"
			"b";
	const size_t want[] = { 0, 1, 1, 1, 4, 4, 4, 4, 8, 9, 9, 9 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_int_equal(text_utf8_prefix(s, i), want[i]);
	assert_int_equal(text_utf8_prefix(NULL, 10), 0);
	/* A truncated sequence at the end is never included. */
	assert_int_equal(text_utf8_prefix("ab\xe2\x82", 10), 2);
}

static void check_truncate(const char *in, size_t max, const char *want)
{
	char *got = text_truncate(in, max);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_truncate_every_limit(void **state)
{
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
			"b"; /* 5 code points */
	const char *want[] = {
		"",
		"\xe2\x80\xa6",
		"a\xe2\x80\xa6",
		"a\xc3\xa9\xe2\x80\xa6",
		"a\xc3\xa9\xe2\x82\xac\xe2\x80\xa6",
		"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
		"b",
		"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
		"b",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		check_truncate(s, i, want[i]);
	check_truncate("abcdef", 6, "abcdef");
	check_truncate("abcdef", 5, "abcd\xe2\x80\xa6");
	check_truncate(NULL, 3, "");
}

static void check_escape(char *(*fn)(const char *), const char *in, const char *want)
{
	char *got = fn(in);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_url_escape(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "AZaz09-._~", "AZaz09-._~" },
		{ "a b/c?d=e&f", "a%20b%2Fc%3Fd%3De%26f" },
		{ "https://api.matillion.com", "https%3A%2F%2Fapi.matillion.com" },
		{ "\xc3\xa9%+", "%C3%A9%25%2B" },
		{ "", "" },
	};
	size_t i;
	char *got;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = text_url_escape(cases[i].in);
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
	got = text_url_escape(NULL);
	assert_non_null(got);
	assert_string_equal(got, "");
	free(got);
	/* Every byte: only ASCII letters, digits and "-._~" pass. */
	for (i = 1; i < 256; i++) {
		char in[2] = { (char)i, '\0' }, want[4];
		int keep = (i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') ||
			   (i >= '0' && i <= '9') || strchr("-._~", (int)i) != NULL;

		snprintf(want, sizeof(want), keep ? "%c" : "%%%02X", (unsigned)i);
		got = text_url_escape(in);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
}

static void test_teams_plain_keeps_markdown(void **state)
{
	(void)state;
	/* Tags cannot form; Markdown specials stay as typed (TextRuns are not
	 * Markdown), so no backslash ever shows in the card. */
	check_escape(text_teams_plain, "<at>CEO</at>",
		     "\xe2\x80\xb9"
		     "at\xe2\x80\xba"
		     "CEO\xe2\x80\xb9/at\xe2\x80\xba");
	check_escape(text_teams_plain, "<!channel>", "\xe2\x80\xb9!channel\xe2\x80\xba");
	check_escape(text_teams_plain, "[x](javascript:alert(1))", "[x](javascript:alert(1))");
	check_escape(text_teams_plain, "load_dwh (v2) *x* `c` ~s~ #h \\ - a\n12. b",
		     "load_dwh (v2) *x* `c` ~s~ #h \\ - a\n12. b");
	check_escape(text_teams_plain, "R&D &lt;at&gt; &#60; & ;",
		     "R&D \xef\xbc\x86lt;at\xef\xbc\x86gt; \xef\xbc\x86#60; & ;");
	check_escape(text_teams_plain, "Finance/load_dwh \xe2\x80\xba x",
		     "Finance/load_dwh \xe2\x80\xba x");
	check_escape(text_teams_plain, "", "");
	check_escape(text_teams_plain, NULL, "");
}

static void check_duration(int64_t ms, const char *want)
{
	char buf[32];

	text_duration(ms, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void test_duration_formats(void **state)
{
	char small[3];

	(void)state;
	check_duration(-1, "?");
	check_duration(0, "0ms");
	check_duration(850, "850ms");
	check_duration(999, "999ms");
	check_duration(1000, "1.0s");
	check_duration(12345, "12.3s");
	check_duration(59999, "59.9s");
	check_duration(60000, "1m 00s");
	check_duration(185000, "3m 05s");
	check_duration(3599999, "59m 59s");
	check_duration(3600000, "1h 00m");
	check_duration(3720000, "1h 02m");
	check_duration(90000000, "25h 00m");
	text_duration(850, small, sizeof(small));
	assert_string_equal(small, "85");
}

static void test_id_valid_table(void **state)
{
	static const char *const good[] = {
		"a", "e-1", "A.b_c:d-9", "..a", "a..", "...", "2f0c4f1e-8d1f-4c54-9f1a-3b5f0d9c6a11"
	};
	static const char *const bad[] = { "",     "a/b",    "%2e%2e",      "a b",
					   "a\tb", "a\r\nb", "caf\xc3\xa9", "a" FFFD,
					   "a?b",  "a#b",    "a\\b" };
	char longest[TEXT_ID_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(text_id_valid(good[i]), 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(text_id_valid(bad[i]), 0);
	assert_int_equal(text_id_valid(NULL), 0);
	/* Dot segments are the URL builder's concern, not a syntax error. */
	assert_int_equal(text_id_valid("."), 1);
	assert_int_equal(text_id_valid(".."), 1);
	memset(longest, 'x', sizeof(longest));
	longest[TEXT_ID_MAX - 1] = '\0';
	assert_int_equal(text_id_valid(longest), 1);
	longest[TEXT_ID_MAX - 1] = 'x';
	longest[TEXT_ID_MAX] = '\0';
	assert_int_equal(text_id_valid(longest), 0);
}

static void check_defuse(const char *in, const char *want)
{
	char buf[64];
	size_t n = strlen(in);

	memcpy(buf, in, n + 1);
	assert_int_equal(text_json_defuse_nul(buf, n), 0);
	assert_string_equal(buf, want);
}

static void test_json_defuse_nul(void **state)
{
	char raw[] = "{\"a\":\"x\0y\"}";

	(void)state;
	check_defuse("{\"id\":\"e-1\\u0000/../x\"}", "{\"id\":\"e-1\\uFFFD/../x\"}");
	check_defuse("\"\\u0000\\u0000\"", "\"\\uFFFD\\uFFFD\"");
	/* An escaped backslash followed by the text u0000 is no NUL. */
	check_defuse("\"\\\\u0000\"", "\"\\\\u0000\"");
	check_defuse("\"\\\\\\u0000\"", "\"\\\\\\uFFFD\"");
	check_defuse("\"\\u00001\"", "\"\\uFFFD1\"");
	check_defuse("\"\\u0001\\u1000\"", "\"\\u0001\\u1000\"");
	/* Cut short: nothing to rewrite, and no read past the end. */
	check_defuse("\"\\u000", "\"\\u000");
	check_defuse("\"\\", "\"\\");
	check_defuse("", "");
	assert_int_equal(text_json_defuse_nul(raw, sizeof(raw) - 1), ERR_PARSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sanitize_valid_passthrough),
		cmocka_unit_test(test_sanitize_invalid_sequences),
		cmocka_unit_test(test_sanitize_controls),
		cmocka_unit_test(test_utf8_decode_table),
		cmocka_unit_test(test_utf8_prefix_boundaries),
		cmocka_unit_test(test_truncate_every_limit),
		cmocka_unit_test(test_url_escape),
		cmocka_unit_test(test_teams_plain_keeps_markdown),
		cmocka_unit_test(test_duration_formats),
		cmocka_unit_test(test_id_valid_table),
		cmocka_unit_test(test_json_defuse_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
