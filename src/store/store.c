/* The durable store's front: jobs (each also the dedup key of its
 * webhook) and their per-destination deliveries, behind one interface
 * that intake, the worker and the CLI call (store.h). Each public
 * function checks its arguments here and dispatches to the backend that
 * opened the store.
 *
 * DESIGN
 *
 * Job states. store_put() creates a job as queued, with one pending
 * delivery per destination. store_claim() moves the earliest ready job to
 * running and gives it a lease; "ready" is queued with not_before <= now, or
 * running with an expired lease (its worker died or hung). From running a
 * job goes to:
 *   queued     store_job_retry(), store_job_release(), store_job_settle()
 *              while some delivery is still pending (not_before = the
 *              earliest pending delivery's), or store_open() after a crash;
 *   delivered  store_job_settle() when no delivery is pending and at least
 *              one was delivered;
 *   dead       store_job_settle() when every delivery is dead, or
 *              store_job_end(JOB_DEAD) when the worker gave up;
 *   ignored    store_job_end(JOB_IGNORED) (no route matched the real
 *              status), or store_job_settle() on a job with no delivery.
 * Dead jobs go back to queued only by hand (store_dead_retry()) and leave
 * only by store_dead_purge(); delivered and ignored jobs are dropped by
 * store_prune() once older than the dedup window.
 * A delivery is pending until store_delivery_record() records it delivered
 * or dead; a retry outcome keeps it pending with a later not_before. The
 * same call may settle the job in the same transaction; a retry or dead outcome
 * can carry the rendered payload, kept for later posts (the worker stores
 * it no earlier). Delivered rows are never posted again, so a retry of
 * the job only re-posts to the destinations that failed.
 *
 * Follow-ups. A delivery whose body is a degraded notice that promised
 * details carries that mark (promised) from the outcome that posted or
 * kept it. The outcome that records such a delivery delivered also, in
 * its transaction, makes the run's follow-up: one queued job per run's
 * job (followup_of), with the run's identity and received time, and one
 * pending delivery per destination the notice reached, each with the time
 * it got there (follows_ms). It is then an ordinary job (claimed, leased,
 * settled, recovered after a crash); a repeated record adds nothing, a
 * dead notice gets no follow-up, a follow-up never gets one, and the
 * dedup of store_put() ignores follow-ups.
 *
 * What every backend promises. store_put() answers 0 (and
 * store_put_async() calls back with 0) only once the job and its
 * deliveries are durable, on disk against a power loss as well as a
 * process crash: intake answers 202 only then. Every other write
 * survives a process crash once it returned 0; a backend may lose the last
 * ones to a power loss only where that repeats work (a claim or a
 * "delivered" forgotten) and never drops an accepted job. A write that
 * fails leaves nothing behind (ERR_IO) and makes store_healthy() 0 until
 * the store can write again, which the backend notices without traffic.
 * Dedup is decided in the same transaction as the insert, so two
 * identical puts give one job and one ERR_DUPLICATE. A job that was
 * running when its process died is queued again by the next store_open()
 * of the process that owns the store (a CLI opened beside a running
 * service leaves leases alone), its attempt still counted, so a job that
 * crashes the process cannot loop forever unnoticed. A crash between a
 * successful chat POST and its store_delivery_record() re-posts that
 * message: delivery is at least once, never at most once.
 * store_counts() is cheap enough for every /metrics scrape.
 *
 * Backends. store_int.h defines struct store_backend, one operation per
 * public function, as curl's vtls backends fill a struct Curl_ssl; a
 * backend fills one such table and begins its own open-store struct with
 * struct store. store_open() gives the path to the first backend of
 * backends[] that accepts it; SQLite (sqlite_*.c, its DESIGN in
 * sqlite_int.h) takes any path, so a PostgreSQL backend would be one
 * more file set, one more table, and one more row before SQLite's,
 * accepting its connection URIs; intake, worker and CLI never name a
 * backend.
 *   Here, the same for every backend: argument checks (put_valid(), the
 * clamped dedup window, the bounds of ages and windows), store_put() as
 * store_put_async() plus a wait, store_wait()/store_wake() (a backend
 * calls store_wake() when puts commit; the front wakes the workers after
 * a dead retry), the state name tables and store_deliveries_free().
 *   The backend's: transactions and their locks, how it makes a put
 * durable (SQLite: group commit with a writer and a syncer thread), dedup,
 * the recovery of running jobs, the job counts, health and its write
 * probe, and the test hooks' meaning (store_fail_writes(),
 * store_commit_count()).
 *
 * Run memory. store_memory_apply() decides each run's job once: the
 * decision is kept on the job (and goes with it), so a retried attempt or
 * a restart after a crash gets the same answer back and changes nothing.
 * The decision, the run it remembers and the incident it leaves are one
 * transaction, durable against a power loss before the call returns, like
 * an accepted job: a message is never decided on memory that the next
 * start could lose. Strings are cut to the sizes the store keeps here, on
 * a character boundary, so the same too-long value always maps to the
 * same stored key. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errors.h"
#include "action.h"
#include "store.h"
#include "store_int.h"
#include "text.h"

/* Backends in the order they are asked; the last accepts any path. */
static const struct store_backend *const backends[] = {
	&store_backend_sqlite,
};

