/* observe.c: /.chatr/metrics (with the figures only known at scrape time: open connections and
 * nchan's own), /.chatr/ready, and the REST call counter (observe.h; docs/observability.md). */
#include "observe.h"
#include "hub.h"
#include "hub_conf.h"
#include "hub_nchan.h"
#include "hub_node.h"
#include "hub_settings.h"
#include "hub_store.h"
#include "fn.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <sodium.h>
#include <json-c/json.h>

/* ---- REST calls ---------------------------------------------------------------------------- */

/* The words of the REST paths (docs/protocols.md#operations-and-status-codes): kept in the
 * operation label; any other segment is a name or an id and becomes {}. */
static const char *const rest_words[] = {
    "groups",
    "users",
    "connections",
    "permissions",
    "messages",
    ":send",
    ":closeConnections",
    ":addToGroups",
    ":removeFromGroups",
    ":generateToken",
    ":searchMessages",
    ":countMessages",
};

void obs_rest_op(const char *uri, const char *method, char *out, size_t len)
{
    static const char prefix[] = "/api/hubs/";
    size_t plen = uri ? strcspn(uri, "?") : 0;
    int o = snprintf(out, len, "%s ", method ? method : "-");
    if (o < 0 || (size_t)o >= len) return;
    if (plen == 11 && strncmp(uri, "/api/health", 11) == 0) {
        snprintf(out + o, len - (size_t)o, "/health");
        return;
    }
    if (plen < sizeof prefix - 1 || strncmp(uri, prefix, sizeof prefix - 1) != 0) {
        snprintf(out + o, len - (size_t)o, "?");
        return;
    }
    const char *p = uri + sizeof prefix - 1, *end = uri + plen;
    p = memchr(p, '/', (size_t)(end - p)); /* past the hub */
    if (!p) {
        snprintf(out + o, len - (size_t)o, "/");
        return;
    }
    while (p && p < end && (size_t)o + 1 < len) {
        p++;
        const char *slash = memchr(p, '/', (size_t)(end - p));
        size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
        const char *word = "{}";
        for (size_t i = 0; i < sizeof rest_words / sizeof rest_words[0]; i++)
            if (strlen(rest_words[i]) == n && strncmp(rest_words[i], p, n) == 0)
                word = rest_words[i];
        int k = snprintf(out + o, len - (size_t)o, "/%s", word);
        if (k < 0 || (size_t)k >= len - (size_t)o) break;
        o += k;
        p = slash;
    }
}

void obs_rest_count(const char *uri, const char *method, int status)
{
    char op[128], st[8], l[METRICS_MAX_LABELS];
    obs_rest_op(uri, method, op, sizeof op);
    snprintf(st, sizeof st, "%d", status);
    metrics_inc("chatr_hub_rest_calls_total",
                metrics_labels(l, sizeof l, "operation",
                               metrics_capped("rest_op", op, OBS_REST_OPS_MAX), "status", st,
                               NULL));
}

/* ---- /.chatr/metrics ----------------------------------------------------------------------- */

static int loopback(const char *addr)
{
    return addr && (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
                    strncmp(addr, "::ffff:127.", 11) == 0 || strcmp(addr, "unix:") == 0);
}

/* hub-rest's own settings for these routes, read once on first use (beside the runtime's,
 * fn_settings: CHATR_STATE_DIR, DATABASE_URL). NULL when unset. */
typedef struct obs_settings {
    const char *metrics_token; /* CHATR_METRICS_TOKEN: the bearer token of non-loopback scrapes */
    const char *pools; /* CHATR_POOLS: the units that must run (the emulator lists them all) */
} obs_settings;

static const obs_settings *obs_settings_get(void)
{
    static obs_settings s;
    static int done;
    if (!done) {
        done = 1;
        const char *t = getenv("CHATR_METRICS_TOKEN"), *p = getenv("CHATR_POOLS");
        s.metrics_token = t ? strdup(t) : NULL;
        s.pools = p ? strdup(p) : NULL;
    }
    return &s;
}

/* The bearer token against CHATR_METRICS_TOKEN: both hashed first, so the comparison takes
 * the same time whatever the lengths and wherever they differ. */
