/* Unit tests for the mentions key of [project] and [default]: the shapes a
 * mention may have, parsing of "glob : mention" lists with every diagnostic
 * at its file:line, the check that a pair fits one of the project's
 * destinations, and how print and check-config show the list. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define HEAD                                                                                          \
	"[server]\nauth_token = tok-AAAA-0123456789\n[matillion]\nclient_id = i\nclient_secret = s\n" \
	"[destination s]\ntype = slack\nurl = https://hooks.slack.com/services/T1/B1/X1\n"            \
	"[destination t]\ntype = teams\nurl = https://x.example/workflows/w\n"
/* HEAD is 11 lines; after LINE14 the mentions key is on line 14. */
#define LINE14 "[project p1]\ndestinations = s, t\n"

static char path[64];
static struct diags d;

static void dump(void)
{
	size_t i;

	for (i = 0; i < d.n; i++)
		print_message("  diag: %s\n", d.lines[i]);
}

/* Loads HEAD + body from a temporary file; the caller frees the result. */
static struct config *load(const char *body)
{
	FILE *f;
	int fd;

	diags_free(&d);
	snprintf(path, sizeof(path), "/tmp/test_mentions_XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0600), 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(HEAD, f);
	fputs(body, f);
	fclose(f);
	return config_load(path, &d);
}

static int teardown(void **state)
{
	(void)state;
	diags_free(&d);
	if (path[0] != '\0')
		unlink(path);
	path[0] = '\0';
	return 0;
}

/* Asserts that body is refused with exactly one error, "FILE:14: want". */
static void refused(const char *body, const char *want)
{
	char line[1024];
	struct config *c = load(body);

	dump();
	if (c != NULL)
		print_message("  accepted: %s\n", body);
	assert_null(c);
	assert_int_equal(d.n_errors, 1);
	snprintf(line, sizeof(line), "%s:14: %s", path, want);
	assert_string_equal(d.lines[0], line);
	teardown(NULL);
}

/* Writes "a@bbbbbbbbb.bbbbbbbbb. … .io", total bytes long, into out. */
static void upn_of_len(char *out, size_t total)
{
	size_t i;

	memcpy(out, "a@", 2);
	for (i = 2; i < total - 3; i++)
		out[i] = i % 10 == 1 ? '.' : 'b';
	out[total - 4] = 'b';
	memcpy(out + total - 3, ".io", 4);
}

static void test_kind_of_shapes(void **state)
{
	static const struct {
		const char *s;
		enum mention_kind want;
	} cases[] = {
		{ "<@U2>", MENTION_SLACK },
		{ "<@U012ABCDEF>", MENTION_SLACK },
		{ "<@W012ABCDEF>", MENTION_SLACK },
		{ "<!subteam^S1>", MENTION_SLACK },
		{ "<!subteam^S0123ABCD>", MENTION_SLACK },
		{ "<!here>", MENTION_SLACK },
		{ "<!channel>", MENTION_SLACK },
		{ "ops@example.com", MENTION_UPN },
		{ "jane.doe+dwh@sub.example-corp.co.uk", MENTION_UPN },
		{ "A_B-c@x.io", MENTION_UPN },
		/* Slack markup that is not exactly one of the shapes */
		{ "<@u2>", MENTION_NONE },
		{ "<@U>", MENTION_NONE },
		{ "<@X2>", MENTION_NONE },
		{ "<@U2|jane>", MENTION_NONE },
		{ "<@U2> <@U3>", MENTION_NONE },
		{ "<@U2", MENTION_NONE },
		{ "@U2", MENTION_NONE },
		{ "<!subteam^T1>", MENTION_NONE },
		{ "<!subteam^S1|dwh>", MENTION_NONE },
		{ "<!subteam^>", MENTION_NONE },
		{ "<!everyone>", MENTION_NONE },
		{ "<!here|here>", MENTION_NONE },
		{ "<!HERE>", MENTION_NONE },
		{ " <!here>", MENTION_NONE },
		{ "<!here>\n", MENTION_NONE },
		{ "<@U0123456789012345678901234567890123>", MENTION_NONE }, /* id too long */
		/* UPNs that are not one plain address */
		{ "ops", MENTION_NONE },
		{ "ops@", MENTION_NONE },
		{ "@example.com", MENTION_NONE },
		{ "ops@example", MENTION_NONE },
		{ "ops@@example.com", MENTION_NONE },
		{ "o ps@example.com", MENTION_NONE },
		{ ".ops@example.com", MENTION_NONE },
		{ "ops.@example.com", MENTION_NONE },
		{ "o..ps@example.com", MENTION_NONE },
		{ "ops@example..com", MENTION_NONE },
		{ "ops@-example.com", MENTION_NONE },
		{ "ops@example-.com", MENTION_NONE },
		{ "ops@example.com.", MENTION_NONE },
		{ "<at>ops@example.com</at>", MENTION_NONE },
		{ "ops@exa_mple.com", MENTION_NONE },
		{ "op\"s@example.com", MENTION_NONE },
		{ "\xc3\xa9@example.com", MENTION_NONE },
		{ "", MENTION_NONE },
	};
	char big[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (config_mention_kind(cases[i].s) != cases[i].want)
			print_message("kind(\"%s\") != %d\n", cases[i].s, cases[i].want);
		assert_int_equal(config_mention_kind(cases[i].s), cases[i].want);
	}
	assert_int_equal(config_mention_kind(NULL), MENTION_NONE);
	/* 64 bytes before the @ at most, 63 per label, 254 in all */
	memset(big, 'a', sizeof(big));
	memcpy(big + 64, "@x.io", 6);
	assert_int_equal(config_mention_kind(big), MENTION_UPN);
	memset(big, 'a', sizeof(big));
	memcpy(big + 65, "@x.io", 6);
	assert_int_equal(config_mention_kind(big), MENTION_NONE);
	memset(big, 'a', sizeof(big));
	memcpy(big, "a@", 2);
	memcpy(big + 2 + 63, ".io", 4);
	assert_int_equal(config_mention_kind(big), MENTION_UPN);
	memset(big, 'a', sizeof(big));
	memcpy(big, "a@", 2);
	memcpy(big + 2 + 64, ".io", 4);
	assert_int_equal(config_mention_kind(big), MENTION_NONE);
	upn_of_len(big, 254);
	assert_int_equal(config_mention_kind(big), MENTION_UPN);
	upn_of_len(big, 255);
	assert_int_equal(config_mention_kind(big), MENTION_NONE);
}

static void test_parse_list(void **state)
{
	struct config *c;
	const struct project *p;

	(void)state;
	c = load(LINE14
		 "mentions =  stage_* : <!subteam^S1>,load_dwh:<@U2> ,  * : ops@example.com\n"
		 "[default]\ndestinations = s\nmentions = Finance/* : <!here>\n");
	dump();
	assert_non_null(c);
	assert_int_equal(d.n, 1); /* the id p1 is no UUID */
	p = &c->projects[0];
	assert_int_equal(p->n_mentions, 3);
	assert_string_equal(p->mentions[0].glob, "stage_*");
	assert_string_equal(p->mentions[0].mention, "<!subteam^S1>");
	assert_int_equal(p->mentions[0].kind, MENTION_SLACK);
	assert_string_equal(p->mentions[1].glob, "load_dwh");
	assert_string_equal(p->mentions[1].mention, "<@U2>");
	assert_string_equal(p->mentions[2].glob, "*");
	assert_string_equal(p->mentions[2].mention, "ops@example.com");
	assert_int_equal(p->mentions[2].kind, MENTION_UPN);
	assert_int_equal(c->default_route->n_mentions, 1);
	assert_string_equal(c->default_route->mentions[0].glob, "Finance/*");
	/* not given: none */
	config_free(c);
	teardown(NULL);
	c = load(LINE14);
	assert_non_null(c);
	assert_int_equal(c->projects[0].n_mentions, 0);
	assert_null(c->projects[0].mentions);
	config_free(c);
}

static void test_parse_errors(void **state)
{
	static const char slack_or_upn[] =
		"is neither Slack markup (<@U…>, <@W…>, <!subteam^S…>, <!here>, <!channel>)"
		" nor a Teams UPN (name@example.com)";
	char body[8192], want[512];
	size_t i, n;

	(void)state;
	refused(LINE14 "mentions =\n",
		"mentions: empty; expected \"glob : mention\" pairs separated by commas");
	refused(LINE14 "mentions = a : <@U1>,\n",
		"mentions: pair 2 is empty (a stray or trailing comma?)");
	refused(LINE14 "mentions = a : <@U1>, , b : <@U2>\n",
		"mentions: pair 2 is empty (a stray or trailing comma?)");
	refused(LINE14 "mentions = ,a : <@U1>\n",
		"mentions: pair 1 is empty (a stray or trailing comma?)");
	refused(LINE14 "mentions = a <@U1>\n",
		"mentions: pair 1: expected \"glob : mention\", found no ':'");
	refused(LINE14 "mentions = a : <@U1:x>\n",
		"mentions: pair 1: more than one ':' (neither a glob nor a mention may hold one)");
	refused(LINE14 "mentions = a:b : <@U1>\n",
		"mentions: pair 1: more than one ':' (neither a glob nor a mention may hold one)");
	refused(LINE14 "mentions =  : <@U1>\n", "mentions: pair 1: empty glob");
	refused(LINE14 "mentions = a : \n", "mentions: pair 1: empty mention");
	snprintf(want, sizeof(want), "mentions: pair 2: \"<@u1>\" %s", slack_or_upn);
	refused(LINE14 "mentions = a : <@U1>, b : <@u1>\n", want);
	snprintf(want, sizeof(want), "mentions: pair 1: \"<!subteam^S1|dwh>\" %s", slack_or_upn);
	refused(LINE14 "mentions = a : <!subteam^S1|dwh>\n", want);
	snprintf(want, sizeof(want), "mentions: pair 1: \"<@U1> <@U2>\" %s", slack_or_upn);
	refused(LINE14 "mentions = a : <@U1> <@U2>\n", want);
	snprintf(want, sizeof(want), "mentions: pair 1: \"ops@localhost\" %s", slack_or_upn);
	refused(LINE14 "mentions = a : ops@localhost\n", want);
	refused(LINE14 "mentions = a\tb : <@U1>\n",
		"mentions: pair 1: glob holds a control character or invalid UTF-8");
	refused(LINE14 "mentions = a\xff : <@U1>\n",
		"mentions: pair 1: glob holds a control character or invalid UTF-8");
	/* 33 pairs */
	n = (size_t)snprintf(body, sizeof(body), "%smentions = ", LINE14);
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%sp%zu : <@U%zu>", i ? ", " : "",
				      i, i + 1);
	snprintf(body + n, sizeof(body) - n, "\n");
	refused(body, "mentions: more than 32 pairs");
	/* 32 is fine */
	n = (size_t)snprintf(body, sizeof(body), "%smentions = ", LINE14);
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%sp%zu : <@U%zu>", i ? ", " : "",
				      i, i + 1);
	snprintf(body + n, sizeof(body) - n, "\n");
	{
		struct config *c = load(body);

		dump();
		assert_non_null(c);
		assert_int_equal(c->projects[0].n_mentions, 32);
		config_free(c);
		teardown(NULL);
	}
	/* a glob of 256 bytes is fine, 257 is not */
	n = (size_t)snprintf(body, sizeof(body), "%smentions = ", LINE14);
	memset(body + n, 'g', 257);
	snprintf(body + n + 257, sizeof(body) - n - 257, " : <@U1>\n");
	refused(body, "mentions: pair 1: glob longer than 256 bytes");
	/* a mention over 254 bytes */
	n = (size_t)snprintf(body, sizeof(body), "%smentions = a : ", LINE14);
	memset(body + n, 'm', 300);
	snprintf(body + n + 300, sizeof(body) - n - 300, "@x.io\n");
	refused(body, "mentions: pair 1: mention longer than 254 bytes");
	/* every bad pair of a line is reported, each once */
	{
		struct config *c = load(LINE14 "mentions = a, b : c\n");

		assert_null(c);
		assert_int_equal(d.n_errors, 1); /* parsing stops at the first */
		teardown(NULL);
	}
}

