/* Unit tests for teams.c: the rendered body is parsed back and checked for
 * the Workflows envelope, the Adaptive Card structure, the 28 KB cap with
 * the "+N more" policy, hostile text and the mention rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "render.h"
#include "summary.h"
#include "text.h"

#define SEP SUMMARY_PATH_SEP
#define T0 1714557600000LL

/* A FAILED run "load_sales" in prod with n failed steps whose messages are
 * msg_len bytes of 'x' (or "Table not found" when msg_len is 0). */
static void make_summary(struct summary *s, size_t n, size_t msg_len)
{
	size_t i;

	assert_int_equal(summary_init(s, "proj-1", "exec-1", "https://app.matillion.com"), 0);
	free(s->pipeline_name);
	s->pipeline_name = strdup("load_sales");
	free(s->environment);
	s->environment = strdup("prod");
	free(s->project_name);
	s->project_name = strdup("Sales");
	free(s->trigger);
	s->trigger = strdup("SCHEDULE");
	s->status = ST_FAILED;
	s->started_ms = T0;
	s->finished_ms = T0 + 185000;
	s->total_steps = 48;
	s->counts[ST_SUCCESS] = 45;
	s->counts[ST_FAILED] = 2;
	s->counts[ST_CANCELLED] = 1;
	s->failed = calloc(n ? n : 1, sizeof(*s->failed));
	assert_non_null(s->failed);
	for (i = 0; i < n; i++) {
		struct failed_step *f = &s->failed[i];
		char path[64];

		snprintf(path, sizeof(path), "Root" SEP "Step %zu", i);
		f->path = strdup(path);
		f->step_id = strdup("");
		f->status = ST_FAILED;
		f->status_text = strdup("FAILED");
		f->message = malloc(msg_len ? msg_len + 1 : 16);
		if (msg_len) {
			memset(f->message, 'x', msg_len);
			f->message[msg_len] = '\0';
		} else {
			memcpy(f->message, "Table not found", 16);
		}
		f->duration_ms = 185000;
		f->seq = i;
	}
	s->n_failed = n;
}

static void add_child(struct summary *s, const char *id, const char *name, enum run_status st)
{
	struct child_run *c;

	s->children = realloc(s->children, (s->n_children + 1) * sizeof(*c));
	assert_non_null(s->children);
	c = &s->children[s->n_children++];
	memset(c, 0, sizeof(*c));
	c->execution_id = strdup(id);
	c->name = strdup(name);
	c->path = strdup("Root");
	c->status = st;
	c->depth = 1;
}

static cJSON *render(const struct summary *s, const struct destination *d, char **raw)
{
	char *out = teams_render(s, d);
	cJSON *root;

	assert_non_null(out);
	assert_true(strlen(out) <= TEAMS_MAX_BYTES);
	root = cJSON_Parse(out);
	assert_non_null(root);
	if (raw)
		*raw = out;
	else
		free(out);
	return root;
}

static cJSON *card_of(const cJSON *root)
{
	return cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0),
				   "content");
}

static const char *str(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));

	return v ? v : "";
}

