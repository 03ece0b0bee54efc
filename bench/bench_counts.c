/* Benchmark of store_counts(), which /metrics calls on every scrape: a
 * store holding N jobs (spread over every state), then C calls of
 * store_counts() against C runs of the COUNT(*) GROUP BY state query that
 * store_counts() ran before it kept the counts in memory. Prints one JSON
 * line with the mean wall time per call of each.
 *
 * DESIGN: the jobs are written with one INSERT ... SELECT on a connection
 * of its own (a million store_put() calls would take minutes), into a file
 * the store created, which the store then opens again so it counts them
 * at open as it would after a restart. The COUNT runs on its own read
 * connection, as a scraper's query would have.
 *
 * usage: bench_counts JOBS CALLS */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int die(const char *what, const char *why)
{
	fprintf(stderr, "bench_counts: %s: %s\n", what, why);
	return 1;
}

/* Fills the store's file with n jobs, round robin over the five states. */
static int fill(const char *path, long n)
{
	char sql[1024];
	sqlite3 *db = NULL;
	int rc;

	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < %ld)"
		 " INSERT INTO jobs (project_id, execution_id, status, state, received_ms,"
		 " not_before_ms) SELECT 'proj', 'exec-' || i, 'FAILED',"
		 " CASE i %% 5 WHEN 0 THEN 'queued' WHEN 1 THEN 'running' WHEN 2 THEN"
		 " 'delivered' WHEN 3 THEN 'dead' ELSE 'ignored' END, i, i FROM k", n);
	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "bench_counts: fill: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Mean ms per run of the old way: one COUNT(*) GROUP BY state. */
static double time_query(const char *path, long calls, int64_t *total)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	double t0;
	long k;

	*total = 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT state, count(*) FROM jobs GROUP BY state", -1, &st,
			       NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1.0;
	}
	t0 = now_ms();
	for (k = 0; k < calls; k++) {
		int64_t sum = 0;
		while (sqlite3_step(st) == SQLITE_ROW)
			sum += sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		*total = sum;
	}
	t0 = (now_ms() - t0) / (double)calls;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return t0;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench-counts.XXXXXX", path[64], side[80], err[256];
	const char *const sfx[] = { "", "-wal", "-shm", "-lock" };
	int64_t c[JOB__MAX], old_total = 0, total = 0;
	struct store *s;
	double t0, t_new, t_old;
	long jobs, calls, k;
	int i, rc = 1;

	jobs = argc == 3 ? strtol(argv[1], NULL, 10) : 0;
	calls = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
	if (jobs <= 0 || jobs > 100000000 || calls <= 0 || calls > 1000000) {
		fprintf(stderr, "usage: bench_counts JOBS CALLS\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL)
		return die("mkdtemp", "failed");
	snprintf(path, sizeof(path), "%s/counts.db", dir);
	s = store_open(path, err, sizeof(err));
	store_close(s);
	if (s == NULL || fill(path, jobs) != 0) {
		rc = die("store", s == NULL ? err : "fill failed");
		goto out;
	}
	s = store_open(path, err, sizeof(err));
	if (s == NULL) {
		rc = die("store_open", err);
		goto out;
	}
	t0 = now_ms();
	for (k = 0; k < calls; k++)
		if (store_counts(s, c) != 0)
			break;
	t_new = (now_ms() - t0) / (double)calls;
	for (i = 0; i < JOB__MAX; i++)
		total += c[i];
	store_close(s);
	t_old = time_query(path, calls, &old_total);
	if (k != calls || t_old < 0 || total != jobs || old_total != jobs) {
		rc = die("counts", "wrong totals or a failed call");
		goto out;
	}
	printf("{\"jobs\": %ld, \"calls\": %ld, \"count_query_ms\": %.4f,"
	       " \"store_counts_ms\": %.4f}\n", jobs, calls, t_old, t_new);
	rc = 0;
out:
	for (i = 0; i < 4; i++) {
		snprintf(side, sizeof(side), "%s%s", path, sfx[i]);
		unlink(side);
	}
	rmdir(dir);
	return rc;
}
