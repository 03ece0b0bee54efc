/* A small client of Slack's Web API for a Slack app (a bot token): one
 * POST of a JSON body to a method (chat.postMessage, chat.update,
 * auth.test, conversations.info), read into ok / retry later / give up
 * the way chat delivery reads a webhook's reply (deliver.h). The token
 * goes only into the Authorization header: never into a detail, an error
 * or a log line, even when the reply echoes it. */
#ifndef DPC_SLACKAPI_H
#define DPC_SLACKAPI_H

#include <stdint.h>

#include "deliver.h"
#include "httpc.h"
#include "store.h"

#define SLACKAPI_BASE_URL "https://slack.com/api/" /* default base URL */
#define SLACKAPI_RETRY_AFTER_MAX 3600              /* a Retry-After is cut to this (s) */
#define SLACKAPI_TOKEN_MAX 512                     /* bytes of a token, NUL excluded */

/* What one call came to. */
struct slackapi_reply {
	enum deliver_class cls; /* DELIVER_OK / DELIVER_RETRY / DELIVER_PERMANENT */
	long http_status;       /* 0 when there was no response */
	int64_t retry_after_s;  /* Retry-After in [0, SLACKAPI_RETRY_AFTER_MAX]; -1 none */
	char error[64];         /* Slack's ok:false code ([a-z0-9_] only; "" when ok) */
	char channel[STORE_SLACK_ID_MAX]; /* "channel" of the reply when it passes
					   * store_slack_id_valid(), else "" */
	char ts[STORE_SLACK_ID_MAX];      /* "ts" of the reply, likewise */
	int channel_member;   /* conversations.info: the app is in the channel (1/0); -1 unknown */
	int channel_archived; /* conversations.info: the channel is archived (1/0); -1 unknown */
	char detail[256];     /* for logs and the dead letter: method,
					   * status, code and what it means; never
					   * the token */
};

/* POSTs json_body (NULL: "{}") to base_url followed by method (base_url
 * with or without its trailing '/'; method is letters and dots, e.g.
 * "chat.postMessage") with "Authorization: Bearer <token>" and
 * "Content-Type: application/json; charset=utf-8", and reads the reply
 * into *r:
 *  - ok:true with a 2xx: DELIVER_OK, channel and ts when the reply has
 *    them;
 *  - HTTP 429, or ok:false "ratelimited": DELIVER_RETRY after the
 *    Retry-After header (clamped);
 *  - no response, 408/425/5xx, ok:false internal_error, fatal_error,
 *    service_unavailable or request_timeout, a 2xx that is not Slack's
 *    JSON: DELIVER_RETRY;
 *  - ok:false invalid_auth, not_authed, account_inactive, token_revoked,
 *    channel_not_found, not_in_channel, is_archived, msg_too_long,
 *    invalid_blocks, missing_scope (each with a plain-language
 *    explanation in detail), any other code, any other status, a refused
 *    URL, an unusable token or method: DELIVER_PERMANENT.
 * Returns 0 when r was filled (always, but ERR_NOMEM or ERR_INVALID for
 * a NULL h, base_url, method or r). */
int slackapi_call(struct httpc *h, const char *base_url, const char *token, const char *method,
		  const char *json_body, struct slackapi_reply *r);

/* check-config --online for one slack-app destination: auth.test (is
 * the token good) and conversations.info of channel (does it exist, is
 * the app in it, is it archived). Writes one line for the person reading
 * into why (never the token). Returns 0 when posting should work,
 * ERR_PERMANENT when it will not (invalid_auth, channel_not_found,
 * not_in_channel, is_archived, ...), ERR_TRANSIENT when Slack could not
 * be asked, ERR_NOMEM. A token without the scope to read the channel
 * (missing_scope on conversations.info) is 0 with a note in why. */
int slackapi_check(struct httpc *h, const char *base_url, const char *token, const char *channel,
		   char *why, size_t whylen);

/* What Slack's ok:false code means to the person reading the log ("the
 * bot token is invalid or was revoked"), or NULL for a code without one.
 * Pure. */
const char *slackapi_explain(const char *code);

#endif
