/* bench.c: the load generator's event loop (see bench.h). Three phases, each bounded in time:
 * setup (connect, upgrade, join; at most --concurrency handshakes in flight), send (every ready
 * sender sends --rate messages/s, spread evenly over time, for --duration s; in the user and
 * ceiling scenarios pub.c's threads send while this loop receives), drain (until every expected
 * delivery arrived or --drain s passed). Send and drain repeat once per rate of a --rates ramp. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#define EPOLL_BATCH 256
#define READ_CHUNK 16384

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void set_events(bench *b, client *c, int out)
{
    if (c->epout == out) return;
    struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->epout = out;
}

void client_fail(bench *b, client *c, const char *why)
{
    if (c->state == C_DEAD) return;
    if (c->state == C_READY)
        b->dropped++;
    else {
        b->failed++;
        b->inflight--;
    }
    if (!b->fail_reason[0])
        snprintf(b->fail_reason, sizeof b->fail_reason, "client %d: %s", c->idx, why);
    if (b->verbose) fprintf(stderr, "client %d: %s\n", c->idx, why);
    c->state = C_DEAD;
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

void client_ready(bench *b, client *c)
{
    c->state = C_READY;
    b->ready++;
    b->inflight--;
}

static int client_flush(bench *b, client *c)
{
    size_t off = 0;
    while (off < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + off, c->wlen - off);
        if (n < 0) {
            if (errno == EAGAIN) break;
            if (errno == EINTR) continue;
            client_fail(b, c, strerror(errno));
            return -1;
        }
        off += (size_t)n;
        b->bytes_out += n;
    }
    memmove(c->wbuf, c->wbuf + off, c->wlen - off);
    c->wlen -= off;
    set_events(b, c, c->wlen > 0);
    return 0;
}

static int client_queue(bench *b, client *c, const void *data, size_t len, int opcode, int frame)
{
    if (c->state == C_DEAD) return -1;
    size_t need = c->wlen + len + WS_MAX_HEADER;
    if (need > BENCH_MAX_PENDING) {
        client_fail(b, c, "send buffer full (server not reading)");
        return -1;
    }
    if (need > c->wcap) {
        size_t cap = c->wcap ? c->wcap : 4096;
        while (cap < need)
            cap *= 2;
        uint8_t *nb = realloc(c->wbuf, cap);
        if (!nb) {
            client_fail(b, c, "out of memory");
            return -1;
        }
        c->wbuf = nb;
        c->wcap = cap;
    }
    if (frame) {
        uint8_t mask[4];
        randombytes_buf(mask, sizeof mask);
        c->wlen += ws_encode(c->wbuf + c->wlen, opcode, data, len, mask);
    } else {
        memcpy(c->wbuf + c->wlen, data, len);
        c->wlen += len;
    }
    if (c->state < C_UPGRADING) return 0; /* TCP connect not finished: flushed on EPOLLOUT */
    return client_flush(b, c);
}

int client_send_text(bench *b, client *c, const char *text, size_t len)
{
    return client_queue(b, c, text, len, WS_OP_TEXT, 1);
}

