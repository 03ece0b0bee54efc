/* Silences and mute windows (silence.h): whether a silence covers a run,
 * the syntaxes `silence add` accepts (times, durations, globs, reasons),
 * and mute windows, recurring stretches of the UTC week. Pure.
 *
 * Times are plain arithmetic on unix ms in UTC, with no time zone and so
 * no daylight saving: a window written 01:00-03:00 is those two hours of
 * UTC every time. The weekday is counted from 1970-01-01, a Thursday,
 * with floor division so times before 1970 turn the week the same way. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "parse.h"
#include "silence.h"
#include "text.h"

#define MIN_MS 60000LL
#define DAY_MS 86400000LL
#define DAY_MIN 1440
#define SPEC_MAX 4096      /* bytes of a mute_windows value */
#define REASON_IN_MAX 4096 /* bytes of a reason before it is cleaned */
#define FRACTION_DIGITS 9  /* RFC 3339 fractions kept to nanoseconds */

/* ---- silences ---- */

/* An empty field matches anything; a set one needs a value that fits. */
static int field_matches(const char *field, const char *v, int (*match)(const char *, const char *))
{
	if (field == NULL || field[0] == '\0')
		return 1;
	return v != NULL && match(field, v);
}

static int exact(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int glob(const char *g, const char *v)
{
	return fnmatch(g, v, 0) == 0;
}

/* route_pipeline_match()'s rule, kept here so the store needs no config:
 * a glob without '/' names a pipeline in any folder (its last segment). */
static int pipeline_glob(const char *g, const char *pipeline)
{
	const char *last = strrchr(pipeline, '/');

	if (strchr(g, '/') == NULL && last != NULL)
		pipeline = last + 1;
	return glob(g, pipeline);
}

int silence_matches(const struct silence *s, const char *project_id, const char *environment,
		    const char *pipeline, int64_t now_ms)
{
	if (s == NULL || now_ms < s->start_ms || now_ms >= s->end_ms)
		return 0;
	return field_matches(s->project_id, project_id, exact) &&
	       field_matches(s->environment, environment, glob) &&
	       field_matches(s->pipeline, pipeline, pipeline_glob);
}

/* A code point that must not reach a terminal or a log as it is. */
static int unsafe_cp(int32_t cp)
{
	return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

int silence_glob_valid(const char *g)
{
	size_t len, i, k;
	int32_t cp;

	if (g == NULL)
		return 0;
	len = strnlen(g, SILENCE_GLOB_MAX);
	if (len == 0 || len >= SILENCE_GLOB_MAX)
		return 0;
	for (i = 0; i < len; i += k) {
		k = text_utf8_decode(g + i, len - i, &cp);
		if (unsafe_cp(cp))
			return 0;
	}
	return 1;
}

/* Exactly n ASCII digits at s, as a number. */
static int digits(const char *s, size_t n, int *out)
{
	size_t i;
	int v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ERR_PARSE;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (a valid proleptic Gregorian date). */
static int64_t days_from_civil(int y, int m, int d)
{
	static const int before[12] = { 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334 };
	int64_t days = 0;
	int yy;

	for (yy = 1970; yy < y; yy++)
		days += leap(yy) ? 366 : 365;
	days += before[m - 1] + (m > 2 && leap(y)) + d - 1;
	return days;
}

/* "YYYY-MM-DD" and the separator after it; *days from 1970. */
static int parse_date(const char *s, int64_t *days)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return ERR_PARSE;
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y)))
		return ERR_PARSE;
	*days = days_from_civil(y, m, d);
	return 0;
}

/* "HH:MM" with HH 0..23 and MM 0..59; minutes of the day. */
static int parse_hhmm(const char *s, int *min)
{
	int h, m;

	if (digits(s, 2, &h) || s[2] != ':' || digits(s + 3, 2, &m) || h > 23 || m > 59)
		return ERR_PARSE;
	*min = h * 60 + m;
	return 0;
}

/* RFC 3339's tail after "HH:MM": ":SS", an optional fraction, then "Z"
 * or an offset "+HH:MM"/"-HH:MM". *ms gets the seconds and fraction,
 * *off_min the offset east of UTC. */
static int parse_rfc3339_tail(const char *s, int64_t *ms, int *off_min)
{
	int sec, frac = 0, scale = 1000, n = 0;

	if (s[0] != ':' || digits(s + 1, 2, &sec) || sec > 59)
		return ERR_PARSE;
	s += 3;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, n++)
			if (n < 3) {
				frac = frac * 10 + (*s - '0');
				scale /= 10;
			}
		if (n == 0 || n > FRACTION_DIGITS)
			return ERR_PARSE;
	}
	*ms = sec * 1000LL + (int64_t)frac * scale;
	*off_min = 0;
	if ((s[0] == 'Z' || s[0] == 'z') && s[1] == '\0')
		return 0;
	if ((s[0] != '+' && s[0] != '-') || parse_hhmm(s + 1, off_min) || s[6] != '\0')
		return ERR_PARSE;
	if (s[0] == '-')
		*off_min = -*off_min;
	return 0;
}

