/* Retry policy: bounds of the jittered backoff and the Retry-After floor. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "retry.h"

static void backoff_ceiling_doubles_then_caps(void **state)
{
	(void)state;
	/* rnd = ceiling - floor draws the ceiling itself, 0 draws the floor. */
	assert_int_equal(retry_delay_ms(1, -1, RETRY_BASE_MS - RETRY_FLOOR_MS), RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(1, -1, 0), RETRY_FLOOR_MS);
	assert_int_equal(retry_delay_ms(2, -1, 2 * RETRY_BASE_MS - RETRY_FLOOR_MS), 2 * RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(3, -1, 4 * RETRY_BASE_MS - RETRY_FLOOR_MS), 4 * RETRY_BASE_MS);
	assert_int_equal(retry_delay_ms(40, -1, RETRY_CAP_MS - RETRY_FLOOR_MS), RETRY_CAP_MS);
	/* One past the range wraps back to the floor: the draw is modular. */
	assert_int_equal(retry_delay_ms(1000, -1, RETRY_CAP_MS - RETRY_FLOOR_MS + 1), RETRY_FLOOR_MS);
}

static void jitter_stays_in_range(void **state)
{
	uint64_t x = 88172645463325252ull;
	int attempt, i;

	(void)state;
	for (attempt = 1; attempt <= 20; attempt++) {
		int64_t ceiling = RETRY_BASE_MS;
		for (i = 1; i < attempt && ceiling < RETRY_CAP_MS; i++)
			ceiling *= 2;
		if (ceiling > RETRY_CAP_MS)
			ceiling = RETRY_CAP_MS;
		for (i = 0; i < 1000; i++) {
			int64_t d;
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			d = retry_delay_ms(attempt, -1, x);
			assert_in_range(d, RETRY_FLOOR_MS, ceiling);
		}
	}
}

static void retry_after_is_a_floor(void **state)
{
	(void)state;
	assert_int_equal(retry_delay_ms(1, 30, 0), 30000);
	assert_int_equal(retry_delay_ms(1, 0, 0), RETRY_FLOOR_MS);
	/* A long ceiling draw above Retry-After keeps the draw. */
	assert_int_equal(retry_delay_ms(5, 1, 20000 - RETRY_FLOOR_MS), 20000);
}

static void allowed_by_attempts_and_age(void **state)
{
	(void)state;
	assert_true(retry_allowed(1, 12, 0, 86400));
	assert_true(retry_allowed(11, 12, 0, 86400));
	assert_false(retry_allowed(12, 12, 0, 86400));
	assert_false(retry_allowed(1, 12, 86400 * 1000LL, 86400));
	assert_true(retry_allowed(1, 12, 86400 * 1000LL - 1, 86400));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(backoff_ceiling_doubles_then_caps),
		cmocka_unit_test(jitter_stays_in_range),
		cmocka_unit_test(retry_after_is_a_floor),
		cmocka_unit_test(allowed_by_attempts_and_age),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
