/* Unit tests for the metrics counters and their Prometheus rendering. The
 * counters are process-wide, so each test reads values before and after
 * rather than assuming zero. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

static char *render(void)
{
	static const char *const names[] = { "queued", "dead" };
	static const int64_t counts[] = { 3, 1 };
	char *s = metrics_render(names, counts, 2);

	assert_non_null(s);
	return s;
}

/* The value of the sample line that starts with "series " (exact series
 * text including labels), or -1 when absent. */
static double value_of(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

static void test_webhook_counts(void **state)
{
	char *a, *b;
	double before;

	(void)state;
	a = render();
	before = value_of(a, "dpc_notify_webhooks_total{outcome=\"accepted\"}");
	assert_true(before >= 0);
	metrics_webhook(MW_ACCEPTED);
	metrics_webhook(MW_ACCEPTED);
	metrics_webhook(MW_TOO_LARGE);
	metrics_webhook(MW__MAX); /* out of range: ignored */
	b = render();
	assert_true(value_of(b, "dpc_notify_webhooks_total{outcome=\"accepted\"}") == before + 2);
	assert_true(value_of(b, "dpc_notify_webhooks_total{outcome=\"too_large\"}") ==
		    value_of(a, "dpc_notify_webhooks_total{outcome=\"too_large\"}") + 1);
	assert_non_null(strstr(b, "# HELP dpc_notify_webhooks_total "));
	assert_non_null(strstr(b, "# TYPE dpc_notify_webhooks_total counter\n"));
	assert_non_null(strstr(b, "dpc_notify_webhooks_total{outcome=\"unprocessable\"} "));
	free(a);
	free(b);
}

static void test_jobs_and_fixed(void **state)
{
	char *s;

	(void)state;
	metrics_retry();
	metrics_dead_letter();
	metrics_dead_letter();
	s = render();
	assert_non_null(strstr(s, "# TYPE dpc_notify_jobs gauge\n"));
	assert_non_null(strstr(s, "dpc_notify_jobs{state=\"queued\"} 3\n"));
	assert_non_null(strstr(s, "dpc_notify_jobs{state=\"dead\"} 1\n"));
	assert_true(value_of(s, "dpc_notify_retries_total") >= 1);
	assert_true(value_of(s, "dpc_notify_dead_letters_total") >= 2);
	assert_non_null(strstr(s, "# TYPE dpc_notify_build_info gauge\n"));
	assert_non_null(strstr(s, "dpc_notify_build_info{version=\""));
	assert_true(value_of(s, "process_start_time_seconds") > 1600000000.0);
	/* Every line ends in a newline, including the last. */
	assert_int_equal(s[strlen(s) - 1], '\n');
	free(s);
}

static void test_api_classes(void **state)
{
	static const struct {
		long status;
		const char *series;
	} cases[] = {
		{ 200, "dpc_notify_matillion_requests_total{code=\"2xx\"}" },
		{ 204, "dpc_notify_matillion_requests_total{code=\"2xx\"}" },
		{ 404, "dpc_notify_matillion_requests_total{code=\"4xx\"}" },
		{ 429, "dpc_notify_matillion_requests_total{code=\"429\"}" },
		{ 503, "dpc_notify_matillion_requests_total{code=\"5xx\"}" },
		{ 0, "dpc_notify_matillion_requests_total{code=\"error\"}" },
		{ -1, "dpc_notify_matillion_requests_total{code=\"error\"}" },
	};
	size_t i;
	char *a, *b;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = render();
		metrics_api_call(cases[i].status);
		b = render();
		assert_true(value_of(b, cases[i].series) == value_of(a, cases[i].series) + 1);
		/* 429 is not also counted as 4xx. */
		if (cases[i].status == 429)
			assert_true(
				value_of(b, "dpc_notify_matillion_requests_total{code=\"4xx\"}") ==
				value_of(a, "dpc_notify_matillion_requests_total{code=\"4xx\"}"));
		free(a);
		free(b);
	}
}

