/* Process-wide metrics and their Prometheus text exposition (format 0.0.4).
 * The header exposes free functions with no context, so the counters are
 * this file's process-wide state: lock-free atomics for fixed label sets, and
 * a small mutex-protected table for per-destination series. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "metrics.h"

#ifndef DPC_VERSION
#define DPC_VERSION "0.0.0-dev"
#endif

/* Per-destination series are capped so a misconfiguration cannot grow
 * memory; names beyond the cap are counted under OVERFLOW_DEST. */
#define MAX_DESTS 64
#define DEST_NAME_MAX 128
#define OVERFLOW_DEST "_other"
/* The rendered text never grows beyond this. */
#define RENDER_MAX (1024 * 1024)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *const metric_webhook_names[MW__MAX] = {
	[MW_ACCEPTED] = "accepted",       [MW_DUPLICATE] = "duplicate",
	[MW_IGNORED] = "ignored",         [MW_UNAUTHORIZED] = "unauthorized",
	[MW_BAD_REQUEST] = "bad_request", [MW_TOO_LARGE] = "too_large",
	[MW_UNSUPPORTED] = "unsupported", [MW_UNPROCESSABLE] = "unprocessable",
	[MW_UNAVAILABLE] = "unavailable", [MW_NUDGE] = "nudge",
};

static const double bucket_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define N_BUCKETS (NELEM(bucket_le) + 1) /* + the +Inf bucket */

static const struct {
	const char *name;
	const char *help;
} hist_info[MH__MAX] = {
	[MH_API_LATENCY] = { "dpc_notify_matillion_request_duration_seconds",
			     "Duration of Matillion API requests." },
	[MH_CHAT_LATENCY] = { "dpc_notify_chat_post_duration_seconds",
			      "Duration of Slack/Teams webhook posts." },
	[MH_STORE_COMMIT] = { "dpc_notify_store_commit_duration_seconds",
			      "Duration of store commits." },
};

/* Per-bucket (not cumulative) counts; the sum is kept in nanoseconds so it
 * can be an integer atomic. */
struct hist {
	atomic_uint_fast64_t bucket[N_BUCKETS];
	atomic_uint_fast64_t sum_ns;
};

enum api_class { AC_2XX, AC_3XX, AC_4XX, AC_429, AC_5XX, AC_ERROR, AC__MAX };
static const char *const api_class_names[AC__MAX] = {
	"2xx", "3xx", "4xx", "429", "5xx", "error",
};

enum dlv_result { DR_OK, DR_RETRY, DR_DEAD, DR__MAX };
static const char *const dlv_result_names[DR__MAX] = { "ok", "retry", "dead" };

struct dest_row {
	char name[DEST_NAME_MAX];
	uint64_t count[DR__MAX];
	int64_t paused_until_ms; /* unix ms a Retry-After pause ends; 0 when none */
	uint64_t updates[2];     /* incident messages edited in place: failed, ok */
};

static atomic_uint_fast64_t webhooks[MW__MAX];
static struct hist hists[MH__MAX];
static atomic_uint_fast64_t api_calls[AC__MAX];
static atomic_uint_fast64_t retries;
static atomic_uint_fast64_t dead_letters;
static atomic_uint_fast64_t followups[MF__MAX];
static atomic_uint_fast64_t interactions[MI__MAX];
const char *const metric_interaction_names[MI__MAX] = {
	[MI_ACCEPTED] = "accepted",           [MI_DUPLICATE] = "duplicate",
	[MI_MISSING] = "missing_signature",   [MI_STALE] = "stale",
	[MI_BAD_SIGNATURE] = "bad_signature", [MI_BAD_REQUEST] = "bad_request",
	[MI_UNAVAILABLE] = "unavailable",     [MI_IGNORED] = "ignored",
};

const char *const metric_followup_names[MF__MAX] = { [MF_SENT] = "sent", [MF_GAVE_UP] = "gave_up" };
static atomic_uint_fast64_t memory_outcomes[MM__MAX];
const char *const metric_memory_names[MM__MAX] = {
	[MM_FULL] = "full",
	[MM_COMPACT] = "compact",
	[MM_RECOVERY] = "recovery",
	[MM_REPEAT] = "held_repeat",
	[MM_FLAKY] = "held_flaky",
	[MM_SILENCED] = "held_silence",
	[MM_RECORDED] = "recorded",
	[MM_DUPLICATE] = "duplicate",
	[MM_TRIGGER] = "trigger_excluded",
};
static atomic_uint_fast64_t grouped[MG__MAX];
static atomic_uint_fast64_t slack_updates[2]; /* failed, ok */
static const char *const metric_group_names
	[MG__MAX] = { [MG_HELD] = "held", [MG_SENT] = "sent", [MG_RUNS] = "runs" };
