/* Reconciliation by polling: every [poll] interval, list each project's
 * runs from Matillion's API and store the finished ones no webhook
 * brought, through the same store_put() and dedup key as a webhook.
 *
 * DESIGN
 * - Projects: each [project ID] section and each [route] project = ID;
 *   when [default] or a route without a project exists, also every
 *   project the store has seen (jobs, run memory, earlier polls).
 * - Window: per project a durable watermark W (store_poll_*). A listing
 *   asks for runs started after W - overlap. Once it completes, W becomes
 *   the listing's start time, or the start of the oldest run still
 *   running (a run finishing later must still be inside the next window),
 *   but never more than POLL_RUNNING_MAX_MS back. A finished run whose
 *   finish lies before W - overlap was already finished when an earlier
 *   listing saw it, so it is skipped without a store lookup.
 * - Cut-off listings: the list is newest first, so a listing stopped by
 *   the budget, a 429, a repeated token or the page cap has processed
 *   every run down to the oldest start it saw. The gap below it is kept
 *   (gap_before_ms) and listed first next cycle with startedBefore, and
 *   only after it does W move: no run is skipped, and a restart resumes
 *   from the same state. A project's state is written after each listing.
 * - Budget: the poller shares the workers' Matillion client, so its
 *   token and its rate limiter (requests_per_minute). On top of that its
 *   own limiter holds it to poll_share percent of requests_per_minute,
 *   and it waits at most POLL_YIELD_MS for the shared limiter: when jobs
 *   keep the limiter busy, or a 429 paused it, the cycle stops and the
 *   rest waits for the next one (the projects not reached go first then).
 * - Long-running runs: a listing keeps a running run in every window
 *   until it finishes, so each page's running runs go to longrun_scan()
 *   (longrun.h), which tells each one past its route's limit once ever.
 *   A run already running longer than the first look-back (overlap) when
 *   polling starts is not listed, so not told.
 * - Nudges (poll_nudge()) start a reconciliation early, at most once per
 *   POLL_NUDGE_GAP_MS, within the same budget.
 * - Threads: one. It sleeps on a monotonic condition variable that
 *   poll_stop() signals, so it stops at once unless an API call is in
 *   flight (its own HTTP client caps that at POLL_HTTP_TIMEOUT_S). */
#include "poll.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errors.h"
#include "httpc.h"
#include "log.h"
#include "longrun.h"
#include "metrics.h"
#include "ratelimit.h"
#include "route.h"
#include "text.h"

#define POLL_YIELD_MS 1000       /* longest wait for the shared limiter */
#define POLL_SHARE_WAIT_MS 15000 /* longest wait for the poller's own share */
#define POLL_PROJECTS_MAX 1000   /* projects reconciled at most */
#define NUDGE_MAX 16             /* projects a pending nudge names at most */

/* ---- the arithmetic ---- */

static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}

void poll_walk_begin(struct poll_walk *w, const struct poll_mark *m, int64_t now_ms,
		     int64_t overlap_ms)
{
	int64_t wm = m->found ? m->watermark_ms : now_ms;
	int gap = m->found && m->gap_before_ms > 0;

	if (overlap_ms < 0)
		overlap_ms = 0;
	w->from_ms = wm;
	w->since_ms = sat_add(wm, -overlap_ms);
	if (w->since_ms < 0)
		w->since_ms = 0;
	w->before_ms = gap ? m->gap_before_ms : -1;
	w->mark_ms = gap ? m->gap_mark_ms : now_ms;
	w->floor_ms = sat_add(now_ms, -POLL_RUNNING_MAX_MS);
	if (w->mark_ms < w->floor_ms)
		w->mark_ms = w->floor_ms;
	w->oldest_ms = INT64_MAX;
}

int poll_walk_run(struct poll_walk *w, const struct dpc_execution *e)
{
	int64_t hold;

	if (e->started_ms >= 0 && e->started_ms < w->oldest_ms)
		w->oldest_ms = e->started_ms;
	if (dpc_execution_finished(e))
		return e->finished_ms < 0 || e->finished_ms >= w->since_ms;
	/* The next window must still hold this run when it finishes. */
	hold = e->started_ms >= 0 ? e->started_ms : w->from_ms;
	if (hold < w->floor_ms)
		hold = w->floor_ms;
	if (hold < w->mark_ms)
		w->mark_ms = hold;
	return 0;
}

