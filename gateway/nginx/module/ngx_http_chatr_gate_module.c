/* ngx_http_chatr_gate_module.c: the frame gate, a small nginx module of ours that stands in the
 * /_hub/frame location between nchan and hub-router (docs/frame-gate.md has the whole story).
 *
 * Why it exists: nchan 1.3.6 (Debian's libnginx-mod-nchan) turns every WebSocket frame into a
 * fake request on a fake connection (a worker_connections slot) queued per socket, reads frames
 * as fast as a client sends them, leaks the queued ones of a socket that closes, and aborts the
 * worker (websocket.c:580, assert(d->subrequest)) when a frame's subrequest completes before
 * nchan has stored it, which is what a refused FastCGI connect does. A frame flood therefore ran
 * nginx out of connections, and an empty hub-router pool crashed the worker on every frame.
 *
 * What it does, in the location's precontent phase, for every frame subrequest:
 *   1. defers the frame by one event-loop tick, so no frame ever completes inside the call in
 *      which nchan creates it (a frame nchan starts as the one before it completes, already
 *      stored by nchan, may go on at once, up to GATE_SYNC_CHAIN in a row);
 *   2. takes a token from the connection's bucket (HUB_RATE_PER_SEC, burst HUB_RATE_BURST, in
 *      shared memory: one limit across all workers); over the rate, or when the worker's free
 *      connections run low and this connection is spending its burst or its frame waited
 *      long in the socket's queue (a socket sending faster than served), the gate answers the
 *      frame itself, without an upstream connection: an error ack when the frame has an ackId
 *      (JSON subprotocols), else 204 (dropped); so queues drain at nginx speed;
 *   3. when hub-router cannot be reached (502/503/504, or nginx's own error), answers the frame
 *      itself with an InternalServerError ack, or drops it, and the socket stays open.
 * Sockets are never closed here: closing a socket leaks its queued frames in nchan.
 *
 * And, where chatr_gate_socket is on (the client socket locations), back-pressure: the gate
 * reads the client connection through its own recv, counts the frames nchan has read and not
 * yet answered, stops reading at GATE_QUEUE_MAX (TCP then slows the client down) and reads on
 * at GATE_QUEUE_RESUME; reads at most GATE_FRAMES_PER_SEC frames of a socket per second (nchan's
 * message ids wrap, and the worker aborts, past 32,767 messages to a channel in one second); a
 * client's close (FIN, reset or close frame) waits until the socket's queued frames are answered,
 * since nchan leaks the queued frames of a closing socket.
 *
 * Configuration (location): chatr_frame_gate <connection> <subprotocol>;
 * e.g. chatr_frame_gate $hub_conn $hub_protocol; and chatr_gate_socket on|off;
 * Variables: $chatr_free_connections, this worker's free connection slots; $chatr_gate_stats,
 * its fake connections (queued frames hold one each; tests watch them for leaks) and the
 * back-pressure counters. */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "frame_gate.h"

#if !defined(CHATR_RATE_PER_SEC) || !defined(CHATR_RATE_BURST)
#error "the Makefile passes CHATR_RATE_PER_SEC and CHATR_RATE_BURST (gateway/hub/hub.h)"
#endif

#define GATE_ZONE_NAME "chatr_frame_gate"
#define GATE_RESERVE_DIVISOR 2   /* below connection_n / 2 free connections: refuse spenders */
#define GATE_CRITICAL_DIVISOR 16 /* below connection_n / 16: refuse every frame */
/* nchan's fake connections have a log that writes nothing: the gate logs to the cycle's log. */
#define GATE_LOG_EVERY_MS 1000 /* overload and unreachable-router messages, at most this often */
#define GATE_QUEUED_MS                                                                             \
    100                    /* under the reserve: a frame that waited this long in its socket's     \
                            * queue comes from a socket sending faster than it is served */
#define GATE_SYNC_CHAIN 64 /* frames of one socket run back to back before the next tick */
/* Back-pressure (docs/frame-gate.md): a socket with GATE_QUEUE_MAX frames read and not yet
 * answered is not read any more until GATE_QUEUE_RESUME are left; its bytes wait in the kernel
 * and TCP slows the client down. */
#define GATE_QUEUE_MAX 32
#define GATE_QUEUE_RESUME 16
#define GATE_STALL_MS                                                                              \
    5000 /* paused this long with no frame answered: recount (a frame nchan lost, e.g. when        \
          * ngx_get_connection failed, would otherwise pause the socket for good) */
#define GATE_HOLD_MS                                                                               \
    3000 /* how long a client's close waits for its queued frames before nchan sees it */
