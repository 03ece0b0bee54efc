/* The SQLite backend's Slack button clicks (store.h, "Slack button
 * clicks"): each click one row of actions with the queued JOB_KIND_ACTION
 * job that carries it out, the acknowledgements of incidents, and the
 * execution tags re-runs asked for. Clicks are few (people press
 * buttons), so every write here is a small transaction on the
 * bookkeeping connection; a click is made durable (fdatasync of the WAL)
 * before Slack is answered. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

#define ACTION_COLS                                                                       \
	"id, job_id, kind, user_id, user_name, value, channel, message_ts, response_url," \
	" action_ts, received_ms, result, detail, project_id, environment, pipeline, done_ms"

static const char SQL_PUT[] =
	"INSERT OR IGNORE INTO actions (kind, user_id, user_name, value, channel, message_ts,"
	" response_url, action_ts, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_FIND[] = "SELECT id FROM actions WHERE user_id = ?2 AND action_ts = ?8"
			       " AND kind = ?1 AND channel = ?5 AND message_ts = ?6";
/* The job's identity is the click's, so it never meets a run's dedup key. */
static const char SQL_JOB[] =
	"INSERT INTO jobs (project_id, execution_id, pipeline_name, environment, status,"
	" status_text, state, attempts, received_ms, not_before_ms, kind)"
	" VALUES ('', ?2, '', '', 'UNKNOWN', ?3, 'queued', 0, ?4, ?4, 3)";
static const char SQL_SET_JOB[] = "UPDATE actions SET job_id = ?2 WHERE id = ?1";
static const char SQL_OF_JOB[] = "SELECT " ACTION_COLS " FROM actions WHERE job_id = ?1";
static const char SQL_FINISH[] =
	"UPDATE actions SET result = ?2, detail = ?3, project_id = ?4, environment = ?5,"
	" pipeline = ?6, done_ms = ?7 WHERE id = ?1";
static const char SQL_JOB_DONE[] =
	"UPDATE jobs SET state = 'delivered', last_error = ?3, finished_ms = ?2,"
	" lease_until_ms = NULL WHERE id = ?1 AND kind = 3";
_Static_assert(JOB_KIND_ACTION == 3, "SQL_JOB and SQL_JOB_DONE write kind 3");
static const char SQL_OPEN_SINCE[] = "SELECT 1 FROM incidents WHERE project_id = ?1"
				     " AND environment = ?2 AND pipeline = ?3 AND open != 0"
				     " AND since_ms = ?4";
static const char SQL_ACK[] =
	"INSERT OR REPLACE INTO incident_acks (project_id, environment, pipeline, since_ms,"
	" user_id, user_name, acked_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_RERUN_PUT[] =
	"INSERT OR IGNORE INTO reruns (tag, action_id, created_ms) VALUES (?1, ?2, ?3)";
static const char SQL_RERUN_GET[] = "SELECT action_id FROM reruns WHERE tag = ?1";
static const char SQL_LIST[] = "SELECT " ACTION_COLS " FROM actions ORDER BY id DESC LIMIT ?1";

static int row_id(sqlite3_stmt *st, void *ctx)
{
	*(int64_t *)ctx = sqlite3_column_int64(st, 0);
	return 1;
}

/* One row in ACTION_COLS order into *a. */
static void action_from(sqlite3_stmt *st, struct action *a)
{
	char kind[16];

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(st, 0);
	a->job_id = sqlite3_column_int64(st, 1);
	sq_col_text(st, 2, kind, sizeof(kind));
	a->kind = (enum action_kind)sq_name_index(action_names, ACT__MAX,
						  (const unsigned char *)kind);
	sq_col_text(st, 3, a->user_id, sizeof(a->user_id));
	sq_col_text(st, 4, a->user_name, sizeof(a->user_name));
	sq_col_text(st, 5, a->value, sizeof(a->value));
	sq_col_text(st, 6, a->channel, sizeof(a->channel));
	sq_col_text(st, 7, a->message_ts, sizeof(a->message_ts));
	sq_col_text(st, 8, a->response_url, sizeof(a->response_url));
	sq_col_text(st, 9, a->action_ts, sizeof(a->action_ts));
	a->received_ms = sqlite3_column_int64(st, 10);
	sq_col_text(st, 11, a->result, sizeof(a->result));
	sq_col_text(st, 12, a->detail, sizeof(a->detail));
	sq_col_text(st, 13, a->project_id, sizeof(a->project_id));
	sq_col_text(st, 14, a->environment, sizeof(a->environment));
	sq_col_text(st, 15, a->pipeline, sizeof(a->pipeline));
	a->done_ms = sqlite3_column_int64(st, 16);
}

