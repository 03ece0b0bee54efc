/* Silences in the durable store (store.h, "silences") against real
 * SQLite files: add, list (live and all), remove, expiry, the worker's
 * question store_silenced(), hostile input refused before it is written,
 * survival across a reopen, and the upgrade of a version 5 file; the runs
 * they hold back (store_held_note()) and their summary, made once when
 * the silence ends and the incident is still open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "errors.h"
#include "store.h"

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0 1796004000000LL

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

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store_silence.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dpc.db", f->dir);
	reopen(f);
	*state = f;
	return 0;
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

static int64_t add(struct store *s, const char *proj, const char *pipe, const char *env,
		   int64_t start, int64_t end)
{
	struct silence x = { .project_id = proj,
			     .pipeline = pipe,
			     .environment = env,
			     .start_ms = start,
			     .end_ms = end,
			     .reason = "upgrade",
			     .created_ms = start };
	int64_t id = 0;

	assert_int_equal(store_silence_add(s, &x, &id), 0);
	assert_true(id > 0);
	return id;
}

static int covered(struct store *s, const char *proj, const char *env, const char *pipe,
		   int64_t now)
{
	const struct mem_key k = { proj, env, pipe };
	int yes = -1;

	assert_int_equal(store_silenced(s, &k, now, &yes), 0);
	return yes;
}

#define LIST_MAX 16
struct list {
	size_t n;
	int64_t id[LIST_MAX], end[LIST_MAX], removed[LIST_MAX];
	char text[LIST_MAX][512];
};

static void list_add(void *ctx, const struct silence *x)
{
	struct list *l = ctx;

	if (l->n >= LIST_MAX)
		return;
	l->id[l->n] = x->id;
	l->end[l->n] = x->end_ms;
	l->removed[l->n] = x->removed_ms;
	snprintf(l->text[l->n], sizeof(l->text[0]), "%s|%s|%s|%s", x->project_id, x->pipeline,
		 x->environment, x->reason);
	l->n++;
}

static struct list listing(struct store *s, int all, int64_t now)
{
	struct list l;

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_silences(s, all, now, list_add, &l), 0);
	return l;
}

static void test_add_list_match(void **state)
{
	struct fixture *f = *state;
	int64_t a = add(f->s, "", "load_*", "", T0, T0 + 2 * HOUR);
	int64_t b = add(f->s, "p1", "", "prod", T0 + HOUR, T0 + 3 * HOUR);
	struct list l;

	assert_true(b > a);
	l = listing(f->s, 0, T0);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.id[0], a);
	assert_string_equal(l.text[0], "|load_*||upgrade");
	assert_string_equal(l.text[1], "p1||prod|upgrade");
	assert_int_equal(l.removed[0], -1);
	/* The pipeline glob: any project, last segment of the name. */
	assert_int_equal(covered(f->s, "p9", "dev", "Finance/load_dwh", T0), 1);
	assert_int_equal(covered(f->s, "p9", "dev", "Finance/extract", T0), 0);
	/* The project one starts an hour later and wants prod. */
	assert_int_equal(covered(f->s, "p1", "prod", "extract", T0 + HOUR - 1), 0);
	assert_int_equal(covered(f->s, "p1", "prod", "extract", T0 + HOUR), 1);
	assert_int_equal(covered(f->s, "p1", "dev", "extract", T0 + HOUR), 0);
	/* Expiry: end exclusive; an ended silence is no longer listed. */
	assert_int_equal(covered(f->s, "p1", "prod", "extract", T0 + 3 * HOUR - 1), 1);
	assert_int_equal(covered(f->s, "p1", "prod", "extract", T0 + 3 * HOUR), 0);
	assert_int_equal(listing(f->s, 0, T0 + 2 * HOUR).n, 1);
	assert_int_equal(listing(f->s, 0, T0 + 3 * HOUR).n, 0);
	assert_int_equal(listing(f->s, 1, T0 + 3 * HOUR).n, 2);
	/* Durable across a reopen. */
	reopen(f);
	assert_int_equal(listing(f->s, 0, T0).n, 2);
	assert_int_equal(covered(f->s, "p9", "dev", "x/load_dwh", T0), 1);
}