/* nchan's message ids: a socket's answers in one second must stay well below GATE_NCHAN_TAG_MAX
 * (frame_gate.h), and the cap must never stop a client within its rate. */
_Static_assert(GATE_FRAMES_PER_SEC >= CHATR_RATE_PER_SEC + CHATR_RATE_BURST,
               "the per-second cap is above what the rate allows");
_Static_assert((GATE_FRAMES_PER_SEC + GATE_QUEUE_MAX) * 4 <= GATE_NCHAN_TAG_MAX,
               "a socket's answers per second stay far below nchan's message id counter");
#define GATE_SOCKET_MAGIC 0x63686174u /* "chat": the ctx slot of a client socket's request */

/* How deep we are in gate_post_subrequest (a frame completing). nchan starts a socket's next
 * queued frame from inside that callback, and a queued frame is already stored by nchan, so it
 * may complete at once: up to GATE_SYNC_CHAIN of them run back to back (queues drain at nginx
 * speed, the stack stays bounded); any other frame waits for the next tick. */
static ngx_uint_t gate_completing;

typedef struct {
    ngx_http_complex_value_t *key;      /* the connection the limit is for ($hub_conn) */
    ngx_http_complex_value_t *protocol; /* its subprotocol: empty for simple clients (no acks) */
    ngx_shm_zone_t *zone;
    ngx_flag_t socket; /* chatr_gate_socket: this location's requests are client sockets */
} gate_loc_conf_t;

enum gate_state { GATE_WAITING = 1, GATE_READY };

typedef struct {
    enum gate_state state;
    ngx_event_t ev;                            /* the one-tick deferral */
    ngx_http_post_subrequest_pt nchan_handler; /* nchan's completion callback, wrapped */
    void *nchan_data;
    const char *err_name; /* the answer the gate gives (GATE answers, not hub-router) */
    char err_msg[96];
    unsigned answered : 1;
    struct gate_socket_s *socket; /* the client socket the frame came from (a reference) */
    unsigned done : 1;            /* counted as answered in its socket's queue */
} gate_ctx_t;

/* A client WebSocket (chatr_gate_socket): the gate reads its bytes through gate_recv to know
 * how many frames nchan has queued, pauses reading when they are too many, and holds the
 * client's close until they are answered (nchan leaks the fake connections of queued frames
 * when a socket closes). Heap-allocated and counted: the socket's request holds one reference,
 * the frame running for it another, so either may end first. */
typedef struct gate_socket_s {
    uint32_t magic;
    ngx_uint_t refs;
    ngx_connection_t *c;               /* the client's connection, NULL once its request ended */
    ngx_recv_pt recv;                  /* its own recv (ngx_unix_recv, or ngx_ssl_recv) */
    ngx_event_handler_pt read_handler; /* its read handler (ngx_http_request_handler) */
    gate_wsscan scan;
    ngx_uint_t queued;  /* data frames read and not yet answered */
    ngx_event_t stall;  /* while paused: GATE_STALL_MS without progress */
    ngx_event_t hold;   /* while a close is held: GATE_HOLD_MS at most */
    ngx_event_t tick;   /* while throttled: the next second */
    gate_persec persec; /* data frames read in the current second */
    unsigned paused : 1;
    unsigned throttled : 1; /* GATE_FRAMES_PER_SEC read this second: not read until the next */
    unsigned held_eof : 1;
    unsigned held_close : 1; /* a close frame waits in peek for the queued frames */
    unsigned peeked : 1;     /* peek holds the first byte of the next frame, not read by nchan */
    unsigned let_close : 1;  /* the close was let through: never hold it again */
    u_char peek;
} gate_socket_t;

/* This worker's view, for GET /.chatr/gate and the tests. */
static struct {
    ngx_uint_t queue_max; /* the deepest queue any socket reached */
    ngx_uint_t pauses;    /* times a socket was paused */
    ngx_uint_t held;      /* closes held until the socket's frames were answered */
    ngx_uint_t expired;   /* closes let through with frames still queued (nchan leaks those) */
    ngx_uint_t stalls;    /* paused sockets recounted after GATE_STALL_MS */
    ngx_uint_t throttles; /* times a socket read GATE_FRAMES_PER_SEC frames in one second */
    ngx_uint_t sec_max;   /* the most frames one socket had read in one second */
} gate_stats;

static gate_socket_t **gate_sockets; /* by connection index: the socket a recv belongs to */

static void gate_socket_frame_done(gate_socket_t *s);

static ngx_int_t gate_init(ngx_conf_t *cf);
static ngx_int_t gate_add_variables(ngx_conf_t *cf);
static void *gate_create_loc_conf(ngx_conf_t *cf);
static char *gate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *gate_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t gate_init_process(ngx_cycle_t *cycle);

