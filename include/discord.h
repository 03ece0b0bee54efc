/* The discord target's incident bodies: what a stored Discord body
 * becomes when it is posted (our member removed, a forum post's title
 * added) and the edit that marks an incident's first message resolved.
 * Pure: JSON in, JSON out; where each message goes is decided at post
 * time (src/delivery/dthread.c), as for a Slack app.
 *
 * The body the row renders (and the store keeps) is the execute-webhook
 * body plus our "dpc_thread" member (slackapp.h's, read with
 * slackapp_meta()): the run's pipeline, environment and incident, on
 * every message, so a forum post can be titled even outside an
 * incident. discord_message() removes it before anything is posted. */
#ifndef DPC_DISCORD_H
#define DPC_DISCORD_H

#include <stddef.h>

#include "slackapp.h"
#include "target.h"

#define DISCORD_ID_DIGITS 20          /* a snowflake (64 bits) in decimal, at most */
#define DISCORD_THREAD_NAME_MAX 100   /* a thread's name, in UTF-16 units */
#define DISCORD_THREAD_NAME_BYTES 404 /* bytes of one, NUL included */
#define DISCORD_NOT_IN_THREAD \
	"0" /* a thread row's channel when its first
					 * message is not in a thread (no
					 * snowflake is 0) */

/* 1 when t is the discord row. */
int discord_is(const struct target *t);

/* 1 when id (may be NULL) is a Discord id as one may go into a URL: 1 to
 * DISCORD_ID_DIGITS ASCII digits, nothing else. Pure. */
int discord_id_valid(const char *id);

/* The title of the forum post an incident (or a message outside one)
 * opens: "<environment> · <pipeline>" from m, sanitised (control
 * characters, invalid UTF-8, line breaks), cut to DISCORD_THREAD_NAME_MAX
 * UTF-16 units; "dpc-notify" when m names neither. Into out (cap >=
 * DISCORD_THREAD_NAME_BYTES keeps all of it). Returns 0 or ERR_NOMEM. */
int discord_thread_name(const struct slackapp_meta *m, char *out, size_t cap);

/* The execute-webhook body for stored (a body the row rendered): our
 * member removed and, when thread_name is not NULL, thread_name set, so
 * the post opens a forum post of that title. Returns a new string
 * (caller frees) or NULL (ERR_NOMEM, or stored is not a JSON object). */
char *discord_message(const char *stored, const char *thread_name);

/* The "Edit Webhook Message" body that marks an incident's first message
 * resolved: parent (the body it was posted with) reduced to its embeds,
 * the first one titled with the "✅ Resolved after ..." line that the
 * recovery's stored body carries followed by " · was: " and the old
 * title (cut so title and embed stay within Discord's limits), linking
 * to the recovery's run, in the success colour; description, fields and
 * the rest are kept, and "content" is left alone (not sent).
 * allowed_mentions is sent empty so the edit notifies nobody. Returns a
 * new string, or NULL when out of memory, when either body is not a JSON
 * object, parent has no embed or the recovery carries no resolved line. */
char *discord_resolved(const char *parent, const char *recovery);

#endif
