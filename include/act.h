/* Carrying out a stored Slack button click (action.h): a JOB_KIND_ACTION
 * job claimed by a worker. See the DESIGN note in src/delivery/act.c. */
#ifndef DPC_ACT_H
#define DPC_ACT_H

#include <stdint.h>

struct config;
struct dpc;
struct httpc;
struct job;
struct store;

/* What a worker lends the action. All borrowed. */
struct act_env {
	struct store *st;
	const struct config *cfg;
	struct httpc *http;
	struct dpc *dpc;
	uint64_t rnd; /* for the retry delay */
};

/* Carries out the click of action job j: decides, acts, records the result
 * (store_action_finish(), which ends the job), then reports it in Slack.
 * A Matillion failure that may heal re-queues the job (store_job_retry())
 * until delivery.max_attempts. Returns 0 when the job was finished or
 * re-queued; an ERR_* code when the store failed (the worker gives the job
 * back). */
int act_run(const struct act_env *e, const struct job *j);

#endif
