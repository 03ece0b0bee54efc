/* The SQLite backend's silences (store.h, "silences"): one row per
 * silence, added and ended by the CLI on the bookkeeping connection and
 * read by the worker once per run it remembers. A removed silence is not
 * deleted: it ends at the time of its removal (removed_ms says so), so
 * `silence list --all` still shows it. Rows are few (people add them by
 * hand) and the worker's question reads only those not yet ended, through
 * the index on end_ms. */
#include <pthread.h>
#include <stdint.h>
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

int sq_silenced(struct store *base, const struct mem_key *k, int64_t now_ms, int *yes)
{
	struct covered_run cr = { k, now_ms, 0 };
	struct arg a[1] = { AI(now_ms) };
	int rc = read_rows(sq_of(base), SQL_COVERING, a, 1, row_covers, &cr);

	*yes = rc == 0 && cr.yes;
	return rc;
}
