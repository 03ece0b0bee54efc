/* The SQLite backend's run memory (store.h, "run memory") on the
 * bookkeeping connection: the newest runs of every pipeline, its open
 * incident, and the decision taken for each job. store_memory_apply() is
 * one write transaction through sq_tx_run(), fdatasync'ed before it
 * returns. Nothing read back is trusted: counters are clamped to their
 * types, statuses the program does not know read as ST_UNKNOWN, enums
 * out of range as the harmless value. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

#define PRUNE_BATCH 32    /* pipelines forgotten per transaction */
#define PRUNE_ROUNDS 3200 /* batches per call at most (102,400 pipelines) */

#define KEY_WHERE "project_id = ?1 AND environment = ?2 AND pipeline = ?3"

static const char SQL_DECISION_GET[] =
	"SELECT action, reason, streak, streak_since_ms, successes_before, usual_ms,"
	" duration_ms, slow, held_before, incident_failures, incident_since_ms"
	" FROM decisions WHERE job_id = ?1";
static const char SQL_DECISION_PUT[] =
	"INSERT INTO decisions (job_id, action, reason, streak, streak_since_ms,"
	" successes_before, usual_ms, duration_ms, slow, held_before, incident_failures,"
	" incident_since_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
static const char SQL_JOB_EXISTS[] = "SELECT 1 FROM jobs WHERE id = ?1";
static const char SQL_RUN_SEEN[] = "SELECT 1 FROM runs WHERE execution_id = ?1";
static const char SQL_RUN_EXEC[] = "SELECT execution_id FROM runs WHERE id = ?1";
/* The decision's view of a pipeline, through runs_pipeline. */
static const char SQL_HIST[] = "SELECT id, status, started_ms, finished_ms, signature FROM runs"
			       " WHERE " KEY_WHERE " ORDER BY finished_ms DESC, id DESC LIMIT ?4";
static const char SQL_INCIDENT_GET[] =
	"SELECT open, since_ms, last_ms, failures, held, posted, signature, last_post_ms,"
	" opened_by, EXISTS (SELECT 1 FROM incident_acks a WHERE a.project_id = ?1"
	" AND a.environment = ?2 AND a.pipeline = ?3 AND a.since_ms = incidents.since_ms)"
	" FROM incidents WHERE " KEY_WHERE;
static const char SQL_RUN_PUT[] =
	"INSERT INTO runs (project_id, environment, pipeline, execution_id, status,"
	" started_ms, finished_ms, trigger, signature, recorded_ms)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char SQL_INCIDENT_PUT[] =
	"INSERT OR REPLACE INTO incidents (project_id, environment, pipeline, open,"
	" since_ms, last_ms, failures, held, posted, signature, last_post_ms, opened_by,"
	" updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char SQL_SEEN_PUT[] =
	"INSERT INTO pipelines (project_id, environment, pipeline, seen_ms)"
	" VALUES (?1, ?2, ?3, ?4) ON CONFLICT (project_id, environment, pipeline)"
	" DO UPDATE SET seen_ms = max(seen_ms, excluded.seen_ms)";
static const char SQL_INCIDENT_DEL[] = "DELETE FROM incidents WHERE " KEY_WHERE;
/* Everything after the newest ?4 runs, in the order the history reads. */
static const char SQL_TRIM[] = "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE " KEY_WHERE
			       " ORDER BY finished_ms DESC, id DESC LIMIT -1 OFFSET ?4)";

/* ---- reading what is stored, without trusting it ---- */

