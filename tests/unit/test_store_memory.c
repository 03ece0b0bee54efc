/* Run memory in the durable store (store.h, "run memory") against real
 * SQLite files: store_memory_apply() decides each job once and keeps the
 * runs and the incident it implies, durably; duplicates, late runs,
 * trimming, pruning, the CLI listings, hostile stored values and the
 * upgrade of a version 4 file. With DPC_MEM_MEASURE=1 in the environment
 * one more case fills 10,000 pipelines with 100 runs each and prints the
 * file size and the time of one store_memory_apply() on it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "store.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 1796004000000LL
#define BIG_WINDOW 86400

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static void reopen(struct fixture *f)
{
	char err[256];

	store_close(f->s);
	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("%s", err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_memory.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dpc.db", f->dir);
	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL) {
		rmdir(f->dir);
		fail_msg("%s", err);
	}
	*state = f;
	return 0;
}

static void rm_file(const char *dir, const char *name)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

static void rm_db(struct fixture *f)
{
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	rm_file(f->dir, "dpc.db-lock");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	rm_db(f);
	rmdir(f->dir);
	free(f);
	return 0;
}

static const struct mem_policy defaults = {
	.notify_on = STATUS_BIT(ST_FAILED) | STATUS_BIT(ST_FORBIDDEN),
	.recovery = 1,
	.on_repeat = MEM_REPEAT_COMPACT,
	.repeat_interval_ms = 4 * HOUR,
	.notify_after = 1,
	.duration_alert = 3,
};

static const struct mem_key load_prod = { "proj-1", "prod", "load_dwh" };

/* Puts a job for execution exec; returns its id. */
static int64_t job(struct store *s, const char *exec)
{
	struct webhook_event ev;
	char *dests[] = { "slack-ops" };
	int64_t id = -1;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.project_id, sizeof(ev.project_id), "proj-1");
	snprintf(ev.execution_id, sizeof(ev.execution_id), "%s", exec);
	snprintf(ev.pipeline_name, sizeof(ev.pipeline_name), "load_dwh");
	snprintf(ev.environment, sizeof(ev.environment), "prod");
	ev.status = ST_FAILED;
	assert_int_equal(store_put(s, &ev, dests, 1, BIG_WINDOW, &id), 0);
	return id;
}

/* Applies run memory to job id: a run of pipeline k with status st that
 * took 10 minutes and finished at finished. */
static int apply_job(struct store *s, int64_t id, const struct mem_key *k, const char *exec,
		     enum run_status st, int64_t finished, uint64_t sig, size_t keep,
		     struct mem_decision *d)
{
	struct mem_run ev = { st, finished - 10 * MIN, finished, sig };

	return store_memory_apply(s, id, k, exec, "schedule", &ev, &defaults, keep, d);
}

/* A fresh job for exec and its decision; returns the action. */
static enum mem_action run(struct store *s, const struct mem_key *k, const char *exec,
			   enum run_status st, int64_t finished, size_t keep,
			   struct mem_decision *d)
{
	struct mem_decision tmp;

	if (d == NULL)
		d = &tmp;
	assert_int_equal(apply_job(s, job(s, exec), k, exec, st, finished,
				   st == ST_SUCCESS ? 0 : 0xaaaa, keep, d),
			 0);
	return d->action;
}

/* ---- listings ---- */

#define LIST_MAX 128
struct hist {
	size_t n;
	char exec[LIST_MAX][128];
	char trigger[LIST_MAX][128];
	int64_t recorded[LIST_MAX];
	struct mem_run run[LIST_MAX];
};

static void hist_add(void *ctx, const struct mem_run_row *r)
{
	struct hist *h = ctx;

	if (h->n >= LIST_MAX)
		return;
	snprintf(h->exec[h->n], sizeof(h->exec[0]), "%s", r->execution_id);
	snprintf(h->trigger[h->n], sizeof(h->trigger[0]), "%s", r->trigger ? r->trigger : "(null)");
	h->recorded[h->n] = r->recorded_ms;
	h->run[h->n] = r->run;
	h->n++;
}