static void test_remove(void **state)
{
	struct fixture *f = *state;
	int64_t a = add(f->s, "p1", "", "", T0, T0 + 2 * HOUR);
	int64_t b = add(f->s, "p1", "", "", T0 + 5 * HOUR, T0 + 6 * HOUR);
	struct list l;

	assert_int_equal(store_silence_remove(f->s, a, T0 + HOUR), 0);
	assert_int_equal(covered(f->s, "p1", "e", "x", T0 + HOUR - 1), 1);
	assert_int_equal(covered(f->s, "p1", "e", "x", T0 + HOUR), 0);
	/* Twice, unknown, or ended: nothing to remove. */
	assert_int_equal(store_silence_remove(f->s, a, T0 + HOUR), ERR_NOTFOUND);
	assert_int_equal(store_silence_remove(f->s, 999, T0), ERR_NOTFOUND);
	assert_int_equal(store_silence_remove(f->s, 0, T0), ERR_INVALID);
	assert_int_equal(store_silence_remove(f->s, -1, T0), ERR_INVALID);
	/* A future silence removed never starts, and is no longer listed. */
	assert_int_equal(store_silence_remove(f->s, b, T0 + HOUR), 0);
	assert_int_equal(covered(f->s, "p1", "e", "x", T0 + 5 * HOUR), 0);
	assert_int_equal(listing(f->s, 0, T0 + HOUR).n, 0);
	l = listing(f->s, 1, T0 + HOUR);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.removed[0], T0 + HOUR);
	assert_int_equal(l.end[0], T0 + HOUR);
	assert_int_equal(l.removed[1], T0 + HOUR);
	/* An expired one cannot be removed. */
	add(f->s, "p1", "", "", T0, T0 + HOUR);
	assert_int_equal(store_silence_remove(f->s, 3, T0 + 2 * HOUR), ERR_NOTFOUND);
}

static void test_hostile_input(void **state)
{
	struct fixture *f = *state;
	char big[1024];
	struct silence x = { .project_id = "",
			     .pipeline = "",
			     .environment = "",
			     .start_ms = T0,
			     .end_ms = T0 + 1,
			     .reason = "r" };
	const struct mem_key k = { "p", NULL, "x" };
	int64_t id = 7;
	int yes = 7;

	assert_int_equal(store_silence_add(f->s, &x, &id), 0);
	x.pipeline = "a\nb";
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	assert_int_equal(id, 0);
	x.pipeline = "";
	x.environment = "\x1b[2J";
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	x.environment = "";
	x.project_id = NULL;
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	x.project_id = "";
	x.end_ms = x.start_ms;
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	x.end_ms = INT64_MAX;
	x.reason = "";
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	x.reason = big;
	assert_int_equal(store_silence_add(f->s, &x, &id), ERR_INVALID);
	assert_int_equal(store_silence_add(NULL, &x, &id), ERR_INVALID);
	assert_int_equal(store_silence_add(f->s, NULL, &id), ERR_INVALID);
	assert_int_equal(listing(f->s, 1, T0).n, 1);
	/* A NULL environment is "", so only an any-environment silence. */
	assert_int_equal(store_silenced(f->s, &k, T0, &yes), 0);
	assert_int_equal(yes, 1);
	assert_int_equal(store_silenced(f->s, NULL, T0, &yes), ERR_INVALID);
	assert_int_equal(yes, 0);
	assert_int_equal(store_silences(f->s, 0, T0, NULL, NULL), ERR_INVALID);
}

