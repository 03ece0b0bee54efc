/* Unit tests for the token bucket: the reservation math is driven with
 * explicit clock values; only the two acquire tests read the real
 * monotonic clock, to check that a caller sleeps at least what it
 * reserved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "ratelimit.h"

/* A burst is free, then callers are spaced at 1/rate. */
static void test_burst_then_spacing(void **state)
{
	struct ratelimit *r = ratelimit_new(1.0, 3);

	(void)state;
	assert_non_null(r);
	assert_int_equal(ratelimit_reserve(r, 1000), 0);
	assert_int_equal(ratelimit_reserve(r, 1000), 0);
	assert_int_equal(ratelimit_reserve(r, 1000), 0);
	assert_int_equal(ratelimit_reserve(r, 1000), 1000);
	assert_int_equal(ratelimit_reserve(r, 1000), 2000);
	/* Two seconds later the two queued reservations are paid off. */
	assert_int_equal(ratelimit_reserve(r, 3000), 1000);
	ratelimit_free(r);
}

/* Idle time refills the bucket but never beyond burst. */
static void test_refill_capped_at_burst(void **state)
{
	struct ratelimit *r = ratelimit_new(2.0, 2);
	int i;

	(void)state;
	assert_int_equal(ratelimit_reserve(r, 0), 0);
	assert_int_equal(ratelimit_reserve(r, 0), 0);
	assert_int_equal(ratelimit_reserve(r, 0), 500);
	/* After an hour only two tokens are waiting. */
	for (i = 0; i < 2; i++)
		assert_int_equal(ratelimit_reserve(r, 3600000), 0);
	assert_int_equal(ratelimit_reserve(r, 3600000), 500);
	ratelimit_free(r);
}

/* Rates below one per second (20 per minute here) round waits up. */
static void test_fractional_rate_rounds_up(void **state)
{
	struct ratelimit *r = ratelimit_new(20 / 60.0, 1); /* one per 3 s */

	(void)state;
	assert_int_equal(ratelimit_reserve(r, 10), 0);
	assert_int_equal(ratelimit_reserve(r, 10), 3000);
	assert_int_equal(ratelimit_reserve(r, 1010), 5000);
	ratelimit_free(r);
}

static void test_pause_until(void **state)
{
	struct ratelimit *r = ratelimit_new(10.0, 5);

	(void)state;
	assert_int_equal(ratelimit_reserve(r, 1000), 0);
	ratelimit_pause_until(r, 5000);
	assert_int_equal(ratelimit_reserve(r, 1000), 4000);
	assert_int_equal(ratelimit_reserve(r, 4500), 500);
	/* An earlier pause never shortens a later one. */
	ratelimit_pause_until(r, 2000);
	assert_int_equal(ratelimit_reserve(r, 4900), 100);
	assert_int_equal(ratelimit_reserve(r, 5000), 0);
	ratelimit_free(r);
}

static void test_unlimited(void **state)
{
	struct ratelimit *r = ratelimit_new(0, 1);
	int i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(ratelimit_reserve(r, 5), 0);
	/* A pause still applies without a rate. */
	ratelimit_pause_until(r, 300);
	assert_int_equal(ratelimit_reserve(r, 100), 200);
	assert_int_equal(ratelimit_reserve(r, 300), 0);
	ratelimit_free(r);
}

/* acquire() sleeps through the wait it reserved: at 5 tokens a second with
 * a burst of one, the first of three calls is free and the next two each
 * wait 200 ms for their token, so at least 400 ms pass. The upper bound only
 * catches a wait in the wrong unit (seconds for milliseconds); it is far
 * above anything a loaded machine needs. */
static void test_acquire_waits_reservation(void **state)
{
	struct ratelimit *r = ratelimit_new(5.0, 1);
	int64_t a, elapsed;

	(void)state;
	assert_non_null(r);
	a = clock_mono_ms();
	ratelimit_acquire(r);
	ratelimit_acquire(r);
	ratelimit_acquire(r);
	elapsed = clock_mono_ms() - a;
	assert_in_range(elapsed, 400, 60000);
	ratelimit_free(r);
	ratelimit_free(NULL);
}

/* acquire_within() sleeps for a wait it may take, and reports a longer one
 * without sleeping. */
static void test_acquire_within_waits_or_reports(void **state)
{
	struct ratelimit *r = ratelimit_new(5.0, 1);
	int64_t a, elapsed;

	(void)state;
	assert_non_null(r);
	a = clock_mono_ms();
	assert_int_equal(ratelimit_acquire_within(r, 1000), 0);
	assert_int_equal(ratelimit_acquire_within(r, 1000), 0);
	elapsed = clock_mono_ms() - a;
	assert_in_range(elapsed, 200, 60000);
	ratelimit_pause_until(r, clock_mono_ms() + 3600 * 1000);
	a = clock_mono_ms();
	assert_in_range(ratelimit_acquire_within(r, 1000), 3500 * 1000, 3600 * 1000);
	/* Nothing was slept for: the caller reschedules instead. */
	assert_in_range(clock_mono_ms() - a, 0, 30000);
	ratelimit_free(r);
}

/* A long pause is reported without taking a token, so a worker can
 * reschedule instead of sleeping; short waits are still reserved. */
static void test_try_reserve(void **state)
{
	struct ratelimit *r = ratelimit_new(1.0, 1);

	(void)state;
	assert_int_equal(ratelimit_try_reserve(r, 1000, 0), 0);
	/* The next token is 1000 ms away: too far for max 500, taken for 2000. */
	assert_int_equal(ratelimit_try_reserve(r, 1000, 500), 1000);
	assert_int_equal(ratelimit_try_reserve(r, 1000, 500), 1000);
	assert_int_equal(ratelimit_try_reserve(r, 1000, 2000), 1000);
	assert_int_equal(ratelimit_try_reserve(r, 1000, 2000), 2000);
	/* A pause of "forever" (a saturated Retry-After): never taken. */
	ratelimit_pause_until(r, INT64_MAX);
	assert_int_equal(ratelimit_try_reserve(r, 5000, 2000), INT64_MAX - 5000);
	assert_int_equal(ratelimit_paused_for(r, 5000), INT64_MAX - 5000);
	ratelimit_free(r);

	r = ratelimit_new(0, 1); /* unlimited rate, paused */
	assert_int_equal(ratelimit_paused_for(r, 100), 0);
	ratelimit_pause_until(r, 60100);
	assert_int_equal(ratelimit_try_reserve(r, 100, 2000), 60000);
	assert_int_equal(ratelimit_paused_for(r, 100), 60000);
	assert_int_equal(ratelimit_try_reserve(r, 60100, 2000), 0);
	assert_int_equal(ratelimit_paused_for(r, 60100), 0);
	ratelimit_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_spacing),
		cmocka_unit_test(test_refill_capped_at_burst),
		cmocka_unit_test(test_fractional_rate_rounds_up),
		cmocka_unit_test(test_pause_until),
		cmocka_unit_test(test_unlimited),
		cmocka_unit_test(test_try_reserve),
		cmocka_unit_test(test_acquire_waits_reservation),
		cmocka_unit_test(test_acquire_within_waits_or_reports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
