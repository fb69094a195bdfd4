/* main.c: chatr-bench, the load generator's command line and its JSON report.
 *
 *   chatr-bench --mode wps --port 8080 --key-file state/secrets/access_key --clients 1000 \
 *               --group-size 10 --rate 1 --duration 10
 *   chatr-bench --mode sio --port 3000 --clients 1000 ...
 *   chatr-bench ... --scenario echo --clients 500 --rates 1,2,4,8 --p99-limit 1000
 *
 * Prints one JSON object per step on stdout (one step unless --rates gives a ramp): counts
 * (connected, failed, sent, expected, received, lost, duplicated, out_of_order, misrouted,
 * malformed), rates, latency percentiles in ms, and the generator's own CPU time. A ramp stops
 * after the first step that loses anything or passes --p99-limit. Exit status 0 when it ran
 * (whatever it measured), 2 on bad usage. */
#include "bench.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <sodium.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: chatr-bench --mode wps|sio --port N [--host 127.0.0.1] [--hub bench]\n"
            "       [--scenario groups|echo|user|ceiling|idle] [--key KEY | --key-file FILE]\n"
            "       [--clients N] [--group-size N] [--senders N-PER-GROUP]\n"
            "       [--rate MSG/S | --rates R1,R2,...] [--p99-limit MS] [--duration S]\n"
            "       [--size BYTES] [--drain S] [--setup-timeout S] [--concurrency N]\n"
            "       [--publishers N] [--pub-socket PATH] [--prefix P] [--label L] [--strict]\n"
            "       [--verbose]\n");
    exit(2);
}

static char *read_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char buf[512];
    char *r = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!r) return NULL;
    buf[strcspn(buf, "\r\n")] = 0;
    return strdup(buf);
}

