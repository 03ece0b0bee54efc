/* The SQLite backend's silences (store.h, "silences"): one row per
 * silence, added and ended by the CLI on the bookkeeping connection and
 * read by the worker once per run it remembers. A removed silence is not
 * deleted: it ends at the time of its removal (removed_ms says so), so
 * `silence list --all` still shows it. Rows are few (people add them by
 * hand) and the worker's question reads only those not yet ended, through
 * the index on end_ms. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

#define SILENCE_COLS                                                                   \
	"id, project_id, pipeline, environment, start_ms, end_ms, reason, created_ms," \
	" removed_ms"

static const char SQL_ADD[] = "INSERT INTO silences (project_id, pipeline, environment, start_ms,"
			      " end_ms, reason, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
/* Ends a silence not yet ended or removed; a future one ends before it
 * starts (empty), so it never covers anything. */
static const char SQL_REMOVE[] = "UPDATE silences SET end_ms = max(start_ms, ?2), removed_ms = ?2"
				 " WHERE id = ?1 AND removed_ms < 0 AND end_ms > ?2";
static const char SQL_LIVE[] = "SELECT " SILENCE_COLS " FROM silences"
			       " WHERE end_ms > ?1 AND removed_ms < 0 ORDER BY start_ms, id";
static const char SQL_ALL[] = "SELECT " SILENCE_COLS " FROM silences ORDER BY start_ms, id";
/* The worker's question: silences that may cover now (index range). */
static const char SQL_COVERING[] = "SELECT " SILENCE_COLS " FROM silences"
				   " WHERE end_ms > ?1 AND start_ms <= ?1";

static const char *col_str(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

/* One row in SILENCE_COLS order; strings borrowed from st. */
static void silence_from(sqlite3_stmt *st, struct silence *x)
{
	x->id = sqlite3_column_int64(st, 0);
	x->project_id = col_str(st, 1);
	x->pipeline = col_str(st, 2);
	x->environment = col_str(st, 3);
	x->start_ms = sqlite3_column_int64(st, 4);
	x->end_ms = sqlite3_column_int64(st, 5);
	x->reason = col_str(st, 6);
	x->created_ms = sqlite3_column_int64(st, 7);
	x->removed_ms = sqlite3_column_int64(st, 8);
}

/* Calls row for each row of sql with a[0..n), with mu held, until it
 * returns nonzero. 0, ERR_IO or ERR_NOMEM. */
typedef int (*silence_row_fn)(const struct silence *x, void *ctx);

static int read_rows(struct sq_store *s, const char *sql, const struct arg *a, size_t n,
		     silence_row_fn row, void *ctx)
{
	struct silence x;
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_stmt_get(&s->bk, sql, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, n);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		silence_from(st, &x);
		rc = row(&x, ctx) == 0 ? SQLITE_OK : SQLITE_DONE;
	}
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: silences: %s", sqlite3_errmsg(s->bk.db));
	sq_stmt_done(&s->bk, st);
	pthread_mutex_unlock(&s->mu);
	return sq_map_rc(rc);
}

struct add_run {
	const struct silence *in;
	int64_t id;
};

