/* hub_cache.c: the hub's memory of read-only answers (hub_cache.h; the design and its limits are
 * in docs/performance.md#the-hub-cache). Two direct-mapped tables per process: permissions (the
 * sender may send to the group: connection, hub, group) and answers (rows of pubsub.group_send or
 * of hub_store_conns, by kind, hub and name), each slot tagged with the node's generation read
 * before its answer. A colliding key replaces the slot's entry; nothing is kept past
 * HUB_CACHE_MAX_ROWS rows. */
#include "hub_cache.h"
#include "hub_conf.h"
#include "fn.h"
#include "metrics.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PERM_SLOTS 8192
#define ANSWER_SLOTS 4096
#define GEN_FILE_SIZE 4096
#define KEY_MAX 1024

typedef struct perm_slot {
    char *key; /* conn \x1f hub \x1f group */
    uint64_t gen;
} perm_slot;

typedef struct answer_slot {
    char *key; /* kind \x1f hub \x1f name */
    uint64_t gen;
    PGresult *r;
    int rows;
} answer_slot;

static perm_slot perms[PERM_SLOTS];
static answer_slot answers[ANSWER_SLOTS];
static long kept_rows;

/* ---- the node's generation ---------------------------------------------------------------- */

static uint64_t *gen_word; /* in $CHATR_STATE_DIR/run/hub-cache, shared by the node's programs */
static int gen_tried;

int hub_cache_map(const char *path)
{
    gen_tried = 1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 ||
        (st.st_size < GEN_FILE_SIZE && ftruncate(fd, GEN_FILE_SIZE) != 0)) {
        fn_log("hub cache off: %s cannot be used", path);
        if (fd >= 0) close(fd);
        return -1;
    }
    void *m = mmap(NULL, GEN_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        fn_log("hub cache off: %s cannot be mapped", path);
        return -1;
    }
    gen_word = m;
    return 0;
}

static uint64_t *gen_map(void)
{
    if (gen_tried) return gen_word;
    gen_tried = 1;
    const char *sd = fn_settings_get()->state_dir;
    if (!sd || !*sd) { /* never a file relative to whatever directory a program runs in */
        fn_log("hub cache off: CHATR_STATE_DIR is not set");
        return NULL;
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/run/hub-cache", sd);
    hub_cache_map(path);
    return gen_word;
}

static int cache_on(void)
{
    static int on = -1;
    if (on < 0) {
        const char *v = getenv("CHATR_HUB_CACHE");
        on = !(v && strcmp(v, "0") == 0) && !hub_conf_get()->redis_mode;
    }
    return on;
}

uint64_t hub_cache_gen(void)
{
    uint64_t *w = cache_on() ? gen_map() : NULL;
    return w ? __atomic_load_n(w, __ATOMIC_SEQ_CST) + 1 : 0; /* never 0 while on */
}

void hub_cache_bump(void)
{
    /* every writer bumps, whatever its own CHATR_HUB_CACHE says: a reader may have it on */
    uint64_t *w = gen_map();
    if (w) __atomic_add_fetch(w, 1, __ATOMIC_SEQ_CST);
}

/* ---- the tables --------------------------------------------------------------------------- */

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* a \x1f b \x1f c into buf (KEY_MAX): 0 when it does not fit */
static int key3(char *buf, const char *a, const char *b, const char *c)
{
    int n = snprintf(buf, KEY_MAX, "%s\x1f%s\x1f%s", a, b ? b : "", c ? c : "");
    return n > 0 && n < KEY_MAX;
}

static void count(const char *kind, const char *result)
{
    char l[METRICS_MAX_LABELS];
    metrics_inc("chatr_hub_cache_total",
                metrics_labels(l, sizeof l, "kind", kind, "result", result, NULL));
}

/* Whether sender's permission for (hub, name) was remembered at generation gen. */
static int allowed(const char *sender, const char *hub, const char *name, uint64_t gen)
{
    char k[KEY_MAX];
    if (!key3(k, sender, hub, name)) return 0;
    perm_slot *p = &perms[hash(k) % PERM_SLOTS];
    return p->key && p->gen == gen && strcmp(p->key, k) == 0;
}

static void allow(const char *sender, const char *hub, const char *name, uint64_t gen)
{
    char k[KEY_MAX];
    if (!key3(k, sender, hub, name)) return;
    perm_slot *p = &perms[hash(k) % PERM_SLOTS];
    char *key = strdup(k);
    if (!key) return;
    free(p->key);
    *p = (perm_slot){.key = key, .gen = gen};
}

PGresult *hub_cache_get(const char *kind, const char *hub, const char *name, const char *sender)
{
    uint64_t gen = hub_cache_gen();
    char k[KEY_MAX];
    if (!gen || !key3(k, kind, hub, name)) return NULL;
    answer_slot *a = &answers[hash(k) % ANSWER_SLOTS];
    if (a->key && a->gen == gen && strcmp(a->key, k) == 0 &&
        (!sender || allowed(sender, hub, name, gen))) {
        count(kind, "hit");
        return a->r;
    }
    count(kind, "miss");
    return NULL;
}

static void answer_free(answer_slot *a)
{
    free(a->key);
    PQclear(a->r);
    kept_rows -= a->rows;
    *a = (answer_slot){0};
}

int hub_cache_put(const char *kind, const char *hub, const char *name, const char *sender,
                  uint64_t gen, PGresult *r)
{
    char k[KEY_MAX];
    int rows = r ? PQntuples(r) : 0;
    if (!gen || !r || PQresultStatus(r) != PGRES_TUPLES_OK || !key3(k, kind, hub, name)) return 0;
    if (sender) allow(sender, hub, name, gen);
    answer_slot *a = &answers[hash(k) % ANSWER_SLOTS];
    if (a->key && strcmp(a->key, k) == 0 && a->gen >= gen) return 0; /* as new a one is kept */
    if (a->key) answer_free(a);
    if (kept_rows + rows > HUB_CACHE_MAX_ROWS) return 0;
    char *key = strdup(k);
    if (!key) return 0;
    *a = (answer_slot){.key = key, .gen = gen, .r = r, .rows = rows};
    kept_rows += rows;
    return 1;
}
