/* libFuzzer target for webhook_parse(): any body, with and without a query
 * project id, must give a documented result code and, on success, ids that
 * are non-empty, bounded and made only of [A-Za-z0-9._:-]. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "errors.h"
#include "fuzz_util.h"
#include "webhook.h"

#define QUERY_ID "proj-Query.1"

/* 1 when field (size cap) holds a NUL-terminated string inside its bounds. */
static int bounded(const char *field, size_t cap)
{
	return memchr(field, '\0', cap) != NULL;
}

static int id_ok(const char *id)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > WEBHOOK_ID_MAX - 1)
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

/* Checks one call's outcome against the header's contract. */
static void check(int rc, const struct webhook_event *ev, const char *why)
{
	if (rc != 0) {
		FUZZ_CHECK(rc == ERR_PARSE || rc == ERR_NOTFOUND || rc == ERR_LIMIT,
			   "webhook_parse returned undocumented code %d", rc);
		FUZZ_CHECK(why != NULL, "failure %d without *why", rc);
		FUZZ_CHECK(strlen(why) < 4096, "*why is not a sane string");
		return;
	}
	FUZZ_CHECK(bounded(ev->execution_id, sizeof(ev->execution_id)),
		   "execution_id not NUL-terminated");
	FUZZ_CHECK(bounded(ev->project_id, sizeof(ev->project_id)), "project_id not NUL-terminated");
	FUZZ_CHECK(bounded(ev->pipeline_name, sizeof(ev->pipeline_name)),
		   "pipeline_name not NUL-terminated");
	FUZZ_CHECK(bounded(ev->environment, sizeof(ev->environment)),
		   "environment not NUL-terminated");
	FUZZ_CHECK(bounded(ev->status_text, sizeof(ev->status_text)),
		   "status_text not NUL-terminated");
	FUZZ_CHECK(id_ok(ev->execution_id), "bad execution_id \"%s\"", ev->execution_id);
	FUZZ_CHECK(id_ok(ev->project_id), "bad project_id \"%s\"", ev->project_id);
	FUZZ_CHECK((unsigned)ev->status < ST__MAX, "status %d out of range", (int)ev->status);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webhook_event a, b;
	const char *why_a = NULL, *why_b = NULL;
	int rc_a, rc_b;

	/* Garbage in the output catches fields left unterminated. */
	memset(&a, 0xa5, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	rc_a = webhook_parse((const char *)data, size, NULL, 16, &a, &why_a);
	check(rc_a, &a, why_a);
	rc_b = webhook_parse((const char *)data, size, QUERY_ID, 16, &b, &why_b);
	check(rc_b, &b, why_b);

	/* The query id is only a fallback: a body that parsed on its own must
	 * parse to the same identity when one is offered. */
	if (rc_a == 0) {
		FUZZ_CHECK(rc_b == 0, "query id turned success into %d", rc_b);
		FUZZ_CHECK(strcmp(a.execution_id, b.execution_id) == 0, "execution id differs");
		FUZZ_CHECK(strcmp(a.project_id, b.project_id) == 0,
			   "query id overrode the body's project id");
	}
	if (rc_b == 0 && rc_a == ERR_NOTFOUND)
		FUZZ_CHECK(strcmp(b.project_id, QUERY_ID) == 0,
			   "project id \"%s\" came from nowhere", b.project_id);
	/* A parse error does not depend on the query id. */
	if (rc_a == ERR_PARSE)
		FUZZ_CHECK(rc_b == ERR_PARSE, "parse error vanished with query id");
	return 0;
}
