/* The SQLite backend of the store, private to src/store/sqlite_*.c: one
 * SQLite file in WAL mode, with group commit so many concurrent webhooks
 * share one fsync. Its files, one concern each:
 *   sqlite_sql.c     statement cache, binding, running, reading columns;
 *   sqlite_tx.c      the write transaction helper (sq_tx_run()), job
 *                    counts, health and its write probe;
 *   sqlite_schema.c  schema and migrations, integrity check, the owner
 *                    lock and recovery, open and close, the backend row;
 *   sqlite_commit.c  the group-commit writer and syncer threads;
 *   sqlite_jobs.c    the job and delivery state machine: claim, record,
 *                    settle, retry, end, release, list, dead letters, prune;
 *   sqlite_memory.c  run memory: runs, incidents and each job's decision;
 *   sqlite_silence.c silences: added, ended, listed, and asked per run;
 *                    the runs they held back and their summaries;
 *   sqlite_longrun.c long-running runs: fired once, and their messages.
 *   sqlite_thread.c  Slack threads: the parent message of each incident.
 *   sqlite_action.c  Slack button clicks, acknowledgements and re-run tags.
 *
 * DESIGN (of this backend; the states and the promises every backend
 * keeps are in store.c)
 *
 * What survives a crash: everything committed. The file is in WAL mode.
 * The group-commit connection's commits are fdatasync'ed before anyone is
 * told (see Group commit), so an accepted job survives power loss as well
 * as a process crash. The bookkeeping connection (claims, delivery outcomes,
 * settle, CLI) runs with synchronous=NORMAL: its commits survive a process
 * crash (they are in the OS's page cache) but the last ones before a power
 * loss or kernel crash may roll back. That can only repeat work (a claim
 * or a "delivered" forgotten, so a message posted again), never drop an
 * accepted job, and it keeps the fsync off the path between a chat POST's
 * 2xx and its "delivered" commit, the window in which a crash re-posts.
 * Uncommitted work is rolled back by SQLite on the next open. A job that
 * was running when the process died is queued again by sq_open() (its
 * lease belonged to a thread that no longer exists; a lock file
 * "<path>-lock" tells a dead owner from a live one, so a CLI opening the
 * file beside a running service leaves its jobs alone); the attempt stays
 * counted so a job that crashes the process cannot loop forever unnoticed.
 * A crash between a successful chat POST and its store_delivery_record()
 * re-posts that message: delivery is at least
 * once, never at most once.
 *
 * Group commit. Intake calls store_put_async() concurrently (store_put()
 * is the same call plus a wait). Each call queues a request. One writer
 * thread with its own connection takes everything queued (at most
 * GC_MAX_BATCH requests), runs it inside one BEGIN IMMEDIATE transaction
 * and commits once, then hands the batch to a syncer thread and takes the
 * next one. The writer's connection runs with synchronous=NORMAL, so its
 * COMMIT writes the WAL but does not wait for the disk; the syncer calls
 * fdatasync() on the WAL file once for every batch committed since its
 * last call, and only then calls each request's callback with its own
 * result (on the syncer thread, with no store lock held). So the fsync of
 * one batch overlaps the inserts of the next, and 202 still waits for the
 * disk. SQLite itself syncs the WAL and the database around checkpoints
 * (synchronous=NORMAL does), so a checkpoint never lets the WAL be
 * overwritten before its pages are durable in the database. If the commit
 * or the fdatasync fails, every request of the batch gets ERR_IO,
 * duplicates included; a job committed but not synced may still be
 * delivered, and the webhook's retry is then a duplicate: at least once.
 * Dedup runs inside the transaction, so two identical puts in one batch
 * give one job and one ERR_DUPLICATE. store_close() lets the writer and
 * the syncer finish what is queued, so every accepted request gets its
 * call.
 *
 * A batch first runs without savepoints (see batch_apply()); only when
 * one request's rows fail is it run again with a SAVEPOINT per request,
 * so one bad request cannot spoil the others.
 *
 * What 202 means: intake answers 202 only when its put completed with 0,
 * that is after the job and its deliveries were committed and the WAL
 * holding them fdatasync'ed.
 *
 * Everything else (claims, delivery bookkeeping, CLI listing) runs on a
 * second connection guarded by a mutex; WAL lets it read while the writer
 * commits. The two connections' write transactions are serialised by one
 * more mutex, txmu, held from BEGIN IMMEDIATE to COMMIT or ROLLBACK on
 * either connection. Left to SQLite, the loser of a lock race sleeps in
 * the busy handler for 1, 2, 5, 10 ms and more, long after the lock was
 * free; a mutex hands the lock over as soon as it is released. Routing
 * the bookkeeping writes through the writer thread would do the same but
 * would make every claim wait behind a batch of inserts and answer it only
 * after the batch's fsync. busy_timeout still covers another process (the
 * CLI beside the service). Lock order: mu before txmu; the writer thread
 * takes only txmu. A claim first looks for a ready job without txmu (a
 * WAL read), so idle workers polling an empty queue never wait for a
 * group commit; it then takes txmu and picks again inside the
 * transaction before it writes.
 *
 * Statements are prepared once per connection and kept (see struct conn),
 * transaction control and savepoints included.
 *
 * Health. A failed write (disk full, read-only, corrupt) marks the store
 * unhealthy, so intake answers 503 and /readyz fails; the next successful
 * write marks it healthy. A failed fdatasync of the WAL keeps it unhealthy
 * until an fdatasync succeeds, whatever commits meanwhile. An unhealthy
 * store_healthy() tries one small write (and its fdatasync) itself, a
 * second after the failure and then at most once a second, so readiness
 * comes back when the disk does even if no traffic arrives.
 *
 * Job counts. /metrics asks for the number of jobs in each state on every
 * scrape; a COUNT over a million jobs takes a tenth of a second, so the
 * store keeps the counts in memory instead. store_open() counts once
 * (after the recovery of running jobs); every write transaction notes in
 * its connection how many jobs each statement moved between states (a
 * put, a claim of a queued job, settle, end, retry, release, dead retry,
 * purge and prune, from sqlite3_changes() where one statement moves many
 * rows, reading a job's state first where the statement does not say it),
 * and the tally is added to the counts only when COMMIT succeeds, under
 * txmu, so a rolled-back transaction or batch changes nothing. Another
 * process (the CLI beside the service) changes the file without telling
 * us: a store that is not the owner (see owner_lock()) bumps the
 * foreign_writes row of store_meta in each transaction that moves jobs,
 * and the owner compares that row with the value it last counted at (a
 * lookup by primary key) before it answers; when it differs, it counts
 * again. A store that is not the owner counts every time.
 *
 * Every write transaction, on either connection, goes through
 * sq_tx_run(): txmu, BEGIN IMMEDIATE, the caller's apply function, then
 * COMMIT, or ROLLBACK on an error. ERR_NOTFOUND (nothing to write) rolls
 * back without a verdict on the disk; other errors roll back and ERR_IO
 * marks the store unhealthy. */