int poll_walk_end(const struct poll_walk *w, int complete, struct poll_mark *m)
{
	if (complete) {
		m->watermark_ms = w->mark_ms;
		m->gap_before_ms = 0;
		m->gap_mark_ms = 0;
		m->found = 1;
		return 1;
	}
	if (w->oldest_ms == INT64_MAX || (w->before_ms >= 0 && w->oldest_ms + 1 >= w->before_ms))
		return 0;
	/* The window's lower end stays; only its upper end comes down. */
	m->watermark_ms = w->from_ms;
	m->gap_before_ms = w->oldest_ms + 1;
	m->gap_mark_ms = w->mark_ms;
	m->found = 1;
	return 1;
}

double poll_calls_per_min(int requests_per_minute, int poll_share)
{
	if (requests_per_minute <= 0)
		return 0;
	if (poll_share < 1)
		poll_share = 1;
	if (poll_share > 100)
		poll_share = 100;
	return (double)requests_per_minute * poll_share / 100.0;
}

int64_t poll_projects_within(int requests_per_minute, int poll_share, int interval_s, int pages)
{
	double per_min = poll_calls_per_min(requests_per_minute, poll_share);

	if (per_min <= 0)
		return -1;
	if (pages < 1)
		pages = 1;
	if (interval_s < 1)
		interval_s = 1;
	return (int64_t)(per_min * interval_s / 60.0 / pages);
}

/* ---- the poller ---- */

struct poller {
	struct config_holder *cfg;
	struct store *st;
	struct poll_api api;
	pthread_t thread;
	pthread_mutex_t mu; /* guards the fields down to n_nudged */
	pthread_cond_t cv;  /* stop or a nudge; on the monotonic clock */
	int stop;
	int nudged;    /* a nudge is pending */
	int nudge_all; /* it names no project (or too many) */
	int enabled;   /* [poll] enabled, as last read by the thread */
	char nudge[NUDGE_MAX][WEBHOOK_ID_MAX];
	size_t n_nudged;
	/* The thread's own. */
	struct httpc *http;
	struct ratelimit *share; /* poll_share of requests_per_minute */
	double share_per_min;    /* what share was built for */
	size_t next;             /* project to begin the next cycle with */
	int warned_missing;      /* the "webhooks missing" warning was logged */
	struct dpc_list_page *page;
};

/* The projects of one cycle. */
struct plist {
	char (*id)[WEBHOOK_ID_MAX];
	size_t n, cap;
};

static void plist_add(struct plist *l, const char *id)
{
	size_t i;

	if (!text_id_valid(id) || l->n >= l->cap)
		return;
	for (i = 0; i < l->n; i++)
		if (strcmp(l->id[i], id) == 0)
			return;
	memcpy(l->id[l->n++], id, strlen(id) + 1);
}

static void plist_add_cb(void *ctx, const char *id)
{
	plist_add(ctx, id);
}

/* 1 when some route takes runs of any project ([default], or a route
 * without a project). */
static int routes_any_project(const struct config *c)
{
	size_t i;

	if (c->default_route != NULL)
		return 1;
	for (i = 0; i < c->n_routes; i++)
		if (c->routes[i].project == NULL)
			return 1;
	return 0;
}

/* Every project to reconcile, configured ones first. */
static void projects_all(struct poller *p, const struct config *c, struct plist *l)
{
	size_t i;

	for (i = 0; i < c->n_projects; i++)
		plist_add(l, c->projects[i].id);
	for (i = 0; i < c->n_routes; i++)
		if (c->routes[i].project != NULL)
			plist_add(l, c->routes[i].project);
	if (routes_any_project(c))
		store_poll_projects(p->st, l->cap, plist_add_cb, l);
}

/* Budget for one call: a token of the poller's share, waited for at most
 * POLL_SHARE_WAIT_MS (waking for poll_stop()). 0, or ERR_BUDGET. */
static int share_take(struct poller *p)
{
	int64_t wait = ratelimit_try_reserve(p->share, clock_mono_ms(), POLL_SHARE_WAIT_MS);
	int64_t until = clock_mono_ms() + wait;
	struct timespec ts = { .tv_sec = until / 1000, .tv_nsec = (long)(until % 1000) * 1000000L };
	int stop;

	if (wait > POLL_SHARE_WAIT_MS)
		return ERR_BUDGET;
	pthread_mutex_lock(&p->mu);
	while (!p->stop && wait > 0 && clock_mono_ms() < until)
		pthread_cond_timedwait(&p->cv, &p->mu, &ts);
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop ? ERR_BUDGET : 0;
}

