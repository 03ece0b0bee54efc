/* Workers: threads that take jobs from the store and carry each one through
 * the Matillion client, the summary, the renderers and delivery.
 *
 * DESIGN
 * A job is claimed (store: queued -> running, with a lease), then:
 *  1. Pending deliveries that have no payload yet need the run's summary:
 *     the Matillion API is asked once per attempt. A transient API failure
 *     re-queues the job with backoff while attempts and age allow; after that,
 *     or on a permanent failure, a degraded notice is built from what the
 *     webhook said (unless degraded_notice = false, then the job is dead),
 *     with a plain-language reason chosen by the kind of failure (the
 *     technical one is logged and kept as the job's error).
 *     Follow-ups. A notice whose kind of failure may heal (no answer,
 *     5xx, 429, refused credentials) promises the details while a
 *     follow-up still has time before max_age. Each delivery of such a
 *     body is marked in the store as it is posted or kept; when one is
 *     delivered, the same transaction makes the run's follow-up job (see
 *     store_delivery_record()) with a delivery to that destination, so a
 *     notice given up on (dead) gets none. A follow-up is an ordinary
 *     job, claimed and crash-safe like any other, with the run's
 *     received time: it asks the API with its own backoff (1, 2, 4 ...
 *     minutes, at most 30 and at most max_age / 16, jittered) until the
 *     API answers, then posts the full summary (follows_ms = when the
 *     notice went to that destination) as a new message, at least once
 *     per destination like any delivery; at max_age, or on a failure
 *     that will not heal, it ends as ignored without a message. Intake
 *     dedup does not see follow-ups.
 *     Run memory. A run whose status no route notifies gets only its
 *     details (one call, never steps). Every run with a summary (not a
 *     degraded notice) is then remembered and decided once in the store
 *     (store_memory_apply()): a full message, a compact repeat or a
 *     recovery goes on with the decision's context in the summary; a run
 *     held back (repeat, notify_after, silence) or only remembered ends
 *     as ignored. A follow-up's run is remembered when the follow-up gets
 *     the API's answer, as told (its notice was posted), and the
 *     follow-up is never held back.
 *     Silences. A run a silence or mute window held back is noted
 *     (store_held_note()); when the silence ends the service makes one
 *     summary job (JOB_KIND_HELD, see serve.c) whose message comes from
 *     the store, not the API, and is posted like any other, without a
 *     mention.
 *     Long-running runs. A still-running notice (JOB_KIND_LONG_RUNNING,
 *     longrun.h) also has its message from the store; it is never
 *     remembered, never grouped, and carries the route's mention.
 *  2. Each due delivery without a stored payload is rendered in memory.
 *     The payload is saved only with a retry or dead outcome (step 3), so
 *     every scheduled retry posts the same bytes and never calls the API
 *     again; a crash before the first outcome is committed loses only the
 *     rendering, and the next attempt renders again from the API.
 *  3. Each due delivery is paced by its destination's rate limiter and
 *     posted. 2xx marks it delivered; a retryable failure schedules it again
 *     (backoff, at least Retry-After); a permanent one marks it dead. Each
 *     outcome is one transaction, committed right after the answer. A
 *     worker sleeps at most PACE_SLEEP_MAX_MS for pacing: a destination
 *     paused longer (a 429's Retry-After) gets its delivery rescheduled for
 *     the end of the pause, attempts not counted, and the worker moves on.
 *  Every Retry-After is clamped to retry_after_max, and no retry is
 *  scheduled past received + max_age: at that deadline the job gives up
 *  (degraded notice or dead letter) instead of waiting on a peer's word.
 *  4. The job's state is decided from its deliveries (settle), in the same
 *     transaction as the last outcome of the attempt, so a message to one
 *     destination costs three write transactions: put, claim, outcome. When
 *     no delivery was due, store_job_settle() does it alone.
 * Every outcome is committed to the store before the next post, so a crash
 * at any point repeats at most the delivery that was in flight
 * (at-least-once).
 * When a store write fails mid-job (disk full, read-only file) the job is
 * handed back as queued after a backoff, that write retried each second
 * until the store takes it, rather than idling out its lease; a delivery
 * posted but not recorded is then posted again (at-least-once). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "deliver.h"
#include "dpc.h"
#include "errors.h"
#include "httpc.h"
#include "log.h"
#include "longrun.h"
#include "memory.h"
#include "metrics.h"
#include "ratelimit.h"
#include "retry.h"
#include "route.h"
#include "silence.h"
#include "storm.h"
#include "summary.h"
#include "target.h"
#include "text.h"
#include "act.h"
#include "thread.h"
#include "worker.h"

#define LEASE_MS (10 * 60 * 1000) /* longer than any job can take */
#define MAX_PACERS 64             /* distinct destination names paced */
/* Longest pacing wait a worker sleeps through before a post; a longer one
 * (a destination paused by Retry-After, or a deep queue for one slow
 * destination) reschedules the delivery instead of holding the worker. */
#define PACE_SLEEP_MAX_MS 2000

#define GROUP_TAKE_MAX 1000 /* runs one grouped message takes at most */

struct pacer {
	char name[128];
	double rate;
	struct ratelimit *rl;
};

/* A destination's storm window (storm.h), by name like the pacers. */
struct storm {
	char name[128];
	struct storm_window w;
};

/* A Matillion client built from one config's [matillion] and HTTP settings,
 * shared by all workers (its token cache and rate limiter must be), and
 * replaced when a reload changes those settings. */
struct client {
	struct dpc *dpc;
	char *key; /* settings it was built from (settings_key) */
	int refs;  /* guarded by workers.lock */
};

struct workers {
	struct config_holder *cfg;
	struct store *st;
	struct client *client; /* current client; holds one reference */
	pthread_t *threads;
	int n;
	atomic_int stop;
	atomic_int alive;     /* threads currently in their loop */
	atomic_int busy;      /* threads currently inside a job */
	pthread_mutex_t lock; /* guards pacers and storms */
	struct pacer pacers[MAX_PACERS];
	size_t n_pacers;
	struct storm storms[MAX_PACERS];
	size_t n_storms;
};

struct wctx { /* one per thread */
	struct workers *w;
	struct httpc *http;
	char *http_key; /* settings t->http was built from */
	uint64_t rng;
	int claim_rc; /* last claim failure logged, 0 for none */
};

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Why a degraded notice has no step details, told to the on-call in plain
 * words chosen by the kind of failure; the technical reason (which may
 * name hosts, statuses and library errors) goes only to the log, the
 * job's stored error and the CLI. A kind with a follow-up text promises
 * the details later: the follow-up keeps asking the API while the job is
 * younger than max_age. Kinds that would not change on their own (a run
 * the API does not know, an answer it cannot read) promise nothing. */
enum degraded_kind {
	DK_UNREACHABLE, /* no answer, timeout, 408, 429, 5xx */
	DK_CREDENTIALS, /* 401 or 403 from the token endpoint or the API */
	DK_UNKNOWN_RUN, /* 404 or 410: the API does not know this run */
	DK_UNREADABLE,  /* an answer dpc-notify could not read */
	DK_REFUSED,     /* any other 4xx */
	DK_LOCAL,       /* no request made: invalid id, refused URL */
	DK__MAX
};

