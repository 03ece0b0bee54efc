/* Chat delivery: POST a rendered body to a chat target's webhook and say
 * whether it worked, should be retried or should be given up. */
#ifndef DPC_DELIVER_H
#define DPC_DELIVER_H

#include <stdint.h>
#include "httpc.h"

enum deliver_class { DELIVER_OK, DELIVER_RETRY, DELIVER_PERMANENT, DELIVER__MAX };
extern const char *const deliver_class_names[DELIVER__MAX];

struct deliver_result {
	enum deliver_class cls;
	long http_status;      /* 0 on network failure */
	int64_t retry_after_s; /* -1 when none */
	double seconds;
	char detail[256];    /* e.g. "429 rate_limited", "connect timeout"; never the URL */
	char message_id[32]; /* the message the post created, when the target's reply
			      * names it (Discord); "" otherwise */
	char channel_id[32]; /* the channel it was created in, when the reply names it
			      * (Discord: a thread's id in a forum post); "" otherwise */
};

#define DELIVER_SNIPPET_MAX 64 /* bytes of a reply body quoted in detail */

/* Writes into out (outlen bytes) the start of an untrusted reply body as it
 * may be logged and stored: printable ASCII only, whitespace runs as one
 * space, at most DELIVER_SNIPPET_MAX bytes. Any stretch of 8 or more
 * characters that also occurs in a secret piece of url (a path segment,
 * a query value, the userinfo), raw, percent-decoded or percent-encoded and
 * in any letter case, becomes "[redacted]"; should a fragment still show,
 * the whole body is withheld. Pure; never fails. */
void deliver_snippet(const char *body, size_t len, const char *url, char *out, size_t outlen);

struct target;

/* Per post: the destination's secret (NULL: none) and an id that is the
 * same for every post of one delivery; both reach t's prepare hook. */
struct deliver_opts {
	const char *secret;
	const char *post_id;
};

/* Posts body (after t's prepare hook, when it has one; o may be NULL)
 * with t's content type; t's classifier reads the reply (any 2xx
 * is DELIVER_OK for Slack and Teams, Teams also retries a 200 that reports
 * "HTTP error 429"; 408, 429, 5xx are DELIVER_RETRY; other 4xx
 * DELIVER_PERMANENT). No response is DELIVER_RETRY, a refused URL
 * DELIVER_PERMANENT. Returns 0 when r was filled (always, barring NOMEM). */
int deliver_post(struct httpc *h, const struct target *t, const char *url, const char *body,
		 const struct deliver_opts *o, struct deliver_result *r);

/* Edits a message: PATCH url (complete: nothing is added to it) with
 * body and t's content type, no prepare hook; the reply is read and r
 * filled as by deliver_post() (Discord's "Edit Webhook Message"). Returns
 * 0 when r was filled, or ERR_NOMEM. */
int deliver_edit(struct httpc *h, const struct target *t, const char *url, const char *body,
		 struct deliver_result *r);

/* url with tail appended to its path (NULL: none) and param, "name=value"
 * (NULL: none), appended to its query unless the query already sets name;
 * built with libcurl's URL API, so tail and param must be URL-safe
 * already (a caller checks values from a peer first). Returns a new
 * string (caller frees) or NULL when url does not read as a URL or out of
 * memory. */
char *deliver_url(const char *url, const char *tail, const char *param);

#endif