static void parse_args(bench *b, int argc, char **argv)
{
    static const struct option opts[] = {{"mode", 1, 0, 'm'},
                                         {"port", 1, 0, 'p'},
                                         {"host", 1, 0, 'H'},
                                         {"hub", 1, 0, 'u'},
                                         {"key", 1, 0, 'k'},
                                         {"key-file", 1, 0, 'K'},
                                         {"clients", 1, 0, 'c'},
                                         {"group-size", 1, 0, 'g'},
                                         {"rate", 1, 0, 'r'},
                                         {"duration", 1, 0, 'd'},
                                         {"size", 1, 0, 's'},
                                         {"drain", 1, 0, 'D'},
                                         {"setup-timeout", 1, 0, 'T'},
                                         {"concurrency", 1, 0, 'C'},
                                         {"prefix", 1, 0, 'P'},
                                         {"label", 1, 0, 'l'},
                                         {"strict", 0, 0, 'S'},
                                         {"verbose", 0, 0, 'v'},
                                         {"scenario", 1, 0, 'x'},
                                         {"senders", 1, 0, 'n'},
                                         {"rates", 1, 0, 'R'},
                                         {"p99-limit", 1, 0, 'L'},
                                         {"publishers", 1, 0, 'U'},
                                         {"pub-socket", 1, 0, 'X'},
                                         {0, 0, 0, 0}};
    static const char *scenarios[] = {"groups", "echo", "user", "ceiling", "idle"};
    static char prefix[32];
    snprintf(prefix, sizeof prefix, "b%d-", (int)getpid());
    *b = (bench){.mode = MODE_WPS,
                 .host = "127.0.0.1",
                 .hub = "bench",
                 .nclients = 10,
                 .gsize = 10,
                 .rate = 1,
                 .duration = 5,
                 .size = 2048,
                 .drain = 3,
                 .setup_timeout = 60,
                 .concurrency = 64,
                 .prefix = prefix,
                 .label = "",
                 .scenario = SC_GROUPS,
                 .publishers = 4};
    int bad = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm':
            b->mode = !strcmp(optarg, "sio") ? MODE_SIO : !strcmp(optarg, "wps") ? MODE_WPS : -1;
            break;
        case 'p':
            b->port = atoi(optarg);
            break;
        case 'H':
            b->host = optarg;
            break;
        case 'u':
            b->hub = optarg;
            break;
        case 'k':
            b->key = optarg;
            break;
        case 'K':
            b->key = read_key(optarg);
            if (!b->key) {
                perror(optarg);
                exit(2);
            }
            break;
        case 'c':
            b->nclients = atoi(optarg);
            break;
        case 'g':
            b->gsize = atoi(optarg);
            break;
        case 'r':
            b->rate = atof(optarg);
            break;
        case 'd':
            b->duration = atof(optarg);
            break;
        case 's':
            b->size = atoi(optarg);
            break;
        case 'D':
            b->drain = atof(optarg);
            break;
        case 'T':
            b->setup_timeout = atof(optarg);
            break;
        case 'C':
            b->concurrency = atoi(optarg);
            break;
        case 'P':
            b->prefix = optarg;
            break;
        case 'l':
            b->label = optarg;
            break;
        case 'S':
            b->strict = 1;
            break;
        case 'v':
            b->verbose = 1;
            break;
        case 'x':
            b->scenario = -1;
            for (int i = 0; i < 5; i++)
                if (!strcmp(optarg, scenarios[i])) b->scenario = i;
            bad |= b->scenario < 0;
            break;
        case 'n':
            b->senders = atoi(optarg);
            break;
        case 'R':
            b->nrates = 0;
            for (char *p = optarg, *q; *p && b->nrates < BENCH_MAX_STEPS; p = *q ? q + 1 : q) {
                b->rates[b->nrates++] = strtod(p, &q);
                if (q == p || (*q && *q != ',')) bad = 1;
                if (q == p) break;
            }
            break;
        case 'L':
            b->p99_limit = atof(optarg);
            break;
        case 'U':
            b->publishers = atoi(optarg);
            break;
        case 'X':
            b->pub_socket = optarg;
            break;
        default:
            usage();
        }
    }
    if (bad || b->mode < 0 || b->port <= 0 || b->port > 65535) usage();
    if ((b->mode == MODE_WPS || b->scenario == SC_CEILING) && !b->key) usage();
    if (b->scenario == SC_CEILING && (b->mode != MODE_WPS || !b->pub_socket)) {
        fprintf(stderr, "chatr-bench: --scenario ceiling needs --mode wps and --pub-socket\n");
        exit(2);
    }
    if (b->scenario == SC_ECHO || b->scenario == SC_USER || b->scenario == SC_IDLE) b->gsize = 1;
    if (!b->nrates) b->rates[b->nrates++] = b->rate;
    if (!b->senders || b->senders > b->gsize) b->senders = b->gsize;
    for (int i = 0; i < b->nrates; i++)
        bad |= !(b->rates[i] > 0);
    if (b->nclients < 1 || b->nclients > BENCH_MAX_CLIENTS || b->gsize < 1 ||
        b->gsize > b->nclients || bad || b->duration <= 0 || b->senders < 1 ||
        (b->scenario == SC_CEILING && b->gsize > 255) || b->publishers < 1 ||
        b->publishers > BENCH_MAX_PUBLISHERS || b->p99_limit < 0 ||
        b->duration > BENCH_MAX_DURATION || b->size < 64 || b->size > BENCH_MAX_SIZE ||
        b->concurrency < 1 || strlen(b->prefix) > 24) {
        fprintf(stderr,
                "chatr-bench: an option is out of range (clients <= %d, size 64..%d, "
                "duration <= %d s, rates > 0, ceiling groups <= 255, publishers <= %d)\n",
                BENCH_MAX_CLIENTS, BENCH_MAX_SIZE, BENCH_MAX_DURATION, BENCH_MAX_PUBLISHERS);
        exit(2);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static json_object *latency_json(bench *b)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "samples", json_object_new_int64((long long)b->nlat));
    if (!b->nlat) return o;
    qsort(b->lat, b->nlat, sizeof *b->lat, cmp_u32);
    const double ps[] = {50, 90, 99};
    const char *names[] = {"p50", "p90", "p99"};
    for (int i = 0; i < 3; i++) {
        size_t k = (size_t)ceil(ps[i] / 100.0 * (double)b->nlat);
        k = k ? k - 1 : 0;
        json_object_object_add(o, names[i], json_object_new_double(b->lat[k] / 1000.0));
    }
    double sum = 0;
    for (size_t i = 0; i < b->nlat; i++)
        sum += b->lat[i];
    json_object_object_add(o, "max", json_object_new_double(b->lat[b->nlat - 1] / 1000.0));
    json_object_object_add(o, "mean", json_object_new_double(sum / (double)b->nlat / 1000.0));
    return o;
}

