/* The SQLite backend's job and delivery state machine on the bookkeeping
 * connection: claim, delivery outcomes, settle, retry, end, release, the
 * CLI's listing, dead letters and pruning (see Job states in store.c).
 * Every write goes through sq_tx_run(). */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

#define JOB_COLS                                                                 \
	"id, project_id, execution_id, pipeline_name, environment, status,"      \
	" status_text, state, attempts, received_ms, not_before_ms, last_error," \
	" coalesce(followup_of, 0), kind"

static void job_from_row(sqlite3_stmt *st, struct job *j)
{
	char stname[32];

	memset(j, 0, sizeof(*j));
	j->id = sqlite3_column_int64(st, 0);
	sq_col_text(st, 1, j->ev.project_id, sizeof(j->ev.project_id));
	sq_col_text(st, 2, j->ev.execution_id, sizeof(j->ev.execution_id));
	sq_col_text(st, 3, j->ev.pipeline_name, sizeof(j->ev.pipeline_name));
	sq_col_text(st, 4, j->ev.environment, sizeof(j->ev.environment));
	sq_col_text(st, 5, stname, sizeof(stname));
	j->ev.status = status_parse(stname);
	sq_col_text(st, 6, j->ev.status_text, sizeof(j->ev.status_text));
	j->state = (enum job_state)sq_name_index(job_state_names, JOB__MAX,
						 sqlite3_column_text(st, 7));
	j->attempts = sqlite3_column_int(st, 8);
	j->received_ms = sqlite3_column_int64(st, 9);
	j->not_before_ms = sqlite3_column_int64(st, 10);
	sq_col_text(st, 11, j->last_error, sizeof(j->last_error));
	j->followup_of = sqlite3_column_int64(st, 12);
	switch (sqlite3_column_int64(st, 13)) {
	case JOB_KIND_HELD: j->kind = JOB_KIND_HELD; break;
	case JOB_KIND_LONG_RUNNING: j->kind = JOB_KIND_LONG_RUNNING; break;
	case JOB_KIND_ACTION: j->kind = JOB_KIND_ACTION; break;
	default: j->kind = JOB_KIND_RUN; break;
	}
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

	rc = sq_stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		job_from_row(st, out);
	else if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: claim: %s", sqlite3_errmsg(c->db));
	sq_stmt_done(c, st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return rc == SQLITE_ROW ? 0 : sq_map_rc(rc);
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

/* A claim on its way through sq_tx_run(). */
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
	rc = sq_stmt_run(c, SQL_CLAIM, a, 2, NULL);
	if (rc == 0) /* an expired lease stays running */
		sq_moved(c, (int)cr->out->state, JOB_RUNNING, 1);
	return rc;
}

int sq_claim(struct store *base, int64_t now_ms, int64_t lease_ms, struct job *out)
{
	struct sq_store *s = sq_of(base);
	int rc;

	pthread_mutex_lock(&s->mu);
	/* Most claims of an idle or backed-off queue find nothing: look first
	 * without the write lock, which the group commit may hold through an
	 * fsync, and take it only when there is something to claim. */
	rc = claim_pick(&s->bk, now_ms, out);
	if (rc == 0) {
		struct claim_run cr = { now_ms, lease_ms, out };
		rc = sq_tx_run(s, &s->bk, claim_apply, &cr);
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
int sq_job_state(struct conn *c, int64_t job_id, int *state)
{
	sqlite3_stmt *st = NULL;
	struct arg a[1] = { AI(job_id) };
	int rc;

	rc = sq_stmt_get(c, "SELECT state FROM jobs WHERE id = ?1", &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, 1);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*state = sq_name_index(job_state_names, JOB__MAX, sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: state of job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
	sq_stmt_done(c, st);
	if (rc == SQLITE_DONE)
		return ERR_NOTFOUND;
	return rc == SQLITE_ROW ? 0 : sq_map_rc(rc);
}

/* One statement of a write transaction. Every row it touches is a job
 * moved from state from to state to (NO_STATE: the job came or went, or
 * the statement touches deliveries, when both are NO_STATE); ROW_STATE
 * takes from as the state job ?1 had just before the statement. */
#define ROW_STATE (-2)
struct step {
	const char *sql;
	int from, to;
	int counted; /* its rows are the caller's count (and must_touch's) */
};

/* Runs one step inside the open transaction; adds its rows to *counted
 * when it counts. */
static int step_run(struct conn *c, const struct step *sp, const struct arg *a, size_t n,
		    int *counted)
{
	int from = sp->from, ch = 0, rc;

	if (from == ROW_STATE && sq_job_state(c, a[0].i, &from) != 0)
		from = NO_STATE; /* no such job: the statement touches nothing */
	rc = sq_stmt_run(c, sp->sql, a, n, &ch);
	if (rc != 0)
		return rc;
	if (sp->from != NO_STATE || sp->to != NO_STATE)
		sq_moved(c, from, sp->to, ch);
	if (sp->counted)
		*counted += ch;
	return 0;
}

/* Steps on their way through sq_tx_run(). */
struct steps_run {
	const struct step *steps;
	size_t n_steps;
	const struct arg *a;
	size_t n;
	int must_touch;
	int counted; /* rows touched by the counted steps */
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
static int write_tx(struct sq_store *s, const struct step *steps, size_t n_steps,
		    const struct arg *a, size_t n, int must_touch, int *changes)
{
	struct steps_run sr = { steps, n_steps, a, n, must_touch, 0 };
	int rc;

	rc = sq_write(s, steps_apply, &sr);
	if (changes != NULL)
		*changes = rc == 0 ? sr.counted : 0;
	return rc;
}

/* One statement on one job (?1) that must exist, moving it to state to. */
static int write_one(struct sq_store *s, const char *sql, int to, const struct arg *a, size_t n)
{
	const struct step st[1] = { { sql, ROW_STATE, to, 1 } };

	return write_tx(s, st, 1, a, n, 1, NULL);
}

int sq_job_retry(struct store *base, int64_t job_id, int64_t not_before_ms, const char *error)
{
	struct arg a[3] = { AI(job_id), AI(not_before_ms), AT(error) };

	return write_one(sq_of(base),
			 "UPDATE jobs SET state = 'queued', not_before_ms = ?2,"
			 " last_error = ?3, lease_until_ms = NULL WHERE id = ?1",
			 JOB_QUEUED, a, 3);
}

int sq_job_note(struct store *base, int64_t job_id, const char *error)
{
	const struct step st[1] = { { "UPDATE jobs SET last_error = ?2 WHERE id = ?1", NO_STATE,
				      NO_STATE, 1 } };
	struct arg a[2] = { AI(job_id), AT(error) };

	return write_tx(sq_of(base), st, 1, a, 2, 1, NULL);
}

int sq_job_release(struct store *base, int64_t job_id)
{
	struct arg a[1] = { AI(job_id) };

	return write_one(sq_of(base),
			 "UPDATE jobs SET state = 'queued', lease_until_ms = NULL,"
			 " attempts = max(attempts - 1, 0)"
			 " WHERE id = ?1 AND state = 'running'",
			 JOB_QUEUED, a, 1);
}

int sq_job_end(struct store *base, int64_t job_id, enum job_state st, const char *reason)
{
	/* There is no "ignored" delivery state: a delivery that will never
	 * be attempted is dead either way, with the reason as its error. */
	const struct step steps[2] = {
		{ "UPDATE jobs SET state = ?2, last_error = ?3, finished_ms = ?4,"
		  " lease_until_ms = NULL WHERE id = ?1",
		  ROW_STATE, (int)st, 1 },
		{ "UPDATE deliveries SET state = 'dead', last_error = ?3, updated_ms = ?4"
		  " WHERE job_id = ?1 AND state = 'pending'",
		  NO_STATE, NO_STATE, 0 },
	};
	struct arg a[4] = { AI(job_id), AT(job_state_names[st]), AT(reason), AI(clock_wall_ms()) };

	return write_tx(sq_of(base), steps, 2, a, 4, 1, NULL);
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
	rc = sq_stmt_get(c,
			 "SELECT state, count(*), min(not_before_ms) FROM deliveries"
			 " WHERE job_id = ?1 GROUP BY state",
			 &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, 1);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int i = sq_name_index(dlv_state_names, DLV__MAX, sqlite3_column_text(st, 0));
		cnt[i] = sqlite3_column_int64(st, 1);
		if (i == DLV_PENDING)
			*min_nb = sqlite3_column_int64(st, 2);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: settle job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
	sq_stmt_done(c, st);
	return sq_map_rc(rc);
}

int sq_settle_apply(struct conn *c, int64_t job_id)
{
	int64_t cnt[DLV__MAX], min_nb, now = clock_wall_ms();
	enum job_state next;
	struct arg a[4];
	int ch = 0, prev = NO_STATE, rc;

	rc = sq_job_state(c, job_id, &prev);
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
	rc = sq_stmt_run(
		c,
		next == JOB_QUEUED
			? "UPDATE jobs SET state = ?2, not_before_ms = ?3, lease_until_ms = NULL"
			  " WHERE id = ?1"
			: "UPDATE jobs SET state = ?2, finished_ms = ?4, lease_until_ms = NULL,"
			  " last_error = coalesce((SELECT substr(group_concat(dest || ': ' ||"
			  " coalesce(last_error, 'failed'), '; '), 1, 255) FROM deliveries"
			  " WHERE job_id = ?1 AND state = 'dead'), last_error)"
			  " WHERE id = ?1",
		a, 4, &ch);
	if (rc == 0 && ch == 0)
		rc = ERR_NOTFOUND;
	if (rc == 0)
		sq_moved(c, prev, (int)next, ch);
	return rc;
}

static int settle_run(struct conn *c, void *ctx)
{
	return sq_settle_apply(c, *(const int64_t *)ctx);
}

int sq_job_settle(struct store *base, int64_t job_id)
{
	return sq_write(sq_of(base), settle_run, &job_id);
}

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
	sq_col_text(st, 1, d->dest, sizeof(d->dest));
	d->state = (enum dlv_state)sq_name_index(dlv_state_names, DLV__MAX,
						 sqlite3_column_text(st, 2));
	d->attempts = sqlite3_column_int(st, 3);
	d->not_before_ms = sqlite3_column_int64(st, 4);
	sq_col_text(st, 6, d->last_error, sizeof(d->last_error));
	d->follows_ms = sqlite3_column_int64(st, 7);
	d->grouped = sqlite3_column_int(st, 8) != 0;
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

	rc = sq_stmt_get(
		c,
		"SELECT job_id, dest, state, attempts, not_before_ms,"
		" payload, last_error, follows_ms, grouped FROM deliveries WHERE job_id = ?1"
		" AND state = 'pending' ORDER BY dest",
		&st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, 1);
	while (rc == SQLITE_OK && err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = dlv_grow(out, &cap, *n);
		if (err == 0)
			err = dlv_from_row(st, &(*out)[(*n)++]);
		rc = SQLITE_OK;
	}
	if (err == 0 && rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: deliveries of job %lld: %s", (long long)job_id,
			sqlite3_errmsg(c->db));
		err = sq_map_rc(rc);
	}
	sq_stmt_done(c, st);
	return err;
}

int sq_deliveries(struct store *base, int64_t job_id, struct delivery **out, size_t *n)
{
	struct sq_store *s = sq_of(base);
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = dlv_read(&s->bk, job_id, out, n);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* One outcome per delivery state. Arguments: ?1 job, ?2 dest, ?3 now,
 * ?4 not_before, ?5 error, ?6 payload (NULL keeps the stored one), ?7
 * attempts to add, ?8 promise, ?9 the run's line when held back for a
 * grouped message (NULL: not held), ?10 the created message's id. A body that promised details is only ever
 * rendered for a delivery with no stored payload, so promised goes up with
 * a new payload or a fresh post and never down otherwise. */
static const char *const SQL_DLV_RECORD[DLV__MAX] = {
	[DLV_PENDING] = "UPDATE deliveries SET attempts = attempts + ?7, not_before_ms = ?4,"
			" last_error = ?5, payload = coalesce(?6, payload), updated_ms = ?3,"
			" promised = CASE WHEN ?6 IS NULL THEN promised ELSE ?8 END,"
			" grouped = CASE WHEN ?9 IS NULL THEN grouped ELSE 1 END,"
			" group_item = coalesce(?9, group_item)"
			" WHERE job_id = ?1 AND dest = ?2 AND state = 'pending'",
	[DLV_DELIVERED] = "UPDATE deliveries SET state = 'delivered', attempts = attempts + ?7,"
			  " last_error = NULL, updated_ms = ?3, promised = max(promised, ?8),"
			  " message_id = ?10"
			  " WHERE job_id = ?1 AND dest = ?2",
	[DLV_DEAD] = "UPDATE deliveries SET state = 'dead', attempts = attempts + ?7,"
		     " last_error = ?5, payload = coalesce(?6, payload), updated_ms = ?3,"
		     " promised = CASE WHEN ?6 IS NULL THEN promised ELSE ?8 END"
		     " WHERE job_id = ?1 AND dest = ?2 AND state = 'pending'",
};

/* One outcome on its way through sq_tx_run(). */
struct record_run {
	int64_t job_id;
	const char *dest;
	const struct dlv_outcome *o;
	int settle;
};

/* The follow-up of a delivered notice that promised details. Arguments:
 * ?1 job, ?2 dest, ?3 now, ?4 the follow-up's first not_before. The job
 * row copies the run's identity and received time (its max_age counts
 * from the webhook), and no follow-up gets a follow-up. */
static const char SQL_FU_PROMISED[] =
	"SELECT 1 FROM deliveries d JOIN jobs j ON j.id = d.job_id WHERE d.job_id = ?1"
	" AND d.dest = ?2 AND d.promised = 1 AND j.followup_of IS NULL";
static const char SQL_FU_JOB[] =
	"INSERT OR IGNORE INTO jobs (project_id, execution_id, pipeline_name, environment,"
	" status, status_text, state, attempts, received_ms, not_before_ms, followup_of)"
	" SELECT project_id, execution_id, pipeline_name, environment, status, status_text,"
	" 'queued', 0, received_ms, ?4, id FROM jobs WHERE id = ?1";
static const char SQL_FU_FIND[] = "SELECT id, state FROM jobs WHERE followup_of = ?1";
static const char SQL_FU_DLV[] =
	"INSERT OR IGNORE INTO deliveries (job_id, dest, state, attempts, not_before_ms,"
	" updated_ms, follows_ms) VALUES (?5, ?2, 'pending', 0, ?4, ?3, ?3)";
/* A follow-up that already finished gets a new destination: it runs
 * again for that one (its delivered rows are never posted twice). */
static const char SQL_FU_REQUEUE[] =
	"UPDATE jobs SET state = 'queued', not_before_ms = ?4, finished_ms = NULL,"
	" lease_until_ms = NULL WHERE id = ?5 AND state IN ('delivered', 'dead', 'ignored')";

/* Runs a one-row query with a[]; *found says whether it had a row, whose
 * first two columns go to *v0 and (as a job state index) *v1. */
static int row_get(struct conn *c, const char *sql, const struct arg *a, size_t n, int *found,
		   int64_t *v0, int *v1)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	rc = sq_stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = 1;
		*v0 = sqlite3_column_int64(st, 0);
		if (v1 != NULL)
			*v1 = sq_name_index(job_state_names, JOB__MAX, sqlite3_column_text(st, 1));
	} else if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: %s: %s", sql, sqlite3_errmsg(c->db));
	}
	sq_stmt_done(c, st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_map_rc(rc);
}

/* After rr's delivery was recorded delivered: when its body promised
 * details, makes sure the follow-up job exists and has a pending delivery
 * to the same destination (see store_delivery_record()). A repeated
 * record finds both and changes nothing. */
static int followup_ensure(struct conn *c, const struct record_run *rr, int64_t now)
{
	struct arg a[5] = { AI(rr->job_id), AT(rr->dest), AI(now), AI(rr->o->followup_at_ms),
			    AI(0) };
	int64_t one = 0, fid = 0;
	int found = 0, fstate = NO_STATE, ch = 0, rc;

	rc = row_get(c, SQL_FU_PROMISED, a, 2, &found, &one, NULL);
	if (rc != 0 || !found)
		return rc;
	rc = sq_stmt_run(c, SQL_FU_JOB, a, 4, &ch);
	if (rc == 0 && ch > 0)
		sq_moved(c, NO_STATE, JOB_QUEUED, ch);
	if (rc == 0)
		rc = row_get(c, SQL_FU_FIND, a, 1, &found, &fid, &fstate);
	if (rc != 0 || !found)
		return rc != 0 ? rc : ERR_IO;
	a[4] = AI(fid);
	rc = sq_stmt_run(c, SQL_FU_DLV, a, 5, &ch);
	if (rc != 0 || ch == 0)
		return rc;
	rc = sq_stmt_run(c, SQL_FU_REQUEUE, a, 5, &ch);
	if (rc == 0 && ch > 0)
		sq_moved(c, fstate, JOB_QUEUED, ch);
	return rc;
}

/* Writes outcome o of job_id's delivery to dest, then settles the job
 * when settle is set. ERR_NOTFOUND (nothing to record: no commit, no
 * verdict) when there is no such delivery (or no longer a pending one)
 * or no such job. */
static int record_apply(struct conn *c, void *ctx)
{
	const struct record_run *rr = ctx;
	const struct dlv_outcome *o = rr->o;
	int64_t now = clock_wall_ms();
	struct arg a[10] = { AI(rr->job_id),
			     AT(rr->dest),
			     AI(now),
			     AI(o->not_before_ms),
			     AT(o->error),
			     AT(o->payload),
			     AI(o->state == DLV_PENDING && o->deferred ? 0 : 1),
			     AI(o->promise ? 1 : 0),
			     AT(o->state == DLV_PENDING ? o->group_item : NULL),
			     AT(o->state == DLV_DELIVERED ? o->message_id : NULL) };
	int ch = 0, rc;

	rc = sq_stmt_run(c, SQL_DLV_RECORD[o->state], a, NARGS(a), &ch);
	if (rc == 0 && ch == 0)
		rc = ERR_NOTFOUND;
	if (rc == 0 && o->state == DLV_DELIVERED)
		rc = followup_ensure(c, rr, now);
	if (rc == 0 && rr->settle)
		rc = sq_settle_apply(c, rr->job_id);
	return rc;
}

int sq_delivery_record(struct store *base, int64_t job_id, const char *dest,
		       const struct dlv_outcome *o, int settle)
{
	struct record_run rr = { job_id, dest, o, settle };

	return sq_write(sq_of(base), record_apply, &rr);
}

/* A delivered job with a destination given up on. */
#define DEAD_DEST                                                       \
	"(state = 'delivered' AND id IN (SELECT job_id FROM deliveries" \
	" WHERE state = 'dead'))"

int sq_list(struct store *base, int st, size_t limit, store_job_fn fn, void *ctx)
{
	struct sq_store *s = sq_of(base);
	sqlite3_stmt *sq = NULL;
	struct arg a[2];
	struct job j;
	int rc;

	a[0] = AT(st < 0 ? NULL : job_state_names[st]);
	a[1] = AI(limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit);
	pthread_mutex_lock(&s->mu);
	/* "dead" lists dead jobs and delivered jobs with a dead destination:
	 * both are dead letters someone has to look at. */
	rc = sq_stmt_get(&s->bk,
			 "SELECT " JOB_COLS " FROM jobs WHERE ?1 IS NULL"
			 " OR state = ?1 OR (?1 = 'dead' AND " DEAD_DEST ")"
			 " ORDER BY id DESC LIMIT ?2",
			 &sq);
	if (rc == SQLITE_OK)
		rc = sq_bind(sq, a, 2);
	while (rc == SQLITE_OK && (rc = sqlite3_step(sq)) == SQLITE_ROW) {
		job_from_row(sq, &j);
		fn(ctx, &j);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: list: %s", sqlite3_errmsg(s->bk.db));
	sq_stmt_done(&s->bk, sq);
	pthread_mutex_unlock(&s->mu);
	return sq_map_rc(rc);
}

int sq_dead_retry(struct store *base, int64_t job_id, size_t *count)
{
	/* Dead deliveries of dead or delivered jobs become pending; then every
	 * such job that has a pending delivery again is queued. A delivered
	 * job keeps its delivered destinations, so only the dead ones post. */
	static const struct step steps[3] = {
		{ "UPDATE deliveries SET state = 'pending', attempts = 0, not_before_ms = ?2,"
		  " last_error = NULL, updated_ms = ?2 WHERE state = 'dead' AND job_id IN"
		  " (SELECT id FROM jobs WHERE state IN ('dead', 'delivered')"
		  " AND (?1 < 0 OR id = ?1))",
		  NO_STATE, NO_STATE, 0 },
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
	struct arg a[2] = { AI(job_id), AI(clock_wall_ms()) };
	int ch = 0, rc;

	rc = write_tx(sq_of(base), steps, 3, a, 2, job_id >= 0, &ch);
	*count = (size_t)ch;
	return rc;
}

int sq_dead_purge(struct store *base, int64_t older_than_s, size_t *count)
{
	/* Dead jobs go whole; a delivered job loses only its dead deliveries. */
	static const struct step steps[2] = {
		{ "DELETE FROM jobs WHERE state = 'dead'"
		  " AND coalesce(finished_ms, received_ms) <= ?1",
		  JOB_DEAD, NO_STATE, 1 },
		{ "DELETE FROM deliveries WHERE state = 'dead' AND updated_ms <= ?1"
		  " AND job_id IN (SELECT id FROM jobs WHERE state = 'delivered')",
		  NO_STATE, NO_STATE, 1 },
	};
	struct arg a[1] = { AI(clock_wall_ms() - older_than_s * 1000) };
	int ch = 0, rc;

	rc = write_tx(sq_of(base), steps, 2, a, 1, 0, &ch);
	*count = (size_t)ch;
	return rc;
}

int sq_prune(struct store *base, int64_t window_s)
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
	struct arg a[1] = { AI(clock_wall_ms() - window_s * 1000) };

	return write_tx(sq_of(base), steps, 2, a, 1, 0, NULL);
}
