/* bench.h: the load generator's shared types: one process drives many WebSocket clients (epoll,
 * non-blocking sockets) against our hub (mode wps) or the Socket.IO peer (mode sio), sends
 * timestamped, sequenced messages at a fixed rate per sender and accounts for every delivery.
 * Scenarios (--scenario): groups (clients send to their group), echo (clients send an event the
 * server answers), user (publisher threads send to each client's user over HTTP), ceiling
 * (publisher threads post the groups fan-out straight into nchan), idle (connect and hold).
 * bench.c runs the loop; proto.c speaks the two protocols; pub.c runs the publisher threads. */
#ifndef BENCH_H
#define BENCH_H
#include <stddef.h>
#include <stdint.h>

#include "ws.h"

#define BENCH_MAX_CLIENTS 19000        /* below the sandbox's 20,000 open files per process */
#define BENCH_MAX_HTTP_RESPONSE 8192   /* upgrade response headers */
#define BENCH_MAX_PENDING (4u << 20)   /* unsent bytes per client before we call it stuck */
#define BENCH_MAX_SIZE 65536           /* largest message payload (--size) */
#define BENCH_MAX_DURATION 600         /* seconds of sending (--duration) */
#define BENCH_MAX_LAT_SAMPLES 50000000 /* latency samples kept (200 MB) */
#define BENCH_NAME_LEN 64
#define BENCH_MAX_STEPS 32      /* rates in one --rates ramp */
#define BENCH_MAX_PUBLISHERS 64 /* publisher threads (--publishers) */
#define BENCH_CONN_ID_LEN 64    /* connectionId from the hub's connected frame */

enum { MODE_WPS, MODE_SIO };
enum { SC_GROUPS, SC_ECHO, SC_USER, SC_CEILING, SC_IDLE };
enum { C_NEW, C_CONNECTING, C_UPGRADING, C_OPEN, C_JOINING, C_READY, C_DEAD };

typedef struct client {
    int fd, idx, group, state, epout;
    uint8_t *rbuf;
    size_t rlen, rcap;
    uint8_t *wbuf;
    size_t wlen, wcap;
    ws_msg msg;
    uint32_t seq;                    /* next sequence number this client sends */
    int32_t *hi;                     /* per group member: highest sequence received, -1 none */
    uint8_t *seen;                   /* per sending group member: bitmap of sequences received */
    char conn_id[BENCH_CONN_ID_LEN]; /* wps: from the connected frame (ceiling publishes to it) */
    int live;                        /* ready when the step started (what publisher threads read) */
} client;

typedef struct {
    /* options */
    int mode, scenario, port, nclients, gsize, senders, size, concurrency, strict, verbose;
    int publishers, nrates;
    double rate, duration, drain, setup_timeout, p99_limit;
    double rates[BENCH_MAX_STEPS];
    const char *host, *hub, *key, *prefix, *label, *pub_socket;
    /* derived */
    uint32_t maxseq;
    char *pad;
    int epfd;
    client *c;
    int *sender_idx, nsenders; /* the clients that send: member index in group < --senders */
    int *members;              /* ready clients per group, fixed for one step */
    void *pub;                 /* pub.c's threads during a step */
    /* counters (connection counters for the run; message counters for the current step) */
    long long connected, failed, ready, inflight, dropped; /* dropped: died after ready */
    long long sent, skipped, expected, received, dup, reorder, misrouted, malformed, other;
    long long pub_errors;         /* publisher requests that failed (the messages count as lost) */
    long long pub_us, pub_us_max; /* time spent in publisher requests: sum, longest */
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

/* bench.c: the phases; bench_send and bench_drain run once per step of the ramp */
double bench_setup(bench *b); /* seconds taken */
double bench_send(bench *b);  /* seconds taken */
void bench_drain(bench *b);

/* pub.c: the publisher threads of the user and ceiling scenarios, for one step: they send for
 * --duration s while the caller keeps polling the clients. */
int pub_start(bench *b, uint64_t t0, uint64_t end); /* 0, or -1 (no thread started) */
int pub_running(bench *b);                          /* threads still sending */
void pub_join(bench *b);

/* proto.c */
char *proto_upgrade_request(bench *b, client *c, size_t *len); /* malloc'd HTTP request */
int proto_check_upgrade(bench *b, const char *headers);        /* 0 ok, -1 refused */
void proto_on_text(bench *b, client *c, const char *text, size_t len);
int proto_send_message(bench *b, client *c, uint64_t now); /* one timestamped send */
/* Writes the message data (--size bytes of JSON carrying [sender, seq, ts]) into out, which
 * holds --size + 1 bytes; returns its length. Takes the sender's next sequence number. */
int proto_data(bench *b, client *c, uint64_t ts, char *out);
int proto_needs_join(const bench *b); /* clients join their group before they are ready */

#endif
