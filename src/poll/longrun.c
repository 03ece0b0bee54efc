/* Long-running runs (longrun.h): the pure decision, the scan the poller
 * calls each cycle, and the summary the worker renders for the job a scan
 * queued. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "errors.h"
#include "log.h"
#include "longrun.h"
#include "memory.h"
#include "route.h"
#include "store.h"
#include "summary.h"
#include "text.h"

int64_t longrun_slow_limit(const struct longrun_limits *l)
{
	double x;
	int64_t lim, floor_ms;

	if (l == NULL || !isfinite(l->slow_factor) || l->slow_factor <= 1.0 || l->usual_ms < 0)
		return -1;
	/* 2^63 is exact as a double; a product at or past it saturates. */
	x = l->slow_factor * (double)l->usual_ms;
	lim = x >= 9223372036854775808.0 ? INT64_MAX : (int64_t)x;
	floor_ms = l->usual_ms > INT64_MAX - MEM_SLOW_MIN_DIFF_MS
			   ? INT64_MAX
			   : l->usual_ms + MEM_SLOW_MIN_DIFF_MS;
	return lim > floor_ms ? lim : floor_ms;
}

enum longrun_why longrun_decide(const struct longrun_limits *l, int64_t started_ms, int64_t now_ms,
				int64_t *limit_ms)
{
	enum longrun_why why = LONGRUN_NO;
	int64_t lim = INT64_MAX, slow;

	if (limit_ms != NULL)
		*limit_ms = 0;
	if (l == NULL || started_ms < MEM_TIME_MIN_MS || now_ms < started_ms)
		return LONGRUN_NO;
	if (l->max_ms > 0) {
		lim = l->max_ms;
		why = LONGRUN_MAX_DURATION;
	}
	slow = longrun_slow_limit(l);
	if (slow >= 0 && slow < lim) {
		lim = slow;
		why = LONGRUN_SLOW;
	}
	/* Both are non-negative with now_ms >= started_ms: no overflow. */
	if (why == LONGRUN_NO || now_ms - started_ms <= lim)
		return LONGRUN_NO;
	if (limit_ms != NULL)
		*limit_ms = lim;
	return why;
}

/* ---- the scan ---- */

/* Collects the durations run memory keeps for one pipeline. */
struct hist {
	struct mem_run runs[MEM_HISTORY_MAX];
	size_t n;
};

static void hist_add(void *ctx, const struct mem_run_row *r)
{
	struct hist *h = ctx;

	if (h->n < MEM_HISTORY_MAX)
		h->runs[h->n++] = r->run;
}

/* The pipeline's usual duration from run memory, -1 when it has none. */
static int usual_of(struct store *st, const struct mem_key *k, int64_t *usual_ms)
{
	struct hist *h = calloc(1, sizeof(*h));
	int rc;

	*usual_ms = -1;
	if (h == NULL)
		return ERR_NOMEM;
	rc = store_history(st, k, MEM_HISTORY_MAX, hist_add, h);
	if (rc == 0)
		*usual_ms = mem_usual_duration(h->runs, h->n);
	free(h);
	return rc;
}

/* The route's limits for run r, read from memory only when slow_factor
 * could fire: a run younger than MEM_SLOW_MIN_DIFF_MS cannot pass a slow
 * limit, so most runs cost no read. */
static int limits_of(struct store *st, const struct project *p, const struct mem_key *k,
		     const struct longrun_run *r, int64_t now_ms, struct longrun_limits *l)
{
	l->max_ms = p->max_duration_s <= 0                 ? 0
		    : p->max_duration_s > INT64_MAX / 1000 ? INT64_MAX
							   : p->max_duration_s * 1000;
	l->slow_factor = p->slow_factor;
	l->usual_ms = -1;
	if (!(isfinite(p->slow_factor) && p->slow_factor > 1.0) ||
	    r->started_ms < MEM_TIME_MIN_MS || now_ms < r->started_ms ||
	    now_ms - r->started_ms <= MEM_SLOW_MIN_DIFF_MS)
		return 0;
	return usual_of(st, k, &l->usual_ms);
}

/* The names of p's destinations that c configures, into a new array
 * (borrowed names; caller frees the array). */
static int dests_of(const struct config *c, const struct project *p, char ***out, size_t *n)
{
	size_t i;

	*n = 0;
	*out = calloc(p->n_destinations + 1, sizeof(**out));
	if (*out == NULL)
		return ERR_NOMEM;
	for (i = 0; i < p->n_destinations; i++)
		if (config_destination(c, p->destinations[i]) != NULL)
			(*out)[(*n)++] = p->destinations[i];
	return 0;
}

