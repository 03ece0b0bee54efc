/* Run memory: what dpc-notify remembers of every pipeline's runs, and the
 * pure decision it makes with it for each finished run: post the full
 * message, a compact "failed again" line, a recovery, or hold it back.
 * A pipeline is (project id, environment, pipeline name). Pure: memory and
 * event in, decision out; the store keeps the memory (store.h). */
#ifndef DPC_MEMORY_H
#define DPC_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#define MEM_HISTORY_MAX 100                   /* runs the decision looks at, newest first */
#define MEM_MEDIAN_RUNS 20                    /* successful runs the usual duration is taken from */
#define MEM_MEDIAN_MIN_RUNS 5                 /* fewer successful runs: no usual duration */
#define MEM_SLOW_MIN_DIFF_MS (10 * 60 * 1000) /* slow only if this much over usual */

/* One remembered run. */
struct mem_run {
	enum run_status status;
	int64_t started_ms;  /* -1 unknown */
	int64_t finished_ms; /* the order of runs; arrival time when unknown */
	uint64_t signature;  /* failure signature (mem_signature), 0 for none */
};

enum mem_repeat {
	MEM_REPEAT_COMPACT, /* one short line per repeat (default) */
	MEM_REPEAT_SILENT,  /* nothing; counted and told with the next message */
	MEM_REPEAT_FULL     /* the full message every time */
};

/* A route's choices (keys in [project]/[default]). */
struct mem_policy {
	unsigned notify_on;         /* mask of STATUS_BIT(); MEM_NOTIFY_SLOW too */
	int recovery;               /* post a recovery when an incident closes */
	enum mem_repeat on_repeat;  /* what a repeat of the same error posts */
	int64_t repeat_interval_ms; /* a repeat after this long is a reminder (full) */
	unsigned notify_after;      /* consecutive problems before the first message (>= 1) */
	double duration_alert;      /* slow when over this × usual duration (0 = off) */
	int silenced;               /* a silence or mute window covers the run now */
	int record_only;            /* only remember the run: no message, its incident
				     * untouched (a trigger the route leaves out) */
};

/* notify_on bit for successful runs that were slow. */
#define MEM_NOTIFY_SLOW (1u << 30)

/* The open incident of a pipeline (open == 0: none). */
struct mem_incident {
	int open;
	int64_t since_ms;     /* finished time of its first problem run */
	int64_t last_ms;      /* finished time of its latest problem run */
	uint32_t failures;    /* problem runs in it so far */
	uint32_t held;        /* problem runs held back since the last message */
	int posted;           /* a message was posted for it (so a recovery is due) */
	uint64_t signature;   /* of the latest posted problem */
	int64_t last_post_ms; /* finished time of the run last posted for it */
	int acked;            /* someone acknowledged it (a Slack button): no reminders */
};

enum mem_action {
	MEM_DUPLICATE,     /* this run is already remembered: nothing changes */
	MEM_RECORD,        /* remembered; nothing to post */
	MEM_POST_FULL,     /* the full message */
	MEM_POST_COMPACT,  /* one short "failed again" line */
	MEM_HOLD,          /* held back: counted, told with the next message */
	MEM_POST_RECOVERY, /* the incident closed: "recovered after N failed runs" */
};

/* Why a problem is held back or posted the way it is. */
enum mem_reason {
	MEM_R_NONE,
	MEM_R_NOT_ROUTED, /* the route does not notify this status */
	MEM_R_LATE,       /* older than a run already remembered */
	MEM_R_FLAKY,      /* below notify_after */
	MEM_R_REPEAT,     /* same error, within repeat_interval */
	MEM_R_REMINDER,   /* same error, after repeat_interval */
	MEM_R_NEW_ERROR,  /* the incident's error changed */
	MEM_R_OPENED,     /* first message of an incident */
	MEM_R_SLOW,       /* a successful run that was slow */
	MEM_R_UNKNOWN,    /* a status that neither opens nor closes */
	MEM_R_SILENCED,   /* a silence held back what would have been posted */
};

/* What the message can say about the run's history. */
struct mem_context {
	uint32_t streak;            /* this is the Nth problem run in a row (0: not a problem) */
	int64_t streak_since_ms;    /* finished time of the first of them */
	uint32_t successes_before;  /* successful runs right before the streak (up to history) */
	int64_t usual_ms;           /* median duration of recent successes; -1 unknown */
	int64_t duration_ms;        /* this run's; -1 unknown */
	int slow;                   /* over duration_alert × usual (and 10 min more) */
	uint32_t held_before;       /* problem runs held back before this message */
	uint32_t incident_failures; /* for a recovery: problem runs in the incident */
	int64_t incident_since_ms;  /* the open incident's first problem's finish (a problem
				     * in one, or its recovery); -1 otherwise */
};

struct mem_decision {
	enum mem_action action;
	enum mem_reason reason;
	struct mem_incident next; /* the incident after this run */
	struct mem_context ctx;
};

/* Decides what run ev means for a pipeline whose remembered runs are
 * hist[0..n) (newest first by finished time, ev not among them unless
 * dup is set) and whose incident is inc. Pure. */
void mem_decide(const struct mem_policy *p, const struct mem_run *hist, size_t n,
		const struct mem_incident *inc, const struct mem_run *ev, int dup,
		struct mem_decision *out);

/* The usual duration of a pipeline whose remembered runs are hist[0..n)
 * (newest first): the median duration of the newest MEM_MEDIAN_RUNS
 * successful runs with a known duration; -1 with fewer than
 * MEM_MEDIAN_MIN_RUNS of them. Pure. */
int64_t mem_usual_duration(const struct mem_run *hist, size_t n);

/* Failure signature: a hash of the deepest failed step's path and its
 * error text with numbers, hex ids, UUIDs, timestamps and quoted literals
 * masked, so "Table 'A' has 12 rows" and "Table 'B' has 13 rows" match.
 * Never 0; 0 is "no signature". Pure. */
uint64_t mem_signature(const char *path, const char *error);

/* The masked form mem_signature() hashes, into out (truncated to outlen).
 * For tests and logs. */
void mem_mask(const char *error, char *out, size_t outlen);

struct summary;
struct run_context;

/* The failure signature of a summary (src/memory/context.c): its first
 * real error group (not only a child pipeline's run), else its message;
 * 0 for a run that is not a problem. Pure. */
uint64_t mem_summary_signature(const struct summary *s);

#define MEM_TIME_MIN_MS 946684800000LL        /* 2000-01-01: older finish times are absurd */
#define MEM_TIME_SKEW_MS (24LL * 3600 * 1000) /* finish times after arrival allowed this much */

/* The run of s as memory takes it (context.c): status, times, signature.
 * A finish time that is missing, before 2000 or more than a day after
 * arrival_ms is not believed: arrival_ms stands in, so an absurd time
 * cannot reorder runs; a start after the finish or before 2000 becomes
 * unknown. Returns 1 when the finish time was replaced, else 0. Pure. */
int mem_run_of(const struct summary *s, int64_t arrival_ms, struct mem_run *out);

/* The decision's context as the renderers read it (summary.h). Pure. */
void mem_context_fill(const struct mem_decision *d, struct run_context *m);

#endif
