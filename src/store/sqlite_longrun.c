/* The SQLite backend's long-running runs (store.h): the record that a
 * run has fired, made in the same transaction as the job that tells it,
 * and what that job's message says.
 *
 * long_runs has one row per (project, execution) that fired, so the
 * primary key is the "once ever" promise: INSERT OR IGNORE changes no row
 * for a run that fired before, in this process, an earlier one or a
 * second service on the same file, and the transaction then writes
 * nothing. A row names its job while the job exists (a pruned job leaves
 * the row, job_id NULL) and goes STORE_LONGRUN_KEEP_MS after it fired,
 * found through long_runs_fired. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "sqlite_int.h"

static const char SQL_LR_PRUNE[] = "DELETE FROM long_runs WHERE fired_ms < ?1";
static const char SQL_LR_ADD[] =
	"INSERT OR IGNORE INTO long_runs (project_id, execution_id, job_id, environment,"
	" pipeline, trigger, started_ms, fired_ms, limit_ms, usual_ms, slow, incident_since_ms)"
	" VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char SQL_LR_INCIDENT[] =
	"SELECT since_ms FROM incidents WHERE project_id = ?1 AND environment = ?2"
	" AND pipeline = ?3 AND open != 0";
static const char SQL_LR_JOB[] =
	"INSERT INTO jobs (project_id, execution_id, pipeline_name, environment, status,"
	" status_text, state, attempts, received_ms, not_before_ms, kind)"
	" VALUES (?1, ?2, ?3, ?4, ?5, '', 'queued', 0, ?6, ?6, 2)";
static const char SQL_LR_DLV[] =
	"INSERT OR IGNORE INTO deliveries (job_id, dest, state, attempts, not_before_ms,"
	" updated_ms) VALUES (?1, ?2, 'pending', 0, ?3, ?3)";
static const char SQL_LR_SET_JOB[] =
	"UPDATE long_runs SET job_id = ?3 WHERE project_id = ?1 AND execution_id = ?2";
static const char SQL_LR_NOTICE[] =
	"SELECT l.started_ms, l.fired_ms, l.limit_ms, l.usual_ms, l.incident_since_ms, l.slow,"
	" l.trigger FROM long_runs l JOIN jobs j ON j.id = l.job_id"
	" WHERE l.job_id = ?1 AND j.kind = 2";

_Static_assert(JOB_KIND_LONG_RUNNING == 2, "SQL_LR_JOB and SQL_LR_NOTICE write kind 2");

struct fire_run {
	const struct longrun_fire *f;
	char *const *dests;
	size_t n_dests;
	int64_t now;
	int64_t job_id;
	int64_t since_ms; /* the open incident's start, -1 none */
};

static int row_since(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 1;
}

/* The job of a run that fired now, with its deliveries, named by its
 * record. */
static int fire_job(struct conn *c, struct fire_run *fr)
{
	const struct longrun_fire *f = fr->f;
	struct arg j[6] = { AT(f->project_id),  AT(f->execution_id),          AT(f->pipeline),
			    AT(f->environment), AT(status_names[ST_RUNNING]), AI(fr->now) };
	size_t i;
	int rc;

	rc = sq_stmt_run(c, SQL_LR_JOB, j, NARGS(j), NULL);
	if (rc != 0)
		return rc;
	fr->job_id = sqlite3_last_insert_rowid(c->db);
	sq_moved(c, NO_STATE, JOB_QUEUED, 1);
	for (i = 0; i < fr->n_dests && rc == 0; i++) {
		struct arg d[3] = { AI(fr->job_id), AT(fr->dests[i]), AI(fr->now) };
		rc = sq_stmt_run(c, SQL_LR_DLV, d, NARGS(d), NULL);
	}
	if (rc == 0) {
		struct arg u[3] = { j[0], j[1], AI(fr->job_id) };
		rc = sq_stmt_run(c, SQL_LR_SET_JOB, u, NARGS(u), NULL);
	}
	return rc;
}

/* Inside one transaction: old records go; the run's record is added
 * unless it is there (then nothing is written); with destinations, its
 * job. */
static int fire_tx(struct conn *c, void *ctx)
{
	struct fire_run *fr = ctx;
	const struct longrun_fire *f = fr->f;
	int64_t oldest = fr->now > INT64_MIN + STORE_LONGRUN_KEEP_MS
				 ? fr->now - STORE_LONGRUN_KEEP_MS
				 : INT64_MIN;
	struct arg p[1] = { AI(oldest) };
	struct arg k[3] = { AT(f->project_id), AT(f->environment), AT(f->pipeline) };
	struct arg a[11];
	int added = 0, rc;

	fr->job_id = 0;
	fr->since_ms = -1;
	rc = sq_stmt_run(c, SQL_LR_PRUNE, p, NARGS(p), NULL);
	if (rc == 0)
		rc = sq_query(c, SQL_LR_INCIDENT, k, NARGS(k), row_since, &fr->since_ms,
			      "long-running runs");
	if (rc != 0)
		return rc;
	a[0] = AT(f->project_id);
	a[1] = AT(f->execution_id);
	a[2] = AT(f->environment);
	a[3] = AT(f->pipeline);
	a[4] = AT(f->trigger);
	a[5] = AI(f->started_ms);
	a[6] = AI(fr->now);
	a[7] = AI(f->limit_ms);
	a[8] = AI(f->usual_ms);
	a[9] = AI(f->slow);
	a[10] = AI(fr->since_ms);
	rc = sq_stmt_run(c, SQL_LR_ADD, a, NARGS(a), &added);
	if (rc == 0 && added == 0)
		return ERR_DUPLICATE;
	if (rc == 0 && fr->n_dests > 0)
		rc = fire_job(c, fr);
	return rc;
}

int sq_longrun_fire(struct store *base, const struct longrun_fire *f, char *const *dests,
		    size_t n_dests, int64_t now_ms, int64_t *job_id)
{
	struct fire_run fr = { f, dests, n_dests, now_ms, 0, -1 };
	int rc;

	rc = sq_write(sq_of(base), fire_tx, &fr);
	*job_id = rc == 0 ? fr.job_id : 0;
	return rc;
}

struct notice_look {
	struct longrun_notice *out;
	int found;
};

static int row_notice(sqlite3_stmt *st, void *ctx)
{
	struct notice_look *nl = ctx;
	struct longrun_notice *out = nl->out;

	nl->found = 1;
	out->started_ms = sqlite3_column_int64(st, 0);
	out->at_ms = sqlite3_column_int64(st, 1);
	out->limit_ms = sqlite3_column_int64(st, 2);
	out->usual_ms = sqlite3_column_int64(st, 3);
	out->incident_since_ms = sqlite3_column_int64(st, 4);
	out->slow = sqlite3_column_int64(st, 5) != 0;
	sq_col_text(st, 6, out->trigger, sizeof(out->trigger));
	return 1;
}

int sq_longrun_notice(struct store *base, int64_t job_id, struct longrun_notice *out)
{
	struct sq_store *s = sq_of(base);
	struct arg a[1] = { AI(job_id) };
	struct notice_look nl = { out, 0 };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, SQL_LR_NOTICE, a, 1, row_notice, &nl, "long-running runs");
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && !nl.found)
		rc = ERR_NOTFOUND;
	return rc;
}
