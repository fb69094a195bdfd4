/* fn.c: the FastCGI accept loop, request parsing and response writing of the function runtime. */
#include "fn.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <fastcgi.h>
#include <fcgiapp.h>
#include <sodium.h>

#include "metrics.h"
#include "wps_client.h"

long long fn_mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static volatile sig_atomic_t stopping;
static sigset_t wait_mask; /* the signal mask while waiting for a connection: TERM/INT let in */
static const char *fn_name = "fn";
static FILE *log_out; /* CHATR_LOG_FILE, or stderr */

/* SIGTERM/SIGINT/SIGQUIT are blocked except while a process waits for its next connection
 * (fn_accept), so a stop never cuts a request in half: the request in hand finishes, then the
 * process drains the connections already queued on the listening socket and exits
 * (docs/operations.md). */
static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

void fn_signals_init(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL); /* before FCGX_Init, which keeps a handler it finds */
    sigaction(SIGINT, &sa, NULL);
    /* Debian's multiwatch 1.0.0 stops its workers with SIGQUIT whatever its -s says (measured:
     * `multiwatch -s TERM` sends QUIT), which killed them at once instead of draining. */
    sigaction(SIGQUIT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGQUIT);
    sigprocmask(SIG_BLOCK, &block, &wait_mask);
    sigdelset(&wait_mask, SIGTERM);
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGQUIT);
}

/* Waits up to timeout_ms (-1: no limit) until the listening socket (fd 0, shared by the pool)
 * has a connection or a stop signal arrives, with the stop signals let in only for the wait.
 * EPOLLEXCLUSIVE wakes one process of the pool per connection, not all of them. */
static int listen_ep = -1;

/* Once: the listening socket non-blocking (a process that loses the race for a connection gets
 * EAGAIN instead of sleeping in accept() with the stop signals blocked), and listen_ep, an epoll
 * set holding it with EPOLLEXCLUSIVE (-1 when epoll is unavailable). */
static void listen_setup(void)
{
    static int ready;
    if (ready) return;
    ready = 1;
    int fl = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL);
    if (fl >= 0) fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, fl | O_NONBLOCK);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, FCGI_LISTENSOCK_FILENO, &ev) != 0) {
        close(ep);
        ep = -1;
    }
    if (ep < 0) fn_log("epoll unavailable: %s", strerror(errno));
    listen_ep = ep;
}

static int wait_readable(long timeout_ms)
{
    listen_setup();
    int ep = listen_ep;
    int timeout = timeout_ms < 0 ? -1 : timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
    if (ep >= 0) {
        struct epoll_event got;
        return epoll_pwait(ep, &got, 1, timeout, &wait_mask) != 0;
    }
    struct pollfd p = {.fd = FCGI_LISTENSOCK_FILENO, .events = POLLIN};
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
    return ppoll(&p, 1, timeout < 0 ? NULL : &ts, &wait_mask) != 0;
}

/* Closes a kept connection that nginx closed (libfcgi's graceful close would wait for it). */
static void drop_kept(FCGX_Request *r)
{
    FCGX_Free(r, 0);
    close(r->ipcFd);
    r->ipcFd = -1;
}

static void count_connection(void)
{
    char l[METRICS_MAX_LABELS];
    metrics_inc("chatr_fastcgi_connections_total",
                metrics_labels(l, sizeof l, "program", fn_name, NULL));
}

/* A connection nginx keeps: 1 when a request is in it, -1 when nginx closed it with nothing
 * left in it, 0 after timeout_ms (or a signal) with neither. */
static int wait_kept(int fd, long timeout_ms)
{
    int timeout = timeout_ms < 0 ? -1 : timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms;
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
    if (ppoll(&p, 1, timeout < 0 ? NULL : &ts, &wait_mask) <= 0) return 0;
    int pending = 0;
    if ((p.revents & (POLLRDHUP | POLLHUP | POLLERR)) &&
        !(ioctl(fd, FIONREAD, &pending) == 0 && pending > 0))
        return -1;
    return 1;
}

