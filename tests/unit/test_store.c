/* The durable store against real SQLite files in a temporary directory:
 * group commit, dedup, claim order and leases, crash recovery, the
 * per-destination bookkeeping, dead letters, pruning, write failures and
 * the upgrade of a version 1 file. */
#define _GNU_SOURCE /* setresuid() */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "store.h"

#define BIG_WINDOW 86400

/* fdatasync() as the store (and SQLite) see it in this binary: it counts
 * the calls made on a "-wal" file and, when told, fails them with EIO the
 * way a dying disk would. Everything else goes to the kernel as usual. */
static atomic_int wal_syncs;
static atomic_int wal_sync_fails;

int fdatasync(int fd)
{
	char link[64], target[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target));
	if (n > 4 && memcmp(target + n - 4, "-wal", 4) == 0) {
		if (atomic_load(&wal_sync_fails)) {
			errno = EIO;
			return -1;
		}
		atomic_fetch_add(&wal_syncs, 1);
	}
	return (int)syscall(SYS_fdatasync, fd);
}

struct fixture {
	char dir[64];
	char path[128];
	struct store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/dpc.db", f->dir);
	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL) {
		rmdir(f->dir);
		fail_msg("%s", err);
	}
	*state = f;
	return 0;
}

static void rm_file(const char *dir, const char *name)
{
	char p[192];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	unlink(p);
}

/* Permission bits stop writes only for unprivileged users, and the tests
 * usually run as root (CI does), which passes them. drop_root() makes the
 * process the user nobody, as a service account would be, keeping root as
 * the saved set-user-ID so that regain_root() (also called by teardown,
 * after a failed assertion) can take it back. Without root both do
 * nothing: the test already runs unprivileged. */
#define NOBODY 65534
static int dropped_root;

static void drop_root(void)
{
	if (geteuid() != 0)
		return;
	assert_int_equal(setresuid(NOBODY, NOBODY, 0), 0);
	dropped_root = 1;
}

static void regain_root(void)
{
	if (dropped_root && setresuid(0, 0, 0) == 0)
		dropped_root = 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	atomic_store(&wal_sync_fails, 0); /* even after a failed assertion */
	regain_root();
	chmod(f->dir, 0700);
	store_close(f->s);
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	rm_file(f->dir, "dpc.db-lock");
	rm_file(f->dir, "other.db-lock");
	rm_file(f->dir, "other.db");
	rmdir(f->dir);
	free(f);
	return 0;
}

static void make_event(struct webhook_event *ev, const char *exec, enum run_status st)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->project_id, sizeof(ev->project_id), "proj-1");
	snprintf(ev->execution_id, sizeof(ev->execution_id), "%s", exec);
	snprintf(ev->pipeline_name, sizeof(ev->pipeline_name), "load orders");
	snprintf(ev->environment, sizeof(ev->environment), "prod");
	ev->status = st;
	snprintf(ev->status_text, sizeof(ev->status_text), "%s", status_names[st]);
}

static char *two_dests[] = { "slack-ops", "teams-data" };

/* Puts a fresh FAILED event with both destinations; returns its job id. */
static int64_t put_job(struct store *s, const char *exec)
{
	struct webhook_event ev;
	int64_t id = -1;

	make_event(&ev, exec, ST_FAILED);
	assert_int_equal(store_put(s, &ev, two_dests, 2, BIG_WINDOW, &id), 0);
	assert_true(id > 0);
	return id;
}

static void claim_id(struct store *s, int64_t now, int64_t want)
{
	struct job j;

	assert_int_equal(store_claim(s, now, 60000, &j), 0);
	assert_int_equal(j.id, want);
}

static void assert_count(struct store *s, enum job_state st, int64_t want)
{
	int64_t c[JOB__MAX];

	assert_int_equal(store_counts(s, c), 0);
	assert_int_equal(c[st], want);
}

static void test_put_then_claim(void **state)
{
	struct fixture *f = *state;
	struct delivery *d = NULL;
	struct job j;
	size_t n = 0;
	int64_t id, now;

	id = put_job(f->s, "exec-1");
	now = clock_wall_ms();
	assert_int_equal(store_claim(f->s, now, 30000, &j), 0);
	assert_int_equal(j.id, id);
	assert_string_equal(j.ev.project_id, "proj-1");
	assert_string_equal(j.ev.execution_id, "exec-1");
	assert_string_equal(j.ev.pipeline_name, "load orders");
	assert_string_equal(j.ev.environment, "prod");
	assert_int_equal(j.ev.status, ST_FAILED);
	assert_string_equal(j.ev.status_text, "FAILED");
	assert_int_equal(j.state, JOB_RUNNING);
	assert_int_equal(j.attempts, 1);
	assert_true(j.received_ms <= now && j.received_ms > now - 60000);
	assert_int_equal(store_claim(f->s, now, 30000, &j), ERR_NOTFOUND);
	assert_count(f->s, JOB_RUNNING, 1);

	assert_int_equal(store_deliveries(f->s, id, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(d[0].dest, "slack-ops");
	assert_string_equal(d[1].dest, "teams-data");
	assert_int_equal(d[0].state, DLV_PENDING);
	assert_int_equal(d[0].attempts, 0);
	assert_null(d[0].payload);
	store_deliveries_free(d, n);
}

static void test_put_rejects_bad_input(void **state)
{
	struct fixture *f = *state;
	struct webhook_event ev;
	char longname[200];
	char *bad[] = { longname };
	char *empty[] = { "" };
	int64_t id = -1;

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	make_event(&ev, "exec-bad", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, bad, 1, BIG_WINDOW, &id), ERR_INVALID);
	assert_int_equal(store_put(f->s, &ev, empty, 1, BIG_WINDOW, &id), ERR_INVALID);
	assert_int_equal(store_put(f->s, NULL, NULL, 0, BIG_WINDOW, &id), ERR_INVALID);
	assert_int_equal(id, -1);
	assert_count(f->s, JOB_QUEUED, 0);
	/* The same destination twice is one delivery, not an error. */
	{
		char *twice[] = { "slack-ops", "slack-ops" };
		struct delivery *d = NULL;
		size_t n = 0;

		assert_int_equal(store_put(f->s, &ev, twice, 2, BIG_WINDOW, &id), 0);
		assert_int_equal(store_deliveries(f->s, id, &d, &n), 0);
		assert_int_equal(n, 1);
		store_deliveries_free(d, n);
	}
}

static void test_dedup_window(void **state)
{
	struct fixture *f = *state;
	struct webhook_event ev;
	int64_t a = -1, b = -1, c = -1, d = -1;

	make_event(&ev, "exec-7", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &a), 0);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &b), ERR_DUPLICATE);
	assert_int_equal(b, -1);
	/* The status is part of the key: RUNNING then FAILED are two events. */
	ev.status = ST_SUCCESS;
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &c), 0);
	assert_true(c != a);
	/* Window 0: the old key is out of the window, replaced, accepted. */
	ev.status = ST_FAILED;
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, 0, &d), 0);
	assert_true(d != a && d != c);
	/* ...and the replacement restarted the window. */
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &b), ERR_DUPLICATE);
	assert_count(f->s, JOB_QUEUED, 3);
}

#define N_THREADS 8
#define N_PUTS 200

struct put_thread {
	struct store *s;
	int t;
	int same_keys; /* every thread puts the same keys */
	int64_t ids[N_PUTS];
	int ok, dup, other;
};

static void *put_worker(void *arg)
{
	struct put_thread *pt = arg;
	struct webhook_event ev;
	char exec[64];
	int i, rc;

	for (i = 0; i < N_PUTS; i++) {
		if (pt->same_keys)
			snprintf(exec, sizeof(exec), "shared-%d", i % 50);
		else
			snprintf(exec, sizeof(exec), "t%d-%d", pt->t, i);
		make_event(&ev, exec, ST_FAILED);
		pt->ids[i] = -1;
		rc = store_put(pt->s, &ev, two_dests, 2, BIG_WINDOW, &pt->ids[i]);
		if (rc == 0)
			pt->ok++;
		else if (rc == ERR_DUPLICATE)
			pt->dup++;
		else
			pt->other++;
	}
	return NULL;
}

