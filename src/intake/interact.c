/* The pure part of Slack's interactivity requests (include/interact.h):
 * checking Slack's request signature, reading one button click out of its
 * form body with every value checked, the allow-list lookup and the
 * execution tag of a re-run. No I/O; the endpoint is interact_http.c. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#include "auth.h"
#include "config.h"
#include "errors.h"
#include "interact.h"
#include "sign.h"
#include "text.h"
#include "webhook.h"

const char *const interact_verdict_names[IV__MAX] = {
	[IV_OK] = "ok",
	[IV_MISSING] = "missing",
	[IV_STALE] = "stale",
	[IV_SIGNATURE] = "bad_signature",
};
const char *const action_ids[ACT__MAX] = {
	[ACT_ACK] = "dpc_ack",
	[ACT_MUTE] = "dpc_mute",
	[ACT_UNMUTE] = "dpc_unmute",
	[ACT_RERUN] = "dpc_rerun",
};

/* The menu of mute lengths the message offers; nothing else is taken. */
static const char *const mute_values[] = { "1h", "24h", "7d" };

#define TS_DIGITS_MAX 18 /* a timestamp longer than this is no time of ours */

enum action_kind action_kind_of(const char *action_id)
{
	size_t i;

	for (i = 0; action_id != NULL && i < ACT__MAX; i++)
		if (strcmp(action_id, action_ids[i]) == 0)
			return (enum action_kind)i;
	return ACT__MAX;
}

/* The timestamp header as seconds: digits only (no sign, space or
 * fraction), at most TS_DIGITS_MAX of them, so it cannot overflow. -1
 * otherwise. */
static int64_t ts_seconds(const char *ts)
{
	size_t n = strspn(ts, "0123456789");
	int64_t v = 0;
	size_t i;

	if (n == 0 || n > TS_DIGITS_MAX || ts[n] != '\0')
		return -1;
	for (i = 0; i < n; i++)
		v = v * 10 + (ts[i] - '0');
	return v;
}

/* 1 when ts is within the tolerance of now, either way, without an
 * overflow whatever now is (ts is at most 10^18). */
static int ts_fresh(int64_t ts, int64_t now)
{
	if (ts <= 0)
		return 0;
	if (now >= ts)
		return now - ts <= INTERACT_TOLERANCE_S;
	return now >= ts - INTERACT_TOLERANCE_S;
}

enum interact_verdict interact_verify(const char *secret, const char *ts, const char *sig,
				      const char *body, size_t len, int64_t now_s)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[SIGN_MAC_LEN];
	char want[3 + 2 * SIGN_MAC_LEN + 1];
	const void *parts[4];
	size_t lens[4], i;
	int64_t t;

	if (ts == NULL || sig == NULL || ts[0] == '\0' || sig[0] == '\0')
		return IV_MISSING;
	t = ts_seconds(ts);
	if (t < 0 || !ts_fresh(t, now_s))
		return IV_STALE;
	if (secret == NULL || secret[0] == '\0' || (body == NULL && len > 0))
		return IV_SIGNATURE;
	parts[0] = "v0:";
	lens[0] = 3;
	parts[1] = ts;
	lens[1] = strlen(ts);
	parts[2] = ":";
	lens[2] = 1;
	parts[3] = body;
	lens[3] = len;
	if (sign_hmac(secret, strlen(secret), parts, lens, 4, mac) != 0)
		return IV_SIGNATURE;
	memcpy(want, "v0=", 3);
	for (i = 0; i < SIGN_MAC_LEN; i++) {
		want[3 + 2 * i] = hex[mac[i] >> 4];
		want[4 + 2 * i] = hex[mac[i] & 15];
	}
	want[sizeof(want) - 1] = '\0';
	return auth_equal(sig, strlen(sig), want, sizeof(want) - 1) ? IV_OK : IV_SIGNATURE;
}

/* 1 when s[0..n) holds only well-formed %XX escapes. */
static int escapes_ok(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '%' && (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) ||
				    !isxdigit((unsigned char)s[i + 2])))
			return 0;
	return 1;
}

/* The decoded value of the form field "payload" of body, NUL-terminated;
 * caller frees. NULL when absent, malformed, holding a NUL, or out of
 * memory. */