static const struct {
	const char *name;   /* for the log */
	const char *reader; /* what happened, for the on-call */
	const char *follow; /* the promise, NULL when there is none */
} degraded_kinds[DK__MAX] = {
	[DK_UNREACHABLE] = { "unreachable", "dpc-notify couldn't reach Matillion's API",
			     "details will follow" },
	[DK_CREDENTIALS] = { "credentials", "Matillion's API refused dpc-notify's credentials",
			     "details will follow once access is fixed" },
	[DK_UNKNOWN_RUN] = { "unknown_run", "Matillion's API does not know this run", NULL },
	[DK_UNREADABLE] = { "unreadable",
			    "Matillion's API answered something dpc-notify could not read", NULL },
	[DK_REFUSED] = { "refused", "Matillion's API turned down dpc-notify's request", NULL },
	[DK_LOCAL] = { "local", "dpc-notify could not ask Matillion's API about this run", NULL },
};

/* The kind of a failed dpc_fetch_summary(): its code and the last failing
 * HTTP status (0 when there was no answer). */
static enum degraded_kind degraded_kind(int rc, const struct dpc_error *e)
{
	long st = e->http_status;

	if (e->unreadable || (st >= 200 && st < 400))
		return DK_UNREADABLE;
	if (st == 401 || st == 403)
		return DK_CREDENTIALS;
	if (st == 404 || st == 410)
		return DK_UNKNOWN_RUN;
	if (rc == ERR_TRANSIENT)
		return DK_UNREACHABLE;
	return st > 0 ? DK_REFUSED : DK_LOCAL;
}

/* Follow-up backoff: the window after ask n is FOLLOWUP_BASE_MS * 2^(n-1),
 * capped at FOLLOWUP_CAP_MS and at max_age / FOLLOWUP_AGE_SHARE, so even
 * a short max_age leaves room for many asks before the follow-up gives
 * up; the delay is drawn from the window's upper half (see retry.h). */
#define FOLLOWUP_BASE_MS 60000
#define FOLLOWUP_CAP_MS (30 * 60000)
#define FOLLOWUP_AGE_SHARE 16
#define FOLLOWUP_MIN_MS 1000

static int64_t followup_ceiling_ms(int attempt, int64_t max_age_s)
{
	int64_t cap = retry_s_to_ms(max_age_s) / FOLLOWUP_AGE_SHARE, c = FOLLOWUP_BASE_MS;
	int i;

	if (cap > FOLLOWUP_CAP_MS)
		cap = FOLLOWUP_CAP_MS;
	if (cap < FOLLOWUP_MIN_MS)
		cap = FOLLOWUP_MIN_MS;
	for (i = 1; i < attempt && c < cap; i++)
		c *= 2;
	return c < cap ? c : cap;
}

static int64_t followup_delay_ms(int attempt, int64_t max_age_s, uint64_t rnd)
{
	int64_t c = followup_ceiling_ms(attempt, max_age_s);

	return c / 2 + (int64_t)(rnd % (uint64_t)(c / 2 + 1));
}

/* Everything a Matillion client or an HTTP client is built from, as one
 * string, so a reload can tell whether they must be rebuilt. */
static char *settings_key(const struct config *c)
{
	char buf[4096];
	int n;

	n = snprintf(buf, sizeof(buf), "%s\n%s\n%s\n%s\n%s\n%d %d %d %d %lld\n%d %d %d\n%s\n%s",
		     c->api_base, c->token_url, c->client_id, c->client_secret, c->ui_base,
		     c->requests_per_minute, c->burst, c->max_child_depth, c->max_api_calls,
		     (long long)c->retry_after_max, c->connect_timeout, c->timeout, c->allow_http,
		     c->ca_file ? c->ca_file : "", c->proxy ? c->proxy : "");
	return n < 0 || (size_t)n >= sizeof(buf) ? NULL : strdup(buf);
}

static void free_key(char *key)
{
	if (key != NULL) {
		explicit_bzero(key, strlen(key)); /* it holds the client secret */
		free(key);
	}
}

static void client_unref(struct client *cl)
{
	if (cl != NULL && --cl->refs == 0) {
		dpc_free(cl->dpc);
		free_key(cl->key);
		free(cl);
	}
}

/* The client for config c with a reference (give it back with
 * client_put), rebuilt first if c's settings differ from the current one.
 * NULL on ERR_NOMEM. */
static struct client *client_get(struct workers *w, const struct config *c)
{
	struct client *cl = NULL;
	char *key = settings_key(c);

	if (key == NULL)
		return NULL;
	pthread_mutex_lock(&w->lock);
	if (w->client == NULL || strcmp(w->client->key, key) != 0) {
		struct client *fresh = calloc(1, sizeof(*fresh));
		if (fresh == NULL || (fresh->dpc = dpc_new(c)) == NULL) {
			free(fresh);
			goto out;
		}
		fresh->key = key;
		key = NULL;
		fresh->refs = 1;
		client_unref(w->client);
		w->client = fresh;
	}
	cl = w->client;
	/* Not NULL: w->client was set above when it was. */
	/* cppcheck-suppress nullPointerRedundantCheck */
	cl->refs++;
out:
	pthread_mutex_unlock(&w->lock);
	free_key(key);
	return cl;
}

static void client_put(struct workers *w, struct client *cl)
{
	pthread_mutex_lock(&w->lock);
	client_unref(cl);
	pthread_mutex_unlock(&w->lock);
}

/* Makes t->http match c's HTTP settings (a reload may change them). */
static int thread_http(struct wctx *t, const struct config *c)
{
	char *key = settings_key(c);

	if (key == NULL)
		return ERR_NOMEM;
	if (t->http != NULL && strcmp(t->http_key, key) == 0) {
		free_key(key);
		return 0;
	}
	httpc_free(t->http);
	free_key(t->http_key);
	t->http = httpc_from_config(c);
	t->http_key = key;
	return t->http != NULL ? 0 : ERR_NOMEM;
}

/* The limiter pacing posts to one destination, created on first use. The
 * table is keyed by name so pacing survives config reloads. */
static struct ratelimit *pacer_for(struct workers *w, const struct destination *d)
{
	struct ratelimit *rl = NULL;
	size_t i;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->n_pacers; i++)
		if (strcmp(w->pacers[i].name, d->name) == 0 &&
		    w->pacers[i].rate == d->rate_per_sec) {
			rl = w->pacers[i].rl;
			goto out;
		}
	if (i == w->n_pacers && w->n_pacers < MAX_PACERS) {
		struct pacer *p = &w->pacers[w->n_pacers];
		p->rl = ratelimit_new(d->rate_per_sec, 1);
		if (p->rl != NULL) {
			snprintf(p->name, sizeof(p->name), "%s", d->name);
			p->rate = d->rate_per_sec;
			w->n_pacers++;
			rl = p->rl;
		}
	}
out:
	pthread_mutex_unlock(&w->lock);
	return rl;
}

/* The route of the job's run, by what the summary knows (the webhook's
 * environment and pipeline, refined by the API); NULL when none. *open:
 * other routes are still possible (route_select()). */
static const struct project *run_route(const struct config *c, const struct job *j,
				       const struct summary *s, int *open)
{
	return route_select(c, j->ev.project_id, s->environment, s->pipeline_name, open);
}

/* The body for d, rendered by its target's row, with the mention the run's
 * route picks for this pipeline and target and d's severity map. */
static const char *mention_for(const struct config *c, const struct job *j, const struct summary *s,
			       const struct destination *d)
{
	return route_mention(run_route(c, j, s, NULL), d, s->pipeline_name);
}

static char *render_for(const struct config *c, const struct job *j, const struct summary *s,
			const struct destination *d)
{
	const struct project *r = run_route(c, j, s, NULL);
	const struct render_opts o = { .mention = route_mention(r, d, s->pipeline_name),
				       .severity = d->severity,
				       .allow_rerun = r != NULL && r->allow_rerun };

	/* The result is a new string, not a pointer into o. */
	/* cppcheck-suppress returnDanglingLifetime */
	return d->target->render(s, &o);
}

