/* Private to src/render/: the rows each target file fills, the view that
 * decides what a chat message says (view.c), and the plain-text wording
 * (wording.c). All of it is raw text: each renderer escapes it for its
 * target. */
#ifndef DPC_RENDER_INT_H
#define DPC_RENDER_INT_H

#include <stddef.h>
#include <stdint.h>
#include "summary.h"
#include "target.h"

/* The built-in rows, one per file: slack.c, teams.c, discord.c,
 * mattermost.c, json.c, gchat.c, pagerduty.c, slackapp.c. */
extern const struct target target_slack;
extern const struct target target_teams;
extern const struct target target_discord;
extern const struct target target_mattermost;
extern const struct target target_json;
extern const struct target target_gchat;
extern const struct target target_pagerduty;
extern const struct target target_slackapp; /* slackapp.c: the slack body, posted by an app */

struct cJSON;
/* Adds our "dpc_thread" member (slackapp.h) naming the incident s's
 * message belongs to, to the JSON object root: for a message of one, or
 * for every message when always (discord: a forum post is titled by the
 * pipeline even outside an incident). slackapp.c. Returns 0 or
 * ERR_NOMEM. */
int render_add_thread(struct cJSON *root, const struct summary *s, int always);

/* Slack's documented ceilings, published in the rows' limits (slack.c,
 * slackapp.c). */
#define SLACK_MAX_BLOCKS 50
#define SLACK_MAX_SECTION 3000
#define SLACK_MAX_HEADER 150
#define SLACK_TEXT_BUDGET 10000

/* Display word for a status: the canonical name, or the text as sent when
 * the status is unknown (never NULL, borrowed). */
const char *render_status_word(enum run_status st, const char *status_text);

/* Emoji for a run status (borrowed, never NULL). */
const char *render_status_emoji(enum run_status st);

/* "<pipeline> FAILED in <environment> (<project>)" without emoji; parts that
 * are unknown are left out. Caller frees; NULL on ERR_NOMEM. */
char *render_title(const struct summary *s);

/* "48 steps: 45 succeeded, 2 failed, 1 cancelled" into out (truncated to
 * outlen); "" for a degraded summary that saw no step. */
void render_counts_line(const struct summary *s, char *out, size_t outlen);

/* "2024-05-01 10:00:00 UTC", or "?" for a negative time, into out. */
void render_time(int64_t ms, char *out, size_t outlen);

#define RENDER_MAX_FACTS 8
#define RENDER_FACT_MAX 512

/* One title/value line of the run facts. */
struct render_fact {
	const char *title;           /* static label, e.g. "Environment" */
	char value[RENDER_FACT_MAX]; /* raw text, cut on a UTF-8 boundary */
};

/* Fills up to max facts (project, environment, status, trigger and user,
 * started, duration, execution id), leaving out unknown ones. Returns the
 * number filled. */
size_t render_facts(const struct summary *s, struct render_fact *f, size_t max);

#define RENDER_MAX_CHILDREN_SHOWN 20 /* child pipelines listed in plain text */

/* ---- the view: what a chat message says (view.c) ---- */

enum view_kind { VIEW_FAILED, VIEW_CANCELLED, VIEW_SUCCESS, VIEW_OTHER };

#define VIEW_MAX_ERRORS 3      /* distinct errors shown in full */
#define VIEW_MAX_CHILDREN 8    /* failed child pipelines listed */
#define VIEW_KEY_CHARS 120     /* the error's line in the triage line */
#define VIEW_EXCERPT_LINES 8   /* an error as shown: lines ... */
#define VIEW_EXCERPT_CHARS 500 /* ... and characters */

/* One distinct error, as shown. */
struct view_error {
	char *where;      /* "stage_orders › Load orders raw": the step's path without
			   * the root pipeline and repeated folders; for several
			   * steps "… › Replicate table 12 … 311" */
	char *steps;      /* "300 steps failed with the same error"; NULL for one */
	char *excerpt;    /* the error cut by lines ("" when none) */
	const char *full; /* the whole error as kept (borrowed from the summary) */
	int cut;          /* excerpt is shorter than full */
	enum run_status status;
	uint64_t count;
	char *link; /* the failing child pipeline's own run; NULL for the root run */
};

/* A message, decided once for all targets. Raw text: renderers escape. */
struct view {
	enum view_kind kind;
	const char *emoji; /* the one status emoji of the message */
	char *headline;    /* triage line: "❌ prod · load_dwh failed at stage_orders ›
			    * Load orders raw: <first line of the error> · 14m" */
	char *context;     /* "Finance DWH · Scheduled (nightly_dwh)" (untrusted) */
	int64_t started_ms, finished_ms; /* -1 unknown */
	char duration[32];               /* "14m", "" unknown */
	char run_id[16];                 /* first 8 characters of the execution id */
	char *follow;                    /* follow-up note, NULL when not one */
	char *history; /* run memory's line ("3rd failure in a row (since …)"), or NULL */
	int compact;   /* a compact repeat or a recovery: headline, context, link only */
	struct view_error errors[VIEW_MAX_ERRORS];
	size_t n_errors;
	uint64_t problem_steps; /* steps that failed (runs of child pipelines not
				 * counted when a real error is known) */
	uint64_t more_steps;    /* problem steps whose error is not shown */
	uint64_t more_errors;   /* distinct errors not shown (at least) */
	const struct child_run *children[VIEW_MAX_CHILDREN]; /* failed, off the error's path */
	size_t n_children;
	uint64_t children_more;    /* failed children not listed */
	uint64_t children_on_path; /* failed children named by the error's path */
	uint64_t children_ok;      /* children that succeeded */
	uint64_t children_other;   /* skipped, running, ... */
	const char *message;       /* run-level message when no step error explains it */
	char *link;                /* main button: the failing child's run, else the run */
	char *root_link;           /* second button (the run) when link is a child's */
	int mention;               /* add the configured mention (failures only) */
};