static pthread_mutex_t dest_lock = PTHREAD_MUTEX_INITIALIZER;
static struct dest_row dests[MAX_DESTS + 1]; /* last row: OVERFLOW_DEST */
static size_t n_dests;
static time_t start_time;
/* The last config load; its own lock, as the hash is a string. */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int loaded; /* 0 until the first metrics_config_loaded() */
	int ok;
	int64_t at_s;
	char hash[METRICS_HASH_MAX];
} config_state;

/* Start time is taken when the program loads rather than on first use, so
 * it is the process start even if nothing is counted for a while. */
__attribute__((constructor)) static void metrics_start(void)
{
	start_time = time(NULL);
}

void metrics_webhook(enum metric_webhook outcome)
{
	if ((unsigned)outcome < MW__MAX)
		atomic_fetch_add_explicit(&webhooks[outcome], 1, memory_order_relaxed);
}

void metrics_observe(enum metric_hist h, double seconds)
{
	size_t b = 0;

	if ((unsigned)h >= MH__MAX || isnan(seconds))
		return;
	if (seconds < 0)
		seconds = 0;
	while (b < NELEM(bucket_le) && seconds > bucket_le[b])
		b++;
	atomic_fetch_add_explicit(&hists[h].bucket[b], 1, memory_order_relaxed);
	/* Cap at a day so one absurd value cannot overflow the sum. */
	if (seconds > 86400)
		seconds = 86400;
	atomic_fetch_add_explicit(&hists[h].sum_ns, (uint_fast64_t)(seconds * 1e9),
				  memory_order_relaxed);
}

void metrics_api_call(long http_status)
{
	enum api_class c;

	if (http_status == 429)
		c = AC_429;
	else if (http_status >= 200 && http_status < 300)
		c = AC_2XX;
	else if (http_status >= 300 && http_status < 400)
		c = AC_3XX;
	else if (http_status >= 400 && http_status < 500)
		c = AC_4XX;
	else if (http_status >= 500 && http_status < 600)
		c = AC_5XX;
	else
		c = AC_ERROR;
	atomic_fetch_add_explicit(&api_calls[c], 1, memory_order_relaxed);
}

/* The row for name, adding it while there is room; caller holds dest_lock. */
static struct dest_row *dest_row(const char *name)
{
	size_t i, n = strlen(name);

	if (n < DEST_NAME_MAX) {
		for (i = 0; i < n_dests; i++)
			if (strcmp(dests[i].name, name) == 0)
				return &dests[i];
		if (n_dests < MAX_DESTS) {
			memcpy(dests[n_dests].name, name, n + 1);
			return &dests[n_dests++];
		}
	}
	if (dests[MAX_DESTS].name[0] == '\0')
		memcpy(dests[MAX_DESTS].name, OVERFLOW_DEST, sizeof(OVERFLOW_DEST));
	return &dests[MAX_DESTS];
}

void metrics_delivery(const char *dest, const char *result)
{
	size_t r;

	if (dest == NULL || result == NULL)
		return;
	for (r = 0; r < DR__MAX; r++)
		if (strcmp(result, dlv_result_names[r]) == 0)
			break;
	if (r == DR__MAX)
		return;
	pthread_mutex_lock(&dest_lock);
	dest_row(dest)->count[r]++;
	pthread_mutex_unlock(&dest_lock);
}

void metrics_destination_paused(const char *dest, int64_t until_unix_ms)
{
	struct dest_row *d;

	if (dest == NULL)
		return;
	pthread_mutex_lock(&dest_lock);
	d = dest_row(dest);
	if (until_unix_ms > d->paused_until_ms)
		d->paused_until_ms = until_unix_ms;
	pthread_mutex_unlock(&dest_lock);
}

