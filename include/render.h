/* Plain-text rendering of a run summary. The chat targets (Slack, Teams)
 * are rows of the target table in target.h; plain text is not one of them:
 * it has no URL, no rate and no replies to read, and is only shown by
 * `preview --format text`. Pure. */
#ifndef DPC_RENDER_H
#define DPC_RENDER_H

#include "summary.h"

/* Plain text for `preview --format text` and logs. Caller frees; NULL on
 * ERR_NOMEM. */
char *plaintext_render(const struct summary *s);

#endif
