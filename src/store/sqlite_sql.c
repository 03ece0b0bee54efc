/* The SQLite backend's statement helpers: a per-connection cache of
 * prepared statements, binding an argument list, running a statement and
 * reading columns. No locks here: callers hold their connection's. */
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

/* Maps an SQLite result to our convention; everything but OOM is I/O. */
int sq_map_rc(int src)
{
	if (src == SQLITE_OK || src == SQLITE_DONE || src == SQLITE_ROW)
		return 0;
	return src == SQLITE_NOMEM ? ERR_NOMEM : ERR_IO;
}

/* Binds a[0..n) to ?1..?n; arguments past the statement's last parameter
 * are ignored so statements sharing one argument list may use a subset. */
int sq_bind(sqlite3_stmt *st, const struct arg *a, size_t n)
{
	size_t k, max = (size_t)sqlite3_bind_parameter_count(st);
	int rc = SQLITE_OK;

	if (n > max)
		n = max;
	for (k = 0; k < n && rc == SQLITE_OK; k++) {
		if (a[k].kind == 'i')
			rc = sqlite3_bind_int64(st, (int)k + 1, a[k].i);
		else if (a[k].t == NULL)
			rc = sqlite3_bind_null(st, (int)k + 1);
		else
			rc = sqlite3_bind_text(st, (int)k + 1, a[k].t, -1, SQLITE_TRANSIENT);
	}
	return rc;
}

/* Finds or prepares the statement for sql on c. Returns an SQLite code;
 * *out is borrowed until sq_stmt_done(). */
int sq_stmt_get(struct conn *c, const char *sql, sqlite3_stmt **out)
{
	size_t k;
	int rc;

	for (k = 0; k < c->n; k++) {
		if (c->sql[k] == sql) {
			*out = c->st[k];
			return SQLITE_OK;
		}
	}
	*out = NULL;
	rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc == SQLITE_OK && c->n < STMT_CACHE) {
		c->sql[c->n] = sql;
		c->st[c->n++] = *out;
	}
	return rc;
}

/* Gives back a statement from sq_stmt_get(): a cached one is reset, which
 * also ends the read it may hold open, and unbound; any other (the cache
 * was full or it failed) is finalized. */
void sq_stmt_done(struct conn *c, sqlite3_stmt *st)
{
	size_t k;

	for (k = 0; k < c->n; k++) {
		if (c->st[k] == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	}
	sqlite3_finalize(st);
}

void sq_conn_close(struct conn *c)
{
	size_t k;

	for (k = 0; k < c->n; k++)
		sqlite3_finalize(c->st[k]);
	c->n = 0;
	sqlite3_close(c->db);
	c->db = NULL;
}

/* Runs one statement that returns no rows; *changes gets the rows it
 * touched (may be NULL). Returns 0 or ERR_IO/ERR_NOMEM. */
int sq_stmt_run(struct conn *c, const char *sql, const struct arg *a, size_t n, int *changes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sq_stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, n);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		log_msg(LOG_ERROR, "store: %s: %s", sql, sqlite3_errmsg(c->db));
		sq_stmt_done(c, st);
		return sq_map_rc(rc);
	}
	if (changes != NULL)
		*changes = sqlite3_changes(c->db);
	sq_stmt_done(c, st);
	return 0;
}

/* Runs one statement of the cached kind (transaction control, pragmas). */
int sq_exec(struct conn *c, const char *sql)
{
	return sq_stmt_run(c, sql, NULL, 0, NULL);
}

/* Runs SQL text once, uncached (the schema script). */
int sq_exec_raw(sqlite3 *db, const char *sql)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		log_msg(LOG_ERROR, "store: %s: %s", sql, sqlite3_errmsg(db));
	return sq_map_rc(rc);
}

void sq_rollback(sqlite3 *db)
{
	/* Some errors (SQLITE_FULL, IOERR) already rolled the transaction
	 * back; a second ROLLBACK would only add a confusing error. */
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* Copies column col as text into dst (cap bytes, always terminated). */
void sq_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t == NULL ? 0 : strlen((const char *)t);

	if (n >= cap)
		n = cap - 1;
	if (n > 0)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int sq_name_index(const char *const *names, int n, const unsigned char *t)
{
	int i;

	for (i = 0; t != NULL && i < n; i++)
		if (strcmp(names[i], (const char *)t) == 0)
			return i;
	return 0;
}

/* Runs a single-value PRAGMA and copies its first row into out. */
int sq_pragma_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	out[0] = '\0';
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		sq_col_text(st, 0, out, cap);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE) /* setters return no row */
		rc = SQLITE_OK;
	sqlite3_finalize(st);
	return rc;
}

int sq_query(struct conn *c, const char *sql, const struct arg *a, size_t n, sq_row_fn row,
	     void *ctx, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sq_stmt_get(c, sql, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, n);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = row(st, ctx) == 0 ? SQLITE_OK : SQLITE_DONE;
	if (rc != SQLITE_DONE)
		log_msg(LOG_ERROR, "store: %s: %s", what, sqlite3_errmsg(c->db));
	sq_stmt_done(c, st);
	return sq_map_rc(rc);
}

int sq_row_found(sqlite3_stmt *st, void *ctx)
{
	(void)st;
	*(int *)ctx = 1;
	return 1;
}
