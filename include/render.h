/* Renderers: a finished summary in, the exact bytes to post out. Pure. One
 * implementation file per target: slack.c, teams.c, plaintext.c. */
#ifndef DPC_RENDER_H
#define DPC_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include "config.h"
#include "summary.h"

/* Slack incoming webhook body: Block Kit blocks plus fallback "text".
 * At most 50 blocks, section text <= 3000 chars, header <= 150, total block
 * text about 10k; overflow becomes "+N more failed steps". Untrusted text
 * goes only into plain_text objects and rich_text elements (never mrkdwn);
 * the fallback "text" has & < > escaped and is sent with "mrkdwn": false.
 * d->mention (from config, trusted) is added only when the run is a
 * problem. Returns a new JSON string (caller frees) or NULL on ERR_NOMEM. */
char *slack_render(const struct summary *s, const struct destination *d);

/* Teams Workflows webhook body: {"type":"message","attachments":[{
 * "contentType":"application/vnd.microsoft.card.adaptive","content":{card}}]}
 * with an Adaptive Card 1.5; whole body < 28 KB, same "+N more" policy.
 * Mentions only from d->mention. Caller frees; NULL on ERR_NOMEM. */
char *teams_render(const struct summary *s, const struct destination *d);

/* Plain text for `preview --format text` and logs. Caller frees. */
char *plaintext_render(const struct summary *s);

/* Wording shared by the three renderers (implemented in plaintext.c). All
 * results are raw text: each renderer escapes them for its target. */

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
	const char *title;             /* static label, e.g. "Environment" */
	char value[RENDER_FACT_MAX];   /* raw text, cut on a UTF-8 boundary */
};

/* Fills up to max facts (project, environment, status, trigger and user,
 * started, duration, execution id), leaving out unknown ones. Returns the
 * number filled. */
size_t render_facts(const struct summary *s, struct render_fact *f, size_t max);

#define RENDER_MAX_CHILDREN_SHOWN 20 /* child pipelines listed in a message */

#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION 3000
#define SLACK_MAX_HEADER 150
#define SLACK_TEXT_BUDGET 10000
#define TEAMS_MAX_BYTES 28000

#endif
