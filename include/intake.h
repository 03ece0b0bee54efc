/* The HTTP front door (libmicrohttpd): POST /webhook, GET /healthz, /readyz,
 * /metrics, and POST /-/reload when enabled; or, as the admin listener,
 * all of them but the webhook. A webhook is authenticated, size- and type-checked, decoded,
 * routed, then committed to the store before the 202 reply. Nothing it
 * rejects is echoed back or logged raw. */
#ifndef DPC_INTAKE_H
#define DPC_INTAKE_H

#include "config.h"
#include "store.h"

/* Readiness beyond the store: returns 1 when workers are running. */
typedef int (*intake_ready_fn)(void *ctx);

/* Starts listening on cfg->listen (host:port; port 0 picks one). The
 * holder and store are borrowed until intake_stop(). st may be NULL when the
 * store could not be opened: webhooks then get 503 and /readyz says so
 * until intake_set_store(). NULL on failure, with the cause in err. */
struct intake *intake_start(struct config_holder *cfg, struct store *st, intake_ready_fn ready,
			    void *ready_ctx, char *err, size_t errlen);

/* intake_start() for the admin listener: cfg->admin_listen, serving the
 * probes, /metrics and /-/reload (when enabled) as intake does, and
 * answering /webhook 404 like any unknown path. The listener limits
 * (max_connections, connection_timeout, ...) are the same keys'. */
struct intake *intake_start_admin(struct config_holder *cfg, struct store *st,
				  intake_ready_fn ready, void *ready_ctx, char *err, size_t errlen);

/* Reloads the config file; returns 0 when the new file was installed. */
typedef int (*intake_reload_fn)(void *ctx);

/* Serves POST /-/reload through fn (called on a listener thread) while
 * the config has reload_endpoint on; Bearer reload_token required. Call
 * before requests arrive. */
void intake_set_reload(struct intake *in, intake_reload_fn fn, void *ctx);

/* Starts a reconciliation (poll.h); project_id may be NULL. Returns 0
 * when one was asked for, nonzero when polling is off. */
typedef int (*intake_nudge_fn)(void *ctx, const char *project_id);

/* An authenticated webhook whose body names no usable run (today's 422)
 * goes to fn instead, answered 202 "reconciling" when fn returns 0. Call
 * before requests arrive. */
void intake_set_nudge(struct intake *in, intake_nudge_fn fn, void *ctx);

/* Hands intake the store once it opened (borrowed until intake_stop()). */
void intake_set_store(struct intake *in, struct store *st);

/* The port actually bound (useful with port 0). */
unsigned intake_port(const struct intake *in);

/* From now on POST /webhook answers 503 (shutting down); probes still work. */
void intake_drain(struct intake *in);

/* Stops the server and frees it; NULL is fine. */
void intake_stop(struct intake *in);

#endif
