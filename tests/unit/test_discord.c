/* Unit tests for discord.c: Discord's embed limits with huge and
 * multi-byte input, hostile text made inert (every Markdown special and
 * mention character escaped outside code, no fence inside it), the
 * mention rule and allowed_mentions, the reading of replies (a 429's JSON
 * retry_after with hostile values, the id ?wait=true returns), classify
 * and the URL rule. */
#include <math.h>
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

static const struct target *discord(void)
{
	const struct target *t = target_find("discord");

	assert_non_null(t);
	return t;
}

/* Width in UTF-16 units, as the renderer counts. */
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

static cJSON *render(const struct summary *s, const char *mention)
{
	struct render_opts o = { .mention = mention };
	char *out = discord()->render(s, &o);
	cJSON *root;

	assert_non_null(out);
	root = cJSON_Parse(out);
	assert_non_null(root);
	free(out);
	return root;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Checks every Discord limit of one message body; returns the embed. */
static const cJSON *check_limits(const cJSON *root)
{
	const cJSON *embeds = cJSON_GetObjectItem(root, "embeds"), *e, *f;
	size_t total = 0;

	assert_true(cJSON_IsArray(embeds));
	assert_true(cJSON_GetArraySize(embeds) >= 1);
	assert_true(cJSON_GetArraySize(embeds) <= 10);
	if (str(root, "content"))
		assert_true(width(str(root, "content")) <= 2000);
	cJSON_ArrayForEach(e, embeds)
	{
		assert_non_null(str(e, "title"));
		assert_true(width(str(e, "title")) <= 256);
		total += width(str(e, "title"));
		if (str(e, "description")) {
			assert_true(width(str(e, "description")) <= 4096);
			total += width(str(e, "description"));
		}
		assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(e, "fields")) <= 25);
		cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "fields"))
		{
			assert_true(width(str(f, "name")) >= 1);
			assert_true(width(str(f, "name")) <= 256);
			assert_true(width(str(f, "value")) >= 1);
			assert_true(width(str(f, "value")) <= 1024);
			total += width(str(f, "name")) + width(str(f, "value"));
		}
	}
	assert_true(total <= 6000);
	return cJSON_GetArrayItem(embeds, 0);
}

/* Outside code blocks, every character Discord's Markdown or mentions
 * give a meaning has a backslash before it; inside, no fence can form.
 * Our own timestamps (<t:DIGITS:f>) are skipped. */
static void inert(const char *t)
{
	const char *p = t, *end;
	size_t n;

	while (*p) {
		if (strncmp(p, "```\n", 4) == 0) {
			end = strstr(p + 4, "\n```");
			assert_non_null(end);
			/* No backtick run of three inside. */
			for (n = 0; p + 4 + n < end; n++)
				assert_false(strncmp(p + 4 + n, "``", 2) == 0);
			p = end + 4;
			continue;
		}
		if (strncmp(p, "<t:", 3) == 0) {
			n = strspn(p + 3, "0123456789");
			assert_true(n > 0);
			assert_true(p[3 + n] == ':' && strchr("ft", p[4 + n]) && p[5 + n] == '>');
			p += 6 + n;
			continue;
		}
		if (*p == '\\') {
			assert_non_null(strchr("\\*_~`|<>#-[]()@", p[1]));
			p += 2;
			continue;
		}
		if (strchr("*_~`|<>#[]()@", *p) != NULL)
			fail_msg("unescaped '%c' at \"%.40s\" in \"%.200s\"", *p, p, t);
		p++;
	}
}

/* Every string a reader sees: title, description, field names and values
 * (but the Links field, which is our own Markdown). */
static void check_inert(const cJSON *root)
{
	const cJSON *e = check_limits(root), *f;

	inert(str(e, "title"));
	inert(str(e, "description"));
	cJSON_ArrayForEach(f, cJSON_GetObjectItem(e, "fields"))
	{
		inert(str(f, "name"));
		if (strcmp(str(f, "name"), "Links") != 0)
			inert(str(f, "value"));
	}
}