#ifndef DPC_SQLITE_INT_H
#define DPC_SQLITE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"
#include "store_int.h"

#define SCHEMA_VERSION STORE_SCHEMA_VERSION
#define GC_MAX_BATCH 256     /* requests per transaction at most */
#define BUSY_TIMEOUT_MS 5000 /* the two connections wait for each other */
#define MAX_DELIVERIES 4096  /* rows store_deliveries() returns at most */
#define PROBE_EVERY_MS 1000  /* write probes of an unhealthy store */

struct put_req;
struct batch;

/* One connection and the statements prepared on it. A statement is
 * prepared on first use and kept until store_close(), keyed by the address
 * of its SQL text (every SQL string of this backend is a literal or a
 * named constant), so hot paths parse no SQL. */
#define STMT_CACHE 64
struct conn {
	sqlite3 *db;
	int64_t moved[JOB__MAX];     /* jobs gained (lost when negative) per
					 * state by its open write transaction */
	size_t n;                    /* statements cached */
	const char *sql[STMT_CACHE]; /* the key: address of the SQL text */
	sqlite3_stmt *st[STMT_CACHE];
};

/* An open SQLite store; base first, so sq_of() can convert. */
struct sq_store {
	struct store base;
	char path[STORE_PATH_MAX];
	struct conn bk; /* worker/CLI connection, guarded by mu */
	pthread_mutex_t mu;
	struct conn wr;       /* group-commit connection, writer thread only */
	pthread_mutex_t txmu; /* held by every write transaction of bk and wr */
	sqlite3_stmt *st_dedup_get, *st_job_ins, *st_dlv_ins;
	pthread_t writer;
	int writer_started;
	int wal_fd; /* "<path>-wal", fdatasync'ed by the syncer; -1 until open */
	pthread_t syncer;
	int syncer_started;
	pthread_mutex_t smu; /* guards the sync queue and s_stopping */
	pthread_cond_t s_cv; /* the syncer waits here for batches */
	struct batch *s_head, *s_tail;
	int s_stopping;
	int lock_fd;         /* flock on "<path>-lock", -1 if none */
	pthread_mutex_t qmu; /* guards the queue and stopping */
	pthread_cond_t q_cv; /* writer waits here for requests */
	struct put_req *q_head, *q_tail;
	int stopping;
	atomic_int healthy;
	atomic_int sync_failed; /* the last fdatasync of the WAL failed */
	atomic_int fail_writes;
	atomic_uint_least64_t commits;
	_Atomic int64_t last_probe_ms; /* monotonic ms of the last failure or probe */
	int owner;                     /* holds "<path>-lock": no other process runs jobs */
	pthread_mutex_t cmu;           /* guards counts and foreign_seen; taken after txmu */
	int64_t counts[JOB__MAX];      /* jobs per state as of the last COMMIT */
	int64_t foreign_seen;          /* store_meta.foreign_writes when counts were taken */
};

