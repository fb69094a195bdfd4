/* test_metrics.c: the metrics library's histograms and bounded label values
 * (gateway/metrics; docs/observability.md). The table lives in a temporary file of its own. */
#include "unit.h"
#include "metrics.h"

#include <stdlib.h>
#include <unistd.h>

static char metrics_path[] = "/tmp/chatr-unit-metrics-XXXXXX";

/* Before any test runs (the library maps its file once, on first use). */
__attribute__((constructor(101))) static void metrics_file(void)
{
    int fd = mkstemp(metrics_path);
    if (fd >= 0) close(fd);
    setenv("CHATR_METRICS_FILE", metrics_path, 1);
}

__attribute__((destructor)) static void metrics_file_gone(void)
{
    unlink(metrics_path);
}

static int has(const char *text, const char *line)
{
    return text && strstr(text, line) != NULL;
}

UNIT_TEST(metrics_histogram_buckets_are_cumulative)
{
    char l[METRICS_MAX_LABELS];
    metrics_labels(l, sizeof l, "function", "unitHist", NULL);
    metrics_observe("chatr_function_duration_seconds", l, 0.003); /* le 0.005 */
    metrics_observe("chatr_function_duration_seconds", l, 0.2);   /* le 0.25 */
    metrics_observe("chatr_function_duration_seconds", l, 0.25);  /* le 0.25: bounds included */
    metrics_observe("chatr_function_duration_seconds", l, 99);    /* +Inf only */
    metrics_observe("chatr_function_duration_seconds", l, -1);    /* a clock step: 0 */
    size_t len = 0;
    char *t = metrics_render(&len);
    CHECK(t && len == strlen(t));
    CHECK(has(t, "# TYPE chatr_function_duration_seconds histogram\n"));
    CHECK(has(t, "chatr_function_duration_seconds_bucket{function=\"unitHist\",le=\"0.005\"} 2\n"));
    CHECK(has(t, "chatr_function_duration_seconds_bucket{function=\"unitHist\",le=\"0.1\"} 2\n"));
    CHECK(has(t, "chatr_function_duration_seconds_bucket{function=\"unitHist\",le=\"0.25\"} 4\n"));
    CHECK(has(t, "chatr_function_duration_seconds_bucket{function=\"unitHist\",le=\"30\"} 4\n"));
    CHECK(has(t, "chatr_function_duration_seconds_bucket{function=\"unitHist\",le=\"+Inf\"} 5\n"));
    CHECK(has(t, "chatr_function_duration_seconds_count{function=\"unitHist\"} 5\n"));
    CHECK(has(t, "chatr_function_duration_seconds_sum{function=\"unitHist\"} 99.453000\n"));
    free(t);
}

UNIT_TEST(metrics_histogram_is_not_a_counter)
{
    /* a histogram family takes observations only; a counter family takes no observation */
    metrics_inc("chatr_function_duration_seconds", "function=\"unitWrong\"");
    metrics_observe("chatr_function_requests_total", "function=\"unitWrong\"", 1);
    metrics_observe("chatr_no_such_family", "", 1);
    size_t len;
    char *t = metrics_render(&len);
    CHECK(t && !has(t, "unitWrong"));
    CHECK(t && !has(t, "chatr_no_such_family"));
    free(t);
}

UNIT_TEST(metrics_capped_values_stay_bounded)
{
    char v[32];
    int kept = 0, other = 0;
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof v, "name%d", i);
        const char *got = metrics_capped("unit", v, 5);
        if (strcmp(got, v) == 0)
            kept++;
        else if (strcmp(got, METRICS_OTHER) == 0)
            other++;
    }
    CHECK(kept == 5);
    CHECK(other == 15);
    CHECK_STR(metrics_capped("unit", "name3", 5), "name3"); /* admitted ones stay admitted */
    CHECK_STR(metrics_capped("unit", "name19", 5), METRICS_OTHER);
    CHECK_STR(metrics_capped("unit2", "name19", 5), "name19"); /* each set has its own places */
    size_t len;
    char *t = metrics_render(&len);
    CHECK(t && !has(t, "chatr__cap")); /* the bookkeeping is never exposed */
    free(t);
}

UNIT_TEST(metrics_label_values_are_escaped)
{
    char l[METRICS_MAX_LABELS];
    metrics_labels(l, sizeof l, "function", "a\"b\\c\nd", "status", "200", NULL);
    CHECK_STR(l, "function=\"a\\\"b\\\\c\\nd\",status=\"200\"");
}

/* ---- request ids and the structured request line (gateway/runtime/fn.c) ---- */

#include "fn.h"

#include <fcntl.h>
#include <sodium.h>

UNIT_TEST(request_id_taken_only_when_well_formed)
{
    if (sodium_init() < 0) CHECK(0);
    fn_request_id_set("abc-DEF-123");
    CHECK_STR(fn_request_id(), "abc-DEF-123");
    const char *bad[] = {
        "",     "a b",
        "a\"b", "x\r\nSet-Cookie: y",
        NULL,   "0123456789012345678901234567890123456789012345678901234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fn_request_id_set(bad[i]);
        const char *id = fn_request_id();
        CHECK(strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32); /* a fresh one */
    }
    char first[40];
    snprintf(first, sizeof first, "%s", fn_request_id());
    fn_request_id_set(NULL);
    CHECK(strcmp(first, fn_request_id()) != 0);
}

/* What fn_log_request writes (it goes to stderr outside a pool). */
static char *request_line(const char *path, const char *note)
{
    static char buf[4096];
    char tmp[] = "/tmp/chatr-unit-log-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0) return NULL;
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    fn_log_request("method", "GET", "path", path, "skipped", (const char *)NULL, "note", note,
                   NULL);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(tmp);
    buf[n > 0 ? n : 0] = '\0';
    char *r = strstr(buf, " request ");
    return r ? r + 1 : buf;
}

UNIT_TEST(request_line_is_key_value_and_one_line)
{
    CHECK_STR(request_line("/api/users", "ok"), "request method=GET path=/api/users note=ok\n");
    CHECK_STR(request_line("/a b", "say \"hi\"\nfake=line"),
              "request method=GET path=\"/a b\" note=\"say \\\"hi\\\"\\x0afake=line\"\n");
    CHECK_STR(request_line("", "x=y\\z"), "request method=GET path=\"\" note=\"x=y\\\\z\"\n");
    CHECK_STR(request_line("/\x01", "é"), "request method=GET path=\"/\\x01\" note=\"é\"\n");
}
