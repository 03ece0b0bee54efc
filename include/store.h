/* The durable store: one SQLite file in WAL mode holding jobs (each the
 * dedup key of its webhook) and their per-destination deliveries. Every accepted webhook is
 * committed here before intake answers 202. Thread-safe: intake threads and
 * workers share one struct store. */
#ifndef DPC_STORE_H
#define DPC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "action.h"
#include "memory.h"
#include "silence.h"
#include "webhook.h"

/* The schema version (PRAGMA user_version) of a store once opened; the
 * steps up to it are in src/store/sqlite_schema.c. */
#define STORE_SCHEMA_VERSION 13

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DELIVERED, JOB_DEAD, JOB_IGNORED, JOB__MAX };
extern const char *const job_state_names[JOB__MAX]; /* "queued", ... */

enum dlv_state { DLV_PENDING, DLV_DELIVERED, DLV_DEAD, DLV__MAX };
extern const char *const dlv_state_names[DLV__MAX];

/* What a job is for. */
enum job_kind {
	JOB_KIND_RUN,  /* a run's own job (or its follow-up, see followup_of) */
	JOB_KIND_HELD, /* the summary of runs a silence held back (store_held_summarise()) */
	JOB_KIND_LONG_RUNNING, /* a run still running past its limit (store_longrun_fire()) */
	JOB_KIND_ACTION,       /* a Slack button click to carry out (store_action_put()) */
	JOB_KIND__MAX
};

struct job {
	int64_t id;
	enum job_kind kind;
	struct webhook_event ev; /* what the webhook said */
	enum job_state state;
	int attempts;          /* times claimed so far, including this one */
	int64_t received_ms;   /* unix ms when accepted */
	int64_t not_before_ms; /* earliest next attempt */
	int64_t followup_of;   /* > 0: a follow-up, completing the degraded notice
				* of that job; 0: a run's own job */
	char last_error[256];
};

struct delivery {
	int64_t job_id;
	char dest[128]; /* destination name */
	enum dlv_state state;
	int attempts;
	int64_t not_before_ms;
	char *payload;      /* rendered body once known, else NULL; owned */
	int64_t follows_ms; /* a follow-up's delivery: unix ms when the degraded
			     * notice it completes was posted here; else -1 */
	int grouped;        /* held back for its destination's grouped message
			     * (storm grouping; see store_group_take()) */
	char last_error[256];
};

/* Opens (creating if needed) the database at path, sets WAL, runs
 * integrity_check and recovers: jobs left running by a dead process become
 * queued again. On failure returns NULL and writes the cause into err. */
struct store *store_open(const char *path, char *err, size_t errlen);
void store_close(struct store *s);

/* Accepts a webhook: unless a job with the same (project, execution,
 * status) was received within dedup_window_s (follow-ups do not count),
 * inserts a queued job with
 * one pending delivery per name in dests.
 * Blocks until the transaction is durable (group commit may batch it with
 * others). Returns 0 and *job_id; ERR_DUPLICATE when the key was seen within
 * dedup_window_s; ERR_IO when the store cannot commit (disk full,
 * read-only, corrupt): nothing was accepted. */
int store_put(struct store *s, const struct webhook_event *ev, char *const *dests, size_t n_dests,
	      int64_t dedup_window_s, int64_t *job_id);

/* Called once per store_put_async() on the store's syncer thread, with no
 * store lock held, after the batch's commit is durable (or failed): rc and
 * job_id as store_put() would return them (job_id valid only when rc is
 * 0). It must not block for long (every other request of the batch waits)
 * and must not call store_put() (it would wait for itself); queuing
 * another store_put_async() is fine. */
typedef void (*store_put_done_fn)(void *ctx, int rc, int64_t job_id);

/* store_put() without the wait: queues the webhook for the next group
 * commit and returns. ev and dests are borrowed until done has been called.
 * Returns 0 when queued (done will then be called exactly once, also when
 * store_close() comes first); otherwise ERR_INVALID, ERR_NOMEM or
 * ERR_STOPPED (store closing), and done is never called. */
int store_put_async(struct store *s, const struct webhook_event *ev, char *const *dests,
		    size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx);