/* Runs one SQL script on the file. */
static void sql_exec(struct fixture *f, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

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

/* A version 5 file (made by this program, then turned back: silences,
 * the later deliveries columns and version 8's tables and column dropped,
 * user_version 5) gains them
 * on open, keeping its runs. */
static void test_upgrades_v5_file(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	f->s = NULL;
	sql_exec(f, "DROP TABLE long_runs; DROP TABLE silences; DROP INDEX deliveries_held;"
		    "ALTER TABLE deliveries DROP COLUMN grouped;"
		    "ALTER TABLE deliveries DROP COLUMN group_item;"
		    "ALTER TABLE deliveries DROP COLUMN message_id;"
		    "DROP TABLE poll_state;"
		    "DROP TABLE held; DROP TABLE held_jobs;"
		    " DROP TABLE held_summaries; ALTER TABLE jobs DROP COLUMN kind;"
		    " DROP TABLE threads;"
		    " DROP TABLE actions; DROP TABLE incident_acks; DROP TABLE reruns;"
		    " PRAGMA user_version = 5;"
		    "INSERT INTO runs (execution_id, project_id, environment, pipeline, status,"
		    " started_ms, finished_ms, signature, recorded_ms)"
		    " VALUES ('e1', 'p1', 'prod', 'x', 'FAILED', 1, 2, 0, 3);");
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"), 5);
	reopen(f);
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"),
			 STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE name IN"
				    " ('held', 'held_jobs', 'held_summaries')"),
			 3);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM runs"), 1);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM sqlite_master WHERE name ="
				    " 'silences_end'"),
			 1);
	add(f->s, "p1", "", "", T0, T0 + HOUR);
	assert_int_equal(covered(f->s, "p1", "prod", "x", T0), 1);
}

/* Values the program never writes, read back without harm. */
static void test_hostile_stored_rows(void **state)
{
	struct fixture *f = *state;

	sql_exec(f, "INSERT INTO silences (project_id, pipeline, environment, start_ms, end_ms,"
		    " reason, created_ms) VALUES (X'00', '[', '', 0, 9223372036854775807, 'r', 0),"
		    " ('p1', '*', '*', 'x', 'y', X'ff', 0)");
	assert_int_equal(covered(f->s, "p2", "prod", "pipe", T0), 0);
	assert_int_equal(listing(f->s, 1, T0).n, 2);
}

/* ---- what silences held back ---- */

static const struct mem_key load = { "p1", "prod", "Finance/load" };

static int64_t put_job(struct store *s, const char *exec, enum run_status st)
{
	struct webhook_event ev;
	char *dests[] = { "slack-main" };
	int64_t id = -1;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.project_id, sizeof(ev.project_id), "p1");
	snprintf(ev.execution_id, sizeof(ev.execution_id), "%s", exec);
	snprintf(ev.pipeline_name, sizeof(ev.pipeline_name), "Finance/load");
	snprintf(ev.environment, sizeof(ev.environment), "prod");
	ev.status = st;
	assert_int_equal(store_put(s, &ev, dests, 1, 86400, &id), 0);
	return id;
}

/* A run of load decided under a silence (or not); returns the action. */
static enum mem_action decide(struct store *s, int64_t job_id, const char *exec, enum run_status st,
			      int64_t finished, int silenced)
{
	struct mem_policy p = { .notify_on = STATUS_BIT(ST_FAILED),
				.recovery = 1,
				.on_repeat = MEM_REPEAT_COMPACT,
				.repeat_interval_ms = 4 * HOUR,
				.notify_after = 1,
				.silenced = silenced };
	struct mem_run ev = { st, finished - 10 * MIN, finished, st == ST_FAILED ? 77 : 0 };
	struct mem_decision d;

	assert_int_equal(store_memory_apply(s, job_id, &load, exec, NULL, &ev, &p, 0, &d), 0);
	return d.action;
}

static void note(struct store *s, int64_t job_id, const char *exec, int64_t sid, int64_t until,
		 int64_t finished, const char *error)
{
	struct held_note n = { .silence_id = sid,
			       .from_ms = T0,
			       .until_ms = until,
			       .reason = "upgrade",
			       .execution_id = exec,
			       .status = ST_FAILED,
			       .finished_ms = finished,
			       .signature = 77,
			       .error = error };

	assert_int_equal(store_held_note(s, job_id, &load, &n), 0);
}

