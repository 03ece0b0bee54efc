/* Token-bucket rate limiter, thread-safe, shared by every worker that calls
 * one remote (the Matillion API, or one chat webhook). */
#ifndef DPC_RATELIMIT_H
#define DPC_RATELIMIT_H

#include <stdint.h>

/* rate_per_sec <= 0 means unlimited. burst >= 1. NULL on ERR_NOMEM. */
struct ratelimit *ratelimit_new(double rate_per_sec, double burst);
void ratelimit_free(struct ratelimit *r);

/* Takes one token, returning how many ms the caller must wait before using
 * it (0 = now). The token is reserved either way. Pure given now_ms. */
int64_t ratelimit_reserve(struct ratelimit *r, int64_t now_ms);

/* Like ratelimit_reserve(), but takes the token only when the wait is at
 * most max_wait_ms. Returns the wait either way: a value above max_wait_ms
 * means nothing was taken and the caller should come back after it (a
 * worker reschedules instead of sleeping through a remote's pause). */
int64_t ratelimit_try_reserve(struct ratelimit *r, int64_t now_ms, int64_t max_wait_ms);

/* Blocks until a token is available. */
void ratelimit_acquire(struct ratelimit *r);

/* Sleeps for a token when one is usable within max_wait_ms and returns 0;
 * otherwise takes nothing, does not sleep, and returns the wait (in ms,
 * above max_wait_ms) after which to come back. */
int64_t ratelimit_acquire_within(struct ratelimit *r, int64_t max_wait_ms);

/* Pushes every caller back until until_ms (a 429 Retry-After, clamped by
 * the caller); an earlier until_ms than the current pause changes nothing. */
void ratelimit_pause_until(struct ratelimit *r, int64_t until_ms);

/* Milliseconds left of the current pause at now_ms, 0 when none. */
int64_t ratelimit_paused_for(struct ratelimit *r, int64_t now_ms);

#endif
