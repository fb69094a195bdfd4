/* metrics.h: the node's counters, shared by every process of every pool, and their Prometheus
 * text exposition (docs/storage.md, "Metrics").
 *
 * Counters live in one file mapped shared by every process of the node (CHATR_METRICS_FILE, or
 * <CHATR_STATE_DIR>/run/metrics): a fixed table of slots, each one series (family name plus its
 * label set) and its value, found by hashing and claimed with an atomic compare-and-swap, so
 * processes add to it without locks and a process that dies loses nothing already counted.
 * A family is declared once in metrics.c (name, type, help); a series of an undeclared family is
 * refused (logged once), so the exposition always carries HELP and TYPE.
 *
 *   char l[METRICS_MAX_LABELS];
 *   metrics_labels(l, sizeof l, "hub", hub, "reason", "database", NULL);
 *   metrics_inc("chatr_hub_messages_dropped_total", l);
 *
 * When the file cannot be mapped, counting is a no-op: metrics never fail a request. */
#ifndef CHATR_METRICS_H
#define CHATR_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define METRICS_SLOTS 4096     /* series per node; when full, new series are dropped (logged) */
#define METRICS_MAX_NAME 64    /* family name, NUL included */
#define METRICS_MAX_LABELS 192 /* rendered label set `a="x",b="y"`, NUL included */
#define METRICS_MAX_LABEL_VALUE 128 /* a longer value is cut (hub names are at most 128) */

/* Adds n to the series (name, labels); labels "" or NULL for none. */
void metrics_add(const char *name, const char *labels, uint64_t n);
void metrics_inc(const char *name, const char *labels);
/* Renders key/value pairs (NULL-terminated list of const char *) as a label set, escaping
 * values as the exposition format requires. Returns buf. */
char *metrics_labels(char *buf, size_t len, ...) __attribute__((sentinel));
/* The value of one series (0 when absent); for tests and the exposition. */
uint64_t metrics_get(const char *name, const char *labels);
/* Histograms (families of type "histogram"): one observation of `seconds`. Buckets are fixed
 * (METRICS_BUCKETS, in seconds, the same for every histogram); each bucket is a series of its
 * own (labels plus le), counted with one atomic add, and the sum is kept in microseconds. The
 * family name must leave room for the "_bucket" suffix. */
#define METRICS_NBUCKETS 12
extern const double METRICS_BUCKETS[METRICS_NBUCKETS];
void metrics_observe(const char *name, const char *labels, double seconds);
/* Bounded label values: `value` when it is one of the first `limit` distinct values seen for
 * `set` on this node (recorded in the shared file, so every process agrees), else "other".
 * For label values a client chooses (event names): the series count stays bounded. */
#define METRICS_OTHER "other"
const char *metrics_capped(const char *set, const char *value, unsigned limit);
/* Counts this process's start (chatr_process_starts_total{program}), and a restart when its
 * parent is the pool's multiwatch and the pool is older than METRICS_POOL_GRACE_S: a worker
 * started later replaces one that died (docs/observability.md). Every program calls it once. */
#define METRICS_POOL_GRACE_S 2
void metrics_process_started(const char *program);
/* Seconds between two CLOCK_MONOTONIC readings (a convenience for metrics_observe). */
struct timespec;
double metrics_seconds(const struct timespec *t0, const struct timespec *t1);
/* Prometheus text exposition (version 0.0.4) of every declared family: malloc'd, *len set. */
char *metrics_render(size_t *len);

#endif
