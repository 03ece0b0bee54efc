/* The SQLite backend's file: the schema and its migrations, the integrity
 * check, the owner lock and the recovery of running jobs, opening and
 * closing a store, and the backend's row (store_backend_sqlite). */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

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

/* Version 4: follow-ups of degraded notices. A follow-up is a job of its
 * own, queued like any other (so it survives a crash the same way), that
 * names the job whose notice it completes (followup_of; NULL for a run's
 * own job; one follow-up per job at most). A delivery knows whether its
 * body is a degraded notice that promised details (promised), and a
 * follow-up's delivery when the notice it completes was posted
 * (follows_ms; -1 for any other delivery). */
static const char schema_v4[] =
	"ALTER TABLE jobs ADD COLUMN followup_of INTEGER;"
	"CREATE UNIQUE INDEX jobs_followup ON jobs (followup_of)"
	" WHERE followup_of IS NOT NULL;"
	"ALTER TABLE deliveries ADD COLUMN promised INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE deliveries ADD COLUMN follows_ms INTEGER NOT NULL DEFAULT -1;"
	"PRAGMA user_version = 4;";

/* Version 5: run memory (memory.h). runs keeps the newest runs of every
 * pipeline, one row per execution (its id unique across pipelines, so a
 * second job of a run is known as a duplicate), read newest finished
 * first through runs_pipeline (ties: the later recorded first); the
 * signature is the uint64 as an int64 bit pattern. incidents holds the
 * open incident of a pipeline (a closed one is deleted) and who opened
 * it. pipelines knows when each pipeline last had a run recorded, so
 * forgetting the ones unseen for long reads an index range instead of
 * every run. decisions keeps what store_memory_apply() decided for a job,
 * so a retried job gets the same answer; it goes with its job. */
static const char schema_v5[] =
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" execution_id TEXT NOT NULL UNIQUE,"
	" project_id TEXT NOT NULL, environment TEXT NOT NULL, pipeline TEXT NOT NULL,"
	" status TEXT NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
	" trigger TEXT, signature INTEGER NOT NULL, recorded_ms INTEGER NOT NULL);"
	"CREATE INDEX runs_pipeline ON runs"
	" (project_id, environment, pipeline, finished_ms DESC, id DESC);"
	"CREATE TABLE incidents ("
	" project_id TEXT NOT NULL, environment TEXT NOT NULL, pipeline TEXT NOT NULL,"
	" open INTEGER NOT NULL, since_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
	" failures INTEGER NOT NULL, held INTEGER NOT NULL, posted INTEGER NOT NULL,"
	" signature INTEGER NOT NULL, last_post_ms INTEGER NOT NULL,"
	" opened_by TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
	" PRIMARY KEY (project_id, environment, pipeline)) WITHOUT ROWID;"
	"CREATE TABLE pipelines ("
	" project_id TEXT NOT NULL, environment TEXT NOT NULL, pipeline TEXT NOT NULL,"
	" seen_ms INTEGER NOT NULL,"
	" PRIMARY KEY (project_id, environment, pipeline)) WITHOUT ROWID;"
	"CREATE INDEX pipelines_seen ON pipelines (seen_ms);"
	"CREATE TABLE decisions ("
	" job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,"
	" action INTEGER NOT NULL, reason INTEGER NOT NULL,"
	" streak INTEGER NOT NULL, streak_since_ms INTEGER NOT NULL,"
	" successes_before INTEGER NOT NULL, usual_ms INTEGER NOT NULL,"
	" duration_ms INTEGER NOT NULL, slow INTEGER NOT NULL, held_before INTEGER NOT NULL,"
	" incident_failures INTEGER NOT NULL, incident_since_ms INTEGER NOT NULL);"
	"PRAGMA user_version = 5;";

/* Version 6: silences (silence.h). A removed silence is kept, ended at
 * its removal (removed_ms; -1 while never removed), so the listing can
 * still show it. The worker asks, for every run it remembers, which
 * silences have not ended yet: silences_end serves that range. */
static const char schema_v6[] =
	"CREATE TABLE silences ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" project_id TEXT NOT NULL, pipeline TEXT NOT NULL, environment TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, reason TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL, removed_ms INTEGER NOT NULL DEFAULT -1);"
	"CREATE INDEX silences_end ON silences (end_ms);"
	"PRAGMA user_version = 6;";

