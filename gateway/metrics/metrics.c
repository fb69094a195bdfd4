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
     "Client handshakes refused by the hub, by hub and reason (unavailable, user_limit).", 1},
    {"chatr_db_errors_total", "counter",
     "Database statements that failed (any reason, connection losses included).", 0},
    {"chatr_db_reconnects_total", "counter",
     "Database connections re-established after they were lost.", 0},
    {"chatr_db_held_total", "counter",
     "Statements that waited for the database to come back (the bounded hold).", 0},
    {"chatr_db_hold_expired_total", "counter",
     "Statements that gave up because the database stayed away longer than the hold.", 0},
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
    if (!family_of(name) || strlen(name) >= METRICS_MAX_NAME ||
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

char *metrics_render(size_t *len)
{
    out o = {.s = malloc(4096), .cap = 4096};
    if (!o.s) return NULL;
    o.s[0] = '\0';
    table *t = metrics_map();
    for (size_t f = 0; f < NFAMILIES; f++) {
        const struct family *fam = &families[f];
        put(&o, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name, fam->type);
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