static uint32_t col_u32(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* A uint64 is stored as the int64 with the same bits. */
static uint64_t col_u64(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

static int64_t u64_bits(uint64_t u)
{
	int64_t v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static enum run_status col_status(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	enum run_status v = status_parse((const char *)t);

	return (unsigned)v < ST__MAX ? v : ST_UNKNOWN;
}

/* A query of run memory (sq_query()). */
static int query(struct conn *c, const char *sql, const struct arg *a, size_t n, sq_row_fn row,
		 void *ctx)
{
	return sq_query(c, sql, a, n, row, ctx, "memory");
}

/* One apply on its way through sq_tx_run(). */
struct apply_run {
	int64_t job_id;
	const struct mem_key *k;
	const char *exec, *trigger;
	const struct mem_run *ev;
	const struct mem_policy *p;
	int64_t keep;
	struct mem_decision *out;
	int decided; /* the job already holds a decision */
	int wrote;   /* the transaction has something to make durable */
	struct mem_run hist[MEM_HISTORY_MAX];
	int64_t hist_id[MEM_HISTORY_MAX]; /* runs.id of each */
	size_t n;
	struct mem_incident inc;
	char opened_by[WEBHOOK_ID_MAX];
};

static int row_decision(sqlite3_stmt *st, void *ctx)
{
	struct apply_run *ar = ctx;
	struct mem_decision *d = ar->out;
	int64_t a = sqlite3_column_int64(st, 0), r = sqlite3_column_int64(st, 1);

	memset(d, 0, sizeof(*d));
	d->action = a >= MEM_DUPLICATE && a <= MEM_POST_RECOVERY ? (enum mem_action)a : MEM_RECORD;
	d->reason = r >= MEM_R_NONE && r <= MEM_R_SILENCED ? (enum mem_reason)r : MEM_R_NONE;
	d->ctx.streak = col_u32(st, 2);
	d->ctx.streak_since_ms = sqlite3_column_int64(st, 3);
	d->ctx.successes_before = col_u32(st, 4);
	d->ctx.usual_ms = sqlite3_column_int64(st, 5);
	d->ctx.duration_ms = sqlite3_column_int64(st, 6);
	d->ctx.slow = sqlite3_column_int64(st, 7) != 0;
	d->ctx.held_before = col_u32(st, 8);
	d->ctx.incident_failures = col_u32(st, 9);
	d->ctx.incident_since_ms = sqlite3_column_int64(st, 10);
	ar->decided = 1;
	return 1;
}

/* The incident columns from col on, in SQL_INCIDENT_GET's order. */
static void incident_from(sqlite3_stmt *st, int col, struct mem_incident *x)
{
	x->open = sqlite3_column_int64(st, col) != 0;
	x->since_ms = sqlite3_column_int64(st, col + 1);
	x->last_ms = sqlite3_column_int64(st, col + 2);
	x->failures = col_u32(st, col + 3);
	x->held = col_u32(st, col + 4);
	x->posted = sqlite3_column_int64(st, col + 5) != 0;
	x->signature = col_u64(st, col + 6);
	x->last_post_ms = sqlite3_column_int64(st, col + 7);
}

/* ---- store_memory_apply() ---- */

static int row_hist(sqlite3_stmt *st, void *ctx)
{
	struct apply_run *ar = ctx;
	struct mem_run *r;

	if (ar->n >= MEM_HISTORY_MAX)
		return 1;
	r = &ar->hist[ar->n];
	ar->hist_id[ar->n++] = sqlite3_column_int64(st, 0);
	r->status = col_status(st, 1);
	r->started_ms = sqlite3_column_int64(st, 2);
	r->finished_ms = sqlite3_column_int64(st, 3);
	r->signature = col_u64(st, 4);
	return 0;
}

static int row_incident(sqlite3_stmt *st, void *ctx)
{
	struct apply_run *ar = ctx;

	incident_from(st, 0, &ar->inc);
	sq_col_text(st, 8, ar->opened_by, sizeof(ar->opened_by));
	ar->inc.acked = sqlite3_column_int64(st, 9) != 0;
	return 1;
}

static int row_exec(sqlite3_stmt *st, void *ctx)
{
	struct apply_run *ar = ctx;

	sq_col_text(st, 0, ar->opened_by, sizeof(ar->opened_by));
	return 1;
}

/* Reads the pipeline's newest runs and its incident into ar. */
static int memory_read(struct conn *c, struct apply_run *ar)
{
	struct arg a[4] = { AT(ar->k->project_id), AT(ar->k->environment), AT(ar->k->pipeline),
			    AI(MEM_HISTORY_MAX) };
	int rc;

	ar->n = 0;
	memset(&ar->inc, 0, sizeof(ar->inc));
	ar->opened_by[0] = '\0';
	rc = query(c, SQL_HIST, a, 4, row_hist, ar);
	if (rc == 0)
		rc = query(c, SQL_INCIDENT_GET, a, 3, row_incident, ar);
	return rc;
}

/* The execution id that opened the incident now open: kept from the
 * stored incident, or, for one this run opens, the first problem run of
 * its streak (the decision counted streak - 1 of them in the history). */
static int opened_by(struct conn *c, struct apply_run *ar)
{
	const struct mem_context *x = &ar->out->ctx;
	struct arg a[1];

	if (ar->inc.open && ar->opened_by[0] != '\0')
		return 0;
	snprintf(ar->opened_by, sizeof(ar->opened_by), "%s", ar->exec);
	if (x->streak < 2 || x->streak - 2 >= ar->n)
		return 0;
	a[0] = AI(ar->hist_id[x->streak - 2]);
	return query(c, SQL_RUN_EXEC, a, 1, row_exec, ar);
}

static int incident_write(struct conn *c, struct apply_run *ar, int64_t now)
{
	const struct mem_incident *x = &ar->out->next;
	struct arg a[13] = { AT(ar->k->project_id),
			     AT(ar->k->environment),
			     AT(ar->k->pipeline),
			     AI(1),
			     AI(x->since_ms),
			     AI(x->last_ms),
			     AI(x->failures),
			     AI(x->held),
			     AI(x->posted != 0),
			     AI(u64_bits(x->signature)),
			     AI(x->last_post_ms),
			     AT(ar->opened_by),
			     AI(now) };
	int rc;

	if (!x->open)
		return sq_stmt_run(c, SQL_INCIDENT_DEL, a, 3, NULL);
	rc = opened_by(c, ar);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_INCIDENT_PUT, a, NARGS(a), NULL);
	return rc;
}

static int decision_write(struct conn *c, const struct apply_run *ar)
{
	const struct mem_decision *d = ar->out;
	struct arg a[12] = { AI(ar->job_id),
			     AI(d->action),
			     AI(d->reason),
			     AI(d->ctx.streak),
			     AI(d->ctx.streak_since_ms),
			     AI(d->ctx.successes_before),
			     AI(d->ctx.usual_ms),
			     AI(d->ctx.duration_ms),
			     AI(d->ctx.slow != 0),
			     AI(d->ctx.held_before),
			     AI(d->ctx.incident_failures),
			     AI(d->ctx.incident_since_ms) };

	return sq_stmt_run(c, SQL_DECISION_PUT, a, NARGS(a), NULL);
}

/* Remembers the run, writes the incident the decision leaves, trims the
 * pipeline to keep runs and keeps the decision on the job. */
static int memory_write(struct conn *c, struct apply_run *ar)
{
	const struct mem_run *ev = ar->ev;
	int64_t now = clock_wall_ms();
	struct arg run[10] = { AT(ar->k->project_id),        AT(ar->k->environment),
			       AT(ar->k->pipeline),          AT(ar->exec),
			       AT(status_names[ev->status]), AI(ev->started_ms),
			       AI(ev->finished_ms),          AT(ar->trigger),
			       AI(u64_bits(ev->signature)),  AI(now) };
	struct arg trim[4] = { run[0], run[1], run[2], AI(ar->keep) };
	struct arg seen[4] = { run[0], run[1], run[2], AI(now) };
	int rc;

	rc = sq_stmt_run(c, SQL_RUN_PUT, run, NARGS(run), NULL);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_SEEN_PUT, seen, NARGS(seen), NULL);
	if (rc == 0)
		rc = incident_write(c, ar, now);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_TRIM, trim, NARGS(trim), NULL);
	if (rc == 0)
		rc = decision_write(c, ar);
	return rc;
}