/* Stores one finished run as a webhook would: same event, same routes,
 * same dedup key. 0 (stored or already known), or ERR_IO/ERR_NOMEM. */
static int take_run(struct poller *p, const struct config *c, const struct dpc_execution *e)
{
	struct webhook_event ev;
	char **dests = NULL, job[24];
	size_t n = 0;
	int notify = 0, rc;
	int64_t job_id = 0;

	memset(&ev, 0, sizeof(ev));
	memcpy(ev.project_id, e->project_id, sizeof(ev.project_id));
	memcpy(ev.execution_id, e->id, sizeof(ev.execution_id));
	memcpy(ev.pipeline_name, e->pipeline, sizeof(ev.pipeline_name));
	memcpy(ev.environment, e->environment, sizeof(ev.environment));
	ev.status = e->status;
	snprintf(ev.status_text, sizeof(ev.status_text), "%s", e->status_text);
	rc = route_intake(c, ev.project_id, ev.environment, ev.pipeline_name, ev.status, &dests, &n,
			  &notify);
	if (rc || n == 0)
		goto out;
	rc = store_put(p->st, &ev, dests, n, c->dedup_window, &job_id);
	if (rc == ERR_DUPLICATE) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	metrics_run_source(MS_POLL);
	snprintf(job, sizeof(job), "%lld", (long long)job_id);
	log_event(LOG_INFO, "poll: run found by polling, no webhook came for it", "job", job,
		  "project", ev.project_id, "execution", ev.execution_id, "status", ev.status_text,
		  "notify", notify ? "yes" : "no", NULL);
	if (!p->warned_missing) {
		p->warned_missing = 1;
		log_event(LOG_WARN,
			  "poll: runs are arriving by polling only; check that Matillion's"
			  " webhook notification is set up and reaches dpc-notify",
			  NULL);
	}
out:
	free(dests);
	return rc;
}

/* Hands the runs of this page still running to longrun_scan(), which
 * queues a notice for each one past its route's limit, once per run ever:
 * a listing holds a running run in every window until it finishes, so
 * asking each cycle is what lets a run be told when it passes the limit.
 * A failure is logged; the next cycle asks again. */
static void longrun_page(struct poller *p, const struct config *c)
{
	struct longrun_run r[DPC_LIST_LIMIT];
	size_t i, n = 0;
	char count[24];
	int rc;

	for (i = 0; i < p->page->n && n < DPC_LIST_LIMIT; i++) {
		const struct dpc_execution *e = &p->page->runs[i];
		if (dpc_execution_finished(e) || e->started_ms < 0)
			continue;
		r[n++] = (struct longrun_run){ e->id,       e->project_id, e->environment,
					       e->pipeline, e->trigger,    e->started_ms };
	}
	if (n == 0)
		return;
	rc = longrun_scan(p->st, c, r, n, clock_wall_ms());
	if (rc < 0) {
		log_event(LOG_WARN, "poll: still-running check failed", "error", err_str(rc), NULL);
	} else if (rc > 0) {
		snprintf(count, sizeof(count), "%d", rc);
		log_event(LOG_INFO, "poll: still-running notices queued", "runs", count, NULL);
	}
}

/* How one listing ended. */
enum walk_end { WE_COMPLETE, WE_CUT, WE_FAILED };

/* Lists one page and takes its runs. Returns WE_COMPLETE on the last
 * page, WE_CUT when the listing must stop here (budget, 429, a token
 * that repeats), WE_FAILED on an error, or -1 to go on with p->page->more. */
static int walk_page(struct poller *p, const struct config *c, struct dpc *d, const char *id,
		     struct poll_walk *w, char *more)
{
	struct dpc_list_query q = { id, w->since_ms, w->before_ms, more, POLL_YIELD_MS };
	struct dpc_error err;
	size_t i;
	int rc;