/* Whole seconds left of d's pause at now_ms, rounded up; 0 when none. */
static int64_t pause_left_s(const struct dest_row *d, int64_t now_ms)
{
	int64_t ms = d->paused_until_ms - now_ms;

	return ms > 0 ? ms / 1000 + (ms % 1000 != 0) : 0;
}

size_t metrics_paused_json(char *buf, size_t len, int64_t min_s)
{
	int64_t now = clock_wall_ms();
	size_t i, used = 0;
	int n;

	if (buf == NULL || len < 3)
		return 0;
	buf[used++] = '{';
	pthread_mutex_lock(&dest_lock);
	for (i = 0; i <= MAX_DESTS; i++) {
		int64_t left = pause_left_s(&dests[i], now);

		if (dests[i].name[0] == '\0' || left <= 0 || left < min_s)
			continue;
		/* Names are config names ([A-Za-z0-9._:-]) or OVERFLOW_DEST:
		 * nothing in them needs JSON escaping. */
		n = snprintf(buf + used, len - used, "%s\"%s\":%lld", used > 1 ? "," : "",
			     dests[i].name, (long long)left);
		if (n < 0 || (size_t)n >= len - used - 1)
			break; /* no room: what fits is enough for a probe */
		used += (size_t)n;
	}
	pthread_mutex_unlock(&dest_lock);
	buf[used++] = '}';
	buf[used] = '\0';
	return used;
}

void metrics_retry(void)
{
	atomic_fetch_add_explicit(&retries, 1, memory_order_relaxed);
}

void metrics_dead_letter(void)
{
	atomic_fetch_add_explicit(&dead_letters, 1, memory_order_relaxed);
}

static atomic_int_fast64_t open_incidents = -1;

void metrics_open_incidents(int64_t n)
{
	atomic_store(&open_incidents, n);
}

void metrics_memory(enum metric_memory outcome)
{
	if ((unsigned)outcome < MM__MAX)
		atomic_fetch_add_explicit(&memory_outcomes[outcome], 1, memory_order_relaxed);
}

void metrics_interaction(enum metric_interaction result)
{
	if ((unsigned)result < MI__MAX)
		atomic_fetch_add_explicit(&interactions[result], 1, memory_order_relaxed);
}

void metrics_followup(enum metric_followup result)
{
	if ((unsigned)result < MF__MAX)
		atomic_fetch_add_explicit(&followups[result], 1, memory_order_relaxed);
}

void metrics_grouped(enum metric_group event, uint64_t n)
{
	if ((unsigned)event < MG__MAX)
		atomic_fetch_add_explicit(&grouped[event], n, memory_order_relaxed);
}

void metrics_message_update(const char *dest, int ok)
{
	if (dest == NULL)
		return;
	pthread_mutex_lock(&dest_lock);
	dest_row(dest)->updates[ok != 0]++;
	pthread_mutex_unlock(&dest_lock);
}

void metrics_slack_update(int ok)
{
	atomic_fetch_add_explicit(&slack_updates[ok != 0], 1, memory_order_relaxed);
}

/* A bounded, growing output buffer; once it fails it stays failed. */
struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	size_t need, ncap;
	char *nb;
	int n;

	if (o->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto fail;
	need = o->len + (size_t)n + 1;
	if (need <= o->cap) {
		o->len += (size_t)n;
		return;
	}
	ncap = o->cap * 2 > need ? o->cap * 2 : need;
	if (ncap > RENDER_MAX)
		goto fail;
	nb = realloc(o->buf, ncap);
	if (nb == NULL)
		goto fail;
	o->buf = nb;
	o->cap = ncap;
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
	return;
fail:
	o->failed = 1;
}

/* Writes s as a label value: backslash, double quote and newline escaped. */
static void put_label(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(o, "\\\\");
		else if (*s == '"')
			put(o, "\\\"");
		else if (*s == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *s);
	}
}