static int token_ok(const char *auth)
{
    const char *want = obs_settings_get()->metrics_token;
    if (!want || !*want || !auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
    unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
    const char *got = auth + 7;
    crypto_generichash(a, sizeof a, (const unsigned char *)got, strlen(got), NULL, 0);
    crypto_generichash(b, sizeof b, (const unsigned char *)want, strlen(want), NULL, 0);
    return sodium_memcmp(a, b, sizeof a) == 0;
}

/* Open connections of this node, by hub and protocol (a gauge, from the database: what the
 * hub registered and has not removed). */
static void put_connections(char **text, size_t *len)
{
    PGresult *r = hub_store_node_conns(hub_node_id());
    if (!r) return;
    /* hubs outside hubs.json fold into "other": sum them per protocol first */
    enum { MAXROWS = 256 };
    struct row {
        char hub[HUB_MAX_HUB_NAME + 1];
        char proto[40];
        long long n;
    } *rows = calloc(MAXROWS, sizeof *rows);
    size_t nrows = 0;
    for (int i = 0; rows && i < PQntuples(r); i++) {
        const char *hub = hub_settings_metric_hub(PQgetvalue(r, i, 0));
        const char *proto = PQgetvalue(r, i, 1)[0] ? PQgetvalue(r, i, 1) : "none";
        long long n = atoll(PQgetvalue(r, i, 2));
        size_t k = 0;
        while (k < nrows && !(strcmp(rows[k].hub, hub) == 0 && strcmp(rows[k].proto, proto) == 0))
            k++;
        if (k == nrows) {
            if (nrows == MAXROWS) continue;
            snprintf(rows[k].hub, sizeof rows[k].hub, "%s", hub);
            snprintf(rows[k].proto, sizeof rows[k].proto, "%s", proto);
            nrows++;
        }
        rows[k].n += n;
    }
    PQclear(r);
    size_t cap = 256 + nrows * 400;
    char *s = realloc(*text, *len + cap);
    if (!s || !rows) {
        free(rows);
        return;
    }
    *text = s;
    int o = snprintf(s + *len, cap,
                     "# HELP chatr_hub_connections Open client connections on this node, by hub "
                     "and subprotocol (none: a simple client).\n"
                     "# TYPE chatr_hub_connections gauge\n");
    for (size_t k = 0; k < nrows && o > 0 && (size_t)o < cap; k++) {
        char l[METRICS_MAX_LABELS];
        metrics_labels(l, sizeof l, "hub", rows[k].hub, "protocol", rows[k].proto, NULL);
        o += snprintf(s + *len + o, cap - (size_t)o, "chatr_hub_connections{%s} %lld\n", l,
                      rows[k].n);
    }
    if (o > 0 && (size_t)o < cap) *len += (size_t)o;
    free(rows);
}

/* nchan_stub_status's lines, as families of their own (the rest of its lines are left out). */
static const struct nchan_figure {
    const char *line, *name, *type, *help;
    int kib; /* the value is in KiB: exposed in bytes */
} nchan_figures[] = {
    {"total published messages", "chatr_nchan_published_messages_total", "counter",
     "Messages published to nchan channels since nginx started.", 0},
    {"stored messages", "chatr_nchan_stored_messages", "gauge",
     "Messages nchan holds in its channels' buffers.", 0},
    {"shared memory used", "chatr_nchan_shared_memory_used_bytes", "gauge",
     "nchan's shared memory in use (CHATR_NCHAN_SHM is the limit).", 1},
    {"shared memory limit", "chatr_nchan_shared_memory_limit_bytes", "gauge",
     "nchan's shared memory size.", 1},
    {"channels", "chatr_nchan_channels", "gauge", "nchan channels that exist.", 0},
    {"subscribers", "chatr_nchan_subscribers", "gauge",
     "nchan subscribers (one per WebSocket and channel it listens to).", 0},
    {"total interprocess alerts received", "chatr_nchan_interprocess_alerts_received_total",
     "counter", "Messages nchan passed between nginx workers.", 0},
    {"interprocess alerts in transit", "chatr_nchan_interprocess_alerts_in_transit", "gauge",
     "Messages between nginx workers not yet delivered.", 0},
    {"interprocess queued alerts", "chatr_nchan_interprocess_queued_alerts", "gauge",
     "Messages between nginx workers waiting in a queue.", 0},
};

static void put_nchan(char **text, size_t *len)
{
    char st[HUB_NCHAN_STATUS_MAX];
    size_t cap = 4096;
    char *s = realloc(*text, *len + cap);
    if (!s) return;
    *text = s;
    int ok = hub_nchan_status(st, sizeof st) == 0;
    size_t o = 0;
    o += (size_t)snprintf(s + *len, cap,
                          "# HELP chatr_nchan_up 1 when nginx answered nchan_stub_status.\n"
                          "# TYPE chatr_nchan_up gauge\nchatr_nchan_up %d\n",
                          ok);
    for (size_t f = 0; ok && f < sizeof nchan_figures / sizeof nchan_figures[0]; f++) {
        const struct nchan_figure *fig = &nchan_figures[f];
        size_t ll = strlen(fig->line);
        for (const char *p = st; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
            if (strncmp(p, fig->line, ll) != 0 || p[ll] != ':') continue;
            char *end;
            unsigned long long v = strtoull(p + ll + 1, &end, 10);
            if (end == p + ll + 1) break;
            if (fig->kib) v *= 1024;
            int k = snprintf(s + *len + o, cap - o, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
                             fig->name, fig->help, fig->name, fig->type, fig->name, v);
            if (k > 0 && (size_t)k < cap - o) o += (size_t)k;
            break;
        }
    }
    *len += o;
}

void obs_metrics(fn_req *req, fn_res *res)
{
    if (!loopback(fn_param(req, "REMOTE_ADDR")) && !token_ok(fn_header(req, "Authorization"))) {
        const char *want = obs_settings_get()->metrics_token;
        if (want && *want) {
            fn_set_header(res, "WWW-Authenticate", "Bearer realm=\"chatr-metrics\"");
            fn_error(res, 401, "a bearer token is required");
        } else {
            fn_error(res, 403, "metrics are served to loopback clients only");
        }
        return;
    }
    size_t len;
    char *text = metrics_render(&len);
    if (!text) {
        fn_error(res, 500, "out of memory");
        return;
    }
    put_connections(&text, &len);
    put_nchan(&text, &len);
    fn_text(res, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

/* ---- /.chatr/ready ------------------------------------------------------------------------- */

/* A pool is up when its socket accepts a connection (someone listens on it). */
static const char *pool_check(const char *unit)
{
    const char *sd = fn_settings_get()->state_dir;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (!sd || snprintf(a.sun_path, sizeof a.sun_path, "%s/run/%s.sock", sd, unit) >=
                   (int)sizeof a.sun_path)
        return "no socket path";
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "no socket";
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    int err = errno;
    close(fd);
    if (rc == 0) return NULL;
    return err == ENOENT ? "not running" : err == ECONNREFUSED ? "not accepting" : "unreachable";
}

static const char *db_check(void)
{
    const char *url = fn_settings_get()->database_url;
    if (!url || !*url) return "DATABASE_URL is not set";
    const char *k[] = {"dbname", "connect_timeout", NULL};
    const char *v[] = {url, OBS_DB_PING_TIMEOUT_S, NULL};
    switch (PQpingParams(k, v, 1)) {
    case PQPING_OK:
        return NULL;
    case PQPING_REJECT:
        return "not accepting connections";
    case PQPING_NO_RESPONSE:
        return "no response";
    default:
        return "bad connection settings";
    }
}

/* The number after "<line>: " in nchan_stub_status st, -1 when absent. */
static long nchan_figure(const char *st, const char *line)
{
    size_t ll = strlen(line);
    for (const char *p = st; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, line, ll) != 0 || p[ll] != ':') continue;
        char *end;
        long v = strtol(p + ll + 1, &end, 10);
        return end == p + ll + 1 ? -1 : v;
    }
    return -1;
}

/* Redis mode: nchan of this node publishes through Redis (at least one server connected, no
 * upstream without a reachable master). Until then the node takes no clients: a worker may still
 * abort while it connects (nchan 1.3.6, docs/scale-out.md#worker-aborts-while-connecting-to-redis)
 * and nothing it would deliver reaches the other nodes. */
static const char *redis_check(void)
{
    char st[HUB_NCHAN_STATUS_MAX];
    if (hub_nchan_status(st, sizeof st) != 0) return "nchan does not answer";
    long up = nchan_figure(st, "redis connected servers"),
         bad = nchan_figure(st, "redis unhealthy upstreams");
    if (up < 0 || bad < 0) return "nchan reports no redis figures";
    if (up == 0) return "not connected";
    return bad > 0 ? "no reachable master" : NULL;
}

void obs_ready(fn_req *req, fn_res *res)
{
    (void)req;
    json_object *checks = json_object_new_object();
    int ready = 1;
    const char *why = db_check();
    json_object_object_add(checks, "database", json_object_new_string(why ? why : "ok"));
    if (why) ready = 0;
    if (hub_conf_get()->redis_mode) { /* CHATR_REDIS_URL set: nchan in Redis */
        why = redis_check();
        json_object_object_add(checks, "redis", json_object_new_string(why ? why : "ok"));
        if (why) ready = 0;
    }
    /* CHATR_POOLS: the units that must run (the emulator lists every function and program) */
    const char *pools = obs_settings_get()->pools;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", pools ? pools : "");
    char *save = NULL;
    int n = 0;
    for (char *u = strtok_r(buf, ", ", &save); u && n < OBS_READY_POOLS_MAX;
         u = strtok_r(NULL, ", ", &save), n++) {
        if (strspn(u, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") !=
            strlen(u))
            continue;
        char key[128];
        snprintf(key, sizeof key, "pool %s", u);
        why = pool_check(u);
        json_object_object_add(checks, key, json_object_new_string(why ? why : "ok"));
        if (why) ready = 0;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(ready ? "ready" : "unavailable"));
    json_object_object_add(o, "checks", checks);
    fn_json(res, ready ? 200 : 503, o);
}
