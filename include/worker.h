/* Workers: threads that claim jobs from the store and carry each one through
 * Matillion client -> summary -> renderer -> delivery, recording every
 * destination's outcome back in the store. */
#ifndef DPC_WORKER_H
#define DPC_WORKER_H

#include "config.h"
#include "store.h"

/* Starts cfg->workers threads. Borrowed: holder and store, until
 * workers_stop(). NULL on failure. */
struct workers *workers_start(struct config_holder *cfg, struct store *st);

/* 1 while all threads are running (0 for NULL). */
int workers_running(void *workers);

/* Asks threads to stop and waits up to grace_s for running jobs to finish.
 * Returns 0 when every thread ended (w is freed), or the number still inside
 * a job: those are detached and w is left alive, so the caller must exit
 * without freeing what they use (their jobs stay "running" in the store and
 * are queued again at the next start). NULL is fine. */
int workers_stop(struct workers *w, int grace_s);

/* The Matillion client the workers use for config c (built when c's
 * settings differ from the current one), for another thread that must
 * share its token and rate limiter (the poller); *ref holds a reference
 * to give back with workers_dpc_put(). NULL on ERR_NOMEM. */
struct dpc *workers_dpc_get(struct workers *w, const struct config *c, void **ref);
void workers_dpc_put(struct workers *w, void *ref);

#endif
