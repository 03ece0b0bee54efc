/* Webhook body decoding. The sender's payload shape is not documented, so the
 * run's identity is searched for under several key spellings, at the top
 * level and one level down; everything copied out is bounded and cleaned. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"
#include "text.h"
#include "webhook.h"

/* Used when the caller passes max_depth <= 0. */
#define DEFAULT_DEPTH 16

/* Objects searched after the top level, in this order. */
static const char *const nests[] = { "data", "payload", "execution", "result" };

static const char *const exec_keys[] = {
	"pipelineExecutionId", "executionId", "execution_id", "id",
};
static const char *const project_keys[] = { "projectId", "project_id" };
static const char *const pipeline_keys[] = { "pipelineName", "pipeline_name" };
static const char *const env_keys[] = { "environmentName", "environment_name" };
static const char *const status_keys[] = { "status" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Returns 1 when the brackets of body nest deeper than max, counting only
 * brackets outside strings. Runs before cJSON so a body of 100000 '[' costs
 * one linear scan instead of deep recursion. */
static int too_deep(const char *body, size_t len, int max)
{
	int depth = 0, in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = body[i];

		if (in_str) {
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if ((c == ']' || c == '}') && depth > 0)
			depth--;
	}
	return 0;
}

/* The object's member key as a string or integral number, else NULL. For
 * numbers the decimal text goes into num (numbers are accepted because some
 * senders use numeric ids). */
static const char *id_value(const cJSON *obj, const char *key, char *num, size_t numlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (cJSON_IsString(v) && v->valuestring && v->valuestring[0])
		return v->valuestring;
	if (!cJSON_IsNumber(v))
		return NULL;
	d = v->valuedouble;
	/* Only integers that a double holds exactly. */
	if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
		return NULL;
	snprintf(num, numlen, "%lld", (long long)d);
	return num;
}

/* Finds the first key of keys (in order) at the top level, then under each
 * nest object; keys are the outer loop so a specific spelling nested one
 * level down beats a generic "id" on an envelope. */
static const char *find_id(const cJSON *root, const char *const *keys, size_t nkeys,
			   char *num, size_t numlen)
{
	const char *s;
	size_t k, n;

	for (k = 0; k < nkeys; k++) {
		s = id_value(root, keys[k], num, numlen);
		if (s)
			return s;
		for (n = 0; n < NELEM(nests); n++) {
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(root, nests[n]);

			if (!cJSON_IsObject(o))
				continue;
			s = id_value(o, keys[k], num, numlen);
			if (s)
				return s;
		}
	}
	return NULL;
}

/* Like find_id but for free text: only strings count. */
static const char *find_text(const cJSON *root, const char *const *keys, size_t nkeys)
{
	const cJSON *v, *o;
	size_t k, n;

	for (k = 0; k < nkeys; k++) {
		v = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
		if (cJSON_IsString(v) && v->valuestring)
			return v->valuestring;
		for (n = 0; n < NELEM(nests); n++) {
			o = cJSON_GetObjectItemCaseSensitive(root, nests[n]);
			if (!cJSON_IsObject(o))
				continue;
			v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
			if (cJSON_IsString(v) && v->valuestring)
				return v->valuestring;
		}
	}
	return NULL;
}

/* The id buffers hold exactly what text_id_valid() lets through. */
_Static_assert(WEBHOOK_ID_MAX == TEXT_ID_MAX, "webhook id buffers match the id check");

/* Copies an id after the shared syntax check (text_id_valid): ids end up
 * in URLs, SQL keys and log lines, so only [A-Za-z0-9._:-] is allowed. */
static int copy_id(char *dst, const char *src)
{
	if (!text_id_valid(src))
		return ERR_LIMIT;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 when it is invalid
 * (bad lead byte, truncated, overlong, surrogate or beyond U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL terminator */
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Copies display text into dst (size cap): control characters (C0, DEL,
 * C1) and invalid UTF-8 bytes are dropped, and the cut never splits a code
 * point, so a hostile name cannot break a log line or a chat message. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t o = 0, n;
	uint32_t cp;

	while (*s) {
		n = utf8_seq(s, &cp);
		if (n == 0) {
			s++;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			s += n;
			continue;
		}
		if (o + n > cap - 1)
			break;
		memcpy(dst + o, s, n);
		o += n;
		s += n;
	}
	dst[o] = '\0';
}

/* Keeps printable ASCII only: the status is a short word, and anything
 * else in it is noise or an attack on the logs. */
static void copy_ascii(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (; *src && o < cap - 1; src++)
		if (*src >= 0x20 && *src < 0x7f)
			dst[o++] = *src;
	dst[o] = '\0';
}

/* Parses and checks that the whole body is one JSON object. */
static int parse_root(const char *body, size_t len, int max_depth, cJSON **out,
		      const char **why)
{
	const char *end = NULL;
	cJSON *root;

	if (max_depth <= 0)
		max_depth = DEFAULT_DEPTH;
	if (too_deep(body, len, max_depth)) {
		*why = "JSON nested too deeply";
		return ERR_PARSE;
	}
	root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (root == NULL) {
		*why = "body is not valid JSON";
		return ERR_PARSE;
	}
	/* cJSON stops after the first value; anything but space after it
	 * means the body was not one JSON document. */
	while (end && end < body + len && (*end == ' ' || *end == '\t' ||
					   *end == '\r' || *end == '\n'))
		end++;
	if (end == NULL || end != body + len || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*why = end != body + len ? "body is not valid JSON" : "body is not a JSON object";
		return ERR_PARSE;
	}
	*out = root;
	return 0;
}

/* Fills the ids of ev from root (or the query project id). */
static int take_ids(const cJSON *root, const char *query_project_id,
		    struct webhook_event *ev, const char **why)
{
	char num[32];
	const char *s;

	s = find_id(root, exec_keys, NELEM(exec_keys), num, sizeof(num));
	if (s == NULL) {
		*why = "missing execution id (pipelineExecutionId, executionId, execution_id or id)";
		return ERR_NOTFOUND;
	}
	if (copy_id(ev->execution_id, s)) {
		*why = "execution id too long or has characters outside [A-Za-z0-9._:-]";
		return ERR_LIMIT;
	}
	s = find_id(root, project_keys, NELEM(project_keys), num, sizeof(num));
	if (s == NULL && query_project_id && query_project_id[0])
		s = query_project_id;
	if (s == NULL) {
		*why = "missing project id (projectId, project_id or ?projectId=)";
		return ERR_NOTFOUND;
	}
	if (copy_id(ev->project_id, s)) {
		*why = "project id too long or has characters outside [A-Za-z0-9._:-]";
		return ERR_LIMIT;
	}
	return 0;
}

int webhook_parse(const char *body, size_t len, const char *query_project_id,
		  int max_depth, struct webhook_event *ev, const char **why)
{
	const char *dummy, *s;
	cJSON *root = NULL;
	int rc;

	if (why == NULL)
		why = &dummy;
	*why = NULL;
	memset(ev, 0, sizeof(*ev));
	if (body == NULL) {
		*why = "empty body";
		return ERR_PARSE;
	}
	rc = parse_root(body, len, max_depth, &root, why);
	if (rc)
		goto out;
	rc = take_ids(root, query_project_id, ev, why);
	if (rc)
		goto out;
	s = find_text(root, pipeline_keys, NELEM(pipeline_keys));
	if (s)
		copy_text(ev->pipeline_name, sizeof(ev->pipeline_name), s);
	s = find_text(root, env_keys, NELEM(env_keys));
	if (s)
		copy_text(ev->environment, sizeof(ev->environment), s);
	s = find_text(root, status_keys, NELEM(status_keys));
	ev->status = status_parse(s);
	if (s)
		copy_ascii(ev->status_text, sizeof(ev->status_text), s);
out:
	cJSON_Delete(root);
	if (rc) {
		/* A failed parse leaves nothing half-filled behind. */
		memset(ev, 0, sizeof(*ev));
	}
	return rc;
}