int silence_parse_time(const char *s, int64_t *ms)
{
	int64_t days, rest = 0, t;
	int min, off = 0;

	if (s == NULL || strnlen(s, 64) >= 64 || parse_date(s, &days) != 0)
		return ERR_PARSE;
	if ((s[10] != ' ' && s[10] != 'T' && s[10] != 't') || parse_hhmm(s + 11, &min))
		return ERR_PARSE;
	if (s[10] == ' ' && s[16] != '\0')
		return ERR_PARSE;
	if (s[10] != ' ' && parse_rfc3339_tail(s + 16, &rest, &off) != 0)
		return ERR_PARSE;
	t = days * DAY_MS + (min - off) * MIN_MS + rest;
	if (t < 0)
		return ERR_PARSE;
	*ms = t;
	return 0;
}

int silence_parse_for(const char *s, int64_t *ms)
{
	int64_t v;

	if (s == NULL || parse_duration(s, &v) != 0 || v < 1 || v > SILENCE_FOR_MAX_S)
		return ERR_PARSE;
	*ms = v * 1000;
	return 0;
}

char *silence_reason_clean(const char *s)
{
	size_t len, i, chars = 0;
	char *r, *start;

	if (s == NULL || (len = strnlen(s, REASON_IN_MAX + 1)) > REASON_IN_MAX)
		return NULL;
	r = text_sanitize(s, len, 0);
	if (r == NULL)
		return NULL;
	for (start = r; *start == ' '; start++)
		;
	len = strlen(start);
	while (len > 0 && start[len - 1] == ' ')
		len--;
	memmove(r, start, len);
	r[len] = '\0';
	for (i = 0; i < len; i++)
		chars += ((unsigned char)r[i] & 0xc0) != 0x80;
	if (len == 0 || chars > SILENCE_REASON_MAX) {
		free(r);
		return NULL;
	}
	return r;
}

/* ---- mute windows ---- */

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

/* A three-letter day name at s (any case): its number, or -1. */
static int day_at(const char *s)
{
	int i;

	for (i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* The days of one window at *pp ("daily", "Sun", "Fri-Mon"), followed
 * by a space; advances *pp past them. */
static int parse_days(const char **pp, unsigned *days)
{
	const char *p = *pp;
	int a, b;

	if (strncasecmp(p, "daily", 5) == 0 && p[5] == ' ') {
		*days = 0x7f;
		*pp = p + 5;
		return 0;
	}
	a = day_at(p);
	if (a < 0)
		return ERR_PARSE;
	b = a;
	p += 3;
	if (*p == '-') {
		b = day_at(p + 1);
		if (b < 0)
			return ERR_PARSE;
		p += 4;
	}
	if (*p != ' ')
		return ERR_PARSE;
	*days = 1u << a;
	while (a != b) {
		a = (a + 1) % 7;
		*days |= 1u << a;
	}
	*pp = p;
	return 0;
}

/* "HH:MM-HH:MM" at *pp; the end may be 24:00. */
static int parse_span(const char **pp, struct mute_window *w)
{
	const char *p = *pp;
	int a, b;

	if (parse_hhmm(p, &a) != 0 || p[5] != '-')
		return ERR_PARSE;
	if (strncmp(p + 6, "24:00", 5) == 0)
		b = DAY_MIN;
	else if (parse_hhmm(p + 6, &b) != 0)
		return ERR_PARSE;
	if (a == b)
		return ERR_PARSE;
	w->start_min = (unsigned)a;
	w->end_min = (unsigned)b;
	*pp = p + 11;
	return 0;
}

static void skip_spaces(const char **pp)
{
	while (**pp == ' ' || **pp == '\t')
		(*pp)++;
}

static int parse_fail(char *err, size_t errlen, size_t item, const char *why)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "mute window %zu: %s", item, why);
	return ERR_PARSE;
}

int mute_parse(const char *spec, struct mute_window *out, size_t cap, size_t *n, char *err,
	       size_t errlen)
{
	const char *p = spec;
	struct mute_window w;

	*n = 0;
	if (spec == NULL || strnlen(spec, SPEC_MAX + 1) > SPEC_MAX)
		return parse_fail(err, errlen, 1, "value too long (4096 bytes at most)");
	for (;;) {
		skip_spaces(&p);
		if (parse_days(&p, &w.days) != 0)
			return parse_fail(err, errlen, *n + 1,
					  "expected daily, a day (Sun) or a range (Mon-Fri)"
					  " then a space");
		skip_spaces(&p);
		if (parse_span(&p, &w) != 0)
			return parse_fail(err, errlen, *n + 1,
					  "expected HH:MM-HH:MM in UTC (00:00 to 23:59, an end"
					  " of 24:00), start and end different");
		if (*n >= cap)
			return parse_fail(err, errlen, *n + 1, "too many windows");
		out[(*n)++] = w;
		skip_spaces(&p);
		if (*p == '\0')
			return 0;
		if (*p != ',')
			return parse_fail(err, errlen, *n, "unexpected text after the window");
		p++;
	}
}