/* The transaction: the job's stored decision when it has one (with the
 * pipeline's incident as it is now); otherwise decide, and remember
 * unless the run is a duplicate. */
static int apply_tx(struct conn *c, void *ctx)
{
	struct apply_run *ar = ctx;
	struct arg job[1] = { AI(ar->job_id) }, exec[1] = { AT(ar->exec) };
	int found = 0, seen = 0, rc;

	ar->wrote = ar->decided = 0;
	rc = query(c, SQL_DECISION_GET, job, 1, row_decision, ar);
	if (rc == 0 && ar->decided) {
		rc = memory_read(c, ar);
		ar->out->next = ar->inc;
		return rc;
	}
	if (rc == 0)
		rc = query(c, SQL_JOB_EXISTS, job, 1, sq_row_found, &found);
	if (rc == 0 && !found)
		return ERR_NOTFOUND;
	if (rc == 0)
		rc = query(c, SQL_RUN_SEEN, exec, 1, sq_row_found, &seen);
	if (rc == 0)
		rc = memory_read(c, ar);
	if (rc != 0)
		return rc;
	mem_decide(ar->p, ar->hist, ar->n, &ar->inc, ar->ev, seen, ar->out);
	if (seen)
		return 0;
	ar->wrote = 1;
	return memory_write(c, ar);
}

