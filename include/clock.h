/* The process's two clocks in milliseconds, in one place so every module
 * reads time the same way. */
#ifndef DPC_CLOCK_H
#define DPC_CLOCK_H

#include <stdint.h>

/* Monotonic clock in ms: for waits, deadlines and rate limits, since it
 * never jumps when the system time is set. Its zero is arbitrary. */
int64_t clock_mono_ms(void);

/* Wall clock in unix ms: for times that are stored or shown (when a job
 * was received, when a retry is due), which must survive a restart. */
int64_t clock_wall_ms(void);

#endif
