/* The run-memory decision (memory.h): what one finished run means for its
 * pipeline, given the runs remembered before it and its open incident.
 * Pure: no clock, no store, no I/O, so every rule is a unit test.
 *
 * DESIGN
 * Runs are ordered by their finished time, never by arrival. A run older
 * than the newest remembered one is "late" (its webhook was delayed, or
 * two workers took two runs in the other order): a newer run already told
 * the pipeline's state, so it is only remembered and neither opens, closes
 * nor posts anything. An incident opens with the first
 * routed problem run; its first message waits for notify_after problems
 * in a row ("flaky" runs before that are held and counted). Later problems
 * with the same signature are repeats (compact line, held, or full, per
 * on_repeat) until repeat_interval has passed since the last message, when
 * the next one is a full reminder; a new signature is always a full
 * message. A success closes the incident and, when a message was posted
 * for it and recovery is on, posts the recovery. Statuses that are neither
 * a problem nor a success change nothing. */
#include <stdlib.h>
#include <string.h>

#include "memory.h"

static int routed(const struct mem_policy *p, enum run_status st)
{
	return (unsigned)st < ST__MAX && (p->notify_on & STATUS_BIT(st)) != 0;
}

static int64_t duration_of(const struct mem_run *r)
{
	if (r->started_ms < 0 || r->finished_ms < r->started_ms)
		return -1;
	return r->finished_ms - r->started_ms; /* both >= 0: cannot overflow */
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int64_t mem_usual_duration(const struct mem_run *hist, size_t n)
{
	int64_t d[MEM_MEDIAN_RUNS], v;
	size_t i, k = 0;

	for (i = 0; i < n && k < MEM_MEDIAN_RUNS; i++) {
		if (hist[i].status != ST_SUCCESS)
			continue;
		v = duration_of(&hist[i]);
		if (v >= 0)
			d[k++] = v;
	}
	if (k < MEM_MEDIAN_MIN_RUNS)
		return -1;
	qsort(d, k, sizeof(d[0]), cmp_i64);
	return k % 2 ? d[k / 2] : d[k / 2 - 1] + (d[k / 2] - d[k / 2 - 1]) / 2;
}

/* Streak context of a problem run: the problems right before it, their
 * first's finish, and the successes before them. */
static void streak_of(const struct mem_run *hist, size_t n, const struct mem_run *ev,
		      struct mem_context *c)
{
	size_t i = 0;

	c->streak = 1;
	c->streak_since_ms = ev->finished_ms;
	for (; i < n && status_is_problem(hist[i].status); i++) {
		c->streak++;
		c->streak_since_ms = hist[i].finished_ms;
	}
	for (; i < n && hist[i].status == ST_SUCCESS; i++)
		c->successes_before++;
}

/* Posts message kind a for problem ev in incident x, with reason r. */
static void post(struct mem_decision *out, enum mem_action a, enum mem_reason r,
		 const struct mem_run *ev)
{
	out->action = a;
	out->reason = r;
	out->ctx.held_before = out->next.held;
	out->next.held = 0;
	out->next.posted = 1;
	out->next.signature = ev->signature;
	out->next.last_post_ms = ev->finished_ms;
}

static void hold(struct mem_decision *out, enum mem_reason r)
{
	out->action = MEM_HOLD;
	out->reason = r;
	if (out->next.held < UINT32_MAX)
		out->next.held++;
}

static void problem(const struct mem_policy *p, const struct mem_run *ev, struct mem_decision *out)
{
	struct mem_incident *x = &out->next;
	unsigned after = p->notify_after ? p->notify_after : 1;

	if (!x->open) {
		memset(x, 0, sizeof(*x));
		x->open = 1;
		x->since_ms = out->ctx.streak_since_ms;
	}
	/* Every message of the incident names its start, so a target that
	 * threads or deduplicates by incident (Google Chat, PagerDuty) sees
	 * the same time on the first message, the repeats and the recovery;
	 * the streak's start is not it once the streak outgrows history. */
	out->ctx.incident_since_ms = x->since_ms;
	if (x->failures < UINT32_MAX)
		x->failures++;
	x->last_ms = ev->finished_ms;
	if (!x->posted) {
		if (out->ctx.streak < after)
			hold(out, MEM_R_FLAKY);
		else
			post(out, MEM_POST_FULL, MEM_R_OPENED, ev);
		return;
	}
	if (ev->signature != x->signature) {
		post(out, MEM_POST_FULL, MEM_R_NEW_ERROR, ev);
		return;
	}
	/* Unsigned difference: no overflow whatever the times say. Someone
	 * who acknowledged the incident needs no reminder of it. */
	if (!x->acked && ev->finished_ms >= x->last_post_ms &&
	    (uint64_t)ev->finished_ms - (uint64_t)x->last_post_ms >=
		    (uint64_t)(p->repeat_interval_ms > 0 ? p->repeat_interval_ms : 0)) {
		post(out, MEM_POST_FULL, MEM_R_REMINDER, ev);
		return;
	}
	switch (p->on_repeat) {
	case MEM_REPEAT_SILENT: hold(out, MEM_R_REPEAT); break;
	case MEM_REPEAT_FULL: post(out, MEM_POST_FULL, MEM_R_REPEAT, ev); break;
	default: post(out, MEM_POST_COMPACT, MEM_R_REPEAT, ev); break;
	}
}

static void success(const struct mem_policy *p, const struct mem_incident *inc,
		    struct mem_decision *out)
{
	int slow_post = out->ctx.slow && (p->notify_on & MEM_NOTIFY_SLOW) != 0;

	out->action = MEM_RECORD;
	out->reason = MEM_R_NOT_ROUTED;
	if (inc->open) {
		memset(&out->next, 0, sizeof(out->next));
		out->ctx.incident_failures = inc->failures;
		out->ctx.incident_since_ms = inc->since_ms;
		out->ctx.held_before = inc->held;
		if (inc->posted && p->recovery) {
			out->action = MEM_POST_RECOVERY;
			out->reason = MEM_R_NONE;
			return;
		}
	}
	if (routed(p, ST_SUCCESS)) {
		out->action = MEM_POST_FULL;
		out->reason = MEM_R_NONE;
	} else if (slow_post) {
		out->action = MEM_POST_FULL;
		out->reason = MEM_R_SLOW;
	}
}

static void decide(const struct mem_policy *p, const struct mem_run *hist, size_t n,
		   const struct mem_incident *inc, const struct mem_run *ev, int dup,
		   struct mem_decision *out);
static void silence(struct mem_decision *out, const struct mem_incident *inc);
static void record_only(struct mem_decision *out, const struct mem_incident *inc);

void mem_decide(const struct mem_policy *p, const struct mem_run *hist, size_t n,
		const struct mem_incident *inc, const struct mem_run *ev, int dup,
		struct mem_decision *out)
{
	static const struct mem_incident none;

	decide(p, hist, n, inc, ev, dup, out);
	if (p->record_only)
		record_only(out, inc ? inc : &none);
	else if (p->silenced)
		silence(out, inc ? inc : &none);
}

/* A run its route does not want told (triggers) joins the history, which
 * its duration and status are facts of, but neither opens, counts in nor
 * closes an incident: what the channel heard stays as it was. */
static void record_only(struct mem_decision *out, const struct mem_incident *inc)
{
	if (out->action == MEM_DUPLICATE)
		return;
	out->action = MEM_RECORD;
	out->reason = MEM_R_NOT_ROUTED;
	out->next = *inc;
}

static void decide(const struct mem_policy *p, const struct mem_run *hist, size_t n,
		   const struct mem_incident *inc, const struct mem_run *ev, int dup,
		   struct mem_decision *out)
{
	static const struct mem_incident none;
	int64_t usual;

	if (inc == NULL)
		inc = &none;
	memset(out, 0, sizeof(*out));
	out->next = *inc;
	out->ctx.duration_ms = duration_of(ev);
	out->ctx.usual_ms = usual = mem_usual_duration(hist, n);
	out->ctx.incident_since_ms = -1;
	out->ctx.streak_since_ms = -1;
	if (usual >= 0 && out->ctx.duration_ms >= 0 && p->duration_alert > 0 &&
	    (double)out->ctx.duration_ms > p->duration_alert * (double)usual &&
	    out->ctx.duration_ms - usual >= MEM_SLOW_MIN_DIFF_MS)
		out->ctx.slow = 1;
	if (dup) {
		out->action = MEM_DUPLICATE;
		return;
	}
	if (status_is_problem(ev->status))
		streak_of(hist, n, ev, &out->ctx);
	if (n > 0 && ev->finished_ms < hist[0].finished_ms) {
		/* Late: a newer run already told the pipeline's state, so this
		 * one is only remembered; it opens, closes and posts nothing. */
		out->reason = MEM_R_LATE;
		out->action = MEM_RECORD;
		return;
	}
	if (ev->status == ST_SUCCESS) {
		success(p, inc, out);
		return;
	}
	if (!status_is_problem(ev->status)) {
		out->reason = MEM_R_UNKNOWN;
		out->action = routed(p, ev->status) ? MEM_POST_FULL : MEM_RECORD;
		return;
	}
	if (!routed(p, ev->status)) {
		out->action = MEM_RECORD;
		out->reason = MEM_R_NOT_ROUTED;
		return;
	}
	problem(p, ev, out);
}

/* A silence turns what would be posted into a held-back run: a problem is
 * counted in the incident (told with its next message), a recovery closes
 * the incident quietly, anything else is only remembered. */
static void silence(struct mem_decision *out, const struct mem_incident *inc)
{
	switch (out->action) {
	case MEM_POST_FULL:
	case MEM_POST_COMPACT:
		/* Only a problem in an incident is held (and counted); a
		 * success, a late run or another status is remembered. */
		out->action = out->next.open && out->reason != MEM_R_LATE ? MEM_HOLD : MEM_RECORD;
		out->reason = MEM_R_SILENCED;
		if (out->action == MEM_HOLD) {
			/* The run's message was not sent: undo what post()
			 * recorded as told. */
			out->next.held = out->ctx.held_before;
			if (out->next.held < UINT32_MAX)
				out->next.held++;
			out->next.posted = inc->open ? inc->posted : 0;
			out->next.signature = inc->open ? inc->signature : 0;
			out->next.last_post_ms = inc->open ? inc->last_post_ms : 0;
		}
		break;
	case MEM_POST_RECOVERY:
		out->action = MEM_RECORD;
		out->reason = MEM_R_SILENCED;
		break;
	default: break;
	}
}
