/* Storm grouping's gate: per destination, how many problem messages fell
 * due in the current window, and whether the next one is posted now or
 * held back for the window's grouped message. Pure; the worker keeps one
 * struct storm_window per destination under its lock. */
#ifndef DPC_STORM_H
#define DPC_STORM_H

#include <stdint.h>

/* One destination's window; all zero before its first problem message. */
struct storm_window {
	int64_t end_ms; /* wall ms the window ends */
	int count;      /* problem messages that fell due in it */
	int held;       /* of them, held back for its grouped message */
};

/* Admits one problem message falling due at now_ms. A window opens with
 * the first problem message (posted at once) and lasts window_ms; in it
 * the first threshold - 1 messages are posted at once (the first always)
 * and the rest are held back until its end, so a destination gets at
 * most threshold problem messages per window: the ones posted at once
 * and one grouped message. A window that held messages back is followed
 * at once by the next one, which holds everything, while the storm goes
 * on (a message falls due before that next window ends); a window
 * without held messages ends the storm. threshold <= 0 or window_ms <= 0
 * turns grouping off. Returns 0 to post now, else the wall ms to hold the
 * message back until (the end of its window, always > now_ms). */
int64_t storm_admit(struct storm_window *w, int threshold, int64_t window_ms, int64_t now_ms);

#endif