int sq_memory_apply(struct store *base, int64_t job_id, const struct mem_key *k,
		    const char *execution_id, const char *trigger, const struct mem_run *ev,
		    const struct mem_policy *p, size_t keep_runs, struct mem_decision *out)
{
	struct sq_store *s = sq_of(base);
	struct apply_run *ar;
	int rc;

	ar = calloc(1, sizeof(*ar));
	if (ar == NULL)
		return ERR_NOMEM;
	ar->job_id = job_id;
	ar->k = k;
	ar->exec = execution_id;
	ar->trigger = trigger;
	ar->ev = ev;
	ar->p = p;
	ar->keep = (int64_t)keep_runs;
	ar->out = out;
	/* Committed on the bookkeeping connection, which does not wait for
	 * the disk, like delivery outcomes: it survives a crash of the
	 * process (SIGKILL) at once. After a power loss the WAL keeps a
	 * prefix of its transactions, so a decision is lost only together
	 * with everything after it (the delivery outcome included); the job
	 * then runs again from the same state and decides the same. */
	rc = sq_write(s, apply_tx, ar);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	free(ar);
	return rc;
}

/* Reads under the store lock on the bookkeeping connection, like the
 * listings, and decides without writing. */
int sq_memory_preview(struct store *base, const struct mem_key *k, const char *execution_id,
		      const struct mem_run *ev, const struct mem_policy *p,
		      struct mem_decision *out)
{
	struct sq_store *s = sq_of(base);
	struct arg exec[1] = { AT(execution_id) };
	struct apply_run *ar = calloc(1, sizeof(*ar));
	int seen = 0, rc;

	if (ar == NULL)
		return ERR_NOMEM;
	ar->k = k;
	ar->exec = execution_id;
	ar->ev = ev;
	ar->p = p;
	ar->out = out;
	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, SQL_RUN_SEEN, exec, 1, sq_row_found, &seen);
	if (rc == 0)
		rc = memory_read(&s->bk, ar);
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		mem_decide(p, ar->hist, ar->n, &ar->inc, ev, seen, out);
	free(ar);
	return rc;
}

static int row_count(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 1;
}

/* Closed incidents are deleted, so this counts a table as small as the
 * number of pipelines failing now; cheap enough for every scrape. */