int fn_accept(struct FCGX_Request *r, long timeout_ms)
{
    /* A connection nginx keeps open (an upstream with keepalive and fastcgi_keep_conn: the
     * functions' upstreams, docs/performance.md#keeping-fastcgi-connections-open) is the only
     * one this process serves while nginx keeps it; its next request is waited for here rather
     * than in libfcgi's blocking read, so a stop still gets in. A stopping process does not
     * close it (nginx may be writing a request into it, and it never resends a POST it has
     * written): it answers what comes with Connection: close (fn_write_response) and waits, in
     * steps, until nginx closes it, at the latest after the upstream's keepalive_timeout. */
    if (r->ipcFd >= 0) {
        int got = wait_kept(r->ipcFd, stopping ? FN_DRAIN_POLL_MS : timeout_ms);
        if (got == 0) return 0;
        if (got < 0) drop_kept(r); /* then on to the listening socket */
    }
    if (r->ipcFd < 0 && !stopping && !wait_readable(timeout_ms)) return 0;
    int fresh = r->ipcFd < 0;
    for (;;) {
        int rc = FCGX_Accept_r(r);
        if (rc == 0 && stopping) r->keepConnection = 0; /* closed after this response */
        if (rc == 0) {
            if (fresh) count_connection();
            return 1;
        }
        /* Nothing queued: another process took it, or, once stopping, the queue is drained. */
        if (rc == -EAGAIN || rc == -EWOULDBLOCK) return stopping ? -1 : 0;
        if (rc == -EINTR) continue;
        fn_log("accept failed: %s", strerror(-rc));
        return -1;
    }
}

int fn_accept_any(FCGX_Request *rs, int n, long timeout_ms)
{
    static int next; /* round robin over the kept connections */
    struct pollfd p[FN_ACCEPT_MAX + 1];
    int slot[FN_ACCEPT_MAX + 1], np = 0, free_slot = -1, kept = 0;
    if (n > FN_ACCEPT_MAX) n = FN_ACCEPT_MAX;
    listen_setup();
    int ep = listen_ep; /* polled as one fd: ready when the listening socket woke this process */
    for (int k = 0; k < n; k++) {
        int i = (next + k) % n;
        if (rs[i].ipcFd >= 0) {
            p[np] = (struct pollfd){.fd = rs[i].ipcFd, .events = POLLIN | POLLRDHUP};
            slot[np++] = i;
            kept++;
        } else if (free_slot < 0) {
            free_slot = i;
        }
    }
    /* New connections only into a free slot. Closing an idle kept connection to make room
     * would race with nginx writing a frame into it (measured: frames lost). Without a free
     * slot the connection waits for another process, or for nginx to close one of ours: it
     * keeps at most `keepalive` idle per worker, fewer than the pool's slots
     * (http.d/hub_router.conf.in), and closes the rest after their answer. */
    if (free_slot >= 0) {
        p[np] = (struct pollfd){.fd = ep >= 0 ? ep : FCGI_LISTENSOCK_FILENO, .events = POLLIN};
        slot[np++] = -1;
    }
    /* Stopping: kept connections are served until nginx closes them (each answer says
     * Connection: close, fn_write_response; an idle one is closed by the upstream's
     * keepalive_timeout). Closing one ourselves could cut a request nginx is writing. */
    long wait = stopping ? (kept ? FN_DRAIN_POLL_MS : 0) : timeout_ms;
    int timeout = wait < 0 ? -1 : wait > INT_MAX ? INT_MAX : (int)wait;
    struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000L};
    int got = ppoll(p, (nfds_t)np, timeout < 0 ? NULL : &ts, &wait_mask);
    if (got < 0 && errno != EINTR) {
        fn_log("poll failed: %s", strerror(errno));
        return -1;
    }
    for (int k = 0; got > 0 && k < np; k++) {
        if (!p[k].revents) continue;
        int i = slot[k], fresh = i < 0;
        int pending = 0;
        if (!fresh && (p[k].revents & (POLLRDHUP | POLLHUP | POLLERR)) &&
            !(ioctl(rs[i].ipcFd, FIONREAD, &pending) == 0 && pending > 0)) {
            drop_kept(&rs[i]); /* nginx closed it, with no request left in it */
            if (free_slot < 0) free_slot = i;
            continue;
        }
        if (fresh) i = free_slot; /* a new connection */
        next = (i + 1) % n;
        for (;;) {
            /* a kept connection: its next request (libfcgi closes it at EOF and then tries
             * the non-blocking listening socket); a free slot: accept */
            int rc = FCGX_Accept_r(&rs[i]);
            if (rc == 0) {
                if (fresh) count_connection();
                return i;
            }
            if (rc == -EINTR) continue;
            if (rc == -EAGAIN || rc == -EWOULDBLOCK) break;
            fn_log("accept failed: %s", strerror(-rc));
            return -1;
        }
    }
    if (!stopping) return FN_ACCEPT_NONE;
    /* Stopping: done when nothing was readable and nginx holds no connection of ours. */
    return got > 0 || kept ? FN_ACCEPT_NONE : -1;
}

