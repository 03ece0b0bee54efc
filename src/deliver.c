/* Chat delivery: one POST of an already rendered JSON body to a Slack or
 * Teams incoming webhook, turned into ok / retry / give up. The detail text
 * is for logs and the dead-letter record, so it carries the status and the
 * start of the reply (Slack answers with bare words like invalid_payload)
 * but never the URL, which is a secret. */
#include "deliver.h"

#include <stdio.h>
#include <string.h>

#include "errors.h"
#include "metrics.h"

#define SNIPPET_MAX 64 /* bytes of a response body quoted in detail */

const char *const deliver_class_names[DELIVER__MAX] = {
	[DELIVER_OK] = "ok",
	[DELIVER_RETRY] = "retry",
	[DELIVER_PERMANENT] = "permanent",
};

/* Copies at most SNIPPET_MAX bytes of an untrusted body as printable ASCII,
 * so a reply cannot forge log lines. Whitespace runs become one space. */
static void snippet(const char *body, size_t len, char *out, size_t outlen)
{
	size_t i, j = 0;

	if (len > SNIPPET_MAX)
		len = SNIPPET_MAX;
	for (i = 0; body && i < len && j + 1 < outlen; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c > 0x7e)
			c = '?';
		if (c == ' ' && (j == 0 || out[j - 1] == ' '))
			continue;
		out[j++] = (char)c;
	}
	while (j > 0 && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* Says whether text contains any URL piece long enough to be a secret
 * (a Slack hook key, a Teams sig= value), in case a server echoes it. */
static int echoes_url(const char *text, const char *url)
{
	const char *p = strstr(url, "://");
	char piece[128];
	size_t n;

	p = p ? p + 3 : url;
	while (*p) {
		n = strcspn(p, "/?&=#");
		if (n >= 8) {
			if (n >= sizeof(piece))
				n = sizeof(piece) - 1;
			memcpy(piece, p, n);
			piece[n] = '\0';
			if (strstr(text, piece))
				return 1;
		}
		p += n;
		if (*p)
			p++;
	}
	return 0;
}

/* Legacy Teams connectors reported throttling as a 200 whose body says so. */
static int throttled_in_body(const struct httpc_response *resp)
{
	return resp->body && strstr(resp->body, "HTTP error 429") != NULL;
}

static enum deliver_class classify(const struct httpc_response *resp)
{
	int c = httpc_classify(resp->status);

	if (c == 0)
		return throttled_in_body(resp) ? DELIVER_RETRY : DELIVER_OK;
	return c == ERR_TRANSIENT ? DELIVER_RETRY : DELIVER_PERMANENT;
}

static void fill_from_status(const struct httpc_response *resp, int rc, const char *url,
			     struct deliver_result *r)
{
	char snip[SNIPPET_MAX + 1];

	r->cls = classify(resp);
	snippet(resp->body, resp->len, snip, sizeof(snip));
	if (echoes_url(snip, url))
		snprintf(snip, sizeof(snip), "(body withheld: it repeats the URL)");
	snprintf(r->detail, sizeof(r->detail), "HTTP %ld%s%s%s%.120s", resp->status,
		 snip[0] ? " " : "", snip,
		 rc == ERR_LIMIT ? "; " : "", rc == ERR_LIMIT ? resp->error : "");
}

int deliver_post(struct httpc *h, const char *url, const char *body, struct deliver_result *r)
{
	static const char *const headers[] = {
		"Content-Type: application/json",
		"Accept: */*",
		NULL,
	};
	struct httpc_response resp;
	int rc;

	rc = httpc_request(h, "POST", url, headers, body, body ? strlen(body) : 0, &resp);
	r->http_status = resp.status;
	r->retry_after_s = resp.retry_after_s;
	r->seconds = resp.seconds;
	metrics_observe(MH_CHAT_LATENCY, resp.seconds);
	if (rc == ERR_NOMEM) {
		httpc_response_free(&resp);
		return ERR_NOMEM;
	}
	if (resp.status > 0 && (rc == 0 || rc == ERR_LIMIT)) {
		fill_from_status(&resp, rc, url, r);
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
