/* metrics.c: counters in a node-wide shared mapping, and their Prometheus text exposition
 * (metrics.h; docs/storage.md, "Metrics"). */
#include "metrics.h"

#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* No dependency on the runtime (which counts here): the rare errors go to stderr, which every
 * Chatr program points at its log. */
#define metrics_log(...) (fprintf(stderr, "metrics: " __VA_ARGS__), fputc('\n', stderr))

/* Every family the node exposes. Add a line here to add a metric (issue 12 grows this list). */
static const struct family {
    const char *name, *type, *help;
    int labelled; /* 0: one series without labels, exposed as 0 until counted */
} families[] = {
    {"chatr_hub_messages_dropped_total", "counter",
     "Group messages the hub accepted from a client or the REST API and then dropped, by hub "
     "and reason (database: unreachable past the hold; delivery: not published; quota: over the "
     "sender's history quota).",
     1},
    {"chatr_hub_handshakes_refused_total", "counter",
     "Client handshakes refused by the hub, by hub and reason (bad_request, origin, token, "
     "revoked, invalid, webhook, user_limit, unavailable, error).",
     1},
    {"chatr_db_errors_total", "counter",
     "Database statements that failed (any reason, connection losses included).", 0},
    {"chatr_db_reconnects_total", "counter",
     "Database connections re-established after they were lost.", 0},
    {"chatr_db_held_total", "counter",
     "Statements that waited for the database to come back (the bounded hold).", 0},
    {"chatr_db_hold_expired_total", "counter",
     "Statements that gave up because the database stayed away longer than the hold.", 0},
    {"chatr_hub_handshakes_accepted_total", "counter",
     "Client handshakes the hub accepted (the WebSocket opens), by hub and subprotocol "
     "(none: a simple client).",
     1},
    {"chatr_hub_messages_in_total", "counter",
     "Group messages offered to the hub, by hub and source (client: a WebSocket frame; rest: the "
     "REST API).",
     1},
    {"chatr_hub_deliveries_total", "counter",
     "Group message copies the hub published to its member connections, by hub.", 1},
    {"chatr_hub_acks_total", "counter",
     "Acks the hub sent for client frames with an ackId, by hub and error name (none: success).",
     1},
    {"chatr_hub_webhook_calls_total", "counter",
     "Calls to upstream event handlers, by hub, event (bounded: other beyond the first 32 user "
     "event names) and outcome (ok: 2xx, rejected: 4xx, error: any other status, unreachable: "
     "no answer).",
     1},
    {"chatr_hub_webhook_duration_seconds", "histogram",
     "Time an upstream event handler took to answer, by event.", 1},
    {"chatr_hub_rest_calls_total", "counter",
     "REST data-plane calls (/api/hubs), by operation (method and path shape, ids left out) and "
     "status.",
     1},
    {"chatr_function_requests_total", "counter",
     "Requests served by the function runtime (functions and the auth program), by function and "
     "status.",
     1},
    {"chatr_function_duration_seconds", "histogram",
     "Time the function runtime took to answer a request, by function.", 1},
    {"chatr_hub_cache_total", "counter",
     "Answers the hub programs looked up in their memory instead of the database, by kind "
     "(group_send: a group send without ackId or history; user, group, conn, hub: the "
     "connections a REST send reads) and result (hit, miss) (docs/performance.md#the-hub-cache).",
     1},
    {"chatr_fastcgi_connections_total", "counter",
     "FastCGI connections the hub programs and functions accepted from nginx, by program: nginx "
     "keeps them open between requests, so these stay few (docs/performance.md).",
     1},
    {"chatr_process_starts_total", "counter",
     "Processes of each program that started (every worker of every pool counts once).", 1},
    {"chatr_process_restarts_total", "counter",
     "Worker processes the pool supervisor (multiwatch) started in place of one that died, by "
     "program: starts more than 2 s after the pool itself started.",
     1},
};
#define NFAMILIES (sizeof families / sizeof families[0])

enum { SLOT_FREE = 0, SLOT_CLAIMING = 1, SLOT_READY = 2 };

typedef struct slot {
    _Atomic uint32_t state;
    uint32_t hash;
    char name[METRICS_MAX_NAME];
    char labels[METRICS_MAX_LABELS];
    _Atomic uint64_t value;
} slot;

#define METRICS_MAGIC 0x63686174726d3031ULL /* "chatrm01": the layout of this file */
typedef struct table {
    _Atomic uint64_t magic;
    slot slots[METRICS_SLOTS];
} table;