#define DUE_MAX 4
struct due {
	size_t n;
	uint32_t count[DUE_MAX];
	int64_t until[DUE_MAX];
	char text[DUE_MAX][256];
};

static void due_add(void *ctx, const struct mem_key *k, const struct held_note *n, uint32_t count)
{
	struct due *d = ctx;

	if (d->n >= DUE_MAX)
		return;
	d->count[d->n] = count;
	d->until[d->n] = n->until_ms;
	snprintf(d->text[d->n], sizeof(d->text[0]), "%s|%s|%s|%s|%s", k->project_id, k->environment,
		 k->pipeline, n->execution_id, n->error);
	d->n++;
}

static struct due due_at(struct store *s, int64_t now)
{
	struct due d;

	memset(&d, 0, sizeof(d));
	assert_int_equal(store_held_due(s, now, due_add, &d), 0);
	return d;
}

struct incident_seen {
	int n;
	struct mem_incident inc;
};

static void incident_add(void *ctx, const struct mem_incident_row *r)
{
	struct incident_seen *x = ctx;

	x->n++;
	x->inc = r->inc;
}

static struct incident_seen incident(struct store *s)
{
	struct incident_seen x;

	memset(&x, 0, sizeof(x));
	assert_int_equal(store_incidents(s, 0, incident_add, &x), 0);
	return x;
}

struct kinds {
	int64_t held_id;
	int n_held;
	char exec[WEBHOOK_ID_MAX];
};

static void kind_add(void *ctx, const struct job *j)
{
	struct kinds *k = ctx;

	if (j->kind == JOB_KIND_HELD) {
		k->n_held++;
		k->held_id = j->id;
		snprintf(k->exec, sizeof(k->exec), "%s", j->ev.execution_id);
	}
}

/* Two failures under a silence, noted (one of them twice, as a retried
 * job would): nothing is due while the silence lasts; its removal makes
 * the note due, and the summary is made once, with the count, the latest
 * run and its error, the incident told, and the job's deliveries. */
