/* Retry policy: exponential backoff with full jitter, floored so a retry is
 * never immediate, and never sooner than the remote's Retry-After. Pure. */
#ifndef DPC_RETRY_H
#define DPC_RETRY_H

#include <stdint.h>

#define RETRY_BASE_MS 2000      /* first backoff ceiling */
#define RETRY_CAP_MS 900000     /* backoff ceiling never exceeds 15 min */
#define RETRY_FLOOR_MS 250      /* smallest delay */

/* Delay before attempt number attempt+1, given attempt >= 1 attempts made.
 * rnd is a uniformly random 64-bit value (the caller's PRNG, so tests can
 * pin it). retry_after_s >= 0 raises the delay to at least that. */
int64_t retry_delay_ms(int attempt, int64_t retry_after_s, uint64_t rnd);

/* 1 when another attempt is allowed: attempts < max_attempts and the job is
 * younger than max_age_s. */
int retry_allowed(int attempts, int max_attempts, int64_t age_ms, int64_t max_age_s);

#endif