struct put_run {
	const struct action *a;
	int64_t now, id;
	int dup;
};

static int put_tx(struct conn *c, void *ctx)
{
	struct put_run *pr = ctx;
	const struct action *a = pr->a;
	struct arg k[9] = { AT(action_names[a->kind]),
			    AT(a->user_id),
			    AT(a->user_name),
			    AT(a->value),
			    AT(a->channel),
			    AT(a->message_ts),
			    AT(a->response_url),
			    AT(a->action_ts),
			    AI(pr->now) };
	char exec[40];
	struct arg j[4];
	int changes = 0, rc;
	int64_t job;

	rc = sq_stmt_run(c, SQL_PUT, k, NARGS(k), &changes);
	if (rc == 0 && changes == 0) {
		pr->dup = 1;
		rc = sq_query(c, SQL_FIND, k, NARGS(k), row_id, &pr->id, "actions");
		return rc == 0 ? ERR_DUPLICATE : rc;
	}
	if (rc)
		return rc;
	pr->id = sqlite3_last_insert_rowid(c->db);
	snprintf(exec, sizeof(exec), "action:%" PRId64, pr->id);
	j[0] = AI(0);
	j[1] = AT(exec);
	j[2] = AT(action_names[a->kind]);
	j[3] = AI(pr->now);
	rc = sq_stmt_run(c, SQL_JOB, j, NARGS(j), NULL);
	if (rc)
		return rc;
	job = sqlite3_last_insert_rowid(c->db);
	sq_moved(c, NO_STATE, JOB_QUEUED, 1);
	j[0] = AI(pr->id);
	j[1] = AI(job);
	return sq_stmt_run(c, SQL_SET_JOB, j, 2, NULL);
}

int sq_action_put(struct store *base, const struct action *a, int64_t now_ms, int64_t *id)
{
	struct sq_store *s = sq_of(base);
	struct put_run pr = { a, now_ms, 0, 0 };
	int rc;

	rc = sq_write(s, put_tx, &pr);
	/* Slack is told the click arrived only once it survives a power
	 * loss: it does not send it again after a 200. */
	if (rc == 0)
		rc = sq_sync_wal(s);
	if (rc == 0 || rc == ERR_DUPLICATE)
		*id = pr.id;
	return rc;
}

static int row_action(sqlite3_stmt *st, void *ctx)
{
	action_from(st, ctx);
	return 1;
}

int sq_action_of_job(struct store *base, int64_t job_id, struct action *out)
{
	struct sq_store *s = sq_of(base);
	struct arg a[1] = { AI(job_id) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, SQL_OF_JOB, a, 1, row_action, out, "actions");
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && out->id == 0)
		return ERR_NOTFOUND;
	return rc;
}

struct finish_run {
	const struct action *a;
	int64_t now;
};

