/* The SQLite backend's write transactions and what rides on them: the one
 * helper every write goes through (sq_tx_run()), the in-memory job counts
 * that its commits keep, and health with its write probe. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

#define STR_(x) #x
#define STR(x) STR_(x)

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_FOREIGN_GET[] = "SELECT value FROM store_meta WHERE name = 'foreign_writes'";
static const char SQL_FOREIGN_BUMP[] =
	"UPDATE store_meta SET value = value + 1 WHERE name = 'foreign_writes'";

/* Opens a write transaction on c with nothing moved yet. */
int sq_tx_begin(struct conn *c)
{
	memset(c->moved, 0, sizeof(c->moved));
	return sq_exec(c, SQL_BEGIN);
}

void sq_moved(struct conn *c, int from, int to, int64_t n)
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
static void counts_add(struct sq_store *s, struct conn *c)
{
	int i;

	pthread_mutex_lock(&s->cmu);
	for (i = 0; i < JOB__MAX; i++)
		s->counts[i] += c->moved[i];
	pthread_mutex_unlock(&s->cmu);
	memset(c->moved, 0, sizeof(c->moved));
}

/* Commits the open transaction of c. The test hook store_fail_writes()
 * fails here, before COMMIT, exactly where a full disk would. */
static int tx_commit(struct sq_store *s, struct conn *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (atomic_load(&s->fail_writes)) {
		log_msg(LOG_ERROR, "store: commit: writes disabled by test hook");
		sq_rollback(c->db);
		return ERR_IO;
	}
	/* The owner cannot see this process's moves: leave it a sign in
	 * the same transaction, so it counts again (see Job counts in
	 * sqlite_int.h). */
	if (!s->owner && tx_moves_jobs(c) && sq_stmt_run(c, SQL_FOREIGN_BUMP, NULL, 0, NULL) != 0) {
		sq_rollback(c->db);
		return ERR_IO;
	}
	rc = sq_stmt_get(c, SQL_COMMIT, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: commit: %s (code %d)", sqlite3_errmsg(c->db),
			sqlite3_extended_errcode(c->db));
		sq_stmt_done(c, st);
		sq_rollback(c->db);
		return sq_map_rc(rc);
	}
	sq_stmt_done(c, st);
	counts_add(s, c);
	return 0;
}

/* Ends a write transaction: commits when rc is 0, else rolls back, and
 * records whether the disk took the write. Returns the final result. */
static int tx_end(struct sq_store *s, struct conn *c, int rc)
{
	if (rc == 0) {
		int crc = tx_commit(s, c);
		if (crc != 0)
			rc = crc;
	} else {
		sq_rollback(c->db);
	}
	if (rc == ERR_IO) {
		atomic_store(&s->healthy, 0);
		atomic_store(&s->last_probe_ms, clock_mono_ms()); /* no probe right away */
	} else if (rc != ERR_NOMEM) {
		atomic_store(&s->healthy, 1);
	}
	return rc;
}

/* The one shape of every write (see sqlite_int.h); tx_end() gives the
 * verdict on the disk. */
int sq_tx_run(struct sq_store *s, struct conn *c, sq_apply_fn apply, void *ctx)
{
	int rc;

	pthread_mutex_lock(&s->txmu);
	rc = sq_tx_begin(c);
	if (rc == 0)
		rc = apply(c, ctx);
	if (rc == ERR_NOTFOUND)
		sq_rollback(c->db);
	else
		rc = tx_end(s, c, rc);
	pthread_mutex_unlock(&s->txmu);
	return rc;
}

int sq_write(struct sq_store *s, sq_apply_fn apply, void *ctx)
{
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_tx_run(s, &s->bk, apply, ctx);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Reads store_meta.foreign_writes into *out (outside or inside a
 * transaction). */
static int foreign_get(struct conn *c, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = sq_stmt_get(c, SQL_FOREIGN_GET, &st);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: counts: %s", sqlite3_errmsg(c->db));
	sq_stmt_done(c, st);
	return sq_map_rc(rc);
}

/* Counts the jobs of each state into *counts, with the foreign_writes
 * value of the same snapshot. With mu and txmu held: no write of this
 * process can commit meanwhile, so nothing is counted twice or missed. */
int sq_counts_seed(struct sq_store *s)
{
	int64_t n[JOB__MAX] = { 0 }, seen = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sq_exec(&s->bk, "BEGIN");
	if (rc != 0)
		return rc;
	rc = foreign_get(&s->bk, &seen) == 0 ? SQLITE_OK : SQLITE_ERROR;
	if (rc == SQLITE_OK)
		rc = sq_stmt_get(&s->bk, "SELECT state, count(*) FROM jobs GROUP BY state", &st);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = sq_name_index(job_state_names, JOB__MAX, sqlite3_column_text(st, 0));
		n[i] = sqlite3_column_int64(st, 1);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: counts: %s", sqlite3_errmsg(s->bk.db));
	sq_stmt_done(&s->bk, st);
	sq_rollback(s->bk.db); /* a read: nothing to commit */
	if (rc != SQLITE_DONE)
		return sq_map_rc(rc) == ERR_NOMEM ? ERR_NOMEM : ERR_IO;
	pthread_mutex_lock(&s->cmu);
	memcpy(s->counts, n, sizeof(n));
	s->foreign_seen = seen;
	pthread_mutex_unlock(&s->cmu);
	return 0;
}

int sq_counts(struct store *base, int64_t counts[JOB__MAX])
{
	struct sq_store *s = sq_of(base);
	int64_t foreign = 0;
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = foreign_get(&s->bk, &foreign);
	/* Only the owner sees every move; anyone else counts each time. */
	if (rc == 0 && (!s->owner || foreign != s->foreign_seen)) {
		pthread_mutex_lock(&s->txmu);
		rc = sq_counts_seed(s);
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
	return sq_exec(c, "PRAGMA user_version = " STR(SCHEMA_VERSION));
}

/* After a failed write nothing may write again for a long time (intake
 * refuses nothing, but no webhook may come while a readiness probe keeps
 * traffic away), so an unhealthy store tries one small write of its own,
 * and its fdatasync, at most every PROBE_EVERY_MS, to notice that space
 * (or the disk) came back. */
static void probe_write(struct sq_store *s)
{
	int64_t now = clock_mono_ms(), last = atomic_load(&s->last_probe_ms);
	int rc;

	if (now - last < PROBE_EVERY_MS ||
	    !atomic_compare_exchange_strong(&s->last_probe_ms, &last, now))
		return;
	rc = sq_write(s, probe_apply, NULL);
	if (rc == 0)
		sq_sync_wal(s);
}

int sq_healthy(struct store *base)
{
	struct sq_store *s = sq_of(base);

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

void sq_fail_writes(struct store *base, int on)
{
	atomic_store(&sq_of(base)->fail_writes, on != 0);
}
