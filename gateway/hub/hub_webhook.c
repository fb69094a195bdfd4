/* hub_webhook.c: the upstream event handler client (CloudEvents 1.0, HTTP binary mode,
 * docs/protocols.md#webhooks): abuse-protection validation, the ce-* headers, bounded timeouts. A
 * handler on our own public origin (hubs.json's "/api/eventHandler") is reached through nginx's
 * internal unix-socket server, the only server that routes to it; other handlers over TCP. Why, and
 * what the handler checks besides ce-signature: docs/webhooks.md. */
#include "hub_webhook.h"
#include "hub.h"
#include "hub_conf.h"
#include "hub_key.h"
#include "hub_settings.h"
#include "fn.h"
#include "fn_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "metrics.h"
#include "wps_sig.h"

#define WEBHOOK_EVENT_LABELS 32 /* distinct user event names counted apart; later ones: other */

/* One webhook call counted: by hub, event and outcome, and its latency (docs/observability.md). */
static void count_call(const hub_webhook_event *ev, const struct timespec *t0, const char *outcome)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const char *event =
        ev->system ? ev->event : metrics_capped("webhook_event", ev->event, WEBHOOK_EVENT_LABELS);
    char l[METRICS_MAX_LABELS];
    metrics_inc("chatr_hub_webhook_calls_total",
                metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(ev->hub), "event", event,
                               "outcome", outcome, NULL));
    metrics_observe("chatr_hub_webhook_duration_seconds",
                    metrics_labels(l, sizeof l, "event", event, NULL), metrics_seconds(t0, &t1));
}

#define VALIDATED_MAX 16
#define VALIDATE_TTL 60 /* seconds a successful validation is trusted */

static CURL *hook_curl; /* keep-alive to the handler, per process */
static struct {
    char url[2048];
    time_t until;
} validated[VALIDATED_MAX];

typedef struct sink {
    char *buf;
    size_t len;
    int too_big;
} sink;

static size_t collect(char *p, size_t s, size_t n, void *u)
{
    sink *k = u;
    size_t add = s * n;
    if (k->len + add > HUB_MAX_WEBHOOK_REPLY) {
        k->too_big = 1;
        return 0;
    }
    char *nb = realloc(k->buf, k->len + add + 1);
    if (!nb) return 0;
    memcpy(nb + k->len, p, add);
    k->len += add;
    nb[k->len] = '\0';
    k->buf = nb;
    return add;
}

typedef struct hdrs {
    char allowed[512];
    char *state;
    int has_state;
} hdrs;

static size_t header_cb(char *p, size_t s, size_t n, void *u)
{
    hdrs *h = u;
    size_t len = s * n;
    char line[HUB_MAX_STATE + 64];
    if (len >= sizeof line) return len;
    memcpy(line, p, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    char *colon = strchr(line, ':');
    if (!colon) return len;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ')
        v++;
    if (strcasecmp(line, "WebHook-Allowed-Origin") == 0) {
        size_t o = strlen(h->allowed);
        snprintf(h->allowed + o, sizeof h->allowed - o, "%s%s", o ? "," : "", v);
    } else if (strcasecmp(line, "ce-connectionState") == 0) {
        free(h->state);
        h->state = strdup(v);
        h->has_state = 1;
    }
    return len;
}

/* host[:port] of the public URL: our WebHook-Request-Origin. */
static void origin_host(char *out, size_t outlen)
{
    const char *u = hub_conf_public_url();
    const char *p = strstr(u, "://");
    p = p ? p + 3 : u;
    size_t n = strcspn(p, "/");
    snprintf(out, outlen, "%.*s", (int)n, p);
}

/* Length of "scheme://host[:port]" at the start of u, 0 if u has no scheme. */
static size_t origin_len(const char *u)
{
    const char *p = strstr(u, "://");
    if (!p) return 0;
    p += 3;
    return (size_t)(p - u) + strcspn(p, "/?#");
}

/* Points c at url. Our own origin (CHATR_PUBLIC_URL, compared case-insensitively as origins are)
 * goes to the internal server on CHATR_NGINX_SOCKET, as plain http whatever the public scheme
 * (TLS ends in front of nginx); the Host header stays the public one. */
static void target(CURL *c, const char *url)
{
    const char *pub = hub_conf_public_url();
    size_t n = origin_len(pub);
    if (n == 0 || origin_len(url) != n || strncasecmp(url, pub, n) != 0) {
        curl_easy_setopt(c, CURLOPT_URL, url);
        return;
    }
    const char *sock = fn_settings_get()->nginx_socket;
    char local[2048 + 16];
    snprintf(local, sizeof local, "http://%s", strstr(url, "://") + 3);
    curl_easy_setopt(c, CURLOPT_URL, local); /* libcurl copies it */
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock && *sock ? sock : "nginx-internal.sock");
}

static CURL *handle(void)
{
    return fn_curl(&hook_curl);
}

static int origin_allowed(const char *allowed, const char *host)
{
    return fn_list_has(allowed, "*", 0) || fn_list_has(allowed, host, 1);
}

