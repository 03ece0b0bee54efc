/* Slack's interactivity requests: the button clicks of a Slack app
 * message. This header is the pure part (signature check, payload
 * reading, who may re-run, the re-run's execution tag); the endpoint that
 * uses it is interact_handle() in src/intake/interact.c. */
#ifndef DPC_INTERACT_H
#define DPC_INTERACT_H

#include <stddef.h>
#include <stdint.h>

#include "action.h"

#define INTERACT_TOLERANCE_S 300      /* Slack's five minutes, either way */
#define INTERACT_BODY_MAX (64 * 1024) /* a click's form body, bytes */
#define INTERACT_JSON_DEPTH 16        /* nesting of its payload */
#define INTERACT_TAG_MAX 64           /* an execution tag, with its NUL */

enum interact_verdict {
	IV_OK,
	IV_MISSING,   /* a header absent or empty */
	IV_STALE,     /* the timestamp is not a number, or more than the tolerance away */
	IV_SIGNATURE, /* the signature is malformed or does not match */
	IV__MAX
};
extern const char *const interact_verdict_names[IV__MAX];

/* Checks a request as Slack signs it: sig must be "v0=" and the lower-case
 * hex of HMAC-SHA256(secret, "v0:" ts ":" body), ts decimal unix seconds
 * within INTERACT_TOLERANCE_S of now_s (before or after). The compare
 * takes the same time wherever the bytes differ. secret NULL or empty
 * never verifies (IV_SIGNATURE). Pure. */
enum interact_verdict interact_verify(const char *secret, const char *ts, const char *sig,
				      const char *body, size_t len, int64_t now_s);

/* Reads a block_actions click from a form body (len bytes,
 * "payload=<url-encoded JSON>" among other fields) into *out (zeroed
 * first): the user, the first action (action_id one of action_ids[], a
 * mute's option 1h|24h|7d, an unmute's silence id), the message's channel
 * and ts (container, else channel and message), response_url and
 * action_ts. Every string is checked for shape and length; the user name
 * is sanitised and cut. Returns 0; ERR_NOTFOUND for a click of a user on
 * a button that is not ours (a link button: no action_id, or another);
 * ERR_PARSE (not a form, not JSON, too deep) or ERR_INVALID (a field
 * missing or malformed) with *why set to a fixed string. Pure. */
int interact_parse(const char *body, size_t len, struct action *out, const char **why);

/* 1 when url may receive an ephemeral reply: https://hooks.slack.com/...
 * (printable ASCII, no userinfo or port), or any http(s) URL when
 * any_host is set (tests). Pure. */
int interact_response_url_ok(const char *url, int any_host);

/* 1 when user_id is one of users[0..n_users) (case-sensitive). */
int interact_user_listed(const char *user_id, char *const *users, size_t n_users);

/* The executionTag of a re-run of the incident whose thread starts at
 * message ts in channel, in the state where it had counted `failures`
 * problem runs since since_ms: "dpc-notify-" and 32 hex characters of a
 * SHA-256 over those values, so a second click of the same state asks
 * Matillion for the same tag and starts nothing new. Pure. */
void interact_execution_tag(const char *channel, const char *ts, int64_t since_ms,
			    uint32_t failures, char out[INTERACT_TAG_MAX]);

/* ---- the endpoint (src/intake/interact_accept.c) ---- */

struct config;
struct store;

/* One complete request to interactivity_path; all borrowed. */
struct interact_req {
	const char *timestamp; /* X-Slack-Request-Timestamp, may be NULL */
	const char *signature; /* X-Slack-Signature, may be NULL */
	const char *body;      /* the raw form body */
	size_t len;
};

/* Decides r with cfg's signing secret: verified, read and stored
 * (store_action_put(), durable) gives 200 (a repeat of a stored click
 * too), and so does a verified click on a button that is not ours (a
 * link: nothing is stored or done); a missing, stale or wrong signature 401; a body that is not a
 * click of ours 400; no store or a failed commit 503. Each result is
 * counted in dpc_notify_interactions_total; *detail gets a fixed string
 * for the problem reply (NULL with 200). st may be NULL. */
unsigned interact_accept(const struct config *cfg, struct store *st, const struct interact_req *r,
			 const char **detail);

#endif
