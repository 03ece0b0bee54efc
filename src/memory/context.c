/* What run memory needs from a summary and gives back to it (memory.h):
 * the run's failure signature, and the decision's context for the
 * renderers. Shared by the worker and `preview`. Pure. */
#include <stdint.h>
#include <string.h>

#include "memory.h"
#include "summary.h"

uint64_t mem_summary_signature(const struct summary *s)
{
	size_t i;

	if (!status_is_problem(s->status))
		return 0;
	/* The first real error group: the deepest failed step that is not
	 * only a child pipeline's run; else the run's own message. */
	for (i = 0; i < s->n_groups; i++)
		if (!s->groups[i].calls_child)
			return mem_signature(s->groups[i].first_path, s->groups[i].message);
	if (s->n_groups > 0)
		return mem_signature(s->groups[0].first_path, s->groups[0].message);
	return mem_signature("", s->message);
}

int mem_run_of(const struct summary *s, int64_t arrival_ms, struct mem_run *out)
{
	int replaced = 0;

	out->status = s->status;
	out->started_ms = s->started_ms;
	out->finished_ms = s->finished_ms;
	out->signature = mem_summary_signature(s);
	/* arrival + skew without overflow: arrival is a clock reading. */
	if (out->finished_ms < MEM_TIME_MIN_MS ||
	    (arrival_ms < INT64_MAX - MEM_TIME_SKEW_MS &&
	     out->finished_ms > arrival_ms + MEM_TIME_SKEW_MS)) {
		out->finished_ms = arrival_ms;
		replaced = 1;
	}
	if (out->started_ms > out->finished_ms || out->started_ms < MEM_TIME_MIN_MS)
		out->started_ms = -1;
	return replaced;
}

void mem_context_fill(const struct mem_decision *d, struct run_context *m)
{
	memset(m, 0, sizeof(*m));
	m->known = 1;
	m->form = d->action == MEM_POST_COMPACT    ? FORM_COMPACT
		  : d->action == MEM_POST_RECOVERY ? FORM_RECOVERY
						   : FORM_FULL;
	m->streak = d->ctx.streak;
	m->streak_since_ms = d->ctx.streak_since_ms;
	m->successes_before = d->ctx.successes_before;
	m->usual_ms = d->ctx.usual_ms;
	m->slow = d->ctx.slow;
	m->held_before = d->ctx.held_before;
	m->new_error = d->reason == MEM_R_NEW_ERROR;
	m->reminder = d->reason == MEM_R_REMINDER;
	m->late = d->reason == MEM_R_LATE;
	m->incident_failures = d->ctx.incident_failures;
	m->incident_since_ms = d->ctx.incident_since_ms;
}