/* OPTIONS <url with {event}=validate> (GET when OPTIONS answers 404), once per VALIDATE_TTL. */
static int validate(const char *url)
{
    time_t now = time(NULL);
    int slot = -1;
    for (int i = 0; i < VALIDATED_MAX; i++) {
        if (strcmp(validated[i].url, url) == 0) {
            if (validated[i].until > now) return 0;
            slot = i;
        }
    }
    char host[256], hdr[300];
    origin_host(host, sizeof host);
    snprintf(hdr, sizeof hdr, "WebHook-Request-Origin: %s", host);
    for (int attempt = 0; attempt < 2; attempt++) {
        CURL *c = handle();
        if (!c) return -1;
        struct curl_slist *h = curl_slist_append(NULL, hdr);
        h = curl_slist_append(h, "ce-awpsversion: 1.0");
        hdrs rh = {0};
        sink body = {0};
        target(c, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, attempt == 0 ? "OPTIONS" : "GET");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &rh);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
        CURLcode rc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        free(body.buf);
        free(rh.state);
        if (rc == CURLE_OK && status == 404 && attempt == 0) continue;
        if (rc == CURLE_OK && status >= 200 && status < 300 && origin_allowed(rh.allowed, host)) {
            if (slot < 0)
                for (int i = 0; i < VALIDATED_MAX && slot < 0; i++)
                    if (validated[i].until <= now) slot = i;
            if (slot < 0) slot = 0;
            snprintf(validated[slot].url, sizeof validated[slot].url, "%s", url);
            validated[slot].until = now + VALIDATE_TTL;
            return 0;
        }
        fn_log("webhook validation of %s failed: %s HTTP %ld", url,
               rc == CURLE_OK ? "" : curl_easy_strerror(rc), status);
        return -1;
    }
    return -1;
}

static struct curl_slist *add(struct curl_slist *h, const char *name, const char *value)
{
    char line[HUB_MAX_STATE + HUB_MAX_USER_ID + 64];
    if (!value) return h;
    snprintf(line, sizeof line, "%s: %s", name, value);
    if (strpbrk(line, "\r\n")) return h; /* never split a header */
    return curl_slist_append(h, line);
}

int hub_webhook(const char *url, const hub_webhook_event *ev, long timeout_ms,
                hub_webhook_reply *out)
{
    memset(out, 0, sizeof *out);
    char validate_url[2048];
    snprintf(validate_url, sizeof validate_url, "%s", url);
    if (validate(validate_url) != 0) return -1;
    static unsigned long long seq;
    char host[256], sig[WPS_SIG_LEN + 1], id[64], type[256], ts[32];
    origin_host(host, sizeof host);
    if (wps_sig_make(hub_key_access(), ev->conn_id, sig) != 0) { /* never a JWT's header.payload */
        fn_log("webhook %s: connection id %.80s cannot be signed", ev->event, ev->conn_id);
        return -1;
    }
    static long pid; /* once: the hub programs never fork, and getpid is a system call per event */
    if (!pid) pid = (long)getpid();
    snprintf(id, sizeof id, "%ld-%llu", pid, ++seq);
    snprintf(type, sizeof type, "azure.webpubsub.%s.%s", ev->system ? "sys" : "user", ev->event);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char source[HUB_MAX_HUB_NAME + HUB_MAX_CONN_ID + 32];
    snprintf(source, sizeof source, "/hubs/%s/client/%s", ev->hub, ev->conn_id);

    struct curl_slist *h = NULL;
    h = add(h, "Content-Type", ev->ctype ? ev->ctype : "application/json");
    h = add(h, "WebHook-Request-Origin", host);
    h = add(h, "ce-specversion", "1.0");
    h = add(h, "ce-awpsversion", "1.0");
    h = add(h, "ce-type", type);
    h = add(h, "ce-source", source);
    h = add(h, "ce-id", id);
    h = add(h, "ce-time", ts);
    h = add(h, "ce-signature", sig);
    h = add(h, "ce-userId", ev->user);
    h = add(h, "ce-connectionId", ev->conn_id);
    h = add(h, "ce-hub", ev->hub);
    h = add(h, "ce-eventName", ev->event);
    if (ev->protocol && *ev->protocol) h = add(h, "ce-subprotocol", ev->protocol);
    h = add(h, "ce-connectionState", ev->state);
    /* The request this event belongs to: the handler's runtime takes it as its own request id
     * (nginx believes it from the internal socket only; docs/observability.md). */
    h = add(h, "X-Request-Id", fn_request_id());
    h = add(h, "Expect", "");

    CURL *c = handle();
    if (!c) {
        curl_slist_free_all(h);
        return -1;
    }
    hdrs rh = {0};
    sink body = {0};
    char ctype_buf[128] = "";
    target(c, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, ev->body ? ev->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ev->body_len);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &rh);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK) {
        count_call(ev, &t0, "unreachable");
        fn_log("webhook %s %s: %s", ev->event, url, curl_easy_strerror(rc));
        free(body.buf);
        free(rh.state);
        return -1;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    count_call(ev, &t0,
               out->status >= 200 && out->status < 300   ? "ok"
               : out->status >= 400 && out->status < 500 ? "rejected"
                                                         : "error");
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) snprintf(ctype_buf, sizeof ctype_buf, "%s", ct);
    memcpy(out->ctype, ctype_buf, sizeof out->ctype);
    out->body = body.buf;
    out->len = body.len;
    out->state = rh.state;
    out->has_state = rh.has_state;
    return 0;
}

void hub_webhook_reply_free(hub_webhook_reply *r)
{
    free(r->body);
    free(r->state);
    r->body = r->state = NULL;
}
