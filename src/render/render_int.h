/* Private to src/render/: the rows each target file fills, and the wording
 * every renderer shares (wording.c). All wording results are raw text: each
 * renderer escapes them for its target. */
#ifndef DPC_RENDER_INT_H
#define DPC_RENDER_INT_H

#include <stddef.h>
#include <stdint.h>
#include "summary.h"
#include "target.h"

/* The built-in rows, one per file: slack.c, teams.c. */
extern const struct target target_slack;
extern const struct target target_teams;

/* Display word for a status: the canonical name, or the text as sent when
 * the status is unknown (never NULL, borrowed). */
const char *render_status_word(enum run_status st, const char *status_text);

/* Emoji for a run status (borrowed, never NULL). */
const char *render_status_emoji(enum run_status st);

/* "<pipeline> FAILED in <environment> (<project>)" without emoji; parts that
 * are unknown are left out. Caller frees; NULL on ERR_NOMEM. */
char *render_title(const struct summary *s);

/* "48 steps: 45 succeeded, 2 failed, 1 cancelled" into out (truncated to
 * outlen); "" for a degraded summary that saw no step. */
void render_counts_line(const struct summary *s, char *out, size_t outlen);

/* "2024-05-01 10:00:00 UTC", or "?" for a negative time, into out. */
void render_time(int64_t ms, char *out, size_t outlen);

#define RENDER_MAX_FACTS 8
#define RENDER_FACT_MAX 512

/* One title/value line of the run facts. */
struct render_fact {
	const char *title;           /* static label, e.g. "Environment" */
	char value[RENDER_FACT_MAX]; /* raw text, cut on a UTF-8 boundary */
};

/* Fills up to max facts (project, environment, status, trigger and user,
 * started, duration, execution id), leaving out unknown ones. Returns the
 * number filled. */
size_t render_facts(const struct summary *s, struct render_fact *f, size_t max);

#define RENDER_MAX_CHILDREN_SHOWN 20 /* child pipelines listed in a message */

#endif
