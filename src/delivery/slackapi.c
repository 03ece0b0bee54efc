/* The Slack Web API client (slackapi.h): a method call is one POST of a
 * JSON body with the bot token as a Bearer header, and Slack's answer is
 * read first by HTTP status (429, 5xx, no answer) and then by the JSON
 * body's ok and error fields, since Slack answers most failures with a
 * 200. Codes that mean the destination is misconfigured (bad token,
 * missing channel, missing scope) are given up at once with a sentence
 * saying what to fix; rate limits and Slack's own trouble are retried.
 * Reply text quoted in a detail goes through deliver_snippet() with the
 * token as the secret, so an echoing proxy cannot put it into a log. */
#include "slackapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"

#define METHOD_MAX 64 /* bytes of a method name */

/* Every code with a meaning of its own; any other ok:false code is given
 * up (an unknown failure is not worth a retry storm). */
static const struct {
	const char *code;
	enum deliver_class cls;
	const char *why;
} codes[] = {
	{ "invalid_auth", DELIVER_PERMANENT, "the bot token is not valid (check secret)" },
	{ "not_authed", DELIVER_PERMANENT, "no bot token was sent (set secret)" },
	{ "account_inactive", DELIVER_PERMANENT,
	  "the bot token's user or workspace was deactivated" },
	{ "token_revoked", DELIVER_PERMANENT,
	  "the bot token was revoked (reinstall the app, new token)" },
	{ "channel_not_found", DELIVER_PERMANENT,
	  "no such channel, or a private one the app was not invited to" },
	{ "not_in_channel", DELIVER_PERMANENT,
	  "the app is not in the channel (invite it: /invite @app)" },
	{ "is_archived", DELIVER_PERMANENT, "the channel is archived" },
	{ "msg_too_long", DELIVER_PERMANENT, "the message is too long for Slack" },
	{ "invalid_blocks", DELIVER_PERMANENT, "Slack refused the message's blocks" },
	{ "missing_scope", DELIVER_PERMANENT,
	  "the app lacks a scope this call needs (see README, Slack app setup)" },
	{ "message_not_found", DELIVER_PERMANENT, "the message to update is gone" },
	{ "cant_update_message", DELIVER_PERMANENT, "the app may not edit that message" },
	{ "ratelimited", DELIVER_RETRY, "Slack's rate limit: retried after Retry-After" },
	{ "internal_error", DELIVER_RETRY, "Slack failed: retried" },
	{ "fatal_error", DELIVER_RETRY, "Slack failed: retried" },
	{ "service_unavailable", DELIVER_RETRY, "Slack is unavailable: retried" },
	{ "request_timeout", DELIVER_RETRY, "Slack timed out: retried" },
};

#define N_CODES (sizeof(codes) / sizeof(codes[0]))

static size_t code_index(const char *code)
{
	size_t i;

	for (i = 0; i < N_CODES; i++)
		if (strcmp(codes[i].code, code) == 0)
			return i;
	return N_CODES;
}

const char *slackapi_explain(const char *code)
{
	size_t i = code != NULL ? code_index(code) : N_CODES;

	return i < N_CODES ? codes[i].why : NULL;
}

/* 1 when s is 1 to max bytes, each accepted by ok(). */
static int all_of(const char *s, size_t max, int (*ok)(unsigned char))
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= max || !ok((unsigned char)s[i]))
			return 0;
	return 1;
}

static int token_byte(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static int method_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.';
}

static int code_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* text as a log may show it (deliver_snippet()), with every stretch of 8
 * or more bytes of the token redacted: the token stands as the one
 * secret path segment of a URL no one posts to. */
static void snippet(const char *text, size_t len, const char *token, char *out, size_t outlen)
{
	char url[SLACKAPI_TOKEN_MAX + 32];

	snprintf(url, sizeof(url), "https://slack.invalid/%s", token != NULL ? token : "");
	deliver_snippet(text, len, url, out, outlen);
}

/* The reply's error code, kept only when it is a plain code that holds
 * no piece of the token; otherwise a stand-in. */