/* Claims the ready job with the earliest not_before (then the lowest id):
 * queued with not_before <= now_ms, or running with an expired lease; marks it running with lease until now_ms+lease_ms
 * and increments attempts. Returns 0 with *out filled, ERR_NOTFOUND when none
 * is ready, ERR_IO on failure. */
int store_claim(struct store *s, int64_t now_ms, int64_t lease_ms, struct job *out);

/* Blocks until store_put() adds work or max_ms passes or store_wake(). */
void store_wait(struct store *s, int64_t max_ms);
void store_wake(struct store *s);

/* Deliveries of job_id that are still pending; caller frees with
 * store_deliveries_free(). */
int store_deliveries(struct store *s, int64_t job_id, struct delivery **out, size_t *n);
void store_deliveries_free(struct delivery *d, size_t n);

/* One delivery attempt's outcome, for store_delivery_record(). */
struct dlv_outcome {
	enum dlv_state state;  /* DLV_DELIVERED; DLV_PENDING: retry later; DLV_DEAD */
	int64_t not_before_ms; /* DLV_PENDING: earliest next attempt */
	const char *error;     /* DLV_PENDING, DLV_DEAD: why it failed (NULL: none) */
	const char *payload;   /* DLV_PENDING, DLV_DEAD: body to keep for a later
				  * post; NULL keeps the stored one; borrowed */
	int deferred;          /* DLV_PENDING: not posted at all (its destination
				  * is paused), so the attempt is not counted */
	int promise;           /* the body rendered for this post (posted, or kept
				  * as payload) is a degraded notice that promises
				  * details; 0 for any other body or a stored one */
	/* DLV_DELIVERED: when the delivered body promised details (now or
	 * when it was stored), the follow-up first asks the API then. */
	int64_t followup_at_ms;
	/* DLV_PENDING: hold the delivery back for its destination's grouped
	 * message (storm grouping), with this line of its run
	 * (group_item_encode() text; borrowed), until o->not_before_ms;
	 * store_group_take() then hands it out. NULL: not held. */
	const char *group_item;
	/* DLV_DELIVERED: the id of the message the post created, when the
	 * target's reply names one (kept for later follow-ups); NULL: none. */
	const char *message_id;
};

/* Records one delivery attempt's outcome: DLV_DELIVERED marks the delivery
 * delivered (never posted again) and, when the body delivered promised
 * details (o->promise, or the promise stored with its payload), makes
 * sure job_id (unless itself a follow-up) has its follow-up: a queued job
 * with followup_of = job_id, job_id's identity and received time,
 * not_before o->followup_at_ms, and a pending delivery to dest whose
 * follows_ms is now (a finished follow-up is queued again for a new
 * destination); DLV_PENDING keeps it pending until
 * o->not_before_ms; DLV_DEAD gives it up. Attempts are counted (except a
 * deferred DLV_PENDING), o->error
 * kept, o->payload kept when set (so a retry posts the same bytes without
 * the API); when settle is nonzero it also settles the job as
 * store_job_settle() does, all in one transaction (the
 * worker passes settle for the last delivery it records in an attempt).
 * Returns 0; ERR_NOTFOUND (nothing written) when job_id has no such
 * delivery, a retry or dead outcome finds it no longer pending, or the job
 * is gone; ERR_INVALID on bad arguments; ERR_IO when the store cannot
 * commit (nothing written). */
int store_delivery_record(struct store *s, int64_t job_id, const char *dest,
			  const struct dlv_outcome *o, int settle);

/* A delivery held back for a grouped message, as store_group_take()
 * hands it out. Strings owned (store_group_free()). */
struct group_held {
	int64_t job_id;
	int64_t received_ms; /* its job's */
	int attempts;        /* posts of it so far */
	char *item;          /* its run's line (group_item_encode() text) */
	char *payload;       /* its own message, for a group of one; may be NULL */
};

/* Takes for one grouped message to dest every delivery held back for it
 * (dlv_outcome.group_item) that is due at now_ms, at most max, oldest job
 * first: in one transaction they are marked taken until now_ms +
 * lease_ms, so no other worker takes or posts them meanwhile, and are
 * returned. A take whose outcome is not recorded by then (the worker
 * hung) is due again; store_open() gives back the takes of a dead process
 * at once. Returns 0 with *out and *n (possibly 0: nothing due, another
 * worker took them); ERR_INVALID; ERR_NOMEM; ERR_IO. */
