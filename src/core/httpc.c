/* Outbound HTTP for the Matillion client and chat delivery, over libcurl.
 * Policy lives here once: TLS is always verified, redirects are never
 * followed, only https is allowed unless configured otherwise, every
 * response body is capped, and no error text ever carries a URL (webhook
 * URLs and their query strings are secrets). */
#include "config.h"
#include "httpc.h"

#include <ctype.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "errors.h"

#define DEFAULT_CONNECT_MS 5000L
#define DEFAULT_TIMEOUT_MS 20000L
#define DEFAULT_MAX_RESPONSE ((size_t)4 * 1024 * 1024)
#define RETRY_AFTER_MAX 64 /* bytes kept of a Retry-After header value */

struct httpc {
	CURL *curl;
	struct httpc_opts o; /* ca_file and proxy point at the owned copies below */
	char *ca_file;
	char *proxy;
};

/* Per-request state shared with the libcurl callbacks. */
struct sink {
	char *buf;
	size_t len;
	size_t cap;
	size_t max;
	int over; /* body exceeded max */
	int nomem;
	char retry_after[RETRY_AFTER_MAX]; /* raw header value, "" when absent */
};

int httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : ERR_IO;
}

void httpc_global_cleanup(void)
{
	curl_global_cleanup();
}

static char *dup_or_null(const char *s, int *failed)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

struct httpc *httpc_new(const struct httpc_opts *o)
{
	struct httpc *h = calloc(1, sizeof(*h));
	int failed = 0;

	if (!h)
		return NULL;
	if (o)
		h->o = *o;
	if (h->o.connect_timeout_ms <= 0)
		h->o.connect_timeout_ms = DEFAULT_CONNECT_MS;
	if (h->o.timeout_ms <= 0)
		h->o.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (h->o.max_response == 0)
		h->o.max_response = DEFAULT_MAX_RESPONSE;
	h->ca_file = dup_or_null(h->o.ca_file, &failed);
	h->proxy = dup_or_null(h->o.proxy, &failed);
	h->o.ca_file = h->ca_file;
	h->o.proxy = h->proxy;
	h->curl = curl_easy_init();
	if (failed || !h->curl) {
		httpc_free(h);
		return NULL;
	}
	return h;
}

void httpc_free(struct httpc *h)
{
	if (!h)
		return;
	if (h->curl)
		curl_easy_cleanup(h->curl);
	free(h->ca_file);
	free(h->proxy);
	free(h);
}

void httpc_response_free(struct httpc_response *resp)
{
	if (!resp)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->len = 0;
}

/* Appends a chunk to the body, refusing to grow past max (returning a short
 * count makes libcurl abort with CURLE_WRITE_ERROR). */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t add = size * n;
	size_t want;
	char *nb;

	if (add > k->max - k->len) {
		k->over = 1;
		return 0;
	}
	want = k->len + add + 1;
	if (want > k->cap) {
		size_t cap = k->cap ? k->cap : 1024;

		while (cap < want)
			cap *= 2;
		if (cap > k->max + 1)
			cap = k->max + 1;
		nb = realloc(k->buf, cap);
		if (!nb) {
			k->nomem = 1;
			return 0;
		}
		k->buf = nb;
		k->cap = cap;
	}
	memcpy(k->buf + k->len, data, add);
	k->len += add;
	k->buf[k->len] = '\0';
	return add;
}

/* Keeps the Retry-After value of the final response; a new status line
 * (after a 100 Continue) starts a new header block. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	size_t nl = sizeof(name) - 1;
	size_t i, j = 0;

	if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
		k->retry_after[0] = '\0';
		return len;
	}
	if (len <= nl || strncasecmp(data, name, nl) != 0)
		return len;
	for (i = nl; i < len && j + 1 < sizeof(k->retry_after); i++) {
		if (data[i] == '\r' || data[i] == '\n')
			break;
		k->retry_after[j++] = data[i];
	}
	k->retry_after[j] = '\0';
	return len;
}

static int url_allowed(const struct httpc *h, const char *url)
{
	if (strncasecmp(url, "https://", 8) == 0)
		return 1;
	return h->o.allow_http && strncasecmp(url, "http://", 7) == 0;
}

static void set_common(struct httpc *h, struct sink *k)
{
	CURL *c = h->curl;

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, h->o.allow_http ? "http,https" : "https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "dpc-notify/1");
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->o.max_response);
	if (h->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
	if (h->proxy)
		curl_easy_setopt(c, CURLOPT_PROXY, h->proxy);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, k);
}

static void set_method(CURL *c, const char *method, const char *body, size_t body_len)
{
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(method, "POST") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? body_len : 0));
}

/* Builds the header list; "Expect:" stops libcurl from waiting on a
 * 100 Continue for larger bodies. Returns 0 or ERR_NOMEM. */
