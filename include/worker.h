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

/* 1 while all threads are running. */
int workers_running(void *workers);

/* Asks threads to stop, waits up to grace_s for running jobs to finish,
 * then releases unfinished jobs back to the queue and joins. NULL is fine. */
void workers_stop(struct workers *w, int grace_s);

#endif