int store_group_take(struct store *s, const char *dest, int64_t now_ms, int64_t lease_ms,
		     size_t max, struct group_held **out, size_t *n);
void store_group_free(struct group_held *h, size_t n);

/* Records one outcome for the taken deliveries of jobs[0..n) to dest, in
 * one transaction: DLV_DELIVERED and DLV_DEAD as store_delivery_record()
 * does (a grouped message never promises details, so no follow-up);
 * DLV_PENDING holds them back again until o->not_before_ms (o->error
 * kept, the attempt counted unless o->deferred). Each of those jobs that
 * no worker is running is settled in the same transaction (a running
 * one is settled by its worker). A delivery no longer taken (its take
 * expired and another worker took it) is left alone. Returns 0 (also
 * when nothing matched), ERR_INVALID or ERR_IO (nothing written). */
int store_group_record(struct store *s, const char *dest, const int64_t *jobs, size_t n,
		       const struct dlv_outcome *o);

/* Ends this attempt of a claimed job. If every delivery is delivered or dead
 * the job becomes delivered (or dead when none was delivered); otherwise it
 * is queued again with not_before = the earliest pending delivery's. */
int store_job_settle(struct store *s, int64_t job_id);

/* Keeps error as job_id's last error (the technical reason behind a
 * degraded notice) without changing its state. ERR_NOTFOUND when there is
 * no such job. */
int store_job_note(struct store *s, int64_t job_id, const char *error);

/* Re-queues a claimed job for a later attempt (e.g. the API failed). */
int store_job_retry(struct store *s, int64_t job_id, int64_t not_before_ms, const char *error);
/* Ends a job without deliveries: JOB_DEAD (gave up) or JOB_IGNORED (run's
 * real status matched no route); pending deliveries become dead/ignored. */
int store_job_end(struct store *s, int64_t job_id, enum job_state st, const char *reason);
/* Gives a running job back as queued, attempts not counted (shutdown). */
int store_job_release(struct store *s, int64_t job_id);

/* Listing for the CLI: calls fn for each job in state st (or every state
 * when st < 0), newest first, at most limit rows (0: no limit). fn runs
 * with the store's lock held and must not call back into the store. */
typedef void (*store_job_fn)(void *ctx, const struct job *j);
int store_list(struct store *s, int st, size_t limit, store_job_fn fn, void *ctx);

/* Dead letters: re-queue one dead job (its dead deliveries become pending,
 * attempts reset) or all; purge dead jobs older than age_s. *count gets the
 * number of jobs affected. */
int store_dead_retry(struct store *s, int64_t job_id, size_t *count); /* job_id < 0: all */
int store_dead_purge(struct store *s, int64_t older_than_s, size_t *count);

/* Drops delivered and ignored jobs (and with them their dedup keys) that
 * finished more than window_s ago. */
int store_prune(struct store *s, int64_t window_s);

/* Counts jobs by state (for /metrics and /readyz). */
int store_counts(struct store *s, int64_t counts[JOB__MAX]);

/* 1 when the last write succeeded and the file is writable. While
 * unhealthy, the store retries a small write at most once a second, so
 * health comes back with the disk space even without traffic. */
int store_healthy(struct store *s);

/* Test hook: while on, every write transaction fails just before COMMIT
 * as if the disk were full (rolled back, ERR_IO, store_healthy() 0). */
void store_fail_writes(struct store *s, int on);

/* Number of group-commit transactions committed so far (one per batch of
 * store_put() calls), to observe batching in tests and benchmarks. */
uint64_t store_commit_count(struct store *s);

/* ---- run memory (memory.h) ---- */

/* A pipeline: (project id, environment, pipeline display name). */
struct mem_key {
	const char *project_id;
	const char *environment;
	const char *pipeline;
};

