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

/* Blocks until a token is available. */
void ratelimit_acquire(struct ratelimit *r);

/* Pushes every caller back until until_ms (a 429 Retry-After). */
void ratelimit_pause_until(struct ratelimit *r, int64_t until_ms);

/* Monotonic clock in ms. */
int64_t ratelimit_now_ms(void);

#endif
