/* The SQLite backend's reconciliation state (store.h, "poll"): one row
 * per polled project with its watermark and the gap a cut-off listing
 * left, written by the poller on the bookkeeping connection after each
 * page it fully processed. The row is not synced to disk on its own: a
 * watermark lost to a power cut only makes the poller list some runs
 * again, and the jobs it created are durable and deduplicate them. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "errors.h"
#include "sqlite_int.h"

static const char SQL_GET[] = "SELECT watermark_ms, gap_before_ms, gap_mark_ms FROM poll_state"
			      " WHERE project_id = ?1";
static const char SQL_SET[] =
	"INSERT INTO poll_state (project_id, watermark_ms, gap_before_ms, gap_mark_ms,"
	" updated_ms) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (project_id) DO UPDATE SET"
	" watermark_ms = ?2, gap_before_ms = ?3, gap_mark_ms = ?4, updated_ms = ?5";
/* Projects runs were seen for: jobs not yet pruned, run memory, and
 * projects polled before (their runs may all have been pruned). */
static const char SQL_PROJECTS[] = "SELECT project_id FROM jobs UNION SELECT project_id FROM runs"
				   " UNION SELECT project_id FROM poll_state"
				   " ORDER BY 1 LIMIT ?1";

static int row_mark(sqlite3_stmt *st, void *ctx)
{
	struct poll_mark *m = ctx;

	m->watermark_ms = sqlite3_column_int64(st, 0);
	m->gap_before_ms = sqlite3_column_int64(st, 1);
	m->gap_mark_ms = sqlite3_column_int64(st, 2);
	m->found = 1;
	return 1;
}

int sq_poll_get(struct store *base, const char *project_id, struct poll_mark *out)
{
	struct sq_store *s = sq_of(base);
	struct arg a[1] = { AT(project_id) };
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, SQL_GET, a, 1, row_mark, out, "poll state");
	pthread_mutex_unlock(&s->mu);
	if (rc == 0 && !out->found)
		rc = ERR_NOTFOUND;
	return rc;
}

struct set_run {
	const char *project_id;
	const struct poll_mark *m;
	int64_t now_ms;
};

static int set_tx(struct conn *c, void *ctx)
{
	struct set_run *sr = ctx;
	struct arg a[5] = { AT(sr->project_id), AI(sr->m->watermark_ms), AI(sr->m->gap_before_ms),
			    AI(sr->m->gap_mark_ms), AI(sr->now_ms) };

	return sq_stmt_run(c, SQL_SET, a, NARGS(a), NULL);
}

int sq_poll_set(struct store *base, const char *project_id, const struct poll_mark *m,
		int64_t now_ms)
{
	struct set_run sr = { project_id, m, now_ms };

	return sq_write(sq_of(base), set_tx, &sr);
}

struct projects_run {
	store_project_fn fn;
	void *ctx;
};

static int row_project(sqlite3_stmt *st, void *ctx)
{
	struct projects_run *pr = ctx;
	const unsigned char *t = sqlite3_column_text(st, 0);

	if (t != NULL && t[0] != '\0')
		pr->fn(pr->ctx, (const char *)t);
	return 0;
}

int sq_poll_projects(struct store *base, size_t limit, store_project_fn fn, void *ctx)
{
	struct sq_store *s = sq_of(base);
	struct projects_run pr = { fn, ctx };
	struct arg a[1] = { AI(limit) };
	int rc;

	pthread_mutex_lock(&s->mu);
	rc = sq_query(&s->bk, SQL_PROJECTS, a, 1, row_project, &pr, "poll projects");
	pthread_mutex_unlock(&s->mu);
	return rc;
}