	if (share_take(p) != 0)
		return WE_CUT;
	rc = dpc_list_executions(d, p->http, &q, p->page, &err);
	metrics_poll_calls(err.api_calls);
	if (rc == ERR_BUDGET || rc == ERR_TRANSIENT) {
		log_event(LOG_DEBUG, "poll: listing paused, resumed next cycle", "project", id,
			  "error", err.message[0] ? err.message : err_str(rc), NULL);
		return WE_CUT;
	}
	if (rc) {
		log_event(LOG_WARN, "poll: listing failed", "project", id, "error",
			  err.message[0] ? err.message : err_str(rc), NULL);
		return WE_FAILED;
	}
	for (i = 0; i < p->page->n; i++)
		if (poll_walk_run(w, &p->page->runs[i]) && take_run(p, c, &p->page->runs[i]) != 0)
			return WE_FAILED;
	longrun_page(p, c);
	if (p->page->more[0] == '\0')
		return WE_COMPLETE;
	if (strcmp(p->page->more, more) == 0) {
		log_event(LOG_WARN, "poll: the API repeated a pagination token; listing stopped",
			  "project", id, NULL);
		return WE_CUT;
	}
	memcpy(more, p->page->more, sizeof(p->page->more));
	return -1;
}

/* Reconciles one project. Returns WE_COMPLETE, WE_CUT or WE_FAILED. */
static int walk_project(struct poller *p, const struct config *c, struct dpc *d, const char *id)
{
	char more[DPC_MORE_MAX] = "";
	struct poll_mark m;
	struct poll_walk w;
	int64_t now = clock_wall_ms();
	int page, end = WE_CUT, rc;

	rc = store_poll_get(p->st, id, &m);
	if (rc && rc != ERR_NOTFOUND)
		return WE_FAILED;
	poll_walk_begin(&w, &m, now, (int64_t)c->poll_overlap_s * 1000);
	for (page = 0; page < POLL_PAGES_MAX; page++) {
		end = walk_page(p, c, d, id, &w, more);
		if (end >= 0)
			break;
	}
	if (end < 0) {
		log_event(LOG_WARN, "poll: listing reached the page cap; resumed next cycle",
			  "project", id, NULL);
		end = WE_CUT;
	}
	if (end == WE_FAILED)
		return end;
	if (poll_walk_end(&w, end == WE_COMPLETE, &m) && store_poll_set(p->st, id, &m, now) != 0)
		return WE_FAILED;
	return end;
}

/* Builds or rebuilds the share limiter for c; 0 or ERR_NOMEM. */
static int share_for(struct poller *p, const struct config *c)
{
	double per_min = poll_calls_per_min(c->requests_per_minute, c->poll_share);
	struct ratelimit *rl;

	if (p->share != NULL && per_min == p->share_per_min)
		return 0;
	rl = ratelimit_new(per_min / 60.0, 3);
	if (rl == NULL)
		return ERR_NOMEM;
	ratelimit_free(p->share);
	p->share = rl;
	p->share_per_min = per_min;
	return 0;
}

/* One reconciliation of the projects in l, beginning at p->next (the
 * projects a cut-off cycle did not reach go first next time). */
static void cycle(struct poller *p, const struct config *c, struct plist *l)
{
	void *ref = NULL;
	struct dpc *d;
	size_t k, i;
	int end;

	if (l->n == 0 || share_for(p, c) != 0)
		return;
	d = p->api.get(p->api.ctx, c, &ref);
	if (d == NULL)
		return;
	for (k = 0; k < l->n; k++) {
		i = (p->next + k) % l->n;
		end = walk_project(p, c, d, l->id[i]);
		metrics_poll_cycle(end == WE_COMPLETE ? MP_COMPLETE
				   : end == WE_CUT    ? MP_PARTIAL
						      : MP_FAILED);
		if (end == WE_CUT) {
			p->next = i;
			break;
		}
		p->next = i + 1;
	}
	p->api.put(p->api.ctx, ref);
}

/* The nudged projects a route serves, or all when the nudge names none. */
static void projects_nudged(struct poller *p, const struct config *c, struct plist *l, int all,
			    char (*ids)[WEBHOOK_ID_MAX], size_t n)
{
	size_t i;

	if (all) {
		projects_all(p, c, l);
		return;
	}
	for (i = 0; i < n; i++)
		if (route_select(c, ids[i], NULL, NULL, NULL) != NULL)
			plist_add(l, ids[i]);
}

/* Sleeps until the next cycle is due, a nudge may run or poll_stop().
 * Returns 1 for a nudge (its projects copied out), 0 when due, -1 to stop. */