static void run_threads(struct store *s, struct put_thread *pt, int same_keys)
{
	pthread_t th[N_THREADS];
	int t;

	for (t = 0; t < N_THREADS; t++) {
		memset(&pt[t], 0, sizeof(pt[t]));
		pt[t].s = s;
		pt[t].t = t;
		pt[t].same_keys = same_keys;
		assert_int_equal(pthread_create(&th[t], NULL, put_worker, &pt[t]), 0);
	}
	for (t = 0; t < N_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void test_concurrent_puts_batch(void **state)
{
	struct fixture *f = *state;
	static struct put_thread pt[N_THREADS];
	static int64_t all[N_THREADS * N_PUTS];
	uint64_t c0 = store_commit_count(f->s), commits;
	int t, i, n = 0;

	run_threads(f->s, pt, 0);
	for (t = 0; t < N_THREADS; t++) {
		assert_int_equal(pt[t].ok, N_PUTS);
		for (i = 0; i < N_PUTS; i++)
			all[n++] = pt[t].ids[i];
	}
	qsort(all, (size_t)n, sizeof(all[0]), cmp_id);
	for (i = 1; i < n; i++)
		assert_true(all[i] > all[i - 1]);
	assert_count(f->s, JOB_QUEUED, N_THREADS * N_PUTS);
	commits = store_commit_count(f->s) - c0;
	assert_true(commits > 0);
	print_message("%d puts in %llu transactions\n", N_THREADS * N_PUTS,
		      (unsigned long long)commits);
	/* Group commit: fewer transactions than puts. */
	assert_true(commits < (uint64_t)(N_THREADS * N_PUTS));
}

static void test_concurrent_duplicates(void **state)
{
	struct fixture *f = *state;
	static struct put_thread pt[N_THREADS];
	int t, ok = 0, dup = 0;

	/* Identical keys racing, often inside one batch: exactly one each. */
	run_threads(f->s, pt, 1);
	for (t = 0; t < N_THREADS; t++) {
		ok += pt[t].ok;
		dup += pt[t].dup;
		assert_int_equal(pt[t].other, 0);
	}
	assert_int_equal(ok, 50);
	assert_int_equal(dup, N_THREADS * N_PUTS - 50);
	assert_count(f->s, JOB_QUEUED, 50);
}

static void test_claim_order_and_not_before(void **state)
{
	struct fixture *f = *state;
	int64_t a, b, c, now;
	struct job j;

	a = put_job(f->s, "exec-a");
	b = put_job(f->s, "exec-b");
	c = put_job(f->s, "exec-c");
	now = clock_wall_ms();
	claim_id(f->s, now, a);
	assert_int_equal(store_job_retry(f->s, a, now + 10000, "api 503"), 0);
	claim_id(f->s, now, b);
	claim_id(f->s, now, c);
	assert_int_equal(store_claim(f->s, now, 60000, &j), ERR_NOTFOUND);
	assert_int_equal(store_claim(f->s, now + 9999, 60000, &j), ERR_NOTFOUND);
	assert_int_equal(store_claim(f->s, now + 10000, 60000, &j), 0);
	assert_int_equal(j.id, a);
	assert_int_equal(j.attempts, 2);
	assert_int_equal(j.not_before_ms, now + 10000);
	assert_string_equal(j.last_error, "api 503");
	assert_int_equal(store_job_retry(f->s, 99999, now, "x"), ERR_NOTFOUND);
}

/* A backlog large enough that a claim reading every queued job would
 * show; the test checks only which job each claim returns. */
#define BACKLOG 20000
#define BACKLOG_THREADS 160

struct backlog_thread {
	struct store *s;
	int t;
	int failed;
};

static void *backlog_worker(void *arg)
{
	struct backlog_thread *bt = arg;
	struct webhook_event ev;
	char exec[64];
	int i;

	for (i = bt->t; i < BACKLOG; i += BACKLOG_THREADS) {
		snprintf(exec, sizeof(exec), "backlog-%d", i);
		make_event(&ev, exec, ST_FAILED);
		if (store_put(bt->s, &ev, two_dests, 1, BIG_WINDOW, NULL) != 0)
			bt->failed++;
	}
	return NULL;
}

/* (not_before, id) of a queued job, in the order claims must follow. */
struct nb_id {
	int64_t nb, id;
};

struct nb_list {
	struct nb_id *v;
	size_t n;
};

static void nb_collect(void *ctx, const struct job *j)
{
	struct nb_list *l = ctx;

	if (l->n < BACKLOG) {
		l->v[l->n].nb = j->not_before_ms;
		l->v[l->n].id = j->id;
		l->n++;
	}
}

static int cmp_nb_id(const void *a, const void *b)
{
	const struct nb_id *x = a, *y = b;

	if (x->nb != y->nb)
		return (x->nb > y->nb) - (x->nb < y->nb);
	return (x->id > y->id) - (x->id < y->id);
}

static void fill_backlog(struct store *s)
{
	static struct backlog_thread bt[BACKLOG_THREADS];
	pthread_t th[BACKLOG_THREADS];
	int t;

	for (t = 0; t < BACKLOG_THREADS; t++) {
		bt[t].s = s;
		bt[t].t = t;
		bt[t].failed = 0;
		assert_int_equal(pthread_create(&th[t], NULL, backlog_worker, &bt[t]), 0);
	}
	for (t = 0; t < BACKLOG_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(bt[t].failed, 0);
	}
	assert_count(s, JOB_QUEUED, BACKLOG);
}

static void claim_want(struct store *s, int64_t now, int64_t want_id, int want_attempts)
{
	struct job j;

	assert_int_equal(store_claim(s, now, 60000, &j), 0);
	assert_int_equal(j.id, want_id);
	assert_int_equal(j.attempts, want_attempts);
	assert_int_equal(j.state, JOB_RUNNING);
}

static void test_claim_order_large_backlog(void **state)
{
	struct fixture *f = *state;
	static struct nb_id v[BACKLOG];
	struct nb_list l = { v, 0 };
	int64_t now, high = 0;
	size_t k;

	fill_backlog(f->s);
	now = clock_wall_ms();
	assert_int_equal(store_list(f->s, JOB_QUEUED, 0, nb_collect, &l), 0);
	assert_int_equal(l.n, BACKLOG);
	qsort(v, l.n, sizeof(v[0]), cmp_nb_id);
	for (k = 0; k < l.n; k++)
		high = v[k].id > high ? v[k].id : high;
	/* Earliest not_before first, then the lowest id. */
	for (k = 0; k < 3; k++)
		claim_want(f->s, now, v[k].id, 1);
	/* The newest job, made due long ago, jumps the queue... */
	assert_int_equal(store_job_retry(f->s, high, 1, "old"), 0);
	claim_want(f->s, now, high, 1);
	/* ...and one pushed into the future is passed over. */
	assert_int_equal(store_job_retry(f->s, v[3].id, now + 1000000000, "later"), 0);
	claim_want(f->s, now, v[4].id, 1);
	/* Once the leases expire, the expired jobs are claimed again before the
	 * queued ones that became ready later, in not_before order. */
	claim_want(f->s, now + 60000, high, 2);
	claim_want(f->s, now + 60000, v[0].id, 2);
	claim_want(f->s, now + 60000, v[1].id, 2);
	claim_want(f->s, now + 60000, v[2].id, 2);
	claim_want(f->s, now + 60000, v[4].id, 2);
	claim_want(f->s, now + 60000, v[5].id, 1);
	assert_count(f->s, JOB_RUNNING, 6);
	assert_count(f->s, JOB_QUEUED, BACKLOG - 6);
}

static void test_lease_expiry_reclaims(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-lease"), now = clock_wall_ms();
	struct job j;

	assert_int_equal(store_claim(f->s, now, 1000, &j), 0);
	assert_int_equal(store_claim(f->s, now + 999, 1000, &j), ERR_NOTFOUND);
	assert_int_equal(store_claim(f->s, now + 1000, 1000, &j), 0);
	assert_int_equal(j.id, id);
	assert_int_equal(j.attempts, 2);
	assert_int_equal(j.state, JOB_RUNNING);
}

static void test_release_uncounts_attempt(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-rel"), now = clock_wall_ms();
	struct job j;

	assert_int_equal(store_claim(f->s, now, 60000, &j), 0);
	assert_int_equal(j.attempts, 1);
	assert_int_equal(store_job_release(f->s, id), 0);
	assert_count(f->s, JOB_QUEUED, 1);
	/* Only a running job can be released. */
	assert_int_equal(store_job_release(f->s, id), ERR_NOTFOUND);
	assert_int_equal(store_claim(f->s, now, 60000, &j), 0);
	assert_int_equal(j.attempts, 1);
}

static void test_reopen_requeues_running(void **state)
{
	struct fixture *f = *state;
	char err[256];
	int64_t id = put_job(f->s, "exec-crash");
	struct job j;

	put_job(f->s, "exec-other");
	claim_id(f->s, clock_wall_ms(), id);
	/* No settle: the process "dies" with the job running. */
	store_close(f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_count(f->s, JOB_RUNNING, 0);
	assert_count(f->s, JOB_QUEUED, 2);
	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	assert_int_equal(j.id, id);
	assert_int_equal(j.attempts, 2);
}

/* Holds job id's delivery to "slack-ops" back for a grouped message
 * until until (as the worker does), settling the job. */
static void hold(struct store *s, int64_t id, int64_t until, const char *item)
{
	struct dlv_outcome o = { .state = DLV_PENDING,
				 .deferred = 1,
				 .not_before_ms = until,
				 .error = "held",
				 .payload = "{\"text\":\"own\"}",
				 .group_item = item };

	assert_int_equal(store_delivery_record(s, id, "slack-ops", &o, 0), 0);
}

static int64_t dlv_int(struct fixture *f, int64_t id, const char *dest, const char *col)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char sql[160];
	int64_t v;

	snprintf(sql, sizeof(sql), "SELECT %s FROM deliveries WHERE job_id = %lld AND dest = '%s'",
		 col, (long long)id, dest);
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	/* state reads 1 for delivered; other columns as numbers */
	v = strcmp(col, "state") == 0
		    ? (int64_t)(strcmp((const char *)sqlite3_column_text(st, 0), "delivered") == 0)
		    : sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Storm grouping: held deliveries of several jobs are taken once, by one
 * caller, only when due; the outcome is recorded for all in one go and
 * settles the jobs no worker runs; other destinations are untouched. */
static void test_group_take_and_record(void **state)
{
	struct fixture *f = *state;
	int64_t now = clock_wall_ms(), ids[3], until = now + 30000;
	struct group_held *h = NULL;
	struct dlv_outcome ok = { .state = DLV_DELIVERED };
	struct delivery *dl = NULL;
	size_t n = 0, i;
	struct job j;
	char item[32];

	for (i = 0; i < 3; i++)
		ids[i] = put_job(f->s, (const char *[]){ "g-1", "g-2", "g-3" }[i]);
	now = clock_wall_ms();
	until = now + 30000;
	for (i = 0; i < 3; i++)
		claim_id(f->s, now, ids[i]);
	for (i = 0; i < 3; i++) {
		snprintf(item, sizeof(item), "{\"pl\":\"p%zu\"}", i);
		hold(f->s, ids[i], until, item);
		assert_int_equal(store_job_settle(f->s, ids[i]), 0);
	}
	/* The held delivery reads as held; the other destination is due. */
	assert_int_equal(store_deliveries(f->s, ids[0], &dl, &n), 0);
	assert_int_equal(n, 2);
	assert_true(strcmp(dl[0].dest, "slack-ops") == 0 ? dl[0].grouped && !dl[1].grouped
							 : dl[1].grouped && !dl[0].grouped);
	store_deliveries_free(dl, n);
	/* Not due yet: nothing to take. */
	assert_int_equal(store_group_take(f->s, "slack-ops", until - 1, 60000, 100, &h, &n), 0);
	assert_int_equal(n, 0);
	assert_null(h);
	/* Due: all three, oldest first, with their line and own body. */
	assert_int_equal(store_group_take(f->s, "slack-ops", until, 60000, 100, &h, &n), 0);
	assert_int_equal(n, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(h[i].job_id, ids[i]);
		snprintf(item, sizeof(item), "{\"pl\":\"p%zu\"}", i);
		assert_string_equal(h[i].item, item);
		assert_string_equal(h[i].payload, "{\"text\":\"own\"}");
	}
	store_group_free(h, n);
	/* Taken: a second caller gets nothing until the take's lease ends. */
	assert_int_equal(store_group_take(f->s, "slack-ops", until + 1, 60000, 100, &h, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_group_take(f->s, "teams-data", until + 1, 60000, 100, &h, &n), 0);
	assert_int_equal(n, 0);
	/* One job is being run by a worker meanwhile (claimed at until). */
	assert_int_equal(store_claim(f->s, until, 60000, &j), 0);
	ok.message_id = "1234567890";
	assert_int_equal(store_group_record(f->s, "slack-ops", ids, 3, &ok), 0);
	assert_int_equal(dlv_int(f, ids[2], "slack-ops", "message_id"), 1234567890);
	for (i = 0; i < 3; i++)
		assert_int_equal(dlv_int(f, ids[i], "slack-ops", "state"), 1);
	/* The running job was left to its worker; the others are settled
	 * (queued for their Teams delivery, no longer for the held one). */
	assert_count(f->s, JOB_RUNNING, 1);
	assert_count(f->s, JOB_QUEUED, 2);
	/* A repeated record changes nothing. */
	assert_int_equal(store_group_record(f->s, "slack-ops", ids, 3, &ok), 0);
	assert_int_equal(store_group_record(f->s, "slack-ops", ids, 0, &ok), 0);
	assert_int_equal(store_group_record(f->s, "slack-ops", NULL, 3, &ok), ERR_INVALID);
	assert_int_equal(store_group_take(f->s, "slack-ops", until, 60000, 0, &h, &n), ERR_INVALID);
}

/* A grouped message in flight when the process dies: its runs are held
 * again and due at the next open, and a retry outcome holds them again. */
static void test_group_take_given_back_on_reopen(void **state)
{
	struct fixture *f = *state;
	int64_t now = clock_wall_ms(), id;
	struct group_held *h = NULL;
	struct dlv_outcome retry = { .state = DLV_PENDING, .error = "503" };
	char err[256];
	size_t n = 0;
	struct job j;

	id = put_job(f->s, "g-crash");
	now = clock_wall_ms(); /* not before the put: a claim at an earlier time finds nothing */
	claim_id(f->s, now, id);
	hold(f->s, id, now, "{}");
	assert_int_equal(store_job_settle(f->s, id), 0);
	assert_int_equal(store_group_take(f->s, "slack-ops", now, 600000, 10, &h, &n), 0);
	assert_int_equal(n, 1);
	store_group_free(h, n);
	store_close(f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(dlv_int(f, id, "slack-ops", "grouped"), 1);
	assert_int_equal(store_group_take(f->s, "slack-ops", now, 600000, 10, &h, &n), 0);
	assert_int_equal(n, 1);
	store_group_free(h, n);
	/* The job is claimable at once (not left waiting for the lease). */
	assert_int_equal(store_claim(f->s, now, 60000, &j), 0);
	assert_int_equal(store_job_release(f->s, j.id), 0);
	retry.not_before_ms = now + 5000;
	assert_int_equal(store_group_record(f->s, "slack-ops", &id, 1, &retry), 0);
	assert_int_equal(dlv_int(f, id, "slack-ops", "grouped"), 1);
	assert_int_equal(dlv_int(f, id, "slack-ops", "attempts"), 1);
	assert_int_equal(store_group_take(f->s, "slack-ops", now + 4999, 1000, 10, &h, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_group_take(f->s, "slack-ops", now + 5000, 1000, 10, &h, &n), 0);
	assert_int_equal(n, 1);
	store_group_free(h, n);
}

static void test_second_opener_keeps_leases(void **state)
{
	struct fixture *f = *state;
	struct store *cli;
	char err[256];
	int64_t id = put_job(f->s, "exec-live");

	claim_id(f->s, clock_wall_ms(), id);
	/* A CLI opening the file while the service runs must not steal the
	 * service's running job. */
	cli = store_open(f->path, err, sizeof(err));
	assert_non_null(cli);
	assert_count(cli, JOB_RUNNING, 1);
	store_close(cli);
	assert_count(f->s, JOB_RUNNING, 1);
	assert_int_equal(store_job_settle(f->s, id), 0);
	assert_count(f->s, JOB_QUEUED, 1);
}

/* The store records an attempt's outcome with one call; these are its
 * three shapes, without settling (the tests settle explicitly). */
static int dlv_retry_with(struct store *s, int64_t job, const char *dest, int64_t not_before,
			  const char *error, const char *payload)
{
	struct dlv_outcome o = { .state = DLV_PENDING,
				 .not_before_ms = not_before,
				 .error = error,
				 .payload = payload };

	return store_delivery_record(s, job, dest, &o, 0);
}

static int dlv_retry(struct store *s, int64_t job, const char *dest, int64_t not_before,
		     const char *error)
{
	return dlv_retry_with(s, job, dest, not_before, error, NULL);
}

static int dlv_ok(struct store *s, int64_t job, const char *dest)
{
	struct dlv_outcome o = { .state = DLV_DELIVERED };

	return store_delivery_record(s, job, dest, &o, 0);
}

static int dlv_dead(struct store *s, int64_t job, const char *dest, const char *error)
{
	struct dlv_outcome o = { .state = DLV_DEAD, .error = error };

	return store_delivery_record(s, job, dest, &o, 0);
}

struct collect {
	int n;
	int64_t ids[16];
	enum job_state st[16];
	int64_t not_before[16];
	char err[16][256];
};

static void collect_fn(void *ctx, const struct job *j)
{
	struct collect *c = ctx;

	if (c->n >= 16)
		return;
	c->ids[c->n] = j->id;
	c->st[c->n] = j->state;
	c->not_before[c->n] = j->not_before_ms;
	snprintf(c->err[c->n], sizeof(c->err[0]), "%s", j->last_error);
	c->n++;
}

static void test_settle_partial_requeues(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-p"), now = clock_wall_ms();
	struct collect c = { 0 };
	struct delivery *d = NULL;
	size_t n = 0;
	struct job j;

	claim_id(f->s, now, id);
	assert_int_equal(dlv_retry_with(f->s, id, "nope", 0, "x", "x"), ERR_NOTFOUND);
	assert_int_equal(dlv_ok(f->s, id, "slack-ops"), 0);
	assert_int_equal(
		dlv_retry_with(f->s, id, "teams-data", now + 5000, "HTTP 503", "{\"text\":\"hi\"}"),
		0);
	assert_int_equal(store_job_settle(f->s, id), 0);

	assert_int_equal(store_list(f->s, JOB_QUEUED, 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], id);
	assert_int_equal(c.not_before[0], now + 5000);

	assert_int_equal(store_deliveries(f->s, id, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].dest, "teams-data");
	assert_int_equal(d[0].attempts, 1);
	assert_int_equal(d[0].not_before_ms, now + 5000);
	assert_string_equal(d[0].last_error, "HTTP 503");
	assert_string_equal(d[0].payload, "{\"text\":\"hi\"}");
	store_deliveries_free(d, n);

	assert_int_equal(store_claim(f->s, now + 4999, 60000, &j), ERR_NOTFOUND);
	claim_id(f->s, now + 5000, id);
	assert_int_equal(dlv_ok(f->s, id, "teams-data"), 0);
	assert_int_equal(store_job_settle(f->s, id), 0);
	assert_count(f->s, JOB_DELIVERED, 1);
	assert_int_equal(store_deliveries(f->s, id, &d, &n), 0);
	assert_int_equal(n, 0);
	store_deliveries_free(d, n);
}

static void test_settle_dead_and_mixed(void **state)
{
	struct fixture *f = *state;
	int64_t a = put_job(f->s, "exec-dead"), b = put_job(f->s, "exec-mixed");

	assert_int_equal(dlv_dead(f->s, a, "slack-ops", "HTTP 404"), 0);
	assert_int_equal(dlv_dead(f->s, a, "teams-data", "HTTP 410"), 0);
	assert_int_equal(store_job_settle(f->s, a), 0);
	assert_count(f->s, JOB_DEAD, 1);
	/* A dead delivery cannot be revived by a late retry. */
	assert_int_equal(dlv_retry(f->s, a, "slack-ops", 0, "x"), ERR_NOTFOUND);

	assert_int_equal(dlv_ok(f->s, b, "slack-ops"), 0);
	assert_int_equal(dlv_dead(f->s, b, "teams-data", "HTTP 400"), 0);
	assert_int_equal(store_job_settle(f->s, b), 0);
	assert_count(f->s, JOB_DELIVERED, 1);
	assert_int_equal(store_job_settle(f->s, 424242), ERR_NOTFOUND);
}

/* Fetches the pending delivery of job id to dest into *out (caller frees
 * out->payload); fails the test when there is none. */
static void pending_of(struct store *s, int64_t id, const char *dest, struct delivery *out)
{
	struct delivery *d = NULL;
	size_t n = 0, k;
	int found = 0;

	assert_int_equal(store_deliveries(s, id, &d, &n), 0);
	for (k = 0; k < n; k++) {
		if (strcmp(d[k].dest, dest) == 0) {
			*out = d[k];
			d[k].payload = NULL;
			found = 1;
		}
	}
	store_deliveries_free(d, n);
	assert_true(found);
}

/* store_delivery_record(): the outcome and the settle commit together;
 * a retry keeps the payload it carries, and a later retry without one
 * keeps the stored payload. */
static void test_record_outcome_and_settle(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-rec"), now = clock_wall_ms();
	struct dlv_outcome ok = { .state = DLV_DELIVERED };
	struct dlv_outcome retry = { .state = DLV_PENDING,
				     .not_before_ms = now + 5000,
				     .error = "HTTP 503",
				     .payload = "{\"text\":\"r\"}" };
	struct collect c = { 0 };
	struct delivery dl;

	claim_id(f->s, now, id);
	/* Not settling: the job stays running after the first outcome. */
	assert_int_equal(store_delivery_record(f->s, id, "slack-ops", &ok, 0), 0);
	assert_count(f->s, JOB_RUNNING, 1);
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &retry, 1), 0);
	assert_count(f->s, JOB_RUNNING, 0);
	assert_int_equal(store_list(f->s, JOB_QUEUED, 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.not_before[0], now + 5000);
	pending_of(f->s, id, "teams-data", &dl);
	assert_int_equal(dl.attempts, 1);
	assert_int_equal(dl.not_before_ms, now + 5000);
	assert_string_equal(dl.last_error, "HTTP 503");
	assert_string_equal(dl.payload, "{\"text\":\"r\"}");
	free(dl.payload);

	/* A second failure without a payload keeps the stored one. */
	claim_id(f->s, now + 5000, id);
	retry.not_before_ms = now + 9000;
	retry.error = "HTTP 502";
	retry.payload = NULL;
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &retry, 1), 0);
	pending_of(f->s, id, "teams-data", &dl);
	assert_int_equal(dl.attempts, 2);
	assert_string_equal(dl.last_error, "HTTP 502");
	assert_string_equal(dl.payload, "{\"text\":\"r\"}");
	free(dl.payload);

	/* A deferral (destination paused, nothing posted) is not an attempt. */
	claim_id(f->s, now + 9000, id);
	retry.not_before_ms = now + 9000;
	retry.error = "destination paused";
	retry.deferred = 1;
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &retry, 1), 0);
	pending_of(f->s, id, "teams-data", &dl);
	assert_int_equal(dl.attempts, 2);
	assert_string_equal(dl.last_error, "destination paused");
	free(dl.payload);

	claim_id(f->s, now + 9000, id);
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &ok, 1), 0);
	assert_count(f->s, JOB_DELIVERED, 1);
	assert_count(f->s, JOB_QUEUED, 0);
}