static void structure(void **state)
{
	struct summary s;
	cJSON *root, *att, *card, *body, *b, *facts, *act;

	(void)state;
	make_summary(&s, 1, 0);
	free(s.failed[0].path);
	s.failed[0].path = strdup("Root" SEP "Load_x");
	add_child(&s, "c1", "child_a", ST_FAILED);
	root = render(&s, NULL, NULL);
	assert_string_equal(str(root, "type"), "message");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "attachments")), 1);
	att = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0);
	assert_string_equal(str(att, "contentType"), "application/vnd.microsoft.card.adaptive");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(att, "contentUrl")));
	card = card_of(root);
	assert_string_equal(str(card, "type"), "AdaptiveCard");
	assert_string_equal(str(card, "version"), "1.5");
	assert_string_equal(str(card, "$schema"), "http://adaptivecards.io/schemas/adaptive-card.json");
	assert_string_equal(str(cJSON_GetObjectItem(card, "msteams"), "width"), "Full");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities"));
	body = cJSON_GetObjectItem(card, "body");
	b = cJSON_GetArrayItem(body, 0);
	assert_string_equal(str(b, "type"), "TextBlock");
	assert_string_equal(str(b, "text"), "\xe2\x9d\x8c load\\_sales FAILED in prod \\(Sales\\)");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(b, "wrap")));
	assert_string_equal(str(b, "color"), "Attention");
	b = cJSON_GetArrayItem(body, 1);
	assert_string_equal(str(b, "type"), "FactSet");
	facts = cJSON_GetObjectItem(b, "facts");
	assert_string_equal(str(cJSON_GetArrayItem(facts, 1), "title"), "Environment");
	assert_string_equal(str(cJSON_GetArrayItem(facts, 1), "value"), "prod");
	assert_string_equal(str(cJSON_GetArrayItem(facts, 5), "value"), "3m 05s");
	assert_string_equal(str(cJSON_GetArrayItem(body, 2), "text"),
			    "48 steps: 45 succeeded, 2 failed, 1 cancelled");
	b = cJSON_GetArrayItem(body, 3);
	assert_string_equal(str(b, "type"), "Container");
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "items"), 0), "text"),
			    "**Root" SEP "Load\\_x** \xc2\xb7 FAILED \xc2\xb7 3m 05s");
	assert_string_equal(str(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "items"), 1), "text"),
			    "Table not found");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(b, "items"), 1), "wrap")));
	assert_string_equal(str(cJSON_GetArrayItem(body, 4), "text"), "**Child pipelines**");
	facts = cJSON_GetObjectItem(cJSON_GetArrayItem(body, 5), "facts");
	assert_string_equal(str(cJSON_GetArrayItem(facts, 0), "title"), "child\\_a");
	assert_string_equal(str(cJSON_GetArrayItem(facts, 0), "value"), "FAILED");
	assert_int_equal(cJSON_GetArraySize(body), 6);
	act = cJSON_GetArrayItem(cJSON_GetObjectItem(card, "actions"), 0);
	assert_string_equal(str(act, "type"), "Action.OpenUrl");
	assert_string_equal(str(act, "title"), "Open run in Matillion");
	assert_string_equal(str(act, "url"), "https://app.matillion.com/observability-dashboard/pipeline/exec-1");
	cJSON_Delete(root);
	summary_free(&s);
}

/* Returns the N of "+N more failed steps" (0 if absent); *shown gets the
 * number of step containers. */
static uint64_t more_of(const struct summary *s, size_t *shown)
{
	cJSON *root = render(s, NULL, NULL), *b;
	uint64_t more = 0;
	unsigned long long v;

	*shown = 0;
	cJSON_ArrayForEach(b, cJSON_GetObjectItem(card_of(root), "body")) {
		if (strcmp(str(b, "type"), "Container") == 0)
			(*shown)++;
		if (sscanf(str(b, "text"), "+%llu more failed steps", &v) == 1) {
			assert_int_equal(more, 0);
			more = v;
		}
	}
	cJSON_Delete(root);
	return more;
}

static void size_limits(void **state)
{
	const size_t ns[] = { 0, 1, 49, 50, 500 };
	struct summary s;
	size_t i, shown;
	uint64_t more;

	(void)state;
	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		make_summary(&s, ns[i], 1000);
		add_child(&s, "c1", "child", ST_SUCCESS);
		more = more_of(&s, &shown);
		assert_int_equal(more, ns[i] - shown);
		if (ns[i] > 0)
			assert_true(shown >= 1);
		summary_free(&s);
	}
	/* Short steps all fit; failed_more still shows. */
	make_summary(&s, 50, 0);
	s.failed_more = 9;
	more = more_of(&s, &shown);
	assert_int_equal(shown, 50);
	assert_int_equal(more, 9);
	summary_free(&s);
	/* Worst-case escaping (every byte becomes a backslash pair, then JSON
	 * doubles the backslash) still stays within the cap. */
	make_summary(&s, 100, 1000);
	for (i = 0; i < s.n_failed; i++)
		memset(s.failed[i].message, '*', 1000);
	more = more_of(&s, &shown);
	assert_int_equal(more, 100 - shown);
	assert_true(shown >= 1 && shown < 20);
	summary_free(&s);
}

