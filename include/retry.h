/* Retry policy: exponential backoff with jitter, never sooner than the
 * remote's Retry-After. Pure.
 *
 * The delay after attempt n is drawn uniformly from the upper half of the
 * exponential window [ceiling/2, ceiling], ceiling = RETRY_BASE_MS * 2^(n-1)
 * capped at RETRY_CAP_MS. Full jitter (drawing from [0, ceiling]) spreads a
 * burst just as well but lets the default 12 attempts finish within minutes
 * by bad luck; with the upper half, 12 attempts always span more than an
 * hour (4094 s at least, about 2.3 h at most), so a one-hour outage of
 * Slack, Teams or the Matillion API is ridden out, while max_age (24 h)
 * still bounds the total. */
#ifndef DPC_RETRY_H
#define DPC_RETRY_H

#include <stdint.h>

#define RETRY_BASE_MS 4000   /* ceiling of the first backoff window */
#define RETRY_CAP_MS 3600000 /* no window is wider than one hour */

/* Delay before attempt number attempt+1, given attempt >= 1 attempts made.
 * rnd is a uniformly random 64-bit value (the caller's PRNG, so tests can
 * pin it). retry_after_s >= 0 raises the delay to at least that; any value
 * is safe (the product saturates), but callers pass it through
 * retry_after_clamp() first. */
int64_t retry_delay_ms(int attempt, int64_t retry_after_s, uint64_t rnd);

/* A peer's Retry-After in seconds limited to [0, ceiling_s] (the
 * retry_after_max setting); -1 (none) stays -1. */
int64_t retry_after_clamp(int64_t retry_after_s, int64_t ceiling_s);

/* When the next attempt may start: now_ms + delay_ms, but never later than
 * the job's deadline received_ms + max_age_s (nor earlier than now_ms), so
 * a far-future delay ends the job at its deadline instead of never. */
int64_t retry_not_before(int64_t now_ms, int64_t delay_ms, int64_t received_ms, int64_t max_age_s);

/* Saturating a + b and s * 1000, for times built from peer numbers. */
int64_t retry_sat_add(int64_t a, int64_t b);
int64_t retry_s_to_ms(int64_t s);

/* 1 when another attempt is allowed: attempts < max_attempts and the job is
 * younger than max_age_s. */
int retry_allowed(int attempts, int max_attempts, int64_t age_ms, int64_t max_age_s);

#endif
