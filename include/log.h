/* One log line per event on stderr, logfmt (default) or JSON. Callers pass
 * key/value string pairs; untrusted values go through
 * the sanitiser so a hostile pipeline name cannot forge a log line. Secrets
 * (tokens, client secrets, webhook URLs) must never be passed here. */
#ifndef DPC_LOG_H
#define DPC_LOG_H

#include <stdarg.h>
#include "config.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG__MAX };

/* Sets the process-wide level and format (called at start and on reload).
 * Returns ERR_INVALID for an unknown level name. */
int log_setup(const char *level, enum log_format fmt);
int log_enabled(enum log_level lv);

/* Writes one event: msg is a constant-ish message; the variadic part is
 * pairs of (const char *key, const char *value) ending with NULL. Values
 * are sanitised (control bytes and invalid UTF-8 escaped, quoted when
 * needed). Example:
 *   log_event(LOG_INFO, "job delivered", "job", id, "execution", exec, NULL); */
void log_event(enum log_level lv, const char *msg, ...)
	__attribute__((sentinel));

/* printf-style message with no fields; the formatted text is sanitised. */
void log_msg(enum log_level lv, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Tags every line this thread writes with job=JOB execution=EXECUTION
 * (after msg) until called again; NULLs clear the tag. Values are copied. */
void log_context(const char *job, const char *execution);

/* Sends log lines to f instead of stderr (NULL restores stderr). For tests
 * and tools; f is borrowed and must outlive its use. */
void log_set_stream(FILE *f);

#endif
