/* Long-running runs: a run still RUNNING past its route's limit gets one
 * "⏳ still running after 2h 05m (usually 22m)" message, once ever. The
 * limit is the route's max_duration, or slow_factor × the pipeline's
 * usual duration (run memory's median of recent successes), whichever is
 * earlier; both keys are off by default, so only a route that sets one
 * is watched.
 *
 * The poller calls longrun_scan() once per cycle with the runs it saw
 * still running; the worker builds the message of the job it queued with
 * longrun_summary(). The decision itself, longrun_decide(), is pure.
 *
 * DESIGN
 * Once per run: the store records each run that fired in the same
 * transaction that queues its job (store_longrun_fire()), so a restart,
 * a second call in the same cycle or a second service on the same store
 * never tells it again.
 * Not an outcome: run memory never sees the job (the run's own outcome is
 * remembered when it finishes), and a silence on the pipeline keeps the
 * run from firing while it covers it (nothing is recorded, so a run still
 * running when the silence ends fires then). The message is never held
 * for a grouped message (one per run, and it must not wait behind a
 * storm), but a destination's mute windows delay it as they delay every
 * other message to that destination. It carries the route's mention: a
 * run that hangs never sends a failure, so this is the only message that
 * can wake the on-call. Hostile input (ids that fail text_id_valid(),
 * starts before 2000 or in the future, absurd factors) fires nothing. */
#ifndef DPC_LONGRUN_H
#define DPC_LONGRUN_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct job;
struct store;
struct summary;

/* One run the poller saw still running. Strings borrowed; NULL is "". */
struct longrun_run {
	const char *execution_id, *project_id, *environment, *pipeline, *trigger;
	int64_t started_ms; /* unix ms */
};

/* Which limit a run passed. */
enum longrun_why {
	LONGRUN_NO,           /* none (yet) */
	LONGRUN_MAX_DURATION, /* the route's max_duration */
	LONGRUN_SLOW,         /* slow_factor × the usual duration */
};

/* A route's limits for one run. */
struct longrun_limits {
	int64_t max_ms;     /* max_duration in ms; <= 0: off */
	double slow_factor; /* over this × usual; not above 1 (or not finite): off */
	int64_t usual_ms;   /* the pipeline's usual duration; < 0: none (no slow limit) */
};

/* The slow limit: slow_factor × usual_ms, and at least usual_ms +
 * MEM_SLOW_MIN_DIFF_MS (as a finished run counts as slow only that much
 * over its usual), saturated at INT64_MAX; -1 when off or there is no
 * usual duration. Pure. */
int64_t longrun_slow_limit(const struct longrun_limits *l);

/* Whether a run started at started_ms is, at now_ms, running longer than
 * (strictly) the earlier of l's limits: max_duration wins a tie. A start
 * before 2000 (MEM_TIME_MIN_MS) or after now_ms is not believed, and
 * fires nothing. *limit_ms (may be NULL) gets the limit passed, else 0.
 * Pure. */
enum longrun_why longrun_decide(const struct longrun_limits *l, int64_t started_ms, int64_t now_ms,
				int64_t *limit_ms);

/* For each run of runs[0..n) still running past its route's limit, once
 * per run ever: a durable JOB_KIND_LONG_RUNNING job with one delivery per
 * configured destination of the run's route, whose message says it is
 * still running (store_longrun_fire()). A run whose route sets neither
 * max_duration nor slow_factor, whose environment the route does not
 * take, whose route is still open (an unknown environment or pipeline
 * leaves several possible), whose ids are not valid ids, or that a
 * silence covers, fires nothing. Returns how many jobs were queued (0 or more), or an ERR_*
 * code: ERR_INVALID, ERR_NOMEM, or ERR_IO when the store failed (the runs
 * before it stay queued; the rest are tried again next cycle). */
int longrun_scan(struct store *st, const struct config *c, const struct longrun_run *runs, size_t n,
		 int64_t now_ms);

/* The summary of JOB_KIND_LONG_RUNNING job j for the renderers: its
 * identity from the job, its config names (project name, link) from c,
 * and what the store kept (store_longrun_notice()) as s->memory with form
 * FORM_LONG_RUNNING. s is initialised here (summary_free() it whatever
 * the result). Returns 0; ERR_NOTFOUND when the store keeps nothing for
 * it; ERR_NOMEM; ERR_IO. */
int longrun_summary(struct store *st, const struct config *c, const struct job *j,
		    struct summary *s);

#endif