static table *tab;
static int tried;

/* Read once (metrics_map runs once per process), and from the environment itself rather than
 * fn_settings: the runtime calls this library, so it cannot call the runtime back; the unit tests
 * link it alone. */
static const char *metrics_path(char *buf, size_t len)
{
    const char *f = getenv("CHATR_METRICS_FILE");
    if (f && *f) return f;
    const char *sd = getenv("CHATR_STATE_DIR");
    if (!sd || !*sd) return NULL;
    snprintf(buf, len, "%s/run/metrics", sd);
    return buf;
}

static table *metrics_map(void)
{
    if (tab || tried) return tab;
    tried = 1;
    char buf[4096];
    const char *path = metrics_path(buf, sizeof buf);
    if (!path) return NULL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        metrics_log("cannot open %s", path);
        return NULL;
    }
    struct stat st;
    /* Every process may extend the file at once: zeros are a valid empty table. */
    if (fstat(fd, &st) != 0 ||
        (st.st_size < (off_t)sizeof(table) && ftruncate(fd, (off_t)sizeof(table)) != 0)) {
        metrics_log("cannot size %s", path);
        close(fd);
        return NULL;
    }
    void *m = mmap(NULL, sizeof(table), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        metrics_log("cannot map %s", path);
        return NULL;
    }
    table *t = m;
    uint64_t zero = 0;
    if (!atomic_compare_exchange_strong(&t->magic, &zero, METRICS_MAGIC) && zero != METRICS_MAGIC) {
        metrics_log("%s has another layout; not counting", path);
        munmap(m, sizeof(table));
        return NULL;
    }
    tab = t;
    return tab;
}

static const struct family *family_of(const char *name)
{
    for (size_t i = 0; i < NFAMILIES; i++)
        if (strcmp(families[i].name, name) == 0) return &families[i];
    return NULL;
}

