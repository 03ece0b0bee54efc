/* Exponential backoff with jitter in the upper half of each window (see
 * retry.h for why), so retries of a burst of failures are spread out and
 * still span long outages. Every number that may come from a peer
 * (Retry-After) goes through saturating arithmetic: none can overflow or
 * push a retry past the job's deadline. */
#include "retry.h"

static int64_t ceiling_ms(int attempt)
{
	int64_t c = RETRY_BASE_MS;
	int i;

	for (i = 1; i < attempt && c < RETRY_CAP_MS; i++)
		c *= 2;
	return c > RETRY_CAP_MS ? RETRY_CAP_MS : c;
}

int64_t retry_sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

int64_t retry_s_to_ms(int64_t s)
{
	if (s > INT64_MAX / 1000)
		return INT64_MAX;
	if (s < INT64_MIN / 1000)
		return INT64_MIN;
	return s * 1000;
}

int64_t retry_after_clamp(int64_t retry_after_s, int64_t ceiling_s)
{
	if (retry_after_s < 0)
		return -1;
	if (ceiling_s < 0)
		ceiling_s = 0;
	return retry_after_s > ceiling_s ? ceiling_s : retry_after_s;
}

int64_t retry_delay_ms(int attempt, int64_t retry_after_s, uint64_t rnd)
{
	int64_t c = ceiling_ms(attempt);
	int64_t delay = c / 2 + (int64_t)(rnd % (uint64_t)(c / 2 + 1));

	if (retry_after_s >= 0 && delay < retry_s_to_ms(retry_after_s))
		delay = retry_s_to_ms(retry_after_s);
	return delay;
}

int64_t retry_not_before(int64_t now_ms, int64_t delay_ms, int64_t received_ms, int64_t max_age_s)
{
	int64_t at = retry_sat_add(now_ms, delay_ms > 0 ? delay_ms : 0);
	int64_t deadline = retry_sat_add(received_ms, retry_s_to_ms(max_age_s));

	/* At the deadline retry_allowed() says no, so the job ends then
	 * (degraded notice or dead letter) instead of waiting past it. A
	 * deadline already behind now still leaves now: never schedule into
	 * the past. */
	if (at > deadline)
		at = deadline > now_ms ? deadline : now_ms;
	return at;
}

int retry_allowed(int attempts, int max_attempts, int64_t age_ms, int64_t max_age_s)
{
	return attempts < max_attempts && age_ms < retry_s_to_ms(max_age_s);
}