/* Applies run memory to the run of job job_id, in one write transaction
 * committed before it returns (like a delivery outcome: it survives the
 * process being killed; after a power loss it can only be lost together
 * with every later transaction, so the job runs again from the same state):
 *  - when the job already holds a decision (an earlier attempt, or a
 *    crash after this commit), that decision is returned and nothing
 *    changes, so a job is decided exactly once;
 *  - otherwise the pipeline's newest runs (up to MEM_HISTORY_MAX, newest
 *    finished first) and its incident are read; mem_decide() is called
 *    with dup set when execution_id is already remembered (for any
 *    pipeline); then, unless a duplicate, the run is remembered, the
 *    incident written (deleted when closed), runs beyond keep_runs for the
 *    pipeline deleted, and the decision stored on the job.
 * A returned stored decision has out->next set to the pipeline's incident
 * as stored now (all zero when none is open). A duplicate stores no
 * decision: the job's next attempt is a duplicate again (while the
 * execution is remembered). keep_runs 0 means MEM_HISTORY_MAX; it is
 * capped at 100,000. Strings longer than the store keeps (ids
 * WEBHOOK_ID_MAX - 1 bytes, environment and pipeline WEBHOOK_TEXT_MAX - 1,
 * trigger 63) are cut on a UTF-8 character boundary; an ev->status out of
 * range is ST_UNKNOWN. trigger may be NULL. Returns 0 and *out;
 * ERR_NOTFOUND when job_id does not exist; ERR_INVALID when a pointer
 * (but trigger) is NULL or execution_id is empty; ERR_IO when the store
 * cannot commit or make the commit durable (a retry then returns the
 * decision if it was committed). *out is zeroed on every error. */
int store_memory_apply(struct store *s, int64_t job_id, const struct mem_key *k,
		       const char *execution_id, const char *trigger, const struct mem_run *ev,
		       const struct mem_policy *p, size_t keep_runs, struct mem_decision *out);

/* What store_memory_apply() would decide for a run now, without writing
 * anything (for `preview`): reads the pipeline's runs and incident and
 * calls mem_decide(). Returns 0 and *out, or ERR_INVALID / ERR_IO. */
int store_memory_preview(struct store *s, const struct mem_key *k, const char *execution_id,
			 const struct mem_run *ev, const struct mem_policy *p,
			 struct mem_decision *out);

/* Forgets pipelines with no run recorded (by store_memory_apply(), in
 * wall-clock ms) since unseen_before_ms: their runs and incident. A run's
 * finished time does not count: it is the sender's and may be absurd.
 * Works in small transactions, in proportion to what it forgets. *count
 * (may be NULL) gets the number of pipelines forgotten. Returns 0 or
 * ERR_IO. */
int store_memory_prune(struct store *s, int64_t unseen_before_ms, size_t *count);

/* The number of open incidents into *n (for /metrics). Returns 0 or
 * ERR_IO. */
int store_open_incidents(struct store *s, int64_t *n);

/* One pipeline's incident, for `dpc-notify incidents`. Strings borrowed
 * for the duration of the callback. */
struct mem_incident_row {
	const char *project_id, *environment, *pipeline;
	const char *opened_by; /* execution id of its first problem run */
	struct mem_incident inc;
};
typedef void (*store_incident_fn)(void *ctx, const struct mem_incident_row *r);

/* Calls fn for each incident (open_only: only open ones; closed ones are
 * not kept, so today every listed incident is open), newest first (by
 * since_ms, then by key). fn runs with the store's lock held and must not
 * call back into the store. Returns 0 or ERR_IO. */
int store_incidents(struct store *s, int open_only, store_incident_fn fn, void *ctx);

/* One remembered run, for `dpc-notify history`. */
struct mem_run_row {
	const char *execution_id, *trigger;
	int64_t recorded_ms;
	struct mem_run run;
};
typedef void (*store_run_fn)(void *ctx, const struct mem_run_row *r);

/* Calls fn for the newest runs of pipeline k (k->environment NULL: every
 * environment), newest finished first (ties: the later recorded first),
 * at most limit (0: no limit). trigger is NULL when none was given. fn
 * runs with the store's lock held and must not call back into the store.
 * Returns 0, ERR_INVALID (k or its project or pipeline NULL) or ERR_IO. */
int store_history(struct store *s, const struct mem_key *k, size_t limit, store_run_fn fn,
		  void *ctx);

/* ---- silences (silence.h) ---- */

/* Adds silence in (its id and removed_ms are ignored), durable before it
 * returns; *id gets its id (positive). project_id, pipeline and
 * environment are "" (any) or pass silence_glob_valid(); reason is 1 to
 * SILENCE_REASON_MAX characters of sanitised text; start_ms < end_ms.
 * Returns 0, ERR_INVALID (nothing written) or ERR_IO. */