/* Fills identity fields the webhook already told us, so a degraded notice
 * still names the pipeline, and the API result only refines them. */
static int summary_from_webhook(struct summary *s, const struct config *c, const struct job *j)
{
	int rc;

	rc = summary_init(s, j->ev.project_id, j->ev.execution_id, c->ui_base);
	if (rc == 0)
		rc = summary_set_pipeline_name(s, j->ev.pipeline_name);
	if (rc == 0)
		rc = summary_set_environment(s, j->ev.environment);
	if (rc == 0)
		rc = summary_set_status(s, j->ev.status, j->ev.status_text);
	if (rc == 0)
		rc = summary_set_project_name(s, route_project_name(c, j->ev.project_id));
	return rc;
}

/* Step 1 when the API failed and the job gives up on it: a degraded
 * notice built from what the webhook said, with the plain-language reason
 * of kind k; *promise says whether it promises the details, which it does
 * only for a kind that may heal and while a follow-up still has time to
 * ask before the job's max_age. The technical reason why is kept as the
 * job's error. */
static int degraded_notice(struct wctx *t, const struct config *c, const struct job *j,
			   struct summary *s, enum degraded_kind k, const char *why, int *promise)
{
	char note[256];
	int64_t now = clock_wall_ms();
	int64_t deadline = retry_sat_add(j->received_ms, retry_s_to_ms(c->max_age));
	int rc;

	*promise = degraded_kinds[k].follow != NULL &&
		   retry_sat_add(now, followup_ceiling_ms(1, c->max_age)) < deadline;
	summary_free(s);
	rc = summary_from_webhook(s, c, j);
	if (rc)
		return rc;
	snprintf(note, sizeof(note), "%s; %s", degraded_kinds[k].reader,
		 *promise ? degraded_kinds[k].follow : "no step details");
	rc = summary_set_degraded(s, note);
	s->degraded_promise = *promise;
	if (rc == 0)
		rc = store_job_note(t->w->st, j->id, why);
	if (rc == 0)
		log_event(LOG_WARN, "matillion API failed, sending degraded notice", "kind",
			  degraded_kinds[k].name, "follow_up", *promise ? "yes" : "no", "error",
			  why, NULL);
	return rc;
}

/* Step 1 of a follow-up whose API call failed: asked again with the
 * follow-up backoff (never sooner than a Retry-After) while the failure
 * may heal and the job is younger than max_age; otherwise the follow-up
 * ends quietly, as ignored, with no message. */
static int followup_failed(struct wctx *t, const struct config *c, const struct job *j,
			   enum degraded_kind k, const struct dpc_error *e, const char *why)
{
	char note[352]; /* "follow-up gave up: " and a why of build_summary() */
	int64_t now = clock_wall_ms(), ra, delay;
	int64_t deadline = retry_sat_add(j->received_ms, retry_s_to_ms(c->max_age));

	if (degraded_kinds[k].follow != NULL && now < deadline) {
		ra = retry_after_clamp(e->retry_after_s, c->retry_after_max);
		delay = followup_delay_ms(j->attempts + 1, c->max_age, next_rand(&t->rng));
		if (ra >= 0 && delay < retry_s_to_ms(ra))
			delay = retry_s_to_ms(ra);
		log_event(LOG_INFO, "follow-up: matillion API still failing, will ask again",
			  "kind", degraded_kinds[k].name, "error", why, NULL);
		return store_job_retry(t->w->st, j->id,
				       retry_not_before(now, delay, j->received_ms, c->max_age),
				       why);
	}
	log_event(LOG_WARN, "follow-up gave up", "kind", degraded_kinds[k].name, "error", why,
		  NULL);
	metrics_followup(MF_GAVE_UP);
	snprintf(note, sizeof(note), "follow-up gave up: %s", why);
	return store_job_end(t->w->st, j->id, JOB_IGNORED, note);
}

/* What holds back a run of pipeline k received at at_ms: p's mute
 * windows first (their stretch around at_ms), else the stored silence
 * covering it that ends last. held is 0 when nothing covers the run. */
struct hold_source {
	int held;
	int64_t silence_id; /* 0: mute windows */
	int64_t from_ms, until_ms;
	char reason[SILENCE_REASON_MAX * 4 + 1];
};

static void pick_silence(void *ctx, const struct silence *x)
{
	struct hold_source *h = ctx;

	if (h->held && x->end_ms <= h->until_ms)
		return;
	h->held = 1;
	h->silence_id = x->id;
	h->from_ms = x->start_ms;
	h->until_ms = x->end_ms;
	snprintf(h->reason, sizeof(h->reason), "%s", x->reason);
}

static int hold_source(struct store *st, const struct project *p, const struct mem_key *k,
		       int64_t at_ms, struct hold_source *h)
{
	memset(h, 0, sizeof(*h));
	if (p != NULL && mute_windows_span(p->mute_windows, p->n_mute_windows, at_ms, &h->from_ms,
					   &h->until_ms)) {
		h->held = 1;
		snprintf(h->reason, sizeof(h->reason), "mute_windows");
		return 0;
	}
	return store_silences_covering(st, k, at_ms, pick_silence, h);
}

/* The error a held summary names: the first real error group's (not only
 * a child pipeline's run), else the first group's, else the run's. */
static const char *held_error(const struct summary *s)
{
	size_t i;

	for (i = 0; i < s->n_groups; i++)
		if (!s->groups[i].calls_child && *s->groups[i].message)
			return s->groups[i].message;
	return s->n_groups > 0 && *s->groups[0].message ? s->groups[0].message : s->message;
}

/* Notes a run the decision held back for a silence, so the silence's end
 * summarises it (store_held_note(), once per job). */
static int note_held(struct wctx *t, const struct job *j, const struct mem_key *k,
		     const struct hold_source *h, const struct mem_run *ev, const struct summary *s)
{
	const struct held_note n = { .silence_id = h->silence_id,
				     .from_ms = h->from_ms,
				     .until_ms = h->until_ms,
				     .reason = h->reason,
				     .execution_id = j->ev.execution_id,
				     .status = ev->status,
				     .finished_ms = ev->finished_ms,
				     .signature = ev->signature,
				     .error = held_error(s) };

	return store_held_note(t->w->st, j->id, k, &n);
}

/* The policy a run is decided with. A follow-up's run was told already
 * (its degraded notice was posted, whatever memory would have said), so
 * memory takes it as posted in full: never held back, counted or
 * compacted. Any other run is silenced when a mute window or a silence
 * covers its arrival (*h says which). */
static int run_policy(struct wctx *t, const struct project *p, const struct job *j,
		      const struct mem_key *k, struct mem_policy *pol, struct hold_source *h)
{
	int rc;

	route_run_policy(p, k->environment, pol);
	memset(h, 0, sizeof(*h));
	if (j->followup_of != 0) {
		pol->on_repeat = MEM_REPEAT_FULL;
		pol->notify_after = 1;
		pol->silenced = 0;
		return 0;
	}
	rc = hold_source(t->w->st, p, k, j->received_ms, h);
	pol->silenced = rc == 0 && h->held;
	return rc;
}

/* Step 1b for a run whose kind of trigger its route p leaves out
 * (triggers): remembered by the caller, never posted; the job ends as
 * ignored with why. */
