/* What a person needs to know about one run, built incrementally while the
 * Matillion client pages through steps. Pure: JSON text in, struct out.
 * Memory is bounded: successful steps are only counted; failed steps and
 * child runs are kept up to fixed caps and counted beyond them. */
#ifndef DPC_SUMMARY_H
#define DPC_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"

#define SUMMARY_MAX_FAILED 100            /* failed/cancelled steps kept in detail */
#define SUMMARY_MAX_CHILDREN 200          /* child runs kept in detail */
#define SUMMARY_MAX_GROUPS 16             /* distinct error texts kept with their counts */
#define SUMMARY_MESSAGE_MAX 4000          /* bytes of an error message kept (UTF-8 safe) */
#define SUMMARY_PATH_SEP " \xe2\x80\xba " /* " › " */

struct failed_step {
	char *path;    /* "Parent › Child › Step" (pipeline names, then step) */
	char *step_id; /* step id, "" if absent */
	enum run_status status;
	char *status_text;   /* as reported */
	char *message;       /* result.message, trimmed and sanitised; "" if none */
	int64_t duration_ms; /* -1 when timestamps are missing */
	int depth;           /* 0 = root pipeline, 1 = its child, ... */
	size_t seq;          /* order of discovery, for stable sorting */
	char *execution_id;  /* run of the pipeline the step belongs to ("" = unknown) */
	int calls_child;     /* the step ran a child pipeline (its error repeats the child's) */
};

/* Problem steps that share one error text (and status, and whether they ran
 * a child pipeline), counted over every step seen, not only the kept ones:
 * "300 steps failed with the same error (Replicate table 12 … 311)". */
struct error_group {
	char *message;      /* the shared result.message, cleaned; "" when none */
	char *first_path;   /* path of the first step seen with it */
	char *first_step;   /* name of that step (last path segment) */
	char *last_step;    /* name of the latest step seen with it */
	char *execution_id; /* run of the first step ("" = unknown) */
	enum run_status status;
	int depth;       /* depth of the first step */
	int calls_child; /* the steps ran child pipelines */
	uint64_t count;  /* steps with this error */
	size_t seq;      /* discovery order of the first step */
};

struct child_run {
	char *execution_id;     /* childPipeline.id */
	char *name;             /* childPipeline.name (display, suffix stripped) */
	char *path;             /* path of the step that started it */
	enum run_status status; /* the calling step's result.status */
	int depth;              /* depth of the child pipeline itself (>= 1) */
	char *parent_path;      /* pipeline path of the page it was found on */
	int visited;            /* 1 once its steps were fetched */
	int decided;            /* 1 once the Matillion client fetched or skipped it */
};

/* Which message run memory asks for (see memory.h). */
enum summary_form {
	FORM_FULL,         /* the whole message */
	FORM_COMPACT,      /* "failed again" in one line */
	FORM_RECOVERY,     /* "recovered after N failed runs" */
	FORM_HELD,         /* "N failures held back while silenced": a silence ended */
	FORM_LONG_RUNNING, /* "still running after 2h 05m": the run has not finished yet */
};

/* What run memory says about this run, for the reader; filled by the
 * worker from the decision, all zero (known = 0) when nothing is known. */
struct run_context {
	int known;
	enum summary_form form;
	uint32_t streak;            /* Nth problem run in a row */
	int64_t streak_since_ms;    /* finish of the first of them */
	uint32_t successes_before;  /* successful runs before the streak */
	int64_t usual_ms;           /* median duration of recent successes; -1 unknown */
	int slow;                   /* much slower than usual */
	uint32_t held_before;       /* problem runs held back before this message */
	int new_error;              /* the open incident's error changed */
	int reminder;               /* same error, repeat_interval passed */
	int late;                   /* an older run that arrived after a newer one */
	uint32_t incident_failures; /* recovery: problem runs in the incident */
	int64_t incident_since_ms;  /* the incident's first problem's finish, on each of
				     * its messages, its recovery and a held summary;
				     * -1 outside one */
	int64_t held_from_ms;       /* held: the silence's (or mute windows') start, -1 unknown */
	int64_t held_until_ms;      /* held: ... and end, -1 unknown */
	/* FORM_LONG_RUNNING (usual_ms and incident_since_ms as above; the
	 * run's start is the summary's started_ms): */
	int64_t long_at_ms;    /* when it was found still running */
	int64_t long_limit_ms; /* the limit it passed (max_duration, or slow_factor × usual) */
	int long_slow;         /* the limit came from slow_factor, not max_duration */
};

