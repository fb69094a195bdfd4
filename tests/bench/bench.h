/* bench.h: the load generator's shared types: one process drives many WebSocket clients (epoll,
 * non-blocking sockets) against our hub (mode wps) or the Socket.IO peer (mode sio), sends
 * timestamped, sequenced messages to groups of clients at a fixed rate per sender and accounts
 * for every delivery. bench.c runs the loop; proto.c speaks the two protocols. */
#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#include <stdint.h>

#include "ws.h"

#define BENCH_MAX_CLIENTS 19000       /* below the sandbox's 20,000 open files per process */
#define BENCH_MAX_HTTP_RESPONSE 8192  /* upgrade response headers */
#define BENCH_MAX_PENDING (4u << 20)  /* unsent bytes per client before we call it stuck */
#define BENCH_MAX_SIZE 65536          /* largest message payload (--size) */
#define BENCH_MAX_DURATION 600        /* seconds of sending (--duration) */
#define BENCH_MAX_LAT_SAMPLES 50000000 /* latency samples kept (200 MB) */
#define BENCH_NAME_LEN 64

enum { MODE_WPS, MODE_SIO };
enum { C_NEW, C_CONNECTING, C_UPGRADING, C_OPEN, C_JOINING, C_READY, C_DEAD };

typedef struct client {
    int fd, idx, group, state, epout;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, wcap;
    ws_msg msg;
    uint32_t seq;        /* next sequence number this client sends */
    int32_t *hi;         /* per group member: highest sequence received, -1 none */
    uint8_t *seen;       /* per group member: bitmap of sequences received */
} client;

typedef struct {
    /* options */
    int mode, port, nclients, gsize, size, concurrency, strict, verbose;
    double rate, duration, drain, setup_timeout;
    const char *host, *hub, *key, *prefix, *label;
    /* derived */
    uint32_t maxseq;
    char *pad;
    int epfd;
    client *c;
    /* counters */
    long long connected, failed, ready, inflight, dropped; /* dropped: died after ready */
    long long sent, skipped, expected, received, dup, reorder, misrouted, malformed, other;
    long long bytes_in, bytes_out;
    uint32_t *lat;
    size_t nlat, latcap;
    int sending; /* 1 while deliveries count */
    char fail_reason[256];
} bench;

uint64_t bench_now_us(void);

/* bench.c: transport helpers used by proto.c */
int client_send_text(bench *b, client *c, const char *text, size_t len);
void client_fail(bench *b, client *c, const char *why);
void client_ready(bench *b, client *c);
void bench_delivery(bench *b, client *c, long long sender, long long seq, long long ts,
                    const char *group, size_t glen);

/* bench.c: the three phases */
double bench_setup(bench *b); /* seconds taken */
double bench_send(bench *b);  /* seconds taken */
void bench_drain(bench *b);

/* proto.c */
char *proto_upgrade_request(bench *b, client *c, size_t *len); /* malloc'd HTTP request */
int proto_check_upgrade(bench *b, const char *headers);        /* 0 ok, -1 refused */
void proto_on_text(bench *b, client *c, const char *text, size_t len);
int proto_send_message(bench *b, client *c, uint64_t now);     /* one timestamped group send */

#endif
