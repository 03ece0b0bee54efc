/* Renderers: a finished summary in, the exact bytes to post out. Pure. One
 * implementation file per target: slack.c, teams.c, plaintext.c. */
#ifndef DPC_RENDER_H
#define DPC_RENDER_H

#include <stddef.h>
#include "config.h"
#include "summary.h"

/* Slack incoming webhook body: Block Kit blocks plus fallback "text".
 * At most 50 blocks, section text <= 3000 chars, header <= 150, total block
 * text about 10k; overflow becomes "+N more failed steps". Untrusted text is
 * escaped (& < >) and mrkdwn objects carry verbatim=true. d->mention (from
 * config, trusted) is added only when the run is a problem. Returns a new
 * JSON string (caller frees) or NULL on ERR_NOMEM. */
char *slack_render(const struct summary *s, const struct destination *d);

/* Teams Workflows webhook body: {"type":"message","attachments":[{
 * "contentType":"application/vnd.microsoft.card.adaptive","content":{card}}]}
 * with an Adaptive Card 1.5; whole body < 28 KB, same "+N more" policy.
 * Mentions only from d->mention. Caller frees; NULL on ERR_NOMEM. */
char *teams_render(const struct summary *s, const struct destination *d);

/* Plain text for `preview --format text` and logs. Caller frees. */
char *plaintext_render(const struct summary *s);

#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION 3000
#define SLACK_MAX_HEADER 150
#define SLACK_TEXT_BUDGET 10000
#define TEAMS_MAX_BYTES 28000

#endif