/* A dead outcome keeps its payload for `dead retry`; outcomes that find
 * nothing to record, or cannot commit, write nothing, settle included. */
static void test_record_dead_notfound_and_failure(void **state)
{
	struct fixture *f = *state;
	int64_t a = put_job(f->s, "exec-rd"), now = clock_wall_ms();
	struct dlv_outcome dead = { .state = DLV_DEAD,
				    .error = "HTTP 404",
				    .payload = "{\"text\":\"d\"}" };
	struct dlv_outcome ok = { .state = DLV_DELIVERED };
	struct dlv_outcome bad = { .state = DLV__MAX };
	struct delivery dl;
	size_t count = 0;

	claim_id(f->s, now, a);
	assert_int_equal(store_delivery_record(f->s, a, "slack-ops", &bad, 1), ERR_INVALID);
	assert_int_equal(store_delivery_record(f->s, a, "nope", &ok, 1), ERR_NOTFOUND);
	assert_int_equal(store_delivery_record(NULL, a, "slack-ops", &ok, 1), ERR_INVALID);
	assert_count(f->s, JOB_RUNNING, 1); /* nothing settled */

	store_fail_writes(f->s, 1);
	assert_int_equal(store_delivery_record(f->s, a, "slack-ops", &ok, 1), ERR_IO);
	store_fail_writes(f->s, 0);
	assert_count(f->s, JOB_RUNNING, 1);
	pending_of(f->s, a, "slack-ops", &dl); /* still pending */
	free(dl.payload);

	assert_int_equal(store_delivery_record(f->s, a, "slack-ops", &dead, 0), 0);
	/* A dead delivery cannot be revived by a late retry outcome. */
	assert_int_equal(store_delivery_record(f->s, a, "slack-ops", &dead, 1), ERR_NOTFOUND);
	assert_count(f->s, JOB_RUNNING, 1);
	dead.payload = NULL;
	assert_int_equal(store_delivery_record(f->s, a, "teams-data", &dead, 1), 0);
	assert_count(f->s, JOB_DEAD, 1);

	assert_int_equal(store_dead_retry(f->s, a, &count), 0);
	assert_int_equal(count, 1);
	pending_of(f->s, a, "slack-ops", &dl);
	assert_int_equal(dl.attempts, 0);
	assert_string_equal(dl.payload, "{\"text\":\"d\"}");
	free(dl.payload);
	pending_of(f->s, a, "teams-data", &dl);
	assert_null(dl.payload);
}