static size_t array_size(const cJSON *o, const char *key)
{
	const cJSON *a = cJSON_GetObjectItem(o, key);

	return a == NULL ? 0 : (size_t)cJSON_GetArraySize(a);
}

static void test_hostile_text(void **state)
{
	struct summary s;
	char t[1024] = "";
	size_t i, used = 0, k;
	cJSON *root, *am;

	(void)state;
	for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
		used += (size_t)snprintf(t + used, sizeof(t) - used, "%s%s", i ? " | " : "",
					 hostile[i]);
	strncat(t, " @everyone @here <@&99> <#1> <t:1:R> ||spoiler|| # h\n- item\n> q ``` ` \\",
		sizeof(t) - strlen(t) - 1);
	for (k = 0; k < 3; k++) {
		if (k == 0)
			make_hostile(&s, t);
		else
			make_hostile_failed(&s, t, k == 2);
		set(&s.message, t);
		root = render(&s, "<@123456789012345678>");
		check_inert(root);
		am = cJSON_GetObjectItem(root, "allowed_mentions");
		assert_non_null(am);
		assert_int_equal(array_size(am, "parse"), 0);
		assert_int_equal(array_size(am, "roles"), 0);
		if (k == 1) {
			/* A failure carries the configured mention, and only it (a
			 * follow-up, k == 2, carries none). */
			assert_string_equal(str(root, "content"), "<@123456789012345678>");
			assert_int_equal(array_size(am, "users"), 1);
			assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "users"), 0)
						    ->valuestring,
					    "123456789012345678");
		}
		cJSON_Delete(root);
		summary_free(&s);
	}
}

/* The configured mention: users, roles, @everyone; unknown shapes shown
 * escaped and allowed nothing; none on a success. */
static void test_mention(void **state)
{
	struct summary s;
	cJSON *root, *am;

	(void)state;
	make_summary(&s, 1, 0);
	root = render(&s, "<@&456> <@!789>");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_string_equal(str(root, "content"), "<@&456> <@!789>");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "roles"), 0)->valuestring,
			    "456");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "users"), 0)->valuestring,
			    "789");
	assert_int_equal(array_size(am, "parse"), 0);
	cJSON_Delete(root);

	root = render(&s, "@here");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(am, "parse"), 0)->valuestring,
			    "everyone");
	cJSON_Delete(root);

	/* Slack markup, a 21-digit id, letters: no mention, shown escaped. */
	root = render(&s, "<!channel> <@123456789012345678901> <@abc>");
	am = cJSON_GetObjectItem(root, "allowed_mentions");
	assert_int_equal(array_size(am, "parse"), 0);
	assert_int_equal(array_size(am, "users"), 0);
	assert_int_equal(array_size(am, "roles"), 0);
	inert(str(root, "content"));
	cJSON_Delete(root);

	s.status = ST_SUCCESS;
	s.counts[ST_FAILED] = 0;
	s.n_failed = 0;
	root = render(&s, "<@123>");
	assert_null(cJSON_GetObjectItem(root, "content"));
	assert_int_equal(array_size(cJSON_GetObjectItem(root, "allowed_mentions"), "users"), 0);
	cJSON_Delete(root);
	s.n_failed = 1;
	summary_free(&s);
}

/* 100 steps of 100 KB errors in 17 distinct groups, 4-byte emoji names
 * 10,000 long, 50 failed children: every limit holds and errors left out
 * are counted. */
static void test_limits_huge(void **state)
{
	struct summary s;
	char *big = malloc(40001), name[32];
	size_t i;
	cJSON *root;
	const cJSON *e;

	(void)state;
	assert_non_null(big);
	for (i = 0; i < 10000; i++)
		memcpy(big + i * 4, "\xf0\x9f\x92\xa5", 4);
	big[40000] = '\0';
	make_summary(&s, 100, 100000);
	distinct_errors(&s, 17);
	set(&s.pipeline_name, big);
	set(&s.environment, big);
	set(&s.user, big);
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
	root = render(&s, "<@1>");
	e = check_limits(root);
	assert_true(array_size(e, "fields") >= 2);
	cJSON_Delete(root);
	summary_free(&s);
	free(big);
}