void fn_log(const char *fmt, ...)
{
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* Keep each entry on one line, whatever it quotes. */
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    FILE *out = log_out ? log_out : stderr;
    static pid_t pid; /* once: getpid is a system call on every log line, and nothing forks */
    if (!pid) pid = getpid();
    fprintf(out, "%s.%03ldZ %s[%d] %s\n", ts, now.tv_nsec / 1000000, fn_name, (int)pid, line);
    fflush(out);
}

static char request_id[FN_MAX_REQUEST_ID + 1];

void fn_log_as(const char *name)
{
    fn_name = name;
}

const char *fn_request_id(void)
{
    return request_id[0] ? request_id : "-";
}

void fn_request_id_set(const char *id)
{
    size_t n =
        id ? strspn(id, "0123456789abcdefABCDEFGHIJKLMNOPQRSTUVWXYZghijklmnopqrstuvwxyz-") : 0;
    if (n > 0 && n <= FN_MAX_REQUEST_ID && id[n] == '\0') {
        memcpy(request_id, id, n + 1);
    } else {
        /* A fresh id per request (the hooks have none of their own) without a getrandom call
         * each: a ChaCha20 stream under a per-process random key, the request's number as
         * nonce (docs/performance.md#database-round-trips-and-the-rest). */
        static unsigned char key[crypto_stream_chacha20_ietf_KEYBYTES];
        static uint64_t counter;
        if (counter++ == 0) randombytes_buf(key, sizeof key);
        unsigned char raw[16], nonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {0};
        memcpy(nonce, &counter, sizeof counter);
        crypto_stream_chacha20_ietf(raw, sizeof raw, nonce, key);
        sodium_bin2hex(request_id, sizeof request_id, raw, sizeof raw);
    }
    wps_request_id_set(request_id);
}

/* Appends ` key=value` to line (at o, room len), quoting the value when it must be. */
static size_t kv_put(char *line, size_t o, size_t len, const char *k, const char *v)
{
    int plain = *v != '\0';
    for (const unsigned char *p = (const unsigned char *)v; *p && plain; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f) plain = 0;
    int n = snprintf(line + o, len - o, " %s=%s", k, plain ? v : "\"");
    if (n < 0 || (size_t)n >= len - o) return o;
    o += (size_t)n;
    if (plain) return o;
    for (const unsigned char *p = (const unsigned char *)v; *p && o + 6 < len; p++) {
        if (*p == '"' || *p == '\\') {
            line[o++] = '\\';
            line[o++] = (char)*p;
        } else if (*p < ' ' || *p == 0x7f) {
            o += (size_t)snprintf(line + o, len - o, "\\x%02x", *p);
        } else {
            line[o++] = (char)*p; /* UTF-8 passes as is */
        }
    }
    if (o + 1 < len) line[o++] = '"';
    line[o] = '\0';
    return o;
}