static char *form_payload(const char *body, size_t len)
{
	const char *p = body, *end = body + len, *amp;
	char *plus = NULL, *out = NULL, *dec;
	size_t n = 0, i;
	int outlen = 0;

	while (p < end) {
		amp = memchr(p, '&', (size_t)(end - p));
		n = amp ? (size_t)(amp - p) : (size_t)(end - p);
		if (n > 8 && memcmp(p, "payload=", 8) == 0)
			break;
		p += n + 1;
	}
	if (p >= end || !escapes_ok(p + 8, n - 8) || n - 8 > INTERACT_BODY_MAX)
		return NULL;
	plus = malloc(n - 8 + 1);
	if (plus == NULL)
		return NULL;
	for (i = 0; i < n - 8; i++)
		plus[i] = p[8 + i] == '+' ? ' ' : p[8 + i];
	dec = curl_easy_unescape(NULL, plus, (int)(n - 8), &outlen);
	free(plus);
	if (dec == NULL)
		return NULL;
	if (outlen >= 0 && memchr(dec, '\0', (size_t)outlen) == NULL)
		out = strdup(dec);
	curl_free(dec);
	return out;
}

/* The string at path a.b (b may be NULL) of root, or NULL. */
static const char *str_at(const cJSON *root, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(root, a);

	if (b != NULL)
		x = cJSON_IsObject(x) ? cJSON_GetObjectItemCaseSensitive(x, b) : NULL;
	return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* Copies s into dst (cap bytes) when it is 1..cap-1 bytes of the set
 * allowed; 0 otherwise. */
static int copy_shaped(char *dst, size_t cap, const char *s, const char *allowed)
{
	size_t n;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n == 0 || n >= cap || strspn(s, allowed) != n)
		return 0;
	memcpy(dst, s, n + 1);
	return 1;
}

/* A Slack ts: digits, one dot, digits. */
static int copy_ts(char *dst, const char *s)
{
	const char *dot;

	if (!copy_shaped(dst, ACTION_ID_MAX, s, "0123456789."))
		return 0;
	dot = strchr(s, '.');
	return dot != NULL && dot != s && dot[1] != '\0' && strchr(dot + 1, '.') == NULL;
}

/* The user's name as kept: sanitised (no control or bidi characters) and
 * cut to fit, on a character boundary. "" when absent. */
static int copy_name(char *dst, const char *s)
{
	char *clean;
	size_t n;

	dst[0] = '\0';
	if (s == NULL)
		return 0;
	clean = text_sanitize(s, strlen(s), 0);
	if (clean == NULL)
		return ERR_NOMEM;
	n = text_utf8_prefix(clean, ACTION_NAME_MAX - 1);
	memcpy(dst, clean, n);
	dst[n] = '\0';
	free(clean);
	return 0;
}

/* The button's value by kind: a mute's menu choice, an unmute's silence
 * id (1 .. 2^53). */
static int copy_value(struct action *a, const cJSON *act)
{
	const char *v = str_at(act, "value", NULL);
	size_t i;
	char *end;
	unsigned long long id;

	if (a->kind == ACT_MUTE) {
		const char *opt = str_at(act, "selected_option", "value");
		if (opt != NULL)
			v = opt;
		for (i = 0; v != NULL && i < sizeof(mute_values) / sizeof(mute_values[0]); i++)
			if (strcmp(v, mute_values[i]) == 0)
				return copy_shaped(a->value, sizeof(a->value), v, "0123456789hd");
		return 0;
	}
	if (a->kind != ACT_UNMUTE)
		return 1; /* the other buttons carry nothing we read */
	if (v == NULL || v[0] < '1' || v[0] > '9' || strlen(v) > 16 ||
	    strspn(v, "0123456789") != strlen(v))
		return 0;
	id = strtoull(v, &end, 10);
	if (id == 0 || id > (1ULL << 53))
		return 0;
	return copy_shaped(a->value, sizeof(a->value), v, "0123456789");
}

#define ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define URL_CHARS                                                        \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789" \
	"-._~:/?#[]@!$&'()*+,;=%"

