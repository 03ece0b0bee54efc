/* Chat delivery: one POST of an already rendered body to a chat target's
 * incoming webhook (or one PATCH editing a message it made), turned into
 * ok / retry / give up by the target's own reading of the reply. The detail text
 * is for logs and the dead-letter record, so it carries the status and the
 * start of the reply (Slack answers with bare words like invalid_payload)
 * but never the URL, which is a secret: not whole, and no fragment of 8 or
 * more characters of a path segment, query value or userinfo, even when
 * the reply echoes it percent-encoded or cut short (deliver_snippet). */
#include "deliver.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "metrics.h"
#include "target.h"
#include "text.h"

const char *const deliver_class_names[DELIVER__MAX] = {
	[DELIVER_OK] = "ok",
	[DELIVER_RETRY] = "retry",
	[DELIVER_PERMANENT] = "permanent",
};

/* The target reads the reply: what counts as delivered is its own rule. */
static enum deliver_class classify(const struct target *t, const struct httpc_response *resp)
{
	int c = t->classify(resp->status, httpc_classify(resp->status), resp->body, resp->len);

	if (c == 0)
		return DELIVER_OK;
	return c == ERR_TRANSIENT ? DELIVER_RETRY : DELIVER_PERMANENT;
}

/* Secret pieces of a webhook URL and the forms they may come back in. */
#define GRAM 8                           /* shortest secret fragment that is redacted */
#define WINDOW (4 * DELIVER_SNIPPET_MAX) /* body bytes examined */
#define REDACTED "[redacted]"
#define WITHHELD "(body withheld: it repeats the URL)"

/* Maps one body byte to what a log may show: printable ASCII, blanks as
 * ' ', everything else '?'. */
static char shown(unsigned char c)
{
	if (c == '\r' || c == '\n' || c == '\t')
		return ' ';
	return c < 0x20 || c > 0x7e ? '?' : (char)c;
}

/* Copies at most max bytes of an untrusted body as shown(), with runs of
 * blanks as one space and none at the start; returns the length. */
