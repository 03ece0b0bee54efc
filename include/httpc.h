/* The outbound HTTP client shared by the Matillion client and chat delivery:
 * libcurl with TLS verification always on, no redirects, connect and total
 * timeouts, proxy from config or HTTPS_PROXY/NO_PROXY. One struct httpc per
 * thread (it reuses one curl handle, hence keep-alive connections). */
#ifndef DPC_HTTPC_H
#define DPC_HTTPC_H

#include <stddef.h>
#include <stdint.h>

struct httpc_opts {
	long connect_timeout_ms; /* default 5000 when 0 */
	long timeout_ms;         /* whole request; default 20000 when 0 */
	int allow_http;          /* 0: only https:// URLs are allowed */
	const char *ca_file;     /* NULL: system bundle */
	const char *proxy;       /* NULL: libcurl reads HTTPS_PROXY/NO_PROXY */
	size_t max_response;     /* bytes kept of a response body; default 4 MiB */
};

struct httpc_response {
	long status; /* HTTP status, 0 when no response */
	char *body;  /* NUL-terminated, owned; NULL when none */
	size_t len;
	int64_t retry_after_s; /* parsed Retry-After, -1 when absent */
	double seconds;        /* total time */
	char error[256];       /* transport error text ("" when none); no URLs */
};

/* Does libcurl's global init; call once from main before threads. */
int httpc_global_init(void);
void httpc_global_cleanup(void);

/* Options are copied. Returns NULL on ERR_NOMEM. */
struct httpc *httpc_new(const struct httpc_opts *o);
void httpc_free(struct httpc *h);

/* httpc_new() with the [delivery] HTTP settings of c (timeouts, allow_http,
 * ca_file, proxy). */
struct config;
struct httpc *httpc_from_config(const struct config *c);

/* Performs one request. headers is a NULL-terminated list of "Name: value"
 * (may be NULL); body may be NULL for GET. Fills resp (free with
 * httpc_response_free) even on failure. Returns 0 when an HTTP response was
 * received (any status); ERR_TRANSIENT for network errors and timeouts;
 * ERR_PERMANENT for a refused URL (not https without allow_http, bad URL);
 * ERR_LIMIT when the body exceeds max_response; ERR_INVALID, before
 * anything is sent, when a header holds a CR or LF byte (it would inject
 * headers or a second request; a caller passing peer-supplied values in a
 * header must check them first, this is the last line of defence). */
int httpc_request(struct httpc *h, const char *method, const char *url, const char *const *headers,
		  const char *body, size_t body_len, struct httpc_response *resp);
void httpc_response_free(struct httpc_response *resp);

/* Classifies an HTTP status: 0 for 2xx, ERR_TRANSIENT for 408, 425, 429 and
 * 5xx, ERR_PERMANENT for the rest. */
int httpc_classify(long status);

/* Parses a Retry-After value (delta seconds or an HTTP date, relative to
 * now unix seconds). Returns seconds >= 0, or -1 when unparseable. */
int64_t httpc_parse_retry_after(const char *value, int64_t now);

#endif