static void test_job_end_states(void **state)
{
	struct fixture *f = *state;
	int64_t a = put_job(f->s, "exec-ign"), b = put_job(f->s, "exec-gaveup");
	struct collect c = { 0 };
	struct delivery *d = NULL;
	size_t n = 0;

	assert_int_equal(store_job_end(f->s, a, JOB_QUEUED, "no"), ERR_INVALID);
	assert_int_equal(store_job_end(f->s, a, JOB_IGNORED, "status SUCCESS not routed"), 0);
	assert_int_equal(store_job_end(f->s, b, JOB_DEAD, "api 401"), 0);
	assert_int_equal(store_job_end(f->s, 777777, JOB_DEAD, "x"), ERR_NOTFOUND);
	assert_count(f->s, JOB_IGNORED, 1);
	assert_count(f->s, JOB_DEAD, 1);
	assert_int_equal(store_deliveries(f->s, a, &d, &n), 0);
	assert_int_equal(n, 0);
	store_deliveries_free(d, n);
	assert_int_equal(store_list(f->s, JOB_DEAD, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.err[0], "api 401");
}

static void make_dead(struct store *s, int64_t id)
{
	assert_int_equal(dlv_dead(s, id, "slack-ops", "HTTP 404"), 0);
	assert_int_equal(dlv_dead(s, id, "teams-data", "HTTP 404"), 0);
	assert_int_equal(store_job_settle(s, id), 0);
}

/* A job delivered to Slack but given up on Teams is a dead letter too:
 * listed, retried for Teams only, and purged without touching Slack. */
static void test_dead_destination_of_delivered_job(void **state)
{
	struct fixture *f = *state;
	int64_t b = put_job(f->s, "exec-mixed");
	struct collect c = { 0 };
	struct delivery *d = NULL;
	size_t n = 0, count = 0;
	struct job j;

	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	assert_int_equal(dlv_ok(f->s, b, "slack-ops"), 0);
	assert_int_equal(dlv_dead(f->s, b, "teams-data", "HTTP 410 channel gone"), 0);
	assert_int_equal(store_job_settle(f->s, b), 0);
	assert_count(f->s, JOB_DELIVERED, 1);

	assert_int_equal(store_list(f->s, JOB_DEAD, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.ids[0], b);
	assert_int_equal(c.st[0], JOB_DELIVERED);
	assert_non_null(strstr(c.err[0], "teams-data"));

	assert_int_equal(store_dead_retry(f->s, b, &count), 0);
	assert_int_equal(count, 1);
	assert_count(f->s, JOB_QUEUED, 1);
	assert_int_equal(store_deliveries(f->s, b, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].dest, "teams-data");
	store_deliveries_free(d, n);

	/* Dead again; purge drops only the dead delivery, the job stays. */
	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	assert_int_equal(dlv_dead(f->s, b, "teams-data", "HTTP 410"), 0);
	assert_int_equal(store_job_settle(f->s, b), 0);
	assert_int_equal(store_dead_purge(f->s, 0, &count), 0);
	assert_int_equal(count, 1);
	assert_count(f->s, JOB_DELIVERED, 1);
	c.n = 0;
	assert_int_equal(store_list(f->s, JOB_DEAD, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 0);
}

static void test_dead_list_retry_purge(void **state)
{
	struct fixture *f = *state;
	int64_t a = put_job(f->s, "exec-d1"), b = put_job(f->s, "exec-d2");
	struct collect c = { 0 };
	struct delivery *d = NULL;
	size_t n = 0, count = 99;
	struct job j;

	put_job(f->s, "exec-alive");
	make_dead(f->s, a);
	make_dead(f->s, b);
	assert_int_equal(store_list(f->s, JOB_DEAD, 10, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.ids[0], b); /* newest first */
	assert_int_equal(c.ids[1], a);
	c.n = 0;
	assert_int_equal(store_list(f->s, -1, 2, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);

	assert_int_equal(store_dead_retry(f->s, a, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_deliveries(f->s, a, &d, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(d[0].attempts, 0);
	assert_string_equal(d[0].last_error, "");
	store_deliveries_free(d, n);
	assert_int_equal(store_dead_retry(f->s, a, &count), ERR_NOTFOUND);
	assert_int_equal(count, 0);
	/* exec-alive waited since before the retry, so it may come first
	 * (earliest not_before); within one millisecond the id decides. */
	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	if (j.id != a)
		assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	assert_int_equal(j.id, a);
	assert_int_equal(j.attempts, 1);

	assert_int_equal(store_dead_purge(f->s, 3600, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_dead_purge(f->s, 0, &count), 0);
	assert_int_equal(count, 1);
	assert_count(f->s, JOB_DEAD, 0);
	assert_int_equal(store_dead_retry(f->s, -1, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_deliveries(f->s, b, &d, &n), 0);
	assert_int_equal(n, 0);
	store_deliveries_free(d, n);
}

static void test_dead_retry_all(void **state)
{
	struct fixture *f = *state;
	int64_t a = put_job(f->s, "exec-r1"), b = put_job(f->s, "exec-r2");
	size_t count = 0;

	make_dead(f->s, a);
	make_dead(f->s, b);
	assert_int_equal(store_dead_retry(f->s, -1, &count), 0);
	assert_int_equal(count, 2);
	assert_count(f->s, JOB_QUEUED, 2);
	assert_count(f->s, JOB_DEAD, 0);
}

static void test_prune_finished_and_keys(void **state)
{
	struct fixture *f = *state;
	int64_t done = put_job(f->s, "exec-done"), dead = put_job(f->s, "exec-dd"), id;
	struct webhook_event ev;
	struct delivery *d = NULL;
	size_t n = 0;

	put_job(f->s, "exec-queued");
	assert_int_equal(dlv_ok(f->s, done, "slack-ops"), 0);
	assert_int_equal(dlv_ok(f->s, done, "teams-data"), 0);
	assert_int_equal(store_job_settle(f->s, done), 0);
	make_dead(f->s, dead);

	assert_int_equal(store_prune(f->s, BIG_WINDOW), 0);
	assert_count(f->s, JOB_DELIVERED, 1);
	make_event(&ev, "exec-done", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_DUPLICATE);

	assert_int_equal(store_prune(f->s, 0), 0);
	assert_count(f->s, JOB_DELIVERED, 0);
	assert_count(f->s, JOB_DEAD, 1); /* dead letters wait for a person */
	assert_count(f->s, JOB_QUEUED, 1);
	assert_int_equal(store_deliveries(f->s, dead, &d, &n), 0);
	store_deliveries_free(d, n);
	/* The key is gone, so even a long window accepts the event again. */
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), 0);
	assert_true(id > done);
}

static void test_fail_writes_then_recover(void **state)
{
	struct fixture *f = *state;
	int64_t id = -1, queued = put_job(f->s, "exec-before");
	uint64_t c0;
	struct webhook_event ev;
	struct job j;

	assert_int_equal(store_healthy(f->s), 1);
	c0 = store_commit_count(f->s);
	store_fail_writes(f->s, 1);
	make_event(&ev, "exec-full", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_IO);
	assert_int_equal(id, -1);
	assert_int_equal(store_healthy(f->s), 0);
	assert_int_equal(store_commit_count(f->s), c0);
	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), ERR_IO);
	assert_int_equal(store_job_retry(f->s, queued, 0, "x"), ERR_IO);
	assert_count(f->s, JOB_QUEUED, 1);
	assert_count(f->s, JOB_RUNNING, 0);

	store_fail_writes(f->s, 0);
	/* Nothing of the failed put was kept, not even its dedup key. */
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), 0);
	assert_int_equal(store_healthy(f->s), 1);
	assert_count(f->s, JOB_QUEUED, 2);
}

/* A real write failure from the kernel: RLIMIT_FSIZE makes every write
 * past 1 KiB fail with EFBIG, even for root, the way a full disk fails
 * with ENOSPC. SQLite must report it and the store must answer ERR_IO. */
static void test_real_write_error(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, lim;
	struct webhook_event ev;
	int64_t id = -1;
	int rc, i;

	put_job(f->s, "exec-warm");
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_IGN);
	lim = old;
	lim.rlim_cur = 1024;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	rc = 0;
	for (i = 0; i < 3 && rc == 0; i++) {
		char exec[32];
		snprintf(exec, sizeof(exec), "exec-efbig-%d", i);
		make_event(&ev, exec, ST_FAILED);
		rc = store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id);
	}
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(rc, ERR_IO);
	assert_int_equal(store_healthy(f->s), 0);
	/* The disk has room again: the same event is accepted. */
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), 0);
	assert_int_equal(store_healthy(f->s), 1);
}

