/* The store's backend boundary, private to src/store/: the operations a
 * backend implements (one struct store_backend per backend, as curl's
 * vtls backends fill a struct Curl_ssl) and the part of every open store
 * that the backend-neutral front (store.c) owns. The front validates
 * arguments and dispatches each public store_*() call through s->be; a
 * backend never sees a NULL store or an argument store.h calls invalid. */
#ifndef DPC_STORE_INT_H
#define DPC_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_PATH_MAX 4096        /* bytes of a database path, with its NUL */
#define STORE_DEST_MAX 128         /* sizeof(struct delivery).dest */
#define STORE_TRIGGER_MAX 64       /* bytes of a run's trigger kept, with its NUL */
#define STORE_KEEP_RUNS_MAX 100000 /* runs kept per pipeline at most */
#define STORE_GROUP_MAX 10000      /* deliveries one grouped message takes at most */

/* The operations of one backend. Each has the contract of the public
 * function of the same name in store.h, with the arguments the front has
 * already checked (see store.c); every one is required. */
struct store_backend {
	const char *name; /* "sqlite" */
	/* Nonzero when this backend serves the database named by path; the
	 * front asks each backend in turn, the last one (SQLite) takes any
	 * path. */
	int (*accepts)(const char *path);
	/* path is valid (non-empty, shorter than STORE_PATH_MAX); the
	 * result starts with a struct store set up by store_base_init(). */
	struct store *(*open)(const char *path, char *err, size_t errlen);
	/* Finishes every queued put, then frees s (store_base_fini() too). */
	void (*close)(struct store *s);
	/* ev and dests passed put_valid(); dedup_window_s is clamped to
	 * [0, INT64_MAX / 2000]. */
	int (*put_async)(struct store *s, const struct webhook_event *ev, char *const *dests,
			 size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx);
	int (*claim)(struct store *s, int64_t now_ms, int64_t lease_ms, struct job *out);
	/* *out and *n start as NULL and 0; the front frees what is there on
	 * an error. */
	int (*deliveries)(struct store *s, int64_t job_id, struct delivery **out, size_t *n);
	int (*delivery_record)(struct store *s, int64_t job_id, const char *dest,
			       const struct dlv_outcome *o, int settle);
	/* dest is non-NULL; max in [1, STORE_GROUP_MAX]; *out and *n
	 * start as NULL and 0, and the front frees what is there on an
	 * error. */
	int (*group_take)(struct store *s, const char *dest, int64_t now_ms, int64_t lease_ms,
			  size_t max, struct group_held **out, size_t *n);
	/* dest and jobs are non-NULL, n in [1, STORE_GROUP_MAX]. */
	int (*group_record)(struct store *s, const char *dest, const int64_t *jobs, size_t n,
			    const struct dlv_outcome *o);
	int (*job_settle)(struct store *s, int64_t job_id);
	int (*job_retry)(struct store *s, int64_t job_id, int64_t not_before_ms, const char *error);
	int (*job_end)(struct store *s, int64_t job_id, enum job_state st, const char *reason);
	int (*job_release)(struct store *s, int64_t job_id);
	int (*job_note)(struct store *s, int64_t job_id, const char *error);
	int (*list)(struct store *s, int st, size_t limit, store_job_fn fn, void *ctx);
	/* *count is the caller's (never NULL); the front wakes the workers
	 * when jobs were queued again. */
	int (*dead_retry)(struct store *s, int64_t job_id, size_t *count);
	int (*dead_purge)(struct store *s, int64_t older_than_s, size_t *count);
	int (*prune)(struct store *s, int64_t window_s);
	int (*counts)(struct store *s, int64_t counts[JOB__MAX]);
	int (*healthy)(struct store *s);
	void (*fail_writes)(struct store *s, int on);
	uint64_t (*commit_count)(struct store *s);
	/* Run memory. Strings are non-NULL (but trigger and k->environment
	 * of history, which may be NULL) and cut to their sizes on a
	 * character boundary (ids to WEBHOOK_ID_MAX - 1 bytes, environment
	 * and pipeline to WEBHOOK_TEXT_MAX - 1, trigger to
	 * STORE_TRIGGER_MAX - 1); ev->status is below ST__MAX; keep_runs is
	 * in [1, STORE_KEEP_RUNS_MAX]; count is never NULL. */
	int (*memory_apply)(struct store *s, int64_t job_id, const struct mem_key *k,
			    const char *execution_id, const char *trigger, const struct mem_run *ev,
			    const struct mem_policy *p, size_t keep_runs, struct mem_decision *out);
	int (*memory_preview)(struct store *s, const struct mem_key *k, const char *execution_id,
			      const struct mem_run *ev, const struct mem_policy *p,
			      struct mem_decision *out);
	int (*memory_prune)(struct store *s, int64_t unseen_before_ms, size_t *count);
	int (*incidents)(struct store *s, int open_only, store_incident_fn fn, void *ctx);
	int (*open_incidents)(struct store *s, int64_t *n);
	int (*history)(struct store *s, const struct mem_key *k, size_t limit, store_run_fn fn,
		       void *ctx);
	/* Silences. in passed silence_valid() (store.c); id is positive;
	 * yes is never NULL and k's strings are clamped as for history
	 * (environment never NULL). */
	int (*silence_add)(struct store *s, const struct silence *in, int64_t *id);
	int (*silence_remove)(struct store *s, int64_t id, int64_t now_ms);
	int (*silences)(struct store *s, int all, int64_t now_ms, store_silence_fn fn, void *ctx);
	int (*silenced)(struct store *s, const struct mem_key *k, int64_t now_ms, int *yes);
	int (*silences_covering)(struct store *s, const struct mem_key *k, int64_t now_ms,
				 store_silence_fn fn, void *ctx);
	/* Held runs. k's strings are clamped (environment never NULL) and
	 * n's cut to their sizes (never NULL); dests passed put_valid()'s
	 * check of destination names; job_id and out are never NULL. */
	int (*held_note)(struct store *s, int64_t job_id, const struct mem_key *k,
			 const struct held_note *n);
	int (*held_due)(struct store *s, int64_t now_ms, store_held_fn fn, void *ctx);
	int (*held_summarise)(struct store *s, const struct mem_key *k, char *const *dests,
			      size_t n_dests, int64_t now_ms, int64_t *job_id);
	int (*held_summary)(struct store *s, int64_t job_id, struct held_summary *out);
	/* Long-running runs. f's strings are cut to their sizes (trigger
	 * never NULL), ids non-empty; dests passed put_valid()'s check of
	 * destination names (n_dests may be 0); job_id and out are never
	 * NULL. */
	int (*longrun_fire)(struct store *s, const struct longrun_fire *f, char *const *dests,
			    size_t n_dests, int64_t now_ms, int64_t *job_id);
	int (*longrun_notice)(struct store *s, int64_t job_id, struct longrun_notice *out);
	/* Slack threads. Strings passed the front's checks and cuts (k's
	 * environment never NULL; channel and ts store_slack_id_valid());
	 * out is zeroed and never NULL. */
	int (*thread_put)(struct store *s, const char *dest, const struct mem_key *k,
			  const struct store_thread *in);
	int (*thread_get)(struct store *s, const char *dest, const struct mem_key *k,
			  int64_t since_ms, struct store_thread *out);
	int (*thread_by_message)(struct store *s, const char *channel, const char *ts,
				 struct store_thread *out);
	int (*thread_resolved)(struct store *s, int64_t id, const char *new_parent_body);
	int (*thread_set_parent)(struct store *s, int64_t id, const char *body);
	/* Button clicks. Pointers are non-NULL; a's strings are
	 * NUL-terminated within their arrays. */
	int (*action_put)(struct store *s, const struct action *a, int64_t now_ms, int64_t *id);
	int (*action_of_job)(struct store *s, int64_t job_id, struct action *out);
	int (*action_finish)(struct store *s, const struct action *a, int64_t now_ms);
	int (*incident_ack)(struct store *s, const struct mem_key *k, int64_t since_ms,
			    const char *user_id, const char *user_name, int64_t now_ms);
	int (*rerun_claim)(struct store *s, const char *tag, int64_t action_id, int64_t now_ms,
			   int *first);
	int (*actions)(struct store *s, size_t limit, store_action_fn fn, void *ctx);
	/* Reconciliation state. project_id passed text_id_valid(); out,
	 * m and fn are never NULL; limit is at least 1. */
	int (*poll_get)(struct store *s, const char *project_id, struct poll_mark *out);
	int (*poll_set)(struct store *s, const char *project_id, const struct poll_mark *m,
			int64_t now_ms);
	int (*poll_projects)(struct store *s, size_t limit, store_project_fn fn, void *ctx);
};

/* What every open store has, whatever its backend: a backend's own
 * struct begins with it. The wait/wake sequence is the front's. */
struct store {
	const struct store_backend *be;
	pthread_mutex_t wmu; /* store_wait()/store_wake() */
	pthread_cond_t wcv;
	uint64_t wseq;
};

/* Sets up the front's part of a newly allocated store for backend be.
 * Returns 0 or ERR_NOMEM. */
int store_base_init(struct store *s, const struct store_backend *be);
/* Undoes store_base_init(). */
void store_base_fini(struct store *s);

extern const struct store_backend store_backend_sqlite;

#endif
