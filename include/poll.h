/* Reconciliation by polling: a thread that lists each project's finished
 * runs from Matillion's API every [poll] interval and stores those no
 * webhook brought, exactly as a webhook would, so every run is notified
 * once whether its webhook came, came late or never came. */
#ifndef DPC_POLL_H
#define DPC_POLL_H

#include <stdint.h>

#include "config.h"
#include "dpc.h"
#include "store.h"

/* How the poller reaches the Matillion client the workers use (it must
 * share their token and rate limiter). get returns the client for config
 * c with a reference in *ref (NULL on ERR_NOMEM); put gives it back. */
struct poll_api {
	struct dpc *(*get)(void *ctx, const struct config *c, void **ref);
	void (*put)(void *ctx, void *ref);
	void *ctx;
};

/* Starts the poller thread. Borrowed until poll_stop(): cfg and st; api
 * is copied. The first reconciliation comes one interval after the start
 * (or at once after poll_nudge()); while [poll] enabled is false the
 * thread only waits. NULL on failure. */
struct poller *poll_start(struct config_holder *cfg, struct store *st, const struct poll_api *api);

/* Stops and frees the poller: it ends after the API call in progress (at
 * most POLL_HTTP_TIMEOUT_S), never sleeping through a wait. NULL is fine. */
void poll_stop(struct poller *p);

/* Asks for a reconciliation now: of project_id when it is a valid id a
 * route serves, else of every project. Nudges coalesce: however many come,
 * reconciliations start at most once per POLL_NUDGE_GAP_MS and their calls
 * stay within poll_share. Cheap and non-blocking (called on a listener
 * thread). Returns 0, or ERR_STOPPED when p is NULL or polling is off (the
 * caller then answers as it would without a poller). */
int poll_nudge(struct poller *p, const char *project_id);

#define POLL_NUDGE_GAP_MS 2000
#define POLL_HTTP_TIMEOUT_S 10
#define POLL_PAGES_MAX 50                        /* pages one listing reads at most */
#define POLL_RUNNING_MAX_MS (24LL * 3600 * 1000) /* longest a running run holds the watermark */

/* ---- the arithmetic, pure, for tests ---- */

/* One listing of one project: its window and what it learnt so far. */
struct poll_walk {
	int64_t from_ms;   /* the watermark the window begins from */
	int64_t since_ms;  /* startedAfter: the watermark less the overlap, >= 0 */
	int64_t before_ms; /* startedBefore, -1 for none (a fresh listing) */
	int64_t mark_ms;   /* the watermark once this listing completes */
	int64_t oldest_ms; /* oldest start of the runs processed, INT64_MAX: none */
	int64_t floor_ms;  /* the mark never goes below this */
};

/* Begins a listing from the stored state m (m->found 0: never polled,
 * which starts at now_ms) at now_ms with overlap_ms (negatives count as
 * 0, sums saturate). */
void poll_walk_begin(struct poll_walk *w, const struct poll_mark *m, int64_t now_ms,
		     int64_t overlap_ms);

/* Takes one listed run into w. Returns 1 when it should be stored (it
 * has finished, and not before since_ms, when an earlier listing already
 * saw it finished), else 0. A run not finished holds the mark at its
 * start (at the old watermark when its start is unknown), never below
 * floor_ms. */
int poll_walk_run(struct poll_walk *w, const struct dpc_execution *e);

/* Ends a listing into m: complete, the watermark becomes the mark and
 * any gap is closed; cut off, the gap becomes [since, oldest + 1) with
 * the mark kept for its end. Returns 1 when m changed (progress), 0 when
 * a cut-off listing processed nothing older than the gap it began with. */
int poll_walk_end(const struct poll_walk *w, int complete, struct poll_mark *m);

/* The poller's calls per minute: poll_share percent of
 * requests_per_minute (0: unlimited, as requests_per_minute = 0 is). */
double poll_calls_per_min(int requests_per_minute, int poll_share);

/* How many projects one reconciliation can list within that share at
 * interval_s, with pages calls each (at least 1); -1 when the share is
 * unlimited (no bound but the API's). */
int64_t poll_projects_within(int requests_per_minute, int poll_share, int interval_s, int pages);

#endif