static ngx_command_t gate_commands[] = {
    {ngx_string("chatr_frame_gate"), NGX_HTTP_LOC_CONF | NGX_CONF_TAKE2, gate_directive,
     NGX_HTTP_LOC_CONF_OFFSET, 0, NULL},
    {ngx_string("chatr_gate_socket"), NGX_HTTP_LOC_CONF | NGX_HTTP_LIF_CONF | NGX_CONF_FLAG,
     ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(gate_loc_conf_t, socket), NULL},
    ngx_null_command};

static ngx_http_module_t gate_module_ctx = {
    gate_add_variables,   gate_init,          NULL, NULL, NULL, NULL,
    gate_create_loc_conf, gate_merge_loc_conf};

ngx_module_t ngx_http_chatr_gate_module = {NGX_MODULE_V1,
                                           &gate_module_ctx,
                                           gate_commands,
                                           NGX_HTTP_MODULE,
                                           NULL,
                                           NULL,
                                           gate_init_process,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NULL,
                                           NGX_MODULE_V1_PADDING};

/* ---- shared memory: the bucket table ------------------------------------------------------ */

static ngx_int_t gate_zone_init(ngx_shm_zone_t *zone, void *data)
{
    ngx_slab_pool_t *shpool = (ngx_slab_pool_t *)zone->shm.addr;
    if (data) { /* a reload: keep the old table */
        zone->data = data;
        return NGX_OK;
    }
    if (zone->shm.exists) {
        zone->data = shpool->data;
        return NGX_OK;
    }
    gate_table *t = ngx_slab_calloc(shpool, sizeof(gate_table));
    if (t == NULL) return NGX_ERROR;
    shpool->data = t;
    zone->data = t;
    return NGX_OK;
}

static gate_verdict gate_take_shared(ngx_shm_zone_t *zone, ngx_str_t *key)
{
    ngx_slab_pool_t *shpool = (ngx_slab_pool_t *)zone->shm.addr;
    ngx_shmtx_lock(&shpool->mutex);
    gate_verdict v = gate_take(zone->data, (const char *)key->data, key->len, ngx_current_msec,
                               CHATR_RATE_PER_SEC, CHATR_RATE_BURST);
    ngx_shmtx_unlock(&shpool->mutex);
    return v;
}

/* ---- answering a frame without hub-router -------------------------------------------------- */

/* The frame's bytes (nchan hands the subrequest one in-memory buffer). */
static ngx_int_t gate_body(ngx_http_request_t *r, ngx_str_t *out)
{
    ngx_str_null(out);
    if (r->request_body == NULL || r->request_body->bufs == NULL) return NGX_OK;
    size_t len = 0;
    for (ngx_chain_t *cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) return NGX_OK;
        len += ngx_buf_size(cl->buf);
    }
    if (len == 0 || len > GATE_MAX_PARSE) return NGX_OK;
    u_char *p = ngx_pnalloc(r->pool, len);
    if (p == NULL) return NGX_ERROR;
    out->data = p;
    for (ngx_chain_t *cl = r->request_body->bufs; cl; cl = cl->next)
        p = ngx_cpymem(p, cl->buf->pos, ngx_buf_size(cl->buf));
    out->len = len;
    return NGX_OK;
}

/* Sets the subrequest up as nchan reads an upstream answer: 200 + the error ack (nchan publishes
 * it to the socket) or 204 (nchan drops the frame). */
static ngx_int_t gate_reply(ngx_http_request_t *r, gate_ctx_t *ctx)
{
    gate_loc_conf_t *lc = ngx_http_get_module_loc_conf(r, ngx_http_chatr_gate_module);
    ngx_str_t proto = ngx_null_string, frame;
    char ack[GATE_MAX_ACK];
    size_t n = 0;
    ctx->answered = 1;
    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    if (ngx_http_complex_value(r, lc->protocol, &proto) != NGX_OK) return NGX_ERROR;
    if (proto.len > 0) { /* JSON subprotocols have ackIds; simple clients' frames are raw */
        if (gate_body(r, &frame) != NGX_OK) return NGX_ERROR;
        n = gate_ack((const char *)frame.data, frame.len, ctx->err_name, ctx->err_msg, ack,
                     sizeof ack);
    }
    if (n == 0) return NGX_OK;
    if (r->upstream == NULL && ngx_http_upstream_create(r) != NGX_OK) return NGX_ERROR;
    ngx_buf_t *b = ngx_create_temp_buf(r->pool, n);
    ngx_chain_t *cl = ngx_alloc_chain_link(r->pool);
    if (b == NULL || cl == NULL) return NGX_ERROR;
    b->last = ngx_cpymem(b->last, ack, n);
    b->last_buf = 1;
    b->last_in_chain = 1;
    cl->buf = b;
    cl->next = NULL;
    r->out = cl; /* where nchan reads an in-memory subrequest's body */
    r->upstream->headers_in.content_length_n = (off_t)n;
    r->upstream->headers_in.chunked = 0;
    r->headers_out.status = NGX_HTTP_OK;
    return NGX_OK;
}

