/* Chat targets: one table row per kind of destination (Slack, Teams), so
 * config, worker, preview, send-test and delivery name no target. A row
 * says how a target is called in the config, how fast it may be posted to,
 * how a summary becomes its body, what its URL must look like and how its
 * replies are read. Each row is filled by one file in src/render/; the
 * table and the lookup are in src/render/target.c. Rows are constant and
 * shared by every thread. */
#ifndef DPC_TARGET_H
#define DPC_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include "status.h"
#include "summary.h"

/* Severity levels of an alert (PagerDuty's four), most severe first. */
enum target_severity { TSEV_CRITICAL, TSEV_ERROR, TSEV_WARNING, TSEV_INFO, TSEV__MAX };

/* Lower-case names as written in the config, indexed by enum
 * target_severity. */
extern const char *const target_severity_names[TSEV__MAX];

/* What a renderer needs beyond the summary; all borrowed. */
struct render_opts {
	const char *mention; /* trusted markup from the config, added on problem
			      * runs only (Slack markup, Teams UPN); NULL = none */
	/* The destination's severity map: ST__MAX levels (enum
	 * target_severity) indexed by enum run_status; an entry that is no
	 * level (TSEV__MAX) keeps the target's default for its status. NULL:
	 * the default for all. Read only by rows with takes_severity. */
	const unsigned char *severity;
	/* The run's route sets allow_rerun: a slack-app parent offers Re-run.
	 * Read only by the slack-app row. */
	int allow_rerun;
};

/* Documented ceilings of a target's message; 0 where the target has none. */
struct target_limits {
	size_t max_bytes;   /* whole body, in bytes */
	size_t max_blocks;  /* top-level blocks */
	size_t max_section; /* text of one section, in UTF-16 units */
	size_t max_header;  /* text of a header, in UTF-16 units */
	size_t text_budget; /* text of all blocks together, in UTF-16 units */
};

/* One run of a grouped message (storm grouping): what its line says.
 * Decoded from the text group_item_encode() made when the run's message
 * was held back; every string is owned, raw (renderers escape) and never
 * NULL. */
struct group_item {
	enum run_status status;
	char *status_text; /* the status as sent, for an unknown one */
	char *pipeline;
	char *environment;
	char *where;         /* first failed step's path without the root pipeline; "" */
	char *error;         /* the error's telling line, one line; "" when none */
	char *link;          /* the run (or its failing child's run); "" when none */
	char *mention;       /* the mention this run's own message would carry; "" */
	uint64_t sig;        /* hash of the error with numbers, ids and literals
			* masked: equal for runs that share an error */
	int64_t finished_ms; /* -1 unknown */
};

#define TARGET_HEADERS_MAX 8 /* headers a prepare hook may add */

/* What a target's prepare hook adds to one post. Owned strings. */
struct target_post {
	char *body;                            /* NULL: the stored body */
	char *headers[TARGET_HEADERS_MAX + 1]; /* "Name: value", NULL-terminated */
};

/* Frees what a prepare hook filled in and zeroes it. */
void target_post_free(struct target_post *p);

#define TARGET_MESSAGE_ID_MAX 32 /* bytes of a message id, NUL included */

/* What a reply's body says beyond its status (a row's read_reply hook). */
struct target_reply {
	int64_t retry_after_s;                  /* wait the body asks for, whole seconds
					       * rounded up; -1 when none */
	char message_id[TARGET_MESSAGE_ID_MAX]; /* the created message; "" unknown */
	char channel_id[TARGET_MESSAGE_ID_MAX]; /* its channel (a thread's id); "" unknown */
};