/* Each error is a field whose value is a fenced excerpt; a long SQL error
 * keeps its fences when cut to 1024. */
static void test_error_field(void **state)
{
	struct summary s;
	cJSON *root;
	const cJSON *f;
	const char *v;

	(void)state;
	make_summary(&s, 1, 5000);
	regroup(&s);
	root = render(&s, NULL);
	f = cJSON_GetArrayItem(cJSON_GetObjectItem(check_limits(root), "fields"), 0);
	v = str(f, "value");
	assert_int_equal(strncmp(v, "```\n", 4), 0);
	assert_string_equal(v + strlen(v) - 4, "\n```");
	cJSON_Delete(root);
	summary_free(&s);
}

static void reply(long status, const char *body, int64_t want_retry, const char *want_id)
{
	struct target_reply r = { -1, "" };

	discord()->read_reply(status, body, body ? strlen(body) : 0, &r);
	assert_int_equal(r.retry_after_s, want_retry);
	assert_string_equal(r.message_id, want_id);
}

static void test_read_reply(void **state)
{
	(void)state;
	assert_non_null(discord()->read_reply);
	reply(429, "{\"retry_after\": 1.5, \"global\": false, \"message\": \"x\"}", 2, "");
	reply(429, "{\"retry_after\": 0.01}", 1, "");
	reply(429, "{\"retry_after\": 0}", 0, "");
	reply(429, "{\"retry_after\": -5}", -1, "");
	reply(429, "{\"retry_after\": 1e308}", 3600, "");
	reply(429, "{\"retry_after\": 1e999}", 3600, "");
	reply(429, "{\"retry_after\": NaN}", -1, "");
	reply(429, "{\"retry_after\": \"7\"}", -1, "");
	reply(429, "{\"retry_after\": null}", -1, "");
	reply(429, "error code: 1015", -1, "");
	reply(429, "", -1, "");
	reply(429, NULL, -1, "");
	/* A hint only counts on a 429. */
	reply(500, "{\"retry_after\": 9}", -1, "");
	reply(200, "{\"id\": \"1234567890123456789\", \"type\": 0}", -1, "1234567890123456789");
	reply(200, "{\"id\": \"123456789012345678901\"}", -1, "");
	reply(200, "{\"id\": \"12a\"}", -1, "");
	reply(200, "{\"id\": \"\"}", -1, "");
	reply(200, "{\"id\": 123}", -1, "");
	reply(200, "{\"id\": \"1\\n2\"}", -1, "");
	reply(400, "{\"id\": \"123\"}", -1, "");
	reply(204, "", -1, "");
}

static void test_classify_and_url(void **state)
{
	const struct target *t = discord();
	const long codes[] = { 200, 204, 400, 401, 404, 429, 500, 502 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		assert_int_equal(
			t->classify(codes[i], httpc_classify(codes[i]), "{\"code\": 50035}", 15),
			httpc_classify(codes[i]));
	assert_int_equal(httpc_classify(429), ERR_TRANSIENT);
	assert_int_equal(httpc_classify(400), ERR_PERMANENT);
	assert_null(t->url_warning("https://discord.com/api/webhooks/123/abc"));
	assert_non_null(t->url_warning("https://discord.com/channels/1/2"));
	assert_string_equal(t->url_query, "wait=true");
	assert_true(t->default_rate > 0 && t->default_rate <= 0.5);
	assert_int_equal(t->limits.text_budget, 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_text), cmocka_unit_test(test_mention),
		cmocka_unit_test(test_limits_huge),  cmocka_unit_test(test_error_field),
		cmocka_unit_test(test_read_reply),   cmocka_unit_test(test_classify_and_url),
	};

	(void)check_more_counts;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