static struct hist *history(struct store *s, const struct mem_key *k, size_t limit)
{
	static struct hist h;

	memset(&h, 0, sizeof(h));
	assert_int_equal(store_history(s, k, limit, hist_add, &h), 0);
	return &h;
}

struct incs {
	size_t n;
	char key[8][256];
	char opened_by[8][128];
	struct mem_incident inc[8];
};

static void inc_add(void *ctx, const struct mem_incident_row *r)
{
	struct incs *l = ctx;

	if (l->n >= 8)
		return;
	snprintf(l->key[l->n], sizeof(l->key[0]), "%s/%s/%s", r->project_id, r->environment,
		 r->pipeline);
	snprintf(l->opened_by[l->n], sizeof(l->opened_by[0]), "%s", r->opened_by);
	l->inc[l->n] = r->inc;
	l->n++;
}

static struct incs incidents(struct store *s)
{
	struct incs l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_incidents(s, 1, inc_add, &l), 0);
	return l;
}

/* Runs one SQL script on the file beside the open store. */
static void sql_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* One integer from the file. */
static int64_t sql_int(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int64_t v;

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- cases ---- */

/* F F F S: one full message, two compact lines, one recovery; the runs
 * are remembered newest first and the incident is open (opened by the
 * first failure, three failures) until the success closes it. */
static void test_fffs_sequence(void **state)
{
	struct fixture *f = *state;
	struct mem_decision d;
	struct hist *h;
	struct incs l;

	assert_int_equal(run(f->s, &load_prod, "e1", ST_FAILED, T0, 0, &d), MEM_POST_FULL);
	assert_int_equal(d.reason, MEM_R_OPENED);
	assert_int_equal(run(f->s, &load_prod, "e2", ST_FAILED, T0 + 15 * MIN, 0, &d),
			 MEM_POST_COMPACT);
	assert_int_equal(run(f->s, &load_prod, "e3", ST_FAILED, T0 + 30 * MIN, 0, &d),
			 MEM_POST_COMPACT);
	assert_int_equal(d.ctx.streak, 3);
	assert_int_equal(d.ctx.streak_since_ms, T0);
	l = incidents(f->s);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.key[0], "proj-1/prod/load_dwh");
	assert_string_equal(l.opened_by[0], "e1");
	assert_int_equal(l.inc[0].open, 1);
	assert_int_equal(l.inc[0].failures, 3);
	assert_int_equal(l.inc[0].since_ms, T0);
	assert_int_equal(l.inc[0].last_ms, T0 + 30 * MIN);
	assert_int_equal(l.inc[0].posted, 1);
	assert_int_equal(l.inc[0].signature, 0xaaaa);
	assert_int_equal(l.inc[0].last_post_ms, T0 + 30 * MIN);

	assert_int_equal(run(f->s, &load_prod, "e4", ST_SUCCESS, T0 + 3 * HOUR, 0, &d),
			 MEM_POST_RECOVERY);
	assert_int_equal(d.ctx.incident_failures, 3);
	assert_int_equal(d.ctx.incident_since_ms, T0);
	assert_int_equal(d.next.open, 0);
	assert_int_equal(incidents(f->s).n, 0);

	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, 4);
	assert_string_equal(h->exec[0], "e4");
	assert_string_equal(h->exec[3], "e1");
	assert_int_equal(h->run[0].status, ST_SUCCESS);
	assert_int_equal(h->run[1].status, ST_FAILED);
	assert_int_equal(h->run[0].finished_ms, T0 + 3 * HOUR);
	assert_int_equal(h->run[0].started_ms, T0 + 3 * HOUR - 10 * MIN);
	assert_int_equal(h->run[1].signature, 0xaaaa);
	assert_string_equal(h->trigger[0], "schedule");
	assert_true(h->recorded[0] > 0);
	/* A success after the recovery is only remembered. */
	assert_int_equal(run(f->s, &load_prod, "e5", ST_SUCCESS, T0 + 4 * HOUR, 0, NULL),
			 MEM_RECORD);
}