struct target {
	const char *name;         /* value of `type =` in a [destination] */
	double default_rate;      /* messages/s when `rate` is not set */
	const char *content_type; /* of the POSTed body */
	struct target_limits limits;
	/* The body to post for s. Pure. Returns a new string (caller frees)
	 * or NULL on ERR_NOMEM. */
	char *(*render)(const struct summary *s, const struct render_opts *o);
	/* The body of one grouped message naming every run of items (n >= 1,
	 * oldest first), within the target's limits ("+N more" beyond), with
	 * o->mention (NULL: none) at most once. Pure. Returns a new string or
	 * NULL on ERR_NOMEM. NULL row member: the target is never grouped. */
	char *(*render_group)(const struct group_item *items, size_t n,
			      const struct render_opts *o);
	/* Optional; runs at post time, not at render time: the headers to
	 * add and/or the body to send instead of the stored one, from the
	 * stored body, the destination's secret (its `secret =`; NULL when
	 * none), an id that stays the same for every post of one delivery
	 * (post_id) and the time. So a stored payload stays free of secrets
	 * (a routing key goes in here) and a signature covers the exact bytes
	 * and time of each post. *out is zeroed by the caller. Returns 0 with
	 * *out filled (unused members NULL; free with target_post_free()), ERR_NOMEM, or ERR_INVALID when
	 * the body cannot be sent (no secret where one is needed): given up.
	 * NULL row member: the stored body as it is. */
	int (*prepare)(const char *body, const char *secret, const char *post_id, int64_t now_s,
		       struct target_post *out);
	/* Reads a reply: 0 when delivered, ERR_TRANSIENT to retry later,
	 * ERR_PERMANENT to give up. by_status is what the HTTP status alone
	 * says (httpc_classify(), worked out by delivery so renderers need no
	 * HTTP client); body (may be NULL) is NUL-terminated. Pure. */
	int (*classify)(long status, int by_status, const char *body, size_t len);
	/* URL rule beyond the http(s) check every URL gets: a warning for a
	 * URL that parses but will not work, or NULL. NULL rule: none. */
	const char *(*url_warning)(const char *url);
	/* Optional; reads what a reply's body adds to its status (arguments
	 * as for classify): a retry hint the body carries (Discord's JSON
	 * retry_after), the id of the message the post created and of its
	 * channel. *out comes set to { -1, "", "" }; hostile values are
	 * clamped or ignored. Pure.
	 * NULL row member: the body adds nothing. */
	void (*read_reply)(long status, const char *body, size_t len, struct target_reply *out);
	/* "name=value" added to the destination URL's query at post time
	 * (Discord's wait=true, so the reply carries the message), unless the
	 * URL already sets name. NULL: the URL as configured. */
	const char *url_query;
	/* 1 when render reads render_opts.severity (so a destination's
	 * severity key means something); 0 when it is ignored. */
	int takes_severity;
};

/* Bytes of one encoded group item at most (group_item_encode()). */
#define GROUP_ITEM_MAX 4096

/* The line of run s in a grouped message, as compact JSON text to keep
 * with its held delivery; mention is the one s's own message would carry
 * to this destination (NULL: none; kept only where the view adds one).
 * Pure. Returns a new string of at most GROUP_ITEM_MAX bytes, or NULL on
 * ERR_NOMEM. */
char *group_item_encode(const struct summary *s, const char *mention);

/* Reads text made by group_item_encode() into *it (zeroed first; free
 * with group_item_free()). Hostile or damaged text never fails: missing
 * or wrong fields read as unknown, strings are sanitised and cut. Returns
 * 0 or ERR_NOMEM. */
int group_item_decode(const char *text, struct group_item *it);
void group_item_free(struct group_item *it);

/* The row named name (any letter case), or NULL. Borrowed, never freed. */
const struct target *target_find(const char *name);

/* Row i in table order, or NULL past the last; for loops over all rows. */
const struct target *target_at(size_t i);

/* The names of all rows as a sentence ("slack or teams"), then, when last
 * is not NULL, last as one more name ("slack, teams or text"), into out
 * (truncated to outlen). */
void target_names(char *out, size_t outlen, const char *last);

/* Extra rows a unit-test build links in, NULL-terminated, listed after the
 * built-in ones. src/render/target.c only declares it, weak; a test that
 * defines it (tests/unit/test_target.c) fills it at link time. The service
 * never defines it, so it has the built-in rows alone. */
extern const struct target *const target_extra[];

#endif