static void test_held_summary_once(void **state)
{
	struct fixture *f = *state;
	char *dests[] = { "slack-main", "teams-main", "slack-main" };
	int64_t sid = add(f->s, "p1", "load", "", T0, T0 + 2 * HOUR);
	int64_t j1 = put_job(f->s, "e1", ST_FAILED), j2 = put_job(f->s, "e2", ST_FAILED);
	int64_t jid = -1, again = -1;
	struct held_summary hs;
	struct delivery *dl = NULL;
	struct kinds k;
	size_t n = 0;
	struct due d;

	assert_int_equal(decide(f->s, j1, "e1", ST_FAILED, T0 + 10 * MIN, 1), MEM_HOLD);
	note(f->s, j1, "e1", sid, T0 + 2 * HOUR, T0 + 10 * MIN, "boom 1");
	note(f->s, j1, "e1", sid, T0 + 2 * HOUR, T0 + 10 * MIN, "boom 1");
	assert_int_equal(decide(f->s, j2, "e2", ST_FAILED, T0 + 20 * MIN, 1), MEM_HOLD);
	note(f->s, j2, "e2", sid, T0 + 2 * HOUR, T0 + 20 * MIN, "boom 2");
	assert_int_equal(due_at(f->s, T0 + HOUR).n, 0);
	assert_int_equal(store_held_summarise(f->s, &load, dests, 2, T0 + HOUR, &jid),
			 ERR_NOTFOUND);
	assert_int_equal(store_silence_remove(f->s, sid, T0 + HOUR), 0);
	reopen(f);
	d = due_at(f->s, T0 + HOUR);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.count[0], 2);
	assert_int_equal(d.until[0], T0 + HOUR);
	assert_string_equal(d.text[0], "p1|prod|Finance/load|e2|boom 2");
	assert_int_equal(store_held_summarise(f->s, &load, dests, 3, T0 + HOUR, &jid), 0);
	assert_true(jid > j2);
	/* A second service, or the next look, finds nothing to do. */
	assert_int_equal(store_held_summarise(f->s, &load, dests, 3, T0 + HOUR, &again),
			 ERR_NOTFOUND);
	assert_int_equal(again, 0);
	assert_int_equal(due_at(f->s, T0 + 3 * HOUR).n, 0);
	assert_int_equal(store_held_summary(f->s, jid, &hs), 0);
	assert_int_equal(hs.count, 2);
	assert_int_equal(hs.failures, 2);
	assert_int_equal(hs.from_ms, T0);
	assert_int_equal(hs.until_ms, T0 + HOUR);
	assert_int_equal(hs.since_ms, T0 + 10 * MIN);
	assert_int_equal(hs.finished_ms, T0 + 20 * MIN);
	assert_string_equal(hs.reason, "upgrade");
	assert_string_equal(hs.error, "boom 2");
	assert_int_equal(store_held_summary(f->s, j1, &hs), ERR_NOTFOUND);
	/* The incident was told: nothing held back now, a message posted. */
	assert_int_equal(incident(f->s).n, 1);
	assert_int_equal(incident(f->s).inc.held, 0);
	assert_int_equal(incident(f->s).inc.posted, 1);
	assert_int_equal(incident(f->s).inc.last_post_ms, T0 + 20 * MIN);
	memset(&k, 0, sizeof(k));
	assert_int_equal(store_list(f->s, -1, 0, kind_add, &k), 0);
	assert_int_equal(k.n_held, 1);
	assert_int_equal(k.held_id, jid);
	assert_string_equal(k.exec, "e2");
	assert_int_equal(store_deliveries(f->s, jid, &dl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(dl[0].dest, "slack-main");
	assert_string_equal(dl[1].dest, "teams-main");
	store_deliveries_free(dl, n);
	/* Noted again after the summary (a late retry): a new, smaller note. */
	note(f->s, j2, "e2", sid, T0 + 2 * HOUR, T0 + 20 * MIN, "boom 2");
	assert_int_equal(due_at(f->s, T0 + 3 * HOUR).n, 0);
}

/* The incident closed while silenced (a success came): the note is
 * dropped when due, and nothing is posted. */
static void test_held_incident_closed(void **state)
{
	struct fixture *f = *state;
	char *dests[] = { "slack-main" };
	int64_t sid = add(f->s, "p1", "", "", T0, T0 + HOUR);
	int64_t j1 = put_job(f->s, "e1", ST_FAILED), j2 = put_job(f->s, "e2", ST_SUCCESS);
	int64_t jid = -1;
	struct kinds k;

	assert_int_equal(decide(f->s, j1, "e1", ST_FAILED, T0 + 10 * MIN, 1), MEM_HOLD);
	note(f->s, j1, "e1", sid, T0 + HOUR, T0 + 10 * MIN, "boom");
	assert_int_equal(decide(f->s, j2, "e2", ST_SUCCESS, T0 + 20 * MIN, 1), MEM_RECORD);
	assert_int_equal(incident(f->s).n, 0);
	assert_int_equal(due_at(f->s, T0 + HOUR).n, 1);
	assert_int_equal(store_held_summarise(f->s, &load, dests, 1, T0 + HOUR, &jid), 0);
	assert_int_equal(jid, 0);
	assert_int_equal(due_at(f->s, T0 + HOUR).n, 0);
	memset(&k, 0, sizeof(k));
	assert_int_equal(store_list(f->s, -1, 0, kind_add, &k), 0);
	assert_int_equal(k.n_held, 0);
}

/* A mute window's note is due at its stretch's end; a note of an older
 * incident is replaced by the new incident's, counted from one again;
 * no destination left: dropped without a job. */
static void test_held_window_and_new_incident(void **state)
{
	struct fixture *f = *state;
	int64_t j1 = put_job(f->s, "e1", ST_FAILED), j2 = put_job(f->s, "e2", ST_SUCCESS);
	int64_t j3 = put_job(f->s, "e3", ST_FAILED), jid = -1;
	struct due d;

	assert_int_equal(decide(f->s, j1, "e1", ST_FAILED, T0 + 10 * MIN, 1), MEM_HOLD);
	note(f->s, j1, "e1", 0, T0 + HOUR, T0 + 10 * MIN, "old");
	assert_int_equal(decide(f->s, j2, "e2", ST_SUCCESS, T0 + 20 * MIN, 1), MEM_RECORD);
	assert_int_equal(decide(f->s, j3, "e3", ST_FAILED, T0 + 30 * MIN, 1), MEM_HOLD);
	note(f->s, j3, "e3", 0, T0 + 2 * HOUR, T0 + 30 * MIN, "new");
	assert_int_equal(due_at(f->s, T0 + 2 * HOUR - 1).n, 0);
	d = due_at(f->s, T0 + 2 * HOUR);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.count[0], 1);
	assert_string_equal(d.text[0], "p1|prod|Finance/load|e3|new");
	assert_int_equal(store_held_summarise(f->s, &load, NULL, 0, T0 + 2 * HOUR, &jid), 0);
	assert_int_equal(jid, 0);
	assert_int_equal(due_at(f->s, T0 + 2 * HOUR).n, 0);
}