int store_silence_add(struct store *s, const struct silence *in, int64_t *id);

/* Ends silence id at now_ms (a future one never starts); it stays listed
 * by store_silences() with all set. Durable before it returns. Returns 0,
 * ERR_NOTFOUND when there is no such silence or it has already ended or
 * been removed, ERR_INVALID or ERR_IO. */
int store_silence_remove(struct store *s, int64_t id, int64_t now_ms);

/* Calls fn for each silence that has not ended by now_ms (active or
 * future, not removed), or for every one when all is set, by start time
 * then id. Strings are borrowed for the duration of the call; fn runs with
 * the store's lock held and must not call back into the store. Returns 0,
 * ERR_INVALID or ERR_IO. */
typedef void (*store_silence_fn)(void *ctx, const struct silence *x);
int store_silences(struct store *s, int all, int64_t now_ms, store_silence_fn fn, void *ctx);

/* *yes = 1 when a stored silence covers pipeline k at now_ms
 * (silence_matches()); k's strings are cut as store_memory_apply() cuts
 * them, and a NULL environment is "". One indexed read of the silences
 * not yet ended. Returns 0, ERR_INVALID or ERR_IO (*yes is 0 then). */
int store_silenced(struct store *s, const struct mem_key *k, int64_t now_ms, int *yes);

/* Calls fn for each stored silence that covers pipeline k at now_ms
 * (silence_matches()), in no set order; k as for store_silenced(). fn
 * runs with the store's lock held and must not call back into the
 * store; strings are borrowed for the call. Returns 0, ERR_INVALID or
 * ERR_IO. */
int store_silences_covering(struct store *s, const struct mem_key *k, int64_t now_ms,
			    store_silence_fn fn, void *ctx);

/* ---- what silences held back ----
 * A run held back by a silence or a mute window (MEM_HOLD, MEM_R_SILENCED)
 * is noted per pipeline, against the incident it belongs to. Once the
 * silence (or the stretch of mute windows) that held the latest of them
 * has ended, store_held_due() lists the pipeline and the service calls
 * store_held_summarise(): while that incident is still open, one
 * transaction makes one queued JOB_KIND_HELD job with a delivery per
 * destination, keeps what its message says (store_held_summary()), marks
 * the incident as told and forgets the note, so the summary is made once
 * however many services ask; an incident that closed meanwhile gets
 * nothing. */

#define STORE_HELD_ERROR_MAX 512 /* bytes of a held run's error line kept, with its NUL */

/* One held run, for store_held_note(); also a note as listed. */
struct held_note {
	int64_t silence_id;       /* the silence that held it; 0: a mute window */
	int64_t from_ms;          /* that silence's (or the windows' stretch's) start */
	int64_t until_ms;         /* ... and end (a silence's: as when noted) */
	const char *reason;       /* the silence's reason, or the mute windows as written */
	const char *execution_id; /* the held run */
	enum run_status status;
	int64_t finished_ms; /* as run memory ordered it */
	uint64_t signature;  /* its failure signature */
	const char *error;   /* one line of its error, "" when none */
};

/* Notes that job_id's run, of pipeline k, was held back by n's silence
 * or window. Once per job: a repeated call (a retried job) changes
 * nothing. The note belongs to the pipeline's open incident (none open:
 * nothing is noted); a note of an older incident is replaced, one of the
 * same is counted and takes n's silence and, when n's run finished no
 * earlier, n's run. Strings are cut as store_memory_apply() cuts them
 * (reason to SILENCE_REASON_MAX characters, error to
 * STORE_HELD_ERROR_MAX - 1 bytes). Returns 0, ERR_NOTFOUND (no such job),
 * ERR_INVALID or ERR_IO. */
int store_held_note(struct store *s, int64_t job_id, const struct mem_key *k,
		    const struct held_note *n);

/* A note whose silence has ended: its pipeline, its latest run and how
 * many runs it counts. until_ms is the silence's end as stored now (a
 * removed one ends at its removal). Borrowed for the callback. */
typedef void (*store_held_fn)(void *ctx, const struct mem_key *k, const struct held_note *n,
			      uint32_t count);

