/* hub_loop.c: the hub programs' FastCGI accept loop. Like fn_run (runtime/fn.c) but without
 * the function declarations, and a handler may leave work to run after the response is sent
 * (a webhook that must not hold up the socket's next hook). Every nchan hook but `closed` puts
 * its connection on the orphan watch list, and the loop wakes up for what is due there
 * (hub_orphan.c): it waits for connections with fn_accept (runtime/fn.c: epoll on a non-blocking
 * listening socket). EPOLLEXCLUSIVE wakes one process of the pool per connection, not all of them:
 * with poll() every frame woke the whole pool, and all but one went back to sleep after a failed
 * accept (on this virtual machine a system call costs ~20 us, and that herd was most of the
 * router's CPU). A stop signal ends the loop only between requests, after draining the queue. */
#include "hub_loop.h"
#include "hub.h"
#include "hub_conf.h"
#include "hub_orphan.h"
#include "fn.h"
#include "metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <sodium.h>

/* Connections one process serves at once (docs/performance.md#kept-fastcgi-connections): more
 * than nginx keeps per worker (http.d/hub_router.conf.in), so a worker never waits for a slot. */
#define HUB_LOOP_CONNS FN_ACCEPT_MAX

/* hub_loop_idle: one callback a program runs every every_ms, between requests. */
static void (*idle_fn)(void);
static long idle_every_ms;
static long long idle_due;

void hub_loop_idle(void (*fn)(void), long every_ms)
{
    idle_fn = fn;
    idle_every_ms = every_ms > 0 ? every_ms : 1000;
    idle_due = fn_mono_ms() + idle_every_ms;
}

static void idle_run(void)
{
    if (!idle_fn || fn_mono_ms() < idle_due) return;
    idle_fn();
    idle_due = fn_mono_ms() + idle_every_ms;
}

/* ms until the idle callback is due (-1: none). */
static long idle_next_ms(void)
{
    if (!idle_fn) return -1;
    long long d = idle_due - fn_mono_ms();
    return d < 0 ? 0 : (long)d;
}

/* ms until the next orphan check or idle callback is due (-1: none). */
static long next_due_ms(void)
{
    long ms = hub_orphan_next_ms(), idle = idle_next_ms();
    return idle >= 0 && (ms < 0 || idle < ms) ? idle : ms;
}

int hub_loop_run(const char *name, hub_loop_handler handler, void (*on_start)(void))
{
    const char *logfile = fn_settings_get()->log_file;
    hub_conf_get(); /* the hub's settings, before the first request */
    fn_log_as(name);
    if (sodium_init() < 0) return 1;
    /* fn_log writes to stderr, which spawn-fcgi children do not have: point it at the log. */
    if (logfile && *logfile && !freopen(logfile, "a", stderr)) return 1;
    setvbuf(stderr, NULL, _IOLBF, 0);
    fn_signals_init(); /* a stop finishes the request in hand and drains the queue (fn.c) */
    if (FCGX_Init() != 0) {
        fn_log("FCGX_Init failed");
        return 1;
    }
    if (on_start) on_start();
    metrics_process_started(name);
    /* One slot per nginx connection this process holds: nginx keeps hub-router's connections
     * open (http.d/hub_router.conf.in), and every slot may hold one. */
    static FCGX_Request slots[HUB_LOOP_CONNS];
    for (int i = 0; i < HUB_LOOP_CONNS; i++)
        FCGX_InitRequest(&slots[i], FCGI_LISTENSOCK_FILENO, 0);
    fn_log("started");
    for (;;) {
        /* fn_accept_any waits with one poll on the kept connections and on the listening socket
         * (epoll, EPOLLEXCLUSIVE, non-blocking): whoever loses the race for a connection is
         * back here instead of blocking in accept() past its orphan checks. */
        int got = fn_accept_any(slots, HUB_LOOP_CONNS, next_due_ms());
        if (got == -1) break;
        if (got == FN_ACCEPT_NONE) {
            hub_orphan_tick();
            idle_run();
            continue;
        }
        FCGX_Request *r = &slots[got];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fn_req req = {0};
        fn_res res = {0};
        hub_loop_after after = {0};
        fn_req_start(&req, r);
        /* CHATR_REQUEST_ID on real requests (hub_params.conf); a hook has none (its $request_id
         * is its socket's, the same for every frame), so it gets a fresh one. */
        fn_request_id_set(fn_param(&req, "CHATR_REQUEST_ID"));
        /* Over the limit (413) the handler still runs, with a truncated body whose body_len is
         * above HUB_MAX_FRAME: the router answers an oversized frame with a close reason. */
        int rc = fn_read_body(&req, HUB_MAX_FRAME + 64 * 1024);
        if (rc == 500)
            fn_error(&res, rc, "out of memory");
        else if (handler(&req, &res, &after) != 0 || res.status == 0) {
            if (res.status < 500) fn_error(&res, 500, "internal error");
        }
        fn_write_response(r, &req, &res);
        char rid[HUB_MAX_CONN_ID + 1];
        snprintf(rid, sizeof rid, "%s",
                 fn_param(&req, "REQUEST_ID") ? fn_param(&req, "REQUEST_ID") : "-");
        const char *hook = fn_param(&req, "HUB_EVENT");
        int watch = hook && strcmp(hook, "closed") != 0 && strcmp(rid, "-") != 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        /* One structured line per request (docs/observability.md, "Logs"): conn is the
         * connection a hook or handshake acts for (REQUEST_ID there), never a metric label. */
        char st[8], dur[32];
        snprintf(st, sizeof st, "%d", res.status);
        snprintf(dur, sizeof dur, "%.1f", ms);
        fn_log_request("method", req.method, "path", req.path, "hook", hook, "status", st, "ms",
                       dur, "req", fn_request_id(), "conn",
                       hook || fn_param(&req, "HUB_NAME") ? rid : NULL, "note",
                       res.log_note[0] ? res.log_note : NULL, NULL);
        FCGX_Finish_r(r); /* the parameters are gone after this (a kept connection stays) */
        if (after.fn) after.fn(after.arg);
        free(req.body);
        free(res.body);
        if (watch) hub_orphan_watch(rid);
        hub_orphan_tick();
        idle_run();
    }
    fn_log("stopped");
    return 0;
}
