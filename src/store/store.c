/* The durable store: jobs (each also the dedup key of its webhook) and
 * their per-destination deliveries in one SQLite file, with group commit
 * so many concurrent webhooks share one fsync.
 *
 * DESIGN
 *
 * Job states. store_put() creates a job as queued, with one pending
 * delivery per destination. store_claim() moves the earliest ready job to
 * running and gives it a lease; "ready" is queued with not_before <= now, or
 * running with an expired lease (its worker died or hung). From running a
 * job goes to:
 *   queued     store_job_retry(), store_job_release(), store_job_settle()
 *              while some delivery is still pending (not_before = the
 *              earliest pending delivery's), or store_open() after a crash;
 *   delivered  store_job_settle() when no delivery is pending and at least
 *              one was delivered;
 *   dead       store_job_settle() when every delivery is dead, or
 *              store_job_end(JOB_DEAD) when the worker gave up;
 *   ignored    store_job_end(JOB_IGNORED) (no route matched the real
 *              status), or store_job_settle() on a job with no delivery.
 * Dead jobs go back to queued only by hand (store_dead_retry()) and leave
 * only by store_dead_purge(); delivered and ignored jobs are dropped by
 * store_prune() once older than the dedup window.
 * A delivery is pending until store_delivery_record() records it delivered
 * or dead; a retry outcome keeps it pending with a later not_before. The
 * same call may settle the job in the same transaction; a retry or dead outcome
 * can carry the rendered payload, kept for later posts (the worker stores
 * it no earlier). Delivered rows are never posted again, so a retry of
 * the job only re-posts to the destinations that failed.
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
 * was running when the process died is queued again by store_open() (its
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
 * A batch first runs without savepoints (see batch_commit()); only when
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
 * again. A store that is not the owner counts every time. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

#define SCHEMA_VERSION 3
#define GC_MAX_BATCH 256      /* requests per transaction at most */
#define BUSY_TIMEOUT_MS 5000  /* the two connections wait for each other */
#define MAX_DELIVERIES 4096   /* rows store_deliveries() returns at most */
#define DEST_MAX 128          /* sizeof(struct delivery).dest */
#define PROBE_EVERY_MS 1000   /* write probes of an unhealthy store */
#define STR_(x) #x
#define STR(x) STR_(x)

const char *const job_state_names[JOB__MAX] = {
	[JOB_QUEUED] = "queued",       [JOB_RUNNING] = "running",
	[JOB_DELIVERED] = "delivered", [JOB_DEAD] = "dead",
	[JOB_IGNORED] = "ignored",
};

const char *const dlv_state_names[DLV__MAX] = {
	[DLV_PENDING] = "pending",
	[DLV_DELIVERED] = "delivered",
	[DLV_DEAD] = "dead",
};

/* One store_put_async() waiting for the writer; allocated by it and freed
 * by the writer once done has been called. */
struct put_req {
	const struct webhook_event *ev; /* borrowed until done runs */
	char *const *dests;             /* borrowed until done runs */
	size_t n_dests;
	int64_t window_ms;
	int rc;                 /* result, set by the writer */
	int64_t job_id;
	store_put_done_fn done; /* called by the writer after the batch ended */
	void *ctx;
	struct put_req *next;
};

/* One committed batch on its way from the writer to the syncer. */
struct batch {
	struct put_req *reqs;
	int64_t t0_ms;          /* monotonic ms when the writer began it */
	int committed;          /* its transaction committed */
	struct batch *next;
};

/* One connection and the statements prepared on it. A statement is
 * prepared on first use and kept until store_close(), keyed by the address
 * of its SQL text (every SQL string in this file is a literal or a named
 * constant), so hot paths parse no SQL. */
#define STMT_CACHE 64
struct conn {
	sqlite3 *db;
	int64_t moved[JOB__MAX];        /* jobs gained (lost when negative) per
					 * state by its open write transaction */
	size_t n;                       /* statements cached */
	const char *sql[STMT_CACHE];    /* the key: address of the SQL text */
	sqlite3_stmt *st[STMT_CACHE];
};

struct store {
	char path[4096];
	struct conn bk;         /* worker/CLI connection, guarded by mu */
	pthread_mutex_t mu;
	struct conn wr;         /* group-commit connection, writer thread only */
	pthread_mutex_t txmu;   /* held by every write transaction of bk and wr */
	sqlite3_stmt *st_dedup_get, *st_job_ins, *st_dlv_ins;
	pthread_t writer;
	int writer_started;
	int wal_fd;             /* "<path>-wal", fdatasync'ed by the syncer; -1 until open */
	pthread_t syncer;
	int syncer_started;
	pthread_mutex_t smu;    /* guards the sync queue and s_stopping */
	pthread_cond_t s_cv;    /* the syncer waits here for batches */
	struct batch *s_head, *s_tail;
	int s_stopping;
	int lock_fd;            /* flock on "<path>-lock", -1 if none */
	pthread_mutex_t qmu;    /* guards the queue and stopping */
	pthread_cond_t q_cv;    /* writer waits here for requests */
	struct put_req *q_head, *q_tail;
	int stopping;
	pthread_mutex_t wmu;    /* store_wait()/store_wake() */
	pthread_cond_t wcv;
	uint64_t wseq;
	atomic_int healthy;
	atomic_int sync_failed; /* the last fdatasync of the WAL failed */
	atomic_int fail_writes;
	atomic_uint_least64_t commits;
	_Atomic int64_t last_probe_ms; /* monotonic ms of the last failure or probe */
	int owner;              /* holds "<path>-lock": no other process runs jobs */
	pthread_mutex_t cmu;    /* guards counts and foreign_seen; taken after txmu */
	int64_t counts[JOB__MAX]; /* jobs per state as of the last COMMIT */
	int64_t foreign_seen;   /* store_meta.foreign_writes when counts were taken */
};

/* ---- small SQLite helpers ---- */

/* A bound parameter: kind 'i' (integer) or 't' (text, NULL binds NULL). */
struct arg {
	char kind;
	int64_t i;
	const char *t;
};
#define AI(v) ((struct arg){ 'i', (int64_t)(v), NULL })
#define AT(v) ((struct arg){ 't', 0, (v) })
#define NARGS(a) (sizeof(a) / sizeof((a)[0]))

int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps an SQLite result to our convention; everything but OOM is I/O. */
static int map_rc(int src)
{
	if (src == SQLITE_OK || src == SQLITE_DONE || src == SQLITE_ROW)
		return 0;
	return src == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;
}

/* Binds a[0..n) to ?1..?n; arguments past the statement's last parameter
 * are ignored so statements sharing one argument list may use a subset. */
static int bind_args(sqlite3_stmt *st, const struct arg *a, size_t n)
{
	size_t k, max = (size_t)sqlite3_bind_parameter_count(st);
	int rc = SQLITE_OK;

	if (n > max)
		n = max;
	for (k = 0; k < n && rc == SQLITE_OK; k++) {
		if (a[k].kind == 'i')
			rc = sqlite3_bind_int64(st, (int)k + 1, a[k].i);
		else if (a[k].t == NULL)
			rc = sqlite3_bind_null(st, (int)k + 1);
		else
			rc = sqlite3_bind_text(st, (int)k + 1, a[k].t, -1, SQLITE_TRANSIENT);
	}
	return rc;
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_FOREIGN_GET[] =
	"SELECT value FROM store_meta WHERE name = 'foreign_writes'";
static const char SQL_FOREIGN_BUMP[] =
	"UPDATE store_meta SET value = value + 1 WHERE name = 'foreign_writes'";

/* Finds or prepares the statement for sql on c. Returns an SQLite code;
 * *out is borrowed until stmt_done(). */
static int stmt_get(struct conn *c, const char *sql, sqlite3_stmt **out)
{
	size_t k;
	int rc;

	for (k = 0; k < c->n; k++) {
		if (c->sql[k] == sql) {
			*out = c->st[k];
			return SQLITE_OK;
		}
	}
	*out = NULL;
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc == SQLITE_OK && c->n < STMT_CACHE) {
		c->sql[c->n] = sql;
		c->st[c->n++] = *out;
	}
	return rc;
}

/* Gives back a statement from stmt_get(): a cached one is reset, which
 * also ends the read it may hold open, and unbound; any other (the cache
 * was full or it failed) is finalized. */