/* Version 7: storm grouping. A delivery held back for its destination's
 * grouped message keeps its run's line (group_item) and is grouped = 1;
 * one taken by a worker for the grouped message it is posting is
 * grouped = 2 until the outcome is recorded (a dead process's takes are
 * given back at open). deliveries_held finds a destination's held
 * deliveries that are due without reading the others. */
static const char schema_v7[] =
	"ALTER TABLE deliveries ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE deliveries ADD COLUMN group_item TEXT;"
	"CREATE INDEX deliveries_held ON deliveries (dest, not_before_ms)"
	" WHERE grouped > 0 AND state = 'pending';"
	"PRAGMA user_version = 7;";

/* Version 8: summaries of what silences held back (store.h). A job has a
 * kind (0 a run's own job or its follow-up, 1 a summary of held runs).
 * held notes, per pipeline, the runs of its incident (since_ms) that a
 * silence (silence_id) or a stretch of mute windows (silence_id 0,
 * until_ms its end) held back, with the latest of them; held_jobs the
 * jobs already counted, so a retried job counts once. held_summaries
 * keeps what a summary job's message says; it goes with its job. */
static const char schema_v8[] =
	"ALTER TABLE jobs ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE held ("
	" project_id TEXT NOT NULL, environment TEXT NOT NULL, pipeline TEXT NOT NULL,"
	" since_ms INTEGER NOT NULL, count INTEGER NOT NULL,"
	" silence_id INTEGER NOT NULL, from_ms INTEGER NOT NULL, until_ms INTEGER NOT NULL,"
	" reason TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,"
	" finished_ms INTEGER NOT NULL, signature INTEGER NOT NULL, error TEXT NOT NULL,"
	" PRIMARY KEY (project_id, environment, pipeline)) WITHOUT ROWID;"
	"CREATE TABLE held_jobs ("
	" job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE);"
	"CREATE TABLE held_summaries ("
	" job_id INTEGER PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,"
	" count INTEGER NOT NULL, failures INTEGER NOT NULL, from_ms INTEGER NOT NULL,"
	" until_ms INTEGER NOT NULL, since_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL,"
	" reason TEXT NOT NULL, error TEXT NOT NULL);"
	"PRAGMA user_version = 8;";

/* Version 9: the id of the chat message a delivery created, when the
 * target's reply names one (Discord with ?wait=true), kept for later
 * follow-ups of the same message. */
static const char schema_v9[] = "ALTER TABLE deliveries ADD COLUMN message_id TEXT;"
				"PRAGMA user_version = 9;";

/* Version 10: long-running runs (store.h). long_runs records each run
 * (project, execution) that was told to be still running, once ever, with
 * what its message says; it names its job while the job exists and is
 * forgotten by fired_ms. */
static const char schema_v10[] =
	"CREATE TABLE long_runs ("
	" project_id TEXT NOT NULL, execution_id TEXT NOT NULL,"
	" job_id INTEGER REFERENCES jobs (id) ON DELETE SET NULL,"
	" environment TEXT NOT NULL, pipeline TEXT NOT NULL, trigger TEXT NOT NULL,"
	" started_ms INTEGER NOT NULL, fired_ms INTEGER NOT NULL, limit_ms INTEGER NOT NULL,"
	" usual_ms INTEGER NOT NULL, slow INTEGER NOT NULL, incident_since_ms INTEGER NOT NULL,"
	" PRIMARY KEY (project_id, execution_id)) WITHOUT ROWID;"
	"CREATE INDEX long_runs_job ON long_runs (job_id);"
	"CREATE INDEX long_runs_fired ON long_runs (fired_ms);"
	"PRAGMA user_version = 10;";

/* Version 11: Slack threads (store.h). One row per destination,
 * pipeline and incident (since_ms): the parent message (channel, ts)
 * that the incident's later messages reply under, its posted body and
 * whether it was rewritten as resolved. threads_message finds the row of
 * a clicked message. */