/* Every decision is fdatasync'ed before it returns. */
/* The same job applied again (a retry, or a crash after the commit) gets
 * the stored decision back and changes nothing, even after other runs. */
static void test_apply_twice_same_decision(void **state)
{
	struct fixture *f = *state;
	int64_t id = job(f->s, "e1");
	struct mem_decision a, b;

	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 0xaaaa, 0, &a), 0);
	assert_int_equal(a.action, MEM_POST_FULL);
	memset(&b, 0x55, sizeof(b));
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 0xaaaa, 0, &b), 0);
	assert_int_equal(b.action, a.action);
	assert_int_equal(b.reason, a.reason);
	assert_memory_equal(&b.ctx, &a.ctx, sizeof(a.ctx));
	assert_memory_equal(&b.next, &a.next, sizeof(a.next));
	assert_int_equal(history(f->s, &load_prod, 0)->n, 1);
	assert_int_equal(incidents(f->s).inc[0].failures, 1);

	/* Another failure, then the first job once more: still its own
	 * decision, not a repeat, and the incident counts two failures. */
	assert_int_equal(run(f->s, &load_prod, "e2", ST_FAILED, T0 + MIN, 0, NULL),
			 MEM_POST_COMPACT);
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 0xaaaa, 0, &b), 0);
	assert_int_equal(b.action, MEM_POST_FULL);
	assert_int_equal(b.reason, MEM_R_OPENED);
	assert_memory_equal(&b.ctx, &a.ctx, sizeof(a.ctx));
	assert_int_equal(history(f->s, &load_prod, 0)->n, 2);
	assert_int_equal(incidents(f->s).inc[0].failures, 2);
}

/* Another job of an execution already remembered (for any pipeline) is a
 * duplicate: nothing is written, not even a decision on that job. */
static void test_duplicate_execution(void **state)
{
	struct fixture *f = *state;
	static const struct mem_key other = { "proj-1", "dev", "other" };
	struct mem_decision d;
	int64_t id;

	assert_int_equal(run(f->s, &load_prod, "e1", ST_FAILED, T0, 0, NULL), MEM_POST_FULL);
	id = job(f->s, "e1-again"); /* a second job that names the same run */
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0 + MIN, 1, 0, &d), 0);
	assert_int_equal(d.action, MEM_DUPLICATE);
	assert_int_equal(apply_job(f->s, id, &other, "e1", ST_SUCCESS, T0 + MIN, 0, 0, &d), 0);
	assert_int_equal(d.action, MEM_DUPLICATE);
	assert_int_equal(history(f->s, &load_prod, 0)->n, 1);
	assert_int_equal(history(f->s, &other, 0)->n, 0);
	assert_int_equal(incidents(f->s).inc[0].failures, 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM decisions"), 1);
}

/* A job that does not exist: ERR_NOTFOUND, nothing remembered. */
static void test_apply_unknown_job(void **state)
{
	struct fixture *f = *state;
	struct mem_decision d;

	assert_int_equal(apply_job(f->s, 4242, &load_prod, "e1", ST_FAILED, T0, 1, 0, &d),
			 ERR_NOTFOUND);
	assert_int_equal(history(f->s, &load_prod, 0)->n, 0);
	assert_int_equal(incidents(f->s).n, 0);
	assert_int_equal(
		store_memory_apply(NULL, 1, &load_prod, "e1", NULL, NULL, &defaults, 0, &d),
		ERR_INVALID);
}

/* A failed write leaves nothing: no run, no incident, no decision. */
static void test_apply_write_failure(void **state)
{
	struct fixture *f = *state;
	int64_t id = job(f->s, "e1");
	struct mem_decision d;

	store_fail_writes(f->s, 1);
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 1, 0, &d), ERR_IO);
	store_fail_writes(f->s, 0);
	assert_int_equal(history(f->s, &load_prod, 0)->n, 0);
	assert_int_equal(incidents(f->s).n, 0);
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 1, 0, &d), 0);
	assert_int_equal(d.action, MEM_POST_FULL);
}