static void stmt_done(struct conn *c, sqlite3_stmt *st)
{
	size_t k;

	for (k = 0; k < c->n; k++) {
		if (c->st[k] == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

static void conn_close(struct conn *c)
{
	size_t k;

	for (k = 0; k < c->n; k++)
		sqlite3_finalize(c->st[k]);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Runs one statement that returns no rows; *changes gets the rows it
 * touched (may be NULL). Returns 0 or ERR_IO/ERR_NOMEM. */
static int stmt_run(struct conn *c, const char *sql, const struct arg *a, size_t n,
		    int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = bind_args(st, a, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: %s: %s", sql, sqlite3_errmsg(c->db));
		stmt_done(c, st);
		return map_rc(rc);
	}
	if (changes != NULL)
		*changes = sqlite3_changes(c->db);
	stmt_done(c, st);
	return 0;
}

/* Runs one statement of the cached kind (transaction control, pragmas). */
static int exec_sql(struct conn *c, const char *sql)
{
	return stmt_run(c, sql, NULL, 0, NULL);
}

/* Opens a write transaction on c with nothing moved yet. */
static int tx_begin(struct conn *c)
{
	memset(c->moved, 0, sizeof(c->moved));
	return exec_sql(c, SQL_BEGIN);
}

/* Notes that n jobs of the open transaction went from state from to state
 * to; NO_STATE on one side means the job came (a put) or went (a delete). */
#define NO_STATE (-1)
static void tx_moved(struct conn *c, int from, int to, int64_t n)
{
	if (from >= 0 && from < JOB__MAX)
		c->moved[from] -= n;
	if (to >= 0 && to < JOB__MAX)
		c->moved[to] += n;
}

static int tx_moves_jobs(const struct conn *c)
{
	int i;

	for (i = 0; i < JOB__MAX; i++)
		if (c->moved[i] != 0)
			return 1;
	return 0;
}

/* After a COMMIT of c: its moves become part of the counts. */
static void counts_add(struct store *s, struct conn *c)
{
	int i;

	pthread_mutex_lock(&s->cmu);
	for (i = 0; i < JOB__MAX; i++)
		s->counts[i] += c->moved[i];
	pthread_mutex_unlock(&s->cmu);
	memset(c->moved, 0, sizeof(c->moved));
}

/* Runs SQL text once, uncached (the schema script). */
static int exec_raw(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		log_msg(LOG_ERROR, "store: %s: %s", sql, sqlite3_errmsg(db));
	return map_rc(rc);
}

static void rollback(sqlite3 *db)
{
	/* Some errors (SQLITE_FULL, IOERR) already rolled the transaction
	 * back; a second ROLLBACK would only add a confusing error. */
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Commits the open transaction of c. The test hook store_fail_writes()
 * fails here, before COMMIT, exactly where a full disk would. */
static int tx_commit(struct store *s, struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (atomic_load(&s->fail_writes)) {
		log_msg(LOG_ERROR, "store: commit: writes disabled by test hook");
		rollback(c->db);
		return ERR_IO;
	}
	/* The owner cannot see this process's moves: leave it a sign in
	 * the same transaction, so it counts again (see Job counts). */
	if (!s->owner && tx_moves_jobs(c) && stmt_run(c, SQL_FOREIGN_BUMP, NULL, 0, NULL) != 0) {
		rollback(c->db);
		return ERR_IO;
	}
	rc = stmt_get(c, SQL_COMMIT, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: commit: %s (code %d)", sqlite3_errmsg(c->db),
			sqlite3_extended_errcode(c->db));
		stmt_done(c, st);
		rollback(c->db);
		return map_rc(rc);
	}
	stmt_done(c, st);
	counts_add(s, c);
	return 0;
}

/* Ends a write transaction: commits when rc is 0, else rolls back, and
 * records whether the disk took the write. Returns the final result. */
static int tx_end(struct store *s, struct conn *c, int rc)
{
	if (rc == 0) {
		int crc = tx_commit(s, c);
		if (crc != 0)
			rc = crc;
	} else {
		rollback(c->db);
	}
	if (rc == ERR_IO) {
		atomic_store(&s->healthy, 0);
		atomic_store(&s->last_probe_ms, mono_ms()); /* no probe right away */
	} else if (rc != ERR_NOMEM) {
		atomic_store(&s->healthy, 1);
	}
	return rc;
}

/* The body of a write transaction: runs its statements on c, which has
 * a transaction open. Returns 0 to commit, ERR_NOTFOUND when there is
 * nothing to write, or another error. */
typedef int (*tx_apply_fn)(struct conn *c, void *ctx);

/* The one shape of every write: runs apply in a transaction on c, with
 * txmu held from BEGIN IMMEDIATE to COMMIT or ROLLBACK. Commits when
 * apply returns 0; rolls back ERR_NOTFOUND without a verdict on the disk
 * (nothing was to be written); rolls back any other error, and ERR_IO
 * marks the store unhealthy (see tx_end()). The caller holds mu when c is
 * the bookkeeping connection. */
static int tx_run(struct store *s, struct conn *c, tx_apply_fn apply, void *ctx)
{
	int rc;

	pthread_mutex_lock(&s->txmu);
	rc = tx_begin(c);
	if (rc == 0)
		rc = apply(c, ctx);
	if (rc == ERR_NOTFOUND)
		rollback(c->db);
	else
		rc = tx_end(s, c, rc);
	pthread_mutex_unlock(&s->txmu);
	return rc;
}

/* tx_run() on the bookkeeping connection, with mu taken around it. */
static int bk_write(struct store *s, tx_apply_fn apply, void *ctx)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = tx_run(s, &s->bk, apply, ctx);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Copies column col as text into dst (cap bytes, always terminated). */
static void col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t == NULL ? 0 : strlen((const char *)t);

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

static int name_index(const char *const *names, int n, const unsigned char *t)
{
	int i;

	for (i = 0; t != NULL && i < n; i++)
		if (strcmp(names[i], (const char *)t) == 0)
			return i;
	return 0;
}

/* ---- schema ---- */

static const char schema_v1[] =
	"CREATE TABLE jobs ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" project_id TEXT NOT NULL, execution_id TEXT NOT NULL,"
	" pipeline_name TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL, status_text TEXT NOT NULL DEFAULT '',"
	" state TEXT NOT NULL CHECK (state IN"
	"  ('queued','running','delivered','dead','ignored')),"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" received_ms INTEGER NOT NULL, not_before_ms INTEGER NOT NULL,"
	" lease_until_ms INTEGER, last_error TEXT, finished_ms INTEGER);"
	"CREATE INDEX jobs_claim ON jobs (state, not_before_ms);"
	"CREATE INDEX jobs_lease ON jobs (state, lease_until_ms);"
	"CREATE INDEX jobs_finished ON jobs (state, finished_ms);"
	"CREATE TABLE deliveries ("
	" job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	" dest TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),"
	" attempts INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL,"
	" payload TEXT, last_error TEXT, updated_ms INTEGER NOT NULL,"
	" PRIMARY KEY (job_id, dest));"
	"CREATE TABLE dedup ("
	" project_id TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,"
	" seen_ms INTEGER NOT NULL,"
	" PRIMARY KEY (project_id, execution_id, status)) WITHOUT ROWID;"
	"CREATE INDEX dedup_seen ON dedup (seen_ms);"
	"PRAGMA user_version = 1;";

/* Version 2: fewer b-trees for every put and state change. The job row is
 * its own dedup key (jobs_key; jobs and keys were pruned with the same
 * window anyway), and claims of expired leases and pruning use jobs_claim:
 * few jobs are running, and a prune may scan the finished ones once a
 * minute. Keys of dead jobs purged by hand are gone, so such a run's
 * webhook is accepted again. */
static const char schema_v2[] =
	"DROP INDEX jobs_lease;"
	"DROP INDEX jobs_finished;"
	"DROP TABLE dedup;"
	"CREATE INDEX jobs_key ON jobs (project_id, execution_id, status, received_ms);"
	"PRAGMA user_version = 2;";

/* Version 3: a row that stores other than the owner bump whenever they
 * move jobs, so the owner's in-memory counts know when to count again. */
static const char schema_v3[] =
	"CREATE TABLE store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"INSERT INTO store_meta VALUES ('foreign_writes', 0);"
	"PRAGMA user_version = 3;";

/* Runs a single-value PRAGMA and copies its first row into out. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	out[0] = '\0';
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_text(st, 0, out, cap);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) /* setters return no row */
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

/* Opens one connection with the per-connection settings. Both
 * connections run with synchronous=NORMAL: the group commit makes its
 * batches durable with its own fdatasync of the WAL before it answers,
 * and the bookkeeping connection may lose its last commits to a power
 * loss (see DESIGN). */
static int conn_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	const char *const pragmas[] = {
		"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
	};
	char val[64];
	size_t i;
	int rc;

	rc = sqlite3_open_v2(path, out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "store: open %s: %s", path,
			 *out ? sqlite3_errmsg(*out) : sqlite3_errstr(rc));
		return ERR_IO;
	}
	sqlite3_extended_result_codes(*out, 1);
	sqlite3_busy_timeout(*out, BUSY_TIMEOUT_MS);
	for (i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++) {
		rc = pragma_text(*out, pragmas[i], val, sizeof(val));
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "store: open %s: %s", path, sqlite3_errmsg(*out));
			return ERR_IO;
		}
		if (i == 0 && strcmp(val, "wal") != 0) {
			snprintf(err, errlen, "store: open %s: cannot use WAL mode (got %s)", path, val);
			return ERR_IO;
		}
	}
	return 0;
}