/* The content handler of a frame the gate answers (instead of fastcgi_pass). */
static ngx_int_t gate_answer_handler(ngx_http_request_t *r)
{
    gate_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_chatr_gate_module);
    if (ctx == NULL || gate_reply(r, ctx) != NGX_OK) return NGX_ERROR;
    return NGX_OK;
}

static int gate_log_due(ngx_msec_t *last)
{
    if (*last && ngx_current_msec - *last < GATE_LOG_EVERY_MS) return 0;
    *last = ngx_current_msec ? ngx_current_msec : 1;
    return 1;
}

/* nchan's completion callback, wrapped: a frame hub-router could not take is answered here. */
static ngx_int_t gate_post_subrequest(ngx_http_request_t *r, void *data, ngx_int_t rc)
{
    static ngx_msec_t logged;
    gate_ctx_t *ctx = data;
    if (!ctx->answered &&
        (rc == NGX_ERROR || rc == NGX_HTTP_INTERNAL_SERVER_ERROR || rc == NGX_HTTP_BAD_GATEWAY ||
         rc == NGX_HTTP_SERVICE_UNAVAILABLE || rc == NGX_HTTP_GATEWAY_TIME_OUT)) {
        if (gate_log_due(&logged))
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "frame gate: hub-router unreachable (%i): frames get an error ack", rc);
        ctx->err_name = "InternalServerError";
        ngx_cpystrn((u_char *)ctx->err_msg, (u_char *)"the hub is unavailable; try again",
                    sizeof ctx->err_msg);
        if (gate_reply(r, ctx) == NGX_OK) rc = NGX_OK;
    }
    if (ctx->socket != NULL && !ctx->done) {
        ctx->done = 1;
        gate_socket_frame_done(ctx->socket);
    }
    gate_completing++;
    rc = ctx->nchan_handler(r, ctx->nchan_data, rc);
    gate_completing--;
    return rc;
}

/* ---- back-pressure: the client sockets ---------------------------------------------------- */

static ssize_t gate_recv(ngx_connection_t *c, u_char *buf, size_t size);
static void gate_read_handler(ngx_event_t *rev);

static gate_socket_t *gate_socket_of(ngx_connection_t *c)
{
    if (gate_sockets == NULL) return NULL;
    return gate_sockets[c - ngx_cycle->connections];
}

static void gate_socket_release(gate_socket_t *s)
{
    if (--s->refs > 0) return;
    if (s->stall.timer_set) ngx_del_timer(&s->stall);
    if (s->hold.timer_set) ngx_del_timer(&s->hold);
    if (s->tick.timer_set) ngx_del_timer(&s->tick);
    ngx_free(s);
}

/* Reads the socket again: epoll is edge-triggered and the bytes left in the kernel bring no new
 * edge, so the read event is posted. */
static void gate_socket_wake(gate_socket_t *s)
{
    if (s->c == NULL) return;
    s->c->read->ready = 1;
    ngx_post_event(s->c->read, &ngx_posted_events);
}

static void gate_socket_resume(gate_socket_t *s)
{
    s->paused = 0;
    if (s->stall.timer_set) ngx_del_timer(&s->stall);
    gate_socket_wake(s);
}

/* The client's close reaches nchan now (its queue is empty, or GATE_HOLD_MS passed). */
static void gate_socket_let_close(gate_socket_t *s)
{
    unsigned eof = s->held_eof;
    s->held_eof = 0;
    s->held_close = 0;
    s->let_close = 1;
    if (s->hold.timer_set) ngx_del_timer(&s->hold);
    if (s->c == NULL) return;
    if (eof) s->c->read->pending_eof = 1;
    gate_socket_wake(s);
}

/* One of the socket's frames was answered (by hub-router or by the gate). */
static void gate_socket_frame_done(gate_socket_t *s)
{
    if (s->queued > 0) s->queued--;
    if (s->c == NULL) return;
    if (s->paused) {
        if (s->queued <= GATE_QUEUE_RESUME)
            gate_socket_resume(s);
        else
            ngx_add_timer(&s->stall, GATE_STALL_MS); /* progress: the stall clock starts over */
    }
    if ((s->held_eof || s->held_close) && s->queued == 0) gate_socket_let_close(s);
}

