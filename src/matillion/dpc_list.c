/* Reading one page of Matillion's execution list (GET
 * /v1/pipeline-executions) into checked struct dpc_execution values. Pure:
 * bytes in, structs out; the call itself lives in dpc.c.
 *
 * Nothing in a page is trusted. Ids must pass the webhook ids' syntax
 * check (they become URL segments, SQL keys and log words), an entry of
 * another project than the one asked for is dropped, names are sanitised
 * and cut on a character boundary, times outside [2000, now + 1 day] are
 * treated as absent, and the pagination token must be short printable
 * ASCII, since it goes back into a URL. A page with more results than we
 * asked for, or a token we cannot follow, is refused as a whole rather
 * than read in part: a listing cut short would skip runs silently. */
#include "dpc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "text.h"

int dpc_execution_finished(const struct dpc_execution *e)
{
	switch (e->status) {
	case ST_RUNNING:
	case ST_CANCELLING:
	case ST_QUEUED: return 0;
	case ST_UNKNOWN: return e->finished_ms >= 0;
	default: return 1;
	}
}

static const char *str_of(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* A time of the page, or -1 when absent, malformed or absurd. */
static int64_t time_of(const cJSON *obj, const char *key, int64_t now_ms)
{
	int64_t t = summary_parse_time(str_of(obj, key));

	if (t < DPC_TIME_MIN_MS || t > now_ms + DPC_TIME_AHEAD_MS)
		return -1;
	return t;
}

/* Copies display text: sanitised, at most cap-1 bytes on a character
 * boundary. Only the first bytes are looked at, so a huge name costs no
 * more than a short one. "" when absent; ERR_NOMEM. */
static int take_text(char *dst, size_t cap, const char *src)
{
	char *t;
	size_t n;

	dst[0] = '\0';
	if (src == NULL)
		return 0;
	t = text_sanitize(src, strnlen(src, 4 * cap), 0);
	if (t == NULL)
		return ERR_NOMEM;
	n = text_utf8_prefix(t, cap - 1);
	memcpy(dst, t, n);
	dst[n] = '\0';
	free(t);
	return 0;
}

/* Keeps printable ASCII only, at most cap-1 bytes. */
static void take_ascii(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (; src != NULL && *src != '\0' && o + 1 < cap; src++)
		if (*src > 0x20 && *src < 0x7f)
			dst[o++] = *src;
	dst[o] = '\0';
}

/* An id fit for a URL segment: the shared syntax, and no dot segment. */
static int id_ok(const char *id)
{
	return text_id_valid(id) && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

/* Reads one result into e. Returns 0, ERR_NOTFOUND (skip it) or ERR_NOMEM. */
static int take_run(const cJSON *item, const char *project_id, int64_t now_ms,
		    struct dpc_execution *e)
{
	const char *id = str_of(item, "pipelineExecutionId"), *proj = str_of(item, "projectId");
	const char *st = str_of(item, "status");
	int rc;

	memset(e, 0, sizeof(*e));
	if (!cJSON_IsObject(item) || !id_ok(id))
		return ERR_NOTFOUND;
	if (proj != NULL && strcmp(proj, project_id) != 0)
		return ERR_NOTFOUND;
	memcpy(e->id, id, strlen(id) + 1);
	memcpy(e->project_id, project_id, strlen(project_id) + 1);
	rc = take_text(e->pipeline, sizeof(e->pipeline), str_of(item, "pipelineName"));
	if (rc == 0)
		rc = take_text(e->environment, sizeof(e->environment),
			       str_of(item, "environmentName"));
	if (rc)
		return rc;
	e->status = status_parse(st);
	take_ascii(e->status_text, sizeof(e->status_text), st);
	take_ascii(e->trigger, sizeof(e->trigger), str_of(item, "trigger"));
	e->started_ms = time_of(item, "startedAt", now_ms);
	e->finished_ms = time_of(item, "finishedAt", now_ms);
	/* A finish before the start is not believed. */
	if (e->finished_ms >= 0 && e->started_ms >= 0 && e->finished_ms < e->started_ms)
		e->finished_ms = -1;
	if (e->status == ST_RUNNING || e->status == ST_CANCELLING || e->status == ST_QUEUED)
		e->finished_ms = -1;
	return 0;
}

/* The next page's token into out: "" for none (absent, null, empty),
 * ERR_PARSE for one we cannot follow. */
static int take_more(const cJSON *root, char *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "more");
	size_t n, i;

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return 0;
	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return ERR_PARSE;
	n = strnlen(v->valuestring, DPC_MORE_MAX);
	if (n >= DPC_MORE_MAX)
		return ERR_PARSE;
	for (i = 0; i < n; i++)
		if (v->valuestring[i] <= 0x20 || v->valuestring[i] >= 0x7f)
			return ERR_PARSE;
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

int dpc_list_parse(const char *body, size_t len, const char *project_id, int64_t now_ms,
		   struct dpc_list_page *out)
{
	cJSON *root = NULL;
	const cJSON *res, *item;
	char *copy = NULL;
	int rc = ERR_PARSE;

	out->n = 0;
	out->skipped = 0;
	out->more[0] = '\0';
	if (body == NULL || project_id == NULL)
		return ERR_PARSE;
	/* cJSON would end a string at an escaped NUL ("e\u0000/.." reads
	 * as "e"); defused on a copy, such an id keeps its tail and fails. */
	if (text_json_has_nul(body, len)) {
		copy = malloc(len);
		if (copy == NULL)
			return ERR_NOMEM;
		memcpy(copy, body, len);
		rc = text_json_defuse_nul(copy, len);
		body = copy;
		if (rc)
			goto out;
		rc = ERR_PARSE;
	}
	root = cJSON_ParseWithLength(body, len);
	res = cJSON_GetObjectItemCaseSensitive(root, "results");
	if (!cJSON_IsObject(root) || !cJSON_IsArray(res) ||
	    cJSON_GetArraySize(res) > DPC_LIST_LIMIT)
		goto out;
	rc = take_more(root, out->more);
	cJSON_ArrayForEach(item, res)
	{
		int r;

		if (rc)
			break;
		r = take_run(item, project_id, now_ms, &out->runs[out->n]);
		if (r == 0)
			out->n++;
		else if (r == ERR_NOTFOUND)
			out->skipped++;
		else
			rc = r;
	}
out:
	cJSON_Delete(root);
	free(copy);
	if (rc) {
		out->n = 0;
		out->more[0] = '\0';
	}
	return rc;
}