const char *const job_state_names[JOB__MAX] = {
	[JOB_QUEUED] = "queued", [JOB_RUNNING] = "running", [JOB_DELIVERED] = "delivered",
	[JOB_DEAD] = "dead",     [JOB_IGNORED] = "ignored",
};

/* Defined with the store, which keeps them as text, so the store links
 * without the endpoint that reads clicks. */
const char *const action_names[ACT__MAX] = {
	[ACT_ACK] = "ack",
	[ACT_MUTE] = "mute",
	[ACT_UNMUTE] = "unmute",
	[ACT_RERUN] = "rerun",
};

const char *const dlv_state_names[DLV__MAX] = {
	[DLV_PENDING] = "pending",
	[DLV_DELIVERED] = "delivered",
	[DLV_DEAD] = "dead",
};

/* Destination names the store keeps: 1 to STORE_DEST_MAX - 1 bytes. */
static int dests_valid(char *const *dests, size_t n_dests)
{
	size_t k, len;

	if (n_dests > 0 && dests == NULL)
		return 0;
	for (k = 0; k < n_dests; k++) {
		if (dests[k] == NULL)
			return 0;
		len = strnlen(dests[k], STORE_DEST_MAX);
		if (len == 0 || len == STORE_DEST_MAX)
			return 0;
	}
	return 1;
}

static int put_valid(const struct webhook_event *ev, char *const *dests, size_t n_dests)
{
	if (ev == NULL)
		return 0;
	if (strnlen(ev->project_id, WEBHOOK_ID_MAX) == WEBHOOK_ID_MAX ||
	    strnlen(ev->execution_id, WEBHOOK_ID_MAX) == WEBHOOK_ID_MAX ||
	    strnlen(ev->pipeline_name, WEBHOOK_TEXT_MAX) == WEBHOOK_TEXT_MAX ||
	    strnlen(ev->environment, WEBHOOK_TEXT_MAX) == WEBHOOK_TEXT_MAX ||
	    strnlen(ev->status_text, sizeof(ev->status_text)) == sizeof(ev->status_text))
		return 0;
	return dests_valid(dests, n_dests);
}

int store_base_init(struct store *s, const struct store_backend *be)
{
	int rc;

	s->be = be;
	s->wseq = 0;
	rc = clock_cond_init(&s->wcv);
	if (rc == 0 && pthread_mutex_init(&s->wmu, NULL) != 0) {
		pthread_cond_destroy(&s->wcv);
		rc = -1;
	}
	return rc == 0 ? 0 : ERR_NOMEM;
}

void store_base_fini(struct store *s)
{
	pthread_mutex_destroy(&s->wmu);
	pthread_cond_destroy(&s->wcv);
}

struct store *store_open(const char *path, char *err, size_t errlen)
{
	size_t k, len;

	if (errlen > 0)
		err[0] = '\0';
	if (path == NULL || (len = strlen(path)) == 0 || len >= STORE_PATH_MAX) {
		snprintf(err, errlen, "store: invalid database path");
		return NULL;
	}
	for (k = 0; k + 1 < sizeof(backends) / sizeof(backends[0]); k++)
		if (backends[k]->accepts(path))
			break;
	return backends[k]->open(path, err, errlen);
}