/* A socket's timer ran out with frames unanswered: one warning per GATE_LOG_EVERY_MS at most
 * (logged: when this kind of timer last warned), "a <state> socket's <n> frames <how> <ms> ms:
 * <then>". */
static void gate_timer_warn(ngx_msec_t *logged, const gate_socket_t *s, const char *state,
                            const char *how, int ms, const char *then)
{
    if (gate_log_due(logged))
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "frame gate: a %s socket's %ui frames %s %d ms: %s", state, s->queued, how,
                      ms, then);
}

/* A paused socket made no progress for GATE_STALL_MS: it is read again. */
static void gate_stall_handler(ngx_event_t *ev)
{
    static ngx_msec_t logged;
    gate_socket_t *s = ev->data;
    gate_stats.stalls++;
    gate_timer_warn(&logged, s, "paused", "made no progress in", GATE_STALL_MS, "reading it again");
    s->queued = 0;
    gate_socket_resume(s);
}

/* A closed socket's frames were not answered within GATE_HOLD_MS: it closes, nchan drops them. */
static void gate_hold_handler(ngx_event_t *ev)
{
    static ngx_msec_t logged;
    gate_socket_t *s = ev->data;
    gate_stats.expired++;
    gate_timer_warn(&logged, s, "closed", "were not answered within", GATE_HOLD_MS,
                    "nchan drops them");
    gate_socket_let_close(s);
}

/* A throttled socket's second is over: it is read again (unless paused for another reason). */
static void gate_tick_handler(ngx_event_t *ev)
{
    gate_socket_t *s = ev->data;
    s->throttled = 0;
    if (!s->paused && !s->held_eof) gate_socket_wake(s);
}

/* The client connection's recv while the gate watches it: counts the data frames nchan reads
 * (nchan reads a frame's header, then exactly its payload, then queues it), and says NGX_AGAIN
 * while the socket is paused, so nchan keeps its place and waits for a read event. */
static ssize_t gate_recv(ngx_connection_t *c, u_char *buf, size_t size)
{
    gate_socket_t *s = gate_socket_of(c);
    if (s == NULL) return NGX_ERROR; /* cannot happen: gate_socket_cleanup restores c->recv */
    if (c->read->handler != gate_read_handler) return s->recv(c, buf, size); /* lingering close */
    if (!s->paused && !s->held_eof && s->queued >= GATE_QUEUE_MAX) {
        s->paused = 1;
        gate_stats.pauses++;
        ngx_add_timer(&s->stall, GATE_STALL_MS);
    }
    /* nchan's message ids (frame_gate.h): at most GATE_FRAMES_PER_SEC frames a second */
    if (!s->throttled && gate_persec_full(&s->persec, ngx_time(), GATE_FRAMES_PER_SEC)) {
        s->throttled = 1;
        gate_stats.throttles++;
        ngx_time_t *now = ngx_timeofday();
        ngx_add_timer(&s->tick, 1001 - now->msec); /* just past the next second */
    }
    if (s->paused || s->held_eof || s->throttled) {
        c->read->ready = 0;
        return NGX_AGAIN;
    }
    if (size == 0) return s->recv(c, buf, size);
    /* A close frame waits for the socket's queued frames too: nchan aborts the queue when it
     * reads one (the frames' fake connections leak). At a frame boundary with frames queued, the
     * gate reads the next frame's first byte itself (nchan reads each frame part exactly, so no
     * byte of that frame is nchan's yet) and keeps it while it is a close frame's. */
    if (!s->peeked && s->queued > 0 && !s->let_close && s->scan.have == 0 && !s->scan.in_payload) {
        ssize_t k = s->recv(c, &s->peek, 1);
        if (k <= 0) return k; /* nothing yet, the end, an error: as nchan would have seen it */
        s->peeked = 1;
    }
    if (s->peeked && (s->peek & 0x0f) == 0x8 && s->queued > 0 && !s->let_close) {
        if (!s->held_close) {
            s->held_close = 1;
            gate_stats.held++;
            ngx_add_timer(&s->hold, GATE_HOLD_MS);
        }
        c->read->ready = 0;
        return NGX_AGAIN;
    }
    size_t off = 0;
    if (s->peeked) { /* the kept byte first, then what the socket has */
        buf[0] = s->peek;
        s->peeked = 0;
        off = 1;
        if (s->held_close) {
            s->held_close = 0;
            if (s->hold.timer_set) ngx_del_timer(&s->hold);
        }
    }
    ssize_t n = off < size ? s->recv(c, buf + off, size - off) : 0;
    if (off > 0) n = n > 0 ? n + (ssize_t)off : (ssize_t)off;
    if (n > 0) {
        size_t frames = gate_wsscan_feed(&s->scan, buf, (size_t)n);
        s->queued += frames;
        if (s->queued > gate_stats.queue_max) gate_stats.queue_max = s->queued;
        uint32_t sec = gate_persec_add(&s->persec, ngx_time(), frames);
        if (sec > gate_stats.sec_max) gate_stats.sec_max = sec;
    }
    return n;
}