static int trigger_excluded(struct wctx *t, const struct config *c, const struct job *j,
			    const struct project *p, const struct summary *s)
{
	char route[WEBHOOK_ID_MAX + 16], why[WEBHOOK_ID_MAX + 192];

	route_label(c, p, route, sizeof(route));
	snprintf(why, sizeof(why), "not notified: trigger %.64s excluded by route %s", s->trigger,
		 route);
	metrics_memory(MM_TRIGGER);
	log_event(LOG_INFO, why, NULL);
	return store_job_end(t->w->st, j->id, JOB_IGNORED, why);
}

/* Step 1b: run memory. Remembers the run and decides, once per job (the
 * store keeps the decision, so a retried job decides the same), whether
 * it is posted (*post, with s->memory filled) or held back or only
 * remembered (the job ends as ignored, with why). A run another job
 * already remembered (sent again after dedup_window) is posted as the
 * webhook contract promises, without memory. A run held back by a
 * silence is noted for the summary at the silence's end.
 * A follow-up completes a notice already posted: its run, which the
 * degraded notice's job did not remember, is remembered here, under the
 * follow-up's own job id (the run's job may be pruned before the API
 * answers, dedup_window being shorter than max_age; the follow-up runs
 * again for a late destination under the same id and gets the same
 * decision back), and its message is always posted in full, with the
 * context lines memory gives. */
static int remember(struct wctx *t, const struct config *c, const struct job *j, struct summary *s,
		    int *post)
{
	const struct project *p = run_route(c, j, s, NULL);
	const struct mem_key k = { j->ev.project_id, s->environment, s->pipeline_name };
	/* A follow-up completes a notice already posted, whatever its kind. */
	int excluded = j->followup_of == 0 && !route_trigger_allows(p, s->trigger);
	struct hold_source h;
	struct mem_run ev;
	struct mem_policy pol;
	struct mem_decision d;
	enum metric_memory m;
	const char *why;
	int rc;

	*post = !excluded;
	if (*s->pipeline_name == '\0')
		return excluded ? trigger_excluded(t, c, j, p, s) : 0;
	if (mem_run_of(s, j->received_ms, &ev))
		log_event(LOG_INFO,
			  s->finished_ms < 0
				  ? "run has no finish time; using its arrival time"
				  : "run's finish time is absurd; using its arrival time",
			  NULL);
	rc = run_policy(t, p, j, &k, &pol, &h);
	pol.record_only = excluded;
	if (rc == 0)
		rc = store_memory_apply(t->w->st, j->id, &k, j->ev.execution_id, s->trigger, &ev,
					&pol, c->history_runs, &d);
	if (rc)
		return rc;
	if (excluded)
		return trigger_excluded(t, c, j, p, s);
	switch (d.action) {
	case MEM_POST_FULL: metrics_memory(MM_FULL); break;
	case MEM_POST_COMPACT: metrics_memory(MM_COMPACT); break;
	case MEM_POST_RECOVERY: metrics_memory(MM_RECOVERY); break;
	default: break;
	}
	if (j->followup_of != 0) {
		if (d.action != MEM_DUPLICATE) {
			mem_context_fill(&d, &s->memory);
			s->memory.form = FORM_FULL;
		}
		return 0;
	}
	if (d.action == MEM_POST_FULL || d.action == MEM_POST_COMPACT ||
	    d.action == MEM_POST_RECOVERY) {
		mem_context_fill(&d, &s->memory);
		return 0;
	}
	if (d.action == MEM_DUPLICATE) {
		/* The same run sent again after dedup_window: posted as
		 * before, as the webhook contract says, but memory is not
		 * changed or consulted (the run is remembered once). */
		metrics_memory(MM_DUPLICATE);
		log_event(LOG_INFO, "run already remembered; posting without run memory", NULL);
		return 0;
	}
	*post = 0;
	if (d.action == MEM_HOLD && d.reason == MEM_R_SILENCED && h.held) {
		rc = note_held(t, j, &k, &h, &ev, s);
		if (rc)
			return rc;
	}
	switch (d.action) {
	case MEM_HOLD:
		m = d.reason == MEM_R_FLAKY      ? MM_FLAKY
		    : d.reason == MEM_R_SILENCED ? MM_SILENCED
						 : MM_REPEAT;
		why = d.reason == MEM_R_FLAKY
			      ? "held back: fewer failures in a row than notify_after"
		      : d.reason == MEM_R_SILENCED
			      ? "held back: silenced (silence or mute window)"
			      : "held back: same error again (on_repeat = silent)";
		break;
	default:
		m = MM_RECORDED;
		why = d.reason == MEM_R_LATE       ? "remembered: older than a run already seen"
		      : d.reason == MEM_R_SILENCED ? "remembered: silenced (silence or mute window)"
						   : "remembered: status not notified";
		break;
	}
	metrics_memory(m);
	log_event(LOG_INFO, "run remembered, no message", "reason", why, NULL);
	return store_job_end(t->w->st, j->id, JOB_IGNORED, why);
}

/* Step 1 of a summary of runs a silence held back (JOB_KIND_HELD): its
 * message comes from the store, as the silence's end left it, with no
 * API call; a job whose message is gone ends as ignored. Strings read
 * back are sanitised like any other untrusted text. */
static int held_summary_build(struct wctx *t, const struct config *c, const struct job *j,
			      struct summary *s, int *have)
{
	struct held_summary h;
	struct run_context *m = &s->memory;
	int rc;

	rc = summary_from_webhook(s, c, j);
	if (rc == 0)
		rc = store_held_summary(t->w->st, j->id, &h);
	if (rc == ERR_NOTFOUND) {
		log_event(LOG_WARN, "held summary: nothing stored for the job", NULL);
		return store_job_end(t->w->st, j->id, JOB_IGNORED, "held summary: nothing stored");
	}
	if (rc)
		return rc;
	free(s->message);
	s->message = text_sanitize(h.error, strlen(h.error), 1);
	s->held_reason = text_sanitize(h.reason, strlen(h.reason), 0);
	if (s->message == NULL || s->held_reason == NULL)
		return ERR_NOMEM;
	memset(m, 0, sizeof(*m));
	m->known = 1;
	m->form = FORM_HELD;
	m->held_before = h.count;
	m->incident_failures = h.failures;
	m->incident_since_ms = h.since_ms;
	m->held_from_ms = h.from_ms;
	m->held_until_ms = h.until_ms;
	m->usual_ms = -1;
	m->streak_since_ms = -1;
	log_event(LOG_INFO, "posting what a silence held back", NULL);
	*have = 1;
	return 0;
}

/* Step 1 of a still-running notice (JOB_KIND_LONG_RUNNING, longrun.h):
 * its message comes from the store, with no API call, and run memory
 * never sees it (it is not the run's outcome); a job whose message is
 * gone ends as ignored. */
static int long_running_build(struct wctx *t, const struct config *c, const struct job *j,
			      struct summary *s, int *have)
{
	int rc = longrun_summary(t->w->st, c, j, s);

	if (rc == ERR_NOTFOUND) {
		log_event(LOG_WARN, "still-running notice: nothing stored for the job", NULL);
		return store_job_end(t->w->st, j->id, JOB_IGNORED,
				     "still-running notice: nothing stored");
	}
	if (rc == 0) {
		log_event(LOG_INFO, "posting a still-running notice", NULL);
		*have = 1;
	}
	return rc;
}

/* Step 1: the summary, from the API or degraded. Returns 0 with *have set
 * when a summary is ready (*promise: it is a degraded notice that promises
 * the details), 0 with !*have when the job was re-queued or ended, or an
 * ERR_* code. A follow-up (j->followup_of) never sends a degraded notice:
 * it has the full summary or nothing. */