void store_close(struct store *s)
{
	if (s != NULL)
		s->be->close(s);
}

int store_put_async(struct store *s, const struct webhook_event *ev, char *const *dests,
		    size_t n_dests, int64_t dedup_window_s, store_put_done_fn done, void *ctx)
{
	if (s == NULL || done == NULL || !put_valid(ev, dests, n_dests))
		return ERR_INVALID;
	if (dedup_window_s < 0)
		dedup_window_s = 0;
	if (dedup_window_s > INT64_MAX / 2000)
		dedup_window_s = INT64_MAX / 2000;
	return s->be->put_async(s, ev, dests, n_dests, dedup_window_s, done, ctx);
}

/* A store_put() caller waiting for its callback; on the caller's stack. */
struct put_wait {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done;
	int rc;
	int64_t job_id;
};

static void put_wait_done(void *ctx, int rc, int64_t job_id)
{
	struct put_wait *w = ctx;

	pthread_mutex_lock(&w->mu);
	w->rc = rc;
	w->job_id = job_id;
	w->done = 1;
	/* Signalled under mu: the waiter cannot return (and w vanish) before
	 * the writer has unlocked it. */
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int store_put(struct store *s, const struct webhook_event *ev, char *const *dests, size_t n_dests,
	      int64_t dedup_window_s, int64_t *job_id)
{
	struct put_wait w = { .done = 0 };
	int rc;

	if (pthread_mutex_init(&w.mu, NULL) != 0)
		return ERR_NOMEM;
	if (pthread_cond_init(&w.cv, NULL) != 0) {
		pthread_mutex_destroy(&w.mu);
		return ERR_NOMEM;
	}
	rc = store_put_async(s, ev, dests, n_dests, dedup_window_s, put_wait_done, &w);
	if (rc == 0) {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.rc;
	}
	if (rc == 0 && job_id != NULL)
		*job_id = w.job_id;
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

int store_claim(struct store *s, int64_t now_ms, int64_t lease_ms, struct job *out)
{
	if (s == NULL || out == NULL || lease_ms < 0)
		return ERR_INVALID;
	return s->be->claim(s, now_ms, lease_ms, out);
}

int store_deliveries(struct store *s, int64_t job_id, struct delivery **out, size_t *n)
{
	int rc;

	if (s == NULL || out == NULL || n == NULL)
		return ERR_INVALID;
	*out = NULL;
	*n = 0;
	rc = s->be->deliveries(s, job_id, out, n);
	if (rc != 0) {
		store_deliveries_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int store_delivery_record(struct store *s, int64_t job_id, const char *dest,
			  const struct dlv_outcome *o, int settle)
{
	if (s == NULL || dest == NULL || o == NULL || (unsigned)o->state >= DLV__MAX)
		return ERR_INVALID;
	return s->be->delivery_record(s, job_id, dest, o, settle);
}

int store_group_take(struct store *s, const char *dest, int64_t now_ms, int64_t lease_ms,
		     size_t max, struct group_held **out, size_t *n)
{
	int rc;

	if (s == NULL || dest == NULL || out == NULL || n == NULL || max == 0 || lease_ms < 0)
		return ERR_INVALID;
	*out = NULL;
	*n = 0;
	rc = s->be->group_take(s, dest, now_ms, lease_ms,
			       max > STORE_GROUP_MAX ? STORE_GROUP_MAX : max, out, n);
	if (rc != 0) {
		store_group_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void store_group_free(struct group_held *h, size_t n)
{
	size_t i;

	for (i = 0; h != NULL && i < n; i++) {
		free(h[i].item);
		free(h[i].payload);
	}
	free(h);
}

int store_group_record(struct store *s, const char *dest, const int64_t *jobs, size_t n,
		       const struct dlv_outcome *o)
{
	if (s == NULL || dest == NULL || jobs == NULL || o == NULL ||
	    (unsigned)o->state >= DLV__MAX || n > STORE_GROUP_MAX)
		return ERR_INVALID;
	if (n == 0)
		return 0;
	return s->be->group_record(s, dest, jobs, n, o);
}

int store_job_settle(struct store *s, int64_t job_id)
{
	return s == NULL ? ERR_INVALID : s->be->job_settle(s, job_id);
}

int store_job_retry(struct store *s, int64_t job_id, int64_t not_before_ms, const char *error)
{
	return s == NULL ? ERR_INVALID : s->be->job_retry(s, job_id, not_before_ms, error);
}

int store_job_end(struct store *s, int64_t job_id, enum job_state st, const char *reason)
{
	if (s == NULL || (st != JOB_DEAD && st != JOB_IGNORED))
		return ERR_INVALID;
	return s->be->job_end(s, job_id, st, reason);
}

int store_job_note(struct store *s, int64_t job_id, const char *error)
{
	return s == NULL ? ERR_INVALID : s->be->job_note(s, job_id, error);
}

int store_job_release(struct store *s, int64_t job_id)
{
	return s == NULL ? ERR_INVALID : s->be->job_release(s, job_id);
}

int store_list(struct store *s, int st, size_t limit, store_job_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL || st >= JOB__MAX)
		return ERR_INVALID;
	return s->be->list(s, st, limit, fn, ctx);
}

int store_dead_retry(struct store *s, int64_t job_id, size_t *count)
{
	size_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (s == NULL)
		return ERR_INVALID;
	rc = s->be->dead_retry(s, job_id, &n);
	if (rc == 0 && n > 0)
		store_wake(s); /* queued jobs again */
	if (count != NULL)
		*count = n;
	return rc;
}

int store_dead_purge(struct store *s, int64_t older_than_s, size_t *count)
{
	size_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (s == NULL || older_than_s < 0 || older_than_s > INT64_MAX / 2000)
		return ERR_INVALID;
	rc = s->be->dead_purge(s, older_than_s, &n);
	if (count != NULL)
		*count = n;
	return rc;
}

int store_prune(struct store *s, int64_t window_s)
{
	if (s == NULL || window_s < 0 || window_s > INT64_MAX / 2000)
		return ERR_INVALID;
	return s->be->prune(s, window_s);
}

int store_counts(struct store *s, int64_t counts[JOB__MAX])
{
	if (s == NULL || counts == NULL)
		return ERR_INVALID;
	memset(counts, 0, sizeof(int64_t) * JOB__MAX);
	return s->be->counts(s, counts);
}

int store_healthy(struct store *s)
{
	return s == NULL ? 0 : s->be->healthy(s);
}

void store_fail_writes(struct store *s, int on)
{
	if (s != NULL)
		s->be->fail_writes(s, on);
}

uint64_t store_commit_count(struct store *s)
{
	return s == NULL ? 0 : s->be->commit_count(s);
}

/* ---- run memory ---- */

/* in, or its first cap - 1 bytes cut back to a UTF-8 character boundary
 * in buf (cap bytes), so a stored string never ends in half a
 * character. */
static const char *clamp_text(const char *in, char *buf, size_t cap)
{
	size_t n = strnlen(in, cap);

	if (n < cap)
		return in;
	n = cap - 1;
	while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, in, n);
	buf[n] = '\0';
	return buf;
}

/* A pipeline key with every part clamped (environment may stay NULL). */
struct key_buf {
	char project_id[WEBHOOK_ID_MAX];
	char environment[WEBHOOK_TEXT_MAX];
	char pipeline[WEBHOOK_TEXT_MAX];
};

static int key_clamp(const struct mem_key *k, struct key_buf *b, struct mem_key *out)
{
	if (k == NULL || k->project_id == NULL || k->pipeline == NULL)
		return ERR_INVALID;
	out->project_id = clamp_text(k->project_id, b->project_id, sizeof(b->project_id));
	out->pipeline = clamp_text(k->pipeline, b->pipeline, sizeof(b->pipeline));
	out->environment = k->environment == NULL ? NULL
						  : clamp_text(k->environment, b->environment,
							       sizeof(b->environment));
	return 0;
}

int store_memory_apply(struct store *s, int64_t job_id, const struct mem_key *k,
		       const char *execution_id, const char *trigger, const struct mem_run *ev,
		       const struct mem_policy *p, size_t keep_runs, struct mem_decision *out)
{
	char exec[WEBHOOK_ID_MAX], trig[STORE_TRIGGER_MAX];
	struct key_buf kb;
	struct mem_key key;
	struct mem_run run;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || ev == NULL || p == NULL || out == NULL || execution_id == NULL ||
	    execution_id[0] == '\0' || k == NULL || k->environment == NULL ||
	    key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	execution_id = clamp_text(execution_id, exec, sizeof(exec));
	if (trigger != NULL)
		trigger = clamp_text(trigger, trig, sizeof(trig));
	run = *ev;
	if ((unsigned)run.status >= ST__MAX)
		run.status = ST_UNKNOWN;
	if (keep_runs == 0)
		keep_runs = MEM_HISTORY_MAX;
	if (keep_runs > STORE_KEEP_RUNS_MAX)
		keep_runs = STORE_KEEP_RUNS_MAX;
	return s->be->memory_apply(s, job_id, &key, execution_id, trigger, &run, p, keep_runs, out);
}

int store_memory_preview(struct store *s, const struct mem_key *k, const char *execution_id,
			 const struct mem_run *ev, const struct mem_policy *p,
			 struct mem_decision *out)
{
	char exec[WEBHOOK_ID_MAX];
	struct key_buf kb;
	struct mem_key key;
	struct mem_run run;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || ev == NULL || p == NULL || out == NULL || execution_id == NULL ||
	    k == NULL || k->environment == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	execution_id = clamp_text(execution_id, exec, sizeof(exec));
	run = *ev;
	if ((unsigned)run.status >= ST__MAX)
		run.status = ST_UNKNOWN;
	return s->be->memory_preview(s, &key, execution_id, &run, p, out);
}

int store_memory_prune(struct store *s, int64_t unseen_before_ms, size_t *count)
{
	size_t n = 0;
	int rc;

	if (count != NULL)
		*count = 0;
	if (s == NULL)
		return ERR_INVALID;
	rc = s->be->memory_prune(s, unseen_before_ms, &n);
	if (count != NULL)
		*count = n;
	return rc;
}

int store_open_incidents(struct store *s, int64_t *n)
{
	if (s == NULL || n == NULL)
		return ERR_INVALID;
	*n = 0;
	return s->be->open_incidents(s, n);
}

int store_incidents(struct store *s, int open_only, store_incident_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL)
		return ERR_INVALID;
	return s->be->incidents(s, open_only != 0, fn, ctx);
}

int store_history(struct store *s, const struct mem_key *k, size_t limit, store_run_fn fn,
		  void *ctx)
{
	struct key_buf kb;
	struct mem_key key;

	if (s == NULL || fn == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	return s->be->history(s, &key, limit, fn, ctx);
}

void store_wait(struct store *s, int64_t max_ms)
{
	struct timespec ts;
	uint64_t seq;

	if (max_ms <= 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(max_ms / 1000);
	ts.tv_nsec += (long)(max_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->wmu);
	seq = s->wseq;
	while (s->wseq == seq)
		if (pthread_cond_timedwait(&s->wcv, &s->wmu, &ts) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->wmu);
}

void store_wake(struct store *s)
{
	pthread_mutex_lock(&s->wmu);
	s->wseq++;
	pthread_cond_broadcast(&s->wcv);
	pthread_mutex_unlock(&s->wmu);
}

void store_deliveries_free(struct delivery *d, size_t n)
{
	size_t k;

	for (k = 0; d != NULL && k < n; k++)
		free(d[k].payload);
	free(d);
}

/* ---- silences ---- */

/* "" (any) or a glob the store keeps. */
static int glob_ok(const char *g)
{
	return g != NULL && (g[0] == '\0' || silence_glob_valid(g));
}

static int silence_valid(const struct silence *in)
{
	size_t chars = 0, len, i;

	if (in == NULL || !glob_ok(in->project_id) || !glob_ok(in->pipeline) ||
	    !glob_ok(in->environment) || in->reason == NULL || in->start_ms >= in->end_ms)
		return 0;
	len = strnlen(in->reason, SILENCE_REASON_MAX * 4 + 1);
	for (i = 0; i < len; i++)
		chars += ((unsigned char)in->reason[i] & 0xc0) != 0x80;
	return len > 0 && chars <= SILENCE_REASON_MAX;
}

int store_silence_add(struct store *s, const struct silence *in, int64_t *id)
{
	int64_t got = 0;
	int rc;

	if (id != NULL)
		*id = 0;
	if (s == NULL || id == NULL || !silence_valid(in))
		return ERR_INVALID;
	rc = s->be->silence_add(s, in, &got);
	if (rc == 0)
		*id = got;
	return rc;
}

int store_silence_remove(struct store *s, int64_t id, int64_t now_ms)
{
	if (s == NULL || id <= 0)
		return ERR_INVALID;
	return s->be->silence_remove(s, id, now_ms);
}

int store_silences(struct store *s, int all, int64_t now_ms, store_silence_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL)
		return ERR_INVALID;
	return s->be->silences(s, all != 0, now_ms, fn, ctx);
}

int store_silenced(struct store *s, const struct mem_key *k, int64_t now_ms, int *yes)
{
	struct key_buf kb;
	struct mem_key key;
	int rc;

	if (yes != NULL)
		*yes = 0;
	if (s == NULL || yes == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	if (key.environment == NULL)
		key.environment = "";
	rc = s->be->silenced(s, &key, now_ms, yes);
	if (rc != 0)
		*yes = 0;
	return rc;
}

int store_silences_covering(struct store *s, const struct mem_key *k, int64_t now_ms,
			    store_silence_fn fn, void *ctx)
{
	struct key_buf kb;
	struct mem_key key;

	if (s == NULL || fn == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	if (key.environment == NULL)
		key.environment = "";
	return s->be->silences_covering(s, &key, now_ms, fn, ctx);
}

/* ---- what silences held back ---- */

/* A reason cut to SILENCE_REASON_MAX characters on a boundary. */
static const char *clamp_chars(const char *in, char *buf, size_t cap, size_t max_chars)
{
	size_t i, chars = 0;

	for (i = 0; in[i] != '\0' && i + 1 < cap; i++) {
		if (((unsigned char)in[i] & 0xc0) != 0x80 && ++chars > max_chars)
			break;
		buf[i] = in[i];
	}
	while (i > 0 && in[i] != '\0' && ((unsigned char)in[i] & 0xc0) == 0x80)
		i--;
	buf[i] = '\0';
	return buf;
}

int store_held_note(struct store *s, int64_t job_id, const struct mem_key *k,
		    const struct held_note *n)
{
	char exec[WEBHOOK_ID_MAX], err[STORE_HELD_ERROR_MAX], why[SILENCE_REASON_MAX * 4 + 1];
	struct key_buf kb;
	struct mem_key key;
	struct held_note note;

	if (s == NULL || n == NULL || n->execution_id == NULL || n->reason == NULL ||
	    n->error == NULL || k == NULL || k->environment == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	note = *n;
	note.execution_id = clamp_text(n->execution_id, exec, sizeof(exec));
	note.error = clamp_text(n->error, err, sizeof(err));
	note.reason = clamp_chars(n->reason, why, sizeof(why), SILENCE_REASON_MAX);
	if ((unsigned)note.status >= ST__MAX)
		note.status = ST_UNKNOWN;
	return s->be->held_note(s, job_id, &key, &note);
}

int store_held_due(struct store *s, int64_t now_ms, store_held_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL)
		return ERR_INVALID;
	return s->be->held_due(s, now_ms, fn, ctx);
}

int store_held_summarise(struct store *s, const struct mem_key *k, char *const *dests,
			 size_t n_dests, int64_t now_ms, int64_t *job_id)
{
	struct key_buf kb;
	struct mem_key key;
	int rc;

	if (job_id != NULL)
		*job_id = 0;
	if (s == NULL || job_id == NULL || !dests_valid(dests, n_dests) || k == NULL ||
	    k->environment == NULL || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	rc = s->be->held_summarise(s, &key, dests, n_dests, now_ms, job_id);
	if (rc == 0 && *job_id > 0)
		store_wake(s);
	return rc;
}

int store_held_summary(struct store *s, int64_t job_id, struct held_summary *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return ERR_INVALID;
	return s->be->held_summary(s, job_id, out);
}

/* ---- long-running runs ---- */

int store_longrun_fire(struct store *s, const struct longrun_fire *f, char *const *dests,
		       size_t n_dests, int64_t now_ms, int64_t *job_id)
{
	char proj[WEBHOOK_ID_MAX], exec[WEBHOOK_ID_MAX], env[WEBHOOK_TEXT_MAX];
	char pipe[WEBHOOK_TEXT_MAX], trig[STORE_TRIGGER_MAX];
	struct longrun_fire c;
	int rc;

	if (job_id != NULL)
		*job_id = 0;
	if (s == NULL || job_id == NULL || f == NULL || f->project_id == NULL ||
	    f->execution_id == NULL || f->project_id[0] == '\0' || f->execution_id[0] == '\0' ||
	    f->environment == NULL || f->pipeline == NULL || !dests_valid(dests, n_dests))
		return ERR_INVALID;
	c = *f;
	c.project_id = clamp_text(f->project_id, proj, sizeof(proj));
	c.execution_id = clamp_text(f->execution_id, exec, sizeof(exec));
	c.environment = clamp_text(f->environment, env, sizeof(env));
	c.pipeline = clamp_text(f->pipeline, pipe, sizeof(pipe));
	c.trigger = clamp_text(f->trigger != NULL ? f->trigger : "", trig, sizeof(trig));
	c.slow = f->slow != 0;
	rc = s->be->longrun_fire(s, &c, dests, n_dests, now_ms, job_id);
	if (rc == 0 && *job_id > 0)
		store_wake(s);
	return rc;
}

int store_longrun_notice(struct store *s, int64_t job_id, struct longrun_notice *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL)
		return ERR_INVALID;
	return s->be->longrun_notice(s, job_id, out);
}

/* ---- Slack threads ---- */

int store_slack_id_valid(const char *id)
{
	size_t i;

	if (id == NULL || id[0] == '\0')
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)id[i];
		if (i + 1 >= STORE_SLACK_ID_MAX)
			return 0;
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '.'))
			return 0;
	}
	return 1;
}

void store_thread_free(struct store_thread *t)
{
	if (t == NULL)
		return;
	free(t->dest);
	free(t->project_id);
	free(t->environment);
	free(t->pipeline);
	free(t->parent);
	memset(t, 0, sizeof(*t));
}

static int parent_valid(const char *body)
{
	return body == NULL ||
	       strnlen(body, STORE_THREAD_PARENT_MAX + 1) <= STORE_THREAD_PARENT_MAX;
}

int store_thread_put(struct store *s, const struct store_thread *in)
{
	struct key_buf kb;
	struct mem_key key, raw;
	char *const dest[1] = { in != NULL ? in->dest : NULL };

	if (s == NULL || in == NULL || !dests_valid(dest, 1) ||
	    !store_slack_id_valid(in->channel) || !store_slack_id_valid(in->ts) ||
	    !parent_valid(in->parent))
		return ERR_INVALID;
	raw.project_id = in->project_id;
	raw.environment = in->environment != NULL ? in->environment : "";
	raw.pipeline = in->pipeline;
	if (key_clamp(&raw, &kb, &key) != 0)
		return ERR_INVALID;
	return s->be->thread_put(s, in->dest, &key, in);
}

int store_thread_get(struct store *s, const char *dest, const struct mem_key *k, int64_t since_ms,
		     struct store_thread *out)
{
	struct key_buf kb;
	struct mem_key key;
	char *const d[1] = { (char *)dest };
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || !dests_valid(d, 1) || key_clamp(k, &kb, &key) != 0)
		return ERR_INVALID;
	if (key.environment == NULL)
		key.environment = "";
	rc = s->be->thread_get(s, dest, &key, since_ms, out);
	if (rc != 0)
		store_thread_free(out);
	return rc;
}

int store_thread_by_message(struct store *s, const char *channel, const char *ts,
			    struct store_thread *out)
{
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || channel == NULL || ts == NULL)
		return ERR_INVALID;
	/* A value no parent could have is looked up nowhere. */
	if (!store_slack_id_valid(channel) || !store_slack_id_valid(ts))
		return ERR_NOTFOUND;
	rc = s->be->thread_by_message(s, channel, ts, out);
	if (rc != 0)
		store_thread_free(out);
	return rc;
}

