/* Silences and mute windows: when run memory holds messages back on
 * purpose. A silence is one stretch of time over some pipelines, added
 * with `dpc-notify silence add` and kept in the store; a mute window is a
 * stretch of UTC time that comes back every week (or day), configured per
 * route as mute_windows. Either sets mem_policy.silenced for the runs it
 * covers. Pure: parsing and matching, no I/O, no allocation but
 * silence_reason_clean(). */
#ifndef DPC_SILENCE_H
#define DPC_SILENCE_H

#include <stddef.h>
#include <stdint.h>

#define SILENCE_GLOB_MAX 256        /* bytes of a glob, with its NUL */
#define SILENCE_REASON_MAX 200      /* characters of a reason */
#define SILENCE_FOR_MAX_S 7776000LL /* 90 days: the longest silence */
#define MUTE_WINDOWS_MAX 32         /* windows in one mute_windows value */

/* One silence. Strings are borrowed from whoever built it. */
struct silence {
	int64_t id;              /* the store's id; 0 before it is added */
	const char *project_id;  /* exact project id; "" matches any */
	const char *pipeline;    /* glob with route_pipeline_match()'s rule (no '/':
				  * the name's last segment); "" matches any */
	const char *environment; /* fnmatch(3) glob, no flags; "" matches any */
	int64_t start_ms;        /* active from here (inclusive) ... */
	int64_t end_ms;          /* ... to here (exclusive), unix ms */
	const char *reason;      /* why, sanitised, at most SILENCE_REASON_MAX characters */
	int64_t created_ms;      /* when it was added */
	int64_t removed_ms;      /* when `silence remove` ended it early; -1: never */
};

/* 1 when s covers a run of pipeline (display name, may hold folders) in
 * environment of project_id at now_ms: start_ms <= now_ms < end_ms and
 * every non-empty field of s matches; a NULL argument matches only an
 * empty field. 0 otherwise, also for s NULL. */
int silence_matches(const struct silence *s, const char *project_id, const char *environment,
		    const char *pipeline, int64_t now_ms);

/* 1 when g can be kept as a silence's glob or project id: 1 to
 * SILENCE_GLOB_MAX - 1 bytes of valid UTF-8 without control characters
 * (C0, DEL, C1) or bidi overrides; 0 otherwise, NULL included. */
int silence_glob_valid(const char *g);

/* Parses a UTC time "YYYY-MM-DD HH:MM" or RFC 3339
 * ("YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)") into unix ms. Years 1970 to
 * 9999. 0, or ERR_PARSE for anything else (a date that does not exist
 * included). */
int silence_parse_time(const char *s, int64_t *ms);

/* Parses a --for duration ("90m", "2h", "7d", plain seconds) into ms: at
 * least one second, at most SILENCE_FOR_MAX_S. 0, or ERR_PARSE. */
int silence_parse_for(const char *s, int64_t *ms);

/* The reason as kept: s sanitised (text_sanitize(), newlines as spaces)
 * with surrounding spaces trimmed. NULL when the result is empty or longer
 * than SILENCE_REASON_MAX characters, or out of memory. Caller frees. */
char *silence_reason_clean(const char *s);

/* One mute window: on each day in days (bit 0 Sunday .. bit 6 Saturday)
 * from start_min (inclusive) to end_min (exclusive), minutes of the UTC
 * day. end_min <= start_min crosses midnight: the window starts on its
 * day and ends on the next. */
struct mute_window {
	unsigned days;
	unsigned start_min; /* 0 .. 1439 */
	unsigned end_min;   /* 0 .. 1440 (24:00) */
};

/* Parses a mute_windows value: a comma list of "DAYS HH:MM-HH:MM", DAYS
 * being a day ("Sun"), a range ("Mon-Fri", "Fri-Mon" wraps) or "daily"
 * (any case), times 00:00 to 23:59 (and 24:00 as an end). A window whose
 * start equals its end is refused (empty or the whole day: say "daily
 * 00:00-24:00"). At most cap windows into out, *n their number. 0, or
 * ERR_PARSE with the first problem written into err. */
int mute_parse(const char *spec, struct mute_window *out, size_t cap, size_t *n, char *err,
	       size_t errlen);

/* 1 when one of w[0..n) covers now_ms (unix ms, UTC; before 1970 too). */
int mute_windows_active(const struct mute_window *w, size_t n, int64_t now_ms);

/* When the quiet time that covers now_ms ends: the first minute boundary
 * after now_ms that none of w[0..n) covers (windows that touch or overlap
 * run on), at most 7 days on (a window that covers every minute ends
 * then). 0 when none covers now_ms. */
int64_t mute_windows_end(const struct mute_window *w, size_t n, int64_t now_ms);

/* The stretch of time the windows w[0..n) cover around at_ms, merged
 * across windows that touch or overlap: 1 with [*from_ms, *until_ms)
 * when one of them covers at_ms, else 0 with both -1. A stretch longer
 * than MUTE_SPAN_MAX_MS on a side is open on that side: *from_ms
 * INT64_MIN, *until_ms INT64_MAX (windows that never end). */
#define MUTE_SPAN_MAX_MS (8LL * 86400000)
int mute_windows_span(const struct mute_window *w, size_t n, int64_t at_ms, int64_t *from_ms,
		      int64_t *until_ms);

/* Writes w[0..n) as mute_parse() reads it ("Sun 01:00-03:00, daily
 * 02:00-02:15") into out (cap bytes, cut when short; "" for none). */
void mute_format(const struct mute_window *w, size_t n, char *out, size_t cap);

/* mute_parse() then mute_windows_active(): 1 active, 0 not, ERR_PARSE
 * when spec is not valid. */
int mute_window_active(const char *spec, int64_t now_ms);

#endif