void fn_log_request(const char *first_key, ...)
{
    char line[1900] = "request";
    size_t o = strlen(line);
    va_list ap;
    va_start(ap, first_key);
    for (const char *k = first_key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (v) o = kv_put(line, o, sizeof line, k, v);
    }
    va_end(ap);
    fn_log("%s", line);
}

const char *fn_param(const fn_req *req, const char *fcgi_name)
{
    return FCGX_GetParam(fcgi_name, req->envp);
}

const char *fn_header(const fn_req *req, const char *http_name)
{
    char key[128];
    size_t n = strlen(http_name);
    if (strcasecmp(http_name, "Content-Type") == 0) return fn_param(req, "CONTENT_TYPE");
    if (strcasecmp(http_name, "Content-Length") == 0) return fn_param(req, "CONTENT_LENGTH");
    if (n + 6 >= sizeof key) return NULL;
    memcpy(key, "HTTP_", 5);
    for (size_t i = 0; i < n; i++) {
        char c = http_name[i];
        key[5 + i] = c == '-' ? '_' : (char)toupper((unsigned char)c);
    }
    key[5 + n] = '\0';
    return fn_param(req, key);
}

const char *fn_route(const fn_req *req, const char *param)
{
    char key[96];
    if (snprintf(key, sizeof key, "ROUTE_%s", param) >= (int)sizeof key) return NULL;
    const char *v = fn_param(req, key);
    return v && *v ? v : NULL;
}

char *fn_urlencoded_get(const char *s, size_t slen, const char *name, char *buf, size_t buflen)
{
    size_t nlen = strlen(name);
    const char *p = s, *end = s ? s + slen : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        size_t len = amp ? (size_t)(amp - p) : (size_t)(end - p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        char key[128];
        if (klen < sizeof key * 3) { /* an encoded key longer than that cannot match */
            size_t kdec = fn_url_decode(key, sizeof key, p, klen, 1);
            if (kdec == nlen && memcmp(key, name, nlen) == 0) {
                const char *v = eq ? eq + 1 : p + len;
                size_t vlen = eq ? len - klen - 1 : 0;
                if (vlen >= buflen) return NULL; /* encoded length bounds decoded length */
                size_t n = fn_url_decode(buf, buflen, v, vlen, 1);
                return strlen(buf) == n ? buf : NULL; /* a NUL inside is no C string */
            }
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

char *fn_query(const fn_req *req, const char *name, char *buf, size_t buflen)
{
    return req->query ? fn_urlencoded_get(req->query, strlen(req->query), name, buf, buflen) : NULL;
}

char *fn_form(const fn_req *req, const char *name, char *buf, size_t buflen)
{
    const char *ct = fn_header(req, "Content-Type");
    static const char form[] = "application/x-www-form-urlencoded";
    if (!ct || strncasecmp(ct, form, sizeof form - 1) != 0) return NULL;
    if (ct[sizeof form - 1] != '\0' && ct[sizeof form - 1] != ';' && ct[sizeof form - 1] != ' ')
        return NULL;
    return fn_urlencoded_get(req->body, req->body_len, name, buf, buflen);
}

static void res_reset(fn_res *res)
{
    free(res->body);
    memset(res, 0, sizeof *res);
}

static void res_body(fn_res *res, int status, const char *ctype, const char *body, size_t len)
{
    free(res->body);
    res->status = status;
    res->content_type = ctype;
    res->body = malloc(len + 1);
    if (!res->body) {
        res->body_len = 0;
        res->status = 500;
        return;
    }
    memcpy(res->body, body, len);
    res->body[len] = '\0';
    res->body_len = len;
}

void fn_json(fn_res *res, int status, json_object *obj)
{
    size_t len = 0;
    const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN, &len);
    res_body(res, status, "application/json; charset=utf-8", s, len);
    json_object_put(obj);
}

void fn_text(fn_res *res, int status, const char *content_type, const char *body, size_t len)
{
    res_body(res, status, content_type, body, len);
}

void fn_error(fn_res *res, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    fn_json(res, status, o);
    size_t n = strnlen(msg, sizeof res->log_note - 1);
    memcpy(res->log_note, msg, n);
    res->log_note[n] = '\0';
}

void fn_set_header(fn_res *res, const char *name, const char *fmt, ...)
{
    if (res->nheaders >= FN_MAX_HEADERS_OUT) return;
    char *h = res->headers[res->nheaders];
    int n = snprintf(h, FN_MAX_HEADER_OUT_LEN, "%s: ", name);
    if (n < 0 || n >= FN_MAX_HEADER_OUT_LEN) return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(h + n, FN_MAX_HEADER_OUT_LEN - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || n + m >= FN_MAX_HEADER_OUT_LEN || strpbrk(h, "\r\n")) return; /* no splitting */
    res->nheaders++;
}

void fn_no_content(fn_res *res)
{
    res_body(res, 204, NULL, "", 0);
}

json_object *fn_body_json(fn_req *req, fn_res *res)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    int ok = json_tokener_get_error(tok) == json_tokener_success &&
             (size_t)json_tokener_get_parse_end(tok) == req->body_len;
    json_tokener_free(tok);
    if (!ok || !obj || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        fn_error(res, 400, "request body must be a JSON object");
        return NULL;
    }
    return obj;
}

/* Reads the body to EOF (CONTENT_LENGTH may be stale in nchan hooks), up to limit bytes.
 * Returns 0, or 413 when the body is larger than the limit. */
int fn_read_body(fn_req *req, size_t limit)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    if (!buf) return 500;
    for (;;) {
        if (len == cap) {
            if (cap > limit) break;
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                return 500;
            }
            buf = nb;
        }
        int n = FCGX_GetStr(buf + len, (int)(cap - len), req->fcgx->in);
        if (n <= 0) break;
        len += (size_t)n;
        if (len > limit) break;
    }
    buf[len] = '\0';
    req->body = buf;
    req->body_len = len;
    if (len > limit) {
        /* Drain what is left so the connection stays usable, without keeping it. */
        char sink[4096];
        while (FCGX_GetStr(sink, sizeof sink, req->fcgx->in) > 0) {
        }
        return 413;
    }
    return 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 303:
        return "See Other";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Status";
    }
}