/* Fires run r (its pipeline's display name pipe) for route p's limit. */
static int fire(struct store *st, const struct config *c, const struct project *p,
		const struct longrun_run *r, const struct mem_key *k,
		const struct longrun_limits *l, enum longrun_why why, int64_t limit_ms,
		int64_t now_ms)
{
	const struct longrun_fire f = { .project_id = r->project_id,
					.execution_id = r->execution_id,
					.environment = k->environment,
					.pipeline = k->pipeline,
					.trigger = r->trigger,
					.started_ms = r->started_ms,
					.limit_ms = limit_ms,
					.usual_ms = l->usual_ms,
					.slow = why == LONGRUN_SLOW };
	char **dests = NULL;
	size_t n = 0;
	int64_t job = 0;
	int rc;

	rc = dests_of(c, p, &dests, &n);
	if (rc == 0)
		rc = store_longrun_fire(st, &f, dests, n, now_ms, &job);
	free(dests);
	if (rc == ERR_DUPLICATE)
		return 0;
	if (rc != 0)
		return rc;
	log_event(LOG_INFO, "run still running past its limit", "pipeline", k->pipeline,
		  "execution", r->execution_id, "limit",
		  why == LONGRUN_SLOW ? "slow_factor" : "max_duration", NULL);
	return job > 0 ? 1 : 0;
}

/* One run: 1 when a job was queued, 0 when nothing fired, or an ERR_*
 * code. */
static int scan_one(struct store *st, const struct config *c, const struct longrun_run *r,
		    int64_t now_ms)
{
	const char *env = r->environment != NULL ? r->environment : "";
	const struct project *p;
	struct longrun_limits l;
	struct mem_key k;
	enum longrun_why why;
	int64_t limit = 0;
	char *pipe;
	int rc = 0, silenced = 0, open = 0;

	if (!text_id_valid(r->project_id) || !text_id_valid(r->execution_id))
		return 0;
	pipe = summary_display_name(r->pipeline != NULL ? r->pipeline : "");
	if (pipe == NULL)
		return ERR_NOMEM;
	k = (struct mem_key){ r->project_id, env, pipe };
	/* A route left open by an unknown environment or pipeline may not
	 * be the run's: its limits are not the run's to pass. */
	p = route_select(c, r->project_id, env, pipe, &open);
	if (p == NULL || open || (p->max_duration_s <= 0 && !(p->slow_factor > 1.0)) ||
	    !route_match(p, ST_UNKNOWN, env))
		goto out;
	rc = limits_of(st, p, &k, r, now_ms, &l);
	if (rc != 0)
		goto out;
	why = longrun_decide(&l, r->started_ms, now_ms, &limit);
	if (why == LONGRUN_NO)
		goto out;
	rc = store_silenced(st, &k, now_ms, &silenced);
	if (rc == 0 && !silenced)
		rc = fire(st, c, p, r, &k, &l, why, limit, now_ms);
out:
	free(pipe);
	return rc;
}

int longrun_scan(struct store *st, const struct config *c, const struct longrun_run *runs, size_t n,
		 int64_t now_ms)
{
	size_t i;
	int queued = 0, rc;

	if (st == NULL || c == NULL || (n > 0 && runs == NULL))
		return ERR_INVALID;
	for (i = 0; i < n; i++) {
		rc = scan_one(st, c, &runs[i], now_ms);
		if (rc < 0)
			return rc;
		if (rc > 0 && queued < INT32_MAX)
			queued++;
	}
	return queued;
}

/* ---- the job's message ---- */

int longrun_summary(struct store *st, const struct config *c, const struct job *j,
		    struct summary *s)
{
	struct longrun_notice n;
	struct run_context *m = &s->memory;
	int rc;

	rc = summary_init(s, j->ev.project_id, j->ev.execution_id, c->ui_base);
	if (rc == 0)
		rc = summary_set_pipeline_name(s, j->ev.pipeline_name);
	if (rc == 0)
		rc = summary_set_environment(s, j->ev.environment);
	if (rc == 0)
		rc = summary_set_status(s, ST_RUNNING, NULL);
	if (rc == 0)
		rc = summary_set_project_name(s, route_project_name(c, j->ev.project_id));
	if (rc == 0)
		rc = store_longrun_notice(st, j->id, &n);
	if (rc != 0)
		return rc;
	free(s->trigger);
	s->trigger = text_sanitize(n.trigger, strlen(n.trigger), 0);
	if (s->trigger == NULL)
		return ERR_NOMEM;
	s->started_ms = n.started_ms >= 0 ? n.started_ms : -1;
	memset(m, 0, sizeof(*m));
	m->known = 1;
	m->form = FORM_LONG_RUNNING;
	m->usual_ms = n.usual_ms >= 0 ? n.usual_ms : -1;
	m->streak_since_ms = -1;
	m->incident_since_ms = n.incident_since_ms >= 0 ? n.incident_since_ms : -1;
	m->held_from_ms = -1;
	m->held_until_ms = -1;
	m->long_at_ms = n.at_ms;
	m->long_limit_ms = n.limit_ms >= 0 ? n.limit_ms : 0;
	m->long_slow = n.slow;
	return 0;
}