static void write_file(const char *path, off_t at, const char *bytes, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, n, at), (ssize_t)n);
	close(fd);
}

static void test_garbage_file_refused(void **state)
{
	struct fixture *f = *state;
	char path[160], junk[8192], err[256] = "";

	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	memset(junk, 'Z', sizeof(junk));
	write_file(path, 0, junk, sizeof(junk));
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a database"));
	print_message("refused: %s\n", err);
}

static void test_damaged_page_refused(void **state)
{
	struct fixture *f = *state;
	char junk[4096], err[256] = "";
	int i;

	for (i = 0; i < 20; i++) {
		char exec[32];
		snprintf(exec, sizeof(exec), "exec-%d", i);
		put_job(f->s, exec);
	}
	store_close(f->s); /* checkpoints the WAL into the main file */
	f->s = NULL;
	memset(junk, 0x5a, sizeof(junk));
	write_file(f->path, 4096, junk, sizeof(junk)); /* page 2 */
	assert_null(store_open(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, f->path));
	assert_true(strstr(err, "corrupt") != NULL || strstr(err, "malformed") != NULL);
	print_message("refused: %s\n", err);
}

static void test_open_missing_dir(void **state)
{
	struct fixture *f = *state;
	char path[160], err[256] = "";

	snprintf(path, sizeof(path), "%s/no/such/dir/x.db", f->dir);
	assert_null(store_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, "unable to open"));
	assert_null(store_open("", err, sizeof(err)));
}

/* A file the process may not write is refused at open, with SQLite's
 * reason, rather than opened read-only to fail every later put; the file
 * keeps its job for a writable open. */
static void test_readonly_file_refused(void **state)
{
	struct fixture *f = *state;
	int64_t counts[JOB__MAX];
	char err[256] = "";

	put_job(f->s, "exec-ro");
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(chmod(f->path, 0444), 0);
	assert_int_equal(chmod(f->dir, 0555), 0);
	drop_root();
	f->s = store_open(f->path, err, sizeof(err));
	regain_root();
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_null(f->s);
	assert_non_null(strstr(err, "readonly database"));
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(store_counts(f->s, counts), 0);
	assert_int_equal(counts[JOB_QUEUED], 1);
}

/* A file turned read-only under an open store makes it unhealthy before
 * any write finds out (its open descriptors could still write), and
 * healthy again once it is writable. */
static void test_readonly_file_unhealthy(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";

	store_close(f->s);
	f->s = NULL;
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-lock");
	assert_int_equal(chmod(f->dir, 0777), 0);
	drop_root();
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	assert_int_equal(store_healthy(f->s), 1);
	assert_int_equal(chmod(f->path, 0444), 0);
	assert_int_equal(store_healthy(f->s), 0);
	assert_int_equal(chmod(f->path, 0600), 0);
	assert_int_equal(store_healthy(f->s), 1);
	store_close(f->s);
	f->s = NULL;
	regain_root();
	assert_int_equal(chmod(f->dir, 0700), 0);
}

struct waiter {
	struct store *s;
	int returned;
};