static size_t flatten(const char *body, size_t len, char *out, size_t max)
{
	size_t i, j = 0;
	char c;

	for (i = 0; body && i < len && j < max; i++) {
		c = shown((unsigned char)body[i]);
		if (c == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = c;
	}
	return j;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends to forms (NUL-separated, *used bytes so far) the three forms of
 * one piece p[0..n): as in the URL, percent-decoded (as shown() would
 * print it) and fully percent-encoded. forms has room for 7 * n + 3 more
 * bytes. Pieces shorter than GRAM cannot hold a fragment and are skipped. */
static void add_piece(const char *p, size_t n, char *forms, size_t *used)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = forms + *used, *dec = NULL;
	size_t i, d = 0;
	unsigned char c;

	if (n < GRAM)
		return;
	for (i = 0; i < n; i++)
		*o++ = shown((unsigned char)p[i]);
	*o++ = '\0';
	dec = o; /* decoded bytes, turned into shown() form below */
	for (i = 0; i < n; i++) {
		if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
			dec[d++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		} else {
			dec[d++] = p[i];
		}
	}
	o = dec + d + 1;
	for (i = 0; i < d; i++) {
		c = (unsigned char)dec[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		dec[i] = shown(c);
	}
	dec[d] = '\0';
	*o++ = '\0';
	*used = (size_t)(o - forms);
}

/* Collects the secret pieces of url into forms (room 7 * strlen(url) + 4):
 * the userinfo, every path segment, every query value (not its name) and
 * the fragment. The host is not a secret. Returns the bytes used. */
static size_t url_secrets(const char *url, char *forms)
{
	const char *p = strstr(url, "://"), *at, *eq;
	size_t used = 0, n;

	p = p ? p + 3 : url;
	n = strcspn(p, "/?#");
	at = memchr(p, '@', n);
	if (at != NULL)
		add_piece(p, (size_t)(at - p), forms, &used);
	for (p += n; *p == '/'; p += n) {
		n = strcspn(++p, "/?#");
		add_piece(p, n, forms, &used);
	}
	for (; *p == '?' || *p == '&'; p += n) {
		n = strcspn(++p, "&#");
		eq = memchr(p, '=', n);
		if (eq != NULL)
			add_piece(eq + 1, n - (size_t)(eq + 1 - p), forms, &used);
		else
			add_piece(p, n, forms, &used);
	}
	if (*p == '#')
		add_piece(p + 1, strlen(p + 1), forms, &used);
	forms[used] = '\0';
	return used;
}

/* 1 when the GRAM bytes at g occur, in any letter case, in one of forms. */
static int is_secret(const char *g, const char *forms, size_t flen)
{
	const char *f;
	size_t n, j;

	for (f = forms; f < forms + flen; f += n + 1) {
		n = strlen(f);
		for (j = 0; j + GRAM <= n; j++)
			if (strncasecmp(g, f + j, GRAM) == 0)
				return 1;
	}
	return 0;
}

/* 1 when any GRAM bytes of t[0..n) are secret. */
static int leaks(const char *t, size_t n, const char *forms, size_t flen)
{
	size_t i;

	for (i = 0; i + GRAM <= n; i++)
		if (is_secret(t + i, forms, flen))
			return 1;
	return 0;
}

/* Copies t[0..n) to out (room 2 * n + 1) with every stretch covered by a
 * secret gram replaced by REDACTED; returns the new length. */
static size_t redact(const char *t, size_t n, const char *forms, size_t flen, char *out)
{
	unsigned char cover[WINDOW] = { 0 };
	size_t i, k, o = 0;

	for (i = 0; i + GRAM <= n; i++)
		if (is_secret(t + i, forms, flen))
			memset(cover + i, 1, GRAM);
	for (i = 0; i < n; i = k) {
		for (k = i; k < n && cover[k] == cover[i]; k++)
			;
		if (cover[i]) {
			memcpy(out + o, REDACTED, sizeof(REDACTED) - 1);
			o += sizeof(REDACTED) - 1;
		} else {
			memcpy(out + o, t + i, k - i);
			o += k - i;
		}
	}
	return o;
}

/* The redaction runs on the first WINDOW flattened bytes, not just on the
 * DELIVER_SNIPPET_MAX that are kept, so a fragment crossing the cut is
 * already gone when the cut is made (a prefix holds no stretch its whole
 * did not). Flattening comes first because it can join characters into a
 * fragment. The marker next to other text could in theory form one again;
 * a last check then withholds the body. Cost: WINDOW * url forms * GRAM. */
void deliver_snippet(const char *body, size_t len, const char *url, char *out, size_t outlen)
{
	char flat[WINDOW], red[2 * WINDOW + 1], *forms;
	size_t n, flen, m, ulen = url ? strlen(url) : 0;

	if (outlen == 0)
		return;
	out[0] = '\0';
	n = flatten(body, len, flat, sizeof(flat));
	forms = ulen <= SIZE_MAX / 8 - 1 ? malloc(7 * ulen + 4) : NULL;
	if (forms == NULL) {
		if (n > 0)
			snprintf(out, outlen, "%s", WITHHELD);
		return;
	}
	flen = url_secrets(url, forms);
	m = redact(flat, n, forms, flen, red);
	if (m > DELIVER_SNIPPET_MAX)
		m = DELIVER_SNIPPET_MAX;
	while (m > 0 && red[m - 1] == ' ')
		m--;
	if (m >= outlen)
		m = outlen - 1;
	red[m] = '\0';
	snprintf(out, outlen, "%s", leaks(red, m, forms, flen) ? WITHHELD : red);
	free(forms);
}

static void fill_from_status(const struct target *t, const struct httpc_response *resp, int rc,
			     const char *url, struct deliver_result *r)
{
	char snip[DELIVER_SNIPPET_MAX + 1];

	r->cls = classify(t, resp);
	deliver_snippet(resp->body, resp->len, url, snip, sizeof(snip));
	snprintf(r->detail, sizeof(r->detail), "HTTP %ld%s%s%s%.120s", resp->status,
		 snip[0] ? " " : "", snip, rc == ERR_LIMIT ? "; " : "",
		 rc == ERR_LIMIT ? resp->error : "");
}

/* 1 when the query q (may be NULL) has a parameter called like the
 * name of "name=value" in param. */
static int query_has(const char *q, const char *param)
{
	size_t n = strcspn(param, "="), len;

	for (; q != NULL && *q; q += len + (q[len] == '&')) {
		len = strcspn(q, "&");
		if ((len == n || (len > n && q[n] == '=')) && strncmp(q, param, n) == 0)
			return 1;
	}
	return 0;
}

/* url with tail added to its path (NULL: none) and param ("name=value";
 * NULL: none) appended to its query unless the query names it already,
 * by libcurl's URL API. NULL when url does not read or out of memory. */
static char *url_build(const char *url, const char *tail, const char *param)
{
	CURLU *u = curl_url();
	char *q = NULL, *path = NULL, *joined = NULL, *out = NULL;
	int ok;

	if (u == NULL)
		return NULL;
	ok = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK;
	if (ok && tail != NULL) {
		ok = curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
		     (joined = text_concat3(path, tail, NULL)) != NULL &&
		     curl_url_set(u, CURLUPART_PATH, joined, 0) == CURLUE_OK;
	}
	if (ok && param != NULL) {
		ok = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK || q == NULL;
		if (ok && !query_has(q, param))
			ok = curl_url_set(u, CURLUPART_QUERY, param, CURLU_APPENDQUERY) ==
			     CURLUE_OK;
	}
	if (ok && curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
		out = NULL;
	curl_free(q);
	curl_free(path);
	free(joined);
	curl_url_cleanup(u);
	return out;
}

char *deliver_url(const char *url, const char *tail, const char *param)
{
	char *c = url != NULL ? url_build(url, tail, param) : NULL, *out;

	out = c != NULL ? strdup(c) : NULL;
	curl_free(c);
	return out;
}

/* The URL to post to: url with t's url_query appended, unless url
 * already sets that parameter. A URL libcurl cannot read is posted as it
 * is (httpc refuses it the same way). Caller frees with curl_free(); NULL
 * means url as it is. */
static char *post_url(const struct target *t, const char *url)
{
	return t->url_query != NULL ? url_build(url, NULL, t->url_query) : NULL;
}

/* What the reply's body adds, for a row that reads it: a longer wait than
 * the Retry-After header's, and the created message's id and channel
 * (the id logged at debug; Discord's incidents keep both, dthread.c). */
static void read_reply(const struct target *t, const struct httpc_response *resp,
		       struct deliver_result *r)
{
	struct target_reply tr = { -1, "", "" };

	if (t->read_reply == NULL || resp->status <= 0)
		return;
	t->read_reply(resp->status, resp->body, resp->len, &tr);
	if (tr.retry_after_s > r->retry_after_s)
		r->retry_after_s = tr.retry_after_s;
	tr.message_id[sizeof(tr.message_id) - 1] = '\0';
	tr.channel_id[sizeof(tr.channel_id) - 1] = '\0';
	snprintf(r->message_id, sizeof(r->message_id), "%s", tr.message_id);
	snprintf(r->channel_id, sizeof(r->channel_id), "%s", tr.channel_id);
	if (r->message_id[0])
		log_event(LOG_DEBUG, "chat message created", "target", t->name, "message_id",
			  r->message_id, NULL);
}

_Static_assert(sizeof(((struct deliver_result *)0)->message_id) == TARGET_MESSAGE_ID_MAX,
	       "a message id fits the result");

/* One request of method to url (complete: nothing is added) with body,
 * read by t as deliver_post() reads a post's reply. The detail never
 * quotes url. Returns 0 when r was filled, or ERR_NOMEM. */
static int send_request(struct httpc *h, const struct target *t, const char *method,
			const char *url, const char *const *headers, const char *body,
			struct deliver_result *r)
{
	struct httpc_response resp;
	int rc;

	rc = httpc_request(h, method, url, headers, body, body ? strlen(body) : 0, &resp);
	r->http_status = resp.status;
	r->retry_after_s = resp.retry_after_s;
	r->seconds = resp.seconds;
	r->message_id[0] = '\0';
	r->channel_id[0] = '\0';
	metrics_observe(MH_CHAT_LATENCY, resp.seconds);
	if (rc == ERR_NOMEM) {
		httpc_response_free(&resp);
		return ERR_NOMEM;
	}
	if (resp.status > 0 && (rc == 0 || rc == ERR_LIMIT)) {
		fill_from_status(t, &resp, rc, url, r);
		read_reply(t, &resp, r);
	} else {
		/* No response: a refused URL is permanent, the network is not. */
		r->cls = rc == ERR_PERMANENT ? DELIVER_PERMANENT : DELIVER_RETRY;
		r->http_status = 0;
		snprintf(r->detail, sizeof(r->detail), "%s",
			 resp.error[0] ? resp.error : err_str(rc));
	}
	httpc_response_free(&resp);
	return 0;
}

int deliver_post(struct httpc *h, const struct target *t, const char *url, const char *body,
		 const struct deliver_opts *o, struct deliver_result *r)
{
	char *to = NULL;
	char type[128];
	const char *headers[TARGET_HEADERS_MAX + 3] = { type, "Accept: */*" };
	struct target_post tp;
	size_t i;
	int rc;

	memset(&tp, 0, sizeof(tp));
	snprintf(type, sizeof(type), "Content-Type: %s", t->content_type);
	if (t->prepare != NULL) {
		rc = t->prepare(body, o ? o->secret : NULL, o && o->post_id ? o->post_id : "",
				clock_wall_ms() / 1000, &tp);
		if (rc == ERR_NOMEM)
			return ERR_NOMEM;
		if (rc != 0) {
			memset(r, 0, sizeof(*r));
			r->cls = DELIVER_PERMANENT;
			r->retry_after_s = -1;
			snprintf(r->detail, sizeof(r->detail), "cannot be sent: %s", err_str(rc));
			return 0;
		}
		if (tp.body != NULL)
			body = tp.body;
		for (i = 0; i < TARGET_HEADERS_MAX && tp.headers[i] != NULL; i++)
			headers[2 + i] = tp.headers[i];
	}

	to = post_url(t, url);
	rc = send_request(h, t, "POST", to ? to : url, headers, body, r);
	curl_free(to);
	target_post_free(&tp);
	return rc;
}

int deliver_edit(struct httpc *h, const struct target *t, const char *url, const char *body,
		 struct deliver_result *r)
{
	char type[128];
	const char *headers[] = { type, "Accept: */*", NULL };

	memset(r, 0, sizeof(*r));
	r->retry_after_s = -1;
	snprintf(type, sizeof(type), "Content-Type: %s", t->content_type);
	return send_request(h, t, "PATCH", url, headers, body, r);
}