static void test_pair_fits_no_destination(void **state)
{
	struct config *c;
	char want[256];

	(void)state;
	c = load("[project p1]\ndestinations = s\nmentions = a : <@U1>, b : ops@example.com\n");
	dump();
	assert_non_null(c);
	assert_int_equal(d.n_errors, 0);
	assert_int_equal(d.n_warnings, 2); /* and the id p1 is no UUID */
	snprintf(want, sizeof(want),
		 "%s:14: warning: project p1: mentions pair 2 (a UPN) fits none of its"
		 " destinations",
		 path);
	assert_string_equal(d.lines[1], want);
	config_free(c);
}

static void test_print(void **state)
{
	struct config *c;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	c = load(LINE14 "mentions = stage_* : <!subteam^S1>, * : ops@example.com\n"
			"[default]\ndestinations = s\n");
	dump();
	assert_non_null(c);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	config_print_keys(c, out);
	fclose(out);
	assert_non_null(strstr(buf, "[project p1]\n"));
	assert_non_null(strstr(buf, "\nmentions = stage_* : <!subteam^S1>, * : ops@example.com\n"));
	assert_non_null(strstr(buf, "[default]\nname = (unset)\ndestinations = s\n"));
	assert_non_null(strstr(buf, "mentions = (none)\n"));
	free(buf);
	buf = NULL;
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	config_print_summary(c, out);
	fclose(out);
	print_message("%s", buf);
	assert_non_null(strstr(buf, "    mentions stage_* : <!subteam^S1>, * : ops@example.com\n"));
	free(buf);
	config_free(c);
}

int main(void)
{
#define T(name) cmocka_unit_test_teardown(name, teardown)
	const struct CMUnitTest tests[] = {
		T(test_kind_of_shapes),           T(test_parse_list), T(test_parse_errors),
		T(test_pair_fits_no_destination), T(test_print),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