static void *wait_thread(void *arg)
{
	struct waiter *w = arg;

	store_wait(w->s, 600000);
	__atomic_store_n(&w->returned, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Pokes the store (wake or put) until a waiter sleeping 10 minutes has
 * returned; pokes repeat because it may not be waiting yet at the first. */
static void poke_until_returned(struct store *s, int by_put)
{
	struct waiter w = { s, 0 };
	pthread_t th;
	char exec[32];
	int i;

	assert_int_equal(pthread_create(&th, NULL, wait_thread, &w), 0);
	for (i = 0; i < 2000 && !__atomic_load_n(&w.returned, __ATOMIC_SEQ_CST); i++) {
		if (by_put) {
			snprintf(exec, sizeof(exec), "exec-wake-%d", i);
			put_job(s, exec);
		} else {
			store_wake(s);
		}
		usleep(1000);
	}
	assert_int_equal(__atomic_load_n(&w.returned, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(pthread_join(th, NULL), 0);
}

static void test_wake_unblocks_wait(void **state)
{
	struct fixture *f = *state;

	poke_until_returned(f->s, 0);
}

static void test_put_unblocks_wait(void **state)
{
	struct fixture *f = *state;

	poke_until_returned(f->s, 1);
}

/* An async put whose callback notes how many WAL syncs had happened. */
struct sync_probe {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc, syncs;
};

static void sync_probe_done(void *ctx, int rc, int64_t job_id)
{
	struct sync_probe *p = ctx;

	(void)job_id;
	pthread_mutex_lock(&p->mu);
	p->syncs = atomic_load(&wal_syncs);
	p->rc = rc;
	p->done = 1;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

/* A put is answered only after the WAL holding it was fdatasync'ed, and a
 * failed fdatasync answers ERR_IO (so intake says 503) and marks the store
 * unhealthy. The job was committed, though, so the webhook's retry is a
 * duplicate and the run is still delivered: at least once, never lost. */
static void test_put_waits_for_wal_sync(void **state)
{
	struct fixture *f = *state;
	struct sync_probe p = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0 };
	struct webhook_event ev;
	struct job j;
	int64_t id = -1;
	int before = atomic_load(&wal_syncs);

	make_event(&ev, "exec-sync", ST_FAILED);
	assert_int_equal(store_put_async(f->s, &ev, two_dests, 2, BIG_WINDOW, sync_probe_done, &p),
			 0);
	pthread_mutex_lock(&p.mu);
	while (!p.done)
		pthread_cond_wait(&p.cv, &p.mu);
	pthread_mutex_unlock(&p.mu);
	assert_int_equal(p.rc, 0);
	assert_true(p.syncs > before);

	atomic_store(&wal_sync_fails, 1);
	make_event(&ev, "exec-eio", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_IO);
	assert_int_equal(id, -1);
	assert_int_equal(store_healthy(f->s), 0);
	/* A write that needs no fsync (a claim) succeeds meanwhile; the
	 * store must still not call itself healthy. */
	assert_int_equal(store_claim(f->s, clock_wall_ms(), 60000, &j), 0);
	assert_int_equal(store_job_release(f->s, j.id), 0);
	assert_int_equal(store_healthy(f->s), 0);
	atomic_store(&wal_sync_fails, 0);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_DUPLICATE);
	put_job(f->s, "exec-after");
	assert_int_equal(store_healthy(f->s), 1);
	assert_count(f->s, JOB_QUEUED, 3);
}

struct async_put {
	struct webhook_event ev;
	pthread_mutex_t *mu;
	pthread_cond_t *cv;
	int *left;
	int rc;
};

static void async_put_done(void *ctx, int rc, int64_t job_id)
{
	struct async_put *a = ctx;

	(void)job_id;
	pthread_mutex_lock(a->mu);
	a->rc = rc;
	(*a->left)--;
	pthread_cond_signal(a->cv);
	pthread_mutex_unlock(a->mu);
}

/* Puts n webhooks with store_put_async() and waits for every callback
 * (results in a[]); a trigger refuses the one at index poison, as a
 * constraint would, so its batch is rolled back and run again with
 * savepoints. Execution ids are prefix followed by the index. */
static void put_with_poison(struct fixture *f, struct async_put *a, int n, int poison,
			    const char *prefix)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	sqlite3 *db = NULL;
	int i, left = n;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TRIGGER poison BEFORE INSERT ON jobs"
				      " WHEN NEW.execution_id = 'exec-poison'"
				      " BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	for (i = 0; i < n; i++) {
		char exec[32];
		if (i == poison)
			snprintf(exec, sizeof(exec), "exec-poison");
		else
			snprintf(exec, sizeof(exec), "%s%d", prefix, i);
		make_event(&a[i].ev, exec, ST_FAILED);
		a[i].mu = &mu;
		a[i].cv = &cv;
		a[i].left = &left;
		assert_int_equal(store_put_async(f->s, &a[i].ev, two_dests, 2, BIG_WINDOW,
						 async_put_done, &a[i]),
				 0);
	}
	pthread_mutex_lock(&mu);
	while (left > 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

/* A request whose rows fail inside a batch (here a trigger refuses one
 * execution id, as a constraint would) gets ERR_INVALID; the requests
 * queued with it are still committed. */
static void test_bad_request_spoils_no_batch(void **state)
{
	enum { N = 40, POISON = 17 };
	struct fixture *f = *state;
	static struct async_put a[N];
	int i;

	put_with_poison(f, a, N, POISON, "exec-b");
	for (i = 0; i < N; i++)
		assert_int_equal(a[i].rc, i == POISON ? ERR_INVALID : 0);
	assert_count(f->s, JOB_QUEUED, N - 1);
	assert_int_equal(store_healthy(f->s), 1);
}

/* A file written by version 1 (separate dedup table, three job indexes)
 * is upgraded in place when opened: its jobs stay, their keys still
 * deduplicate, and the dropped tables and indexes are gone. */
static void test_upgrades_v1_file(void **state)
{
	static const char v1[] =
		"CREATE TABLE jobs ("
		" id INTEGER PRIMARY KEY AUTOINCREMENT,"
		" project_id TEXT NOT NULL, execution_id TEXT NOT NULL,"
		" pipeline_name TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL DEFAULT '',"
		" status TEXT NOT NULL, status_text TEXT NOT NULL DEFAULT '',"
		" state TEXT NOT NULL CHECK (state IN"
		"  ('queued','running','delivered','dead','ignored')),"
		" attempts INTEGER NOT NULL DEFAULT 0,"
		" received_ms INTEGER NOT NULL, not_before_ms INTEGER NOT NULL,"
		" lease_until_ms INTEGER, last_error TEXT, finished_ms INTEGER);"
		"CREATE INDEX jobs_claim ON jobs (state, not_before_ms);"
		"CREATE INDEX jobs_lease ON jobs (state, lease_until_ms);"
		"CREATE INDEX jobs_finished ON jobs (state, finished_ms);"
		"CREATE TABLE deliveries ("
		" job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
		" dest TEXT NOT NULL,"
		" state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),"
		" attempts INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL,"
		" payload TEXT, last_error TEXT, updated_ms INTEGER NOT NULL,"
		" PRIMARY KEY (job_id, dest));"
		"CREATE TABLE dedup ("
		" project_id TEXT NOT NULL, execution_id TEXT NOT NULL, status TEXT NOT NULL,"
		" seen_ms INTEGER NOT NULL,"
		" PRIMARY KEY (project_id, execution_id, status)) WITHOUT ROWID;"
		"CREATE INDEX dedup_seen ON dedup (seen_ms);"
		"PRAGMA user_version = 1;";
	struct fixture *f = *state;
	struct webhook_event ev;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[512], err[256];
	int64_t now = clock_wall_ms(), id = -1;
	struct job j;

	store_close(f->s);
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO jobs (project_id, execution_id, status, state, received_ms,"
		 " not_before_ms) VALUES ('proj-1', 'exec-v1', 'FAILED', 'queued', %lld, %lld);"
		 "INSERT INTO deliveries (job_id, dest, state, not_before_ms, updated_ms)"
		 " VALUES (1, 'slack-ops', 'pending', %lld, %lld);"
		 "INSERT INTO dedup VALUES ('proj-1', 'exec-v1', 'FAILED', %lld);",
		 (long long)now, (long long)now, (long long)now, (long long)now, (long long)now);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("%s", err);
	make_event(&ev, "exec-v1", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_DUPLICATE);
	claim_id(f->s, now + 1, 1);
	assert_int_equal(store_claim(f->s, now + 1, 60000, &j), ERR_NOTFOUND);
	put_job(f->s, "exec-v2");

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT (SELECT user_version FROM"
					    " pragma_user_version), (SELECT count(*) FROM"
					    " sqlite_master WHERE name IN ('dedup', 'dedup_seen',"
					    " 'jobs_lease', 'jobs_finished'))",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 10);
	assert_int_equal(sqlite3_column_int(st, 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A file written by version 3 (the schema before follow-ups) opens, is
 * upgraded to version 4, and its job and delivery read as a run's own job
 * and an ordinary delivery. */
static void test_upgrades_v3_file(void **state)
{
	static const char v3[] =
		"CREATE TABLE jobs ("
		" id INTEGER PRIMARY KEY AUTOINCREMENT,"
		" project_id TEXT NOT NULL, execution_id TEXT NOT NULL,"
		" pipeline_name TEXT NOT NULL DEFAULT '', environment TEXT NOT NULL DEFAULT '',"
		" status TEXT NOT NULL, status_text TEXT NOT NULL DEFAULT '',"
		" state TEXT NOT NULL CHECK (state IN"
		"  ('queued','running','delivered','dead','ignored')),"
		" attempts INTEGER NOT NULL DEFAULT 0,"
		" received_ms INTEGER NOT NULL, not_before_ms INTEGER NOT NULL,"
		" lease_until_ms INTEGER, last_error TEXT, finished_ms INTEGER);"
		"CREATE INDEX jobs_claim ON jobs (state, not_before_ms);"
		"CREATE TABLE deliveries ("
		" job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
		" dest TEXT NOT NULL,"
		" state TEXT NOT NULL CHECK (state IN ('pending','delivered','dead')),"
		" attempts INTEGER NOT NULL DEFAULT 0, not_before_ms INTEGER NOT NULL,"
		" payload TEXT, last_error TEXT, updated_ms INTEGER NOT NULL,"
		" PRIMARY KEY (job_id, dest));"
		"CREATE INDEX jobs_key ON jobs (project_id, execution_id, status, received_ms);"
		"CREATE TABLE store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
		" WITHOUT ROWID;"
		"INSERT INTO store_meta VALUES ('foreign_writes', 0);"
		"PRAGMA user_version = 3;";
	struct fixture *f = *state;
	struct webhook_event ev;
	struct delivery *d = NULL;
	size_t n = 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char sql[512], err[256];
	int64_t now = clock_wall_ms(), id = -1;
	struct job j;

	store_close(f->s);
	rm_file(f->dir, "dpc.db");
	rm_file(f->dir, "dpc.db-wal");
	rm_file(f->dir, "dpc.db-shm");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, v3, NULL, NULL, NULL), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "INSERT INTO jobs (project_id, execution_id, status, state, received_ms,"
		 " not_before_ms) VALUES ('proj-1', 'exec-v3', 'FAILED', 'queued', %lld, %lld);"
		 "INSERT INTO deliveries (job_id, dest, state, not_before_ms, updated_ms)"
		 " VALUES (1, 'slack-ops', 'pending', %lld, %lld);",
		 (long long)now, (long long)now, (long long)now, (long long)now);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	f->s = store_open(f->path, err, sizeof(err));
	if (f->s == NULL)
		fail_msg("%s", err);
	make_event(&ev, "exec-v3", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_DUPLICATE);
	assert_int_equal(store_claim(f->s, now + 1, 60000, &j), 0);
	assert_int_equal(j.id, 1);
	assert_int_equal(j.followup_of, 0);
	assert_int_equal(store_deliveries(f->s, 1, &d, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].follows_ms, -1);
	store_deliveries_free(d, n);
	assert_int_equal(dlv_ok(f->s, 1, "slack-ops"), 0);
	assert_int_equal(store_job_settle(f->s, 1), 0);
	assert_count(f->s, JOB_DELIVERED, 1);
	assert_count(f->s, JOB_QUEUED, 0);

	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT user_version FROM pragma_user_version", -1,
					    &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 10);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* ---- follow-ups of degraded notices ---- */

/* Jobs with followup_of set, as (id, followup_of, state). */
struct fu_list {
	int n;
	int64_t id[8], of[8], received[8], not_before[8];
	enum job_state st[8];
	char err[8][256];
};

static void fu_collect(void *ctx, const struct job *j)
{
	struct fu_list *l = ctx;

	if (j->followup_of == 0 || l->n >= 8)
		return;
	l->id[l->n] = j->id;
	l->of[l->n] = j->followup_of;
	l->received[l->n] = j->received_ms;
	l->not_before[l->n] = j->not_before_ms;
	l->st[l->n] = j->state;
	snprintf(l->err[l->n], sizeof(l->err[0]), "%s", j->last_error);
	l->n++;
}

static struct fu_list followups(struct store *s)
{
	struct fu_list l = { 0 };

	assert_int_equal(store_list(s, -1, 0, fu_collect, &l), 0);
	return l;
}

static int dlv_notice(struct store *s, int64_t job, const char *dest, int64_t fu_nb)
{
	struct dlv_outcome o = { .state = DLV_DELIVERED, .promise = 1, .followup_at_ms = fu_nb };

	return store_delivery_record(s, job, dest, &o, 0);
}

/* A degraded notice that promised details and was delivered leaves a
 * follow-up: a queued job of its own, linked to the run's job, with the
 * run's received time, due at the time given, with one delivery to that
 * destination which knows when the notice was posted. Recording the same
 * outcome again (a crash before settle) adds nothing; a notice given up
 * on (dead) gets no follow-up delivery; intake dedup is unchanged. */
static void test_followup_after_promised_notice(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-fu"), before = clock_wall_ms(), after, dup = -1;
	struct dlv_outcome dead = {
		.state = DLV_DEAD, .error = "HTTP 404", .payload = "{\"notice\":1}", .promise = 1
	};
	struct webhook_event ev;
	struct delivery *d = NULL;
	struct fu_list l;
	size_t n = 0;
	struct job run, j;

	assert_int_equal(store_claim(f->s, before, 60000, &run), 0);
	assert_int_equal(run.id, id);
	assert_int_equal(dlv_notice(f->s, id, "slack-ops", before + 5000), 0);
	after = clock_wall_ms();
	assert_int_equal(dlv_notice(f->s, id, "slack-ops", before + 5000), 0);
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &dead, 1), 0);
	l = followups(f->s);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.of[0], id);
	assert_int_equal(l.st[0], JOB_QUEUED);
	assert_int_equal(l.not_before[0], before + 5000);
	assert_int_equal(l.received[0], run.received_ms);
	assert_count(f->s, JOB_QUEUED, 1);
	assert_count(f->s, JOB_DELIVERED, 1);

	assert_int_equal(store_deliveries(f->s, l.id[0], &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].dest, "slack-ops");
	assert_true(d[0].follows_ms >= before && d[0].follows_ms <= after);
	assert_null(d[0].payload);
	store_deliveries_free(d, n);

	/* The run's webhook again is still a duplicate, and only the run's
	 * job answers for it. */
	make_event(&ev, "exec-fu", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &dup), ERR_DUPLICATE);

	assert_int_equal(store_claim(f->s, before + 4999, 60000, &j), ERR_NOTFOUND);
	assert_int_equal(store_claim(f->s, before + 5000, 60000, &j), 0);
	assert_int_equal(j.id, l.id[0]);
	assert_int_equal(j.followup_of, id);
	assert_string_equal(j.ev.execution_id, "exec-fu");
	assert_int_equal(j.ev.status, ST_FAILED);
	assert_int_equal(dlv_ok(f->s, j.id, "slack-ops"), 0);
	assert_int_equal(store_job_settle(f->s, j.id), 0);
	/* A follow-up's own delivery never leads to another follow-up. */
	assert_int_equal(dlv_notice(f->s, j.id, "slack-ops", 0), 0);
	assert_int_equal(followups(f->s).n, 1);
	assert_count(f->s, JOB_DELIVERED, 2);
}