static uint32_t series_hash(const char *name, const char *labels)
{
    uint32_t h = 2166136261u; /* FNV-1a over name, a separator, labels */
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;
    for (const char *p = labels; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h;
}

/* The slot of a series, claimed if new; NULL when the table is full or unmapped. */
static slot *series(const char *name, const char *labels, int create)
{
    table *t = metrics_map();
    if (!t) return NULL;
    uint32_t h = series_hash(name, labels);
    for (uint32_t k = 0; k < METRICS_SLOTS; k++) {
        slot *s = &t->slots[(h + k) % METRICS_SLOTS];
        uint32_t st = atomic_load(&s->state);
        if (st == SLOT_FREE) {
            if (!create) return NULL;
            uint32_t expect = SLOT_FREE;
            if (atomic_compare_exchange_strong(&s->state, &expect, SLOT_CLAIMING)) {
                s->hash = h;
                snprintf(s->name, sizeof s->name, "%s", name);
                snprintf(s->labels, sizeof s->labels, "%s", labels);
                atomic_store(&s->state, SLOT_READY);
                return s;
            }
            st = expect;
        }
        for (int spin = 0; st == SLOT_CLAIMING && spin < 1000; spin++) { /* being written */
            sched_yield();
            st = atomic_load(&s->state);
        }
        if (st == SLOT_READY && s->hash == h && strcmp(s->name, name) == 0 &&
            strcmp(s->labels, labels) == 0)
            return s;
    }
    static int full_logged;
    if (create && !full_logged++) metrics_log("all %d series slots used", METRICS_SLOTS);
    return NULL;
}

void metrics_add(const char *name, const char *labels, uint64_t n)
{
    if (!labels) labels = "";
    const struct family *f = family_of(name);
    if (!f || strcmp(f->type, "histogram") == 0 || strlen(name) >= METRICS_MAX_NAME ||
        strlen(labels) >= METRICS_MAX_LABELS) {
        metrics_log("series %s{%s} refused (undeclared or too long)", name, labels);
        return;
    }
    slot *s = series(name, labels, 1);
    if (s) atomic_fetch_add(&s->value, n);
}

void metrics_inc(const char *name, const char *labels)
{
    metrics_add(name, labels, 1);
}

/* ---- histograms ---------------------------------------------------------------------------
 * A histogram family F is stored as plain series: F_bucket{labels,le="b"} (non-cumulative: each
 * observation adds to the one bucket it falls in, +Inf included), and F_sum{labels} in
 * microseconds. The exposition makes the buckets cumulative and derives F_count. */
const double METRICS_BUCKETS[METRICS_NBUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                  0.5,   1,    2.5,   5,    10,  30};

static int suffixed(char *buf, size_t len, const char *name, const char *suffix)
{
    int n = snprintf(buf, len, "%s%s", name, suffix);
    return n > 0 && (size_t)n < len;
}

static int with_le(char *buf, size_t len, const char *labels, const char *le)
{
    int n = snprintf(buf, len, "%s%sle=\"%s\"", labels, *labels ? "," : "", le);
    return n > 0 && (size_t)n < len;
}

static void le_text(char *buf, size_t len, int b)
{
    if (b < METRICS_NBUCKETS)
        snprintf(buf, len, "%g", METRICS_BUCKETS[b]);
    else
        snprintf(buf, len, "+Inf");
}

void metrics_observe(const char *name, const char *labels, double seconds)
{
    if (!labels) labels = "";
    const struct family *f = family_of(name);
    char bname[METRICS_MAX_NAME], sname[METRICS_MAX_NAME], bl[METRICS_MAX_LABELS], le[32];
    if (!f || strcmp(f->type, "histogram") != 0 ||
        !suffixed(bname, sizeof bname, name, "_bucket") ||
        !suffixed(sname, sizeof sname, name, "_sum") || strlen(labels) >= METRICS_MAX_LABELS) {
        metrics_log("histogram %s{%s} refused (undeclared, not a histogram, or too long)", name,
                    labels);
        return;
    }
    if (!(seconds >= 0)) seconds = 0; /* NaN or a clock step back */
    int b = 0;
    while (b < METRICS_NBUCKETS && seconds > METRICS_BUCKETS[b])
        b++;
    le_text(le, sizeof le, b);
    if (!with_le(bl, sizeof bl, labels, le)) return;
    slot *s = series(bname, bl, 1);
    if (s) atomic_fetch_add(&s->value, 1);
    s = series(sname, labels, 1);
    if (s) atomic_fetch_add(&s->value, (uint64_t)(seconds * 1e6 + 0.5));
}

double metrics_seconds(const struct timespec *t0, const struct timespec *t1)
{
    return (double)(t1->tv_sec - t0->tv_sec) + (double)(t1->tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- bounded label values ------------------------------------------------------------------
 * Hidden series (no family: never exposed): chatr__capped{set,v} marks a value admitted to a
 * set, chatr__capn{set} counts the admissions. Two processes admitting at once may each take
 * a place: the set stays bounded by limit plus the node's processes at worst. */
const char *metrics_capped(const char *set, const char *value, unsigned limit)
{
    char l[METRICS_MAX_LABELS], n[METRICS_MAX_LABELS];
    if (!value || strlen(value) > METRICS_MAX_LABEL_VALUE) return METRICS_OTHER;
    metrics_labels(l, sizeof l, "set", set, "v", value, NULL);
    if (!metrics_map()) return METRICS_OTHER;
    if (series("chatr__capped", l, 0)) return value;
    slot *c = series("chatr__capn", metrics_labels(n, sizeof n, "set", set, NULL), 1);
    if (!c || atomic_fetch_add(&c->value, 1) >= limit) return METRICS_OTHER;
    return series("chatr__capped", l, 1) ? value : METRICS_OTHER;
}

/* ---- process starts ------------------------------------------------------------------------ */

/* Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot (0 if unknown). */
static unsigned long long start_ticks(long pid, char *comm, size_t commlen)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *open = strchr(buf, '('), *close = strrchr(buf, ')');
    if (!open || !close || close < open) return 0;
    if (comm) snprintf(comm, commlen, "%.*s", (int)(close - open - 1), open + 1);
    unsigned long long v = 0;
    char *p = close + 2;
    for (int field = 3; field <= 22 && p && *p; field++) { /* fields 3.. after "(comm) " */
        if (field == 22) v = strtoull(p, NULL, 10);
        p = strchr(p, ' ');
        if (p) p++;
    }
    return v;
}

void metrics_process_started(const char *program)
{
    char l[METRICS_MAX_LABELS], comm[64] = "";
    metrics_labels(l, sizeof l, "program", program, NULL);
    metrics_inc("chatr_process_starts_total", l);
    unsigned long long me = start_ticks((long)getpid(), NULL, 0);
    unsigned long long parent = start_ticks((long)getppid(), comm, sizeof comm);
    long hz = sysconf(_SC_CLK_TCK);
    if (strcmp(comm, "multiwatch") == 0 && me && parent && hz > 0 &&
        me > parent + (unsigned long long)(METRICS_POOL_GRACE_S * hz))
        metrics_inc("chatr_process_restarts_total", l);
}

uint64_t metrics_get(const char *name, const char *labels)
{
    slot *s = series(name, labels ? labels : "", 0);
    return s ? atomic_load(&s->value) : 0;
}

char *metrics_labels(char *buf, size_t len, ...)
{
    va_list ap;
    va_start(ap, len);
    size_t o = 0;
    buf[0] = '\0';
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);
        if (!v) v = "";
        int n = snprintf(buf + o, len - o, "%s%s=\"", o ? "," : "", k);
        if (n < 0 || (size_t)n >= len - o) break;
        o += (size_t)n;
        for (size_t i = 0; v[i] && i < METRICS_MAX_LABEL_VALUE && o + 3 < len; i++) {
            char c = v[i];
            if (c == '\\' || c == '"')
                buf[o++] = '\\', buf[o++] = c;
            else if (c == '\n')
                buf[o++] = '\\', buf[o++] = 'n';
            else
                buf[o++] = c;
        }
        if (o + 2 > len) break;
        buf[o++] = '"';
        buf[o] = '\0';
    }
    va_end(ap);
    return buf;
}