static int check_integrity(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char res[256];
	int rc = pragma_text(db, "PRAGMA integrity_check", res, sizeof(res));

	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "store: integrity check of %s failed: %s", path,
			 sqlite3_errmsg(db));
		return ERR_IO;
	}
	if (strcmp(res, "ok") != 0) {
		char *p;
		for (p = res; *p != '\0'; p++) /* keep the message on one line */
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		snprintf(err, errlen, "store: %s is corrupt (integrity_check: %s)", path, res);
		return ERR_IO;
	}
	return 0;
}

/* Creates the schema of a new file or brings an older one up to date, in
 * one transaction; refuses a file from a newer program. */
static int schema_ensure(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char val[32];
	long v;
	int rc;

	rc = exec_raw(db, "BEGIN IMMEDIATE");
	if (rc == 0)
		rc = map_rc(pragma_text(db, "PRAGMA user_version", val, sizeof(val)));
	if (rc != 0)
		goto fail;
	v = strtol(val, NULL, 10);
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "store: %s has schema version %ld, newer than %d", path,
			 v, SCHEMA_VERSION);
		rollback(db);
		return ERR_IO;
	}
	if (v < 1)
		rc = exec_raw(db, schema_v1);
	if (rc == 0 && v < 2)
		rc = exec_raw(db, schema_v2);
	if (rc == 0 && v < 3)
		rc = exec_raw(db, schema_v3);
	if (rc == 0)
		rc = map_rc(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
	if (rc == 0)
		return 0;
fail:
	snprintf(err, errlen, "store: schema of %s: %s", path, sqlite3_errmsg(db));
	rollback(db);
	return ERR_IO;
}

/* Takes the process lock "<path>-lock" (flock, held until store_close).
 * Returns 1 when this process is the only live user of the file. */
static int owner_lock(struct store *s)
{
	char lp[sizeof(s->path) + 8];

	if (snprintf(lp, sizeof(lp), "%s-lock", s->path) >= (int)sizeof(lp))
		return 0;
	s->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lock_fd < 0)
		return 0;
	return flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
}

/* Jobs left running belong to threads of a process that is gone, unless
 * another process (a running service while the CLI opens the file) still
 * holds the lock: then their leases are live and only expiry frees them. */
static int recover_running(struct store *s, char *err, size_t errlen)
{
	int n = 0;
	int rc;

	s->owner = owner_lock(s);
	if (!s->owner) {
		log_msg(LOG_INFO, "store: %s is held by another open store; running jobs"
				  " left to their leases", s->path);
		return 0;
	}
	rc = stmt_run(&s->bk, "UPDATE jobs SET state = 'queued', lease_until_ms = NULL"
			      " WHERE state = 'running'", NULL, 0, &n);
	if (rc != 0) {
		snprintf(err, errlen, "store: recover %s: %s", s->path, sqlite3_errmsg(s->bk.db));
		return rc;
	}
	if (n > 0)
		log_msg(LOG_INFO, "store: recover: %d running job(s) queued again", n);
	return 0;
}

/* Reads store_meta.foreign_writes into *out (outside or inside a
 * transaction). */
