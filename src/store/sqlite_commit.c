/* The SQLite backend's group commit: sq_put_async() queues a request; one
 * writer thread with its own connection commits everything queued in one
 * transaction, and one syncer thread fdatasyncs the WAL for every batch
 * committed since its last sync before it answers the batch's requests
 * (see Group commit in sqlite_int.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "sqlite_int.h"

/* One store_put_async() waiting for the writer; allocated by it and freed
 * by the writer once done has been called. */
struct put_req {
	const struct webhook_event *ev; /* borrowed until done runs */
	char *const *dests;             /* borrowed until done runs */
	size_t n_dests;
	int64_t window_ms;
	int rc; /* result, set by the writer */
	int64_t job_id;
	store_put_done_fn done; /* called by the writer after the batch ended */
	void *ctx;
	struct put_req *next;
};

/* One committed batch on its way from the writer to the syncer. */
struct batch {
	struct put_req *reqs;
	int64_t t0_ms; /* monotonic ms when the writer began it */
	int committed; /* its transaction committed */
	struct batch *next;
};

static int writer_prepare(struct sq_store *s, char *err, size_t errlen)
{
	static const char *const sql[3] = {
		/* A run told without a status (UNKNOWN) is the same run as one
		 * told with it: a webhook that names no status and the poller,
		 * which always knows it, must make one job between them. The
		 * newest is taken with max(), not ORDER BY ... LIMIT 1: the
		 * status test reads more than one status of jobs_key, and a
		 * sort for that would cost every webhook a temporary b-tree
		 * (measured: the dedup read 40 % slower); HAVING keeps "no
		 * row" meaning "not seen". */
		"SELECT max(received_ms) FROM jobs WHERE project_id = ?1 AND execution_id = ?2"
		" AND (status = ?3 OR status = 'UNKNOWN' OR ?3 = 'UNKNOWN')"
		" AND followup_of IS NULL AND kind = 0 HAVING max(received_ms) IS NOT NULL",
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
	if (sqlite3_exec(s->wr.db, "PRAGMA ignore_check_constraints = ON", NULL, NULL, NULL) !=
	    SQLITE_OK) {
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

/* Steps a prepared writer statement once and resets it. */
static int wstep(sqlite3_stmt *st, const struct arg *a, size_t n, int64_t *row_val)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	rc = sq_bind(st, a, n);
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
static int put_rows(struct sq_store *s, struct put_req *r, int64_t now, int *dup)
{
	const struct webhook_event *ev = r->ev;
	const char *stname = status_names[ev->status < ST__MAX ? ev->status : ST_UNKNOWN];
	struct arg key[3] = { AT(ev->project_id), AT(ev->execution_id), AT(stname) };
	struct arg job[7] = { AT(ev->project_id),
			      AT(ev->execution_id),
			      AT(ev->pipeline_name),
			      AT(ev->environment),
			      AT(stname),
			      AT(ev->status_text),
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
static int put_one(struct sq_store *s, struct put_req *r, int64_t now)
{
	int dup = 0;
	int rc;

	if (sq_exec(&s->wr, SQL_SAVEPOINT) != 0)
		return ERR_IO;
	rc = put_rows(s, r, now, &dup);
	if (rc == SQLITE_DONE) {
		if (sq_exec(&s->wr, SQL_RELEASE) != 0)
			return ERR_IO;
		return dup ? ERR_DUPLICATE : 0;
	}
	log_msg(LOG_ERROR, "store: put execution %s: %s", r->ev->execution_id,
		sqlite3_errmsg(s->wr.db));
	if (!request_error(rc) || sqlite3_get_autocommit(s->wr.db))
		return sq_map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
	if (sq_exec(&s->wr, SQL_ROLLBACK_TO) != 0 || sq_exec(&s->wr, SQL_RELEASE) != 0)
		return ERR_IO;
	return ERR_INVALID;
}

/* The fast way through a batch: every request's rows straight into the
 * open transaction, no savepoints. Returns 0 when all went in (each r->rc
 * is 0 or ERR_DUPLICATE), ERR_INVALID when one request's own rows failed
 * (the caller rolls back and takes the careful way), or ERR_IO/ERR_NOMEM. */
static int batch_plain(struct sq_store *s, struct put_req *batch, int64_t now)
{
	struct put_req *r;
	int dup, rc;

	for (r = batch; r != NULL; r = r->next) {
		dup = 0;
		rc = put_rows(s, r, now, &dup);
		if (rc != SQLITE_DONE) {
			if (request_error(rc) && !sqlite3_get_autocommit(s->wr.db))
				return ERR_INVALID;
			return sq_map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
		}
		r->rc = dup ? ERR_DUPLICATE : 0;
		sq_moved(&s->wr, NO_STATE, JOB_QUEUED, !dup);
	}
	return 0;
}

/* The careful way: each request in its own savepoint, so one whose rows
 * fail is answered ERR_INVALID and the others still commit. */
static int batch_savepoints(struct sq_store *s, struct put_req *batch, int64_t now)
{
	struct put_req *r;

	for (r = batch; r != NULL; r = r->next) {
		r->rc = put_one(s, r, now);
		if (r->rc == ERR_IO || r->rc == ERR_NOMEM)
			return r->rc;
		sq_moved(&s->wr, NO_STATE, JOB_QUEUED, r->rc == 0);
	}
	return 0;
}

/* A batch on its way through sq_tx_run(). */
struct batch_run {
	struct sq_store *s;
	struct put_req *reqs;
	int64_t now;
};

/* A savepoint per request costs about a third of the writer's time, and a
 * request whose rows fail is rare (the front's put_valid() screens them), so a batch
 * first runs without savepoints; only if one request fails is it rolled
 * back and run again the careful way, in a new transaction. */
static int batch_apply(struct conn *c, void *ctx)
{
	struct batch_run *b = ctx;
	int rc;

	rc = batch_plain(b->s, b->reqs, b->now);
	if (rc == ERR_INVALID) {
		sq_rollback(c->db);
		rc = sq_tx_begin(c); /* forgets the plain run's moves */
		if (rc == 0)
			rc = batch_savepoints(b->s, b->reqs, b->now);
	}
	return rc;
}

/* Runs and commits one batch; on return every request has its rc.
 * Returns 0 if the batch committed. */
static int batch_commit(struct sq_store *s, struct put_req *batch)
{
	struct batch_run b = { s, batch, clock_wall_ms() };
	struct put_req *r;
	int rc;

	rc = sq_tx_run(s, &s->wr, batch_apply, &b);
	if (rc != 0)
		for (r = batch; r != NULL; r = r->next)
			r->rc = rc;
	return rc;
}

/* With qmu held: detaches at most GC_MAX_BATCH requests from the queue.
 * There is no batching window: what arrived while the previous batch was
 * being written is the next batch, so a quiet service commits at once and
 * a busy one gathers as many requests as one commit takes time. */
static struct put_req *batch_take(struct sq_store *s)
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

static void sync_enqueue(struct sq_store *s, struct batch *b)
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
	struct sq_store *s = arg;
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
		b->t0_ms = clock_mono_ms();
		b->committed = batch_commit(s, reqs) == 0;
		sync_enqueue(s, b);
		pthread_mutex_lock(&s->qmu);
	}
	pthread_mutex_unlock(&s->qmu);
	return NULL;
}

/* Makes everything the writer committed so far durable: one fdatasync of
 * the WAL covers every batch committed before it started. */
int sq_sync_wal(struct sq_store *s)
{
	if (fdatasync(s->wal_fd) == 0) {
		atomic_store(&s->sync_failed, 0);
		return 0;
	}
	log_msg(LOG_ERROR, "store: fdatasync %s-wal: %s", s->path, strerror(errno));
	atomic_store(&s->sync_failed, 1);
	atomic_store(&s->healthy, 0);
	atomic_store(&s->last_probe_ms, clock_mono_ms());
	return ERR_IO;
}

/* Answers the requests of the batches in list, each with its result or
 * with rc when the sync failed, and frees them. */
static void batches_done(struct sq_store *s, struct batch *list, int rc)
{
	struct batch *b, *bn;
	struct put_req *r, *rn;
	int fresh = 0;

	for (b = list; b != NULL; b = bn) {
		bn = b->next;
		if (b->committed && rc == 0) {
			atomic_fetch_add(&s->commits, 1);
			metrics_observe(MH_STORE_COMMIT,
					(double)(clock_mono_ms() - b->t0_ms) / 1000.0);
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
		store_wake(&s->base);
}

/* The syncer: takes every batch the writer has committed, fdatasyncs the
 * WAL once for all of them, then calls their requests back. While it
 * waits for the disk the writer already fills the next transaction, so
 * the fsync is off the writer's path. */
static void *syncer_main(void *arg)
{
	struct sq_store *s = arg;
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
		rc = any ? sq_sync_wal(s) : 0;
		batches_done(s, list, rc);
		pthread_mutex_lock(&s->smu);
	}
	pthread_mutex_unlock(&s->smu);
	return NULL;
}

/* Opens the WAL file for the syncer. Both connections are open, so the
 * file exists and stays the same file until store_close(): SQLite deletes
 * or replaces a WAL only when the last connection to the database closes. */
static int wal_open(struct sq_store *s, char *err, size_t errlen)
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

int sq_commit_start(struct sq_store *s, char *err, size_t errlen)
{
	int rc;

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

void sq_commit_stop(struct sq_store *s)
{
	if (s->writer_started) {
		pthread_mutex_lock(&s->qmu);
		s->stopping = 1;
		pthread_cond_broadcast(&s->q_cv);
		pthread_mutex_unlock(&s->qmu);
		pthread_join(s->writer, NULL);
		s->writer_started = 0;
	}
	if (s->syncer_started) { /* after the writer: it queues to the syncer */
		pthread_mutex_lock(&s->smu);
		s->s_stopping = 1;
		pthread_cond_broadcast(&s->s_cv);
		pthread_mutex_unlock(&s->smu);
		pthread_join(s->syncer, NULL);
		s->syncer_started = 0;
	}
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	s->wal_fd = -1;
	sqlite3_finalize(s->st_dedup_get);
	sqlite3_finalize(s->st_job_ins);
	sqlite3_finalize(s->st_dlv_ins);
	s->st_dedup_get = s->st_job_ins = s->st_dlv_ins = NULL;
}

/* The front has checked the request and clamped the window. */
int sq_put_async(struct store *base, const struct webhook_event *ev, char *const *dests,
		 size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct put_req *r;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ERR_NOMEM;
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

uint64_t sq_commit_count(struct store *base)
{
	return (uint64_t)atomic_load(&sq_of(base)->commits);
}