/* No promise, no follow-up: an ordinary delivered message, and a notice
 * that promised nothing. A promise kept with the stored payload of a
 * retry still counts when that payload is delivered later. */
static void test_followup_only_for_promise(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-np"), now = clock_wall_ms();
	struct dlv_outcome retry = { .state = DLV_PENDING,
				     .not_before_ms = now,
				     .error = "HTTP 503",
				     .payload = "{\"notice\":1}",
				     .promise = 1 };
	struct dlv_outcome later = { .state = DLV_PENDING,
				     .not_before_ms = now,
				     .error = "HTTP 503" };
	struct fu_list l;

	claim_id(f->s, now, id);
	assert_int_equal(dlv_ok(f->s, id, "slack-ops"), 0);
	assert_int_equal(followups(f->s).n, 0);
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &retry, 0), 0);
	assert_int_equal(store_delivery_record(f->s, id, "teams-data", &later, 1), 0);
	assert_int_equal(followups(f->s).n, 0);
	claim_id(f->s, now, id);
	assert_int_equal(dlv_ok(f->s, id, "teams-data"), 0);
	l = followups(f->s);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.of[0], id);
}

/* A follow-up that already finished for one destination runs again when
 * the notice reaches another one later, for that one only. */
static void test_followup_requeued_for_late_destination(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-late"), now = clock_wall_ms();
	struct delivery *d = NULL;
	struct fu_list l;
	size_t n = 0;

	claim_id(f->s, now, id);
	assert_int_equal(dlv_notice(f->s, id, "slack-ops", now), 0);
	assert_int_equal(dlv_retry(f->s, id, "teams-data", now + 60000, "HTTP 503"), 0);
	assert_int_equal(store_job_settle(f->s, id), 0);
	l = followups(f->s);
	assert_int_equal(l.n, 1);
	claim_id(f->s, now, l.id[0]);
	assert_int_equal(dlv_ok(f->s, l.id[0], "slack-ops"), 0);
	assert_int_equal(store_job_settle(f->s, l.id[0]), 0);
	assert_int_equal(followups(f->s).st[0], JOB_DELIVERED);

	claim_id(f->s, now + 60000, id);
	assert_int_equal(dlv_notice(f->s, id, "teams-data", now + 70000), 0);
	assert_int_equal(store_job_settle(f->s, id), 0);
	l = followups(f->s);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.st[0], JOB_QUEUED);
	assert_int_equal(l.not_before[0], now + 70000);
	assert_int_equal(store_deliveries(f->s, l.id[0], &d, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].dest, "teams-data");
	store_deliveries_free(d, n);
	assert_count(f->s, JOB_QUEUED, 1);
	assert_count(f->s, JOB_DELIVERED, 1);
}