static int foreign_get(struct conn *c, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = stmt_get(c, SQL_FOREIGN_GET, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: counts: %s", sqlite3_errmsg(c->db));
	stmt_done(c, st);
	return map_rc(rc);
}

/* Counts the jobs of each state into *counts, with the foreign_writes
 * value of the same snapshot. With mu and txmu held: no write of this
 * process can commit meanwhile, so nothing is counted twice or missed. */
static int counts_seed(struct store *s)
{
	int64_t n[JOB__MAX] = { 0 }, seen = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = exec_sql(&s->bk, "BEGIN");
	if (rc != 0)
		return rc;
	rc = foreign_get(&s->bk, &seen) == 0 ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = stmt_get(&s->bk, "SELECT state, count(*) FROM jobs GROUP BY state", &st);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = name_index(job_state_names, JOB__MAX, sqlite3_column_text(st, 0));
		n[i] = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: counts: %s", sqlite3_errmsg(s->bk.db));
	stmt_done(&s->bk, st);
	rollback(s->bk.db); /* a read: nothing to commit */
	if (rc != SQLITE_DONE)
		return map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
	pthread_mutex_lock(&s->cmu);
	memcpy(s->counts, n, sizeof(n));
	s->foreign_seen = seen;
	pthread_mutex_unlock(&s->cmu);
	return 0;
}

static int writer_prepare(struct store *s, char *err, size_t errlen)
{
	static const char *const sql[3] = {
		"SELECT received_ms FROM jobs WHERE project_id = ?1 AND execution_id = ?2"
		" AND status = ?3 ORDER BY received_ms DESC LIMIT 1",
		"INSERT INTO jobs (project_id, execution_id, pipeline_name, environment,"
		" status, status_text, state, attempts, received_ms, not_before_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', 0, ?7, ?7)",
		"INSERT OR IGNORE INTO deliveries (job_id, dest, state, attempts,"
		" not_before_ms, updated_ms) VALUES (?1, ?2, 'pending', 0, ?3, ?3)",
	};
	sqlite3_stmt **st[3] = { &s->st_dedup_get, &s->st_job_ins, &s->st_dlv_ins };
	int i;

	/* Its inserts write only the literal states 'queued' and 'pending':
	 * checking them against the CHECK lists costs a temporary b-tree per
	 * row, a sixth of the writer's time. */
	if (sqlite3_exec(s->wr.db, "PRAGMA ignore_check_constraints = ON", NULL, NULL,
			 NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store: %s", sqlite3_errmsg(s->wr.db));
		return ERR_IO;
	}
	for (i = 0; i < 3; i++) {
		if (sqlite3_prepare_v3(s->wr.db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, st[i],
				       NULL) != SQLITE_OK) {
			snprintf(err, errlen, "store: prepare: %s", sqlite3_errmsg(s->wr.db));
			return ERR_IO;
		}
	}
	return 0;
}

/* ---- group commit ---- */

/* Steps a prepared writer statement once and resets it. */
static int wstep(sqlite3_stmt *st, const struct arg *a, size_t n, int64_t *row_val)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	rc = bind_args(st, a, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && row_val != NULL)
		*row_val = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* A failure that concerns only this request, not the disk. */
static int request_error(int src)
{
	int prim = src & 0xff;

	return prim == SQLITE_CONSTRAINT || prim == SQLITE_TOOBIG || prim == SQLITE_MISMATCH ||
	       prim == SQLITE_RANGE;
}

/* The inserts of one put, inside the batch's open transaction. Returns an
 * SQLite code; *dup is set when the key was seen within the window. */
static int put_rows(struct store *s, struct put_req *r, int64_t now, int *dup)
{
	const struct webhook_event *ev = r->ev;
	const char *stname = status_names[ev->status < ST__MAX ? ev->status : ST_UNKNOWN];
	struct arg key[3] = { AT(ev->project_id), AT(ev->execution_id), AT(stname) };
	struct arg job[7] = { AT(ev->project_id),    AT(ev->execution_id), AT(ev->pipeline_name),
			      AT(ev->environment),   AT(stname),           AT(ev->status_text),
			      AI(now) };
	int64_t seen = INT64_MIN;
	size_t k;
	int rc;

	rc = wstep(s->st_dedup_get, key, 3, &seen);
	if (rc == SQLITE_ROW && now - seen < r->window_ms) {
		*dup = 1;
		return SQLITE_DONE;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	rc = wstep(s->st_job_ins, job, 7, NULL);
	r->job_id = sqlite3_last_insert_rowid(s->wr.db);
	for (k = 0; k < r->n_dests && rc == SQLITE_DONE; k++) {
		struct arg d[3] = { AI(r->job_id), AT(r->dests[k]), AI(now) };
		rc = wstep(s->st_dlv_ins, d, 3, NULL);
	}
	return rc;
}

/* Each request of a batch runs in its own savepoint, prepared once. */
static const char SQL_SAVEPOINT[] = "SAVEPOINT put";
static const char SQL_RELEASE[] = "RELEASE put";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO put";

/* Runs one request in a savepoint. Returns its result; ERR_IO means the
 * whole batch must be abandoned. */
static int put_one(struct store *s, struct put_req *r, int64_t now)
{
	int dup = 0;
	int rc;

	if (exec_sql(&s->wr, SQL_SAVEPOINT) != 0)
		return ERR_IO;
	rc = put_rows(s, r, now, &dup);
	if (rc == SQLITE_DONE) {
		if (exec_sql(&s->wr, SQL_RELEASE) != 0)
			return ERR_IO;
		return dup ? ERR_DUPLICATE : 0;
	}
	log_msg(LOG_ERROR, "store: put execution %s: %s", r->ev->execution_id,
		sqlite3_errmsg(s->wr.db));
	if (!request_error(rc) || sqlite3_get_autocommit(s->wr.db))
		return map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
	if (exec_sql(&s->wr, SQL_ROLLBACK_TO) != 0 || exec_sql(&s->wr, SQL_RELEASE) != 0)
		return ERR_IO;
	return ERR_INVALID;
}

/* The fast way through a batch: every request's rows straight into the
 * open transaction, no savepoints. Returns 0 when all went in (each r->rc
 * is 0 or ERR_DUPLICATE), ERR_INVALID when one request's own rows failed
 * (the caller rolls back and takes the careful way), or ERR_IO/ERR_NOMEM. */
static int batch_plain(struct store *s, struct put_req *batch, int64_t now)
{
	struct put_req *r;
	int dup, rc;

	for (r = batch; r != NULL; r = r->next) {
		dup = 0;
		rc = put_rows(s, r, now, &dup);
		if (rc != SQLITE_DONE) {
			if (request_error(rc) && !sqlite3_get_autocommit(s->wr.db))
				return ERR_INVALID;
			return map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
		}
		r->rc = dup ? ERR_DUPLICATE : 0;
		tx_moved(&s->wr, NO_STATE, JOB_QUEUED, !dup);
	}
	return 0;
}

/* The careful way: each request in its own savepoint, so one whose rows
 * fail is answered ERR_INVALID and the others still commit. */
static int batch_savepoints(struct store *s, struct put_req *batch, int64_t now)
{
	struct put_req *r;

	for (r = batch; r != NULL; r = r->next) {
		r->rc = put_one(s, r, now);
		if (r->rc == ERR_IO || r->rc == ERR_NOMEM)
			return r->rc;
		tx_moved(&s->wr, NO_STATE, JOB_QUEUED, r->rc == 0);
	}
	return 0;
}

/* A batch on its way through tx_run(). */
struct batch_run {
	struct store *s;
	struct put_req *reqs;
	int64_t now;
};

/* A savepoint per request costs about a third of the writer's time, and a
 * request whose rows fail is rare (put_valid() screens them), so a batch
 * first runs without savepoints; only if one request fails is it rolled
 * back and run again the careful way, in a new transaction. */
static int batch_apply(struct conn *c, void *ctx)
{
	struct batch_run *b = ctx;
	int rc;

	rc = batch_plain(b->s, b->reqs, b->now);
	if (rc == ERR_INVALID) {
		rollback(c->db);
		rc = tx_begin(c); /* forgets the plain run's moves */
		if (rc == 0)
			rc = batch_savepoints(b->s, b->reqs, b->now);
	}
	return rc;
}

/* Runs and commits one batch; on return every request has its rc.
 * Returns 0 if the batch committed. */
static int batch_commit(struct store *s, struct put_req *batch)
{
	struct batch_run b = { s, batch, store_now_ms() };
	struct put_req *r;
	int rc;

	rc = tx_run(s, &s->wr, batch_apply, &b);
	if (rc != 0)
		for (r = batch; r != NULL; r = r->next)
			r->rc = rc;
	return rc;
}

/* With qmu held: detaches at most GC_MAX_BATCH requests from the queue.
 * There is no batching window: what arrived while the previous batch was
 * being written is the next batch, so a quiet service commits at once and
 * a busy one gathers as many requests as one commit takes time. */
static struct put_req *batch_take(struct store *s)
{
	struct put_req *head = s->q_head, *last = head;
	size_t n = 1;

	for (; n < GC_MAX_BATCH && last->next != NULL; n++)
		last = last->next;
	s->q_head = last->next;
	if (s->q_head == NULL)
		s->q_tail = NULL;
	last->next = NULL;
	return head;
}

static void sync_enqueue(struct store *s, struct batch *b)
{
	pthread_mutex_lock(&s->smu);
	if (s->s_tail != NULL)
		s->s_tail->next = b;
	else
		s->s_head = b;
	s->s_tail = b;
	pthread_cond_signal(&s->s_cv);
	pthread_mutex_unlock(&s->smu);
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct put_req *reqs, *next;
	struct batch *b;

	pthread_mutex_lock(&s->qmu);
	for (;;) {
		while (s->q_head == NULL && !s->stopping)
			pthread_cond_wait(&s->q_cv, &s->qmu);
		if (s->q_head == NULL)
			break;
		reqs = batch_take(s);
		pthread_mutex_unlock(&s->qmu);
		b = calloc(1, sizeof(*b));
		if (b == NULL) { /* nothing written: answer them at once */
			for (; reqs != NULL; reqs = next) {
				next = reqs->next;
				reqs->done(reqs->ctx, ERR_NOMEM, 0);
				free(reqs);
			}
			pthread_mutex_lock(&s->qmu);
			continue;
		}
		b->reqs = reqs;
		b->t0_ms = mono_ms();
		b->committed = batch_commit(s, reqs) == 0;
		sync_enqueue(s, b);
		pthread_mutex_lock(&s->qmu);
	}
	pthread_mutex_unlock(&s->qmu);
	return NULL;
}

/* Makes everything the writer committed so far durable: one fdatasync of
 * the WAL covers every batch committed before it started. */
static int sync_wal(struct store *s)
{
	if (fdatasync(s->wal_fd) == 0) {
		atomic_store(&s->sync_failed, 0);
		return 0;
	}
	log_msg(LOG_ERROR, "store: fdatasync %s-wal: %s", s->path, strerror(errno));
	atomic_store(&s->sync_failed, 1);
	atomic_store(&s->healthy, 0);
	atomic_store(&s->last_probe_ms, mono_ms());
	return ERR_IO;
}

/* Answers the requests of the batches in list, each with its result or
 * with rc when the sync failed, and frees them. */
static void batches_done(struct store *s, struct batch *list, int rc)
{
	struct batch *b, *bn;
	struct put_req *r, *rn;
	int fresh = 0;

	for (b = list; b != NULL; b = bn) {
		bn = b->next;
		if (b->committed && rc == 0) {
			atomic_fetch_add(&s->commits, 1);
			metrics_observe(MH_STORE_COMMIT,
					(double)(mono_ms() - b->t0_ms) / 1000.0);
		}
		for (r = b->reqs; r != NULL; r = rn) {
			rn = r->next;
			if (b->committed && rc != 0)
				r->rc = rc;
			fresh += r->rc == 0;
			r->done(r->ctx, r->rc, r->job_id);
			free(r);
		}
		free(b);
	}
	if (fresh > 0)
		store_wake(s);
}

/* The syncer: takes every batch the writer has committed, fdatasyncs the
 * WAL once for all of them, then calls their requests back. While it
 * waits for the disk the writer already fills the next transaction, so
 * the fsync is off the writer's path. */
static void *syncer_main(void *arg)
{
	struct store *s = arg;
	struct batch *list, *b;
	int rc, any;

	pthread_mutex_lock(&s->smu);
	for (;;) {
		while (s->s_head == NULL && !s->s_stopping)
			pthread_cond_wait(&s->s_cv, &s->smu);
		if (s->s_head == NULL)
			break;
		list = s->s_head;
		s->s_head = s->s_tail = NULL;
		pthread_mutex_unlock(&s->smu);
		for (any = 0, b = list; b != NULL; b = b->next)
			any |= b->committed;
		rc = any ? sync_wal(s) : 0;
		batches_done(s, list, rc);
		pthread_mutex_lock(&s->smu);
	}
	pthread_mutex_unlock(&s->smu);
	return NULL;
}

static int put_valid(const struct webhook_event *ev, char *const *dests, size_t n_dests)
{
	size_t k, len;

	if (ev == NULL || (n_dests > 0 && dests == NULL))
		return 0;
	if (strnlen(ev->project_id, WEBHOOK_ID_MAX) == WEBHOOK_ID_MAX ||
	    strnlen(ev->execution_id, WEBHOOK_ID_MAX) == WEBHOOK_ID_MAX ||
	    strnlen(ev->pipeline_name, WEBHOOK_TEXT_MAX) == WEBHOOK_TEXT_MAX ||
	    strnlen(ev->environment, WEBHOOK_TEXT_MAX) == WEBHOOK_TEXT_MAX ||
	    strnlen(ev->status_text, sizeof(ev->status_text)) == sizeof(ev->status_text))
		return 0;
	for (k = 0; k < n_dests; k++) {
		if (dests[k] == NULL)
			return 0;
		len = strnlen(dests[k], DEST_MAX);
		if (len == 0 || len == DEST_MAX)
			return 0;
	}
	return 1;
}

/* ---- lifetime ---- */

static int sync_init(struct store *s)
{
	pthread_condattr_t ca;
	int rc;

	if (pthread_condattr_init(&ca) != 0)
		return ERR_NOMEM;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_cond_init(&s->q_cv, &ca);
	if (rc == 0)
		rc = pthread_cond_init(&s->wcv, &ca);
	if (rc == 0)
		rc = pthread_cond_init(&s->s_cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->txmu, NULL);
	pthread_mutex_init(&s->qmu, NULL);
	pthread_mutex_init(&s->wmu, NULL);
	pthread_mutex_init(&s->smu, NULL);
	pthread_mutex_init(&s->cmu, NULL);
	return rc == 0 ? 0 : ERR_NOMEM;
}

/* Opens the WAL file for the syncer. Both connections are open, so the
 * file exists and stays the same file until store_close(): SQLite deletes
 * or replaces a WAL only when the last connection to the database closes. */
static int wal_open(struct store *s, char *err, size_t errlen)
{
	char wal[sizeof(s->path) + 8];

	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	s->wal_fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0) {
		snprintf(err, errlen, "store: open %s: %s", wal, strerror(errno));
		return ERR_IO;
	}
	return 0;
}

static int open_all(struct store *s, char *err, size_t errlen)
{
	int rc;

	rc = conn_open(s->path, &s->bk.db, err, errlen);
	if (rc == 0)
		rc = check_integrity(s->bk.db, s->path, err, errlen);
	if (rc == 0)
		rc = schema_ensure(s->bk.db, s->path, err, errlen);
	if (rc == 0)
		rc = recover_running(s, err, errlen);
	if (rc == 0 && counts_seed(s) != 0) {
		snprintf(err, errlen, "store: count jobs of %s: %s", s->path, sqlite3_errmsg(s->bk.db));
		rc = ERR_IO;
	}
	if (rc == 0)
		rc = conn_open(s->path, &s->wr.db, err, errlen);
	if (rc == 0)
		rc = wal_open(s, err, errlen);
	if (rc == 0)
		rc = writer_prepare(s, err, errlen);
	if (rc == 0 && pthread_create(&s->syncer, NULL, syncer_main, s) != 0)
		rc = ERR_NOMEM;
	if (rc == 0)
		s->syncer_started = 1;
	if (rc == 0 && pthread_create(&s->writer, NULL, writer_main, s) != 0)
		rc = ERR_NOMEM;
	if (rc == 0)
		s->writer_started = 1;
	if (rc == ERR_NOMEM)
		snprintf(err, errlen, "store: cannot start the writer threads");
	return rc;
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	struct store *s = NULL;
	size_t len;

	if (errlen > 0)
		err[0] = '\0';
	if (path == NULL || (len = strlen(path)) == 0 || len >= sizeof(s->path)) {
		snprintf(err, errlen, "store: invalid database path");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || sync_init(s) != 0) {
		snprintf(err, errlen, "store: out of memory");
		free(s);
		return NULL;
	}
	memcpy(s->path, path, len + 1);
	s->lock_fd = -1;
	s->wal_fd = -1;
	atomic_init(&s->healthy, 1);
	atomic_init(&s->fail_writes, 0);
	atomic_init(&s->commits, 0);
	atomic_init(&s->last_probe_ms, 0);
	if (open_all(s, err, errlen) != 0) {
		store_close(s);
		return NULL;
	}
	return s;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->writer_started) {
		pthread_mutex_lock(&s->qmu);
		s->stopping = 1;
		pthread_cond_broadcast(&s->q_cv);
		pthread_mutex_unlock(&s->qmu);
		pthread_join(s->writer, NULL);
	}
	if (s->syncer_started) { /* after the writer: it queues to the syncer */
		pthread_mutex_lock(&s->smu);
		s->s_stopping = 1;
		pthread_cond_broadcast(&s->s_cv);
		pthread_mutex_unlock(&s->smu);
		pthread_join(s->syncer, NULL);
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	sqlite3_finalize(s->st_dedup_get);
	sqlite3_finalize(s->st_job_ins);
	sqlite3_finalize(s->st_dlv_ins);
	conn_close(&s->wr);
	conn_close(&s->bk);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->txmu);
	pthread_mutex_destroy(&s->qmu);
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->q_cv);
	pthread_cond_destroy(&s->wcv);
	pthread_mutex_destroy(&s->smu);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->s_cv);
	free(s);
}