struct summary {
	/* identity; all owned strings, "" when unknown */
	char *project_id;
	char *project_name; /* from config, for display */
	char *execution_id;
	char *pipeline_name; /* display name, .orch.yaml/.tran.yaml stripped */
	char *environment;
	enum run_status status;
	char *status_text;
	char *trigger; /* SCHEDULE, API, DESIGNER, SCHEDULE_RUN_NOW, ... as sent */
	char *user;
	char *schedule_id;   /* scheduleId, "" when none */
	char *schedule_name; /* the schedule's name when looked up, "" when unknown */
	char *message;       /* execution-level message, if any */
	int64_t started_ms;  /* -1 unknown */
	int64_t finished_ms; /* -1 unknown */
	char *link;          /* {ui_base}/observability-dashboard/pipeline/{execution id} */

	/* steps */
	uint64_t counts[ST__MAX]; /* steps by status, all pipelines */
	uint64_t total_steps;
	struct failed_step *failed; /* sorted by summary_finish(): deepest first */
	size_t n_failed;            /* kept */
	uint64_t failed_more;       /* failed beyond SUMMARY_MAX_FAILED */
	struct child_run *children;
	size_t n_children;
	uint64_t children_more;
	struct error_group *groups; /* sorted by summary_finish(): deepest first */
	size_t n_groups;
	uint64_t groups_more; /* problem steps whose error had no room for a group */

	/* caveats shown to the reader; owned, NULL when none */
	char *incomplete;     /* e.g. "API call budget reached; 3 child pipelines not fetched" */
	char *degraded;       /* plain-language reason the steps are missing, for the reader */
	int degraded_promise; /* the degraded notice promises the details (a follow-up comes) */
	int64_t follows_ms;   /* >= 0: completes a degraded notice posted at this time; else -1 */
	struct run_context memory; /* what run memory says; known = 0 when nothing */
	char *held_reason;         /* FORM_HELD: why it was silenced; owned, NULL when none */
	int is_test;               /* send-test sample */
};

/* Starts an empty summary for the identity given (strings copied; NULLs
 * become ""). ui_base may be NULL for no link. Returns 0 or ERR_NOMEM. */
int summary_init(struct summary *s, const char *project_id, const char *execution_id,
		 const char *ui_base);
void summary_free(struct summary *s);

/* Fills identity fields from GET .../pipeline-executions/{id}, accepting both
 * the flat object and {"result":{...}}. Fields already set by the webhook
 * are overwritten only by non-empty API values. Returns 0 or ERR_PARSE. */
int summary_set_execution(struct summary *s, const char *json, size_t len);

/* Where a page of steps belongs: the pipeline path ("Parent › Child") and
 * its depth (0 for the root run). */
struct page_ctx {
	const char *pipeline_path;
	int depth;
	const char *execution_id; /* run the page belongs to (NULL = unknown) */
};

/* Result of reading one page. */
struct page_info {
	int64_t total;    /* "total" field, -1 if absent */
	int64_t page;     /* "page" field, -1 if absent */
	size_t n_results; /* steps on this page */
};

/* Adds one page of GET .../steps. Child steps with childPipeline.id are
 * appended to s->children (visited = 0). Returns 0 or ERR_PARSE (not JSON or
 * no results array). Steps without timestamps get duration -1. */
int summary_add_page(struct summary *s, const struct page_ctx *ctx, const char *json, size_t len,
		     struct page_info *info);

/* Orders failed steps and error groups deepest first (stable by discovery
 * otherwise). */
void summary_finish(struct summary *s);

/* Sets the schedule's display name (copied, sanitised; NULL: ""). */
int summary_set_schedule_name(struct summary *s, const char *name);

/* Sets s->incomplete / s->degraded (copied). */
int summary_set_incomplete(struct summary *s, const char *why);
int summary_set_degraded(struct summary *s, const char *why);
/* Sets the display name of the project (copied, sanitised; NULL: ""). */
int summary_set_project_name(struct summary *s, const char *name);

/* Identity setters for what the API did not say (the worker fills them from
 * the webhook). Each copies, sanitises, trims and caps its value the way
 * summary_set_execution() does; NULL becomes "". Return 0 or ERR_NOMEM.
 * The pipeline name is stored in its display form (summary_display_name). */
int summary_set_pipeline_name(struct summary *s, const char *pipeline_name);
int summary_set_environment(struct summary *s, const char *environment);
/* Sets s->status to st (ST_UNKNOWN when out of range) and s->status_text to
 * text as sent, or to st's name when text is NULL or "". */
int summary_set_status(struct summary *s, enum run_status st, const char *text);

/* Display form of a pipeline name: ".orch.yaml", ".tran.yaml" suffix
 * stripped. Returns a new string (caller frees) or NULL on ERR_NOMEM. */
char *summary_display_name(const char *pipeline_name);

/* Parses RFC 3339 (e.g. 2024-05-01T10:00:00.123Z, +02:00 offsets) to unix ms;
 * -1 when absent or invalid. */
int64_t summary_parse_time(const char *s);

#endif