static void set(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

static const char *const hostile[] = {
	"<!channel>", "<@U123>", "<https://evil|click>", "<at>CEO</at>",
	"[x](javascript:alert(1))", "*bold*", "bad\xff\xfe utf8 \xed\xa0\x80",
	"<!here> & <!everyone> <#C1>",
};

/* Fills every untrusted string of s with text t. */
static void make_hostile(struct summary *s, const char *t)
{
	size_t i;

	make_summary(s, 3, 0);
	set(&s->pipeline_name, t);
	set(&s->environment, t);
	set(&s->project_name, t);
	set(&s->trigger, t);
	set(&s->user, t);
	set(&s->message, t);
	set(&s->status_text, t);
	set(&s->execution_id, t);
	s->status = ST_UNKNOWN;
	s->incomplete = strdup(t);
	s->degraded = strdup(t);
	for (i = 0; i < s->n_failed; i++) {
		set(&s->failed[i].path, t);
		set(&s->failed[i].message, t);
		set(&s->failed[i].status_text, t);
		s->failed[i].status = ST_UNKNOWN;
	}
	add_child(s, "c1", t, ST_FAILED);
}

static void hostile_text(void **state)
{
	struct summary s;
	size_t i;
	char *out, *again;
	cJSON *root;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		make_hostile(&s, hostile[i]);
		root = render(&s, NULL, &out);
		assert_null(strstr(out, "<at>"));
		assert_null(strstr(out, "<!"));
		assert_null(strstr(out, "<@"));
		assert_null(strstr(out, "<http"));
		assert_null(strstr(out, "]("));
		assert_null(strstr(out, "[x]"));
		assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(card_of(root), "msteams"),
						"entities"));
		again = text_sanitize(out, strlen(out), 1);
		assert_string_equal(again, out);
		free(again);
		free(out);
		cJSON_Delete(root);
		summary_free(&s);
	}
	make_hostile(&s, "[x](javascript:alert(1)) <at>CEO</at>");
	root = render(&s, NULL, &out);
	assert_non_null(strstr(out, "\\\\[x\\\\]\\\\(javascript:alert\\\\(1\\\\)\\\\) "
				    "\xe2\x80\xb9" "at\xe2\x80\xba" "CEO"));
	free(out);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 1 when the card carries the config mention (and checks its shape). */
static int has_mention(const struct summary *s, const struct destination *d)
{
	cJSON *root = render(s, d, NULL), *card = card_of(root), *ents, *e, *b;
	int found_text = 0, found_entity = 0;

	cJSON_ArrayForEach(b, cJSON_GetObjectItem(card, "body"))
		if (strcmp(str(b, "text"), "<at>oncall@example.com</at>") == 0)
			found_text = 1;
	ents = cJSON_GetObjectItem(cJSON_GetObjectItem(card, "msteams"), "entities");
	e = cJSON_GetArrayItem(ents, 0);
	if (e != NULL) {
		assert_int_equal(cJSON_GetArraySize(ents), 1);
		assert_string_equal(str(e, "type"), "mention");
		assert_string_equal(str(e, "text"), "<at>oncall@example.com</at>");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "id"), "oncall@example.com");
		assert_string_equal(str(cJSON_GetObjectItem(e, "mentioned"), "name"),
				    "oncall@example.com");
		found_entity = 1;
	}
	cJSON_Delete(root);
	assert_int_equal(found_text, found_entity);
	return found_text;
}

static void mention_only_for_problems(void **state)
{
	struct destination d = { 0 };
	struct summary s;

	(void)state;
	d.mention = "oncall@example.com";
	make_summary(&s, 1, 0);
	assert_true(has_mention(&s, &d));
	s.status = ST_FORBIDDEN;
	assert_true(has_mention(&s, &d));
	s.status = ST_SUCCESS;
	assert_false(has_mention(&s, &d));
	s.status = ST_SKIPPED;
	assert_false(has_mention(&s, &d));
	s.status = ST_FAILED;
	assert_false(has_mention(&s, NULL));
	summary_free(&s);
}

static void banner_and_caveats(void **state)
{
	struct summary s;
	cJSON *root, *body;

	(void)state;
	make_summary(&s, 0, 0);
	s.is_test = 1;
	s.incomplete = strdup("API call budget reached");
	free(s.link);
	s.link = NULL;
	root = render(&s, NULL, NULL);
	body = cJSON_GetObjectItem(card_of(root), "body");
	assert_string_equal(str(cJSON_GetArrayItem(body, 0), "text"),
			    "\xf0\x9f\xa7\xaa TEST MESSAGE \xe2\x80\x94 sent by dpc-notify send-test");
	assert_string_equal(str(cJSON_GetArrayItem(body, 2), "text"),
			    "\xe2\x9a\xa0\xef\xb8\x8f API call budget reached");
	assert_string_equal(str(cJSON_GetArrayItem(body, 2), "color"), "Warning");
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(card_of(root), "actions")), 0);
	cJSON_Delete(root);
	summary_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(structure),
		cmocka_unit_test(size_limits),
		cmocka_unit_test(hostile_text),
		cmocka_unit_test(mention_only_for_problems),
		cmocka_unit_test(banner_and_caveats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
