/* Chat targets: one table row per kind of destination (Slack, Teams), so
 * config, worker, preview, send-test and delivery name no target. A row
 * says how a target is called in the config, how fast it may be posted to,
 * how a summary becomes its body, what its URL must look like and how its
 * replies are read. Each row is filled by one file in src/render/; the
 * table and the lookup are in src/render/target.c. Rows are constant and
 * shared by every thread. */
#ifndef DPC_TARGET_H
#define DPC_TARGET_H

#include <stddef.h>
#include "summary.h"

/* What a renderer needs beyond the summary; all borrowed. */
struct render_opts {
	const char *mention; /* trusted markup from the config, added on problem
			      * runs only (Slack markup, Teams UPN); NULL = none */
};

/* Documented ceilings of a target's message; 0 where the target has none. */
struct target_limits {
	size_t max_bytes;   /* whole body, in bytes */
	size_t max_blocks;  /* top-level blocks */
	size_t max_section; /* text of one section, in UTF-16 units */
	size_t max_header;  /* text of a header, in UTF-16 units */
	size_t text_budget; /* text of all blocks together, in UTF-16 units */
};

struct target {
	const char *name;         /* value of `type =` in a [destination] */
	double default_rate;      /* messages/s when `rate` is not set */
	const char *content_type; /* of the POSTed body */
	struct target_limits limits;
	/* The body to post for s. Pure. Returns a new string (caller frees)
	 * or NULL on ERR_NOMEM. */
	char *(*render)(const struct summary *s, const struct render_opts *o);
	/* Reads a reply: 0 when delivered, ERR_TRANSIENT to retry later,
	 * ERR_PERMANENT to give up. by_status is what the HTTP status alone
	 * says (httpc_classify(), worked out by delivery so renderers need no
	 * HTTP client); body (may be NULL) is NUL-terminated. Pure. */
	int (*classify)(long status, int by_status, const char *body, size_t len);
	/* URL rule beyond the http(s) check every URL gets: a warning for a
	 * URL that parses but will not work, or NULL. NULL rule: none. */
	const char *(*url_warning)(const char *url);
};

/* The row named name (any letter case), or NULL. Borrowed, never freed. */
const struct target *target_find(const char *name);

/* Row i in table order, or NULL past the last; for loops over all rows. */
const struct target *target_at(size_t i);

/* The names of all rows as a sentence ("slack or teams"), then, when last
 * is not NULL, last as one more name ("slack, teams or text"), into out
 * (truncated to outlen). */
void target_names(char *out, size_t outlen, const char *last);

/* Extra rows a unit-test build links in, NULL-terminated, listed after the
 * built-in ones. src/render/target.c only declares it, weak; a test that
 * defines it (tests/unit/test_target.c) fills it at link time. The service
 * never defines it, so it has the built-in rows alone. */
extern const struct target *const target_extra[];

#endif
