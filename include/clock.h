/* The process's two clocks in milliseconds, in one place so every module
 * reads time the same way. */
#ifndef DPC_CLOCK_H
#define DPC_CLOCK_H

#include <pthread.h>
#include <stdint.h>

/* Monotonic clock in ms: for waits, deadlines and rate limits, since it
 * never jumps when the system time is set. Its zero is arbitrary. */
int64_t clock_mono_ms(void);

/* Wall clock in unix ms: for times that are stored or shown (when a job
 * was received, when a retry is due), which must survive a restart. */
int64_t clock_wall_ms(void);

/* Initialises cv (default attributes otherwise) so that its timed waits
 * run on the monotonic clock: a change of the system time cannot stretch
 * or cut short a wait given as a clock_mono_ms() deadline. Returns 0, or
 * nonzero when the attributes or the condition cannot be set up. */
int clock_cond_init(pthread_cond_t *cv);

#endif