int store_thread_resolved(struct store *s, int64_t id, const char *new_parent_body)
{
	if (s == NULL || !parent_valid(new_parent_body))
		return ERR_INVALID;
	return s->be->thread_resolved(s, id, new_parent_body);
}

int store_thread_set_parent(struct store *s, int64_t id, const char *body)
{
	if (s == NULL || body == NULL || !parent_valid(body))
		return ERR_INVALID;
	return s->be->thread_set_parent(s, id, body);
}

/* ---- Slack button clicks ---- */

/* 1 when every string of a ends inside its array and it names a kind. */
static int action_valid(const struct action *a)
{
	return a != NULL && (unsigned)a->kind < ACT__MAX &&
	       memchr(a->user_id, '\0', sizeof(a->user_id)) != NULL && a->user_id[0] != '\0' &&
	       memchr(a->user_name, '\0', sizeof(a->user_name)) != NULL &&
	       memchr(a->value, '\0', sizeof(a->value)) != NULL &&
	       memchr(a->channel, '\0', sizeof(a->channel)) != NULL &&
	       memchr(a->message_ts, '\0', sizeof(a->message_ts)) != NULL &&
	       memchr(a->response_url, '\0', sizeof(a->response_url)) != NULL &&
	       memchr(a->action_ts, '\0', sizeof(a->action_ts)) != NULL &&
	       memchr(a->result, '\0', sizeof(a->result)) != NULL &&
	       memchr(a->detail, '\0', sizeof(a->detail)) != NULL &&
	       memchr(a->project_id, '\0', sizeof(a->project_id)) != NULL &&
	       memchr(a->environment, '\0', sizeof(a->environment)) != NULL &&
	       memchr(a->pipeline, '\0', sizeof(a->pipeline)) != NULL;
}

