/* main.c: chatr-bench, the load generator's command line and its JSON report.
 *
 *   chatr-bench --mode wps --port 8080 --key-file state/secrets/access_key --clients 1000 \
 *               --group-size 10 --rate 1 --duration 10
 *   chatr-bench --mode sio --port 3000 --clients 1000 ...
 *
 * Prints one JSON object on stdout: counts (connected, failed, sent, expected, received, lost,
 * duplicated, out_of_order, misrouted, malformed), rates, latency percentiles in ms, and the
 * generator's own CPU time. Exit status 0 when it ran (whatever it measured), 2 on bad usage. */
#include "bench.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

static void usage(void)
{
    fprintf(stderr,
            "usage: chatr-bench --mode wps|sio --port N [--host 127.0.0.1] [--hub bench]\n"
            "       [--key KEY | --key-file FILE] [--clients N] [--group-size N] [--rate MSG/S]\n"
            "       [--duration S] [--size BYTES] [--drain S] [--setup-timeout S]\n"
            "       [--concurrency N] [--prefix P] [--label L] [--strict] [--verbose]\n");
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
    static const struct option opts[] = {
        {"mode", 1, 0, 'm'},     {"port", 1, 0, 'p'},          {"host", 1, 0, 'H'},
        {"hub", 1, 0, 'u'},      {"key", 1, 0, 'k'},           {"key-file", 1, 0, 'K'},
        {"clients", 1, 0, 'c'},  {"group-size", 1, 0, 'g'},    {"rate", 1, 0, 'r'},
        {"duration", 1, 0, 'd'}, {"size", 1, 0, 's'},          {"drain", 1, 0, 'D'},
        {"setup-timeout", 1, 0, 'T'}, {"concurrency", 1, 0, 'C'}, {"prefix", 1, 0, 'P'},
        {"label", 1, 0, 'l'},    {"strict", 0, 0, 'S'},        {"verbose", 0, 0, 'v'},
        {0, 0, 0, 0}};
    static char prefix[32];
    snprintf(prefix, sizeof prefix, "b%d-", (int)getpid());
    *b = (bench){.mode = MODE_WPS, .host = "127.0.0.1", .hub = "bench", .nclients = 10,
                 .gsize = 10, .rate = 1, .duration = 5, .size = 2048, .drain = 3,
                 .setup_timeout = 60, .concurrency = 64, .prefix = prefix, .label = ""};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'm': b->mode = !strcmp(optarg, "sio") ? MODE_SIO : !strcmp(optarg, "wps") ? MODE_WPS : -1; break;
        case 'p': b->port = atoi(optarg); break;
        case 'H': b->host = optarg; break;
        case 'u': b->hub = optarg; break;
        case 'k': b->key = optarg; break;
        case 'K': b->key = read_key(optarg); if (!b->key) { perror(optarg); exit(2); } break;
        case 'c': b->nclients = atoi(optarg); break;
        case 'g': b->gsize = atoi(optarg); break;
        case 'r': b->rate = atof(optarg); break;
        case 'd': b->duration = atof(optarg); break;
        case 's': b->size = atoi(optarg); break;
        case 'D': b->drain = atof(optarg); break;
        case 'T': b->setup_timeout = atof(optarg); break;
        case 'C': b->concurrency = atoi(optarg); break;
        case 'P': b->prefix = optarg; break;
        case 'l': b->label = optarg; break;
        case 'S': b->strict = 1; break;
        case 'v': b->verbose = 1; break;
        default: usage();
        }
    }
    if (b->mode < 0 || b->port <= 0 || b->port > 65535) usage();
    if (b->mode == MODE_WPS && !b->key) usage();
    if (b->nclients < 1 || b->nclients > BENCH_MAX_CLIENTS || b->gsize < 1 ||
        b->gsize > b->nclients || b->rate <= 0 || b->duration <= 0 ||
        b->duration > BENCH_MAX_DURATION || b->size < 64 || b->size > BENCH_MAX_SIZE ||
        b->concurrency < 1 || strlen(b->prefix) > 24) {
        fprintf(stderr, "chatr-bench: an option is out of range (clients <= %d, size 64..%d, "
                        "duration <= %d s)\n", BENCH_MAX_CLIENTS, BENCH_MAX_SIZE, BENCH_MAX_DURATION);
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
    for (size_t i = 0; i < b->nlat; i++) sum += b->lat[i];
    json_object_object_add(o, "max", json_object_new_double(b->lat[b->nlat - 1] / 1000.0));
    json_object_object_add(o, "mean", json_object_new_double(sum / (double)b->nlat / 1000.0));
    return o;
}