/* ---- waiting for work ---- */

void store_wait(struct store *s, int64_t max_ms)
{
	struct timespec ts;
	uint64_t seq;

	if (max_ms <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(max_ms / 1000);
	ts.tv_nsec += (long)(max_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->wmu);
	seq = s->wseq;
	while (s->wseq == seq)
		if (pthread_cond_timedwait(&s->wcv, &s->wmu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->wmu);
}

void store_wake(struct store *s)
{
	pthread_mutex_lock(&s->wmu);
	s->wseq++;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
}

/* ---- jobs: claim and outcomes ---- */

#define JOB_COLS                                                                   \
	"id, project_id, execution_id, pipeline_name, environment, status,"       \
	" status_text, state, attempts, received_ms, not_before_ms, last_error"

static void job_from_row(sqlite3_stmt *st, struct job *j)
{
	char stname[32];

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	col_text(st, 1, j->ev.project_id, sizeof(j->ev.project_id));
	col_text(st, 2, j->ev.execution_id, sizeof(j->ev.execution_id));
	col_text(st, 3, j->ev.pipeline_name, sizeof(j->ev.pipeline_name));
	col_text(st, 4, j->ev.environment, sizeof(j->ev.environment));
	col_text(st, 5, stname, sizeof(stname));
	j->ev.status = status_parse(stname);
	col_text(st, 6, j->ev.status_text, sizeof(j->ev.status_text));
	j->state = (enum job_state)name_index(job_state_names, JOB__MAX,
					      sqlite3_column_text(st, 7));
	j->attempts = sqlite3_column_int(st, 8);
	j->received_ms = sqlite3_column_int64(st, 9);
	j->not_before_ms = sqlite3_column_int64(st, 10);
	col_text(st, 11, j->last_error, sizeof(j->last_error));
}

/* The two kinds of ready job, each found through an index so a claim
 * reads a few index entries rather than the whole backlog (an OR of both
 * with ORDER BY id made SQLite scan and sort every queued job). Queued
 * jobs come from jobs_claim (state, not_before_ms), whose entries are in
 * (not_before_ms, id) order already; expired leases from the same index
 * by state alone: running jobs are few (at most one per worker). */
static const char SQL_PICK_QUEUED[] =
	"SELECT " JOB_COLS " FROM jobs WHERE state = 'queued' AND not_before_ms <= ?1"
	" ORDER BY not_before_ms, id LIMIT 1";
static const char SQL_PICK_EXPIRED[] =
	"SELECT " JOB_COLS " FROM jobs WHERE state = 'running' AND lease_until_ms <= ?1"
	" ORDER BY not_before_ms, id LIMIT 1";
static const char SQL_CLAIM[] =
	"UPDATE jobs SET state = 'running', lease_until_ms = ?2, attempts = attempts + 1"
	" WHERE id = ?1";

/* Runs one pick query into *out; ERR_NOTFOUND when it has no row. */
static int pick_one(struct conn *c, const char *sql, int64_t now_ms, struct job *out)
{
	sqlite3_stmt *st = NULL;
	struct arg a[1] = { AI(now_ms) };
	int rc;

	rc = stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = bind_args(st, a, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		job_from_row(st, out);
	else if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: claim: %s", sqlite3_errmsg(c->db));
	stmt_done(c, st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return rc == SQLITE_ROW ? 0 : map_rc(rc);
}

/* Selects the ready job that has waited longest into *out: of the first
 * queued and the first expired job, the one with the earlier not_before,
 * then the lower id. ERR_NOTFOUND when none is ready. */
static int claim_pick(struct conn *c, int64_t now_ms, struct job *out)
{
	struct job exp;
	int rq, re;

	rq = pick_one(c, SQL_PICK_QUEUED, now_ms, out);
	if (rq != 0 && rq != ERR_NOTFOUND)
		return rq;
	re = pick_one(c, SQL_PICK_EXPIRED, now_ms, &exp);
	if (re == ERR_NOTFOUND)
		return rq;
	if (re != 0)
		return re;
	if (rq == ERR_NOTFOUND || exp.not_before_ms < out->not_before_ms ||
	    (exp.not_before_ms == out->not_before_ms && exp.id < out->id))
		*out = exp;
	return 0;
}

/* A claim on its way through tx_run(). */
struct claim_run {
	int64_t now_ms, lease_ms;
	struct job *out;
};

/* Picks again inside the write transaction (the file may have changed
 * since the look without it) and takes the lease. */
static int claim_apply(struct conn *c, void *ctx)
{
	struct claim_run *cr = ctx;
	struct arg a[2];
	int rc;

	rc = claim_pick(c, cr->now_ms, cr->out);
	if (rc != 0)
		return rc;
	a[0] = AI(cr->out->id);
	a[1] = AI(cr->now_ms + cr->lease_ms);
	rc = stmt_run(c, SQL_CLAIM, a, 2, NULL);
	if (rc == 0) /* an expired lease stays running */
		tx_moved(c, (int)cr->out->state, JOB_RUNNING, 1);
	return rc;
}

int store_claim(struct store *s, int64_t now_ms, int64_t lease_ms, struct job *out)
{
	int rc;

	if (s == NULL || out == NULL || lease_ms < 0)
		return ERR_INVALID;
	pthread_mutex_lock(&s->mu);
	/* Most claims of an idle or backed-off queue find nothing: look first
	 * without the write lock, which the group commit may hold through an
	 * fsync, and take it only when there is something to claim. */
	rc = claim_pick(&s->bk, now_ms, out);
	if (rc == 0) {
		struct claim_run cr = { now_ms, lease_ms, out };
		rc = tx_run(s, &s->bk, claim_apply, &cr);
	}
	pthread_mutex_unlock(&s->mu);
	if (rc == 0) {
		out->state = JOB_RUNNING;
		out->attempts++;
	}
	return rc;
}

/* The state job_id is in, read inside the open transaction. Returns 0,
 * ERR_NOTFOUND when there is no such job, or ERR_IO. */
static int job_state_get(struct conn *c, int64_t job_id, int *state)
{
	sqlite3_stmt *st = NULL;
	struct arg a[1] = { AI(job_id) };
	int rc;

	rc = stmt_get(c, "SELECT state FROM jobs WHERE id = ?1", &st);
	if (rc == SQLITE_OK)
		rc = bind_args(st, a, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*state = name_index(job_state_names, JOB__MAX, sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: state of job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
	stmt_done(c, st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return rc == SQLITE_ROW ? 0 : map_rc(rc);
}

/* One statement of a write transaction. Every row it touches is a job
 * moved from state from to state to (NO_STATE: the job came or went, or
 * the statement touches deliveries, when both are NO_STATE); ROW_STATE
 * takes from as the state job ?1 had just before the statement. */
#define ROW_STATE (-2)
struct step {
	const char *sql;
	int from, to;
	int counted;    /* its rows are the caller's count (and must_touch's) */
};

/* Runs one step inside the open transaction; adds its rows to *counted
 * when it counts. */
static int step_run(struct conn *c, const struct step *sp, const struct arg *a, size_t n,
		    int *counted)
{
	int from = sp->from, ch = 0, rc;

	if (from == ROW_STATE && job_state_get(c, a[0].i, &from) != 0)
		from = NO_STATE; /* no such job: the statement touches nothing */
	rc = stmt_run(c, sp->sql, a, n, &ch);
	if (rc != 0)
		return rc;
	if (sp->from != NO_STATE || sp->to != NO_STATE)
		tx_moved(c, from, sp->to, ch);
	if (sp->counted)
		*counted += ch;
	return 0;
}

/* Steps on their way through tx_run(). */
struct steps_run {
	const struct step *steps;
	size_t n_steps;
	const struct arg *a;
	size_t n;
	int must_touch;
	int counted;    /* rows touched by the counted steps */
};

static int steps_apply(struct conn *c, void *ctx)
{
	struct steps_run *sr = ctx;
	size_t k;
	int rc = 0;

	sr->counted = 0;
	for (k = 0; k < sr->n_steps && rc == 0; k++)
		rc = step_run(c, &sr->steps[k], sr->a, sr->n, &sr->counted);
	if (rc == 0 && sr->counted == 0 && sr->must_touch)
		rc = ERR_NOTFOUND;
	return rc;
}

/* Runs steps (all with the same arguments) in one write transaction;
 * *changes gets the rows touched by the counted steps. When must_touch is
 * set and they touched nothing, nothing is written and the result is
 * ERR_NOTFOUND. */
static int write_tx(struct store *s, const struct step *steps, size_t n_steps,
		    const struct arg *a, size_t n, int must_touch, int *changes)
{
	struct steps_run sr = { steps, n_steps, a, n, must_touch, 0 };
	int rc;

	rc = bk_write(s, steps_apply, &sr);
	if (changes != NULL)
		*changes = rc == 0 ? sr.counted : 0;
	return rc;
}

/* One statement on one job (?1) that must exist, moving it to state to. */
static int write_one(struct store *s, const char *sql, int to, const struct arg *a, size_t n)
{
	const struct step st[1] = { { sql, ROW_STATE, to, 1 } };

	if (s == NULL)
		return ERR_INVALID;
	return write_tx(s, st, 1, a, n, 1, NULL);
}

int store_job_retry(struct store *s, int64_t job_id, int64_t not_before_ms, const char *error)
{
	struct arg a[3] = { AI(job_id), AI(not_before_ms), AT(error) };

	return write_one(s, "UPDATE jobs SET state = 'queued', not_before_ms = ?2,"
			    " last_error = ?3, lease_until_ms = NULL WHERE id = ?1",
			 JOB_QUEUED, a, 3);
}

int store_job_release(struct store *s, int64_t job_id)
{
	struct arg a[1] = { AI(job_id) };

	return write_one(s, "UPDATE jobs SET state = 'queued', lease_until_ms = NULL,"
			    " attempts = max(attempts - 1, 0)"
			    " WHERE id = ?1 AND state = 'running'", JOB_QUEUED, a, 1);
}

int store_job_end(struct store *s, int64_t job_id, enum job_state st, const char *reason)
{
	/* There is no "ignored" delivery state: a delivery that will never
	 * be attempted is dead either way, with the reason as its error. */
	const struct step steps[2] = {
		{ "UPDATE jobs SET state = ?2, last_error = ?3, finished_ms = ?4,"
		  " lease_until_ms = NULL WHERE id = ?1", ROW_STATE, (int)st, 1 },
		{ "UPDATE deliveries SET state = 'dead', last_error = ?3, updated_ms = ?4"
		  " WHERE job_id = ?1 AND state = 'pending'", NO_STATE, NO_STATE, 0 },
	};
	struct arg a[4];

	if (s == NULL || (st != JOB_DEAD && st != JOB_IGNORED))
		return ERR_INVALID;
	a[0] = AI(job_id);
	a[1] = AT(job_state_names[st]);
	a[2] = AT(reason);
	a[3] = AI(store_now_ms());
	return write_tx(s, steps, 2, a, 4, 1, NULL);
}

/* Counts job_id's deliveries by state; *min_nb gets the earliest pending
 * not_before. */
static int dlv_tally(struct conn *c, int64_t job_id, int64_t cnt[DLV__MAX], int64_t *min_nb)
{
	sqlite3_stmt *st = NULL;
	struct arg a[1] = { AI(job_id) };
	int rc;

	memset(cnt, 0, sizeof(int64_t) * DLV__MAX);
	*min_nb = 0;
	rc = stmt_get(c, "SELECT state, count(*), min(not_before_ms) FROM deliveries"
			 " WHERE job_id = ?1 GROUP BY state", &st);
	if (rc == SQLITE_OK)
		rc = bind_args(st, a, 1);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = name_index(dlv_state_names, DLV__MAX, sqlite3_column_text(st, 0));
		cnt[i] = sqlite3_column_int64(st, 1);
		if (i == DLV_PENDING)
			*min_nb = sqlite3_column_int64(st, 2);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: settle job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
	stmt_done(c, st);
	return map_rc(rc);
}

/* Decides the job's next state from its deliveries and writes it. */
static int settle_apply(struct conn *c, int64_t job_id)
{
	int64_t cnt[DLV__MAX], min_nb, now = store_now_ms();
	enum job_state next;
	struct arg a[4];
	int ch = 0, prev = NO_STATE, rc;

	rc = job_state_get(c, job_id, &prev);
	if (rc == 0)
		rc = dlv_tally(c, job_id, cnt, &min_nb);
	if (rc != 0)
		return rc;
	if (cnt[DLV_PENDING] > 0)
		next = JOB_QUEUED;
	else if (cnt[DLV_DELIVERED] > 0)
		next = JOB_DELIVERED;
	else if (cnt[DLV_DEAD] > 0)
		next = JOB_DEAD;
	else
		next = JOB_IGNORED; /* nothing to deliver, nothing failed */
	a[0] = AI(job_id);
	a[1] = AT(job_state_names[next]);
	a[2] = AI(next == JOB_QUEUED ? min_nb : now);
	a[3] = AI(now);
	/* A finished job names its dead destinations and why, so `jobs` and
	 * `dead list` show the reason without a look into the log. */
	rc = stmt_run(c, next == JOB_QUEUED
		? "UPDATE jobs SET state = ?2, not_before_ms = ?3, lease_until_ms = NULL"
		  " WHERE id = ?1"
		: "UPDATE jobs SET state = ?2, finished_ms = ?4, lease_until_ms = NULL,"
		  " last_error = coalesce((SELECT substr(group_concat(dest || ': ' ||"
		  " coalesce(last_error, 'failed'), '; '), 1, 255) FROM deliveries"
		  " WHERE job_id = ?1 AND state = 'dead'), last_error)"
		  " WHERE id = ?1", a, 4, &ch);
	if (rc == 0 && ch == 0)
		rc = ERR_NOTFOUND;
	if (rc == 0)
		tx_moved(c, prev, (int)next, ch);
	return rc;
}

static int settle_run(struct conn *c, void *ctx)
{
	return settle_apply(c, *(const int64_t *)ctx);
}

int store_job_settle(struct store *s, int64_t job_id)
{
	if (s == NULL)
		return ERR_INVALID;
	return bk_write(s, settle_run, &job_id);
}

/* ---- deliveries ---- */

static int dlv_grow(struct delivery **d, size_t *cap, size_t n)
{
	struct delivery *nd;
	size_t ncap;

	if (n < *cap)
		return 0;
	if (*cap >= MAX_DELIVERIES)
		return ERR_LIMIT;
	ncap = *cap == 0 ? 8 : *cap * 2;
	nd = realloc(*d, ncap * sizeof(**d));
	if (nd == NULL)
		return ERR_NOMEM;
	*d = nd;
	*cap = ncap;
	return 0;
}

static int dlv_from_row(sqlite3_stmt *st, struct delivery *d)
{
	const unsigned char *p;

	memset(d, 0, sizeof(*d));
	d->job_id = sqlite3_column_int64(st, 0);
	col_text(st, 1, d->dest, sizeof(d->dest));
	d->state = (enum dlv_state)name_index(dlv_state_names, DLV__MAX,
					      sqlite3_column_text(st, 2));
	d->attempts = sqlite3_column_int(st, 3);
	d->not_before_ms = sqlite3_column_int64(st, 4);
	col_text(st, 6, d->last_error, sizeof(d->last_error));
	p = sqlite3_column_text(st, 5);
	if (p != NULL) {
		d->payload = strdup((const char *)p);
		if (d->payload == NULL)
			return ERR_NOMEM;
	}
	return 0;
}

static int dlv_read(struct conn *c, int64_t job_id, struct delivery **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	struct arg a[1] = { AI(job_id) };
	size_t cap = 0;
	int rc, err = 0;

	rc = stmt_get(c, "SELECT job_id, dest, state, attempts, not_before_ms,"
			 " payload, last_error FROM deliveries WHERE job_id = ?1"
			 " AND state = 'pending' ORDER BY dest", &st);
	if (rc == SQLITE_OK)
		rc = bind_args(st, a, 1);
	while (rc == SQLITE_OK && err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = dlv_grow(out, &cap, *n);
		if (err == 0)
			err = dlv_from_row(st, &(*out)[(*n)++]);
		rc = SQLITE_OK;
	}
	if (err == 0 && rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: deliveries of job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
		err = map_rc(rc);
	}
	stmt_done(c, st);
	return err;
}

int store_deliveries(struct store *s, int64_t job_id, struct delivery **out, size_t *n)
{
	int rc;

	if (s == NULL || out == NULL || n == NULL)
		return ERR_INVALID;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&s->mu);
	rc = dlv_read(&s->bk, job_id, out, n);
	pthread_mutex_unlock(&s->mu);
	if (rc != 0) {
		store_deliveries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void store_deliveries_free(struct delivery *d, size_t n)
{
	size_t k;

	for (k = 0; d != NULL && k < n; k++)
		free(d[k].payload);
	free(d);
}

/* One outcome per delivery state. Arguments: ?1 job, ?2 dest, ?3 now,
 * ?4 not_before, ?5 error, ?6 payload (NULL keeps the stored one). */
static const char *const SQL_DLV_RECORD[DLV__MAX] = {
	[DLV_PENDING] = "UPDATE deliveries SET attempts = attempts + ?7, not_before_ms = ?4,"
			" last_error = ?5, payload = coalesce(?6, payload), updated_ms = ?3"
			" WHERE job_id = ?1 AND dest = ?2 AND state = 'pending'",
	[DLV_DELIVERED] = "UPDATE deliveries SET state = 'delivered', attempts = attempts + ?7,"
			  " last_error = NULL, updated_ms = ?3 WHERE job_id = ?1 AND dest = ?2",
	[DLV_DEAD] = "UPDATE deliveries SET state = 'dead', attempts = attempts + ?7,"
		     " last_error = ?5, payload = coalesce(?6, payload), updated_ms = ?3"
		     " WHERE job_id = ?1 AND dest = ?2 AND state = 'pending'",
};

/* One outcome on its way through tx_run(). */
struct record_run {
	int64_t job_id;
	const char *dest;
	const struct dlv_outcome *o;
	int settle;
};

/* Writes outcome o of job_id's delivery to dest, then settles the job
 * when settle is set. ERR_NOTFOUND (nothing to record: no commit, no
 * verdict) when there is no such delivery (or no longer a pending one)
 * or no such job. */
static int record_apply(struct conn *c, void *ctx)
{
	const struct record_run *rr = ctx;
	const struct dlv_outcome *o = rr->o;
	struct arg a[7] = { AI(rr->job_id), AT(rr->dest), AI(store_now_ms()),
			    AI(o->not_before_ms), AT(o->error), AT(o->payload),
			    AI(o->state == DLV_PENDING && o->deferred ? 0 : 1) };
	int ch = 0, rc;

	rc = stmt_run(c, SQL_DLV_RECORD[o->state], a, NARGS(a), &ch);
	if (rc == 0 && ch == 0)
		rc = ERR_NOTFOUND;
	if (rc == 0 && rr->settle)
		rc = settle_apply(c, rr->job_id);
	return rc;
}

int store_delivery_record(struct store *s, int64_t job_id, const char *dest,
			  const struct dlv_outcome *o, int settle)
{
	struct record_run rr = { job_id, dest, o, settle };

	if (s == NULL || dest == NULL || o == NULL || (unsigned)o->state >= DLV__MAX)
		return ERR_INVALID;
	return bk_write(s, record_apply, &rr);
}

/* ---- CLI, dead letters, housekeeping ---- */

/* A delivered job with a destination given up on. */
#define DEAD_DEST "(state = 'delivered' AND id IN (SELECT job_id FROM deliveries" \
	" WHERE state = 'dead'))"

int store_list(struct store *s, int st, size_t limit, store_job_fn fn, void *ctx)
{
	sqlite3_stmt *sq = NULL;
	struct arg a[2];
	struct job j;
	int rc;

	if (s == NULL || fn == NULL || st >= JOB__MAX)
		return ERR_INVALID;
	a[0] = AT(st < 0 ? NULL : job_state_names[st]);
	a[1] = AI(limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	pthread_mutex_lock(&s->mu);
	/* "dead" lists dead jobs and delivered jobs with a dead destination:
	 * both are dead letters someone has to look at. */
	rc = stmt_get(&s->bk, "SELECT " JOB_COLS " FROM jobs WHERE ?1 IS NULL"
			      " OR state = ?1 OR (?1 = 'dead' AND " DEAD_DEST ")"
			      " ORDER BY id DESC LIMIT ?2", &sq);
	if (rc == SQLITE_OK)
		rc = bind_args(sq, a, 2);
	while (rc == SQLITE_OK && (rc = sqlite3_step(sq)) == SQLITE_ROW) {
		job_from_row(sq, &j);
		fn(ctx, &j);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: list: %s", sqlite3_errmsg(s->bk.db));
	stmt_done(&s->bk, sq);
	pthread_mutex_unlock(&s->mu);
	return map_rc(rc);
}

int store_dead_retry(struct store *s, int64_t job_id, size_t *count)
{
	/* Dead deliveries of dead or delivered jobs become pending; then every
	 * such job that has a pending delivery again is queued. A delivered
	 * job keeps its delivered destinations, so only the dead ones post. */
	static const struct step steps[3] = {
		{ "UPDATE deliveries SET state = 'pending', attempts = 0, not_before_ms = ?2,"
		  " last_error = NULL, updated_ms = ?2 WHERE state = 'dead' AND job_id IN"
		  " (SELECT id FROM jobs WHERE state IN ('dead', 'delivered')"
		  " AND (?1 < 0 OR id = ?1))", NO_STATE, NO_STATE, 0 },
		/* One statement per state left, so each knows what it moves. */
		{ "UPDATE jobs SET state = 'queued', attempts = 0, not_before_ms = ?2,"
		  " lease_until_ms = NULL, finished_ms = NULL"
		  " WHERE state = 'dead' AND (?1 < 0 OR id = ?1) AND id IN"
		  " (SELECT job_id FROM deliveries WHERE state = 'pending')",
		  JOB_DEAD, JOB_QUEUED, 1 },
		{ "UPDATE jobs SET state = 'queued', attempts = 0, not_before_ms = ?2,"
		  " lease_until_ms = NULL, finished_ms = NULL"
		  " WHERE state = 'delivered' AND (?1 < 0 OR id = ?1) AND id IN"
		  " (SELECT job_id FROM deliveries WHERE state = 'pending')",
		  JOB_DELIVERED, JOB_QUEUED, 1 },
	};
	struct arg a[2] = { AI(job_id), AI(store_now_ms()) };
	int ch = 0, rc;

	if (count != NULL)
		*count = 0;
	if (s == NULL)
		return ERR_INVALID;
	rc = write_tx(s, steps, 3, a, 2, job_id >= 0, &ch);
	if (rc == 0 && ch > 0)
		store_wake(s);
	if (count != NULL)
		*count = (size_t)ch;
	return rc;
}

int store_dead_purge(struct store *s, int64_t older_than_s, size_t *count)
{
	/* Dead jobs go whole; a delivered job loses only its dead deliveries. */
	static const struct step steps[2] = {
		{ "DELETE FROM jobs WHERE state = 'dead'"
		  " AND coalesce(finished_ms, received_ms) <= ?1", JOB_DEAD, NO_STATE, 1 },
		{ "DELETE FROM deliveries WHERE state = 'dead' AND updated_ms <= ?1"
		  " AND job_id IN (SELECT id FROM jobs WHERE state = 'delivered')",
		  NO_STATE, NO_STATE, 1 },
	};
	struct arg a[1];
	int ch = 0, rc;

	if (count != NULL)
		*count = 0;
	if (s == NULL || older_than_s < 0 || older_than_s > INT64_MAX / 2000)
		return ERR_INVALID;
	a[0] = AI(store_now_ms() - older_than_s * 1000);
	rc = write_tx(s, steps, 2, a, 1, 0, &ch);
	if (count != NULL)
		*count = (size_t)ch;
	return rc;
}

int store_prune(struct store *s, int64_t window_s)
{
	/* Deliveries go with their job (ON DELETE CASCADE). Dead jobs stay
	 * until someone decides about them (store_dead_purge). A job is
	 * finished only after a claim, which needs not_before <= now, so the
	 * not_before condition drops nothing the finished one keeps; it lets
	 * the scan use jobs_claim's range instead of reading every finished
	 * job still inside the window. */
	static const struct step steps[2] = {
		{ "DELETE FROM jobs WHERE state = 'delivered'"
		  " AND not_before_ms <= ?1 AND coalesce(finished_ms, received_ms) <= ?1",
		  JOB_DELIVERED, NO_STATE, 0 },
		{ "DELETE FROM jobs WHERE state = 'ignored'"
		  " AND not_before_ms <= ?1 AND coalesce(finished_ms, received_ms) <= ?1",
		  JOB_IGNORED, NO_STATE, 0 },
	};
	struct arg a[1];

	if (s == NULL || window_s < 0 || window_s > INT64_MAX / 2000)
		return ERR_INVALID;
	a[0] = AI(store_now_ms() - window_s * 1000);
	return write_tx(s, steps, 2, a, 1, 0, NULL);
}

int store_counts(struct store *s, int64_t counts[JOB__MAX])
{
	int64_t foreign = 0;
	int rc;

	if (s == NULL || counts == NULL)
		return ERR_INVALID;
	memset(counts, 0, sizeof(int64_t) * JOB__MAX);
	pthread_mutex_lock(&s->mu);
	rc = foreign_get(&s->bk, &foreign);
	/* Only the owner sees every move; anyone else counts each time. */
	if (rc == 0 && (!s->owner || foreign != s->foreign_seen)) {
		pthread_mutex_lock(&s->txmu);
		rc = counts_seed(s);
		pthread_mutex_unlock(&s->txmu);
	}
	pthread_mutex_unlock(&s->mu);
	if (rc != 0)
		return rc;
	pthread_mutex_lock(&s->cmu);
	memcpy(counts, s->counts, sizeof(s->counts));
	pthread_mutex_unlock(&s->cmu);
	return 0;
}

/* The probe's write: the schema version it already has. */
static int probe_apply(struct conn *c, void *ctx)
{
	(void)ctx;
	return exec_sql(c, "PRAGMA user_version = " STR(SCHEMA_VERSION));
}

/* After a failed write nothing may write again for a long time (intake
 * refuses nothing, but no webhook may come while a readiness probe keeps
 * traffic away), so an unhealthy store tries one small write of its own,
 * and its fdatasync, at most every PROBE_EVERY_MS, to notice that space
 * (or the disk) came back. */
static void probe_write(struct store *s)
{
	int64_t now = mono_ms(), last = atomic_load(&s->last_probe_ms);
	int rc;

	if (now - last < PROBE_EVERY_MS ||
	    !atomic_compare_exchange_strong(&s->last_probe_ms, &last, now))
		return;
	rc = bk_write(s, probe_apply, NULL);
	if (rc == 0)
		sync_wal(s);
}

int store_healthy(struct store *s)
{
	if (s == NULL)
		return 0;
	/* A commit that worked does not make up for an fsync that failed:
	 * only a good fdatasync clears sync_failed. */
	if (!atomic_load(&s->healthy) || atomic_load(&s->sync_failed))
		probe_write(s);
	if (!atomic_load(&s->healthy) || atomic_load(&s->sync_failed))
		return 0;
	/* Catches a file or file system turned read-only before the next
	 * write finds out (root passes the permission bits, not EROFS). */
	return access(s->path, W_OK) == 0;
}

void store_fail_writes(struct store *s, int on)
{
	if (s != NULL)
		atomic_store(&s->fail_writes, on != 0);
}

uint64_t store_commit_count(struct store *s)
{
	return s == NULL ? 0 : (uint64_t)atomic_load(&s->commits);
}

/* ---- accepting a webhook ---- */

int store_put_async(struct store *s, const struct webhook_event *ev, char *const *dests,
		    size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx)
{
	struct put_req *r;

	if (s == NULL || done == NULL || !put_valid(ev, dests, n_dests))
		return ERR_INVALID;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ERR_NOMEM;
	if (dedup_window_s < 0)
		dedup_window_s = 0;
	if (dedup_window_s > INT64_MAX / 2000)
		dedup_window_s = INT64_MAX / 2000;
	r->ev = ev;
	r->dests = dests;
	r->n_dests = n_dests;
	r->window_ms = dedup_window_s * 1000;
	r->done = done;
	r->ctx = ctx;
	pthread_mutex_lock(&s->qmu);
	if (s->stopping) {
		pthread_mutex_unlock(&s->qmu);
		free(r);
		return ERR_STOPPED;
	}
	if (s->q_tail != NULL)
		s->q_tail->next = r;
	else
		s->q_head = r;
	s->q_tail = r;
	pthread_cond_signal(&s->q_cv);
	pthread_mutex_unlock(&s->qmu);
	return 0;
}

/* A store_put() caller waiting for its callback; on the caller's stack. */
struct put_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int rc;
	int64_t job_id;
};

static void put_wait_done(void *ctx, int rc, int64_t job_id)
{
	struct put_wait *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->job_id = job_id;
	w->done = 1;
	/* Signalled under mu: the waiter cannot return (and w vanish) before
	 * the writer has unlocked it. */
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int store_put(struct store *s, const struct webhook_event *ev, char *const *dests,
	      size_t n_dests, int64_t dedup_window_s, int64_t *job_id)
{
	struct put_wait w = { .done = 0 };
	int rc;

	if (pthread_mutex_init(&w.mu, NULL) != 0)
		return ERR_NOMEM;
	if (pthread_cond_init(&w.cv, NULL) != 0) {
		pthread_mutex_destroy(&w.mu);
		return ERR_NOMEM;
	}
	rc = store_put_async(s, ev, dests, n_dests, dedup_window_s, put_wait_done, &w);
	if (rc == 0) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.rc;
	}
	if (rc == 0 && job_id != NULL)
		*job_id = w.job_id;
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}