static inline struct sq_store *sq_of(struct store *s)
{
	return (struct sq_store *)s;
}

/* ---- sqlite_sql.c: statements ---- */

/* A bound parameter: kind 'i' (integer) or 't' (text, NULL binds NULL). */
struct arg {
	char kind;
	int64_t i;
	const char *t;
};
#define AI(v) ((struct arg){ 'i', (int64_t)(v), NULL })
#define AT(v) ((struct arg){ 't', 0, (v) })
#define NARGS(a) (sizeof(a) / sizeof((a)[0]))

/* Maps an SQLite result to our convention; everything but OOM is I/O. */
int sq_map_rc(int src);
/* Binds a[0..n) to ?1..?n; arguments past the statement's last parameter
 * are ignored so statements sharing one argument list may use a subset.
 * Returns an SQLite code. */
int sq_bind(sqlite3_stmt *st, const struct arg *a, size_t n);
/* Finds or prepares the statement for sql on c. Returns an SQLite code;
 * *out is borrowed until sq_stmt_done(). */
int sq_stmt_get(struct conn *c, const char *sql, sqlite3_stmt **out);
/* Gives back a statement from sq_stmt_get(). */
void sq_stmt_done(struct conn *c, sqlite3_stmt *st);
/* Runs one cached statement that returns no rows; *changes gets the rows
 * it touched (may be NULL). Returns 0 or ERR_IO/ERR_NOMEM. */
int sq_stmt_run(struct conn *c, const char *sql, const struct arg *a, size_t n, int *changes);
/* sq_stmt_run() without arguments (transaction control, pragmas). */
int sq_exec(struct conn *c, const char *sql);
/* Runs SQL text once, uncached (the schema script). */
int sq_exec_raw(sqlite3 *db, const char *sql);
/* Rolls back the open transaction of db, if any. */
void sq_rollback(sqlite3 *db);
/* Finalizes c's statements and closes its database. */
void sq_conn_close(struct conn *c);
/* Copies column col as text into dst (cap bytes, always terminated). */
void sq_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap);
/* The index of text t in names[0..n), 0 when absent. */
int sq_name_index(const char *const *names, int n, const unsigned char *t);
/* Runs a single-value PRAGMA and copies its first row into out. */
int sq_pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap);
/* Called for each row of sq_query(); nonzero stops the query there. */
typedef int (*sq_row_fn)(sqlite3_stmt *st, void *ctx);
/* Runs a cached query with a[0..n) on c (inside the caller's lock),
 * calling row for each row until it returns nonzero; a failure is logged
 * with what ("store: <what>: <error>"). Returns 0, ERR_IO or ERR_NOMEM. */