static int add_tx(struct conn *c, void *ctx)
{
	struct add_run *ar = ctx;
	const struct silence *x = ar->in;
	struct arg a[7] = { AT(x->project_id), AT(x->pipeline), AT(x->environment), AI(x->start_ms),
			    AI(x->end_ms),     AT(x->reason),   AI(x->created_ms) };
	int rc = sq_stmt_run(c, SQL_ADD, a, NARGS(a), NULL);

	if (rc == 0)
		ar->id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

int sq_silence_add(struct store *base, const struct silence *in, int64_t *id)
{
	struct sq_store *s = sq_of(base);
	struct add_run ar = { in, 0 };
	int rc;

	rc = sq_write(s, add_tx, &ar);
	/* A silence someone was told is in place must survive a power loss. */
	if (rc == 0)
		rc = sq_sync_wal(s);
	if (rc == 0)
		*id = ar.id;
	return rc;
}

struct remove_run {
	int64_t id, now;
};

static int remove_tx(struct conn *c, void *ctx)
{
	struct remove_run *rr = ctx;
	struct arg a[2] = { AI(rr->id), AI(rr->now) };
	int ch = 0, rc = sq_stmt_run(c, SQL_REMOVE, a, 2, &ch);

	return rc == 0 && ch == 0 ? ERR_NOTFOUND : rc;
}

int sq_silence_remove(struct store *base, int64_t id, int64_t now_ms)
{
	struct sq_store *s = sq_of(base);
	struct remove_run rr = { id, now_ms };
	int rc = sq_write(s, remove_tx, &rr);

	if (rc == 0)
		rc = sq_sync_wal(s);
	return rc;
}

struct list_run {
	store_silence_fn fn;
	void *ctx;
};

static int row_list(const struct silence *x, void *ctx)
{
	struct list_run *lr = ctx;

	lr->fn(lr->ctx, x);
	return 0;
}

int sq_silences(struct store *base, int all, int64_t now_ms, store_silence_fn fn, void *ctx)
{
	struct list_run lr = { fn, ctx };
	struct arg a[1] = { AI(now_ms) };

	return read_rows(sq_of(base), all ? SQL_ALL : SQL_LIVE, a, all ? 0 : 1, row_list, &lr);
}

struct covered_run {
	const struct mem_key *k;
	int64_t now;
	int yes;
};

static int row_covers(const struct silence *x, void *ctx)
{
	struct covered_run *cr = ctx;

	cr->yes =
		silence_matches(x, cr->k->project_id, cr->k->environment, cr->k->pipeline, cr->now);
	return cr->yes;
}

struct covering_run {
	const struct mem_key *k;
	int64_t now;
	store_silence_fn fn;
	void *ctx;
};

static int row_covering(const struct silence *x, void *ctx)
{
	struct covering_run *cv = ctx;

	if (silence_matches(x, cv->k->project_id, cv->k->environment, cv->k->pipeline, cv->now))
		cv->fn(cv->ctx, x);
	return 0;
}

int sq_silenced(struct store *base, const struct mem_key *k, int64_t now_ms, int *yes)
{
	struct covered_run cr = { k, now_ms, 0 };
	struct arg a[1] = { AI(now_ms) };
	int rc = read_rows(sq_of(base), SQL_COVERING, a, 1, row_covers, &cr);

	*yes = rc == 0 && cr.yes;
	return rc;
}

int sq_silences_covering(struct store *base, const struct mem_key *k, int64_t now_ms,
			 store_silence_fn fn, void *ctx)
{
	struct covering_run cv = { k, now_ms, fn, ctx };
	struct arg a[1] = { AI(now_ms) };

	return read_rows(sq_of(base), SQL_COVERING, a, 1, row_covering, &cv);
}

/* ---- what silences held back ----
 * Notes are few (pipelines held back now) and each is read by key, so
 * the service's look for due ones, every few seconds, reads the whole
 * small table; a silence's end is read from its row each time, so a
 * `silence remove` makes its notes due at once. */

#define HELD_KEY "project_id = ?1 AND environment = ?2 AND pipeline = ?3"
/* The end of a note's silence or window as it stands now. */
#define HELD_UNTIL                                                              \
	"CASE WHEN h.silence_id > 0 THEN coalesce((SELECT end_ms FROM silences" \
	" WHERE id = h.silence_id), h.until_ms) ELSE h.until_ms END"
#define HELD_COLS                                                                                \
	"h.project_id, h.environment, h.pipeline, h.count, h.silence_id, h.from_ms, " HELD_UNTIL \
	", h.reason, h.execution_id, h.status, h.finished_ms, h.signature, h.error, h.since_ms"

static const char SQL_HELD_JOB_EXISTS[] = "SELECT 1 FROM jobs WHERE id = ?1";
static const char SQL_HELD_JOB_ADD[] = "INSERT OR IGNORE INTO held_jobs (job_id) VALUES (?1)";
static const char SQL_HELD_INCIDENT[] =
	"SELECT since_ms, failures FROM incidents WHERE " HELD_KEY " AND open != 0";
/* One more run of the same incident is counted and, unless older than
 * the latest one noted, becomes the latest; a note of an older incident
 * starts again. ?4 since, ?5 silence, ?6 from, ?7 until, ?8 reason, ?9
 * execution, ?10 status, ?11 finished, ?12 signature, ?13 error. */
#define SAME "held.since_ms = excluded.since_ms"
#define NEWER "(" SAME " AND excluded.finished_ms < held.finished_ms)"
static const char SQL_HELD_PUT[] =
	"INSERT INTO held (project_id, environment, pipeline, since_ms, count, silence_id,"
	" from_ms, until_ms, reason, execution_id, status, finished_ms, signature, error)"
	" VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
	" ON CONFLICT (project_id, environment, pipeline) DO UPDATE SET"
	" count = CASE WHEN " SAME " THEN min(held.count + 1, 4294967295) ELSE 1 END,"
	" from_ms = CASE WHEN " SAME " THEN min(held.from_ms, excluded.from_ms)"
	" ELSE excluded.from_ms END,"
	" since_ms = excluded.since_ms, silence_id = excluded.silence_id,"
	" until_ms = excluded.until_ms, reason = excluded.reason,"
	" execution_id = CASE WHEN " NEWER " THEN held.execution_id ELSE excluded.execution_id END,"
	" status = CASE WHEN " NEWER " THEN held.status ELSE excluded.status END,"
	" signature = CASE WHEN " NEWER " THEN held.signature ELSE excluded.signature END,"
	" error = CASE WHEN " NEWER " THEN held.error ELSE excluded.error END,"
	" finished_ms = CASE WHEN " NEWER " THEN held.finished_ms ELSE excluded.finished_ms END";
static const char SQL_HELD_DUE[] = "SELECT " HELD_COLS " FROM held h WHERE " HELD_UNTIL " <= ?1";
static const char SQL_HELD_DUE_ONE[] = "SELECT " HELD_COLS " FROM held h WHERE h.project_id = ?1"
				       " AND h.environment = ?2 AND h.pipeline = ?3"
				       " AND " HELD_UNTIL " <= ?4";
static const char SQL_HELD_DEL[] = "DELETE FROM held WHERE " HELD_KEY;
static const char SQL_HELD_JOB[] =
	"INSERT INTO jobs (project_id, execution_id, pipeline_name, environment, status,"
	" status_text, state, attempts, received_ms, not_before_ms, kind)"
	" VALUES (?1, ?4, ?3, ?2, ?5, '', 'queued', 0, ?6, ?6, 1)";
static const char SQL_HELD_DLV[] =
	"INSERT OR IGNORE INTO deliveries (job_id, dest, state, attempts, not_before_ms,"
	" updated_ms) VALUES (?1, ?2, 'pending', 0, ?3, ?3)";
static const char SQL_HELD_SUMMARY_PUT[] =
	"INSERT INTO held_summaries (job_id, count, failures, from_ms, until_ms, since_ms,"
	" finished_ms, reason, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/* The summary tells the incident: runs it counts are no longer held back
 * (the next message does not count them again), a message was posted
 * (so a recovery follows), and its error is the latest held run's. */
static const char SQL_HELD_TOLD[] =
	"UPDATE incidents SET held = max(held - ?4, 0), posted = 1, signature = ?5,"
	" last_post_ms = max(last_post_ms, ?6), updated_ms = ?7 WHERE " HELD_KEY;
static const char SQL_HELD_SUMMARY_GET[] =
	"SELECT count, failures, from_ms, until_ms, since_ms, finished_ms, reason, error"
	" FROM held_summaries WHERE job_id = ?1";

static uint32_t col_u32(sqlite3_stmt *st, int col)
{
	int64_t v = sqlite3_column_int64(st, col);

	return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* A uint64 is stored as the int64 with the same bits. */
static int64_t u64_bits(uint64_t u)
{
	int64_t v;

	memcpy(&v, &u, sizeof(v));
	return v;
}

static uint64_t bits_u64(int64_t v)
{
	uint64_t u;

	memcpy(&u, &v, sizeof(u));
	return u;
}

/* A query of held runs (sq_query()). */
static int query(struct conn *c, const char *sql, const struct arg *a, size_t n, sq_row_fn row,
		 void *ctx)
{
	return sq_query(c, sql, a, n, row, ctx, "held runs");
}

/* The open incident: its since_ms and failures. */
struct incident_look {
	int open;
	int64_t since_ms;
	uint32_t failures;
};

static int row_incident(sqlite3_stmt *st, void *ctx)
{
	struct incident_look *il = ctx;

	il->open = 1;
	il->since_ms = sqlite3_column_int64(st, 0);
	il->failures = col_u32(st, 1);
	return 1;
}

struct note_run {
	int64_t job_id;
	const struct mem_key *k;
	const struct held_note *n;
};

static int note_tx(struct conn *c, void *ctx)
{
	struct note_run *nr = ctx;
	const struct held_note *n = nr->n;
	struct arg job[1] = { AI(nr->job_id) };
	struct arg a[13] = { AT(nr->k->project_id), AT(nr->k->environment),
			     AT(nr->k->pipeline),   AI(0),
			     AI(n->silence_id),     AI(n->from_ms),
			     AI(n->until_ms),       AT(n->reason),
			     AT(n->execution_id),   AT(status_names[n->status]),
			     AI(n->finished_ms),    AI(u64_bits(n->signature)),
			     AT(n->error) };
	struct incident_look il = { 0, 0, 0 };
	int found = 0, ch = 0, rc;

	rc = query(c, SQL_HELD_JOB_EXISTS, job, 1, sq_row_found, &found);
	if (rc == 0 && !found)
		return ERR_NOTFOUND;
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_HELD_JOB_ADD, job, 1, &ch);
	if (rc != 0 || ch == 0)
		return rc; /* counted already: commits nothing new */
	rc = query(c, SQL_HELD_INCIDENT, a, 3, row_incident, &il);
	if (rc != 0 || !il.open)
		return rc;
	a[3] = AI(il.since_ms);
	return sq_stmt_run(c, SQL_HELD_PUT, a, NARGS(a), NULL);
}

int sq_held_note(struct store *base, int64_t job_id, const struct mem_key *k,
		 const struct held_note *n)
{
	struct note_run nr = { job_id, k, n };

	return sq_write(sq_of(base), note_tx, &nr);
}

/* One note in HELD_COLS order, strings borrowed from st. */
struct held_row {
	struct mem_key k;
	struct held_note n;
	uint32_t count;
	int64_t since_ms;
};

static const char *col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t != NULL ? (const char *)t : "";
}

