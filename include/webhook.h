/* Webhook body decoding: pulls the run's identity out of whatever shape the
 * sender used. Pure: bytes in, struct out. */
#ifndef DPC_WEBHOOK_H
#define DPC_WEBHOOK_H

#include <stddef.h>
#include "status.h"

#define WEBHOOK_ID_MAX 128
#define WEBHOOK_TEXT_MAX 512

struct webhook_event {
	char project_id[WEBHOOK_ID_MAX]; /* projectId | project_id | ?projectId= */
	char execution_id
		[WEBHOOK_ID_MAX]; /* pipelineExecutionId | executionId | execution_id | id */
	char pipeline_name[WEBHOOK_TEXT_MAX]; /* pipelineName (optional, "" if absent) */
	char environment[WEBHOOK_TEXT_MAX];   /* environmentName (optional) */
	enum run_status status;               /* status normalised; ST_UNKNOWN if absent */
	char status_text[64];                 /* status as sent, "" if absent */
};

/* Parses body (len bytes, not NUL-terminated necessarily). Keys are looked up
 * at top level, then one level under data, payload, execution, result.
 * query_project_id (may be NULL) is used when the body has no project id.
 * max_depth caps JSON nesting.
 * Returns 0; ERR_PARSE (not JSON or not an object, or nested too deep);
 * ERR_NOTFOUND (no execution id or no project id; *why says which);
 * ERR_LIMIT (an id longer than WEBHOOK_ID_MAX-1 or with characters outside
 * [A-Za-z0-9._:-]). *why (static string) explains failures. */
int webhook_parse(const char *body, size_t len, const char *query_project_id, int max_depth,
		  struct webhook_event *ev, const char **why);

/* For a body webhook_parse() could not use: writes the names of the top
 * level keys (never their values) of body, in order, comma-separated,
 * into out (cap bytes, always terminated). At most WEBHOOK_KEYS_MAX names
 * of at most WEBHOOK_KEY_MAX bytes each (cut there); a byte other than
 * A-Z a-z 0-9 _ . : @ $ - becomes '?', so the text is safe for any log.
 * Returns how many keys the object has (0 when body is no JSON object
 * within max_depth). Pure. */
/* For a body webhook_parse() could not use: the project id it names
 * (the keys webhook_parse() reads, at the top level or one level down,
 * else query_project_id, may be NULL) into out when that id passes the
 * id check. Returns 0, or ERR_NOTFOUND (out ""). Pure. */
int webhook_project_hint(const char *body, size_t len, const char *query_project_id, int max_depth,
			 char out[WEBHOOK_ID_MAX]);

#define WEBHOOK_KEYS_MAX 20
#define WEBHOOK_KEY_MAX 64
size_t webhook_top_keys(const char *body, size_t len, int max_depth, char *out, size_t cap);

/* 1 when the brackets of the JSON text body[0..len) nest deeper than
 * max, counting only brackets outside strings: one linear scan, run before
 * cJSON so a hostile body cannot make it recurse deeply. */
int webhook_json_too_deep(const char *body, size_t len, int max);

#endif