/* Calls fn for each note whose silence or window ended at or before
 * now_ms. fn runs with the store's lock held and must not call back into
 * the store. Returns 0, ERR_INVALID or ERR_IO. */
int store_held_due(struct store *s, int64_t now_ms, store_held_fn fn, void *ctx);

/* Summarises pipeline k's due note in one transaction (see above): when
 * its incident is still open and dests[0..n_dests) is not empty, a queued
 * JOB_KIND_HELD job for the note's latest run (received now_ms) with one
 * pending delivery per destination, its store_held_summary(), and the
 * incident told (held runs counted less by the note's count, posted, its
 * error the note's); *job_id its id. Otherwise *job_id is 0. Either way
 * the note is gone. Returns 0; ERR_NOTFOUND when k has no note due at
 * now_ms (another service summarised it); ERR_INVALID or ERR_IO (nothing
 * written). */
int store_held_summarise(struct store *s, const struct mem_key *k, char *const *dests,
			 size_t n_dests, int64_t now_ms, int64_t *job_id);

/* What a JOB_KIND_HELD job's message says. */
struct held_summary {
	uint32_t count;      /* runs held back */
	uint32_t failures;   /* problem runs in the incident so far */
	int64_t from_ms;     /* the silence's (or windows') start ... */
	int64_t until_ms;    /* ... and end */
	int64_t since_ms;    /* the incident's first problem finished then */
	int64_t finished_ms; /* the latest held run's finish */
	char reason[SILENCE_REASON_MAX * 4 + 1];
	char error[STORE_HELD_ERROR_MAX];
};

/* The message of JOB_KIND_HELD job job_id into *out. Returns 0,
 * ERR_NOTFOUND (no such job, or not one of those), ERR_INVALID or
 * ERR_IO. */
int store_held_summary(struct store *s, int64_t job_id, struct held_summary *out);

/* ---- long-running runs (longrun.h) ----
 * A run still running past its route's limit is told once ever: a row
 * per (project, execution) records that it fired, in the same
 * transaction that queues its JOB_KIND_LONG_RUNNING job, so neither a
 * restart nor a second service beside the first tells it again. The row
 * outlives its job (pruning a delivered job leaves it) and is forgotten
 * STORE_LONGRUN_KEEP_MS after it fired. The job is not a run's outcome:
 * run memory never sees it, and intake's dedup does not count it. */

#define STORE_LONGRUN_KEEP_MS (30LL * 24 * 3600 * 1000) /* a fired run is remembered this long */

/* What the limit a run passed was, for store_longrun_fire(). */
struct longrun_fire {
	const char *project_id, *execution_id; /* the run (non-empty) */
	const char *environment, *pipeline;    /* as the API lists it ("" unknown) */
	const char *trigger;                   /* SCHEDULE, API, ...; NULL or "" unknown */
	int64_t started_ms;                    /* the run's start */
	int64_t limit_ms;                      /* the limit it passed */
	int64_t usual_ms;                      /* the pipeline's usual duration; -1 unknown */
	int slow;                              /* the limit came from slow_factor */
};

/* Fires f's run once: in one transaction, unless (project, execution) has
 * fired before, records it and, when dests[0..n_dests) is not empty,
 * queues a JOB_KIND_LONG_RUNNING job (status RUNNING, received now_ms)
 * with one pending delivery per destination and keeps what its message
 * says (store_longrun_notice()), with the pipeline's open incident's
 * start; records older than STORE_LONGRUN_KEEP_MS go. Strings are cut as
 * store_memory_apply() cuts them. Returns 0 and *job_id (0 when there
 * were no destinations); ERR_DUPLICATE (nothing written) when the run
 * has fired before; ERR_INVALID; ERR_IO (nothing written). */
int store_longrun_fire(struct store *s, const struct longrun_fire *f, char *const *dests,
		       size_t n_dests, int64_t now_ms, int64_t *job_id);

/* What a JOB_KIND_LONG_RUNNING job's message says. */
struct longrun_notice {
	int64_t started_ms;        /* the run's start */
	int64_t at_ms;             /* when it was found still running */
	int64_t limit_ms;          /* the limit it passed */
	int64_t usual_ms;          /* -1 unknown */
	int64_t incident_since_ms; /* the pipeline's open incident's start then; -1 none */
	int slow;                  /* the limit came from slow_factor */
	char trigger[64];          /* "" unknown */
};

