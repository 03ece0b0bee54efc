/* Webhook body decoding. The sender's payload shape is not documented, so the
 * run's identity is searched for under several key spellings, at the top
 * level and one level down; everything copied out is bounded and cleaned. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
	"pipelineExecutionId",
	"executionId",
	"execution_id",
	"id",
};
static const char *const project_keys[] = { "projectId", "project_id" };
static const char *const pipeline_keys[] = { "pipelineName", "pipeline_name" };
static const char *const env_keys[] = { "environmentName", "environment_name" };
static const char *const status_keys[] = { "status" };

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One step of a JSON scan's string state: feeds byte c and returns 1 when
 * it belongs to a string (its quotes and escapes included), so a scanner
 * acts only on the bytes outside strings. */
static int string_byte(char c, int *in_str, int *esc)
{
	if (*in_str) {
		if (*esc)
			*esc = 0;
		else if (c == '\\')
			*esc = 1;
		else if (c == '"')
			*in_str = 0;
		return 1;
	}
	*in_str = c == '"';
	return *in_str;
}

/* Returns 1 when the brackets of body nest deeper than max, counting only
 * brackets outside strings. Runs before cJSON so a body of 100000 '[' costs
 * one linear scan instead of deep recursion. */
int webhook_json_too_deep(const char *body, size_t len, int max)
{
	int depth = 0, in_str = 0, esc = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = body[i];

		if (string_byte(c, &in_str, &esc))
			continue;
		if (c == '[' || c == '{') {
			if (++depth > max)
				return 1;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return 0;
}

/* Where an id was found: the member key of the top level (nest NULL) or
 * of the object nest, holding a non-empty string or a number. */
struct id_src {
	const cJSON *item;
	const char *nest;
	const char *key;
};

/* 1 when v can be an id: a non-empty string or any number (whether the
 * number is a usable id is decided from its text, see number_id()). */
static int id_candidate(const cJSON *v)
{
	return (cJSON_IsString(v) && v->valuestring && v->valuestring[0]) || cJSON_IsNumber(v);
}

/* Finds the first key of keys (in order) at the top level, then under each
 * nest object; keys are the outer loop so a specific spelling nested one
 * level down beats a generic "id" on an envelope. Returns 0 with *src
 * filled, or ERR_NOTFOUND. */
static int find_id(const cJSON *root, const char *const *keys, size_t nkeys, struct id_src *src)
{
	const cJSON *v, *o;
	size_t k, n;

	for (k = 0; k < nkeys; k++) {
		src->key = keys[k];
		src->nest = NULL;
		v = cJSON_GetObjectItemCaseSensitive(root, keys[k]);
		if (id_candidate(v)) {
			src->item = v;
			return 0;
		}
		for (n = 0; n < NELEM(nests); n++) {
			o = cJSON_GetObjectItemCaseSensitive(root, nests[n]);
			if (!cJSON_IsObject(o))
				continue;
			v = cJSON_GetObjectItemCaseSensitive(o, keys[k]);
			if (id_candidate(v)) {
				src->item = v;
				src->nest = nests[n];
				return 0;
			}
		}
	}
	return ERR_NOTFOUND;
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

/* Copies display text into dst (size cap): control characters (C0, DEL,
 * C1) and invalid UTF-8 bytes are dropped, and the cut never splits a code
 * point, so a hostile name cannot break a log line or a chat message. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	const char *s = src, *end = src + strlen(src);
	size_t o = 0, n;
	int32_t cp;

	while (*s) {
		n = text_utf8_decode(s, (size_t)(end - s), &cp);
		if (cp < 0) {
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

/* Characters of a JSON number as cJSON reads one. */
static int number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* The body with every number outside strings turned into a string of its
 * own text, so parsing it gives the same tree with each number's exact
 * source text where the number was. Each number grows by two quotes and
 * is followed by at least one other byte, so 2*len+2 bytes suffice.
 * Returns a malloc'ed copy (*outlen bytes) or NULL. */
static char *quote_numbers(const char *b, size_t len, size_t *outlen)
{
	char *o = malloc(2 * len + 2);
	int in_str = 0, esc = 0;
	size_t i = 0, n = 0, run;

	if (o == NULL)
		return NULL;
	while (i < len) {
		char c = b[i];

		if (!string_byte(c, &in_str, &esc) && (c == '-' || (c >= '0' && c <= '9'))) {
			for (run = 0; i + run < len && number_char(b[i + run]); run++)
				;
			o[n++] = '"';
			memcpy(o + n, b + i, run);
			n += run;
			o[n++] = '"';
			i += run;
			continue;
		}
		o[n++] = c;
		i++;
	}
	*outlen = n;
	return o;
}

/* The decimal text of an id given as a JSON number, exactly as the
 * sender wrote it: only a plain non-negative integer up to 2^53 (what a
 * double holds exactly, so every sender and parser reads the same id).
 * cJSON keeps only the double, so the text comes from the body parsed
 * again with its numbers quoted (once, on first need, kept in *quoted).
 * Returns 0 with the digits in num, or ERR_LIMIT. */
static int number_id(const char *body, size_t len, cJSON **quoted, const struct id_src *src,
		     char *num, size_t numlen)
{
	const cJSON *o, *v;
	const char *t;
	size_t qlen = 0, n;
	char *q;

	if (*quoted == NULL) {
		q = quote_numbers(body, len, &qlen);
		if (q != NULL)
			*quoted = cJSON_ParseWithLength(q, qlen);
		free(q);
	}
	o = src->nest != NULL ? cJSON_GetObjectItemCaseSensitive(*quoted, src->nest) : *quoted;
	v = cJSON_GetObjectItemCaseSensitive(o, src->key);
	t = cJSON_IsString(v) ? v->valuestring : NULL;
	n = t != NULL ? strlen(t) : 0;
	if (n == 0 || n > 16 || n >= numlen || strspn(t, "0123456789") != n ||
	    (n > 1 && t[0] == '0') || strtoull(t, NULL, 10) > 9007199254740992ULL)
		return ERR_LIMIT;
	memcpy(num, t, n + 1);
	return 0;
}

/* Parses and checks that the whole body is one JSON object. */
static int parse_root(const char *body, size_t len, int max_depth, cJSON **out, const char **why)
{
	const char *end = NULL;
	cJSON *root;

	if (max_depth <= 0)
		max_depth = DEFAULT_DEPTH;
	if (webhook_json_too_deep(body, len, max_depth)) {
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
	while (end && end < body + len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end == NULL || end != body + len || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		*why = end != body + len ? "body is not valid JSON" : "body is not a JSON object";
		return ERR_PARSE;
	}
	*out = root;
	return 0;
}

/* The text of the id at src: the string, or a number's exact digits in
 * num. Returns 0, or ERR_LIMIT (with *why naming which id) for a number
 * that is no usable id. */
static int id_text(const char *body, size_t len, cJSON **quoted, const struct id_src *src,
		   char *num, size_t numlen, const char **out)
{
	if (cJSON_IsString(src->item)) {
		*out = src->item->valuestring;
		return 0;
	}
	*out = num;
	return number_id(body, len, quoted, src, num, numlen);
}

/* Fills the ids of ev from root (or the query project id). body and len
 * are what root was parsed from, for the exact text of numeric ids. */
static int take_ids(const cJSON *root, const char *body, size_t len, const char *query_project_id,
		    struct webhook_event *ev, const char **why)
{
	cJSON *quoted = NULL;
	struct id_src src;
	char num[32];
	const char *s = NULL;
	int rc;

	rc = find_id(root, exec_keys, NELEM(exec_keys), &src);
	if (rc != 0) {
		*why = "missing execution id (pipelineExecutionId, executionId, execution_id or id)";
		goto out;
	}
	rc = id_text(body, len, &quoted, &src, num, sizeof(num), &s);
	if (rc != 0) {
		*why = "execution id is a number but not an integer from 0 to 2^53";
		goto out;
	}
	if (copy_id(ev->execution_id, s)) {
		*why = "execution id too long or has characters outside [A-Za-z0-9._:-]";
		rc = ERR_LIMIT;
		goto out;
	}
	s = NULL;
	rc = find_id(root, project_keys, NELEM(project_keys), &src);
	if (rc == 0)
		rc = id_text(body, len, &quoted, &src, num, sizeof(num), &s);
	else if (query_project_id && query_project_id[0])
		s = query_project_id;
	if (rc == ERR_LIMIT) {
		*why = "project id is a number but not an integer from 0 to 2^53";
		goto out;
	}
	rc = 0;
	if (s == NULL) {
		*why = "missing project id (projectId, project_id or ?projectId=)";
		rc = ERR_NOTFOUND;
		goto out;
	}
	if (copy_id(ev->project_id, s)) {
		*why = "project id too long or has characters outside [A-Za-z0-9._:-]";
		rc = ERR_LIMIT;
	}
out:
	cJSON_Delete(quoted);
	return rc;
}

int webhook_parse(const char *body, size_t len, const char *query_project_id, int max_depth,
		  struct webhook_event *ev, const char **why)
{
	const char *dummy, *s;
	char *copy = NULL;
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
	/* Only a body that holds the escape at all is copied. */
	if (text_json_has_nul(body, len)) {
		copy = malloc(len);
		if (copy == NULL) {
			*why = "out of memory";
			return ERR_NOMEM;
		}
		memcpy(copy, body, len);
		/* cJSON would end a string at the NUL and silently cut an id
		 * or a name; as U+FFFD an id fails its check instead. */
		text_json_defuse_nul(copy, len);
		body = copy;
	}
	rc = parse_root(body, len, max_depth, &root, why);
	if (rc)
		goto out;
	rc = take_ids(root, body, len, query_project_id, ev, why);
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
	free(copy);
	if (rc) {
		/* A failed parse leaves nothing half-filled behind. */
		memset(ev, 0, sizeof(*ev));
	}
	return rc;
}

/* Appends name to out (at len) as webhook_top_keys() describes. */
static size_t put_key(char *out, size_t cap, size_t len, const char *name)
{
	size_t i;

	if (len > 0 && len + 1 < cap)
		out[len++] = ',';
	for (i = 0; i < WEBHOOK_KEY_MAX && name[i] != '\0' && len + 1 < cap; i++)
		out[len++] = isalnum((unsigned char)name[i]) || strchr("_.:@$-", name[i]) != NULL
				     ? name[i]
				     : '?';
	out[len] = '\0';
	return len;
}

size_t webhook_top_keys(const char *body, size_t len, int max_depth, char *out, size_t cap)
{
	const char *why = NULL;
	cJSON *root = NULL, *it;
	size_t n = 0, at = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (body == NULL || parse_root(body, len, max_depth, &root, &why) != 0)
		return 0;
	for (it = root->child; it != NULL; it = it->next, n++)
		if (n < WEBHOOK_KEYS_MAX && it->string != NULL)
			at = put_key(out, cap, at, it->string);
	cJSON_Delete(root);
	return n;
}

int webhook_project_hint(const char *body, size_t len, const char *query_project_id, int max_depth,
			 char out[WEBHOOK_ID_MAX])
{
	const char *why = NULL, *s = NULL;
	char *copy = NULL, num[32];
	cJSON *root = NULL, *quoted = NULL;
	struct id_src src;
	int rc = ERR_NOTFOUND;

	out[0] = '\0';
	if (body != NULL && text_json_has_nul(body, len)) {
		copy = malloc(len);
		if (copy != NULL) {
			memcpy(copy, body, len);
			text_json_defuse_nul(copy, len);
		}
		body = copy;
	}
	if (body != NULL && parse_root(body, len, max_depth, &root, &why) == 0 &&
	    find_id(root, project_keys, NELEM(project_keys), &src) == 0 &&
	    id_text(body, len, &quoted, &src, num, sizeof(num), &s) == 0 && copy_id(out, s) == 0)
		rc = 0;
	if (rc != 0 && query_project_id != NULL && copy_id(out, query_project_id) == 0)
		rc = 0;
	cJSON_Delete(quoted);
	cJSON_Delete(root);
	free(copy);
	return rc;
}