static void keep_code(const char *code, const char *token, char *out, size_t outlen)
{
	char shown[DELIVER_SNIPPET_MAX + 1];

	if (!all_of(code, outlen - 1, code_byte)) {
		snprintf(out, outlen, "%s", "unreadable_error");
		return;
	}
	snippet(code, strlen(code), token, shown, sizeof(shown));
	snprintf(out, outlen, "%s", strcmp(shown, code) == 0 ? code : "redacted_error");
}

/* A string member of the reply that is a Slack id (store_slack_id_valid()),
 * else "". */
static void keep_id(const cJSON *root, const char *name, char *out, size_t outlen)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, name));

	snprintf(out, outlen, "%s", v != NULL && store_slack_id_valid(v) ? v : "");
}

/* What a conversations.info reply says of its channel object. */
static void read_channel(const cJSON *ch, struct slackapi_reply *r)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(ch, "is_member");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(ch, "is_archived");

	if (!cJSON_IsObject(ch))
		return;
	keep_id(ch, "id", r->channel, sizeof(r->channel));
	r->channel_member = cJSON_IsBool(m) ? cJSON_IsTrue(m) : -1;
	r->channel_archived = cJSON_IsBool(a) ? cJSON_IsTrue(a) : -1;
}

static void fail(struct slackapi_reply *r, enum deliver_class cls, const char *method,
		 const char *why)
{
	r->cls = cls;
	snprintf(r->detail, sizeof(r->detail), "%.64s: %.180s", method, why);
}

/* Reads a reply that has a status into r. */
static void read_reply(const char *method, const char *token, const struct httpc_response *resp,
		       struct slackapi_reply *r)
{
	char snip[DELIVER_SNIPPET_MAX + 1];
	cJSON *root = resp->body != NULL ? cJSON_ParseWithLength(resp->body, resp->len) : NULL;
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
	const char *err = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(root, "error"));
	int by_status = httpc_classify(resp->status);
	size_t i;

	if (cJSON_IsTrue(ok) && by_status == 0) {
		r->cls = DELIVER_OK;
		keep_id(root, "channel", r->channel, sizeof(r->channel));
		read_channel(cJSON_GetObjectItemCaseSensitive(root, "channel"), r);
		keep_id(root, "ts", r->ts, sizeof(r->ts));
		snprintf(r->detail, sizeof(r->detail), "%s: HTTP %ld ok%s%s", method, resp->status,
			 r->ts[0] ? " ts " : "", r->ts);
	} else if (cJSON_IsFalse(ok) && err != NULL) {
		keep_code(err, token, r->error, sizeof(r->error));
		i = code_index(r->error);
		r->cls = i < N_CODES ? codes[i].cls : DELIVER_PERMANENT;
		if (resp->status == 429 || by_status == ERR_TRANSIENT)
			r->cls = DELIVER_RETRY;
		snprintf(r->detail, sizeof(r->detail), "%s: HTTP %ld %s: %s", method, resp->status,
			 r->error, i < N_CODES ? codes[i].why : "Slack refused the call");
	} else {
		/* Not Slack's JSON: a proxy's page, or Slack in trouble. */
		snippet(resp->body, resp->len, token, snip, sizeof(snip));
		r->cls = by_status == ERR_PERMANENT ? DELIVER_PERMANENT : DELIVER_RETRY;
		snprintf(r->detail, sizeof(r->detail), "%s: HTTP %ld%s%s", method, resp->status,
			 snip[0] ? " " : " (no Slack reply)", snip);
	}
	cJSON_Delete(root);
}

/* The Retry-After the reply asked for, clamped; -1 when none. */
static int64_t retry_after(int64_t v)
{
	if (v < 0)
		return -1;
	return v > SLACKAPI_RETRY_AFTER_MAX ? SLACKAPI_RETRY_AFTER_MAX : v;
}