/* The message of JOB_KIND_LONG_RUNNING job job_id into *out. Returns 0,
 * ERR_NOTFOUND (no such job, or not one of those), ERR_INVALID or
 * ERR_IO. */
int store_longrun_notice(struct store *s, int64_t job_id, struct longrun_notice *out);
/* ---- Slack threads (a slack-app destination's incidents) ----
 * One row per (destination, pipeline, incident): the Slack message that
 * opened the incident's thread there (its parent), so every later message
 * of the incident is posted as a reply under it and the recovery can
 * rewrite it. An incident is named by its start, since_ms
 * (mem_context.incident_since_ms of its messages). The row is written
 * right after the parent's post succeeded; the first row for a key wins,
 * so a second parent posted by a racing worker is never recorded. */

#define STORE_SLACK_ID_MAX 40 /* bytes of a Slack channel id or message ts, NUL included */
#define STORE_THREAD_PARENT_MAX (1 << 20) /* bytes of a parent's body kept, NUL excluded */

/* A thread as stored: strings owned (store_thread_free()). */
struct store_thread {
	int64_t id;                       /* the row's; ignored by store_thread_put() */
	char *dest;                       /* destination name */
	char *project_id;                 /* the pipeline ... */
	char *environment;                /* ... ("" when none) ... */
	char *pipeline;                   /* ... by display name */
	int64_t since_ms;                 /* the incident's start */
	char channel[STORE_SLACK_ID_MAX]; /* the parent message's channel id ... */
	char ts[STORE_SLACK_ID_MAX];      /* ... and its ts */
	char *parent;                     /* its posted body (for chat.update); may be NULL */
	int resolved;                     /* the parent was rewritten as resolved */
};

/* 1 when id can be a Slack channel id or message ts as the store keeps
 * them: 1 to STORE_SLACK_ID_MAX - 1 bytes of [A-Za-z0-9.] only. Pure. */
int store_slack_id_valid(const char *id);

/* Frees t's strings and zeroes it; NULL is fine. */
void store_thread_free(struct store_thread *t);

/* Records in's thread (in->id is ignored) for (in->dest, in->project_id,
 * in->environment, in->pipeline, in->since_ms). The key's strings are cut
 * as store_memory_apply() cuts them; dest is a destination name (1 to 127
 * bytes); channel and ts pass store_slack_id_valid(); parent is NULL or at
 * most STORE_THREAD_PARENT_MAX bytes. The first row of a key wins: returns
 * 0 when written, ERR_DUPLICATE (nothing written) when the key already
 * has one, ERR_INVALID (nothing written) or ERR_IO. */
int store_thread_put(struct store *s, const struct store_thread *in);

/* The thread of (dest, pipeline k, incident since_ms) into *out (zeroed
 * first; caller frees with store_thread_free(), also on an error). k's
 * strings are cut as for store_thread_put(); k->environment NULL is "".
 * Returns 0, ERR_NOTFOUND, ERR_INVALID, ERR_NOMEM or ERR_IO. */
int store_thread_get(struct store *s, const char *dest, const struct mem_key *k, int64_t since_ms,
		     struct store_thread *out);

/* The thread whose parent is the message (channel, ts), for a click on
 * it (the newest row, should two share it). Values that fail
 * store_slack_id_valid() find nothing. *out as for store_thread_get().
 * Returns 0, ERR_NOTFOUND, ERR_INVALID, ERR_NOMEM or ERR_IO. */
int store_thread_by_message(struct store *s, const char *channel, const char *ts,
			    struct store_thread *out);

/* Marks thread id as resolved (its parent was rewritten) and keeps
 * new_parent_body as its parent's body (NULL keeps the one stored; at
 * most STORE_THREAD_PARENT_MAX bytes). Marking it again is fine. Returns
 * 0, ERR_NOTFOUND (no such thread), ERR_INVALID or ERR_IO. */
int store_thread_resolved(struct store *s, int64_t id, const char *new_parent_body);