static const char schema_v11[] =
	"CREATE TABLE threads ("
	" id INTEGER PRIMARY KEY,"
	" dest TEXT NOT NULL, project_id TEXT NOT NULL, environment TEXT NOT NULL,"
	" pipeline TEXT NOT NULL, since_ms INTEGER NOT NULL,"
	" channel TEXT NOT NULL, ts TEXT NOT NULL, parent TEXT,"
	" resolved INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL,"
	" UNIQUE (dest, project_id, environment, pipeline, since_ms));"
	"CREATE INDEX threads_message ON threads (channel, ts);"
	"PRAGMA user_version = 11;";

/* Version 12: Slack button clicks (action.h). actions keeps every click
 * once (Slack retries a delivery it saw no answer to with the same
 * user, action_ts and action; the UNIQUE key makes that one row) with
 * the job (kind 3, JOB_KIND_ACTION) that carries it out and, once done, its result.
 * incident_acks says who acknowledged a pipeline's incident, the one
 * that began at since_ms (a later incident is not acknowledged). reruns
 * holds each execution tag a re-run asked Matillion for, so a second
 * click on the same incident state starts nothing. */
static const char schema_v12[] =
	"CREATE TABLE actions ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, job_id INTEGER NOT NULL DEFAULT 0,"
	" kind TEXT NOT NULL, user_id TEXT NOT NULL, user_name TEXT NOT NULL,"
	" value TEXT NOT NULL, channel TEXT NOT NULL, message_ts TEXT NOT NULL,"
	" response_url TEXT NOT NULL, action_ts TEXT NOT NULL, received_ms INTEGER NOT NULL,"
	" result TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',"
	" project_id TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL DEFAULT '',"
	" pipeline TEXT NOT NULL DEFAULT '', done_ms INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (user_id, action_ts, kind, channel, message_ts));"
	"CREATE INDEX actions_job ON actions (job_id);"
	"CREATE TABLE incident_acks ("
	" project_id TEXT NOT NULL, environment TEXT NOT NULL, pipeline TEXT NOT NULL,"
	" since_ms INTEGER NOT NULL, user_id TEXT NOT NULL, user_name TEXT NOT NULL,"
	" acked_ms INTEGER NOT NULL,"
	" PRIMARY KEY (project_id, environment, pipeline)) WITHOUT ROWID;"
	"CREATE TABLE reruns (tag TEXT PRIMARY KEY, action_id INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 12;";

/* Version 13: reconciliation by polling (poll.h). Per project, the
 * watermark below which every run that had finished when it was last
 * listed was processed, and the gap a listing cut off by its budget left:
 * runs started in [watermark - overlap, gap_before_ms) are still to be
 * listed, after which the watermark becomes gap_mark_ms. */
static const char schema_v13[] = "CREATE TABLE poll_state ("
				 " project_id TEXT PRIMARY KEY, watermark_ms INTEGER NOT NULL,"
				 " gap_before_ms INTEGER NOT NULL, gap_mark_ms INTEGER NOT NULL,"
				 " updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
				 "PRAGMA user_version = 13;";

/* Opens one connection with the per-connection settings. Both
 * connections run with synchronous=NORMAL: the group commit makes its
 * batches durable with its own fdatasync of the WAL before it answers,
 * and the bookkeeping connection may lose its last commits to a power
 * loss (see DESIGN in sqlite_int.h). */
static int conn_open(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	const char *const pragmas[] = {
		"PRAGMA journal_mode = WAL",
		"PRAGMA synchronous = NORMAL",
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
		rc = sq_pragma_text(*out, pragmas[i], val, sizeof(val));
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "store: open %s: %s", path, sqlite3_errmsg(*out));
			return ERR_IO;
		}
		if (i == 0 && strcmp(val, "wal") != 0) {
			snprintf(err, errlen, "store: open %s: cannot use WAL mode (got %s)", path,
				 val);
			return ERR_IO;
		}
	}
	return 0;
}