static int build_headers(const char *const *headers, struct curl_slist **out)
{
	struct curl_slist *list = NULL, *t;
	size_t i;

	t = curl_slist_append(list, "Expect:");
	if (!t)
		return ERR_NOMEM;
	list = t;
	for (i = 0; headers && headers[i]; i++) {
		t = curl_slist_append(list, headers[i]);
		if (!t) {
			curl_slist_free_all(list);
			return ERR_NOMEM;
		}
		list = t;
	}
	*out = list;
	return 0;
}

/* Maps a libcurl failure to our codes; resp->error gets curl's generic
 * text, which never includes the URL. */
static int transport_error(CURLcode cc, const struct sink *k, const struct httpc *h,
			   struct httpc_response *resp)
{
	if (k->nomem)
		return ERR_NOMEM;
	if (k->over || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(resp->error, sizeof(resp->error), "response larger than %zu bytes",
			 h->o.max_response);
		return ERR_LIMIT;
	}
	snprintf(resp->error, sizeof(resp->error), "%s", curl_easy_strerror(cc));
	if (cc == CURLE_UNSUPPORTED_PROTOCOL || cc == CURLE_URL_MALFORMAT)
		return ERR_PERMANENT;
	return ERR_TRANSIENT;
}

/* A CR or LF inside a header would end it there and let the rest of the
 * value add headers, or a whole second request, of its own. A NUL cannot
 * hide inside: it ends the C string. Returns 1 when every header is one
 * line. */
static int headers_single_line(const char *const *headers)
{
	size_t i;

	for (i = 0; headers && headers[i]; i++)
		if (strpbrk(headers[i], "\r\n"))
			return 0;
	return 1;
}

static void reset_response(struct httpc_response *resp)
{
	resp->status = 0;
	resp->body = NULL;
	resp->len = 0;
	resp->retry_after_s = -1;
	resp->seconds = 0;
	resp->error[0] = '\0';
}

int httpc_request(struct httpc *h, const char *method, const char *url, const char *const *headers,
		  const char *body, size_t body_len, struct httpc_response *resp)
{
	struct sink k = { .max = h->o.max_response };
	struct curl_slist *list = NULL;
	CURLcode cc;
	int rc;

	reset_response(resp);
	if (!method || !url || !url_allowed(h, url)) {
		snprintf(resp->error, sizeof(resp->error), "URL refused: %s required",
			 h->o.allow_http ? "http or https" : "https");
		return ERR_PERMANENT;
	}
	if (!headers_single_line(headers)) {
		/* The header itself may carry a secret (a bearer token), so the
		 * error does not quote it. */
		snprintf(resp->error, sizeof(resp->error), "request header holds a CR or LF byte");
		return ERR_INVALID;
	}
	rc = build_headers(headers, &list);
	if (rc)
		return rc;
	curl_easy_reset(h->curl); /* keeps the connection cache */
	set_common(h, &k);
	set_method(h->curl, method, body, body_len);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	cc = curl_easy_perform(h->curl);
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME, &resp->seconds);
	/* Drop our pointers from the handle before they go out of scope. */
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(list);
	resp->body = k.buf;
	resp->len = k.len;
	if (k.retry_after[0])
		resp->retry_after_s = httpc_parse_retry_after(k.retry_after, (int64_t)time(NULL));
	if (cc != CURLE_OK)
		return transport_error(cc, &k, h, resp);
	return 0;
}

int httpc_classify(long status)
{
	if (status >= 200 && status <= 299)
		return 0;
	if (status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599))
		return ERR_TRANSIENT;
	return ERR_PERMANENT;
}

/* Parses all-digit delta seconds; -1 on overflow or other bytes. */
static int64_t parse_delta(const char *s, size_t n)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int64_t httpc_parse_retry_after(const char *value, int64_t now)
{
	char buf[RETRY_AFTER_MAX];
	size_t n;
	time_t t;

	if (!value)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	n = strlen(value);
	while (n > 0 && isspace((unsigned char)value[n - 1]))
		n--;
	if (n == 0 || n >= sizeof(buf))
		return -1;
	if (isdigit((unsigned char)value[0]))
		return parse_delta(value, n);
	/* Every HTTP date form (IMF-fixdate, RFC 850, asctime) opens with a
	 * day name; requiring a letter first keeps curl_getdate's looser
	 * grammar from accepting things like "-5". */
	if (!isalpha((unsigned char)value[0]))
		return -1;
	memcpy(buf, value, n);
	buf[n] = '\0';
	t = curl_getdate(buf, NULL);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t > now ? (int64_t)t - now : 0;
}

struct httpc *httpc_from_config(const struct config *c)
{
	struct httpc_opts o = {
		.connect_timeout_ms = c->connect_timeout * 1000L,
		.timeout_ms = c->timeout * 1000L,
		.allow_http = c->allow_http,
		.ca_file = c->ca_file,
		.proxy = c->proxy,
	};

	return httpc_new(&o);
}
