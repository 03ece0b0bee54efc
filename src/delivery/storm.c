/* Storm grouping's gate (storm.h). Pure. */
#include <stddef.h>

#include "storm.h"

int64_t storm_admit(struct storm_window *w, int threshold, int64_t window_ms, int64_t now_ms)
{
	if (w == NULL || threshold <= 0 || window_ms <= 0 || now_ms < 0 ||
	    window_ms > INT64_MAX / 4 || now_ms > INT64_MAX / 4)
		return 0;
	if (now_ms >= w->end_ms) {
		if (w->held > 0 && now_ms < w->end_ms + window_ms) {
			/* The storm goes on: the next window follows the
			 * last at once, and its messages are all held. */
			w->end_ms += window_ms;
			w->count = threshold;
		} else {
			w->end_ms = now_ms + window_ms;
			w->count = 0;
		}
		w->held = 0;
	}
	/* A clock that went back leaves a window far ahead: cut it. */
	if (w->end_ms > now_ms + window_ms)
		w->end_ms = now_ms + window_ms;
	w->count++;
	if (w->count == 1 || w->count < threshold)
		return 0;
	w->held++;
	return w->end_ms;
}
