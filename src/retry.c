/* Exponential backoff with jitter in the upper half of each window (see
 * retry.h for why), so retries of a burst of failures are spread out and
 * still span long outages. */
#include "retry.h"

static int64_t ceiling_ms(int attempt)
{
	int64_t c = RETRY_BASE_MS;
	int i;

	for (i = 1; i < attempt && c < RETRY_CAP_MS; i++)
		c *= 2;
	return c > RETRY_CAP_MS ? RETRY_CAP_MS : c;
}

int64_t retry_delay_ms(int attempt, int64_t retry_after_s, uint64_t rnd)
{
	int64_t c = ceiling_ms(attempt);
	int64_t delay = c / 2 + (int64_t)(rnd % (uint64_t)(c / 2 + 1));

	if (retry_after_s >= 0 && delay < retry_after_s * 1000)
		delay = retry_after_s * 1000;
	return delay;
}

int retry_allowed(int attempts, int max_attempts, int64_t age_ms, int64_t max_age_s)
{
	return attempts < max_attempts && age_ms < max_age_s * 1000;
}