/* The window from start to end minutes on the days in mask, crossing
 * midnight when end <= start. */
static int window_covers(const struct mute_window *w, int wd, int64_t ms_of_day)
{
	int prev = (wd + 6) % 7;
	int64_t s = (int64_t)w->start_min * MIN_MS, e = (int64_t)w->end_min * MIN_MS;

	if (e > s)
		return (w->days >> wd & 1u) && ms_of_day >= s && ms_of_day < e;
	return ((w->days >> wd & 1u) && ms_of_day >= s) ||
	       ((w->days >> prev & 1u) && ms_of_day < e);
}

int mute_windows_active(const struct mute_window *w, size_t n, int64_t now_ms)
{
	int64_t day = now_ms / DAY_MS, ms = now_ms % DAY_MS;
	int wd;
	size_t i;

	if (ms < 0) {
		day--;
		ms += DAY_MS;
	}
	wd = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	for (i = 0; w != NULL && i < n; i++)
		if (window_covers(&w[i], wd, ms))
			return 1;
	return 0;
}

int64_t mute_windows_end(const struct mute_window *w, size_t n, int64_t now_ms)
{
	const int64_t minute = 60 * 1000, cap = 7 * DAY_MS;
	int64_t t;

	if (w == NULL || n == 0 || now_ms > INT64_MAX - cap - minute || now_ms < INT64_MIN / 2 ||
	    !mute_windows_active(w, n, now_ms))
		return 0;
	/* Windows are whole minutes: the next boundary, then minute by
	 * minute (at most 10,080 steps of n comparisons). */
	t = now_ms - ((now_ms % minute) + minute) % minute + minute;
	while (t < now_ms + cap && mute_windows_active(w, n, t))
		t += minute;
	return t < now_ms + cap ? t : now_ms + cap;
}

/* Windows start and end on whole minutes, so the stretch around a time
 * is found a minute at a time, at most MUTE_SPAN_MAX_MS each way; that
 * is a few thousand cheap checks, made once per held-back run. */
int mute_windows_span(const struct mute_window *w, size_t n, int64_t at_ms, int64_t *from_ms,
		      int64_t *until_ms)
{
	const int64_t max_steps = MUTE_SPAN_MAX_MS / MIN_MS;
	int64_t r = at_ms % MIN_MS, minute, t, steps;

	*from_ms = *until_ms = -1;
	if (!mute_windows_active(w, n, at_ms))
		return 0;
	if (r < 0)
		r += MIN_MS;
	if (at_ms < INT64_MIN + r) {
		*from_ms = INT64_MIN;
		minute = INT64_MIN; /* only reached by a window that covers all */
	} else {
		minute = at_ms - r; /* covered: windows begin on whole minutes */
		for (t = minute, steps = 0; steps < max_steps && t >= INT64_MIN + MIN_MS &&
					    mute_windows_active(w, n, t - MIN_MS);
		     steps++)
			t -= MIN_MS;
		*from_ms = steps == max_steps || t < INT64_MIN + MIN_MS ? INT64_MIN : t;
	}
	for (t = minute, steps = 0;
	     steps < max_steps && t <= INT64_MAX - MIN_MS && mute_windows_active(w, n, t); steps++)
		t += MIN_MS;
	*until_ms = steps == max_steps || t > INT64_MAX - MIN_MS ? INT64_MAX : t;
	return 1;
}

/* The days of a parsed window: "daily", one day, or the range that
 * starts at a day whose previous day is not in the mask. */
static void days_format(unsigned days, char *out, size_t cap)
{
	int a = 0, b;

	if ((days & 0x7f) == 0x7f) {
		snprintf(out, cap, "daily");
		return;
	}
	while (a < 7 && !((days >> a & 1u) && !(days >> ((a + 6) % 7) & 1u)))
		a++;
	if (a == 7) {
		snprintf(out, cap, "?");
		return;
	}
	for (b = a; days >> ((b + 1) % 7) & 1u; b = (b + 1) % 7)
		;
	if (a == b)
		snprintf(out, cap, "%s", day_names[a]);
	else
		snprintf(out, cap, "%s-%s", day_names[a], day_names[b]);
}

void mute_format(const struct mute_window *w, size_t n, char *out, size_t cap)
{
	char days[16];
	size_t i, used = 0;
	int k;

	if (cap == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < n && used < cap; i++) {
		days_format(w[i].days, days, sizeof(days));
		k = snprintf(out + used, cap - used, "%s%s %02u:%02u-%02u:%02u", i ? ", " : "",
			     days, w[i].start_min / 60 % 100, w[i].start_min % 60,
			     w[i].end_min / 60 % 100, w[i].end_min % 60);
		if (k < 0)
			return;
		used += (size_t)k;
	}
}

int mute_window_active(const char *spec, int64_t now_ms)
{
	struct mute_window w[MUTE_WINDOWS_MAX];
	size_t n;

	if (mute_parse(spec, w, MUTE_WINDOWS_MAX, &n, NULL, 0) != 0)
		return ERR_PARSE;
	return mute_windows_active(w, n, now_ms);
}
