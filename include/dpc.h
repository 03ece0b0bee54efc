/* The Matillion Data Productivity Cloud (Maia) API client: OAuth2 client
 * credentials with a cached token, the execution and its paged steps,
 * recursion into child pipelines that did not succeed. One struct dpc is
 * shared by all workers (token cache and rate limiter are inside); each call
 * brings the caller's own struct httpc. */
#ifndef DPC_DPC_H
#define DPC_DPC_H

#include <stdint.h>
#include "config.h"
#include "httpc.h"
#include "summary.h"
#include "webhook.h"

/* Copies what it needs from c. NULL on ERR_NOMEM. */
struct dpc *dpc_new(const struct config *c);
void dpc_free(struct dpc *d);

struct dpc_error {
	long http_status;      /* last failing HTTP status, 0 if network */
	int64_t retry_after_s; /* from a 429/503, -1 if none */
	char message[256];     /* what failed, no secrets */
	int api_calls;         /* calls made for this job */
	int unreadable;        /* 1: the failing call was answered with a body
				* dpc-notify could not read (not JSON, no token) */
};

/* Fills s (already summary_init'ed) for the run: GET the execution, then
 * every page of its steps (size=100), then the steps of each child run that
 * did not succeed, deepest first, with a visited set, max_child_depth and
 * max_api_calls. Calls summary_finish() on success.
 * For a run triggered by SCHEDULE or SCHEDULE_RUN_NOW with a valid
 * scheduleId it then sets s->schedule_name from GET
 * .../projects/{id}/schedules (at most 3 pages, one attempt each, inside
 * max_api_calls), through a per-project cache shared by all callers of d
 * (10 minutes; a failed lookup 1 minute). That lookup never changes the
 * return value, err->message or err->http_status, and logs only at debug
 * level; its calls do count in err->api_calls.
 * Returns 0; ERR_TRANSIENT (network, 408, 429, 5xx; retry later);
 * ERR_PERMANENT (401 after one token refresh, 403, 404...). Running out of
 * budget or depth is not an error: s->incomplete says what was skipped. */
int dpc_fetch_summary(struct dpc *d, struct httpc *h, const char *project_id,
		      const char *execution_id, struct summary *s, struct dpc_error *err);

/* dpc_fetch_summary() without the steps: one execution-details call (and
 * the cached schedule-name lookup). For runs that are only remembered, and
 * for messages that list no steps (recoveries). Same returns. */
int dpc_fetch_execution(struct dpc *d, struct httpc *h, const char *project_id,
			const char *execution_id, struct summary *s, struct dpc_error *err);

/* Starts pipeline (by name) in environment of project_id again:
 * POST .../projects/{id}/pipeline-executions with pipelineName,
 * environmentName and executionTag tag (Matillion refuses a second start
 * with a tag whose run is still going: 409). Same token, rate limiter,
 * 401 refresh and short Retry-After waits as the fetches. Returns 0 with
 * the new run's id in execution_id (idlen bytes; "" when the reply named
 * none); ERR_TRANSIENT (retry later); ERR_PERMANENT with err->http_status
 * (409 tag still running, 410 pipeline disabled, 403 not allowed, ...);
 * ERR_NOMEM. */
int dpc_start_pipeline(struct dpc *d, struct httpc *h, const char *project_id, const char *pipeline,
		       const char *environment, const char *tag, char *execution_id, size_t idlen,
		       struct dpc_error *err);
/* ---- the list of a project's executions (GET /v1/pipeline-executions) ---- */

#define DPC_LIST_LIMIT 100                     /* results asked for per page, the API's maximum */
#define DPC_MORE_MAX 1024                      /* longest pagination token accepted, with its NUL */
#define DPC_TRIGGER_MAX 24                     /* bytes of a trigger kept, with its NUL */
#define DPC_STATUS_MAX 64                      /* bytes of a status as sent, with its NUL */
#define DPC_TIME_MIN_MS 946684800000LL         /* 2000-01-01: an earlier time is absurd */
#define DPC_TIME_AHEAD_MS (24LL * 3600 * 1000) /* a time further ahead of now is absurd */

/* One listed execution, every field checked: ids with the webhook ids'
 * syntax, names sanitised and cut, times absent (-1) when missing, not
 * RFC 3339, before DPC_TIME_MIN_MS or more than DPC_TIME_AHEAD_MS ahead. */
struct dpc_execution {
	char id[WEBHOOK_ID_MAX];            /* pipelineExecutionId */
	char project_id[WEBHOOK_ID_MAX];    /* projectId, or the one asked for */
	char pipeline[WEBHOOK_TEXT_MAX];    /* pipelineName, "" when absent */
	char environment[WEBHOOK_TEXT_MAX]; /* environmentName, "" when absent */
	enum run_status status;             /* normalised; ST_UNKNOWN when unknown */
	char status_text[DPC_STATUS_MAX];   /* status as sent (printable ASCII) */
	char trigger[DPC_TRIGGER_MAX];      /* SCHEDULE, API, DESIGNER...; "" when absent */
	int64_t started_ms;                 /* unix ms, -1 when absent */
	int64_t finished_ms;                /* unix ms, -1 while running or absent */
};

/* One page of the list. */
struct dpc_list_page {
	struct dpc_execution runs[DPC_LIST_LIMIT];
	size_t n;                /* runs[0..n) are usable */
	size_t skipped;          /* entries dropped: no valid id, another project */
	char more[DPC_MORE_MAX]; /* token of the next page; "" on the last */
};

/* What to list: runs of project_id started after started_after_ms (and
 * before started_before_ms when that is >= 0), newest first. */
struct dpc_list_query {
	const char *project_id;
	int64_t started_after_ms;
	int64_t started_before_ms; /* -1: no upper bound */
	const char *more;          /* NULL or "": the first page, else a token */
	int64_t max_wait_ms;       /* longest wait for the shared rate limiter */
};

/* 1 when e has ended: a terminal status, or an unknown one with a
 * finishedAt. RUNNING, CANCELLING and QUEUED have not. Pure. */
int dpc_execution_finished(const struct dpc_execution *e);

/* Parses one page of the list (len bytes of body) for project_id, with
 * now_ms as the clock for absurd times. An entry without a valid id, or
 * naming another project, is skipped and counted. Returns 0; ERR_PARSE
 * when body is no object with a results array, holds more than
 * DPC_LIST_LIMIT results, or has a "more" token longer than
 * DPC_MORE_MAX-1 bytes or with bytes outside printable ASCII (a token we
 * cannot follow must not end the listing as if it were the last page).
 * Pure. */
int dpc_list_parse(const char *body, size_t len, const char *project_id, int64_t now_ms,
		   struct dpc_list_page *out);

/* GETs one page of the list (limit=100) through d's token, retry and
 * shared rate limiter: a wait for the limiter longer than q->max_wait_ms
 * (busy workers, a Retry-After pause) makes no call and returns
 * ERR_BUDGET; a 429 or 503 pauses every caller and returns ERR_TRANSIENT
 * with err->retry_after_s, never sleeping through it. At most two calls
 * (one after a token refresh). Returns 0 with out filled, ERR_BUDGET,
 * ERR_TRANSIENT, ERR_PERMANENT (401 after a refresh, 403, 404, an answer
 * not understood) or ERR_NOMEM. */
int dpc_list_executions(struct dpc *d, struct httpc *h, const struct dpc_list_query *q,
			struct dpc_list_page *out, struct dpc_error *err);

#endif
