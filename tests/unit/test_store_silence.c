/* Silences in the durable store (store.h, "silences") against real
 * SQLite files: add, list (live and all), remove, expiry, the worker's
 * question store_silenced(), hostile input refused before it is written,
 * survival across a reopen, and the upgrade of a version 5 file. */
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

/* A version 5 file (made by this program, then turned back: silences and
 * the later deliveries columns dropped, user_version 5) gains the table
 * on open, keeping its runs. */
static void test_upgrades_v5_file(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	f->s = NULL;
	sql_exec(f, "DROP TABLE silences; DROP INDEX deliveries_held;"
		    "ALTER TABLE deliveries DROP COLUMN grouped;"
		    "ALTER TABLE deliveries DROP COLUMN group_item; PRAGMA user_version = 5;"
		    "INSERT INTO runs (execution_id, project_id, environment, pipeline, status,"
		    " started_ms, finished_ms, signature, recorded_ms)"
		    " VALUES ('e1', 'p1', 'prod', 'x', 'FAILED', 1, 2, 0, 3);");
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"), 5);
	reopen(f);
	assert_int_equal(sql_int(f, "SELECT user_version FROM pragma_user_version"), 7);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_list_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v5_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_stored_rows, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