static int check_integrity(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	char res[256];
	int rc = sq_pragma_text(db, "PRAGMA integrity_check", res, sizeof(res));

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

	rc = sq_exec_raw(db, "BEGIN IMMEDIATE");
	if (rc == 0)
		rc = sq_map_rc(sq_pragma_text(db, "PRAGMA user_version", val, sizeof(val)));
	if (rc != 0)
		goto fail;
	v = strtol(val, NULL, 10);
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "store: %s has schema version %ld, newer than %d", path, v,
			 SCHEMA_VERSION);
		sq_rollback(db);
		return ERR_IO;
	}
	if (v < 1)
		rc = sq_exec_raw(db, schema_v1);
	if (rc == 0 && v < 2)
		rc = sq_exec_raw(db, schema_v2);
	if (rc == 0 && v < 3)
		rc = sq_exec_raw(db, schema_v3);
	if (rc == 0 && v < 4)
		rc = sq_exec_raw(db, schema_v4);
	if (rc == 0 && v < 5)
		rc = sq_exec_raw(db, schema_v5);
	if (rc == 0 && v < 6)
		rc = sq_exec_raw(db, schema_v6);
	if (rc == 0 && v < 7)
		rc = sq_exec_raw(db, schema_v7);
	if (rc == 0 && v < 8)
		rc = sq_exec_raw(db, schema_v8);
	if (rc == 0 && v < 9)
		rc = sq_exec_raw(db, schema_v9);
	if (rc == 0 && v < 10)
		rc = sq_exec_raw(db, schema_v10);
	if (rc == 0 && v < 11)
		rc = sq_exec_raw(db, schema_v11);
	if (rc == 0 && v < 12)
		rc = sq_exec_raw(db, schema_v12);
	if (rc == 0 && v < 13)
		rc = sq_exec_raw(db, schema_v13);
	if (rc == 0)
		rc = sq_map_rc(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL));
	if (rc == 0)
		return 0;
fail:
	snprintf(err, errlen, "store: schema of %s: %s", path, sqlite3_errmsg(db));
	sq_rollback(db);
	return ERR_IO;
}

/* Takes the process lock "<path>-lock" (flock, held until store_close).
 * Returns 1 when this process is the only live user of the file. */
static int owner_lock(struct sq_store *s)
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
static int recover_running(struct sq_store *s, char *err, size_t errlen)
{
	int n = 0;
	int rc;

	s->owner = owner_lock(s);
	if (!s->owner) {
		log_msg(LOG_INFO,
			"store: %s is held by another open store; running jobs"
			" left to their leases",
			s->path);
		return 0;
	}
	rc = sq_stmt_run(&s->bk,
			 "UPDATE jobs SET state = 'queued', lease_until_ms = NULL"
			 " WHERE state = 'running'",
			 NULL, 0, &n);
	if (rc != 0) {
		snprintf(err, errlen, "store: recover %s: %s", s->path, sqlite3_errmsg(s->bk.db));
		return rc;
	}
	if (n > 0)
		log_msg(LOG_INFO, "store: recover: %d running job(s) queued again", n);
	/* A grouped message being posted when the process died: its runs
	 * are held again, due now, so the next flush names them. */
	rc = sq_stmt_run(&s->bk,
			 "UPDATE jobs SET not_before_ms = 0 WHERE state = 'queued' AND id IN"
			 " (SELECT job_id FROM deliveries WHERE grouped = 2 AND state = 'pending')",
			 NULL, 0, &n);
	if (rc == 0)
		rc = sq_stmt_run(&s->bk,
				 "UPDATE deliveries SET grouped = 1, not_before_ms = 0"
				 " WHERE grouped = 2 AND state = 'pending'",
				 NULL, 0, &n);
	if (rc != 0) {
		snprintf(err, errlen, "store: recover %s: %s", s->path, sqlite3_errmsg(s->bk.db));
		return rc;
	}
	if (n > 0)
		log_msg(LOG_INFO, "store: recover: %d run(s) of a grouped message held again", n);
	return 0;
}

/* Sets up the locks and condition variables; the condition variables
 * wait on the monotonic clock. */
static int sync_init(struct sq_store *s)
{
	int rc;

	if (store_base_init(&s->base, &store_backend_sqlite) != 0)
		return ERR_NOMEM;
	rc = clock_cond_init(&s->q_cv);
	if (rc == 0)
		rc = clock_cond_init(&s->s_cv);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->txmu, NULL);
	pthread_mutex_init(&s->qmu, NULL);
	pthread_mutex_init(&s->smu, NULL);
	pthread_mutex_init(&s->cmu, NULL);
	return rc == 0 ? 0 : ERR_NOMEM;
}