/* The client connection's read handler: a close (EPOLLRDHUP: FIN or reset) while frames are
 * queued waits until they are answered, since nchan never runs nor frees the queued frames of a
 * socket that closes (their fake connections would leak). */
static void gate_read_handler(ngx_event_t *rev)
{
    ngx_connection_t *c = rev->data;
    gate_socket_t *s = gate_socket_of(c);
    if (s != NULL && rev->pending_eof && !c->close && !s->let_close &&
        (s->held_eof || s->queued > 0)) {
        if (!s->held_eof) {
            s->held_eof = 1;
            gate_stats.held++;
            ngx_add_timer(&s->hold, GATE_HOLD_MS);
        }
        rev->pending_eof = 0;
        return;
    }
    if (s != NULL) s->read_handler(rev);
}

/* The socket's request ends: give the connection its own recv and read handler back. */
static void gate_socket_cleanup(void *data)
{
    gate_socket_t *s = data;
    ngx_connection_t *c = s->c;
    if (c != NULL) {
        if (c->recv == gate_recv) c->recv = s->recv;
        if (c->read->handler == gate_read_handler) c->read->handler = s->read_handler;
        if (gate_sockets[c - ngx_cycle->connections] == s)
            gate_sockets[c - ngx_cycle->connections] = NULL;
        s->c = NULL;
    }
    if (s->stall.timer_set) ngx_del_timer(&s->stall);
    if (s->hold.timer_set) ngx_del_timer(&s->hold);
    if (s->tick.timer_set) ngx_del_timer(&s->tick);
    gate_socket_release(s);
}

/* A client socket's request (chatr_gate_socket), before nchan's handshake: watch its reads. Its
 * ctx slot is what the frames' fake requests see (nchan copies the socket's request, ctx array
 * included, into each), so a frame finds its socket as the ctx of its subrequest's parent. */
static ngx_int_t gate_socket_attach(ngx_http_request_t *r)
{
    ngx_connection_t *c = r->connection;
    if (gate_sockets == NULL || c->recv == gate_recv || c->fd == (ngx_socket_t)-1 ||
        ngx_http_get_module_ctx(r, ngx_http_chatr_gate_module) != NULL)
        return NGX_OK;
#if (NGX_HTTP_V2)
    if (r->stream) return NGX_OK; /* WebSockets are HTTP/1.1 here */
#endif
    ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
    gate_socket_t *s = ngx_calloc(sizeof(*s), c->log);
    if (cln == NULL || s == NULL) {
        if (s) ngx_free(s);
        return NGX_ERROR;
    }
    s->magic = GATE_SOCKET_MAGIC;
    s->refs = 1;
    s->c = c;
    s->recv = c->recv;
    s->read_handler = c->read->handler;
    ngx_event_t *timers[3] = {&s->stall, &s->hold, &s->tick};
    ngx_event_handler_pt handlers[3] = {gate_stall_handler, gate_hold_handler, gate_tick_handler};
    for (int i = 0; i < 3; i++) {
        timers[i]->handler = handlers[i];
        timers[i]->data = s;
        timers[i]->log = ngx_cycle->log;
        timers[i]->cancelable = 1;
    }
    c->recv = gate_recv;
    c->read->handler = gate_read_handler;
    gate_sockets[c - ngx_cycle->connections] = s;
    ngx_http_set_ctx(r, s, ngx_http_chatr_gate_module);
    cln->handler = gate_socket_cleanup;
    cln->data = s;
    return NGX_OK;
}

/* The socket a frame subrequest came from: its parent is nchan's fake request, a copy of the
 * socket's request (NULL once nchan aborted the socket's queue: it gives those a fresh ctx). */
static gate_socket_t *gate_frame_socket(ngx_http_request_t *sr)
{
    if (sr->parent == NULL) return NULL;
    gate_socket_t *s = ngx_http_get_module_ctx(sr->parent, ngx_http_chatr_gate_module);
    return s != NULL && s->magic == GATE_SOCKET_MAGIC ? s : NULL;
}

/* ---- the phase handler -------------------------------------------------------------------- */