int store_action_put(struct store *s, const struct action *a, int64_t now_ms, int64_t *id)
{
	if (id != NULL)
		*id = 0;
	if (s == NULL || id == NULL || !action_valid(a))
		return ERR_INVALID;
	return s->be->action_put(s, a, now_ms, id);
}

int store_action_of_job(struct store *s, int64_t job_id, struct action *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || job_id <= 0)
		return ERR_INVALID;
	return s->be->action_of_job(s, job_id, out);
}

int store_action_finish(struct store *s, const struct action *a, int64_t now_ms)
{
	if (s == NULL || !action_valid(a) || a->id <= 0)
		return ERR_INVALID;
	return s->be->action_finish(s, a, now_ms);
}

int store_incident_ack(struct store *s, const struct mem_key *k, int64_t since_ms,
		       const char *user_id, const char *user_name, int64_t now_ms)
{
	if (s == NULL || k == NULL || k->project_id == NULL || k->pipeline == NULL ||
	    user_id == NULL || user_name == NULL)
		return ERR_INVALID;
	return s->be->incident_ack(s, k, since_ms, user_id, user_name, now_ms);
}

int store_rerun_claim(struct store *s, const char *tag, int64_t action_id, int64_t now_ms,
		      int *first)
{
	if (first != NULL)
		*first = 0;
	if (s == NULL || tag == NULL || tag[0] == '\0' || first == NULL || action_id <= 0)
		return ERR_INVALID;
	return s->be->rerun_claim(s, tag, action_id, now_ms, first);
}

int store_actions(struct store *s, size_t limit, store_action_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL)
		return ERR_INVALID;
	return s->be->actions(s, limit, fn, ctx);
}

int store_poll_get(struct store *s, const char *project_id, struct poll_mark *out)
{
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (s == NULL || out == NULL || !text_id_valid(project_id))
		return ERR_INVALID;
	return s->be->poll_get(s, project_id, out);
}

int store_poll_set(struct store *s, const char *project_id, const struct poll_mark *m,
		   int64_t now_ms)
{
	if (s == NULL || m == NULL || !text_id_valid(project_id))
		return ERR_INVALID;
	return s->be->poll_set(s, project_id, m, now_ms);
}

int store_poll_projects(struct store *s, size_t limit, store_project_fn fn, void *ctx)
{
	if (s == NULL || fn == NULL || limit == 0)
		return ERR_INVALID;
	return s->be->poll_projects(s, limit, fn, ctx);
}