int sq_query(struct conn *c, const char *sql, const struct arg *a, size_t n, sq_row_fn row,
	     void *ctx, const char *what);
/* A row function for "is there one": sets *(int *)ctx to 1 and stops. */
int sq_row_found(sqlite3_stmt *st, void *ctx);

/* ---- sqlite_tx.c: transactions, counts, health ---- */

/* Opens a write transaction on c with nothing moved yet. */
int sq_tx_begin(struct conn *c);

/* The body of a write transaction: runs its statements on c, which has
 * a transaction open. Returns 0 to commit, ERR_NOTFOUND when there is
 * nothing to write, or another error. */
typedef int (*sq_apply_fn)(struct conn *c, void *ctx);

/* The one shape of every write: runs apply in a transaction on c, with
 * txmu held from BEGIN IMMEDIATE to COMMIT or ROLLBACK. Commits when
 * apply returns 0; rolls back ERR_NOTFOUND without a verdict on the disk
 * (nothing was to be written); rolls back any other error, and ERR_IO
 * marks the store unhealthy. The caller holds mu when c is the
 * bookkeeping connection. */
int sq_tx_run(struct sq_store *s, struct conn *c, sq_apply_fn apply, void *ctx);
/* sq_tx_run() on the bookkeeping connection, with mu taken around it. */
int sq_write(struct sq_store *s, sq_apply_fn apply, void *ctx);

/* Notes that n jobs of the open transaction went from state from to state
 * to; NO_STATE on one side means the job came (a put) or went (a delete). */
#define NO_STATE (-1)
void sq_moved(struct conn *c, int from, int to, int64_t n);

/* Counts the jobs of each state into s->counts, with the foreign_writes
 * value of the same snapshot. With mu and txmu held (or before the
 * threads start). */
int sq_counts_seed(struct sq_store *s);

int sq_counts(struct store *base, int64_t counts[JOB__MAX]);
int sq_healthy(struct store *base);
void sq_fail_writes(struct store *base, int on);

/* ---- sqlite_commit.c: group commit ---- */

/* Prepares the writer's statements, opens the WAL for the syncer and
 * starts both threads. On failure writes the cause into err. */
int sq_commit_start(struct sq_store *s, char *err, size_t errlen);
/* Lets the writer and the syncer finish what is queued, joins them and
 * frees their resources; safe after a partial sq_commit_start(). */
void sq_commit_stop(struct sq_store *s);
/* Makes everything the writer committed so far durable. */
int sq_sync_wal(struct sq_store *s);

int sq_put_async(struct store *base, const struct webhook_event *ev, char *const *dests,
		 size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx);
uint64_t sq_commit_count(struct store *base);

/* ---- sqlite_jobs.c: the state machine ---- */

int sq_claim(struct store *base, int64_t now_ms, int64_t lease_ms, struct job *out);
int sq_deliveries(struct store *base, int64_t job_id, struct delivery **out, size_t *n);
int sq_delivery_record(struct store *base, int64_t job_id, const char *dest,
		       const struct dlv_outcome *o, int settle);
int sq_job_settle(struct store *base, int64_t job_id);
int sq_job_retry(struct store *base, int64_t job_id, int64_t not_before_ms, const char *error);
int sq_job_end(struct store *base, int64_t job_id, enum job_state st, const char *reason);
int sq_job_release(struct store *base, int64_t job_id);
int sq_job_note(struct store *base, int64_t job_id, const char *error);
int sq_list(struct store *base, int st, size_t limit, store_job_fn fn, void *ctx);
int sq_dead_retry(struct store *base, int64_t job_id, size_t *count);
int sq_dead_purge(struct store *base, int64_t older_than_s, size_t *count);
int sq_prune(struct store *base, int64_t window_s);
/* Decides job_id's next state from its deliveries and writes it, inside
 * the open transaction on c (what store_job_settle() does). */
int sq_settle_apply(struct conn *c, int64_t job_id);
/* The state job_id is in, inside the open transaction. Returns 0,
 * ERR_NOTFOUND or ERR_IO. */
int sq_job_state(struct conn *c, int64_t job_id, int *state);

