/* Unit tests for parse.c: integers, durations at the edges of int64_t (the
 * product of number and unit must never wrap), host:port in every accepted
 * and refused spelling, and name lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "errors.h"
#include "parse.h"

static void test_int64(void **state)
{
	int64_t v = 7;

	(void)state;
	assert_int_equal(parse_int64("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(parse_int64("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(parse_int64("+12", &v), 0);
	assert_true(v == 12);
	assert_int_equal(parse_int64("9223372036854775808", &v), ERR_PARSE);
	assert_int_equal(parse_int64("-9223372036854775809", &v), ERR_PARSE);
	assert_int_equal(parse_int64("", &v), ERR_PARSE);
	assert_int_equal(parse_int64(" 1", &v), ERR_PARSE);
	assert_int_equal(parse_int64("1 ", &v), ERR_PARSE);
	assert_int_equal(parse_int64("0x10", &v), ERR_PARSE);
	assert_true(v == 12); /* a refused value leaves *out alone */
}

/* The largest value of each unit is accepted, one more is refused: before
 * the shared parser, the CLI multiplied first and 213503982334602d wrapped
 * to 61184 seconds. */
static void test_duration_extremes(void **state)
{
	static const struct {
		const char *in;
		int64_t want; /* -1: refused */
	} cases[] = {
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775807s", INT64_MAX },
		{ "153722867280912930m", INT64_C(153722867280912930) * 60 },
		{ "153722867280912931m", -1 },
		{ "2562047788015215h", INT64_C(2562047788015215) * 3600 },
		{ "2562047788015216h", -1 },
		{ "106751991167300d", INT64_C(106751991167300) * 86400 },
		{ "106751991167301d", -1 },
		{ "213503982334602d", -1 },
		{ "9223372036854775807d", -1 },
		{ "9223372036854775808", -1 },
		{ "99999999999999999999999999999d", -1 },
		{ "0", 0 },
		{ "0s", 0 },
		{ "-0", 0 },
		{ "+5m", 300 },
		{ "7d", 604800 },
		{ "-1", -1 },
		{ "-1d", -1 },
		{ "", -1 },
		{ "s", -1 },
		{ "5ss", -1 },
		{ "5w", -1 },
		{ " 5", -1 },
		{ "5 s", -1 },
		{ "1.5h", -1 },
		{ "0000000000000000000000000000001", 1 },
		{ "00000000000000000000000000000001", -1 }, /* 32 bytes: too long */
	};
	size_t i;
	int64_t v;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = -1;
		rc = parse_duration(cases[i].in, &v);
		if (cases[i].want < 0) {
			if (rc != ERR_PARSE)
				fail_msg("\"%s\" accepted as %lld", cases[i].in, (long long)v);
		} else if (rc != 0 || v != cases[i].want) {
			fail_msg("\"%s\": rc %d value %lld, want %lld", cases[i].in, rc,
				 (long long)v, (long long)cases[i].want);
		}
	}
}

static void check_hostport(const char *in, const char *host, unsigned port, int bracketed)
{
	struct hostport hp;

	if (parse_hostport(in, &hp) != 0)
		fail_msg("\"%s\" refused", in);
	assert_int_equal(hp.host_len, strlen(host));
	assert_memory_equal(hp.host, host, hp.host_len);
	assert_int_equal(hp.port, port);
	assert_int_equal(hp.bracketed, bracketed);
}

static void test_hostport(void **state)
{
	static const char *const bad[] = {
		"",         "8080",       ":8080",
		"host:",    "host:65536", "host:-1",
		"host:+80", "host: 80",   "host:80 ",
		"host:8o",  "a:b:80",     "a]:80",
		"[]:80",    "[::1:80",    "[::1]x:80",
		"[:]:]:80", "::1:80",     "host:99999999999999999999",
	};
	struct hostport hp;
	size_t i;

	(void)state;
	check_hostport("127.0.0.1:8080", "127.0.0.1", 8080, 0);
	check_hostport("0.0.0.0:0", "0.0.0.0", 0, 0);
	check_hostport("*:65535", "*", 65535, 0);
	check_hostport("[::1]:443", "::1", 443, 1);
	check_hostport("[::]:08080", "::", 8080, 1);
	check_hostport("a[b:1", "a[b", 1, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_hostport(bad[i], &hp) != ERR_PARSE)
			fail_msg("\"%s\" accepted", bad[i]);
}

static void test_name(void **state)
{
	static const char *const names[] = { "debug", NULL, "warn" };

	(void)state;
	assert_int_equal(parse_name(names, 3, "DEBUG"), 0);
	assert_int_equal(parse_name(names, 3, "Warn"), 2);
	assert_int_equal(parse_name(names, 3, "warning"), ERR_NOTFOUND);
	assert_int_equal(parse_name(names, 3, ""), ERR_NOTFOUND);
	assert_int_equal(parse_name(names, 2, "warn"), ERR_NOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_duration_extremes),
		cmocka_unit_test(test_hostport),
		cmocka_unit_test(test_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