/* Runs are kept in finished order whatever the arrival: a late run goes
 * between the runs it finished between, and is decided as late (it
 * neither opens nor closes the incident); runs that finished at the same
 * time are newest-recorded first. */
static void test_late_run_ordering(void **state)
{
	struct fixture *f = *state;
	struct mem_decision d;
	struct hist *h;

	run(f->s, &load_prod, "e10", ST_SUCCESS, T0 + 10 * MIN, 0, NULL);
	run(f->s, &load_prod, "e30", ST_FAILED, T0 + 30 * MIN, 0, NULL);
	assert_int_equal(run(f->s, &load_prod, "e20", ST_SUCCESS, T0 + 20 * MIN, 0, &d),
			 MEM_RECORD);
	assert_int_equal(d.reason, MEM_R_LATE);
	assert_int_equal(incidents(f->s).n, 1); /* the late success closed nothing */
	run(f->s, &load_prod, "e30b", ST_FAILED, T0 + 30 * MIN, 0, NULL);
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, 4);
	assert_string_equal(h->exec[0], "e30b");
	assert_string_equal(h->exec[1], "e30");
	assert_string_equal(h->exec[2], "e20");
	assert_string_equal(h->exec[3], "e10");
	/* The next failure sees a streak of three (e30b, e30, then itself):
	 * the late success sits below them, where it finished. */
	assert_int_equal(run(f->s, &load_prod, "e40", ST_FAILED, T0 + 40 * MIN, 0, &d),
			 MEM_POST_COMPACT);
	assert_int_equal(d.ctx.streak, 3);
	assert_int_equal(d.ctx.successes_before, 2);
	assert_int_equal(history(f->s, &load_prod, 2)->n, 2);
}

/* keep_runs bounds the runs kept per pipeline (the oldest finished go,
 * a late run older than all of them too); 0 means MEM_HISTORY_MAX. Other
 * pipelines keep theirs. */
static void test_keep_runs_trim(void **state)
{
	struct fixture *f = *state;
	static const struct mem_key dev = { "proj-1", "dev", "load_dwh" };
	char exec[32];
	struct hist *h;
	int i;

	run(f->s, &dev, "dev-1", ST_SUCCESS, T0, 3, NULL);
	for (i = 0; i < 5; i++) {
		snprintf(exec, sizeof(exec), "e%d", i);
		run(f->s, &load_prod, exec, ST_SUCCESS, T0 + i * MIN, 3, NULL);
	}
	run(f->s, &load_prod, "late", ST_SUCCESS, T0 - HOUR, 3, NULL);
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, 3);
	assert_string_equal(h->exec[0], "e4");
	assert_string_equal(h->exec[2], "e2");
	assert_int_equal(history(f->s, &dev, 0)->n, 1);

	for (i = 5; i < MEM_HISTORY_MAX + 3; i++) {
		snprintf(exec, sizeof(exec), "e%d", i);
		run(f->s, &load_prod, exec, ST_SUCCESS, T0 + i * MIN, 0, NULL);
	}
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, MEM_HISTORY_MAX);
	assert_string_equal(h->exec[0], "e102");
	assert_string_equal(h->exec[MEM_HISTORY_MAX - 1], "e3");
}

/* The memory survives closing the store: the open incident, the runs and
 * each job's decision. */
static void test_survives_reopen(void **state)
{
	struct fixture *f = *state;
	struct mem_decision d;
	int64_t id;

	id = job(f->s, "e1");
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 1, 0, &d), 0);
	run(f->s, &load_prod, "e2", ST_FAILED, T0 + MIN, 0, NULL);
	reopen(f);
	assert_int_equal(run(f->s, &load_prod, "e3", ST_FAILED, T0 + 2 * MIN, 0, &d),
			 MEM_POST_COMPACT);
	assert_int_equal(d.ctx.streak, 3);
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 1, 0, &d), 0);
	assert_int_equal(d.action, MEM_POST_FULL);
	assert_int_equal(d.reason, MEM_R_OPENED);
	reopen(f);
	assert_int_equal(run(f->s, &load_prod, "e4", ST_SUCCESS, T0 + 3 * MIN, 0, &d),
			 MEM_POST_RECOVERY);
	assert_int_equal(d.ctx.incident_failures, 3);
}