static int build_summary(struct wctx *t, const struct config *c, struct job *j, struct summary *s,
			 int *have, int *promise)
{
	const struct project *p;
	struct client *cl;
	struct dpc_error e = { .retry_after_s = -1 };
	char why[320];
	int64_t now = clock_wall_ms();
	int rc;

	*have = 0;
	*promise = 0;
	if (j->kind == JOB_KIND_HELD)
		return held_summary_build(t, c, j, s, have);
	if (j->kind == JOB_KIND_LONG_RUNNING)
		return long_running_build(t, c, j, s, have);
	rc = summary_from_webhook(s, c, j);
	if (rc)
		return rc;
	cl = client_get(t->w, c);
	if (cl == NULL)
		return ERR_NOMEM;
	/* A run whose status the routes do not notify is only remembered
	 * (or posted as a recovery): its details are enough, never its
	 * steps. */
	if (j->ev.status != ST_UNKNOWN && j->followup_of == 0 &&
	    !route_may_notify(c, j->ev.project_id, j->ev.environment, j->ev.pipeline_name,
			      j->ev.status))
		rc = dpc_fetch_execution(cl->dpc, t->http, j->ev.project_id, j->ev.execution_id, s,
					 &e);
	else
		rc = dpc_fetch_summary(cl->dpc, t->http, j->ev.project_id, j->ev.execution_id, s,
				       &e);
	client_put(t->w, cl);
	if (rc == 0) {
		int post = 1;

		rc = remember(t, c, j, s, &post);
		if (rc || !post)
			return rc;
		p = run_route(c, j, s, NULL);
		/* A follow-up completes a notice already posted, whatever
		 * the routes say now; what run memory posts (it read the
		 * routes: a recovery, a slow success) is posted. */
		if (j->followup_of == 0 && !s->memory.known &&
		    (p == NULL || !route_match(p, s->status, s->environment))) {
			log_event(LOG_INFO, "run status matches no route", "status",
				  status_names[s->status], NULL);
			return store_job_end(t->w->st, j->id, JOB_IGNORED,
					     "status matches no route");
		}
		*have = 1;
		return 0;
	}
	if (rc == ERR_NOMEM)
		return rc;
	snprintf(why, sizeof(why), "%s", e.message[0] ? e.message : err_str(rc));
	if (j->followup_of != 0)
		return followup_failed(t, c, j, degraded_kind(rc, &e), &e, why);
	if (rc == ERR_TRANSIENT &&
	    retry_allowed(j->attempts, c->max_attempts, now - j->received_ms, c->max_age)) {
		int64_t ra = retry_after_clamp(e.retry_after_s, c->retry_after_max);
		int64_t delay = retry_delay_ms(j->attempts, ra, next_rand(&t->rng));
		log_event(LOG_WARN, "matillion API failed, will retry", "error", why, NULL);
		metrics_retry();
		return store_job_retry(t->w->st, j->id,
				       retry_not_before(now, delay, j->received_ms, c->max_age),
				       why);
	}
	if (!c->degraded_notice) {
		log_event(LOG_ERROR, "matillion API failed, giving up", "error", why, NULL);
		metrics_dead_letter();
		return store_job_end(t->w->st, j->id, JOB_DEAD, why);
	}
	/* Post what the webhook told us rather than stay silent. */
	rc = degraded_notice(t, c, j, s, degraded_kind(rc, &e), why, promise);
	if (rc == 0)
		*have = 1;
	return rc;
}

/* One delivery of this attempt: its destination (NULL when no longer
 * configured), whether its payload was rendered now rather than read from
 * the store, whether its outcome also settles the job, and whether that
 * fresh payload is a degraded notice that promises the details. */
struct post {
	const struct destination *d;
	const struct delivery *dl;
	int fresh;
	int settle;
	int promise;
};

/* Step 3 when dl's destination is paused (a remote's Retry-After) or its
 * pacing wait is longer than a worker may sleep: the delivery is put back
 * for when a token is free, attempts not counted, and the worker moves on,
 * so one destination's pause never holds a worker or another destination.
 * A pause that outlasts the job's max_age gives the delivery up instead.
 * A payload rendered for this post is kept so the API is not asked again. */
static int post_later(struct wctx *t, const struct config *c, const struct job *j,
		      const struct post *p, int64_t wait_ms, const char *state)
{
	char why[80];
	struct dlv_outcome o = { .state = DLV_PENDING, .deferred = 1, .error = why };
	int64_t now = clock_wall_ms();

	o.payload = p->fresh ? p->dl->payload : NULL;
	o.promise = p->promise;
	o.not_before_ms = retry_not_before(now, wait_ms, j->received_ms, c->max_age);
	if (o.not_before_ms < retry_sat_add(now, wait_ms)) {
		snprintf(why, sizeof(why), "destination %s past max_age", state);
		o.state = DLV_DEAD;
		metrics_delivery(p->d->name, "dead");
		metrics_dead_letter();
		log_event(LOG_ERROR, "delivery given up", "destination", p->d->name, "error", why,
			  NULL);
	} else {
		snprintf(why, sizeof(why), "destination %s, next post in %llds", state,
			 (long long)(wait_ms / 1000 + 1));
		log_event(LOG_DEBUG, "delivery deferred", "destination", p->d->name, "reason", why,
			  NULL);
	}
	return store_delivery_record(t->w->st, j->id, p->d->name, &o, p->settle);
}

/* After a 429/503 with Retry-After (clamped to retry_after_max): every post
 * to this destination waits until then, visible in /metrics and /readyz. */
static void pause_destination(struct ratelimit *rl, const struct destination *d, int64_t ra_s)
{
	int64_t ms = retry_s_to_ms(ra_s);

	if (ra_s <= 0 || rl == NULL)
		return;
	ratelimit_pause_until(rl, retry_sat_add(clock_mono_ms(), ms));
	metrics_destination_paused(d->name, retry_sat_add(clock_wall_ms(), ms));
}

/* Step 3 for one delivery: pace, post, record the outcome. A payload
 * rendered for this post is stored only with a retry or dead outcome;
 * after a 2xx nothing needs it again. */