void fn_req_start(fn_req *req, FCGX_Request *r)
{
    req->fcgx = r;
    req->envp = r->envp;
    req->method = fn_param(req, "REQUEST_METHOD");
    req->path = fn_param(req, "DOCUMENT_URI");
    req->query = fn_param(req, "QUERY_STRING");
    if (!req->method) req->method = "GET";
    if (!req->path) req->path = "/";
    if (!req->query) req->query = "";
}

void fn_write_response(FCGX_Request *r, const fn_req *req, const fn_res *res)
{
    /* FCGX_FPrintF knows no %zu: format with snprintf, write with FCGX_PutStr. */
    char head[256];
    int n = snprintf(head, sizeof head, "Status: %d %s\r\n", res->status, reason(res->status));
    FCGX_PutStr(head, n, r->out);
    for (size_t i = 0; i < res->nheaders; i++) {
        FCGX_PutS(res->headers[i], r->out);
        FCGX_PutS("\r\n", r->out);
    }
    if (stopping && r->keepConnection) {
        /* A process that stops hands its kept connection back: nginx does not cache an upstream
         * connection whose answer says close, and libfcgi closes it after this answer. */
        FCGX_PutS("Connection: close\r\n", r->out);
        r->keepConnection = 0;
    }
    if (res->content_type) {
        FCGX_PutS("Content-Type: ", r->out);
        FCGX_PutS(res->content_type, r->out);
        FCGX_PutS("\r\n", r->out);
    }
    /* no-store unless the handler chose its own caching (the files function, docs/files.md) */
    int cache_set = 0;
    for (size_t i = 0; i < res->nheaders; i++)
        if (strncasecmp(res->headers[i], "Cache-Control:", 14) == 0) cache_set = 1;
    n = snprintf(head, sizeof head, "%sContent-Length: %zu\r\n\r\n",
                 cache_set ? "" : "Cache-Control: no-store\r\n", res->body_len);
    FCGX_PutStr(head, n, r->out);
    if (res->body_len && strcmp(req->method, "HEAD") != 0)
        FCGX_PutStr(res->body, (int)res->body_len, r->out);
}