static int open_all(struct sq_store *s, char *err, size_t errlen)
{
	int rc;

	rc = conn_open(s->path, &s->bk.db, err, errlen);
	if (rc == 0)
		rc = check_integrity(s->bk.db, s->path, err, errlen);
	if (rc == 0)
		rc = schema_ensure(s->bk.db, s->path, err, errlen);
	if (rc == 0)
		rc = recover_running(s, err, errlen);
	if (rc == 0 && sq_counts_seed(s) != 0) {
		snprintf(err, errlen, "store: count jobs of %s: %s", s->path,
			 sqlite3_errmsg(s->bk.db));
		rc = ERR_IO;
	}
	if (rc == 0)
		rc = conn_open(s->path, &s->wr.db, err, errlen);
	if (rc == 0)
		rc = sq_commit_start(s, err, errlen);
	return rc;
}

static void sq_close(struct store *base);

/* The front checked path: non-empty and shorter than STORE_PATH_MAX. */
static struct store *sq_open(const char *path, char *err, size_t errlen)
{
	struct sq_store *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL || sync_init(s) != 0) {
		snprintf(err, errlen, "store: out of memory");
		free(s);
		return NULL;
	}
	memcpy(s->path, path, strlen(path) + 1);
	s->lock_fd = -1;
	s->wal_fd = -1;
	atomic_init(&s->healthy, 1);
	atomic_init(&s->fail_writes, 0);
	atomic_init(&s->commits, 0);
	atomic_init(&s->last_probe_ms, 0);
	if (open_all(s, err, errlen) != 0) {
		sq_close(&s->base);
		return NULL;
	}
	return &s->base;
}

static void sq_close(struct store *base)
{
	struct sq_store *s = sq_of(base);

	sq_commit_stop(s);
	sq_conn_close(&s->wr);
	sq_conn_close(&s->bk);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->txmu);
	pthread_mutex_destroy(&s->qmu);
	pthread_cond_destroy(&s->q_cv);
	pthread_mutex_destroy(&s->smu);
	pthread_mutex_destroy(&s->cmu);
	pthread_cond_destroy(&s->s_cv);
	store_base_fini(&s->base);
	free(s);
}

/* A plain file path: SQLite serves every database no other backend
 * claims. */
static int sq_accepts(const char *path)
{
	(void)path;
	return 1;
}

const struct store_backend store_backend_sqlite = {
	.name = "sqlite",
	.accepts = sq_accepts,
	.open = sq_open,
	.close = sq_close,
	.put_async = sq_put_async,
	.claim = sq_claim,
	.deliveries = sq_deliveries,
	.delivery_record = sq_delivery_record,
	.group_take = sq_group_take,
	.group_record = sq_group_record,
	.job_settle = sq_job_settle,
	.job_retry = sq_job_retry,
	.job_end = sq_job_end,
	.job_release = sq_job_release,
	.job_note = sq_job_note,
	.list = sq_list,
	.dead_retry = sq_dead_retry,
	.dead_purge = sq_dead_purge,
	.prune = sq_prune,
	.counts = sq_counts,
	.healthy = sq_healthy,
	.fail_writes = sq_fail_writes,
	.commit_count = sq_commit_count,
	.memory_apply = sq_memory_apply,
	.memory_preview = sq_memory_preview,
	.memory_prune = sq_memory_prune,
	.incidents = sq_incidents,
	.open_incidents = sq_open_incidents,
	.history = sq_history,
	.silence_add = sq_silence_add,
	.silence_remove = sq_silence_remove,
	.silences = sq_silences,
	.silenced = sq_silenced,
	.silences_covering = sq_silences_covering,
	.held_note = sq_held_note,
	.held_due = sq_held_due,
	.held_summarise = sq_held_summarise,
	.held_summary = sq_held_summary,
	.longrun_fire = sq_longrun_fire,
	.longrun_notice = sq_longrun_notice,
	.thread_put = sq_thread_put,
	.thread_get = sq_thread_get,
	.thread_by_message = sq_thread_by_message,
	.thread_resolved = sq_thread_resolved,
	.thread_set_parent = sq_thread_set_parent,
	.action_put = sq_action_put,
	.action_of_job = sq_action_of_job,
	.action_finish = sq_action_finish,
	.incident_ack = sq_incident_ack,
	.rerun_claim = sq_rerun_claim,
	.actions = sq_actions,
	.poll_get = sq_poll_get,
	.poll_set = sq_poll_set,
	.poll_projects = sq_poll_projects,
};