static int post_one(struct wctx *t, const struct config *c, const struct job *j,
		    const struct post *p)
{
	struct deliver_opts po = { NULL, NULL };
	char post_id[160];
	struct deliver_result r;
	struct dlv_outcome o = { .state = DLV_DEAD, .promise = p->promise };
	struct ratelimit *rl = pacer_for(t->w, p->d);
	int64_t now, wait, ra;
	int rc;

	if (rl != NULL) {
		wait = ratelimit_acquire_within(rl, PACE_SLEEP_MAX_MS);
		if (wait > PACE_SLEEP_MAX_MS)
			return post_later(t, c, j, p, wait, "paused");
	}
	snprintf(post_id, sizeof(post_id), "dpc-%lld-%s", (long long)j->id, p->d->name);
	po.secret = p->d->secret;
	po.post_id = post_id;
	/* A slack-app body is threaded under its incident (thread.h). */
	rc = thread_post(t->w->st, t->http, p->d, p->dl->payload, &po, &r);
	if (rc)
		return rc;
	now = clock_wall_ms();
	if (r.cls == DELIVER_OK) {
		/* Record first: until this commit a crash re-posts the message,
		 * so nothing else runs between the 2xx and it (the settle that
		 * may share the transaction is two small statements). */
		o.state = DLV_DELIVERED;
		o.message_id = r.message_id[0] ? r.message_id : NULL;
		/* Used only when the body promised details (now or when
		 * it was stored): the follow-up's first ask. */
		o.followup_at_ms =
			retry_sat_add(now, followup_delay_ms(1, c->max_age, next_rand(&t->rng)));
		rc = store_delivery_record(t->w->st, j->id, p->d->name, &o, p->settle);
		metrics_delivery(p->d->name, "ok");
		log_event(LOG_INFO, j->followup_of ? "follow-up delivered" : "delivered",
			  "destination", p->d->name, "result", r.detail, NULL);
		if (rc == 0 && j->followup_of)
			metrics_followup(MF_SENT);
		return rc;
	}
	o.error = r.detail;
	o.payload = p->fresh ? p->dl->payload : NULL;
	if (r.cls == DELIVER_RETRY &&
	    retry_allowed(p->dl->attempts + 1, c->max_attempts, now - j->received_ms, c->max_age)) {
		ra = retry_after_clamp(r.retry_after_s, c->retry_after_max);
		pause_destination(rl, p->d, ra);
		metrics_delivery(p->d->name, "retry");
		metrics_retry();
		log_event(LOG_WARN, "delivery failed, will retry", "destination", p->d->name,
			  "error", r.detail, NULL);
		o.state = DLV_PENDING;
		o.not_before_ms = retry_not_before(
			now, retry_delay_ms(p->dl->attempts + 1, ra, next_rand(&t->rng)),
			j->received_ms, c->max_age);
		return store_delivery_record(t->w->st, j->id, p->d->name, &o, p->settle);
	}
	metrics_delivery(p->d->name, "dead");
	metrics_dead_letter();
	log_event(LOG_ERROR, "delivery failed permanently", "destination", p->d->name, "error",
		  r.detail, NULL);
	return store_delivery_record(t->w->st, j->id, p->d->name, &o, p->settle);
}

/* ---- storm grouping ---- */

/* Whether the message rendered for s counts for storm grouping: a run's
 * own problem message (full or compact), not a recovery, a success, a
 * degraded notice (its follow-up belongs to it) or a follow-up. */
static int groupable(const struct job *j, const struct summary *s)
{
	return j->followup_of == 0 && j->kind != JOB_KIND_LONG_RUNNING && s->degraded == NULL &&
	       !s->is_test && s->status != ST_SUCCESS && s->status != ST_RUNNING &&
	       !(s->memory.known && s->memory.form == FORM_RECOVERY);
}

/* The storm gate for one problem message to d now (storm_admit()), with
 * d's window found or made by name. 0: post now. A full table (more
 * destinations than MAX_PACERS) posts now. */
static int64_t storm_gate(struct workers *w, const struct destination *d, int64_t now)
{
	int64_t until = 0;
	size_t i;

	if (d->group_threshold <= 0 || d->group_window_s <= 0 || d->target->render_group == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->n_storms; i++)
		if (strcmp(w->storms[i].name, d->name) == 0)
			break;
	if (i == w->n_storms && w->n_storms < MAX_PACERS) {
		memset(&w->storms[i], 0, sizeof(w->storms[i]));
		snprintf(w->storms[i].name, sizeof(w->storms[i].name), "%s", d->name);
		w->n_storms++;
	}
	if (i < w->n_storms)
		until = storm_admit(&w->storms[i].w, d->group_threshold,
				    (int64_t)d->group_window_s * 1000, now);
	pthread_mutex_unlock(&w->lock);
	return until;
}

/* Holds p's freshly rendered delivery back until until for its
 * destination's grouped message: its run's line and its own body are
 * kept with it (a group of one posts that body). Attempts not counted. */
static int hold_for_group(struct wctx *t, const struct job *j, const struct summary *s,
			  const struct post *p, const char *mention, int64_t until)
{
	char *item = group_item_encode(s, mention);
	struct dlv_outcome o = { .state = DLV_PENDING,
				 .deferred = 1,
				 .not_before_ms = until,
				 .error = "held for a grouped message (many problems at once)",
				 .payload = p->dl->payload,
				 .group_item = item };
	int rc;

	if (item == NULL)
		return ERR_NOMEM;
	rc = store_delivery_record(t->w->st, j->id, p->d->name, &o, p->settle);
	free(item);
	if (rc == 0) {
		metrics_grouped(MG_HELD, 1);
		log_event(LOG_INFO, "held for a grouped message", "destination", p->d->name, NULL);
	}
	return rc;
}

/* The body of a grouped message for the taken deliveries h[0..n): the
 * run's own message when it is alone (and was kept), else the target's
 * grouped rendering of every run's line. NULL on ERR_NOMEM. */
static char *group_body(const struct destination *d, const struct group_held *h, size_t n)
{
	const struct render_opts o = { .mention = NULL };
	struct group_item *items;
	char *body = NULL;
	size_t i;
	int rc = 0;

	if (n == 1 && h[0].payload != NULL)
		return strdup(h[0].payload);
	items = calloc(n, sizeof(*items));
	if (items == NULL)
		return NULL;
	for (i = 0; i < n && rc == 0; i++)
		rc = group_item_decode(h[i].item, &items[i]);
	if (rc == 0)
		body = d->target->render_group(items, n, &o);
	for (i = 0; i < n; i++)
		group_item_free(&items[i]);
	free(items);
	/* The result is a new string, not a pointer into o. */
	/* cppcheck-suppress returnDanglingLifetime */
	return body;
}

/* The outcome of posting a grouped message (as post_one() decides for
 * one delivery): retries while the most tried of its runs may, and never
 * past the oldest run's max_age. */
static void group_outcome(struct wctx *t, const struct config *c, const struct destination *d,
			  struct ratelimit *rl, const struct deliver_result *r,
			  const struct group_held *h, size_t n, struct dlv_outcome *o)
{
	int64_t now = clock_wall_ms(), oldest = h[0].received_ms, ra;
	int attempts = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (h[i].received_ms < oldest)
			oldest = h[i].received_ms;
		if (h[i].attempts > attempts)
			attempts = h[i].attempts;
	}
	o->error = r->detail;
	if (r->cls == DELIVER_OK) {
		o->state = DLV_DELIVERED;
		o->message_id = r->message_id[0] ? r->message_id : NULL;
		metrics_delivery(d->name, "ok");
		metrics_grouped(MG_SENT, 1);
		metrics_grouped(MG_RUNS, n);
		return;
	}
	if (r->cls == DELIVER_RETRY &&
	    retry_allowed(attempts + 1, c->max_attempts, now - oldest, c->max_age)) {
		ra = retry_after_clamp(r->retry_after_s, c->retry_after_max);
		pause_destination(rl, d, ra);
		metrics_delivery(d->name, "retry");
		metrics_retry();
		o->state = DLV_PENDING;
		o->not_before_ms =
			retry_not_before(now, retry_delay_ms(attempts + 1, ra, next_rand(&t->rng)),
					 oldest, c->max_age);
		return;
	}
	metrics_delivery(d->name, "dead");
	metrics_dead_letter();
	o->state = DLV_DEAD;
}

/* Posts the grouped message of d: takes every held delivery of d that is
 * due (store_group_take(), so one worker names them all), posts one
 * message naming them, and records its outcome for all of them in one
 * transaction. Called by any worker whose job has a due held delivery;
 * one that finds nothing left to take does nothing. */