/* Hostile and absurd input: refused before anything is written, or cut
 * to what the store keeps. */
static void test_held_hostile(void **state)
{
	struct fixture *f = *state;
	char big[8192], *bad_dests[] = { "" };
	struct held_note n = { .reason = "r", .execution_id = "e1", .error = "" };
	struct held_summary hs;
	int64_t j1 = put_job(f->s, "e1", ST_FAILED), jid = -1;
	struct due d;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(store_held_note(NULL, j1, &load, &n), ERR_INVALID);
	assert_int_equal(store_held_note(f->s, j1, NULL, &n), ERR_INVALID);
	assert_int_equal(store_held_note(f->s, j1, &load, NULL), ERR_INVALID);
	assert_int_equal(store_held_note(f->s, 4242, &load, &n), ERR_NOTFOUND);
	assert_int_equal(store_held_due(f->s, T0, NULL, NULL), ERR_INVALID);
	assert_int_equal(store_held_summarise(f->s, &load, bad_dests, 1, T0, &jid), ERR_INVALID);
	assert_int_equal(store_held_summarise(f->s, &load, NULL, 1, T0, &jid), ERR_INVALID);
	assert_int_equal(store_held_summary(f->s, j1, NULL), ERR_INVALID);
	assert_int_equal(store_held_summary(f->s, INT64_MIN, &hs), ERR_NOTFOUND);
	/* Huge strings and an out-of-range status are cut, not refused. */
	assert_int_equal(decide(f->s, j1, "e1", ST_FAILED, T0, 1), MEM_HOLD);
	n.reason = big;
	n.error = big;
	n.execution_id = big;
	n.status = (enum run_status)12345;
	n.until_ms = INT64_MIN;
	n.finished_ms = INT64_MAX;
	assert_int_equal(store_held_note(f->s, j1, &load, &n), 0);
	d = due_at(f->s, INT64_MIN);
	assert_int_equal(d.n, 1);
	assert_int_equal(sql_int(f, "SELECT max(length(error)) FROM held"),
			 STORE_HELD_ERROR_MAX - 1);
	assert_int_equal(sql_int(f, "SELECT max(length(reason)) FROM held"), SILENCE_REASON_MAX);
	assert_int_equal(sql_int(f, "SELECT count(*) FROM held WHERE status = 'UNKNOWN'"), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_list_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v5_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_stored_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_summary_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_incident_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_window_and_new_incident, setup, teardown),
		cmocka_unit_test_setup_teardown(test_held_hostile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
