/* Structured logging: one event per line on stderr, logfmt or JSON. Every
 * line is built in a bounded buffer and written with one fwrite, so lines
 * from different threads never interleave, and every key and value is
 * escaped so untrusted bytes (pipeline names, API errors) cannot start a new
 * line, forge a field or send terminal control codes. Log budgets bound the
 * lines a peer can cause by sending requests we reject. */
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "errors.h"
#include "log.h"
#include "parse.h"
#include "text.h"

#define LINE_CAP 4096  /* one log line, newline included */
#define TAIL_RESERVE 8 /* room for "…", closing quote, '}' and '\n' */
#define ELLIPSIS "\xE2\x80\xA6"

/* Process-wide settings (the header makes logging process-wide); atomics
 * because a reload may change them while workers log. */
static atomic_int cur_level = LOG_INFO;
static atomic_int cur_format = LOG_FMT_LOGFMT;
static _Atomic(FILE *) cur_stream = NULL; /* NULL means stderr */

/* The job a thread is working on, added to each of its lines so every
 * module's log line about a job can be found by job or execution id. */
static _Thread_local char ctx_job[32];
static _Thread_local char ctx_exec[160];

const char *const log_level_names[LOG__MAX] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warn",
	[LOG_ERROR] = "error",
};

const char *const log_format_names[LOG_FMT__MAX] = {
	[LOG_FMT_LOGFMT] = "logfmt",
	[LOG_FMT_JSON] = "json",
};

struct line {
	char buf[LINE_CAP];
	size_t len;
	int full; /* truncated: later fields are dropped */
	enum log_format fmt;
};

int log_setup(const char *level, enum log_format fmt)
{
	int lv;

	if (level == NULL || (unsigned)fmt >= LOG_FMT__MAX)
		return ERR_INVALID;
	lv = parse_name(log_level_names, LOG__MAX, level);
	if (lv < 0)
		return ERR_INVALID;
	atomic_store(&cur_level, lv);
	atomic_store(&cur_format, (int)fmt);
	return 0;
}

int log_enabled(enum log_level lv)
{
	return (unsigned)lv < LOG__MAX && (int)lv >= atomic_load(&cur_level);
}

void log_set_stream(FILE *f)
{
	atomic_store(&cur_stream, f);
}

/* Writes the escaped form of the character at s (len bytes left) into
 * rep; returns the number of input bytes it covers. *changed is set when
 * rep differs. */
static size_t escape_one(const unsigned char *s, size_t len, enum log_format fmt, char rep[16],
			 int *changed)
{
	int32_t cp;
	size_t n = text_utf8_decode((const char *)s, len, &cp);
	const char *simple = NULL;

	*changed = 1;
	switch (s[0]) {
	case '"': simple = "\\\""; break;
	case '\\': simple = "\\\\"; break;
	case '\n': simple = "\\n"; break;
	case '\r': simple = "\\r"; break;
	case '\t': simple = "\\t"; break;
	default: break;
	}
	if (simple != NULL) {
		snprintf(rep, 16, "%s", simple);
	} else if (cp < 0) {
		/* JSON has no byte escape; U+FFFD marks the bad byte. */
		snprintf(rep, 16, fmt == LOG_FMT_JSON ? "\\ufffd" : "\\x%02x", s[0]);
		return 1;
	} else if (s[0] < 0x20 || s[0] == 0x7f) {
		snprintf(rep, 16, fmt == LOG_FMT_JSON ? "\\u%04x" : "\\x%02x", s[0]);
	} else if (s[0] == 0xC2 && s[1] < 0xA0) {
		/* C1 controls such as U+009B (CSI) drive terminals too. */
		snprintf(rep, 16, "\\u%04x", s[1]);
	} else {
		memcpy(rep, s, n);
		rep[n] = '\0';
		*changed = 0;
	}
	return n;
}