static void test_histogram(void **state)
{
	const char *n = "dpc_notify_chat_post_duration_seconds";
	char *s, series[128];

	(void)state;
	metrics_observe(MH_CHAT_LATENCY, 0.003); /* le 0.005 */
	metrics_observe(MH_CHAT_LATENCY, 0.005); /* le 0.005 (bounds are inclusive) */
	metrics_observe(MH_CHAT_LATENCY, 0.3);   /* le 0.5 */
	metrics_observe(MH_CHAT_LATENCY, 2.0);   /* le 2.5 */
	metrics_observe(MH_CHAT_LATENCY, 99.0);  /* +Inf only */
	metrics_observe(MH_CHAT_LATENCY, -1.0);  /* clamped to 0 */
	s = render();
	assert_non_null(strstr(s, "# TYPE dpc_notify_chat_post_duration_seconds histogram\n"));
	snprintf(series, sizeof(series), "%s_bucket{le=\"0.005\"}", n);
	assert_true(value_of(s, series) == 3);
	snprintf(series, sizeof(series), "%s_bucket{le=\"0.25\"}", n);
	assert_true(value_of(s, series) == 3);
	snprintf(series, sizeof(series), "%s_bucket{le=\"0.5\"}", n);
	assert_true(value_of(s, series) == 4);
	snprintf(series, sizeof(series), "%s_bucket{le=\"2.5\"}", n);
	assert_true(value_of(s, series) == 5);
	snprintf(series, sizeof(series), "%s_bucket{le=\"10\"}", n);
	assert_true(value_of(s, series) == 5);
	snprintf(series, sizeof(series), "%s_bucket{le=\"+Inf\"}", n);
	assert_true(value_of(s, series) == 6);
	snprintf(series, sizeof(series), "%s_count", n);
	assert_true(value_of(s, series) == 6);
	snprintf(series, sizeof(series), "%s_sum", n);
	assert_true(value_of(s, series) > 101.307 && value_of(s, series) < 101.309);
	/* The other histograms are present and untouched. */
	assert_true(value_of(s, "dpc_notify_store_commit_duration_seconds_count") == 0);
	assert_true(
		value_of(s, "dpc_notify_matillion_request_duration_seconds_bucket{le=\"+Inf\"}") ==
		0);
	free(s);
}

static void test_deliveries_and_escaping(void **state)
{
	char *s;

	(void)state;
	metrics_delivery("ops-slack", "ok");
	metrics_delivery("ops-slack", "ok");
	metrics_delivery("ops-slack", "dead");
	metrics_delivery("ops-slack", "bogus"); /* unknown result: ignored */
	metrics_delivery("we\"ird\\na\nme", "retry");
	s = render();
	assert_non_null(strstr(s, "# TYPE dpc_notify_deliveries_total counter\n"));
	assert_non_null(strstr(
		s, "dpc_notify_deliveries_total{destination=\"ops-slack\",result=\"ok\"} 2\n"));
	assert_non_null(strstr(
		s, "dpc_notify_deliveries_total{destination=\"ops-slack\",result=\"retry\"} 0\n"));
	assert_non_null(strstr(
		s, "dpc_notify_deliveries_total{destination=\"ops-slack\",result=\"dead\"} 1\n"));
	assert_non_null(strstr(s, "{destination=\"we\\\"ird\\\\na\\nme\",result=\"retry\"} 1\n"));
	free(s);
}

static void test_destination_cap(void **state)
{
	char name[32], *s;
	int i;

	(void)state;
	/* Far more names than the table holds: the rest share one series. */
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "cap-%d", i);
		metrics_delivery(name, "ok");
	}
	s = render();
	assert_non_null(strstr(s, "{destination=\"cap-0\",result=\"ok\"} 1\n"));
	assert_null(strstr(s, "{destination=\"cap-99\""));
	assert_true(
		value_of(s, "dpc_notify_deliveries_total{destination=\"_other\",result=\"ok\"}") >=
		30);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_webhook_counts),
		cmocka_unit_test(test_jobs_and_fixed),
		cmocka_unit_test(test_api_classes),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_deliveries_and_escaping),
		cmocka_unit_test(test_destination_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
