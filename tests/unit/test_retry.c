/* Retry policy: bounds of the jittered backoff, the Retry-After floor, and
 * that the default 12 attempts outlast a one-hour outage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"

static void test_window_doubles_then_caps(void **state)
{
	(void)state;
	/* rnd 0 draws the lower edge (half the ceiling), rnd = c/2 the ceiling. */
	assert_int_equal(retry_delay_ms(1, -1, 0), RETRY_BASE_MS / 2);
	assert_int_equal(retry_delay_ms(1, -1, RETRY_BASE_MS / 2), RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(2, -1, RETRY_BASE_MS), 2 * RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(3, -1, 0), 2 * RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(40, -1, RETRY_CAP_MS / 2), RETRY_CAP_MS);
	assert_int_equal(retry_delay_ms(1000, -1, 0), RETRY_CAP_MS / 2);
	/* One past the window wraps back to its lower edge: the draw is modular. */
	assert_int_equal(retry_delay_ms(1, -1, RETRY_BASE_MS / 2 + 1), RETRY_BASE_MS / 2);
}

static void test_jitter_stays_in_window(void **state)
{
	uint64_t x = 88172645463325252ull;
	int attempt, i;
	int64_t lo_seen = INT64_MAX, hi_seen = 0;

	(void)state;
	for (attempt = 1; attempt <= 20; attempt++) {
		int64_t c = RETRY_BASE_MS;
		for (i = 1; i < attempt && c < RETRY_CAP_MS; i++)
			c *= 2;
		if (c > RETRY_CAP_MS)
			c = RETRY_CAP_MS;
		for (i = 0; i < 1000; i++) {
			int64_t d;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			d = retry_delay_ms(attempt, -1, x);
			assert_in_range(d, c / 2, c);
			if (attempt == 1) {
				lo_seen = d < lo_seen ? d : lo_seen;
				hi_seen = d > hi_seen ? d : hi_seen;
			}
		}
	}
	/* The draws really spread over the window (not a constant). */
	assert_true(lo_seen < RETRY_BASE_MS / 2 + RETRY_BASE_MS / 10);
	assert_true(hi_seen > RETRY_BASE_MS - RETRY_BASE_MS / 10);
}

static void test_retry_after_is_a_floor(void **state)
{
	(void)state;
	assert_int_equal(retry_delay_ms(1, 30, 0), 30000);
	assert_int_equal(retry_delay_ms(1, 0, 0), RETRY_BASE_MS / 2);
	/* A draw above Retry-After keeps the draw. */
	assert_int_equal(retry_delay_ms(5, 1, 8 * RETRY_BASE_MS), 16 * RETRY_BASE_MS);
}

static void test_default_budget_outlasts_an_hour(void **state)
{
	int64_t least = 0, most = 0;
	int attempt;

	(void)state;
	/* 12 attempts have 11 waits between them. */
	for (attempt = 1; attempt < 12; attempt++) {
		least += retry_delay_ms(attempt, -1, 0);
		most += retry_delay_ms(attempt, -1,
				       UINT64_MAX - UINT64_MAX % (RETRY_CAP_MS / 2 + 1) - 1);
	}
	assert_true(least > 3600 * 1000);
	assert_true(most < 24 * 3600 * 1000LL);
}

static void test_allowed_by_attempts_and_age(void **state)
{
	(void)state;
	assert_true(retry_allowed(1, 12, 0, 86400));
	assert_true(retry_allowed(11, 12, 0, 86400));
	assert_false(retry_allowed(12, 12, 0, 86400));
	assert_false(retry_allowed(1, 12, 86400 * 1000LL, 86400));
	assert_true(retry_allowed(1, 12, 86400 * 1000LL - 1, 86400));
}

/* The largest Retry-After values a peer can send (issue 10): nothing
 * overflows (the sanitizer build aborts on signed overflow), a delay
 * saturates, and no retry is ever scheduled past the job's deadline. */
static void test_peer_numbers_saturate(void **state)
{
	const int64_t now = 1700000000000LL, received = now - 5000;

	(void)state;
	assert_int_equal(retry_delay_ms(1, 999999999999999999LL, 0), INT64_MAX);
	assert_int_equal(retry_delay_ms(12, INT64_MAX, UINT64_MAX), INT64_MAX);
	assert_int_equal(retry_s_to_ms(INT64_MAX), INT64_MAX);
	assert_int_equal(retry_s_to_ms(INT64_MIN), INT64_MIN);
	assert_int_equal(retry_sat_add(INT64_MAX, 1), INT64_MAX);
	assert_int_equal(retry_sat_add(INT64_MIN, -1), INT64_MIN);
	assert_int_equal(retry_sat_add(now, 1000), now + 1000);
	/* A far-future delay lands on the deadline, never past it. */
	assert_int_equal(retry_not_before(now, INT64_MAX, received, 86400), received + 86400000LL);
	assert_int_equal(retry_not_before(now, INT64_MAX, received, INT64_MAX), INT64_MAX);
	assert_int_equal(retry_not_before(now, 2000, received, 86400), now + 2000);
	/* Past the deadline already: now, not a time in the past. */
	assert_int_equal(retry_not_before(now, 2000, received - 90000000LL, 86400), now);
	assert_int_equal(retry_not_before(now, -5, received, 86400), now);
	/* max_age from a config can be large too. */
	assert_true(retry_allowed(1, 12, INT64_MAX - 1, INT64_MAX));
	assert_false(retry_allowed(1, 12, INT64_MAX, INT64_MAX));
}

static void test_retry_after_clamped_to_ceiling(void **state)
{
	(void)state;
	assert_int_equal(retry_after_clamp(-1, 300), -1);
	assert_int_equal(retry_after_clamp(0, 300), 0);
	assert_int_equal(retry_after_clamp(299, 300), 299);
	assert_int_equal(retry_after_clamp(999999999, 300), 300);
	assert_int_equal(retry_after_clamp(INT64_MAX, 300), 300);
	assert_int_equal(retry_after_clamp(INT64_MAX, -7), 0);
	assert_int_equal(retry_delay_ms(1, retry_after_clamp(INT64_MAX, 300), 0), 300000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_doubles_then_caps),
		cmocka_unit_test(test_jitter_stays_in_window),
		cmocka_unit_test(test_retry_after_is_a_floor),
		cmocka_unit_test(test_default_budget_outlasts_an_hour),
		cmocka_unit_test(test_allowed_by_attempts_and_age),
		cmocka_unit_test(test_peer_numbers_saturate),
		cmocka_unit_test(test_retry_after_clamped_to_ceiling),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