static void put(struct line *l, const char *s, size_t n)
{
	if (l->full || l->len + n + TAIL_RESERVE > LINE_CAP) {
		l->full = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* A byte that stands for itself in both formats: printable ASCII other
 * than the quote and the backslash. */
static int plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static size_t plain_run(const unsigned char *s)
{
	size_t n = 0;

	while (plain(s[n]))
		n++;
	return n;
}

/* Appends text, escaped; on overflow ends it with "…" and marks the line
 * full. The reserve keeps room for the ellipsis and closing characters. */
static void put_escaped(struct line *l, const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	const unsigned char *end = s + strlen(text);
	const char *piece;
	char rep[16];
	size_t n;
	int changed;

	while (*s != '\0' && !l->full) {
		n = plain_run(s); /* printable ASCII goes as it is, in one copy */
		if (n > 0) {
			piece = (const char *)s;
		} else {
			n = escape_one(s, (size_t)(end - s), l->fmt, rep, &changed);
			piece = rep;
		}
		s += n;
		if (piece == rep)
			n = strlen(rep);
		if (l->len + n + TAIL_RESERVE > LINE_CAP) {
			if (piece != rep) { /* plain bytes: keep those that fit */
				n = LINE_CAP - TAIL_RESERVE - l->len;
				memcpy(l->buf + l->len, piece, n);
				l->len += n;
			}
			memcpy(l->buf + l->len, ELLIPSIS, 3);
			l->len += 3;
			l->full = 1;
			return;
		}
		memcpy(l->buf + l->len, piece, n);
		l->len += n;
	}
}

/* logfmt quotes a value when it is empty or a reader could not find its
 * end: spaces, '=', quotes, or anything that needs escaping. */
static int needs_quotes(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;
	const unsigned char *end = s + strlen(text);
	char rep[16];
	int changed;

	if (*s == '\0')
		return 1;
	while (*s != '\0') {
		if (*s == ' ' || *s == '=')
			return 1;
		if (plain(*s)) {
			s++;
			continue;
		}
		s += escape_one(s, (size_t)(end - s), LOG_FMT_LOGFMT, rep, &changed);
		if (changed)
			return 1;
	}
	return 0;
}

/* Writes the separator, key and the opening quote of a field. */
static void put_key(struct line *l, const char *key, int quote)
{
	char k[64];
	size_t i;

	if (l->fmt == LOG_FMT_JSON) {
		put(l, l->len > 1 ? ",\"" : "\"", l->len > 1 ? 2 : 1);
		put_escaped(l, key);
		put(l, "\":\"", 3);
		return;
	}
	/* Keys come from our code, but a bad one must not break the line. */
	for (i = 0; i + 1 < sizeof(k) && key[i] != '\0'; i++)
		k[i] = (char)(strchr(" =\"\\", key[i]) == NULL && (unsigned char)key[i] > 0x20 &&
					      (unsigned char)key[i] < 0x7f
				      ? key[i]
				      : '_');
	k[i] = '\0';
	put(l, " ", l->len > 0 ? 1 : 0);
	put(l, k, i);
	put(l, "=\"", quote ? 2 : 1);
}

static void put_field(struct line *l, const char *key, const char *value)
{
	size_t start = l->len;
	int quote;

	if (l->full)
		return;
	if (value == NULL)
		value = "";
	quote = l->fmt == LOG_FMT_JSON || needs_quotes(value);
	put_key(l, key, quote);
	if (l->full) {
		/* Drop a field whose key does not fit rather than cut it. */
		l->len = start;
		return;
	}
	put_escaped(l, value);
	/* put_escaped() leaves TAIL_RESERVE bytes, enough for this quote. */
	if (quote)
		l->buf[l->len++] = '"';
}

static void format_ts(char *out, size_t outlen)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, outlen, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

/* Builds and writes one line; ap (may be NULL) holds key/value pairs. */
static void emit(enum log_level lv, const char *msg, va_list *ap)
{
	struct line l;
	char ts[48];
	const char *key;
	FILE *out = atomic_load(&cur_stream);

	l.len = 0;
	l.full = 0;
	l.fmt = (enum log_format)atomic_load(&cur_format);
	format_ts(ts, sizeof(ts));
	if (l.fmt == LOG_FMT_JSON)
		put(&l, "{", 1);
	put_field(&l, "ts", ts);
	put_field(&l, "level", log_level_names[lv]);
	put_field(&l, "msg", msg);
	if (ctx_job[0] != '\0')
		put_field(&l, "job", ctx_job);
	if (ctx_exec[0] != '\0')
		put_field(&l, "execution", ctx_exec);
	while (ap != NULL && (key = va_arg(*ap, const char *)) != NULL)
		put_field(&l, key, va_arg(*ap, const char *));
	if (l.fmt == LOG_FMT_JSON)
		l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';
	fwrite(l.buf, 1, l.len, out != NULL ? out : stderr);
}

void log_context(const char *job, const char *execution)
{
	snprintf(ctx_job, sizeof(ctx_job), "%s", job != NULL ? job : "");
	snprintf(ctx_exec, sizeof(ctx_exec), "%s", execution != NULL ? execution : "");
}

void log_event(enum log_level lv, const char *msg, ...)
{
	va_list ap;

	if (!log_enabled(lv))
		return;
	va_start(ap, msg);
	emit(lv, msg, &ap);
	va_end(ap);
}

void log_msg(enum log_level lv, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!log_enabled(lv))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(lv, msg, NULL);
}

int log_budget_init(struct log_budget *b, unsigned burst, int64_t window_ms)
{
	memset(b, 0, sizeof(*b));
	if (pthread_mutex_init(&b->mu, NULL))
		return ERR_IO;
	b->burst = burst;
	b->window_ms = window_ms > 0 ? window_ms : 1;
	return 0;
}

void log_budget_destroy(struct log_budget *b)
{
	if (b != NULL)
		pthread_mutex_destroy(&b->mu);
}

/* Ends the window if now_ms is window_ms or more past its start and
 * returns what it suppressed. The difference is taken unsigned, which is
 * exact whenever now_ms >= start_ms, so no clock value can overflow it; a
 * clock that went back counts as still inside the window. Called with mu
 * held. */
static uint64_t budget_roll(struct log_budget *b, int64_t now_ms)
{
	uint64_t dropped;

	if (!b->open || now_ms < b->start_ms ||
	    (uint64_t)now_ms - (uint64_t)b->start_ms < (uint64_t)b->window_ms)
		return 0;
	dropped = b->dropped;
	b->open = 0;
	b->used = 0;
	b->dropped = 0;
	return dropped;
}

int log_budget_take(struct log_budget *b, int64_t now_ms, uint64_t *ended)
{
	int ok;

	pthread_mutex_lock(&b->mu);
	*ended = budget_roll(b, now_ms);
	if (!b->open) {
		b->open = 1;
		b->start_ms = now_ms;
	}
	ok = b->used < b->burst;
	if (ok)
		b->used++;
	else if (b->dropped < UINT64_MAX)
		b->dropped++;
	pthread_mutex_unlock(&b->mu);
	return ok;
}

uint64_t log_budget_roll(struct log_budget *b, int64_t now_ms)
{
	uint64_t dropped;

	pthread_mutex_lock(&b->mu);
	dropped = budget_roll(b, now_ms);
	pthread_mutex_unlock(&b->mu);
	return dropped;
}