static void gate_resume(ngx_event_t *ev)
{
    ngx_http_request_t *r = ev->data;
    ngx_connection_t *c = r->connection;
    gate_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_chatr_gate_module);
    ctx->state = GATE_READY;
    r->write_event_handler = ngx_http_core_run_phases;
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}

static void gate_cleanup(void *data)
{
    gate_ctx_t *ctx = data;
    if (ctx->ev.posted) {
        ngx_delete_posted_event(&ctx->ev);
    }
    if (ctx->socket != NULL) {
        if (!ctx->done) gate_socket_frame_done(ctx->socket);
        gate_socket_release(ctx->socket);
        ctx->socket = NULL;
    }
}

/* First call: wrap nchan's callback and defer one tick (unless queued behind a completing frame).
 * Then: the rate and the reserve decide who answers, hub-router or the gate. */
static ngx_int_t gate_handler(ngx_http_request_t *r)
{
    static ngx_msec_t overload_logged, rate_logged;
    gate_loc_conf_t *lc = ngx_http_get_module_loc_conf(r, ngx_http_chatr_gate_module);
    if (r == r->main && lc->socket == 1)
        return gate_socket_attach(r) == NGX_OK ? NGX_DECLINED : NGX_ERROR;
    if (lc->key == NULL || r == r->main || r->post_subrequest == NULL) return NGX_DECLINED;
    gate_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_chatr_gate_module);
    if (ctx == NULL) {
        ngx_pool_cleanup_t *cln = ngx_pool_cleanup_add(r->pool, 0);
        ctx = ngx_pcalloc(r->pool, sizeof(*ctx));
        if (ctx == NULL || cln == NULL) return NGX_ERROR;
        ngx_http_set_ctx(r, ctx, ngx_http_chatr_gate_module);
        ctx->nchan_handler = r->post_subrequest->handler;
        ctx->nchan_data = r->post_subrequest->data;
        r->post_subrequest->handler = gate_post_subrequest;
        r->post_subrequest->data = ctx;
        ctx->ev.handler = gate_resume;
        ctx->ev.data = r;
        ctx->ev.log = r->connection->log;
        cln->handler = gate_cleanup;
        cln->data = ctx;
        ctx->socket = gate_frame_socket(r);
        if (ctx->socket != NULL) ctx->socket->refs++;
        if (gate_completing > 0 && gate_completing < GATE_SYNC_CHAIN) {
            ctx->state = GATE_READY; /* queued behind the frame now completing: go on */
        } else {
            ctx->state = GATE_WAITING;
            ngx_post_event(&ctx->ev, &ngx_posted_next_events);
            return NGX_AGAIN;
        }
    }
    if (ctx->state == GATE_WAITING) return NGX_AGAIN;

    ngx_str_t key;
    if (ngx_http_complex_value(r, lc->key, &key) != NGX_OK) return NGX_ERROR;
    gate_verdict v = {.allowed = 1, .left = CHATR_RATE_BURST};
    if (key.len > 0) v = gate_take_shared(lc->zone, &key);
    ngx_uint_t free_conns = ngx_cycle->free_connection_n;
    /* when nchan read the frame (ngx_http_subrequest stamps the subrequest) */
    ngx_msec_int_t queued =
        (ngx_msec_int_t)((ngx_time() - r->start_sec) * 1000 +
                         ((ngx_msec_int_t)ngx_timeofday()->msec - (ngx_msec_int_t)r->start_msec));
    if (!v.allowed) {
        if (v.first_refusal && gate_log_due(&rate_logged))
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "frame gate: connection \"%V\" over %d frames/s: answering the excess",
                          &key, CHATR_RATE_PER_SEC);
        ctx->err_name = "TooManyRequests";
        ngx_snprintf((u_char *)ctx->err_msg, sizeof ctx->err_msg - 1,
                     "over %d messages per second%Z", CHATR_RATE_PER_SEC);
    } else if (free_conns < ngx_cycle->connection_n / GATE_CRITICAL_DIVISOR ||
               (free_conns < ngx_cycle->connection_n / GATE_RESERVE_DIVISOR &&
                (v.left < CHATR_RATE_BURST - CHATR_RATE_PER_SEC || queued >= GATE_QUEUED_MS))) {
        if (gate_log_due(&overload_logged))
            ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                          "frame gate: %ui of %ui connections free: answering frames itself",
                          free_conns, ngx_cycle->connection_n);
        ctx->err_name = "TooManyRequests";
        ngx_cpystrn((u_char *)ctx->err_msg, (u_char *)"the gateway is overloaded; try again",
                    sizeof ctx->err_msg);
    } else {
        return NGX_DECLINED; /* on to hub-router */
    }
    r->content_handler = gate_answer_handler;
    return NGX_DECLINED;
}

