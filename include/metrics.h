/* Process metrics in Prometheus text format. Counters are atomic; label sets
 * are fixed enums, except per-destination series which are keyed by
 * destination name (never its URL). */
#ifndef DPC_METRICS_H
#define DPC_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum metric_webhook { /* dpc_notify_webhooks_total{outcome} */
		      MW_ACCEPTED,
		      MW_DUPLICATE,
		      MW_IGNORED,
		      MW_UNAUTHORIZED,
		      MW_BAD_REQUEST,
		      MW_TOO_LARGE,
		      MW_UNSUPPORTED,
		      MW_UNPROCESSABLE,
		      MW_UNAVAILABLE,
		      MW_NUDGE, /* no run named: answered 202 with a reconciliation */
		      MW__MAX
};
extern const char *const metric_webhook_names[MW__MAX];

enum metric_hist {                  /* histograms, seconds */
		   MH_API_LATENCY,  /* dpc_notify_matillion_request_duration_seconds */
		   MH_CHAT_LATENCY, /* dpc_notify_chat_post_duration_seconds */
		   MH_STORE_COMMIT, /* dpc_notify_store_commit_duration_seconds */
		   MH__MAX
};

void metrics_webhook(enum metric_webhook outcome);
void metrics_observe(enum metric_hist h, double seconds);
/* Matillion API calls by HTTP status class ("2xx", "4xx", "429", "5xx", "error"). */
void metrics_api_call(long http_status);
/* Delivery outcome for a destination: result is "ok", "retry" or "dead". */
void metrics_delivery(const char *dest, const char *result);
/* A destination paused by a remote's Retry-After until until_unix_ms
 * (already clamped); a shorter pause than the current one changes nothing. */
void metrics_destination_paused(const char *dest, int64_t until_unix_ms);
/* Writes the destinations paused for at least min_s more seconds as a JSON
 * object {"name": seconds_left, ...} into buf (for /readyz). Returns the
 * length written; what does not fit in len is left out. */
size_t metrics_paused_json(char *buf, size_t len, int64_t min_s);
void metrics_retry(void);
void metrics_dead_letter(void);

enum metric_followup {             /* dpc_notify_followups_total{result} */
		       MF_SENT,    /* a follow-up delivered to one destination */
		       MF_GAVE_UP, /* a follow-up ended at max_age (or the API
				    * failure turned final) without a message */
		       MF__MAX
};
extern const char *const metric_followup_names[MF__MAX];
void metrics_followup(enum metric_followup result);

enum metric_interaction {                   /* dpc_notify_interactions_total{result} */
			  MI_ACCEPTED,      /* a Slack click stored (200) */
			  MI_DUPLICATE,     /* Slack's retry of a stored click (200) */
			  MI_MISSING,       /* no signature or timestamp (401) */
			  MI_STALE,         /* timestamp unreadable or too far off (401) */
			  MI_BAD_SIGNATURE, /* signature wrong or malformed (401) */
			  MI_BAD_REQUEST,   /* not a click of ours, too large, wrong type (4xx) */
			  MI_UNAVAILABLE,   /* the store could not keep it (503) */
			  MI_IGNORED,       /* a click on a link button, not ours (200) */
			  MI__MAX
};
extern const char *const metric_interaction_names[MI__MAX];
void metrics_interaction(enum metric_interaction result);

enum metric_memory {               /* dpc_notify_run_memory_total{outcome} */
		     MM_FULL,      /* a full message */
		     MM_COMPACT,   /* a compact "failed again" line */
		     MM_RECOVERY,  /* a recovery */
		     MM_REPEAT,    /* held back: a repeat (on_repeat = silent) */
		     MM_FLAKY,     /* held back: below notify_after */
		     MM_SILENCED,  /* held back: a silence or mute window */
		     MM_RECORDED,  /* only remembered (not routed, late, other status) */
		     MM_DUPLICATE, /* already remembered by another job */
		     MM_TRIGGER,   /* only remembered: the route leaves its trigger out */
		     MM__MAX
};
extern const char *const metric_memory_names[MM__MAX];
void metrics_memory(enum metric_memory outcome);

/* Storm grouping: dpc_notify_grouped_total{event="held"} counts problem
 * messages held back for a grouped message, {event="sent"} grouped
 * messages delivered and {event="runs"} the runs they named. */
enum metric_group { MG_HELD, MG_SENT, MG_RUNS, MG__MAX };
void metrics_grouped(enum metric_group event, uint64_t n);

/* Slack app threads: dpc_notify_slack_updates_total{result="ok"} counts
 * parents rewritten as resolved by chat.update, {result="failed"} the
 * rewrites that failed (logged, not retried on their own). */
void metrics_slack_update(int ok);

/* Any incident message edited in place as resolved (slack-app's
 * chat.update, discord's webhook message edit):
 * dpc_notify_message_updates_total{destination,result="ok"|"failed"},
 * shown for a destination once it has had one. slack-app counts in
 * metrics_slack_update() as well, whose metric is kept for dashboards
 * that read it. */
void metrics_message_update(const char *dest, int ok);

/* Sets dpc_notify_open_incidents (run memory), read at scrape time; a
 * negative n (unknown) leaves the gauge out. */
void metrics_open_incidents(int64_t n);

/* Records a config load (at start, on SIGHUP or POST /-/reload) for
 * dpc_notify_config_last_reload_success, _last_reload_timestamp_seconds
 * (the time of the attempt, unix seconds) and dpc_notify_config_info{hash}.
 * hash (at most METRICS_HASH_MAX-1 characters, lower-case hex) names the
 * file now in effect; a rejected load passes ok 0 and NULL, keeping the
 * hash of the config still running. */
#define METRICS_HASH_MAX 65
void metrics_config_loaded(int ok, int64_t unix_s, const char *hash);

/* Writes the exposition text; job counts by state come from the caller
 * (store_counts) as names/values. Returns a new string (caller frees). */
char *metrics_render(const char *const *job_state_names, const int64_t *job_counts,
		     size_t n_states);

/* ---- reconciliation by polling (poll.h) ---- */

/* Where a newly stored run was first heard of:
 * dpc_notify_runs_total{source}. */
enum metric_source { MS_WEBHOOK, MS_POLL, MS__MAX };
extern const char *const metric_source_names[MS__MAX];
void metrics_run_source(enum metric_source src);

/* n Matillion API calls made by the poller (n may be 0): counted in
 * dpc_notify_poll_api_calls_total and in the sliding minute of
 * dpc_notify_poll_api_calls_last_minute. */
void metrics_poll_calls(int n);

/* One reconciliation of one project ended:
 * dpc_notify_poll_cycles_total{result}. */
enum metric_poll { MP_COMPLETE, MP_PARTIAL, MP_FAILED, MP__MAX };
extern const char *const metric_poll_names[MP__MAX];
void metrics_poll_cycle(enum metric_poll result);

#endif