static void held_from(sqlite3_stmt *st, struct held_row *h)
{
	enum run_status v = status_parse(col_text(st, 9));

	h->k.project_id = col_text(st, 0);
	h->k.environment = col_text(st, 1);
	h->k.pipeline = col_text(st, 2);
	h->count = col_u32(st, 3);
	h->n.silence_id = sqlite3_column_int64(st, 4);
	h->n.from_ms = sqlite3_column_int64(st, 5);
	h->n.until_ms = sqlite3_column_int64(st, 6);
	h->n.reason = col_text(st, 7);
	h->n.execution_id = col_text(st, 8);
	h->n.status = (unsigned)v < ST__MAX ? v : ST_UNKNOWN;
	h->n.finished_ms = sqlite3_column_int64(st, 10);
	h->n.signature = bits_u64(sqlite3_column_int64(st, 11));
	h->n.error = col_text(st, 12);
	h->since_ms = sqlite3_column_int64(st, 13);
}

struct due_run {
	store_held_fn fn;
	void *ctx;
};

static int row_due(sqlite3_stmt *st, void *ctx)
{
	struct due_run *dr = ctx;
	struct held_row h;

	held_from(st, &h);
	dr->fn(dr->ctx, &h.k, &h.n, h.count);
	return 0;
}

int sq_held_due(struct store *base, int64_t now_ms, store_held_fn fn, void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct due_run dr = { fn, ctx };
	struct arg a[1] = { AI(now_ms) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, SQL_HELD_DUE, a, 1, row_due, &dr);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

struct summarise_run {
	const struct mem_key *k;
	char *const *dests;
	size_t n_dests;
	int64_t now;
	int64_t job_id;
	int found;
	struct held_row h;
	char exec[WEBHOOK_ID_MAX];
	char reason[SILENCE_REASON_MAX * 4 + 1];
	char error[STORE_HELD_ERROR_MAX];
};

/* Keeps the due note, its strings copied out of the statement. */
static int row_due_one(sqlite3_stmt *st, void *ctx)
{
	struct summarise_run *sr = ctx;

	held_from(st, &sr->h);
	sq_col_text(st, 7, sr->reason, sizeof(sr->reason));
	sq_col_text(st, 8, sr->exec, sizeof(sr->exec));
	sq_col_text(st, 12, sr->error, sizeof(sr->error));
	sr->h.k = *sr->k;
	sr->h.n.reason = sr->reason;
	sr->h.n.execution_id = sr->exec;
	sr->h.n.error = sr->error;
	sr->found = 1;
	return 1;
}

/* The summary job of sr's note: the job, its deliveries, its message,
 * and the incident told. */
static int summary_job(struct conn *c, struct summarise_run *sr, const struct incident_look *il)
{
	const struct held_row *h = &sr->h;
	struct arg j[6] = { AT(sr->k->project_id),         AT(sr->k->environment),
			    AT(sr->k->pipeline),           AT(h->n.execution_id),
			    AT(status_names[h->n.status]), AI(sr->now) };
	struct arg told[7] = { j[0],
			       j[1],
			       j[2],
			       AI(h->count),
			       AI(u64_bits(h->n.signature)),
			       AI(h->n.finished_ms),
			       AI(sr->now) };
	struct arg m[9];
	size_t i;
	int rc;

	rc = sq_stmt_run(c, SQL_HELD_JOB, j, NARGS(j), NULL);
	if (rc != 0)
		return rc;
	sr->job_id = sqlite3_last_insert_rowid(c->db);
	sq_moved(c, NO_STATE, JOB_QUEUED, 1);
	for (i = 0; i < sr->n_dests && rc == 0; i++) {
		struct arg d[3] = { AI(sr->job_id), AT(sr->dests[i]), AI(sr->now) };
		rc = sq_stmt_run(c, SQL_HELD_DLV, d, NARGS(d), NULL);
	}
	m[0] = AI(sr->job_id);
	m[1] = AI(h->count);
	m[2] = AI(il->failures);
	m[3] = AI(h->n.from_ms);
	m[4] = AI(h->n.until_ms);
	m[5] = AI(il->since_ms);
	m[6] = AI(h->n.finished_ms);
	m[7] = AT(h->n.reason);
	m[8] = AT(h->n.error);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_HELD_SUMMARY_PUT, m, NARGS(m), NULL);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_HELD_TOLD, told, NARGS(told), NULL);
	return rc;
}