/* ---- configuration ------------------------------------------------------------------------ */

static char *gate_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    gate_loc_conf_t *lc = conf;
    ngx_str_t *value = cf->args->elts;
    ngx_http_compile_complex_value_t ccv;
    ngx_http_complex_value_t **slots[2] = {&lc->key, &lc->protocol};
    if (lc->key != NULL) return "is duplicate";
    for (int i = 0; i < 2; i++) {
        *slots[i] = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (*slots[i] == NULL) return NGX_CONF_ERROR;
        ngx_memzero(&ccv, sizeof(ccv));
        ccv.cf = cf;
        ccv.value = &value[i + 1];
        ccv.complex_value = *slots[i];
        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) return NGX_CONF_ERROR;
    }
    ngx_str_t name = ngx_string(GATE_ZONE_NAME);
    size_t size = ngx_align(sizeof(gate_table), ngx_pagesize) + 16 * ngx_pagesize;
    lc->zone = ngx_shared_memory_add(cf, &name, size, &ngx_http_chatr_gate_module);
    if (lc->zone == NULL) return NGX_CONF_ERROR;
    lc->zone->init = gate_zone_init;
    return NGX_CONF_OK;
}

static void *gate_create_loc_conf(ngx_conf_t *cf)
{
    gate_loc_conf_t *lc = ngx_pcalloc(cf->pool, sizeof(gate_loc_conf_t));
    if (lc == NULL) return NULL;
    lc->socket = NGX_CONF_UNSET;
    return lc;
}

static char *gate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    gate_loc_conf_t *prev = parent, *conf = child;
    if (conf->key == NULL) {
        conf->key = prev->key;
        conf->protocol = prev->protocol;
        conf->zone = prev->zone;
    }
    ngx_conf_merge_value(conf->socket, prev->socket, 0);
    return NGX_CONF_OK;
}

static ngx_int_t gate_free_connections(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                                       uintptr_t data)
{
    u_char *p = ngx_pnalloc(r->pool, NGX_ATOMIC_T_LEN);
    if (p == NULL) return NGX_ERROR;
    v->len = ngx_sprintf(p, "%ui", ngx_cycle->free_connection_n) - p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;
    return NGX_OK;
}

static ngx_int_t gate_stats_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
                                     uintptr_t data)
{
    /* Slots in use without a socket are nchan's fake connections (queued frames, hooks in
     * flight): free slots have fd -1 too, so count the ones in use with a socket instead. */
    ngx_uint_t sockets = 0;
    for (ngx_uint_t i = 0; i < ngx_cycle->connection_n; i++)
        if (ngx_cycle->connections[i].fd != (ngx_socket_t)-1) sockets++;
    ngx_uint_t fake = ngx_cycle->connection_n - ngx_cycle->free_connection_n - sockets;
    size_t len = sizeof("fake= queue_max= pauses= held= expired= stalls= throttles= sec_max=") +
                 8 * NGX_ATOMIC_T_LEN;
    u_char *p = ngx_pnalloc(r->pool, len);
    if (p == NULL) return NGX_ERROR;
    v->len = ngx_snprintf(p, len,
                          "fake=%ui queue_max=%ui pauses=%ui held=%ui expired=%ui stalls=%ui "
                          "throttles=%ui sec_max=%ui",
                          fake, gate_stats.queue_max, gate_stats.pauses, gate_stats.held,
                          gate_stats.expired, gate_stats.stalls, gate_stats.throttles,
                          gate_stats.sec_max) -
             p;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    v->data = p;
    return NGX_OK;
}

static ngx_int_t gate_add_variables(ngx_conf_t *cf)
{
    ngx_str_t names[2] = {ngx_string("chatr_free_connections"), ngx_string("chatr_gate_stats")};
    ngx_http_get_variable_pt getters[2] = {gate_free_connections, gate_stats_variable};
    for (int i = 0; i < 2; i++) {
        ngx_http_variable_t *var = ngx_http_add_variable(cf, &names[i], NGX_HTTP_VAR_NOCACHEABLE);
        if (var == NULL) return NGX_ERROR;
        var->get_handler = getters[i];
    }
    return NGX_OK;
}

static ngx_int_t gate_init_process(ngx_cycle_t *cycle)
{
    gate_sockets = ngx_calloc(cycle->connection_n * sizeof(gate_socket_t *), cycle->log);
    return gate_sockets == NULL ? NGX_ERROR : NGX_OK;
}

static ngx_int_t gate_init(ngx_conf_t *cf)
{
    ngx_http_core_main_conf_t *cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    ngx_http_handler_pt *h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) return NGX_ERROR;
    *h = gate_handler;
    return NGX_OK;
}