/* A file of version 4 (before run memory) opens, becomes version 5, and
 * its queued job gets a decision. */
static void test_upgrades_v4_file(void **state)
{
	static const char v4[] =
		"CREATE TABLE jobs ("
		" id INTEGER PRIMARY KEY AUTOINCREMENT,"
		" project_id TEXT NOT NULL, execution_id TEXT NOT NULL,"
		" pipeline_name TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL DEFAULT '',"
		" status TEXT NOT NULL, status_text TEXT NOT NULL DEFAULT '',"
		" state TEXT NOT NULL CHECK (state IN"
		"  ('queued','running','delivered','dead','ignored')),"
		" attempts INTEGER NOT NULL DEFAULT 0,"
		" received_ms INTEGER NOT NULL, not_before_ms INTEGER NOT NULL,"
		" lease_until_ms INTEGER, last_error TEXT, finished_ms INTEGER,"
		" followup_of INTEGER);"
		"CREATE INDEX jobs_claim ON jobs (state, not_before_ms);"
		"CREATE UNIQUE INDEX jobs_followup ON jobs (followup_of)"
		" WHERE followup_of IS NOT NULL;"
		"CREATE TABLE deliveries ("
		" job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
		" dest TEXT NOT NULL,"
		" state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),"
		" attempts INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL,"
		" payload TEXT, last_error TEXT, updated_ms INTEGER NOT NULL,"
		" promised INTEGER NOT NULL DEFAULT 0, follows_ms INTEGER NOT NULL DEFAULT -1,"
		" PRIMARY KEY (job_id, dest));"
		"CREATE INDEX jobs_key ON jobs (project_id, execution_id, status, received_ms);"
		"CREATE TABLE store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
		" WITHOUT ROWID;"
		"INSERT INTO store_meta VALUES ('foreign_writes', 0);"
		"INSERT INTO jobs (project_id, execution_id, status, state, received_ms,"
		" not_before_ms) VALUES ('proj-1', 'exec-v4', 'FAILED', 'queued', 1, 1);"
		"PRAGMA user_version = 4;";
	struct fixture *f = *state;
	struct mem_decision d;

	store_close(f->s);
	f->s = NULL;
	rm_db(f);
	sql_exec(f, v4);
	reopen(f);
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"), 10);
	assert_int_equal(apply_job(f->s, 1, &load_prod, "exec-v4", ST_FAILED, T0, 1, 0, &d), 0);
	assert_int_equal(d.action, MEM_POST_FULL);
	assert_int_equal(history(f->s, &load_prod, 0)->n, 1);
	assert_int_equal(incidents(f->s).n, 1);
	/* Deleting the job (retention) takes its decision along. */
	sql_exec(f, "PRAGMA foreign_keys = ON; DELETE FROM jobs WHERE id = 1;");
	assert_int_equal(sql_int(f, "SELECT count(*) FROM decisions"), 0);
}

/* Pruning forgets pipelines with no run recorded since the cutoff, runs
 * and incident alike, and keeps every other; a run's own finished time
 * (absurd ones included) does not keep a pipeline. */