static int finish_tx(struct conn *c, void *ctx)
{
	struct finish_run *fr = ctx;
	const struct action *a = fr->a;
	struct arg f[7] = { AI(a->id),          AT(a->result),   AT(a->detail), AT(a->project_id),
			    AT(a->environment), AT(a->pipeline), AI(fr->now) };
	struct arg j[3] = { AI(a->job_id), AI(fr->now), AT(a->detail) };
	int changes = 0, state = -1, rc;

	rc = sq_stmt_run(c, SQL_FINISH, f, NARGS(f), &changes);
	if (rc == 0 && changes == 0)
		return ERR_NOTFOUND;
	if (rc != 0 || a->job_id <= 0)
		return rc;
	rc = sq_job_state(c, a->job_id, &state);
	if (rc == ERR_NOTFOUND)
		return 0; /* pruned already: the click's own row is what counts */
	if (rc == 0 && state != JOB_DELIVERED) {
		rc = sq_stmt_run(c, SQL_JOB_DONE, j, NARGS(j), &changes);
		if (rc == 0 && changes > 0)
			sq_moved(c, state, JOB_DELIVERED, 1);
	}
	return rc;
}

int sq_action_finish(struct store *base, const struct action *a, int64_t now_ms)
{
	struct finish_run fr = { a, now_ms };

	return sq_write(sq_of(base), finish_tx, &fr);
}

struct ack_run {
	const struct mem_key *k;
	int64_t since, now;
	const char *user_id, *user_name;
};

static int ack_tx(struct conn *c, void *ctx)
{
	struct ack_run *ar = ctx;
	const char *env = ar->k->environment != NULL ? ar->k->environment : "";
	struct arg a[7] = {
		AT(ar->k->project_id), AT(env),           AT(ar->k->pipeline), AI(ar->since),
		AT(ar->user_id),       AT(ar->user_name), AI(ar->now)
	};
	int found = 0, rc;

	rc = sq_query(c, SQL_OPEN_SINCE, a, 4, sq_row_found, &found, "incident ack");
	if (rc == 0 && !found)
		return ERR_NOTFOUND;
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_ACK, a, NARGS(a), NULL);
	return rc;
}

int sq_incident_ack(struct store *base, const struct mem_key *k, int64_t since_ms,
		    const char *user_id, const char *user_name, int64_t now_ms)
{
	struct ack_run ar = { k, since_ms, now_ms, user_id, user_name };

	return sq_write(sq_of(base), ack_tx, &ar);
}

struct rerun_run {
	const char *tag;
	int64_t action_id, now;
	int first;
};

static int rerun_tx(struct conn *c, void *ctx)
{
	struct rerun_run *rr = ctx;
	struct arg a[3] = { AT(rr->tag), AI(rr->action_id), AI(rr->now) };
	int64_t owner = 0;
	int changes = 0, rc;

	rc = sq_stmt_run(c, SQL_RERUN_PUT, a, NARGS(a), &changes);
	if (rc == 0 && changes == 0)
		rc = sq_query(c, SQL_RERUN_GET, a, 1, row_id, &owner, "reruns");
	rr->first = rc == 0 && (changes > 0 || owner == rr->action_id);
	return rc;
}

int sq_rerun_claim(struct store *base, const char *tag, int64_t action_id, int64_t now_ms,
		   int *first)
{
	struct sq_store *s = sq_of(base);
	struct rerun_run rr = { tag, action_id, now_ms, 0 };
	int rc;

	rc = sq_write(s, rerun_tx, &rr);
	/* The claim must outlive a power loss, or a second click after one
	 * could start a second run. */
	if (rc == 0)
		rc = sq_sync_wal(s);
	if (rc == 0)
		*first = rr.first;
	return rc;
}

struct list_run {
	store_action_fn fn;
	void *ctx;
};

static int row_list(sqlite3_stmt *st, void *ctx)
{
	struct list_run *lr = ctx;
	struct action a;

	action_from(st, &a);
	lr->fn(lr->ctx, &a);
	return 0;
}

int sq_actions(struct store *base, size_t limit, store_action_fn fn, void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct list_run lr = { fn, ctx };
	struct arg a[1] = { AI(limit == 0 || limit > INT64_MAX ? -1 : (int64_t)limit) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, SQL_LIST, a, 1, row_list, &lr, "actions");
	pthread_mutex_unlock(&s->mu);
	return rc;
}
