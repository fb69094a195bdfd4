/* pub.c: the publisher threads of two scenarios, each thread one keep-alive HTTP connection:
 *   user     REST send-to-user, one request per message to the sender's own user:
 *            wps: the service SDK's wps_rest_send_to_user (POST /api/hubs/{hub}/users/{u}/:send,
 *            bearer token per request); sio: POST /users/{u}/send on the peer (peer/server.js).
 *   ceiling  the groups fan-out published straight into nchan, as hub-router does it but without
 *            the router: POST /pub on nginx's internal unix socket (--pub-socket) with
 *            X-Hub-Channels = the group members' connection channels (hub_chan_conn) and the
 *            same group envelope the hub would build (gateway/hub/hub_nchan.c, hub_env.c).
 * Sender k is always sent for by the same thread, so its messages stay in order. Each message is
 * stamped with its scheduled time: a thread that falls behind shows as latency, not as a lower
 * rate that looks fine. Counters shared with the main thread are updated atomically. */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <stdint.h>

#include "hub_chan.h"
#include "wps_rest.h"

#define PUB_TIMEOUT_MS 10000L
#define PUB_ENVELOPE_EXTRA 512 /* envelope around the data, group and user names included */

typedef struct pub_thread {
    bench *b;
    pthread_t th;
    int started;
    int *own; /* sender client indexes this thread sends for */
    int nown;
    uint64_t t0, end;
    CURL *curl;
    wps_client *wc;
    char *buf;   /* envelope or data */
    char *chans; /* X-Hub-Channels header */
} pub_thread;

typedef struct pub_set {
    pub_thread t[BENCH_MAX_PUBLISHERS];
    int n;
    int running; /* atomic */
} pub_set;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static void count_error(pub_thread *t, const char *why)
{
    long long n = __atomic_add_fetch(&t->b->pub_errors, 1, __ATOMIC_RELAXED);
    if (n == 1 || t->b->verbose) fprintf(stderr, "chatr-bench: publish failed: %s\n", why);
}

/* POST body to url; returns the HTTP status, -1 on a transport error. */
static long curl_post(pub_thread *t, const char *url, const char *body, size_t len,
                      struct curl_slist *h)
{
    CURL *c = t->curl;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        count_error(t, curl_easy_strerror(rc));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    return status;
}

/* The ceiling: one multi-channel publish to the ready members of the sender's group. */
static long long publish_ceiling(pub_thread *t, client *s, uint64_t ts)
{
    bench *b = t->b;
    size_t o = 0;
    long long n = 0;
    int first = s->group * b->gsize;
    for (int i = first; i < first + b->gsize && i < b->nclients; i++) {
        client *m = &b->c[i];
        if (!m->live || !m->conn_id[0]) continue; /* as the hub: ready members only */
        char ch[HUB_MAX_CHANNEL];                 /* the hub's keyed name of the socket's channel */
        hub_chan_conn(m->conn_id, ch);
        o += (size_t)sprintf(t->chans + o, "%s%s", o ? "," : "", ch);
        n++;
    }
    int h = sprintf(t->buf,
                    "{\"type\":\"message\",\"from\":\"group\",\"fromUserId\":\"%su%d\","
                    "\"group\":\"%sg%d\",\"dataType\":\"json\",\"data\":",
                    b->prefix, s->idx, b->prefix, s->group);
    h += proto_data(b, s, ts, t->buf + h);
    t->buf[h++] = '}';
    char hdr[32 + BENCH_CONN_ID_LEN * 256];
    snprintf(hdr, sizeof hdr, "X-Hub-Channels: %s", t->chans);
    struct curl_slist *l = curl_slist_append(NULL, hdr);
    l = curl_slist_append(l, "Content-Type: application/json");
    l = curl_slist_append(l, "Accept: text/json");
    l = curl_slist_append(l, "Expect:");
    long st = curl_post(t, "http://localhost/pub", t->buf, (size_t)h, l);
    curl_slist_free_all(l);
    if (st >= 0 && (st < 200 || st > 299)) {
        char why[64];
        snprintf(why, sizeof why, "nchan answered HTTP %ld", st);
        count_error(t, why);
    }
    return n;
}

/* REST send-to-user: the sender's own user, which has exactly this one connection. */
static long long publish_user(pub_thread *t, client *s, uint64_t ts)
{
    bench *b = t->b;
    int len = proto_data(b, s, ts, t->buf);
    char user[BENCH_NAME_LEN];
    snprintf(user, sizeof user, "%su%d", b->prefix, s->idx);
    long st;
    if (b->mode == MODE_WPS) {
        wps_body body = {.content_type = "application/json", .data = t->buf, .len = (size_t)len};
        st = wps_rest_send_to_user(t->wc, user, &body);
        if (st < 0) count_error(t, wps_client_error(t->wc));
    } else {
        char url[256];
        snprintf(url, sizeof url, "http://%s:%d/users/%s/send", b->host, b->port, user);
        struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
        l = curl_slist_append(l, "Expect:");
        st = curl_post(t, url, t->buf, (size_t)len, l);
        curl_slist_free_all(l);
    }
    if (st >= 0 && st != 202) {
        char why[64];
        snprintf(why, sizeof why, "send-to-user answered HTTP %ld", st);
        count_error(t, why);
    }
    return 1;
}