static void test_prune(void **state)
{
	struct fixture *f = *state;
	static const struct mem_key b = { "proj-1", "prod", "b" };
	static const struct mem_key c = { "proj-2", "prod", "c" };
	int64_t now = clock_wall_ms(), old = now - 30 * 24 * HOUR;
	struct mem_decision d;
	size_t n = 99;

	run(f->s, &load_prod, "a1", ST_FAILED, old, 0, NULL);
	run(f->s, &load_prod, "a2", ST_FAILED, old + MIN, 0, NULL);
	run(f->s, &b, "b1", ST_SUCCESS, old, 0, NULL);
	run(f->s, &c, "c1", ST_FAILED, INT64_MAX, 0, NULL);
	assert_int_equal(store_memory_prune(f->s, now - HOUR, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(incidents(f->s).n, 2);

	/* Ninety days pass for everyone but b. */
	sql_exec(f, "UPDATE pipelines SET seen_ms = seen_ms - 7776000000 WHERE pipeline <> 'b';");
	assert_int_equal(store_memory_prune(f->s, now - HOUR, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(history(f->s, &load_prod, 0)->n, 0);
	assert_int_equal(history(f->s, &c, 0)->n, 0);
	assert_int_equal(history(f->s, &b, 0)->n, 1);
	assert_int_equal(incidents(f->s).n, 0);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM pipelines"), 1);
	assert_int_equal(store_memory_prune(f->s, now - HOUR, NULL), 0);
	assert_int_equal(history(f->s, &b, 0)->n, 1);

	/* A forgotten pipeline starts afresh: its failure opens again, and a
	 * forgotten execution id is new again. */
	assert_int_equal(run(f->s, &load_prod, "a3", ST_FAILED, old + 2 * MIN, 0, NULL),
			 MEM_POST_FULL);
	assert_int_equal(store_memory_prune(f->s, INT64_MAX, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM runs"), 0);
	assert_int_equal(
		apply_job(f->s, job(f->s, "a1-job"), &load_prod, "a1", ST_FAILED, old, 1, 0, &d),
		0);
	assert_int_equal(d.action, MEM_POST_FULL);
}

/* Listings: incidents of several pipelines, history of one pipeline in
 * one or every environment, with a limit. */
static void test_listings(void **state)
{
	struct fixture *f = *state;
	static const struct mem_key dev = { "proj-1", "dev", "load_dwh" };
	static const struct mem_key any = { "proj-1", NULL, "load_dwh" };
	static const struct mem_key other = { "proj-1", "prod", "other" };
	struct hist *h;
	struct incs l;

	run(f->s, &load_prod, "p1", ST_FAILED, T0, 0, NULL);
	run(f->s, &dev, "d1", ST_FAILED, T0 + MIN, 0, NULL);
	run(f->s, &dev, "d2", ST_SUCCESS, T0 + 3 * MIN, 0, NULL);
	run(f->s, &other, "o1", ST_FAILED, T0 + 2 * MIN, 0, NULL);
	l = incidents(f->s);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.key[0], "proj-1/prod/other"); /* newest first */
	assert_string_equal(l.key[1], "proj-1/prod/load_dwh");

	h = history(f->s, &any, 0);
	assert_int_equal(h->n, 3);
	assert_string_equal(h->exec[0], "d2");
	assert_string_equal(h->exec[1], "d1");
	assert_string_equal(h->exec[2], "p1");
	h = history(f->s, &any, 1);
	assert_int_equal(h->n, 1);
	h = history(f->s, &dev, 0);
	assert_int_equal(h->n, 2);
}

/* Extreme values round-trip: times at the ends of int64, a signature with
 * the top bit set, a trigger too long to keep whole (cut on a character
 * boundary), no trigger at all. */
static void test_extreme_values(void **state)
{
	struct fixture *f = *state;
	struct mem_run ev = { ST_FAILED, INT64_MIN, INT64_MAX, UINT64_MAX };
	struct mem_decision d, again;
	char trig[1000];
	struct hist *h;
	struct incs l;
	int64_t id = job(f->s, "x1");

	memset(trig, 'a', sizeof(trig));
	memcpy(trig + 62, "\xc3\xa9", 2); /* an é across the cut */
	trig[sizeof(trig) - 1] = '\0';
	assert_int_equal(
		store_memory_apply(f->s, id, &load_prod, "x1", trig, &ev, &defaults, 0, &d), 0);
	assert_int_equal(d.action, MEM_POST_FULL);
	assert_int_equal(
		store_memory_apply(f->s, id, &load_prod, "x1", trig, &ev, &defaults, 0, &again), 0);
	assert_memory_equal(&again.ctx, &d.ctx, sizeof(d.ctx));
	assert_int_equal(again.next.signature, UINT64_MAX);
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, 1);
	assert_int_equal(h->run[0].started_ms, INT64_MIN);
	assert_int_equal(h->run[0].finished_ms, INT64_MAX);
	assert_true(h->run[0].signature == UINT64_MAX);
	assert_true(strlen(h->trigger[0]) < 64);
	assert_true(strlen(h->trigger[0]) >= 32);
	assert_int_equal(strspn(h->trigger[0], "a"), strlen(h->trigger[0])); /* é not cut */
	l = incidents(f->s);
	assert_int_equal(l.inc[0].last_ms, INT64_MAX);
	assert_true(l.inc[0].signature == UINT64_MAX);

	id = job(f->s, "x2");
	ev.started_ms = -1;
	ev.finished_ms = INT64_MIN;
	ev.status = (enum run_status)1000; /* out of range: an unknown status */
	assert_int_equal(
		store_memory_apply(f->s, id, &load_prod, "x2", NULL, &ev, &defaults, 0, &d), 0);
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->n, 2);
	assert_string_equal(h->exec[1], "x2");
	assert_int_equal(h->run[1].status, ST_UNKNOWN);
	assert_int_equal(h->run[1].finished_ms, INT64_MIN);
	assert_string_equal(h->trigger[1], "(null)");
}

/* Stored numbers are not trusted either: counters below zero or past
 * 32 bits, a status nobody knows, an action out of range. */
static void test_hostile_stored_values(void **state)
{
	struct fixture *f = *state;
	int64_t id = job(f->s, "e1");
	struct mem_decision d;
	struct hist *h;
	struct incs l;

	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 0xaaaa, 0, &d), 0);
	sql_exec(f, "UPDATE incidents SET failures = -5, held = 99999999999, open = 7,"
		    " posted = -1;"
		    "UPDATE runs SET status = 'BOGUS';"
		    "UPDATE decisions SET action = 99, reason = -3, streak = -1,"
		    " successes_before = 99999999999, held_before = -8, slow = 5;");
	l = incidents(f->s);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.inc[0].failures, 0);
	assert_int_equal(l.inc[0].held, UINT32_MAX);
	assert_int_equal(l.inc[0].open, 1);
	assert_int_equal(l.inc[0].posted, 1);
	h = history(f->s, &load_prod, 0);
	assert_int_equal(h->run[0].status, ST_UNKNOWN);
	assert_int_equal(apply_job(f->s, id, &load_prod, "e1", ST_FAILED, T0, 0xaaaa, 0, &d), 0);
	assert_int_equal(d.action, MEM_RECORD);
	assert_int_equal(d.reason, MEM_R_NONE);
	assert_int_equal(d.ctx.streak, 0);
	assert_int_equal(d.ctx.successes_before, UINT32_MAX);
	assert_int_equal(d.ctx.held_before, 0);
	assert_int_equal(d.ctx.slow, 1);
	/* The next failure reads the hostile incident: still a sane count. */
	assert_int_equal(run(f->s, &load_prod, "e2", ST_FAILED, T0 + MIN, 0, &d), MEM_POST_COMPACT);
	assert_int_equal(d.next.failures, 1);
	assert_int_equal(d.ctx.held_before, UINT32_MAX);
}