/* ---- sqlite_group.c: grouped messages ---- */

int sq_group_take(struct store *base, const char *dest, int64_t now_ms, int64_t lease_ms,
		  size_t max, struct group_held **out, size_t *n);
int sq_group_record(struct store *base, const char *dest, const int64_t *jobs, size_t n,
		    const struct dlv_outcome *o);

/* ---- sqlite_memory.c: run memory ---- */

int sq_memory_apply(struct store *base, int64_t job_id, const struct mem_key *k,
		    const char *execution_id, const char *trigger, const struct mem_run *ev,
		    const struct mem_policy *p, size_t keep_runs, struct mem_decision *out);
int sq_memory_prune(struct store *base, int64_t unseen_before_ms, size_t *count);
int sq_incidents(struct store *base, int open_only, store_incident_fn fn, void *ctx);
int sq_open_incidents(struct store *base, int64_t *n);
int sq_memory_preview(struct store *base, const struct mem_key *k, const char *execution_id,
		      const struct mem_run *ev, const struct mem_policy *p,
		      struct mem_decision *out);
int sq_history(struct store *base, const struct mem_key *k, size_t limit, store_run_fn fn,
	       void *ctx);

/* ---- sqlite_silence.c: silences ---- */

int sq_silence_add(struct store *base, const struct silence *in, int64_t *id);
int sq_silence_remove(struct store *base, int64_t id, int64_t now_ms);
int sq_silences(struct store *base, int all, int64_t now_ms, store_silence_fn fn, void *ctx);
int sq_silenced(struct store *base, const struct mem_key *k, int64_t now_ms, int *yes);
int sq_silences_covering(struct store *base, const struct mem_key *k, int64_t now_ms,
			 store_silence_fn fn, void *ctx);
int sq_held_note(struct store *base, int64_t job_id, const struct mem_key *k,
		 const struct held_note *n);
int sq_held_due(struct store *base, int64_t now_ms, store_held_fn fn, void *ctx);
int sq_held_summarise(struct store *base, const struct mem_key *k, char *const *dests,
		      size_t n_dests, int64_t now_ms, int64_t *job_id);
int sq_held_summary(struct store *base, int64_t job_id, struct held_summary *out);

/* ---- sqlite_longrun.c: long-running runs ---- */

int sq_longrun_fire(struct store *base, const struct longrun_fire *f, char *const *dests,
		    size_t n_dests, int64_t now_ms, int64_t *job_id);
int sq_longrun_notice(struct store *base, int64_t job_id, struct longrun_notice *out);
/* ---- sqlite_thread.c: Slack threads ---- */

int sq_thread_put(struct store *base, const char *dest, const struct mem_key *k,
		  const struct store_thread *in);
int sq_thread_get(struct store *base, const char *dest, const struct mem_key *k, int64_t since_ms,
		  struct store_thread *out);
int sq_thread_by_message(struct store *base, const char *channel, const char *ts,
			 struct store_thread *out);
int sq_thread_resolved(struct store *base, int64_t id, const char *new_parent_body);
int sq_thread_set_parent(struct store *base, int64_t id, const char *body);
/* ---- sqlite_action.c: button clicks ---- */
int sq_action_put(struct store *base, const struct action *a, int64_t now_ms, int64_t *id);
int sq_action_of_job(struct store *base, int64_t job_id, struct action *out);
int sq_action_finish(struct store *base, const struct action *a, int64_t now_ms);
int sq_incident_ack(struct store *base, const struct mem_key *k, int64_t since_ms,
		    const char *user_id, const char *user_name, int64_t now_ms);
int sq_rerun_claim(struct store *base, const char *tag, int64_t action_id, int64_t now_ms,
		   int *first);
int sq_actions(struct store *base, size_t limit, store_action_fn fn, void *ctx);
/* ---- sqlite_poll.c: reconciliation state ---- */

int sq_poll_get(struct store *base, const char *project_id, struct poll_mark *out);
int sq_poll_set(struct store *base, const char *project_id, const struct poll_mark *m,
		int64_t now_ms);
int sq_poll_projects(struct store *base, size_t limit, store_project_fn fn, void *ctx);

#endif