#define ADD_INT(o, k, v) json_object_object_add(o, k, json_object_new_int64((long long)(v)))
#define ADD_DBL(o, k, v) json_object_object_add(o, k, json_object_new_double(v))

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static const char *scenario_name(int s)
{
    static const char *names[] = {"groups", "echo", "user", "ceiling", "idle"};
    return names[s];
}

typedef struct {
    int index;
    double setup_s, send_s, cpu_s;
    long long dropped; /* before the step */
} step_info;

/* One step's JSON object; returns 1 when it passed (nothing lost or refused, p99 within limit,
 * the target rate reached). */
static int report(bench *b, const step_info *st)
{
    long long lost = b->expected - b->received > 0 ? b->expected - b->received : 0;
    long long dropped = b->dropped - st->dropped;
    double target = b->scenario == SC_IDLE ? 0 : b->rate * b->nsenders;
    double in = st->send_s > 0 ? b->sent / st->send_s : 0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "label", json_object_new_string(b->label));
    json_object_object_add(o, "mode", json_object_new_string(b->mode == MODE_WPS ? "wps" : "sio"));
    json_object_object_add(o, "scenario", json_object_new_string(scenario_name(b->scenario)));
    ADD_INT(o, "step", st->index);
    ADD_INT(o, "clients", b->nclients);
    ADD_INT(o, "group_size", b->gsize);
    ADD_INT(o, "senders", b->nsenders);
    ADD_DBL(o, "rate_per_sender", b->rate);
    ADD_DBL(o, "target_in_per_s", target);
    ADD_INT(o, "size", b->size);
    ADD_DBL(o, "setup_s", st->setup_s);
    ADD_DBL(o, "handshakes_per_s", st->setup_s > 0 ? b->ready / st->setup_s : 0);
    ADD_DBL(o, "send_s", st->send_s);
    ADD_INT(o, "connected", b->connected);
    ADD_INT(o, "ready", b->ready);
    ADD_INT(o, "failed", b->failed);
    ADD_INT(o, "dropped", dropped);
    ADD_INT(o, "sent", b->sent);
    ADD_INT(o, "skipped", b->skipped);
    ADD_INT(o, "publish_errors", b->pub_errors);
    if (b->scenario == SC_USER || b->scenario == SC_CEILING) { /* one request per message */
        ADD_DBL(o, "publish_mean_ms", b->sent ? b->pub_us / 1000.0 / b->sent : 0);
        ADD_DBL(o, "publish_max_ms", b->pub_us_max / 1000.0);
        ADD_INT(o, "publishers", b->publishers);
    }
    ADD_INT(o, "expected", b->expected);
    ADD_INT(o, "received", b->received);
    ADD_INT(o, "lost", lost);
    ADD_INT(o, "duplicated", b->dup);
    ADD_INT(o, "out_of_order", b->reorder);
    ADD_INT(o, "misrouted", b->misrouted);
    ADD_INT(o, "malformed", b->malformed);
    ADD_INT(o, "other_frames", b->other);
    ADD_DBL(o, "in_per_s", in);
    ADD_DBL(o, "out_per_s", st->send_s > 0 ? b->received / st->send_s : 0);
    ADD_INT(o, "bytes_in", b->bytes_in);
    ADD_INT(o, "bytes_out", b->bytes_out);
    json_object *lat = latency_json(b), *p99v;
    json_object_object_add(o, "latency_ms", lat);
    ADD_DBL(o, "generator_cpu_s", st->cpu_s);
    json_object_object_add(o, "first_error", json_object_new_string(b->fail_reason));
    double p99 = json_object_object_get_ex(lat, "p99", &p99v) ? json_object_get_double(p99v) : 0;
    int ok = b->ready > 0 && b->failed == 0 && dropped == 0 && lost == 0 && b->dup == 0 &&
             b->misrouted == 0 && b->malformed == 0 && b->pub_errors == 0 &&
             (b->p99_limit <= 0 || p99 <= b->p99_limit) && in >= 0.9 * target;
    json_object_object_add(o, "passed", json_object_new_boolean(ok));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    json_object_put(o);
    return ok;
}

