/* One log line per event on stderr, logfmt (default) or JSON. Callers pass
 * key/value string pairs; untrusted values go through
 * the sanitiser so a hostile pipeline name cannot forge a log line. Secrets
 * (tokens, client secrets, webhook URLs) must never be passed here. */
#ifndef DPC_LOG_H
#define DPC_LOG_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG__MAX };
enum log_format { LOG_FMT_LOGFMT, LOG_FMT_JSON, LOG_FMT__MAX };

/* The names the config file and log_setup() take, matched without regard
 * to case: "debug", "info", "warn", "error"; "logfmt", "json". */
extern const char *const log_level_names[LOG__MAX];
extern const char *const log_format_names[LOG_FMT__MAX];

/* Sets the process-wide level and format (called at start and on reload).
 * Returns ERR_INVALID for a level that is not in log_level_names. */
int log_setup(const char *level, enum log_format fmt);
int log_enabled(enum log_level lv);

/* Writes one event: msg is a constant-ish message; the variadic part is
 * pairs of (const char *key, const char *value) ending with NULL. Values
 * are sanitised (control bytes and invalid UTF-8 escaped, quoted when
 * needed). Example:
 *   log_event(LOG_INFO, "job delivered", "job", id, "execution", exec, NULL); */
void log_event(enum log_level lv, const char *msg, ...) __attribute__((sentinel));

/* printf-style message with no fields; the formatted text is sanitised. */
void log_msg(enum log_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Tags every line this thread writes with job=JOB execution=EXECUTION
 * (after msg) until called again; NULLs clear the tag. Values are copied. */
void log_context(const char *job, const char *execution);

/* Sends log lines to f instead of stderr (NULL restores stderr). For tests
 * and tools; f is borrowed and must outlive its use. */
void log_set_stream(FILE *f);

/* A budget for lines a peer can cause at will (one per rejected request,
 * say): at most burst lines per window of window_ms, the rest counted so
 * that one summary line can report them when the window ends. A window
 * opens with the first event after the previous one ended. The clock is
 * the caller's (monotonic milliseconds), so tests can drive it. Safe to
 * share between threads; a taker holds its lock only briefly. */
struct log_budget {
	pthread_mutex_t mu;
	int64_t window_ms; /* length of a window, at least 1 */
	uint64_t burst;    /* lines allowed per window */
	int open;          /* a window is running */
	int64_t start_ms;  /* when it opened */
	uint64_t used;     /* lines allowed in it so far */
	uint64_t dropped;  /* lines suppressed in it so far */
};

/* Sets up b for burst lines per window_ms (below 1 means 1). 0, or
 * ERR_IO when the lock cannot be created. */
int log_budget_init(struct log_budget *b, unsigned burst, int64_t window_ms);
/* Frees what log_budget_init() set up; NULL is fine. */
void log_budget_destroy(struct log_budget *b);

/* Asks to write one line at now_ms: 1 when it may be written, 0 when it
 * is suppressed (and counted). *ended is set to the number of lines
 * suppressed in a window that had ended before now_ms (0 if none): the
 * caller writes one summary line for them before its own. */
int log_budget_take(struct log_budget *b, int64_t now_ms, uint64_t *ended);

/* Closes the window if it has ended by now_ms and returns the number of
 * lines it suppressed (0 when none, or when it still runs). For a timer,
 * so that the summary of a flood that stopped is not held back until the
 * next line. */
uint64_t log_budget_roll(struct log_budget *b, int64_t now_ms);

#endif