/* ---- exposition --------------------------------------------------------------------------- */

typedef struct out {
    char *s;
    size_t len, cap;
    int oom;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->s + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = 1;
            return;
        }
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = (o->cap + (size_t)n + 1) * 2;
        char *s = realloc(o->s, cap);
        if (!s) {
            o->oom = 1;
            return;
        }
        o->s = s;
        o->cap = cap;
    }
}

/* Every label set of histogram `name` (its _sum series), buckets made cumulative. */
static void render_histogram(out *o, table *t, const char *name)
{
    char bname[METRICS_MAX_NAME], sname[METRICS_MAX_NAME], bl[METRICS_MAX_LABELS], le[32];
    if (!t || !suffixed(bname, sizeof bname, name, "_bucket") ||
        !suffixed(sname, sizeof sname, name, "_sum"))
        return;
    for (size_t i = 0; i < METRICS_SLOTS; i++) {
        slot *s = &t->slots[i];
        if (atomic_load(&s->state) != SLOT_READY || strcmp(s->name, sname) != 0) continue;
        uint64_t cum = 0;
        for (int b = 0; b <= METRICS_NBUCKETS; b++) {
            le_text(le, sizeof le, b);
            if (!with_le(bl, sizeof bl, s->labels, le)) break;
            slot *bs = series(bname, bl, 0);
            if (bs) cum += atomic_load(&bs->value);
            put(o, "%s_bucket{%s} %llu\n", name, bl, (unsigned long long)cum);
        }
        uint64_t us = atomic_load(&s->value);
        const char *open = s->labels[0] ? "{" : "", *close = s->labels[0] ? "}" : "";
        put(o, "%s_sum%s%s%s %llu.%06llu\n", name, open, s->labels, close,
            (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000));
        put(o, "%s_count%s%s%s %llu\n", name, open, s->labels, close, (unsigned long long)cum);
    }
}

char *metrics_render(size_t *len)
{
    out o = {.s = malloc(4096), .cap = 4096};
    if (!o.s) return NULL;
    o.s[0] = '\0';
    table *t = metrics_map();
    for (size_t f = 0; f < NFAMILIES; f++) {
        const struct family *fam = &families[f];
        put(&o, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
        if (strcmp(fam->type, "histogram") == 0) {
            render_histogram(&o, t, fam->name);
            continue;
        }
        int any = 0;
        for (size_t i = 0; t && i < METRICS_SLOTS; i++) {
            slot *s = &t->slots[i];
            if (atomic_load(&s->state) != SLOT_READY || strcmp(s->name, fam->name) != 0) continue;
            uint64_t v = atomic_load(&s->value);
            if (s->labels[0])
                put(&o, "%s{%s} %llu\n", fam->name, s->labels, (unsigned long long)v);
            else
                put(&o, "%s %llu\n", fam->name, (unsigned long long)v);
            any = 1;
        }
        if (!any && !fam->labelled) put(&o, "%s 0\n", fam->name);
    }
    if (o.oom) {
        free(o.s);
        return NULL;
    }
    *len = o.len;
    return o.s;
}