static void reset_step(bench *b)
{
    b->sent = b->skipped = b->expected = b->received = b->dup = b->reorder = 0;
    b->misrouted = b->malformed = b->other = b->pub_errors = b->pub_us = b->pub_us_max = 0;
    b->bytes_in = b->bytes_out = 0;
    b->nlat = 0;
}

static int init_clients(bench *b)
{
    double seqs = 0;
    for (int i = 0; i < b->nrates; i++)
        seqs += ceil(b->rates[i] * b->duration) + 2;
    b->maxseq = (uint32_t)seqs;
    b->pad = malloc((size_t)b->size);
    b->c = calloc((size_t)b->nclients, sizeof *b->c);
    b->sender_idx = malloc((size_t)b->nclients * sizeof *b->sender_idx);
    b->members = calloc((size_t)b->nclients / b->gsize + 1, sizeof *b->members);
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b->pad || !b->c || !b->sender_idx || !b->members || b->epfd < 0) return -1;
    memset(b->pad, 'x', (size_t)b->size);
    size_t seen_bytes = ((size_t)b->senders * b->maxseq + 7) / 8;
    for (int i = 0; i < b->nclients; i++) {
        client *c = &b->c[i];
        c->fd = -1;
        c->idx = i;
        c->group = i / b->gsize;
        c->hi = malloc((size_t)b->senders * sizeof *c->hi);
        c->seen = calloc(seen_bytes, 1);
        if (!c->hi || !c->seen) return -1;
        for (int m = 0; m < b->senders; m++)
            c->hi[m] = -1;
        if (i % b->gsize < b->senders) b->sender_idx[b->nsenders++] = i;
    }
    return 0;
}

static void free_clients(bench *b)
{
    for (int i = 0; i < b->nclients; i++) {
        if (b->c[i].fd >= 0) close(b->c[i].fd);
        free(b->c[i].rbuf);
        free(b->c[i].wbuf);
        free(b->c[i].hi);
        free(b->c[i].seen);
        ws_msg_free(&b->c[i].msg);
    }
    free(b->c);
    free(b->pad);
    free(b->lat);
    free(b->sender_idx);
    free(b->members);
    close(b->epfd);
}

int main(int argc, char **argv)
{
    bench b;
    parse_args(&b, argc, argv);
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    if (init_clients(&b) != 0) {
        perror("chatr-bench");
        return 1;
    }
    step_info st = {.setup_s = bench_setup(&b)};
    fprintf(stderr, "chatr-bench: %lld/%d clients ready in %.2f s\n", b.ready, b.nclients,
            st.setup_s);
    for (int i = 0; i < b.nrates; i++) {
        b.rate = b.rates[i];
        reset_step(&b);
        st.index = i;
        st.dropped = b.dropped;
        double cpu0 = cpu_now();
        st.send_s = b.ready ? bench_send(&b) : 0;
        bench_drain(&b);
        st.cpu_s = cpu_now() - cpu0 + (i == 0 ? cpu0 : 0); /* the first step carries the setup */
        if (!report(&b, &st) && b.p99_limit > 0) break;
        if (i + 1 < b.nrates) fprintf(stderr, "chatr-bench: step %d done\n", i);
    }
    free_clients(&b);
    curl_global_cleanup();
    return 0;
}
