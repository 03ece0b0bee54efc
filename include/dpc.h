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

#endif
