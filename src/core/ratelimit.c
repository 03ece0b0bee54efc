/* Token-bucket rate limiter shared by the workers that call one remote.
 * Callers reserve a token and learn how long to wait for it, so the math is
 * a pure function of the clock value passed in and unit-testable.
 *
 * DESIGN: the bucket holds up to `burst` tokens and refills at `rate` per
 * second. A reservation always takes a token, letting the level go negative;
 * the deficit tells the caller how long it must sleep, which spaces callers
 * out fairly in arrival order. A pause (a remote's 429 Retry-After) is a
 * floor under every wait until it ends. Nothing here survives a restart. */
#include "clock.h"
#include "ratelimit.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct ratelimit {
	pthread_mutex_t lock;
	double rate;          /* tokens per ms; <= 0 means unlimited */
	double burst;         /* bucket capacity */
	double tokens;        /* current level, negative while reservations are pending */
	int64_t last_ms;      /* clock value of the last refill */
	int started;          /* 0 until the first reservation sets last_ms */
	int64_t paused_until; /* no token is usable before this clock value */
};

struct ratelimit *ratelimit_new(double rate_per_sec, double burst)
{
	struct ratelimit *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return NULL;
	}
	r->rate = rate_per_sec > 0 ? rate_per_sec / 1000.0 : 0;
	r->burst = burst >= 1 ? burst : 1;
	r->tokens = r->burst;
	return r;
}

void ratelimit_free(struct ratelimit *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Adds the tokens earned since the last refill, capped at burst. A clock
 * value older than the last one earns nothing (callers race to the lock). */
static void refill(struct ratelimit *r, int64_t now_ms)
{
	if (!r->started) {
		r->started = 1;
		r->last_ms = now_ms;
		return;
	}
	if (now_ms <= r->last_ms)
		return;
	r->tokens += (double)(now_ms - r->last_ms) * r->rate;
	if (r->tokens > r->burst)
		r->tokens = r->burst;
	r->last_ms = now_ms;
}

int64_t ratelimit_try_reserve(struct ratelimit *r, int64_t now_ms, int64_t max_wait_ms)
{
	int64_t wait = 0;

	pthread_mutex_lock(&r->lock);
	if (r->paused_until > now_ms)
		wait = r->paused_until - now_ms;
	if (wait <= max_wait_ms && r->rate > 0) {
		int64_t pace = 0;

		refill(r, now_ms);
		if (r->tokens < 1.0) {
			double ms = (1.0 - r->tokens) / r->rate;

			pace = ms < (double)INT64_MAX ? (int64_t)ms : INT64_MAX;
			if ((double)pace < ms && pace < INT64_MAX)
				pace++;
		}
		if (pace > wait)
			wait = pace;
		/* The token is taken only by a caller that will use it. */
		if (wait <= max_wait_ms)
			r->tokens -= 1.0;
	}
	pthread_mutex_unlock(&r->lock);
	return wait;
}

int64_t ratelimit_reserve(struct ratelimit *r, int64_t now_ms)
{
	return ratelimit_try_reserve(r, now_ms, INT64_MAX);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	/* Resume after signals: the wait was promised to the remote. */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void ratelimit_acquire(struct ratelimit *r)
{
	int64_t wait = ratelimit_reserve(r, clock_mono_ms());

	if (wait > 0)
		sleep_ms(wait);
}

int64_t ratelimit_acquire_within(struct ratelimit *r, int64_t max_wait_ms)
{
	int64_t wait = ratelimit_try_reserve(r, clock_mono_ms(), max_wait_ms);

	if (wait > max_wait_ms)
		return wait;
	if (wait > 0)
		sleep_ms(wait);
	return 0;
}

void ratelimit_pause_until(struct ratelimit *r, int64_t until_ms)
{
	pthread_mutex_lock(&r->lock);
	if (until_ms > r->paused_until)
		r->paused_until = until_ms;
	pthread_mutex_unlock(&r->lock);
}

int64_t ratelimit_paused_for(struct ratelimit *r, int64_t now_ms)
{
	int64_t left;

	pthread_mutex_lock(&r->lock);
	left = r->paused_until > now_ms ? r->paused_until - now_ms : 0;
	pthread_mutex_unlock(&r->lock);
	return left;
}