static void put_head(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_webhooks(struct out *o)
{
	size_t i;

	put_head(o, "dpc_notify_webhooks_total", "counter", "Webhooks received, by outcome.");
	for (i = 0; i < MW__MAX; i++)
		put(o, "dpc_notify_webhooks_total{outcome=\"%s\"} %llu\n", metric_webhook_names[i],
		    (unsigned long long)atomic_load(&webhooks[i]));
}

static void render_jobs(struct out *o, const char *const *names, const int64_t *counts, size_t n)
{
	size_t i;

	put_head(o, "dpc_notify_jobs", "gauge", "Jobs in the store, by state.");
	for (i = 0; i < n; i++) {
		if (names == NULL || counts == NULL || names[i] == NULL)
			continue;
		put(o, "dpc_notify_jobs{state=\"");
		put_label(o, names[i]);
		put(o, "\"} %lld\n", (long long)counts[i]);
	}
}

static void put_dest(struct out *o, const struct dest_row *d)
{
	size_t r;

	for (r = 0; r < DR__MAX; r++) {
		put(o, "dpc_notify_deliveries_total{destination=\"");
		put_label(o, d->name);
		put(o, "\",result=\"%s\"} %llu\n", dlv_result_names[r],
		    (unsigned long long)d->count[r]);
	}
}

static void put_pause(struct out *o, const struct dest_row *d, int64_t now_ms)
{
	put(o, "dpc_notify_destination_paused_seconds{destination=\"");
	put_label(o, d->name);
	put(o, "\"} %lld\n", (long long)pause_left_s(d, now_ms));
}

/* A destination's edits in place, once it has had one. */
static void put_updates(struct out *o, const struct dest_row *d)
{
	int ok;

	if (d->updates[0] + d->updates[1] == 0)
		return;
	for (ok = 1; ok >= 0; ok--) {
		put(o, "dpc_notify_message_updates_total{destination=\"");
		put_label(o, d->name);
		put(o, "\",result=\"%s\"} %llu\n", ok ? "ok" : "failed",
		    (unsigned long long)d->updates[ok]);
	}
}

static void render_deliveries(struct out *o)
{
	int64_t now = clock_wall_ms();
	size_t i;

	put_head(o, "dpc_notify_deliveries_total", "counter",
		 "Delivery attempts, by destination name and result.");
	pthread_mutex_lock(&dest_lock);
	for (i = 0; i < n_dests; i++)
		put_dest(o, &dests[i]);
	if (dests[MAX_DESTS].name[0])
		put_dest(o, &dests[MAX_DESTS]);
	put_head(o, "dpc_notify_destination_paused_seconds", "gauge",
		 "Seconds left of a destination's pause after a 429 Retry-After (0: not paused).");
	for (i = 0; i < n_dests; i++)
		put_pause(o, &dests[i], now);
	if (dests[MAX_DESTS].name[0])
		put_pause(o, &dests[MAX_DESTS], now);
	put_head(o, "dpc_notify_message_updates_total", "counter",
		 "Incident messages edited in place as resolved (slack-app, discord), by"
		 " destination and result.");
	for (i = 0; i <= MAX_DESTS; i++)
		put_updates(o, &dests[i]);
	pthread_mutex_unlock(&dest_lock);
}

static void render_counters(struct out *o)
{
	size_t i;

	put_head(o, "dpc_notify_retries_total", "counter", "Delivery or job retries scheduled.");
	put(o, "dpc_notify_retries_total %llu\n", (unsigned long long)atomic_load(&retries));
	put_head(o, "dpc_notify_dead_letters_total", "counter", "Jobs or deliveries given up on.");
	put(o, "dpc_notify_dead_letters_total %llu\n",
	    (unsigned long long)atomic_load(&dead_letters));
	put_head(o, "dpc_notify_followups_total", "counter",
		 "Follow-ups of degraded notices: sent (per destination) or gave up.");
	for (i = 0; i < MF__MAX; i++)
		put(o, "dpc_notify_followups_total{result=\"%s\"} %llu\n", metric_followup_names[i],
		    (unsigned long long)atomic_load(&followups[i]));
	put_head(o, "dpc_notify_interactions_total", "counter",
		 "Slack button clicks received, by result (interactivity endpoint).");
	for (i = 0; i < MI__MAX; i++)
		put(o, "dpc_notify_interactions_total{result=\"%s\"} %llu\n",
		    metric_interaction_names[i], (unsigned long long)atomic_load(&interactions[i]));
	if (atomic_load(&open_incidents) >= 0) {
		put_head(o, "dpc_notify_open_incidents", "gauge",
			 "Pipelines with an open incident (run memory).");
		put(o, "dpc_notify_open_incidents %lld\n", (long long)atomic_load(&open_incidents));
	}
	put_head(o, "dpc_notify_run_memory_total", "counter",
		 "Finished runs by what run memory made of them (posted, held back, recorded).");
	for (i = 0; i < MM__MAX; i++)
		put(o, "dpc_notify_run_memory_total{outcome=\"%s\"} %llu\n", metric_memory_names[i],
		    (unsigned long long)atomic_load(&memory_outcomes[i]));
	put_head(
		o, "dpc_notify_grouped_total", "counter",
		"Storm grouping: problem messages held back, grouped messages sent, runs they named.");
	for (i = 0; i < MG__MAX; i++)
		put(o, "dpc_notify_grouped_total{event=\"%s\"} %llu\n", metric_group_names[i],
		    (unsigned long long)atomic_load(&grouped[i]));
	put_head(o, "dpc_notify_slack_updates_total", "counter",
		 "Slack app: incident parents rewritten as resolved (chat.update), or failed.");
	put(o, "dpc_notify_slack_updates_total{result=\"ok\"} %llu\n",
	    (unsigned long long)atomic_load(&slack_updates[1]));
	put(o, "dpc_notify_slack_updates_total{result=\"failed\"} %llu\n",
	    (unsigned long long)atomic_load(&slack_updates[0]));
	put_head(o, "dpc_notify_matillion_requests_total", "counter",
		 "Matillion API requests, by HTTP status class.");
	for (i = 0; i < AC__MAX; i++)
		put(o, "dpc_notify_matillion_requests_total{code=\"%s\"} %llu\n",
		    api_class_names[i], (unsigned long long)atomic_load(&api_calls[i]));
}

static void render_hist(struct out *o, enum metric_hist h)
{
	const char *name = hist_info[h].name;
	unsigned long long cum = 0;
	size_t b;

	put_head(o, name, "histogram", hist_info[h].help);
	for (b = 0; b < N_BUCKETS; b++) {
		cum += (unsigned long long)atomic_load(&hists[h].bucket[b]);
		if (b < NELEM(bucket_le))
			put(o, "%s_bucket{le=\"%g\"} %llu\n", name, bucket_le[b], cum);
		else
			put(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, cum);
	}
	put(o, "%s_sum %.9f\n", name, (double)atomic_load(&hists[h].sum_ns) / 1e9);
	put(o, "%s_count %llu\n", name, cum);
}

void metrics_config_loaded(int ok, int64_t unix_s, const char *hash)
{
	size_t i;

	pthread_mutex_lock(&config_lock);
	config_state.loaded = 1;
	config_state.ok = ok != 0;
	config_state.at_s = unix_s;
	if (hash != NULL) {
		/* Only hex goes into the label: it needs no escaping. */
		for (i = 0; i + 1 < sizeof(config_state.hash) && hash[i] != '\0' &&
			    strchr("0123456789abcdef", hash[i]) != NULL;
		     i++)
			config_state.hash[i] = hash[i];
		config_state.hash[i] = '\0';
	}
	pthread_mutex_unlock(&config_lock);
}

static void render_config(struct out *o)
{
	pthread_mutex_lock(&config_lock);
	if (config_state.loaded) {
		put_head(o, "dpc_notify_config_last_reload_success", "gauge",
			 "1 when the last config load (start, SIGHUP, /-/reload) succeeded.");
		put(o, "dpc_notify_config_last_reload_success %d\n", config_state.ok);
		put_head(o, "dpc_notify_config_last_reload_timestamp_seconds", "gauge",
			 "Time of the last config load attempt, unix seconds.");
		put(o, "dpc_notify_config_last_reload_timestamp_seconds %lld\n",
		    (long long)config_state.at_s);
		put_head(o, "dpc_notify_config_info", "gauge",
			 "The config in effect, by a short SHA-256 of its file; always 1.");
		put(o, "dpc_notify_config_info{hash=\"%s\"} 1\n", config_state.hash);
	}
	pthread_mutex_unlock(&config_lock);
}

static void render_process(struct out *o)
{
	put_head(o, "dpc_notify_build_info", "gauge", "Build information; the value is always 1.");
	put(o, "dpc_notify_build_info{version=\"");
	put_label(o, DPC_VERSION);
	put(o, "\"} 1\n");
	put_head(o, "process_start_time_seconds", "gauge",
		 "Start time of the process, unix seconds.");
	put(o, "process_start_time_seconds %lld\n", (long long)start_time);
}

/* ---- reconciliation by polling ---- */

const char *const metric_source_names[MS__MAX] = { [MS_WEBHOOK] = "webhook", [MS_POLL] = "poll" };
const char *const metric_poll_names[MP__MAX] = { [MP_COMPLETE] = "complete",
						 [MP_PARTIAL] = "partial",
						 [MP_FAILED] = "failed" };
static atomic_uint_fast64_t run_sources[MS__MAX];
static atomic_uint_fast64_t poll_cycles[MP__MAX];
static atomic_uint_fast64_t poll_calls;
/* The poller's calls per second of the last minute: slot s % 60 holds
 * the count of second s (poll_sec says which second it is). */
static pthread_mutex_t poll_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t poll_slot[60];
static int64_t poll_sec[60];

void metrics_run_source(enum metric_source src)
{
	if ((unsigned)src < MS__MAX)
		atomic_fetch_add(&run_sources[src], 1);
}

void metrics_poll_cycle(enum metric_poll result)
{
	if ((unsigned)result < MP__MAX)
		atomic_fetch_add(&poll_cycles[result], 1);
}

void metrics_poll_calls(int n)
{
	int64_t sec = clock_mono_ms() / 1000;
	size_t i = (size_t)(sec % 60);

	if (n <= 0)
		return;
	atomic_fetch_add(&poll_calls, (uint64_t)n);
	pthread_mutex_lock(&poll_lock);
	if (poll_sec[i] != sec) {
		poll_sec[i] = sec;
		poll_slot[i] = 0;
	}
	poll_slot[i] += (uint64_t)n;
	pthread_mutex_unlock(&poll_lock);
}

static uint64_t poll_last_minute(void)
{
	int64_t sec = clock_mono_ms() / 1000;
	uint64_t sum = 0;
	size_t i;

	pthread_mutex_lock(&poll_lock);
	for (i = 0; i < 60; i++)
		if (poll_slot[i] > 0 && sec - poll_sec[i] < 60)
			sum += poll_slot[i];
	pthread_mutex_unlock(&poll_lock);
	return sum;
}

static void render_poll(struct out *o)
{
	size_t i;

	put_head(o, "dpc_notify_runs_total", "counter",
		 "Runs stored for notification, by where they were first heard of (a run found"
		 " by polling is one whose webhook did not come).");
	for (i = 0; i < MS__MAX; i++)
		put(o, "dpc_notify_runs_total{source=\"%s\"} %llu\n", metric_source_names[i],
		    (unsigned long long)atomic_load(&run_sources[i]));
	put_head(o, "dpc_notify_poll_cycles_total", "counter",
		 "Reconciliations of one project: complete, partial (budget or 429; resumed"
		 " next cycle) or failed.");
	for (i = 0; i < MP__MAX; i++)
		put(o, "dpc_notify_poll_cycles_total{result=\"%s\"} %llu\n", metric_poll_names[i],
		    (unsigned long long)atomic_load(&poll_cycles[i]));
	put_head(o, "dpc_notify_poll_api_calls_total", "counter",
		 "Matillion API calls made by the poller.");
	put(o, "dpc_notify_poll_api_calls_total %llu\n",
	    (unsigned long long)atomic_load(&poll_calls));
	put_head(o, "dpc_notify_poll_api_calls_last_minute", "gauge",
		 "Matillion API calls made by the poller in the last 60 seconds.");
	put(o, "dpc_notify_poll_api_calls_last_minute %llu\n",
	    (unsigned long long)poll_last_minute());
}

char *metrics_render(const char *const *job_state_names, const int64_t *job_counts, size_t n_states)
{
	struct out o = { NULL, 0, 4096, 0 };
	size_t h;

	o.buf = malloc(o.cap);
	if (o.buf == NULL)
		return NULL;
	o.buf[0] = '\0';
	render_webhooks(&o);
	render_jobs(&o, job_state_names, job_counts, n_states);
	render_deliveries(&o);
	render_counters(&o);
	for (h = 0; h < MH__MAX; h++)
		render_hist(&o, (enum metric_hist)h);
	render_config(&o);
	render_poll(&o);
	render_process(&o);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	return o.buf;
}