static int flush_group(struct wctx *t, const struct config *c, const struct destination *d)
{
	struct deliver_opts po = { NULL, NULL };
	char post_id[160];
	struct group_held *h = NULL;
	struct dlv_outcome o = { .state = DLV_PENDING, .deferred = 1 };
	struct deliver_result r;
	struct ratelimit *rl = pacer_for(t->w, d);
	int64_t *ids = NULL, wait;
	char *body = NULL, runs[24];
	size_t n = 0, i;
	int64_t quiet = mute_windows_end(d->mute_windows, d->n_mute_windows, clock_wall_ms());
	int rc;

	rc = store_group_take(t->w->st, d->name, clock_wall_ms(), LEASE_MS, GROUP_TAKE_MAX, &h, &n);
	if (rc != 0 || n == 0)
		return rc;
	ids = calloc(n, sizeof(*ids));
	if (ids != NULL && quiet > 0) {
		/* In the destination's mute window: held on until it ends. */
		for (i = 0; i < n; i++)
			ids[i] = h[i].job_id;
		o.not_before_ms = quiet;
		o.error = "destination muted";
		rc = store_group_record(t->w->st, d->name, ids, n, &o);
		goto out;
	}
	body = ids ? group_body(d, h, n) : NULL;
	if (body == NULL) {
		/* Given back as taken: held again when the take's lease ends. */
		rc = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		ids[i] = h[i].job_id;
	wait = rl != NULL ? ratelimit_acquire_within(rl, PACE_SLEEP_MAX_MS) : 0;
	if (wait > PACE_SLEEP_MAX_MS) {
		/* Paused (a 429's Retry-After): held again until then. */
		o.not_before_ms = retry_sat_add(clock_wall_ms(), wait);
		o.error = "destination paused";
		rc = store_group_record(t->w->st, d->name, ids, n, &o);
		goto out;
	}
	/* One id for every post of this group (its oldest run's). */
	snprintf(post_id, sizeof(post_id), "dpc-g%lld-%s", (long long)ids[0], d->name);
	po.secret = d->secret;
	po.post_id = post_id;
	rc = thread_post(t->w->st, t->http, d, body, &po, &r);
	if (rc != 0) {
		o.not_before_ms = clock_wall_ms();
		o.error = err_str(rc);
		store_group_record(t->w->st, d->name, ids, n, &o);
		goto out;
	}
	group_outcome(t, c, d, rl, &r, h, n, &o);
	rc = store_group_record(t->w->st, d->name, ids, n, &o);
	snprintf(runs, sizeof(runs), "%zu", n);
	log_event(o.state == DLV_DELIVERED ? LOG_INFO : LOG_WARN,
		  o.state == DLV_DELIVERED ? "grouped message delivered"
		  : o.state == DLV_PENDING ? "grouped message failed, will retry"
					   : "grouped message failed permanently",
		  "destination", d->name, "runs", runs, "result", r.detail, NULL);
out:
	free(body);
	free(ids);
	store_group_free(h, n);
	return rc;
}

/* Whether this attempt records an outcome for dl: it is due, or its
 * destination is gone (then it is given up at once). */
static int acts_on(const struct config *c, const struct delivery *dl, int64_t now)
{
	return dl->not_before_ms <= now || config_destination(c, dl->dest) == NULL;
}

/* Whether dl is posted in this attempt and has no stored payload, so the
 * run's summary is needed to render it. */
static int needs_render(const struct config *c, const struct delivery *dl, int64_t now)
{
	return dl->payload == NULL && !dl->grouped && dl->not_before_ms <= now &&
	       config_destination(c, dl->dest) != NULL;
}

/* Renders delivery dl (p's; it has no stored payload) now: the body is
 * kept in dl and p marked fresh, so an outcome that is not a post
 * stores it. A follow-up's deliveries each complete the notice posted to
 * their own destination (follows_ms). 0 or ERR_NOMEM. */
static int render_fresh(const struct config *c, const struct job *j, const struct summary *s,
			int promise, struct delivery *dl, struct post *p)
{
	struct summary one = *s;

	one.follows_ms = dl->follows_ms;
	dl->payload = render_for(c, j, &one, p->d);
	if (dl->payload == NULL)
		return ERR_NOMEM;
	p->fresh = 1;
	p->promise = promise;
	return 0;
}

/* Whether dl is held for a grouped message of a configured destination:
 * when due, it is posted by flush_group(), not by this job. */
static int held(const struct config *c, const struct delivery *dl)
{
	return dl->grouped && config_destination(c, dl->dest) != NULL;
}

/* Whether delivery i's destination is left out by the run's own route.
 * Intake stored a delivery for each destination of every route the
 * webhook could not rule out (route_intake()); once the summary names the
 * environment and pipeline, a decided route keeps only its own. Nothing is
 * left out while the route is still open (a degraded notice for a webhook
 * without them goes to every open route), for a follow-up (it completes a
 * notice already posted), or when the route takes none of the job's
 * deliveries (the API contradicted the webhook): routing never silences a
 * run. */
static int unrouted(const struct config *c, const struct job *j, const struct summary *s,
		    const struct delivery *dl, size_t n, size_t i)
{
	int open = 1;
	const struct project *r = j->followup_of == 0 ? run_route(c, j, s, &open) : NULL;
	size_t k;

	if (r == NULL || open || route_has_destination(r, dl[i].dest))
		return 0;
	for (k = 0; k < n; k++)
		if (route_has_destination(r, dl[k].dest))
			return 1;
	return 0;
}

/* Steps 2 and 3 over every pending delivery that is due. The last outcome
 * recorded also settles the job (step 4), in the same transaction; *settled
 * says whether that happened. A fresh problem message passes its
 * destination's storm gate first and may be held back for the grouped
 * message; a due held one makes this worker post that grouped message. */
static int deliver_all(struct wctx *t, const struct config *c, struct job *j, struct delivery *dl,
		       size_t n, const struct summary *s, int promise, int64_t now, int *settled)
{
	struct dlv_outcome gone = { .state = DLV_DEAD,
				    .error = "destination no longer configured" };
	struct dlv_outcome other = { .state = DLV_DEAD,
				     .error =
					     "not routed: the run's route has other destinations" };
	size_t i, last = n;
	int rc = 0;

	*settled = 0;
	for (i = 0; i < n; i++)
		if (acts_on(c, &dl[i], now) && !held(c, &dl[i]))
			last = i;
	for (i = 0; i < n && rc == 0; i++) {
		struct post p = { config_destination(c, dl[i].dest), &dl[i], 0, i == last, 0 };
		int64_t until, quiet;
		if (!acts_on(c, &dl[i], now))
			continue;
		if (p.d == NULL) {
			rc = store_delivery_record(t->w->st, j->id, dl[i].dest, &gone, p.settle);
		} else if (dl[i].grouped) {
			rc = flush_group(t, c, p.d);
			continue; /* recorded by the flush; the job settles after */
		} else if (dl[i].payload == NULL && unrouted(c, j, s, dl, n, i)) {
			log_event(LOG_INFO, "not routed here", "destination", dl[i].dest, NULL);
			rc = store_delivery_record(t->w->st, j->id, dl[i].dest, &other, p.settle);
		} else if ((quiet = mute_windows_end(p.d->mute_windows, p.d->n_mute_windows, now)) >
				   0 &&
			   (dl[i].payload != NULL || !groupable(j, s))) {
			/* The destination's quiet hours: posted when they
			 * end (a problem message waits as part of the
			 * grouped message below, rendered first). */
			if (dl[i].payload == NULL &&
			    render_fresh(c, j, s, promise, &dl[i], &p) != 0)
				return ERR_NOMEM;
			rc = post_later(t, c, j, &p, quiet - now, "muted");
		} else {
			if (dl[i].payload == NULL) {
				struct summary one = *s;
				one.follows_ms = dl[i].follows_ms;
				if (render_fresh(c, j, s, promise, &dl[i], &p) != 0)
					return ERR_NOMEM;
				until = mute_windows_end(p.d->mute_windows, p.d->n_mute_windows,
							 now);
				if (until == 0 && groupable(j, &one))
					until = storm_gate(t->w, p.d, now);
				if (until > 0) {
					rc = hold_for_group(t, j, &one, &p,
							    mention_for(c, j, &one, p.d), until);
					if (rc == 0 && p.settle)
						*settled = 1;
					continue;
				}
			}
			rc = post_one(t, c, j, &p);
		}
		if (rc == 0 && p.settle)
			*settled = 1;
	}
	return rc;
}

/* A Slack button click (JOB_KIND_ACTION): carried out by act.c with this
 * thread's HTTP client and the shared Matillion client. */
static int run_action(struct wctx *t, const struct config *c, const struct job *j)
{
	struct client *cl = client_get(t->w, c);
	struct act_env e = { t->w->st, c, t->http, cl ? cl->dpc : NULL, next_rand(&t->rng) };
	int rc;

	if (cl == NULL)
		return ERR_NOMEM;
	rc = act_run(&e, j);
	client_put(t->w, cl);
	return rc;
}

static int run_job(struct wctx *t, struct job *j)
{
	const struct config *c = config_get(t->w->cfg);
	struct summary s;
	struct delivery *dl = NULL;
	size_t n = 0, i;
	int need = 0, have = 0, promise = 0, settled = 0, rc;
	int64_t now = clock_wall_ms();
	char id[24];

	memset(&s, 0, sizeof(s));
	snprintf(id, sizeof(id), "%lld", (long long)j->id);
	log_context(id, j->ev.execution_id);
	rc = thread_http(t, c);
	if (rc == 0 && j->kind == JOB_KIND_ACTION) {
		rc = run_action(t, c, j);
		goto out;
	}
	if (rc == 0)
		rc = store_deliveries(t->w->st, j->id, &dl, &n);
	if (rc)
		goto out;
	for (i = 0; i < n; i++)
		if (needs_render(c, &dl[i], now))
			need = 1;
	if (need) {
		rc = build_summary(t, c, j, &s, &have, &promise);
		if (rc || !have)
			goto out;
	}
	rc = deliver_all(t, c, j, dl, n, &s, promise, now, &settled);
	if (rc == 0 && !settled)
		rc = store_job_settle(t->w->st, j->id);
out:
	if (rc)
		log_event(LOG_ERROR, "job failed", "error", err_str(rc), NULL);
	summary_free(&s);
	store_deliveries_free(dl, n);
	config_put(t->w->cfg, c);
	log_context(NULL, NULL);
	return rc;
}

/* run_job() failed part way (store write failed: disk full, read-only;
 * or out of memory), leaving the job running under a lease that would keep
 * it idle for LEASE_MS. Hands it back as queued after a backoff instead,
 * retrying that write until the store takes it or shutdown, when the next
 * start re-queues it anyway. Deliveries already recorded stay recorded. */
static void job_give_back(struct wctx *t, const struct job *j, int err)
{
	struct workers *w = t->w;
	int64_t delay = retry_delay_ms(j->attempts, -1, next_rand(&t->rng));
	int rc;

	while (!atomic_load(&w->stop)) {
		rc = store_job_retry(w->st, j->id, clock_wall_ms() + delay, err_str(err));
		if (rc == 0 || rc == ERR_NOTFOUND)
			return;
		store_wait(w->st, 1000);
	}
}

/* Logs a failed claim once when the store starts failing (or fails
 * differently) and once when claims work again, rather than every second
 * of an outage. ERR_NOTFOUND (nothing ready) is not a failure. */
static void claim_note(struct wctx *t, int rc)
{
	if (rc == ERR_NOTFOUND)
		rc = 0;
	if (rc == t->claim_rc)
		return;
	if (rc)
		log_event(LOG_ERROR, "worker: claim failed, retrying each second", "error",
			  err_str(rc), NULL);
	else
		log_event(LOG_INFO, "worker: claim works again", NULL);
	t->claim_rc = rc;
}

static void *thread_main(void *arg)
{
	struct wctx *t = arg;
	struct workers *w = t->w;
	struct job j;

	atomic_fetch_add(&w->alive, 1);
	while (!atomic_load(&w->stop)) {
		int rc = store_claim(w->st, clock_wall_ms(), LEASE_MS, &j);
		claim_note(t, rc);
		if (rc) {
			/* Nothing ready, or the store failed: it is asked again
			 * each second until it recovers. */
			store_wait(w->st, 1000);
			continue;
		}
		atomic_fetch_add(&w->busy, 1);
		rc = run_job(t, &j);
		if (rc)
			job_give_back(t, &j, rc);
		atomic_fetch_sub(&w->busy, 1);
	}
	atomic_fetch_sub(&w->alive, 1);
	httpc_free(t->http);
	free_key(t->http_key);
	free(t);
	return NULL;
}

struct workers *workers_start(struct config_holder *cfg, struct store *st)
{
	const struct config *c = config_get(cfg);
	struct workers *w = calloc(1, sizeof(*w));
	int i;

	if (w == NULL)
		goto fail;
	w->cfg = cfg;
	w->st = st;
	pthread_mutex_init(&w->lock, NULL);
	w->threads = calloc((size_t)c->workers, sizeof(*w->threads));
	if (w->threads == NULL)
		goto fail;
	for (i = 0; i < c->workers; i++) {
		struct wctx *t = calloc(1, sizeof(*t));
		if (t == NULL)
			goto fail;
		t->w = w;
		t->rng = ((uint64_t)time(NULL) << 16) ^ (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
		if (pthread_create(&w->threads[i], NULL, thread_main, t) != 0) {
			free(t);
			goto fail;
		}
		w->n++;
	}
	config_put(cfg, c);
	return w;
fail:
	config_put(cfg, c);
	workers_stop(w, 5); /* idle threads leave within 1 s */
	return NULL;
}

int workers_running(void *arg)
{
	struct workers *w = arg;

	return w != NULL && !atomic_load(&w->stop) && atomic_load(&w->alive) == w->n;
}

int workers_stop(struct workers *w, int grace_s)
{
	int64_t deadline;
	int i, left;

	if (w == NULL)
		return 0;
	atomic_store(&w->stop, 1);
	deadline = clock_mono_ms() + (int64_t)grace_s * 1000;
	/* Running jobs finish; idle threads leave their wait within 1 s. */
	while (atomic_load(&w->alive) > 0 && clock_mono_ms() < deadline) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };
		store_wake(w->st);
		nanosleep(&ts, NULL);
	}
	left = atomic_load(&w->alive);
	if (left > 0) {
		/* A job still in flight keeps its "running" row; the next start
		 * re-queues it. The threads and w stay alive for the caller to
		 * exit around them. */
		for (i = 0; i < w->n; i++)
			pthread_detach(w->threads[i]);
		return left;
	}
	for (i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	client_unref(w->client);
	for (i = 0; i < (int)w->n_pacers; i++)
		ratelimit_free(w->pacers[i].rl);
	pthread_mutex_destroy(&w->lock);
	free(w->threads);
	free(w);
	return 0;
}

struct dpc *workers_dpc_get(struct workers *w, const struct config *c, void **ref)
{
	struct client *cl = client_get(w, c);

	*ref = cl;
	return cl != NULL ? cl->dpc : NULL;
}

void workers_dpc_put(struct workers *w, void *ref)
{
	if (ref != NULL)
		client_put(w, ref);
}
