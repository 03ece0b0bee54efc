/* The SQLite backend's Slack threads (store.h, "Slack threads"): one row
 * per destination, pipeline and incident, naming the parent message that
 * the incident's later messages reply under. Written once by the worker
 * right after the parent's post succeeded (the UNIQUE key makes the first
 * writer win), read before every later post of the incident and by a
 * click on the parent, and marked resolved when the recovery rewrote it.
 * Rows are few: one per incident that reached a slack-app destination. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "sqlite_int.h"

#define THREAD_COLS                                                                   \
	"id, dest, project_id, environment, pipeline, since_ms, channel, ts, parent," \
	" resolved"

/* OR IGNORE: a key that has its row keeps it, and changes() says so. */
static const char SQL_PUT[] =
	"INSERT OR IGNORE INTO threads (dest, project_id, environment, pipeline, since_ms,"
	" channel, ts, parent, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_GET[] = "SELECT " THREAD_COLS " FROM threads WHERE dest = ?1"
			      " AND project_id = ?2 AND environment = ?3 AND pipeline = ?4"
			      " AND since_ms = ?5";
static const char SQL_BY_MESSAGE[] = "SELECT " THREAD_COLS " FROM threads"
				     " WHERE channel = ?1 AND ts = ?2 ORDER BY id DESC LIMIT 1";
static const char SQL_RESOLVED[] =
	"UPDATE threads SET resolved = 1, parent = coalesce(?2, parent) WHERE id = ?1";
static const char SQL_SET_PARENT[] = "UPDATE threads SET parent = ?2 WHERE id = ?1";

/* A copy of column col's text; "" for NULL. NULL only when out of
 * memory. */
static char *col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return strdup(t != NULL ? (const char *)t : "");
}

struct read_run {
	struct store_thread *out;
	int found;
	int nomem;
};

/* One row in THREAD_COLS order into the caller's struct, strings copied. */
static int row_thread(sqlite3_stmt *st, void *ctx)
{
	struct read_run *rr = ctx;
	struct store_thread *t = rr->out;

	rr->found = 1;
	t->id = sqlite3_column_int64(st, 0);
	t->dest = col_dup(st, 1);
	t->project_id = col_dup(st, 2);
	t->environment = col_dup(st, 3);
	t->pipeline = col_dup(st, 4);
	t->since_ms = sqlite3_column_int64(st, 5);
	sq_col_text(st, 6, t->channel, sizeof(t->channel));
	sq_col_text(st, 7, t->ts, sizeof(t->ts));
	if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
		t->parent = col_dup(st, 8);
		rr->nomem |= t->parent == NULL;
	}
	t->resolved = sqlite3_column_int(st, 9) != 0;
	rr->nomem |= t->dest == NULL || t->project_id == NULL || t->environment == NULL ||
		     t->pipeline == NULL;
	return 1;
}

static int read_one(struct sq_store *s, const char *sql, const struct arg *a, size_t n,
		    struct store_thread *out)
{
	struct read_run rr = { out, 0, 0 };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, sql, a, n, row_thread, &rr, "threads");
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && rr.nomem)
		rc = ERR_NOMEM;
	if (rc == 0 && !rr.found)
		rc = ERR_NOTFOUND;
	return rc;
}

struct put_run {
	const char *dest;
	const struct mem_key *k;
	const struct store_thread *in;
};

static int put_tx(struct conn *c, void *ctx)
{
	struct put_run *pr = ctx;
	struct arg a[9] = { AT(pr->dest),        AT(pr->k->project_id), AT(pr->k->environment),
			    AT(pr->k->pipeline), AI(pr->in->since_ms),  AT(pr->in->channel),
			    AT(pr->in->ts),      AT(pr->in->parent),    AI(clock_wall_ms()) };
	int ch = 0, rc = sq_stmt_run(c, SQL_PUT, a, NARGS(a), &ch);

	/* Nothing to write: the key has its thread already. */
	return rc == 0 && ch == 0 ? ERR_NOTFOUND : rc;
}

int sq_thread_put(struct store *base, const char *dest, const struct mem_key *k,
		  const struct store_thread *in)
{
	struct put_run pr = { dest, k, in };
	int rc = sq_write(sq_of(base), put_tx, &pr);

	return rc == ERR_NOTFOUND ? ERR_DUPLICATE : rc;
}

int sq_thread_get(struct store *base, const char *dest, const struct mem_key *k, int64_t since_ms,
		  struct store_thread *out)
{
	struct arg a[5] = { AT(dest), AT(k->project_id), AT(k->environment), AT(k->pipeline),
			    AI(since_ms) };

	return read_one(sq_of(base), SQL_GET, a, NARGS(a), out);
}

int sq_thread_by_message(struct store *base, const char *channel, const char *ts,
			 struct store_thread *out)
{
	struct arg a[2] = { AT(channel), AT(ts) };

	return read_one(sq_of(base), SQL_BY_MESSAGE, a, NARGS(a), out);
}

struct parent_run {
	const char *sql;
	int64_t id;
	const char *body;
};

/* One UPDATE of a thread by id; no such row is ERR_NOTFOUND. */
static int parent_tx(struct conn *c, void *ctx)
{
	struct parent_run *pr = ctx;
	struct arg a[2] = { AI(pr->id), AT(pr->body) };
	int ch = 0, rc = sq_stmt_run(c, pr->sql, a, NARGS(a), &ch);

	return rc == 0 && ch == 0 ? ERR_NOTFOUND : rc;
}

int sq_thread_resolved(struct store *base, int64_t id, const char *new_parent_body)
{
	struct parent_run pr = { SQL_RESOLVED, id, new_parent_body };

	return sq_write(sq_of(base), parent_tx, &pr);
}

int sq_thread_set_parent(struct store *base, int64_t id, const char *body)
{
	struct parent_run pr = { SQL_SET_PARENT, id, body };

	return sq_write(sq_of(base), parent_tx, &pr);
}