void bench_delivery(bench *b, client *c, long long sender, long long seq, long long ts,
                    const char *group, size_t glen)
{
    uint64_t now = bench_now_us();
    if (b->sending && b->nlat < BENCH_MAX_LAT_SAMPLES) {
        if (b->nlat == b->latcap) {
            size_t cap = b->latcap ? b->latcap * 2 : 65536;
            uint32_t *nl = realloc(b->lat, cap * sizeof *nl);
            if (nl) {
                b->lat = nl;
                b->latcap = cap;
            }
        }
        if (b->nlat < b->latcap) {
            uint64_t d = now > (uint64_t)ts ? now - (uint64_t)ts : 0;
            b->lat[b->nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        }
    }
    if (sender < 0 || sender >= b->nclients || sender / b->gsize != c->group) {
        b->misrouted++;
        return;
    }
    if (group) {
        char want[BENCH_NAME_LEN * 2];
        int n = snprintf(want, sizeof want, "%sg%d", b->prefix, c->group);
        if ((size_t)n != glen || memcmp(want, group, glen) != 0) {
            b->misrouted++;
            return;
        }
    }
    int m = (int)(sender % b->gsize);
    if (m >= b->senders) { /* not a sender of this run */
        b->misrouted++;
        return;
    }
    if (seq < 0 || seq >= b->maxseq) {
        b->malformed++;
        return;
    }
    size_t bit = (size_t)m * b->maxseq + (size_t)seq; /* seen holds senders x maxseq bits */
    if (c->seen[bit / 8] & (1u << (bit % 8))) {
        b->dup++;
        return;
    }
    c->seen[bit / 8] |= (uint8_t)(1u << (bit % 8));
    b->received++;
    if (seq < c->hi[m])
        b->reorder++;
    else
        c->hi[m] = (int32_t)seq;
}

/* Upgrade response, then frames. */
static void client_parse(bench *b, client *c)
{
    size_t off = 0;
    if (c->state == C_UPGRADING) {
        uint8_t *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!end) {
            if (c->rlen > BENCH_MAX_HTTP_RESPONSE) client_fail(b, c, "upgrade response too long");
            return;
        }
        *end = 0;
        if (proto_check_upgrade(b, (char *)c->rbuf) != 0) {
            char line[128];
            snprintf(line, sizeof line, "upgrade refused: %.60s", (char *)c->rbuf);
            char *nl = strchr(line, '\r');
            if (nl) *nl = 0;
            client_fail(b, c, line);
            return;
        }
        c->state = C_OPEN;
        b->connected++;
        off = (size_t)(end - c->rbuf) + 4;
    }
    while (c->state != C_DEAD) {
        ws_hdr h;
        int r = ws_parse(c->rbuf + off, c->rlen - off, &h);
        if (r < 0) {
            client_fail(b, c, "WebSocket protocol error");
            return;
        }
        if (r == 0) break;
        const uint8_t *pl = c->rbuf + off + h.hdr_len;
        off += h.hdr_len + h.len;
        if (h.opcode == WS_OP_PING) {
            client_queue(b, c, pl, h.len, WS_OP_PONG, 1);
        } else if (h.opcode == WS_OP_CLOSE) {
            client_fail(b, c, "closed by the server");
        } else if (h.opcode != WS_OP_PONG) {
            const uint8_t *msg;
            size_t mlen;
            int op;
            r = ws_msg_add(&c->msg, &h, pl, &msg, &mlen, &op);
            if (r < 0) client_fail(b, c, "bad fragmented message");
            if (r > 0 && op == WS_OP_TEXT) proto_on_text(b, c, (const char *)msg, mlen);
            if (r > 0 && op != WS_OP_TEXT) b->malformed++;
        }
    }
    if (c->state == C_DEAD) return;
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static void client_read(bench *b, client *c)
{
    for (int i = 0; i < 4 && c->state != C_DEAD; i++) {
        if (c->rcap - c->rlen < READ_CHUNK) {
            size_t cap = c->rcap ? c->rcap * 2 : READ_CHUNK * 2;
            if (cap > WS_MAX_MESSAGE + BENCH_MAX_HTTP_RESPONSE + READ_CHUNK) {
                client_fail(b, c, "receive buffer over limit");
                return;
            }
            uint8_t *nb = realloc(c->rbuf, cap);
            if (!nb) {
                client_fail(b, c, "out of memory");
                return;
            }
            c->rbuf = nb;
            c->rcap = cap;
        }
        ssize_t n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n == 0) {
            client_fail(b, c, "connection closed");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN) return;
            if (errno == EINTR) continue;
            client_fail(b, c, strerror(errno));
            return;
        }
        b->bytes_in += n;
        c->rlen += (size_t)n;
        client_parse(b, c);
        if ((size_t)n < c->rcap - c->rlen) return; /* drained */
    }
}

static void client_start(bench *b, client *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)b->port)};
    inet_pton(AF_INET, b->host, &sa.sin_addr);
    b->inflight++;
    c->state = C_CONNECTING;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        client_fail(b, c, strerror(errno));
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        client_fail(b, c, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev);
    c->epout = 1;
    size_t len;
    char *req = proto_upgrade_request(b, c, &len);
    if (!req) {
        client_fail(b, c, "could not build the upgrade request (token?)");
        return;
    }
    client_queue(b, c, req, len, 0, 0);
    free(req);
}

