/* serve: the long-running service (intake, store, workers, signals). */
#ifndef DPC_SERVE_H
#define DPC_SERVE_H

#include "config.h"

/* Loads the config at path for serve: every problem becomes a log event,
 * in the configured format once the file has loaded. Returns a new
 * snapshot (caller frees) or NULL. */
struct config *serve_load(const char *path);

/* Runs the service with config c (taken: freed on return) until SIGTERM or
 * SIGINT; path is re-read on SIGHUP. Returns the exit code. */
int serve_run(struct config *c, const char *path);

#endif