static void sleep_until(uint64_t due)
{
    uint64_t now = bench_now_us();
    if (due <= now) return;
    struct timespec ts = {.tv_sec = (time_t)((due - now) / 1000000u),
                          .tv_nsec = (long)((due - now) % 1000000u) * 1000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* This thread's senders share its schedule: message j at t0 + j / (nown * rate). */
static void *pub_main(void *arg)
{
    pub_thread *t = arg;
    bench *b = t->b;
    double rate = b->rate * t->nown;
    for (long long j = 0;; j++) {
        uint64_t due = t->t0 + (uint64_t)((double)j * 1e6 / rate);
        if (due >= t->end) break;
        sleep_until(due);
        client *s = &b->c[t->own[j % t->nown]];
        if (s->seq >= b->maxseq) {
            __atomic_add_fetch(&b->skipped, 1, __ATOMIC_RELAXED);
            continue;
        }
        uint64_t t1 = bench_now_us();
        long long n =
            b->scenario == SC_CEILING ? publish_ceiling(t, s, due) : publish_user(t, s, due);
        long long us = (long long)(bench_now_us() - t1);
        __atomic_add_fetch(&b->pub_us, us, __ATOMIC_RELAXED);
        long long max = __atomic_load_n(&b->pub_us_max, __ATOMIC_RELAXED);
        while (us > max && !__atomic_compare_exchange_n(&b->pub_us_max, &max, us, 0,
                                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
        }
        __atomic_add_fetch(&b->sent, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&b->expected, n, __ATOMIC_RELAXED);
    }
    pub_set *ps = b->pub;
    __atomic_sub_fetch(&ps->running, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int thread_init(pub_thread *t, bench *b)
{
    t->buf = malloc((size_t)b->size + PUB_ENVELOPE_EXTRA);
    t->chans = malloc((size_t)b->gsize * (BENCH_CONN_ID_LEN + 4) + 1);
    if (!t->buf || !t->chans) return -1;
    if (b->scenario == SC_USER && b->mode == MODE_WPS) {
        char cs[1024], err[256];
        snprintf(cs, sizeof cs, "Endpoint=http://%s:%d;AccessKey=%s;Version=1.0;", b->host, b->port,
                 b->key);
        t->wc = wps_client_new(cs, b->hub, err, sizeof err);
        if (!t->wc) fprintf(stderr, "chatr-bench: service client: %s\n", err);
        return t->wc ? 0 : -1;
    }
    t->curl = curl_easy_init();
    if (!t->curl) return -1;
    if (b->scenario == SC_CEILING)
        curl_easy_setopt(t->curl, CURLOPT_UNIX_SOCKET_PATH, b->pub_socket);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(t->curl, CURLOPT_TIMEOUT_MS, PUB_TIMEOUT_MS);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_TCP_NODELAY, 1L);
    return 0;
}

static void thread_free(pub_thread *t)
{
    if (t->curl) curl_easy_cleanup(t->curl);
    if (t->wc) wps_client_free(t->wc);
    free(t->own);
    free(t->buf);
    free(t->chans);
    memset(t, 0, sizeof *t);
}

int pub_start(bench *b, uint64_t t0, uint64_t end)
{
    pub_set *ps = calloc(1, sizeof *ps);
    if (!ps) return -1;
    b->pub = ps;
    ps->n = b->publishers < b->nsenders ? b->publishers : b->nsenders;
    if (b->scenario == SC_CEILING) hub_chan_use_key(b->key); /* the hub's keyed channel names */
    for (int i = 0; i < ps->n; i++) {
        pub_thread *t = &ps->t[i];
        t->b = b;
        t->own = malloc(((size_t)b->nsenders / ps->n + 1) * sizeof *t->own);
        if (!t->own || thread_init(t, b) != 0) {
            pub_join(b);
            return -1;
        }
        /* spread the threads' schedules over one interval, not all at t0 */
        t->t0 = t0 + (uint64_t)(i * 1e6 / (b->rate * b->nsenders));
        t->end = end;
    }
    for (int k = 0; k < b->nsenders; k++) { /* only senders ready now take part */
        pub_thread *t = &ps->t[k % ps->n];
        if (b->c[b->sender_idx[k]].live) t->own[t->nown++] = b->sender_idx[k];
    }
    for (int i = 0; i < ps->n; i++) {
        pub_thread *t = &ps->t[i];
        if (!t->nown) continue;
        __atomic_add_fetch(&ps->running, 1, __ATOMIC_RELAXED);
        if (pthread_create(&t->th, NULL, pub_main, t) != 0) {
            __atomic_sub_fetch(&ps->running, 1, __ATOMIC_RELAXED);
            fprintf(stderr, "chatr-bench: cannot start a publisher thread\n");
            continue;
        }
        t->started = 1;
    }
    return 0;
}

int pub_running(bench *b)
{
    pub_set *ps = b->pub;
    return ps && __atomic_load_n(&ps->running, __ATOMIC_ACQUIRE) > 0;
}

void pub_join(bench *b)
{
    pub_set *ps = b->pub;
    if (!ps) return;
    for (int i = 0; i < ps->n; i++) {
        if (ps->t[i].started) pthread_join(ps->t[i].th, NULL);
        thread_free(&ps->t[i]);
    }
    free(ps);
    b->pub = NULL;
}