/* Keeps body (at most STORE_THREAD_PARENT_MAX bytes, not NULL) as the
 * body of thread id's parent after Slack accepted a rewrite of it (a
 * click's chat.update), so the next rewrite (another click, the
 * recovery) starts from what the channel shows. Whether the thread is
 * resolved stays as it is. Returns 0, ERR_NOTFOUND (no such thread),
 * ERR_INVALID or ERR_IO. */
int store_thread_set_parent(struct store *s, int64_t id, const char *body);
/* ---- Slack button clicks (action.h) ----
 * A click is stored before Slack is answered, together with a queued
 * JOB_KIND_ACTION job that carries it out, so it has the leases, retries
 * and crash recovery of any job: a process killed between the answer and
 * the action finds the job queued again at the next start. */

/* Stores click a (received now_ms) and its queued job, in one
 * transaction made durable before it returns. A click already stored
 * (same user, action_ts, kind, channel and message: Slack's retry of a
 * delivery) adds nothing. Returns 0 with *id the new click's id;
 * ERR_DUPLICATE with *id the stored one's; ERR_INVALID; ERR_IO. */
int store_action_put(struct store *s, const struct action *a, int64_t now_ms, int64_t *id);

/* The click job_id carries out, into *out. Returns 0, ERR_NOTFOUND,
 * ERR_INVALID or ERR_IO. */
int store_action_of_job(struct store *s, int64_t job_id, struct action *out);

/* Records a->result, a->detail and the incident it acted on (a's
 * project_id, environment and pipeline) for click a->id, done at now_ms,
 * and ends its job a->job_id as delivered, in one transaction. Returns
 * 0, ERR_NOTFOUND (no such click), ERR_INVALID or ERR_IO. */
int store_action_finish(struct store *s, const struct action *a, int64_t now_ms);

/* Records that user_id (user_name may be "") acknowledged pipeline k's
 * open incident, the one that began at since_ms, at now_ms; run memory
 * then posts that incident's repeats as plain repeats, never as
 * reminders. Returns 0; ERR_NOTFOUND when k has no open incident that
 * began then (it closed, or another began); ERR_INVALID; ERR_IO. */
int store_incident_ack(struct store *s, const struct mem_key *k, int64_t since_ms,
		       const char *user_id, const char *user_name, int64_t now_ms);

/* Claims execution tag for click action_id: *first = 1 when no other
 * click claimed it before (the same click again, a retried job, counts
 * as first), else 0. Returns 0, ERR_INVALID or ERR_IO. */
int store_rerun_claim(struct store *s, const char *tag, int64_t action_id, int64_t now_ms,
		      int *first);

/* Calls fn for each stored click, newest first, at most limit (0: no
 * limit). fn runs with the store's lock held and must not call back into
 * the store. Returns 0, ERR_INVALID or ERR_IO. */
typedef void (*store_action_fn)(void *ctx, const struct action *a);
int store_actions(struct store *s, size_t limit, store_action_fn fn, void *ctx);
/* ---- reconciliation by polling (poll.h) ---- */

/* Where the poller stands for one project. */
struct poll_mark {
	int64_t watermark_ms;  /* unix ms: runs started before it and finished
				* when last listed were all processed */
	int64_t gap_before_ms; /* > 0: a listing was cut off; runs started
				* before this are still to be listed */
	int64_t gap_mark_ms;   /* the watermark once that gap is listed */
	int found;             /* store_poll_get(): 1 when a row was there */
};

/* The state of project_id into *out. Returns 0, ERR_NOTFOUND (never
 * polled: *out zeroed), ERR_INVALID or ERR_IO. */
int store_poll_get(struct store *s, const char *project_id, struct poll_mark *out);

/* Replaces the state of project_id (updated now_ms). Not synced on its
 * own: a lost update only makes the poller list runs again. Returns 0,
 * ERR_INVALID or ERR_IO. */
int store_poll_set(struct store *s, const char *project_id, const struct poll_mark *m,
		   int64_t now_ms);

/* Called once per project id; the id is borrowed for the call. */
typedef void (*store_project_fn)(void *ctx, const char *project_id);

/* Every project a run was stored or remembered for, or that was polled
 * before, in id order, at most limit of them. 0, ERR_INVALID or ERR_IO. */
int store_poll_projects(struct store *s, size_t limit, store_project_fn fn, void *ctx);

#endif