static void on_event(bench *b, client *c, uint32_t ev)
{
    if (c->state == C_DEAD) return;
    if (c->state == C_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) {
            client_fail(b, c, strerror(err));
            return;
        }
        c->state = C_UPGRADING;
    }
    if ((ev & EPOLLOUT) && client_flush(b, c) < 0) return;
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) client_read(b, c);
}

static void poll_once(bench *b, int timeout_ms)
{
    struct epoll_event evs[EPOLL_BATCH];
    int n = epoll_wait(b->epfd, evs, EPOLL_BATCH, timeout_ms);
    for (int i = 0; i < n; i++)
        on_event(b, evs[i].data.ptr, evs[i].events);
}

/* Phase 1: connect, upgrade and join every client, --concurrency at a time. */
double bench_setup(bench *b)
{
    uint64_t t0 = bench_now_us(), limit = t0 + (uint64_t)(b->setup_timeout * 1e6);
    int next = 0;
    while (b->ready + b->failed < b->nclients && bench_now_us() < limit) {
        while (next < b->nclients && b->inflight < b->concurrency)
            client_start(b, &b->c[next++]);
        poll_once(b, 10);
    }
    for (int i = 0; i < b->nclients; i++)
        if (b->c[i].state != C_READY && b->c[i].state != C_DEAD)
            client_fail(b, &b->c[i], "setup timed out");
    return (bench_now_us() - t0) / 1e6;
}

/* Receives only: idle connections, or the publisher threads send. */
static double send_by_threads(bench *b, uint64_t t0, uint64_t end)
{
    if (b->scenario == SC_IDLE) {
        while (bench_now_us() < end)
            poll_once(b, 10);
        return (bench_now_us() - t0) / 1e6;
    }
    if (pub_start(b, t0, end) != 0) return 0;
    while (pub_running(b))
        poll_once(b, 5);
    pub_join(b);
    return (bench_now_us() - t0) / 1e6;
}

/* Phase 2: sender k of n sends its j-th message at t0 + (j*n + k) / (n*rate): evenly spread. */
double bench_send(bench *b)
{
    memset(b->members, 0, ((size_t)b->nclients / b->gsize + 1) * sizeof *b->members);
    for (int i = 0; i < b->nclients; i++) {
        b->c[i].live = b->c[i].state == C_READY;
        b->members[b->c[i].group] += b->c[i].live;
    }
    b->sending = 1;
    uint64_t t0 = bench_now_us(), end = t0 + (uint64_t)(b->duration * 1e6);
    if (b->scenario == SC_IDLE || b->scenario == SC_USER || b->scenario == SC_CEILING)
        return send_by_threads(b, t0, end);
    double total_rate = b->rate * b->nsenders;
    long long k = 0;
    for (;;) {
        uint64_t now = bench_now_us();
        if (now >= end) break;
        while (t0 + (uint64_t)(k * 1e6 / total_rate) <= now) {
            client *c = &b->c[b->sender_idx[k % b->nsenders]];
            if (c->state == C_READY && c->seq < b->maxseq) {
                if (proto_send_message(b, c, now) == 0) {
                    b->sent++;
                    b->expected += b->scenario == SC_ECHO ? 1 : b->members[c->group];
                }
            } else {
                b->skipped++;
            }
            k++;
        }
        uint64_t due = t0 + (uint64_t)(k * 1e6 / total_rate);
        int wait = due > now ? (int)((due - now + 999) / 1000) : 0; /* round up: no spinning */
        poll_once(b, wait > 10 ? 10 : wait);
    }
    return (bench_now_us() - t0) / 1e6;
}

/* Phase 3: wait for stragglers. */
void bench_drain(bench *b)
{
    uint64_t limit = bench_now_us() + (uint64_t)(b->drain * 1e6);
    while (b->received + b->misrouted < b->expected && bench_now_us() < limit)
        poll_once(b, 10);
    b->sending = 0;
}
