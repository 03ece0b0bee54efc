/* The interactivity endpoint's decision on one complete request: Slack's
 * signature checked, the click read and stored with the job that will
 * carry it out. intake.c frames the request and sends the answer; the
 * worker acts (src/delivery/act.c). The click is committed and made
 * durable before the 200, on the polling thread: clicks come at the pace
 * people press buttons, and one small fsync is well inside Slack's three
 * seconds. Nothing from the request but the user id, the action and the
 * result is logged; the signing secret and the response_url never. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "errors.h"
#include "interact.h"
#include "intake.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

/* Maps a failed check to its metric and the problem detail. */
static unsigned refuse(enum metric_interaction m, const char *why, const char **detail)
{
	metrics_interaction(m);
	*detail = why;
	return m == MI_BAD_REQUEST ? 400 : m == MI_UNAVAILABLE ? 503 : 401;
}

unsigned interact_accept(const struct config *cfg, struct store *st, const struct interact_req *r,
			 const char **detail)
{
	struct action a;
	const char *why = NULL;
	int64_t id = 0;
	char idbuf[24];
	int rc;

	switch (interact_verify(cfg->slack_signing_secret, r->timestamp, r->signature, r->body,
				r->len, (int64_t)time(NULL))) {
	case IV_OK: break;
	case IV_MISSING: return refuse(MI_MISSING, "missing Slack signature", detail);
	case IV_STALE: return refuse(MI_STALE, "Slack timestamp outside 5 minutes", detail);
	default: return refuse(MI_BAD_SIGNATURE, "invalid Slack signature", detail);
	}
	rc = interact_parse(r->body, r->len, &a, &why);
	if (rc == ERR_NOTFOUND) {
		/* Slack wants its 200 for a link button's click as for any. */
		metrics_interaction(MI_IGNORED);
		log_msg(LOG_DEBUG, "intake: slack click on a link button ignored");
		*detail = NULL;
		return 200;
	}
	if (rc != 0)
		return refuse(MI_BAD_REQUEST, why ? why : "not a click", detail);
	if (st == NULL)
		return refuse(MI_UNAVAILABLE, "store unavailable", detail);
	rc = store_action_put(st, &a, clock_wall_ms(), &id);
	if (rc != 0 && rc != ERR_DUPLICATE) {
		log_msg(LOG_ERROR, "intake: store click of %s: %s", a.user_id, err_str(rc));
		return refuse(MI_UNAVAILABLE, "store unavailable", detail);
	}
	metrics_interaction(rc == 0 ? MI_ACCEPTED : MI_DUPLICATE);
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, id);
	log_event(LOG_INFO, "intake: slack click", "user", a.user_id, "action",
		  action_names[a.kind], "click", idbuf, "result", rc == 0 ? "stored" : "duplicate",
		  (char *)NULL);
	*detail = NULL;
	return 200;
}