#define ADD_INT(o, k, v) json_object_object_add(o, k, json_object_new_int64((long long)(v)))
#define ADD_DBL(o, k, v) json_object_object_add(o, k, json_object_new_double(v))

static void report(bench *b, double setup_s, double send_s)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "label", json_object_new_string(b->label));
    json_object_object_add(o, "mode", json_object_new_string(b->mode == MODE_WPS ? "wps" : "sio"));
    ADD_INT(o, "clients", b->nclients);
    ADD_INT(o, "group_size", b->gsize);
    ADD_DBL(o, "rate_per_sender", b->rate);
    ADD_INT(o, "size", b->size);
    ADD_DBL(o, "setup_s", setup_s);
    ADD_DBL(o, "handshakes_per_s", setup_s > 0 ? b->ready / setup_s : 0);
    ADD_DBL(o, "send_s", send_s);
    ADD_INT(o, "connected", b->connected);
    ADD_INT(o, "ready", b->ready);
    ADD_INT(o, "failed", b->failed);
    ADD_INT(o, "dropped", b->dropped);
    ADD_INT(o, "sent", b->sent);
    ADD_INT(o, "skipped", b->skipped);
    ADD_INT(o, "expected", b->expected);
    ADD_INT(o, "received", b->received);
    ADD_INT(o, "lost", b->expected - b->received > 0 ? b->expected - b->received : 0);
    ADD_INT(o, "duplicated", b->dup);
    ADD_INT(o, "out_of_order", b->reorder);
    ADD_INT(o, "misrouted", b->misrouted);
    ADD_INT(o, "malformed", b->malformed);
    ADD_INT(o, "other_frames", b->other);
    ADD_DBL(o, "in_per_s", send_s > 0 ? b->sent / send_s : 0);
    ADD_DBL(o, "out_per_s", send_s > 0 ? b->received / send_s : 0);
    ADD_INT(o, "bytes_in", b->bytes_in);
    ADD_INT(o, "bytes_out", b->bytes_out);
    json_object_object_add(o, "latency_ms", latency_json(b));
    ADD_DBL(o, "generator_cpu_s", ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
                                      (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    json_object_object_add(o, "first_error", json_object_new_string(b->fail_reason));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

int main(int argc, char **argv)
{
    bench b;
    parse_args(&b, argc, argv);
    if (sodium_init() < 0) return 1;
    b.maxseq = (uint32_t)ceil(b.rate * b.duration) + 2;
    b.pad = malloc((size_t)b.size);
    b.c = calloc((size_t)b.nclients, sizeof *b.c);
    b.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!b.pad || !b.c || b.epfd < 0) {
        perror("chatr-bench");
        return 1;
    }
    memset(b.pad, 'x', (size_t)b.size);
    size_t seen_bytes = ((size_t)b.gsize * b.maxseq + 7) / 8;
    for (int i = 0; i < b.nclients; i++) {
        client *c = &b.c[i];
        c->fd = -1;
        c->idx = i;
        c->group = i / b.gsize;
        c->hi = malloc((size_t)b.gsize * sizeof *c->hi);
        c->seen = calloc(seen_bytes, 1);
        if (!c->hi || !c->seen) {
            perror("chatr-bench");
            return 1;
        }
        for (int m = 0; m < b.gsize; m++) c->hi[m] = -1;
    }
    double setup_s = bench_setup(&b);
    fprintf(stderr, "chatr-bench: %lld/%d clients ready in %.2f s\n", b.ready, b.nclients, setup_s);
    double send_s = b.ready ? bench_send(&b) : 0;
    bench_drain(&b);
    report(&b, setup_s, send_s);
    for (int i = 0; i < b.nclients; i++) {
        if (b.c[i].fd >= 0) close(b.c[i].fd);
        free(b.c[i].rbuf);
        free(b.c[i].wbuf);
        free(b.c[i].hi);
        free(b.c[i].seen);
        ws_msg_free(&b.c[i].msg);
    }
    free(b.c);
    free(b.pad);
    free(b.lat);
    close(b.epfd);
    return 0;
}