static int wait_turn(struct poller *p, int64_t due, int64_t last, int *all,
		     char (*ids)[WEBHOOK_ID_MAX], size_t *n)
{
	int64_t at;
	int rc;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		int64_t now = clock_mono_ms();

		at = due;
		if (p->nudged && sat_add(last, POLL_NUDGE_GAP_MS) < at)
			at = sat_add(last, POLL_NUDGE_GAP_MS);
		if (p->stop || now >= at)
			break;
		{
			struct timespec ts = { .tv_sec = at / 1000,
					       .tv_nsec = (long)(at % 1000) * 1000000L };
			pthread_cond_timedwait(&p->cv, &p->mu, &ts);
		}
	}
	rc = p->stop ? -1 : p->nudged && at < due ? 1 : 0;
	*all = p->nudge_all;
	*n = p->n_nudged;
	memcpy(ids, p->nudge, sizeof(p->nudge));
	if (rc >= 0) {
		p->nudged = 0;
		p->nudge_all = 0;
		p->n_nudged = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

static void *poll_main(void *arg)
{
	struct poller *p = arg;
	char(*ids)[WEBHOOK_ID_MAX] = calloc(NUDGE_MAX, WEBHOOK_ID_MAX);
	struct plist l = { calloc(POLL_PROJECTS_MAX, WEBHOOK_ID_MAX), 0, POLL_PROJECTS_MAX };
	int64_t due, last = INT64_MIN / 2;
	const struct config *c = config_get(p->cfg);
	size_t n;
	int all, turn;

	due = clock_mono_ms() + (int64_t)c->poll_interval_s * 1000;
	config_put(p->cfg, c);
	while (ids != NULL && l.id != NULL) {
		turn = wait_turn(p, due, last, &all, ids, &n);
		if (turn < 0)
			break;
		c = config_get(p->cfg);
		pthread_mutex_lock(&p->mu);
		p->enabled = c->poll_enabled;
		pthread_mutex_unlock(&p->mu);
		last = clock_mono_ms();
		l.n = 0;
		if (turn == 0)
			due = last + (int64_t)c->poll_interval_s * 1000;
		if (c->poll_enabled) {
			if (turn == 1)
				projects_nudged(p, c, &l, all, ids, n);
			else
				projects_all(p, c, &l);
			cycle(p, c, &l);
		}
		config_put(p->cfg, c);
	}
	free(ids);
	free(l.id);
	return NULL;
}

static struct httpc *poll_http(const struct config *c)
{
	struct httpc_opts o = {
		.connect_timeout_ms = c->connect_timeout * 1000L,
		.timeout_ms =
			(c->timeout < POLL_HTTP_TIMEOUT_S ? c->timeout : POLL_HTTP_TIMEOUT_S) *
			1000L,
		.allow_http = c->allow_http,
		.ca_file = c->ca_file,
		.proxy = c->proxy,
	};

	if (o.connect_timeout_ms > o.timeout_ms)
		o.connect_timeout_ms = o.timeout_ms;
	return httpc_new(&o);
}

struct poller *poll_start(struct config_holder *cfg, struct store *st, const struct poll_api *api)
{
	struct poller *p = calloc(1, sizeof(*p));
	const struct config *c;

	if (p == NULL)
		return NULL;
	p->cfg = cfg;
	p->st = st;
	p->api = *api;
	c = config_get(cfg);
	p->enabled = c->poll_enabled;
	p->http = poll_http(c);
	config_put(cfg, c);
	p->page = calloc(1, sizeof(*p->page));
	if (p->http == NULL || p->page == NULL || pthread_mutex_init(&p->mu, NULL) != 0)
		goto fail;
	if (clock_cond_init(&p->cv) != 0) {
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		goto fail;
	}
	return p;
fail:
	httpc_free(p->http);
	free(p->page);
	free(p);
	return NULL;
}

void poll_stop(struct poller *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	httpc_free(p->http);
	ratelimit_free(p->share);
	free(p->page);
	free(p);
}

int poll_nudge(struct poller *p, const char *project_id)
{
	size_t i;

	if (p == NULL)
		return ERR_STOPPED;
	pthread_mutex_lock(&p->mu);
	if (!p->enabled || p->stop) {
		pthread_mutex_unlock(&p->mu);
		return ERR_STOPPED;
	}
	if (!text_id_valid(project_id) || p->n_nudged >= NUDGE_MAX) {
		p->nudge_all = 1;
	} else {
		for (i = 0; i < p->n_nudged && strcmp(p->nudge[i], project_id) != 0; i++)
			;
		if (i == p->n_nudged)
			memcpy(p->nudge[p->n_nudged++], project_id, strlen(project_id) + 1);
	}
	p->nudged = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return 0;
}