/* ---- the size of the memory (measured on demand) ---- */

/* A random UUID-shaped id, as Matillion's execution ids are. */
static void uuid(char *out, size_t cap)
{
	unsigned char b[16];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(rand() & 0xff);
	snprintf(out, cap, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

#define M_PIPES 10000
#define M_RUNS 100
#define M_PROJECTS 20

static void pipe_key(int p, char proj[64], char name[64])
{
	snprintf(proj, 64, "%08x-1111-4222-8333-%012x", p % M_PROJECTS, p % M_PROJECTS);
	snprintf(name, 64, "load_%s_%05d", p % 3 ? "orders" : "customers_daily", p);
}

/* Fills 10,000 pipelines (20 projects, environment "production") with
 * 100 runs each the way they arrive, round after round across every
 * pipeline, in rows shaped as store_memory_apply() writes them (UUID
 * execution ids, a trigger, a signature on every tenth run, one open
 * incident per ten pipelines), then prints the file size after a
 * checkpoint and the time of store_memory_apply() on it. */
static void test_measure_size(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL, *si = NULL;
	char proj[64], name[64], exec[64];
	struct stat sb;
	struct timespec t0, t1;
	int64_t base = T0, id;
	struct mem_decision d;
	struct mem_key k;
	size_t n = 0;
	int p, r, i;
	double ms, sum = 0, worst = 0;

	if (getenv("DPC_MEM_MEASURE") == NULL) {
		skip();
		return;
	}
	store_close(f->s);
	f->s = NULL;
	srand(42);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO runs (execution_id, project_id,"
					    " environment, pipeline, status, started_ms,"
					    " finished_ms, trigger, signature, recorded_ms)"
					    " VALUES (?1, ?2, 'production', ?3, ?4, ?5, ?6,"
					    " 'schedule', ?7, ?6 + 1500)",
					    -1, &st, NULL),
			 SQLITE_OK);
	for (r = 0; r < M_RUNS; r++) {
		for (p = 0; p < M_PIPES; p++) {
			int64_t fin = base + (int64_t)r * 15 * MIN + p * 50;
			pipe_key(p, proj, name);
			uuid(exec, sizeof(exec));
			sqlite3_bind_text(st, 1, exec, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, proj, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, r % 10 ? "SUCCESS" : "FAILED", -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, fin - 20 * MIN);
			sqlite3_bind_int64(st, 6, fin);
			sqlite3_bind_int64(st, 7, r % 10 ? 0 : (int64_t)rand() * rand());
			assert_int_equal(sqlite3_step(st), SQLITE_DONE);
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "INSERT INTO incidents VALUES (?1, 'production', ?2,"
					    " 1, ?3, ?3, 3, 0, 1, 12345, ?3, ?4, ?3)",
					    -1, &si, NULL),
			 SQLITE_OK);
	for (p = 0; p < M_PIPES; p += 10) {
		pipe_key(p, proj, name);
		uuid(exec, sizeof(exec));
		sqlite3_bind_text(si, 1, proj, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(si, 2, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(si, 3, base);
		sqlite3_bind_text(si, 4, exec, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(si), SQLITE_DONE);
		sqlite3_reset(si);
	}
	sqlite3_finalize(si);
	/* Every tenth pipeline was last seen 100 days ago, for the prune. */
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO pipelines SELECT project_id, environment,"
				      " pipeline, max(recorded_ms) - CASE WHEN pipeline LIKE"
				      " '%0' THEN 8640000000 ELSE 0 END FROM runs"
				      " GROUP BY 1, 2, 3;"
				      "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(stat(f->path, &sb), 0);
	printf("measure: %d pipelines x %d runs, %d incidents: %lld bytes (%.1f MiB)\n", M_PIPES,
	       M_RUNS, M_PIPES / 10, (long long)sb.st_size, (double)sb.st_size / (1024.0 * 1024.0));

	reopen(f);
	k.environment = "production";
	k.project_id = proj;
	k.pipeline = name;
	for (i = 0; i < 200; i++) {
		p = (i * 7919) % M_PIPES;
		pipe_key(p, proj, name);
		uuid(exec, sizeof(exec));
		id = job(f->s, exec);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		assert_int_equal(apply_job(f->s, id, &k, exec, i % 2 ? ST_FAILED : ST_SUCCESS,
					   base + M_RUNS * 15 * MIN + i, 1, 0, &d),
				 0);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
		sum += ms;
		worst = ms > worst ? ms : worst;
	}
	printf("store_memory_apply: 200 calls, mean %.3f ms, worst %.3f ms\n", sum / 200, worst);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_memory_prune(f->s, base, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("prune, %zu pipelines forgotten: %.1f ms\n", n,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(store_memory_prune(f->s, base, &n), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("prune, nothing to forget: %.3f ms\n",
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fffs_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_twice_same_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_execution, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_unknown_job, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_write_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_run_ordering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_runs_trim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_survives_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v4_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extreme_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_stored_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_measure_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