/* Reads the click from the parsed payload. ERR_INVALID with *why. */
static int read_click(const cJSON *root, struct action *a, const char **why)
{
	const cJSON *acts = cJSON_GetObjectItemCaseSensitive(root, "actions");
	const cJSON *act = cJSON_IsArray(acts) ? cJSON_GetArrayItem(acts, 0) : NULL;
	const char *chan = str_at(root, "container", "channel_id");
	const char *ts = str_at(root, "container", "message_ts");
	const char *name = str_at(root, "user", "username");

	*why = "not a block_actions payload";
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "type")) ||
	    strcmp(str_at(root, "type", NULL), "block_actions") != 0)
		return ERR_INVALID;
	*why = "no user id";
	if (!config_slack_id_ok(str_at(root, "user", "id"), "UW"))
		return ERR_INVALID;
	memcpy(a->user_id, str_at(root, "user", "id"), strlen(str_at(root, "user", "id")) + 1);
	if (copy_name(a->user_name, name != NULL ? name : str_at(root, "user", "name")) != 0) {
		*why = "out of memory";
		return ERR_NOMEM;
	}
	*why = "no action";
	if (!cJSON_IsObject(act))
		return ERR_INVALID;
	/* A button of Slack's own kind (a link such as "Open run") still
	 * makes Slack send a click, with an action_id it made up or none. */
	*why = "not an action of ours";
	a->kind = action_kind_of(str_at(act, "action_id", NULL));
	if (a->kind == ACT__MAX)
		return ERR_NOTFOUND;
	*why = "bad action value";
	if (!copy_value(a, act))
		return ERR_INVALID;
	*why = "bad action_ts";
	if (!copy_ts(a->action_ts, str_at(act, "action_ts", NULL)))
		return ERR_INVALID;
	if (chan == NULL)
		chan = str_at(root, "channel", "id");
	if (ts == NULL)
		ts = str_at(root, "message", "ts");
	*why = "bad channel or message";
	if (!config_slack_id_ok(chan, "CGD") || !copy_ts(a->message_ts, ts))
		return ERR_INVALID;
	memcpy(a->channel, chan, strlen(chan) + 1);
	*why = "bad response_url";
	if (!copy_shaped(a->response_url, sizeof(a->response_url),
			 str_at(root, "response_url", NULL), URL_CHARS))
		return ERR_INVALID;
	return 0;
}

int interact_parse(const char *body, size_t len, struct action *out, const char **why)
{
	char *json = NULL;
	cJSON *root = NULL;
	int rc = ERR_PARSE;

	memset(out, 0, sizeof(*out));
	*why = "not a form with a payload";
	if (body == NULL || len > INTERACT_BODY_MAX)
		goto out;
	json = form_payload(body, len);
	if (json == NULL)
		goto out;
	*why = "payload nests too deep";
	if (webhook_json_too_deep(json, strlen(json), INTERACT_JSON_DEPTH))
		goto out;
	*why = "payload is not JSON";
	root = cJSON_Parse(json);
	if (root == NULL)
		goto out;
	rc = cJSON_IsObject(root) ? read_click(root, out, why) : ERR_INVALID;
	if (rc == ERR_NOTFOUND)
		memset(out, 0, sizeof(*out));
	if (rc == ERR_INVALID && !cJSON_IsObject(root))
		*why = "payload is not an object";
out:
	cJSON_Delete(root);
	free(json);
	return rc;
}

int interact_response_url_ok(const char *url, int any_host)
{
	static const char slack[] = "https://hooks.slack.com/";
	size_t n;

	if (url == NULL)
		return 0;
	n = strlen(url);
	if (n == 0 || n >= ACTION_URL_MAX || strspn(url, URL_CHARS) != n)
		return 0;
	if (any_host)
		return strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
	return n > sizeof(slack) - 1 && strncmp(url, slack, sizeof(slack) - 1) == 0;
}

int interact_user_listed(const char *user_id, char *const *users, size_t n_users)
{
	size_t i;

	for (i = 0; user_id != NULL && i < n_users; i++)
		if (users[i] != NULL && strcmp(users[i], user_id) == 0)
			return 1;
	return 0;
}

void interact_execution_tag(const char *channel, const char *ts, int64_t since_ms,
			    uint32_t failures, char out[INTERACT_TAG_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[2 * ACTION_ID_MAX + 64];
	int n;
	size_t i;

	/* Each field ends in a byte the others cannot hold, so no two sets
	 * of values give the same text. */
	n = snprintf(buf, sizeof(buf), "%s\n%s\n%" PRId64 "\n%" PRIu32, channel ? channel : "",
		     ts ? ts : "", since_ms, failures);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    !EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) || mdlen < 16) {
		memset(md, 0, sizeof(md));
	}
	memcpy(out, "dpc-notify-", 11);
	for (i = 0; i < 16; i++) {
		out[11 + 2 * i] = hex[md[i] >> 4];
		out[12 + 2 * i] = hex[md[i] & 15];
	}
	out[11 + 32] = '\0';
}
