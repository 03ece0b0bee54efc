/* Backoff with full jitter (delay uniformly drawn from [floor, ceiling],
 * ceiling doubling per attempt) spreads retries of a burst of failures so
 * they do not hit a recovering Slack, Teams or Matillion all at once. */
#include "retry.h"

int64_t retry_delay_ms(int attempt, int64_t retry_after_s, uint64_t rnd)
{
	int64_t ceiling = RETRY_BASE_MS;
	int64_t delay;
	int i;

	for (i = 1; i < attempt && ceiling < RETRY_CAP_MS; i++)
		ceiling *= 2;
	if (ceiling > RETRY_CAP_MS)
		ceiling = RETRY_CAP_MS;
	delay = RETRY_FLOOR_MS + (int64_t)(rnd % (uint64_t)(ceiling - RETRY_FLOOR_MS + 1));
	if (retry_after_s >= 0 && delay < retry_after_s * 1000)
		delay = retry_after_s * 1000;
	return delay;
}

int retry_allowed(int attempts, int max_attempts, int64_t age_ms, int64_t max_age_s)
{
	return attempts < max_attempts && age_ms < max_age_s * 1000;
}