/* store_job_note() keeps a job's technical reason without moving it. */
static void test_job_note(void **state)
{
	struct fixture *f = *state;
	int64_t id = put_job(f->s, "exec-note");
	struct collect c = { 0 };

	assert_int_equal(store_job_note(f->s, id, "token request: Couldn't connect"), 0);
	assert_int_equal(store_job_note(f->s, 424242, "x"), ERR_NOTFOUND);
	assert_int_equal(store_list(f->s, -1, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.st[0], JOB_QUEUED);
	assert_string_equal(c.err[0], "token request: Couldn't connect");
}

/* ---- job counts (for /metrics): kept in memory, checked against the file ---- */

/* store_counts() and a fresh COUNT(*) GROUP BY state on the file must
 * agree on every state; what names the step that was just taken. */
static void counts_match_file_at(struct store *s, const char *path, const char *what)
{
	int64_t got[JOB__MAX], want[JOB__MAX] = { 0 };
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int i;

	assert_int_equal(store_counts(s, got), 0);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT state, count(*) FROM jobs GROUP BY state",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < JOB__MAX; i++)
			if (strcmp((const char *)sqlite3_column_text(st, 0), job_state_names[i]) ==
			    0)
				want[i] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	for (i = 0; i < JOB__MAX; i++)
		if (got[i] != want[i])
			fail_msg("after %s: %s is %lld in store_counts(), %lld in the file", what,
				 job_state_names[i], (long long)got[i], (long long)want[i]);
}
#define COUNTS_OK(f, what) counts_match_file_at((f)->s, (f)->path, (what))

/* A batch of async puts with one request refused by a trigger, so the
 * batch is rolled back and run again with savepoints. */
static void put_poisoned_batch(struct fixture *f)
{
	enum { N = 6, POISON = 3 };
	static struct async_put a[N];

	put_with_poison(f, a, N, POISON, "exec-p");
	assert_int_equal(a[POISON].rc, ERR_INVALID);
}

/* Claims every ready job and ends it as st. */
static void end_all_ready(struct store *s, enum job_state st)
{
	struct job j;

	while (store_claim(s, clock_wall_ms(), 60000, &j) == 0)
		assert_int_equal(store_job_end(s, j.id, st, "test"), 0);
}

/* Every transition a job can make, each followed by a comparison of
 * store_counts() with the file: puts (a duplicate, a failed commit, a
 * batch rolled back and run again), claims (also of an expired lease),
 * retry, release, settle in all its outcomes, end, recovery at open, dead
 * retry and purge, prune, and the same done by a second opener of the
 * file (the CLI beside the service). */
static void test_counts_follow_every_transition(void **state)
{
	struct fixture *f = *state;
	struct webhook_event ev;
	struct store *cli;
	struct job j;
	char err[256];
	size_t n = 0;
	int64_t a, b, c, d, e, id = -1, now = clock_wall_ms() + 3600 * 1000;
	int64_t past = clock_wall_ms() - 3600 * 1000;

	COUNTS_OK(f, "open");
	a = put_job(f->s, "exec-a");
	b = put_job(f->s, "exec-b");
	c = put_job(f->s, "exec-c");
	d = put_job(f->s, "exec-d");
	make_event(&ev, "exec-a", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_DUPLICATE);
	COUNTS_OK(f, "puts and a duplicate");
	store_fail_writes(f->s, 1);
	make_event(&ev, "exec-lost", ST_FAILED);
	assert_int_equal(store_put(f->s, &ev, two_dests, 2, BIG_WINDOW, &id), ERR_IO);
	assert_int_equal(store_claim(f->s, now, 60000, &j), ERR_IO);
	store_fail_writes(f->s, 0);
	COUNTS_OK(f, "a put and a claim that failed to commit");
	put_poisoned_batch(f);
	COUNTS_OK(f, "a batch rolled back and run with savepoints");
	end_all_ready(f->s, JOB_IGNORED); /* the batch's jobs: not needed below */
	assert_int_equal(store_prune(f->s, 0), 0);

	a = put_job(f->s, "exec-a2");
	b = put_job(f->s, "exec-b2");
	c = put_job(f->s, "exec-c2");
	d = put_job(f->s, "exec-d2");
	e = put_job(f->s, "exec-e2");
	claim_id(f->s, now, a);
	COUNTS_OK(f, "claim");
	assert_int_equal(store_job_retry(f->s, a, past, "api down"), 0);
	COUNTS_OK(f, "retry");
	assert_int_equal(store_job_retry(f->s, a, past, "api down"), 0); /* queued to queued */
	COUNTS_OK(f, "retry of a queued job");
	claim_id(f->s, now, a);
	assert_int_equal(store_job_release(f->s, a), 0);
	assert_int_equal(store_job_release(f->s, a), ERR_NOTFOUND);
	COUNTS_OK(f, "release");
	claim_id(f->s, now, a);
	assert_int_equal(dlv_ok(f->s, a, "slack-ops"), 0);
	{
		struct dlv_outcome o = { .state = DLV_DELIVERED };
		assert_int_equal(store_delivery_record(f->s, a, "teams-data", &o, 1), 0);
	}
	COUNTS_OK(f, "record with settle: delivered");
	claim_id(f->s, now, b);
	assert_int_equal(store_job_end(f->s, b, JOB_DEAD, "gave up"), 0);
	COUNTS_OK(f, "end dead");
	claim_id(f->s, now, c);
	assert_int_equal(store_job_end(f->s, c, JOB_IGNORED, "no route"), 0);
	assert_int_equal(store_job_end(f->s, 999999, JOB_DEAD, "no such job"), ERR_NOTFOUND);
	COUNTS_OK(f, "end ignored");
	claim_id(f->s, now, d);
	assert_int_equal(dlv_ok(f->s, d, "slack-ops"), 0);
	assert_int_equal(dlv_retry(f->s, d, "teams-data", past, "503"), 0);
	assert_int_equal(store_job_settle(f->s, d), 0);
	COUNTS_OK(f, "settle with a delivery pending");
	claim_id(f->s, now, d);
	assert_int_equal(dlv_dead(f->s, d, "teams-data", "410"), 0);
	assert_int_equal(store_job_settle(f->s, d), 0);
	COUNTS_OK(f, "settle delivered with a dead destination");
	claim_id(f->s, now, e);
	assert_int_equal(dlv_dead(f->s, e, "slack-ops", "404"), 0);
	assert_int_equal(dlv_dead(f->s, e, "teams-data", "404"), 0);
	assert_int_equal(store_job_settle(f->s, e), 0);
	COUNTS_OK(f, "settle dead");

	/* An expired lease claimed again, then a crash while running. */
	a = put_job(f->s, "exec-a3");
	assert_int_equal(store_claim(f->s, now, 0, &j), 0);
	assert_int_equal(store_claim(f->s, now + 1, 60000, &j), 0);
	assert_int_equal(j.id, a);
	COUNTS_OK(f, "claim of an expired lease");
	store_close(f->s);
	f->s = store_open(f->path, err, sizeof(err));
	assert_non_null(f->s);
	COUNTS_OK(f, "recovery at open");

	assert_int_equal(store_dead_retry(f->s, b, &n), 0);
	COUNTS_OK(f, "dead retry of one job");
	assert_int_equal(store_dead_retry(f->s, -1, &n), 0);
	assert_true(n >= 2);
	COUNTS_OK(f, "dead retry of all");
	end_all_ready(f->s, JOB_DEAD);
	COUNTS_OK(f, "every job ended dead");
	assert_int_equal(store_dead_purge(f->s, 0, &n), 0);
	assert_true(n > 0);
	COUNTS_OK(f, "dead purge");
	a = put_job(f->s, "exec-a4");
	b = put_job(f->s, "exec-b4");
	claim_id(f->s, now, a);
	assert_int_equal(store_job_end(f->s, a, JOB_IGNORED, "no route"), 0);
	assert_int_equal(store_prune(f->s, 0), 0);
	COUNTS_OK(f, "prune");

	/* A second opener (the CLI beside the service) changes the file;
	 * the first store's counts must follow. */
	claim_id(f->s, now, b);
	assert_int_equal(store_job_end(f->s, b, JOB_DEAD, "gave up"), 0);
	(void)put_job(f->s, "exec-c4");
	cli = store_open(f->path, err, sizeof(err));
	assert_non_null(cli);
	assert_int_equal(store_dead_retry(cli, -1, &n), 0);
	assert_int_equal(n, 1);
	COUNTS_OK(f, "dead retry by a second opener");
	end_all_ready(f->s, JOB_DEAD);
	assert_int_equal(store_dead_purge(cli, 0, &n), 0);
	assert_int_equal(n, 2);
	store_close(cli);
	COUNTS_OK(f, "dead purge by a second opener");
}

/* store_counts() answers from counters kept by the store, not from a
 * COUNT over the jobs table (112 ms with a million jobs): a row written
 * behind the store's back, by no store at all, is not seen. */
static void test_counts_do_not_scan_jobs(void **state)
{
	struct fixture *f = *state;
	int64_t c[JOB__MAX];
	sqlite3 *db = NULL;

	(void)put_job(f->s, "exec-1");
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "INSERT INTO jobs (project_id, execution_id, status,"
				      " state, received_ms, not_before_ms)"
				      " VALUES ('p', 'x', 'FAILED', 'queued', 0, 0)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_counts(f->s, c), 0);
	assert_int_equal(c[JOB_QUEUED], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_then_claim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_rejects_bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedup_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_puts_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_order_and_not_before, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lease_expiry_reclaims, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_order_large_backlog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_uncounts_attempt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_requeues_running, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_opener_keeps_leases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_partial_requeues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_settle_dead_and_mixed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_outcome_and_settle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_dead_notfound_and_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_job_end_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_list_retry_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_destination_of_delivered_job, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dead_retry_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_finished_and_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_writes_then_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_page_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_file_unhealthy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_waits_for_wal_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_request_spoils_no_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v1_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrades_v3_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_followup_after_promised_notice, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_followup_only_for_promise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_followup_requeued_for_late_destination, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_job_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wake_unblocks_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_unblocks_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_follow_every_transition, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_counts_do_not_scan_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_take_and_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_take_given_back_on_reopen, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