/* "+120 more problem steps with 2 other errors" into out; "" when steps
 * is 0. */
void view_more_line(uint64_t steps, uint64_t errors, char *out, size_t outlen);

/* The children not listed, counted: "6 other child pipelines succeeded,
 * 1 did not run to the end"; with_more puts "+N more failed" first (for a
 * target that does not list it). "" when there is nothing to count. */
void view_children_line(const struct view *v, int with_more, char *out, size_t outlen);

/* Builds the view of s. Returns 0 or ERR_NOMEM (v is then empty). */
int view_build(const struct summary *s, struct view *v);
void view_free(struct view *v);

/* Pieces, exported for the renderers and the tests. Each returns a new
 * string (caller frees) or NULL on ERR_NOMEM. */

/* A step path as the reader needs it: with drop_root, the root pipeline
 * left out (unless the path is only the step); a pipeline's folder left
 * out when the pipeline before it is in the same folder. */
char *render_where(const char *path, int drop_root);
/* The first non-blank line of an error (joined with the next one when it
 * ends in ':'), cut to max code points with "…". */
char *render_key_line(const char *msg, size_t max);
/* An error cut to max_lines lines and about max_chars code points: the
 * opening line, then lines carrying the database's words or a position,
 * then the rest in order; left-out runs become "⋯ N lines". Whitespace
 * is kept. *cut is set when anything was left out. */
char *render_excerpt(const char *msg, size_t max_lines, size_t max_chars, int *cut);
/* The run link of s with execution_id in place of the run's own id; NULL
 * when s has no link (or on ERR_NOMEM). */
char *render_run_link(const struct summary *s, const char *execution_id);
/* "45s", "14m", "2h 05m"; "" for a negative duration. */
void render_compact_duration(int64_t ms, char *out, size_t outlen);
/* "02:14" or, with_date, "2026-11-30 02:14" in UTC; "?" when negative. */
void render_clock(int64_t ms, int with_date, char *out, size_t outlen);

/* ---- escaping to a budget of UTF-16 units (escape.c) ---- */

#define RENDER_PIECE_MAX 8 /* bytes one escaped character may take */

/* Bytes of the UTF-8 character at s (sanitised text). */
size_t render_cp_bytes(const char *s);
/* Width of UTF-8 text in UTF-16 units, the stricter way a platform may
 * count its limits. */
size_t render_utf16_width(const char *s);
/* How a target writes one character c (n bytes) under its mode: at most
 * RENDER_PIECE_MAX bytes into buf; returns their length, *w their width
 * in UTF-16 units. */
typedef size_t (*render_piece_fn)(const char *c, size_t n, int mode, char *buf, size_t *w);
/* Sanitises raw (newlines kept when lines), writes each character with
 * piece and cuts the result to max UTF-16 units, ending in "…" when cut;
 * an escape is never split. Caller frees; NULL on ERR_NOMEM or max 0. */
char *render_escape_cut(const char *raw, size_t max, int lines, render_piece_fn piece, int mode);

/* ---- a grouped message (group.c) ---- */

/* Runs that share an error (equal non-zero sig); a run without an error
 * text is a cluster of its own. */
struct group_cluster {
	size_t first; /* index of its first run in the items */
	size_t n;     /* runs in it */
	size_t start; /* where its runs begin in group_view.order */
};

/* What a grouped message says, for every target. Raw text. */
struct group_view {
	const char *emoji; /* one status emoji */
	char *headline;    /* "❌ prod · 12 pipeline runs failed · 11 with: <error>" */
	char *context; /* "Finished 02:00–02:09 UTC · 12 pipelines · listed together: …" */
	struct group_cluster *clusters; /* the largest first, then the oldest */
	size_t n_clusters;
	size_t *order;       /* item indices, cluster by cluster, each oldest first */
	size_t n;            /* runs */
	const char *mention; /* the first run's mention that has one (borrowed), NULL */
	int one_env;         /* every run is of the headline's environment */
};

/* Builds the view of n >= 1 items (borrowed until group_view_free()).
 * Returns 0, ERR_INVALID (no items) or ERR_NOMEM (g is then empty). */
int group_view_build(const struct group_item *items, size_t n, struct group_view *g);
void group_view_free(struct group_view *g);

/* One run's line: "load_dwh · prod · stage_orders › Load orders" (the
 * environment only with_env), with its status when not failed and, when
 * with_error, ": <error>". New string (caller frees) or NULL on
 * ERR_NOMEM. */
char *group_run_line(const struct group_item *it, int with_env, int with_error);

/* Cluster k's heading, "11 of 12 with: <error>", into out; "" for a
 * cluster of one run (its line carries the error). */
void group_cluster_line(const struct group_view *g, size_t k, const struct group_item *items,
			char *out, size_t outlen);

#endif