int slackapi_call(struct httpc *h, const char *base_url, const char *token, const char *method,
		  const char *json_body, struct slackapi_reply *r)
{
	char auth[SLACKAPI_TOKEN_MAX + 32];
	const char *headers[] = { "Content-Type: application/json; charset=utf-8", auth,
				  "Accept: application/json", NULL };
	struct httpc_response resp;
	size_t blen;
	char *url;
	int rc;

	if (r == NULL)
		return ERR_INVALID;
	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	r->channel_member = -1;
	r->channel_archived = -1;
	if (h == NULL || base_url == NULL || method == NULL)
		return ERR_INVALID;
	if (!all_of(method, METHOD_MAX, method_byte)) {
		fail(r, DELIVER_PERMANENT, "slack", "not a Web API method name");
		return 0;
	}
	if (!all_of(token, SLACKAPI_TOKEN_MAX, token_byte)) {
		fail(r, DELIVER_PERMANENT, method,
		     "the bot token is not usable (empty, too long, or has blanks)");
		return 0;
	}
	blen = strlen(base_url);
	url = malloc(blen + strlen(method) + 2);
	if (url == NULL)
		return ERR_NOMEM;
	snprintf(url, blen + strlen(method) + 2, "%s%s%s", base_url,
		 blen > 0 && base_url[blen - 1] == '/' ? "" : "/", method);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	if (json_body == NULL)
		json_body = "{}";
	rc = httpc_request(h, "POST", url, headers, json_body, strlen(json_body), &resp);
	free(url);
	/* The header held the token: it is not left on the stack. */
	memset(auth, 0, sizeof(auth));
	if (rc == ERR_NOMEM) {
		httpc_response_free(&resp);
		return ERR_NOMEM;
	}
	r->http_status = resp.status;
	r->retry_after_s = retry_after(resp.retry_after_s);
	if (resp.status > 0 && (rc == 0 || rc == ERR_LIMIT)) {
		read_reply(method, token, &resp, r);
	} else {
		/* No answer: a refused URL will not heal, the network may. */
		r->http_status = 0;
		fail(r, rc == ERR_PERMANENT ? DELIVER_PERMANENT : DELIVER_RETRY, method,
		     resp.error[0] ? resp.error : err_str(rc));
	}
	httpc_response_free(&resp);
	return 0;
}

/* The verdict of one check call: 0 when it went through. */
static int verdict(const struct slackapi_reply *r, char *why, size_t whylen)
{
	if (r->cls == DELIVER_OK)
		return 0;
	snprintf(why, whylen, "%s", r->detail);
	return r->cls == DELIVER_RETRY ? ERR_TRANSIENT : ERR_PERMANENT;
}

int slackapi_check(struct httpc *h, const char *base_url, const char *token, const char *channel,
		   char *why, size_t whylen)
{
	char body[STORE_SLACK_ID_MAX + 16];
	struct slackapi_reply r;
	int rc;

	if (channel == NULL || !store_slack_id_valid(channel)) {
		snprintf(why, whylen, "channel is not a Slack channel id");
		return ERR_PERMANENT;
	}
	rc = slackapi_call(h, base_url, token, "auth.test", NULL, &r);
	if (rc == 0)
		rc = verdict(&r, why, whylen);
	if (rc != 0)
		return rc;
	snprintf(body, sizeof(body), "{\"channel\":\"%s\"}", channel);
	rc = slackapi_call(h, base_url, token, "conversations.info", body, &r);
	if (rc != 0)
		return rc;
	if (r.cls == DELIVER_PERMANENT && strcmp(r.error, "missing_scope") == 0) {
		snprintf(why, whylen,
			 "token ok; channel not checked (the app lacks channels:read or"
			 " groups:read)");
		return 0;
	}
	rc = verdict(&r, why, whylen);
	if (rc == 0 && r.channel_archived == 1) {
		snprintf(why, whylen, "conversations.info: is_archived: %s",
			 slackapi_explain("is_archived"));
		rc = ERR_PERMANENT;
	} else if (rc == 0 && r.channel_member == 0) {
		snprintf(why, whylen, "conversations.info: not_in_channel: %s",
			 slackapi_explain("not_in_channel"));
		rc = ERR_PERMANENT;
	} else if (rc == 0) {
		snprintf(why, whylen, "token and channel ok");
	}
	return rc;
}
