/* The SQLite backend's grouped messages (storm grouping): taking a
 * destination's held-back deliveries for one grouped message and
 * recording its outcome for all of them (see store_group_take() and
 * store_group_record() in store.h). Held deliveries are ordinary pending
 * rows with grouped = 1 and their run's line in group_item; a take marks
 * them grouped = 2 with not_before at the take's lease, so a worker that
 * claims one of their jobs meanwhile finds nothing due. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "errors.h"
#include "log.h"
#include "sqlite_int.h"

/* Due held rows of ?1 (dest) at ?2 (now), oldest job first, at most ?3;
 * served by deliveries_held. A take whose lease passed is due again. */
static const char SQL_TAKE_PICK[] =
	"SELECT d.job_id, j.received_ms, d.attempts, d.group_item, d.payload"
	" FROM deliveries d JOIN jobs j ON j.id = d.job_id"
	" WHERE d.dest = ?1 AND d.not_before_ms <= ?2 AND d.grouped > 0 AND d.state = 'pending'"
	" ORDER BY d.job_id LIMIT ?3";
static const char SQL_TAKE_MARK[] = "UPDATE deliveries SET grouped = 2, not_before_ms = ?3"
				    " WHERE job_id = ?1 AND dest = ?2 AND state = 'pending'";

struct take_run {
	const char *dest;
	int64_t now_ms, until_ms;
	size_t max;
	struct group_held *out;
	size_t n;
};

static int held_from_row(sqlite3_stmt *st, struct group_held *h)
{
	const unsigned char *item = sqlite3_column_text(st, 3);
	const unsigned char *payload = sqlite3_column_text(st, 4);

	memset(h, 0, sizeof(*h));
	h->job_id = sqlite3_column_int64(st, 0);
	h->received_ms = sqlite3_column_int64(st, 1);
	h->attempts = sqlite3_column_int(st, 2);
	h->item = strdup(item ? (const char *)item : "");
	h->payload = payload ? strdup((const char *)payload) : NULL;
	if (h->item == NULL || (payload != NULL && h->payload == NULL))
		return ERR_NOMEM;
	return 0;
}

static int take_apply(struct conn *c, void *ctx)
{
	struct take_run *t = ctx;
	sqlite3_stmt *st = NULL;
	struct arg a[3] = { AT(t->dest), AI(t->now_ms), AI((int64_t)t->max) };
	size_t i;
	int rc, err = 0;

	/* A retried transaction starts over. */
	store_group_free(t->out, t->n);
	t->out = calloc(t->max, sizeof(*t->out));
	t->n = 0;
	if (t->out == NULL)
		return ERR_NOMEM;
	rc = sq_stmt_get(c, SQL_TAKE_PICK, &st);
	if (rc == SQLITE_OK)
		rc = sq_bind(st, a, 3);
	while (rc == SQLITE_OK && err == 0 && t->n < t->max &&
	       (rc = sqlite3_step(st)) == SQLITE_ROW) {
		err = held_from_row(st, &t->out[t->n]);
		t->n++;
		rc = SQLITE_OK;
	}
	if (err == 0 && rc != SQLITE_DONE && rc != SQLITE_OK) {
		log_msg(LOG_ERROR, "store: held deliveries of %s: %s", t->dest,
			sqlite3_errmsg(c->db));
		err = sq_map_rc(rc);
	}
	sq_stmt_done(c, st);
	for (i = 0; i < t->n && err == 0; i++) {
		struct arg m[3] = { AI(t->out[i].job_id), AT(t->dest), AI(t->until_ms) };
		err = sq_stmt_run(c, SQL_TAKE_MARK, m, 3, NULL);
	}
	if (err == 0 && t->n == 0)
		err = ERR_NOTFOUND; /* nothing to write */
	return err;
}

int sq_group_take(struct store *base, const char *dest, int64_t now_ms, int64_t lease_ms,
		  size_t max, struct group_held **out, size_t *n)
{
	struct take_run t = { dest, now_ms, now_ms, max, NULL, 0 };
	int rc;

	t.until_ms = lease_ms > INT64_MAX - now_ms ? INT64_MAX : now_ms + lease_ms;
	rc = sq_write(sq_of(base), take_apply, &t);
	if (rc == ERR_NOTFOUND) {
		store_group_free(t.out, t.n);
		t.out = NULL;
		t.n = 0;
		rc = 0;
	}
	*out = t.out;
	*n = t.n;
	return rc;
}

/* One outcome for a taken row. Arguments: ?1 job, ?2 dest, ?3 now, ?4
 * not_before, ?5 error, ?6 attempts to add, ?7 the created message's id. */
static const char *const SQL_GROUP_RECORD[DLV__MAX] = {
	[DLV_PENDING] = "UPDATE deliveries SET grouped = 1, attempts = attempts + ?6,"
			" not_before_ms = ?4, last_error = ?5, updated_ms = ?3"
			" WHERE job_id = ?1 AND dest = ?2 AND state = 'pending' AND grouped = 2",
	[DLV_DELIVERED] = "UPDATE deliveries SET state = 'delivered', attempts = attempts + ?6,"
			  " last_error = NULL, updated_ms = ?3, message_id = ?7"
			  " WHERE job_id = ?1 AND dest = ?2 AND state = 'pending' AND grouped = 2",
	[DLV_DEAD] = "UPDATE deliveries SET state = 'dead', attempts = attempts + ?6,"
		     " last_error = ?5, updated_ms = ?3"
		     " WHERE job_id = ?1 AND dest = ?2 AND state = 'pending' AND grouped = 2",
};

struct group_run {
	const char *dest;
	const int64_t *jobs;
	size_t n;
	const struct dlv_outcome *o;
};

static int group_record_apply(struct conn *c, void *ctx)
{
	const struct group_run *g = ctx;
	const struct dlv_outcome *o = g->o;
	int64_t now = clock_wall_ms();
	size_t i;
	int ch, state, rc = 0;

	for (i = 0; i < g->n && rc == 0; i++) {
		struct arg a[7] = { AI(g->jobs[i]),
				    AT(g->dest),
				    AI(now),
				    AI(o->not_before_ms),
				    AT(o->error),
				    AI(o->state == DLV_PENDING && o->deferred ? 0 : 1),
				    AT(o->state == DLV_DELIVERED ? o->message_id : NULL) };
		ch = 0;
		rc = sq_stmt_run(c, SQL_GROUP_RECORD[o->state], a, NARGS(a), &ch);
		if (rc != 0 || ch == 0)
			continue;
		/* A running job is its worker's to settle: settling it here
		 * could queue it while that worker still posts for it. */
		rc = sq_job_state(c, g->jobs[i], &state);
		if (rc == ERR_NOTFOUND)
			rc = 0;
		else if (rc == 0 && state == JOB_QUEUED)
			rc = sq_settle_apply(c, g->jobs[i]);
	}
	return rc;
}

int sq_group_record(struct store *base, const char *dest, const int64_t *jobs, size_t n,
		    const struct dlv_outcome *o)
{
	struct group_run g = { dest, jobs, n, o };

	return sq_write(sq_of(base), group_record_apply, &g);
}