/* Inside one transaction: the note must still be due (another service
 * may have summarised it since its look); its incident must still be
 * the open one it counted runs of. */
static int summarise_tx(struct conn *c, void *ctx)
{
	struct summarise_run *sr = ctx;
	struct arg a[4] = { AT(sr->k->project_id), AT(sr->k->environment), AT(sr->k->pipeline),
			    AI(sr->now) };
	struct incident_look il = { 0, 0, 0 };
	int rc;

	sr->found = 0;
	sr->job_id = 0;
	rc = query(c, SQL_HELD_DUE_ONE, a, 4, row_due_one, sr);
	if (rc == 0 && !sr->found)
		return ERR_NOTFOUND;
	if (rc == 0)
		rc = query(c, SQL_HELD_INCIDENT, a, 3, row_incident, &il);
	if (rc == 0 && il.open && il.since_ms == sr->h.since_ms && sr->n_dests > 0 &&
	    sr->h.count > 0)
		rc = summary_job(c, sr, &il);
	if (rc == 0)
		rc = sq_stmt_run(c, SQL_HELD_DEL, a, 3, NULL);
	return rc;
}

int sq_held_summarise(struct store *base, const struct mem_key *k, char *const *dests,
		      size_t n_dests, int64_t now_ms, int64_t *job_id)
{
	struct summarise_run *sr = calloc(1, sizeof(*sr));
	int rc;

	if (sr == NULL)
		return ERR_NOMEM;
	sr->k = k;
	sr->dests = dests;
	sr->n_dests = n_dests;
	sr->now = now_ms;
	rc = sq_write(sq_of(base), summarise_tx, sr);
	*job_id = rc == 0 ? sr->job_id : 0;
	free(sr);
	return rc;
}

static int row_summary(sqlite3_stmt *st, void *ctx)
{
	struct held_summary *out = ctx;

	out->count = col_u32(st, 0);
	out->failures = col_u32(st, 1);
	out->from_ms = sqlite3_column_int64(st, 2);
	out->until_ms = sqlite3_column_int64(st, 3);
	out->since_ms = sqlite3_column_int64(st, 4);
	out->finished_ms = sqlite3_column_int64(st, 5);
	sq_col_text(st, 6, out->reason, sizeof(out->reason));
	sq_col_text(st, 7, out->error, sizeof(out->error));
	out->count += out->count == 0; /* a summary says at least one */
	return 1;
}

int sq_held_summary(struct store *base, int64_t job_id, struct held_summary *out)
{
	struct sq_store *s = sq_of(base);
	struct arg a[1] = { AI(job_id) };
	int rc;

	out->count = 0;
	pthread_mutex_lock(&s->mu);
	rc = query(&s->bk, SQL_HELD_SUMMARY_GET, a, 1, row_summary, out);
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && out->count == 0)
		rc = ERR_NOTFOUND;
	return rc;
}
