/* Unit tests for mattermost.c: the attachment's shape, the size bound with
 * huge and multi-byte input, hostile text made inert (no @-mention the
 * server would notify, no Markdown outside code, no fence inside it),
 * the mention rule, classify and the URL rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "errors.h"
#include "httpc.h"
#include "summary.h"
#include "target.h"

#include "render_fixtures.h"

#define ZWSP "\xe2\x80\x8b"

static const struct target *mm(void)
{
	const struct target *t = target_find("mattermost");

	assert_non_null(t);
	return t;
}

static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;

		if ((b & 0xc0) != 0x80)
			w += b >= 0xf0 ? 2 : 1;
	}
	return w;
}

static size_t all_text(const cJSON *item)
{
	const cJSON *c;
	size_t n = 0;

	if (cJSON_IsString(item))
		return width(item->valuestring);
	for (c = item ? item->child : NULL; c; c = c->next)
		n += all_text(c);
	return n;
}

static cJSON *render(const struct summary *s, const char *mention)
{
	struct render_opts o = { .mention = mention };
	char *out = mm()->render(s, &o);
	cJSON *root;

	assert_non_null(out);
	root = cJSON_Parse(out);
	assert_non_null(root);
	free(out);
	assert_true(all_text(root) <= mm()->limits.text_budget);
	return root;
}

static const cJSON *attachment(const cJSON *root)
{
	const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "attachments"), 0);

	assert_non_null(a);
	return a;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* No '@' without a zero-width space after it: the server's mention
 * scanner finds no @channel, @all, @here or @user. */
static void no_mention(const char *t)
{
	const char *p;

	for (p = strchr(t, '@'); p != NULL; p = strchr(p + 1, '@'))
		if (strncmp(p + 1, ZWSP, 3) != 0)
			fail_msg("bare '@' at \"%.40s\"", p);
}

/* Markdown text: outside code every special has a backslash (our own
 * "**" bold markers, the bullet list and the links line aside), inside
 * a code block no fence can form. */
static void md_inert(const char *t)
{
	const char *p = t, *end;
	size_t n;

	no_mention(t);
	while (*p) {
		if (strncmp(p, "```\n", 4) == 0) {
			end = strstr(p + 4, "\n```");
			assert_non_null(end);
			for (n = 0; p + 4 + n < end; n++)
				assert_false(strncmp(p + 4 + n, "``", 2) == 0);
			p = end + 4;
			continue;
		}
		if (strncmp(p, "\n\n[Open ", 8) == 0)
			break; /* the links line, our own, ends the text */
		if (strncmp(p, "**", 2) == 0) {
			p += 2;
			continue;
		}
		if (*p == '\\') {
			assert_non_null(strchr("\\*_~`|<>#-[]()!", p[1]));
			p += 2;
			continue;
		}
		if (strchr("*_~`|<>#[]()", *p) != NULL)
			fail_msg("unescaped '%c' at \"%.40s\"", *p, p);
		p++;
	}
}

static void test_hostile_text(void **state)
{
	struct summary s;
	char t[1024] = "";
	size_t i, used = 0, k;
	cJSON *root;
	const cJSON *a, *f;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		used += (size_t)snprintf(t + used, sizeof(t) - used, "%s%s", i ? " | " : "",
					 hostile[i]);
	strncat(t, " @channel @all @here @alice ~town-square ![i](x) # h\n- l ``` `", 200);
	for (k = 0; k < 3; k++) {
		if (k == 0)
			make_hostile(&s, t);
		else
			make_hostile_failed(&s, t, k == 2);
		set(&s.message, t);
		root = render(&s, "@oncall");
		a = attachment(root);
		no_mention(str(a, "fallback"));
		md_inert(str(a, "title"));
		md_inert(str(a, "text"));
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(a, "fields")) no_mention(str(f, "value"));
		if (k == 1)
			assert_string_equal(str(root, "text"), "@oncall");
		else
			assert_null(str(root, "text"));
		cJSON_Delete(root);
		summary_free(&s);
	}
}

static void test_shape(void **state)
{
	struct summary s;
	cJSON *root;
	const cJSON *a;

	(void)state;
	make_summary(&s, 2, 0);
	regroup(&s);
	root = render(&s, NULL);
	a = attachment(root);
	assert_null(str(root, "text"));
	assert_string_equal(str(a, "color"), "#D93F0B");
	assert_non_null(strstr(str(a, "title"), "load\\_sales"));
	assert_non_null(strstr(str(a, "title_link"), "exec-1"));
	assert_non_null(strstr(str(a, "text"), "```\nTable not found\n```"));
	assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(a, "fields")) >= 2);
	cJSON_Delete(root);
	summary_free(&s);
}

/* 100 steps of 100 KB errors, 17 distinct, 4-byte emoji names 10,000
 * long, 50 failed children: the whole stays within the budget (checked in
 * render()) and fences stay balanced. */
static void test_limits_huge(void **state)
{
	struct summary s;
	char *big = malloc(40001), name[32];
	size_t i;
	cJSON *root;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < 10000; i++)
		memcpy(big + i * 4, "\xf0\x9f\x92\xa5", 4);
	big[40000] = '\0';
	make_summary(&s, 100, 100000);
	distinct_errors(&s, 17);
	set(&s.pipeline_name, big);
	set(&s.environment, big);
	set(&s.message, big);
	s.incomplete = strdup(big);
	s.degraded = strdup(big);
	for (i = 0; i < s.n_failed; i++)
		set(&s.failed[i].path, big);
	for (i = 0; i < 50; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		add_child(&s, name, big, ST_FAILED);
	}
	regroup(&s);
	root = render(&s, "@oncall");
	md_inert(str(attachment(root), "text"));
	assert_true(all_text(root) < 16383);
	cJSON_Delete(root);
	summary_free(&s);
	free(big);
}

static void test_classify_and_url(void **state)
{
	const struct target *t = mm();
	const long codes[] = { 200, 400, 403, 404, 429, 500 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(t->classify(codes[i], httpc_classify(codes[i]), "ok", 2),
				 httpc_classify(codes[i]));
	assert_null(t->url_warning("https://chat.example.com/hooks/xyz"));
	assert_null(t->url_warning("https://example.com/mm/hooks/xyz"));
	assert_non_null(t->url_warning("https://chat.example.com/api/v4/posts"));
	assert_non_null(t->url_warning("https://hooks.example.com/x"));
	assert_null(t->url_query);
	assert_true(t->limits.text_budget < 16383);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_text),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_limits_huge),
		cmocka_unit_test(test_classify_and_url),
	};

	(void)check_more_counts;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