/* Checks the declaration's methods, roles and body limit, then runs the handler. */
static void serve(fn_req *req, fn_res *res, fn_handler handler)
{
    const char *methods = fn_param(req, "FN_METHODS");
    if (!fn_method_allowed(methods, req->method)) {
        fn_set_header(res, "Allow", "%s", methods);
        fn_error(res, 405, "method %s not allowed", req->method);
        return;
    }
    const char *principal = fn_header(req, "x-ms-client-principal");
    if (principal && *principal) {
        if (fn_principal_decode(principal, &req->principal_buf) != 0) {
            fn_error(res, 400, "malformed x-ms-client-principal");
            return;
        }
        req->principal = &req->principal_buf;
    }
    int denied = fn_roles_check(fn_param(req, "FN_ROLES"), req->principal);
    if (denied) {
        fn_error(res, denied, denied == 401 ? "sign-in required" : "forbidden");
        return;
    }
    int rc = fn_read_body(req, (size_t)fn_body_limit(fn_param(req, "FN_MAX_BODY")));
    if (rc) {
        fn_error(res, rc, rc == 413 ? "request body too large" : "out of memory");
        return;
    }
    fn_db_clear_error();
    if (handler(req, res) != 0 || res->status == 0) {
        if (res->status < 500) fn_error(res, 500, "internal error");
    }
    fn_db_unavailable_503(res);
}

int fn_run(const char *name, fn_handler handler)
{
    fn_name = name;
    const char *logfile = fn_settings_get()->log_file;
    if (logfile && *logfile) log_out = fopen(logfile, "a");
    if (sodium_init() < 0) {
        fn_log("sodium_init failed");
        return 1;
    }
    fn_signals_init();
    if (FCGX_Init() != 0) {
        fn_log("FCGX_Init failed");
        return 1;
    }
    FCGX_Request r;
    FCGX_InitRequest(&r, FCGI_LISTENSOCK_FILENO, 0); /* the socket spawn-fcgi hands us */
    fn_log("started");
    metrics_process_started(name);
    for (;;) {
        int got = fn_accept(&r, -1);
        if (got < 0) break;
        if (got == 0) continue;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        fn_req req = {0};
        fn_res res = {0};
        fn_req_start(&req, &r);
        const char *crid = fn_param(&req, "CHATR_REQUEST_ID");
        fn_request_id_set(crid ? crid : fn_param(&req, "REQUEST_ID"));
        serve(&req, &res, handler);
        fn_write_response(&r, &req, &res);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        const char *rid = fn_param(&req, "REQUEST_ID");
        (void)rid;
        char st[8], dur[32];
        snprintf(st, sizeof st, "%d", res.status);
        snprintf(dur, sizeof dur, "%.1f", ms);
        fn_log_request("method", req.method, "path", req.path, "status", st, "ms", dur, "user",
                       req.principal ? req.principal->user_id : "-", "req", fn_request_id(), "note",
                       res.log_note[0] ? res.log_note : NULL, NULL);
        char l[METRICS_MAX_LABELS];
        metrics_inc("chatr_function_requests_total",
                    metrics_labels(l, sizeof l, "function", name, "status", st, NULL));
        metrics_observe("chatr_function_duration_seconds",
                        metrics_labels(l, sizeof l, "function", name, NULL), ms / 1e3);
        free(req.body);
        res_reset(&res);
        FCGX_Finish_r(&r);
    }
    fn_db_close();
    fn_log("stopped");
    return 0;
}