int sq_open_incidents(struct store *base, int64_t *n)
{
	struct sq_store *s = sq_of(base);
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, "SELECT count(*) FROM incidents WHERE open = 1", NULL, 0, row_count, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- listings for the CLI ---- */

static const char SQL_INCIDENTS[] =
	"SELECT open, since_ms, last_ms, failures, held, posted, signature, last_post_ms,"
	" project_id, environment, pipeline, opened_by FROM incidents"
	" WHERE ?1 = 0 OR open != 0"
	" ORDER BY since_ms DESC, project_id, environment, pipeline";

struct incidents_run {
	store_incident_fn fn;
	void *ctx;
};

static const char *col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

static int row_incident_list(sqlite3_stmt *st, void *ctx)
{
	struct incidents_run *ir = ctx;
	struct mem_incident_row r;

	memset(&r, 0, sizeof(r));
	incident_from(st, 0, &r.inc);
	r.project_id = col_str(st, 8);
	r.environment = col_str(st, 9);
	r.pipeline = col_str(st, 10);
	r.opened_by = col_str(st, 11);
	ir->fn(ir->ctx, &r);
	return 0;
}

int sq_incidents(struct store *base, int open_only, store_incident_fn fn, void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct incidents_run ir = { fn, ctx };
	struct arg a[1] = { AI(open_only) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, SQL_INCIDENTS, a, 1, row_incident_list, &ir);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

#define RUN_COLS "status, started_ms, finished_ms, signature, execution_id, trigger, recorded_ms"
static const char SQL_HISTORY_ENV[] = "SELECT " RUN_COLS " FROM runs WHERE " KEY_WHERE
				      " ORDER BY finished_ms DESC, id DESC LIMIT ?4";
/* Every environment: no index serves the order, but the CLI asks once. */
static const char SQL_HISTORY_ALL[] =
	"SELECT " RUN_COLS " FROM runs WHERE project_id = ?1 AND pipeline = ?3"
	" ORDER BY finished_ms DESC, id DESC LIMIT ?4";

struct history_run {
	store_run_fn fn;
	void *ctx;
};

static int row_history(sqlite3_stmt *st, void *ctx)
{
	struct history_run *hr = ctx;
	struct mem_run_row r;

	memset(&r, 0, sizeof(r));
	r.run.status = col_status(st, 0);
	r.run.started_ms = sqlite3_column_int64(st, 1);
	r.run.finished_ms = sqlite3_column_int64(st, 2);
	r.run.signature = col_u64(st, 3);
	r.execution_id = col_str(st, 4);
	r.trigger = (const char *)sqlite3_column_text(st, 5);
	r.recorded_ms = sqlite3_column_int64(st, 6);
	hr->fn(hr->ctx, &r);
	return 0;
}

int sq_history(struct store *base, const struct mem_key *k, size_t limit, store_run_fn fn,
	       void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct history_run hr = { fn, ctx };
	struct arg a[4] = { AT(k->project_id), AT(k->environment), AT(k->pipeline),
			    AI(limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, k->environment != NULL ? SQL_HISTORY_ENV : SQL_HISTORY_ALL, a, 4,
		   row_history, &hr);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- forgetting pipelines unseen for long ---- */

/* Pipelines to forget: no run recorded since ?1 (a run's finished time
 * is the sender's word and may be absurd; when it reached us is ours). An
 * index range: the work is in proportion to what is forgotten. */
static const char SQL_PRUNE_FIND[] =
	"SELECT project_id, environment, pipeline FROM pipelines WHERE seen_ms < ?1"
	" ORDER BY seen_ms LIMIT ?2";
/* Inside the write, per pipeline: the row goes only if still unseen (a
 * run may have come since the look), and its runs and incident with it. */
static const char SQL_PRUNE_SEEN[] = "DELETE FROM pipelines WHERE " KEY_WHERE " AND seen_ms < ?4";
static const char SQL_PRUNE_RUNS[] = "DELETE FROM runs WHERE " KEY_WHERE;

struct prune_run {
	int64_t cutoff;
	size_t n;                  /* keys found */
	char *key[PRUNE_BATCH][3]; /* project, environment, pipeline; owned */
	size_t forgotten;          /* pipelines forgotten by the write */
	int nomem;
};

static int row_prune_key(sqlite3_stmt *st, void *ctx)
{
	struct prune_run *pr = ctx;
	int i;

	if (pr->n >= PRUNE_BATCH)
		return 1;
	for (i = 0; i < 3; i++) {
		pr->key[pr->n][i] = strdup(col_str(st, i));
		if (pr->key[pr->n][i] == NULL)
			pr->nomem = 1;
	}
	pr->n++;
	return pr->nomem;
}

static void prune_keys_free(struct prune_run *pr)
{
	size_t k;
	int i;

	for (k = 0; k < pr->n; k++)
		for (i = 0; i < 3; i++)
			free(pr->key[k][i]);
	pr->n = 0;
}

static int prune_tx(struct conn *c, void *ctx)
{
	struct prune_run *pr = ctx;
	size_t k;
	int ch, rc = 0;

	pr->forgotten = 0;
	for (k = 0; k < pr->n && rc == 0; k++) {
		struct arg a[4] = { AT(pr->key[k][0]), AT(pr->key[k][1]), AT(pr->key[k][2]),
				    AI(pr->cutoff) };
		ch = 0;
		rc = sq_stmt_run(c, SQL_PRUNE_SEEN, a, 4, &ch);
		if (rc != 0 || ch == 0)
			continue;
		rc = sq_stmt_run(c, SQL_PRUNE_RUNS, a, 3, NULL);
		if (rc == 0)
			rc = sq_stmt_run(c, SQL_INCIDENT_DEL, a, 3, NULL);
		pr->forgotten++;
	}
	return rc;
}

/* Finds and forgets one batch; *more says whether the batch was full. */
static int prune_batch(struct sq_store *s, struct prune_run *pr, int *more)
{
	struct arg a[2] = { AI(pr->cutoff), AI(PRUNE_BATCH) };
	int rc;

	*more = 0;
	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, SQL_PRUNE_FIND, a, 2, row_prune_key, pr);
	if (rc == 0 && pr->nomem)
		rc = ERR_NOMEM;
	if (rc == 0 && pr->n > 0)
		rc = sq_tx_run(s, &s->bk, prune_tx, pr);
	pthread_mutex_unlock(&s->mu);
	*more = rc == 0 && pr->n == PRUNE_BATCH;
	prune_keys_free(pr);
	return rc;
}

int sq_memory_prune(struct store *base, int64_t unseen_before_ms, size_t *count)
{
	struct sq_store *s = sq_of(base);
	struct prune_run *pr;
	int more = 1, rounds, rc = 0;

	pr = calloc(1, sizeof(*pr));
	if (pr == NULL)
		return ERR_NOMEM;
	pr->cutoff = unseen_before_ms;
	for (rounds = 0; rc == 0 && more && rounds < PRUNE_ROUNDS; rounds++) {
		rc = prune_batch(s, pr, &more);
		if (rc == 0)
			*count += pr->forgotten;
		pr->forgotten = 0;
	}
	free(pr);
	if (rc == 0 && *count > 0)
		log_msg(LOG_INFO, "store: memory: forgot %zu pipeline(s) unseen since %lld", *count,
			(long long)unseen_before_ms);
	return rc;
}
