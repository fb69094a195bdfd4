/* fn.h: the Chatr function runtime, our stand-in for the Azure Functions host.
 *
 * A function is one handler `int handler(fn_req *, fn_res *)` plus its declaration
 * (functions/<name>/function.json). The emulator renders the declaration into nginx, which
 * passes it to the program as FastCGI parameters (FN_NAME, FN_METHODS, FN_ROLES, FN_MAX_BODY,
 * ROUTE_<param>); the runtime enforces methods, roles and the body limit before the handler
 * runs, so a handler only sees requests it declared. */
#ifndef CHATR_FN_H
#define CHATR_FN_H

#include <stddef.h>
#include <stdarg.h>
#include <json-c/json.h>
#include <libpq-fe.h>
#include "fn_text.h"

struct FCGX_Request;

/* Limits on what the network may hand us. */
#define FN_MAX_BODY_DEFAULT (64 * 1024) /* body limit when the declaration names none */
#define FN_MAX_BODY_CEILING (16 * 1024 * 1024)
#define FN_MAX_PRINCIPAL 8192 /* x-ms-client-principal header, base64 */
#define FN_MAX_ROLES 32
#define FN_MAX_ROLE_LEN 64
#define FN_MAX_USER_ID 128
#define FN_MAX_USER_DETAILS 256
#define FN_MAX_PROVIDER 64
#define FN_MAX_HEADERS_OUT 16
#define FN_MAX_HEADER_OUT_LEN 4096 /* room for a principal header or a cookie */

/* The Static Web Apps client principal (docs/protocols.md#the-client-principal), decoded from
 * x-ms-client-principal. */
typedef struct fn_principal {
    char provider[FN_MAX_PROVIDER];
    char user_id[FN_MAX_USER_ID];
    char details[FN_MAX_USER_DETAILS];
    char roles[FN_MAX_ROLES][FN_MAX_ROLE_LEN];
    size_t nroles;
} fn_principal;

typedef struct fn_req {
    struct FCGX_Request *fcgx;
    char **envp;        /* FastCGI parameters */
    const char *method; /* GET, POST, ... */
    const char *path;   /* decoded path, without query */
    const char *query;  /* raw query string (may be "") */
    char *body;         /* NUL-terminated, body_len bytes (may contain NULs) */
    size_t body_len;
    const fn_principal *principal; /* NULL when anonymous */
    fn_principal principal_buf;
} fn_req;

typedef struct fn_res {
    int status;
    char headers[FN_MAX_HEADERS_OUT][FN_MAX_HEADER_OUT_LEN];
    size_t nheaders;
    const char *content_type;
    char *body; /* malloc'd, owned */
    size_t body_len;
    char log_note[160]; /* appended to the request log line (an error's reason) */
} fn_res;

typedef int (*fn_handler)(fn_req *req, fn_res *res);

/* Runs the FastCGI accept loop for one function until SIGTERM. Returns the exit status. */
int fn_run(const char *name, fn_handler handler);

/* The accept loop's parts, shared with the hub programs' loop (docs/operations.md, "Restarts
 * and drain"). fn_signals_init: SIGTERM/SIGINT/SIGQUIT are blocked except while waiting for a
 * connection. fn_accept: waits up to timeout_ms (-1: no limit) for the next request, on the
 * connection nginx keeps open to this process if it keeps one (the functions' upstreams), else
 * on the listening socket; 1: a request is in r; 0: nothing yet (timeout, or another process
 * took it); -1: stop (a stop signal came, nginx closed the kept connection and no connection is
 * left queued, or accept failed). */
void fn_signals_init(void);
int fn_accept(struct FCGX_Request *r, long timeout_ms);
/* fn_accept_any: the same over n (<= FN_ACCEPT_MAX) request slots, each of which may hold a
 * connection nginx keeps open between requests (fastcgi_keep_conn, an upstream with keepalive):
 * one process serves many kept connections, a request at a time (docs/performance.md). Waits
 * on the kept connections and, while a slot is free, the listening socket, together. Returns
 * the slot holding the next request, FN_ACCEPT_NONE (nothing yet) or -1 (stop: nothing left
 * readable and no connection kept: a stopping process answers with Connection: close until
 * nginx has closed them all). */
#define FN_ACCEPT_MAX 64
#define FN_ACCEPT_NONE (-2)
#define FN_DRAIN_POLL_MS 100 /* a stopping process's wait while nginx still holds a connection */
int fn_accept_any(struct FCGX_Request *rs, int n, long timeout_ms);
/* fn_req_start: req (zeroed by the caller) reads the accepted request r: method, path and query,
 * "GET", "/" and "" when absent. fn_write_response: the status line, headers and body of res
 * (no body for HEAD). */
void fn_req_start(fn_req *req, struct FCGX_Request *r);
void fn_write_response(struct FCGX_Request *r, const fn_req *req, const fn_res *res);

/* Request accessors. Names are HTTP names ("Content-Type", "x-ms-client-principal"). */
const char *fn_param(const fn_req *req, const char *fcgi_name);
const char *fn_header(const fn_req *req, const char *http_name);
const char *fn_route(const fn_req *req, const char *param); /* ROUTE_<param>, NULL if absent */
/* Decoded query parameter (first occurrence) into buf; returns buf or NULL if absent or too long.
 */
char *fn_query(const fn_req *req, const char *name, char *buf, size_t buflen);
/* The same for an application/x-www-form-urlencoded body (NULL for any other content type). */
char *fn_form(const fn_req *req, const char *name, char *buf, size_t buflen);
/* The parser behind both: field `name` of the urlencoded string s (slen bytes, may hold NULs). */
char *fn_urlencoded_get(const char *s, size_t slen, const char *name, char *buf, size_t buflen);
/* Reads the body to EOF (CONTENT_LENGTH may be stale in nchan hooks), keeping at most limit
 * bytes in req->body. Returns 0, 413 when the body is larger, 500 when out of memory. */
int fn_read_body(fn_req *req, size_t limit);
/* Parses the body as a JSON object; NULL (and an error response set) if it is not one. */
json_object *fn_body_json(fn_req *req, fn_res *res);

/* Responses. fn_json takes ownership of obj. */
void fn_json(fn_res *res, int status, json_object *obj);
void fn_text(fn_res *res, int status, const char *content_type, const char *body, size_t len);
void fn_error(fn_res *res, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fn_set_header(fn_res *res, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void fn_no_content(fn_res *res);

/* Decodes a base64 x-ms-client-principal value. Returns 0 on success, -1 if malformed. */
int fn_principal_decode(const char *b64, fn_principal *out);
int fn_principal_has_role(const fn_principal *p, const char *role);

/* Pure helpers shared with the tests. */
int fn_method_allowed(const char *methods_csv, const char *method);
/* 0 = allowed, 401 = needs sign-in, 403 = signed in without a listed role. */
int fn_roles_check(const char *roles_csv, const fn_principal *p);
size_t fn_url_decode(char *dst, size_t dstlen, const char *src, size_t srclen, int plus_is_space);
long fn_body_limit(const char *declared);
/* Milliseconds on CLOCK_MONOTONIC: the same clock in every process of the machine. */
long long fn_mono_ms(void);

/* Logging: one line per request; fn_log for anything else (never secrets). */
void fn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Request ids (docs/observability.md). Each request has one: nginx's $chatr_request_id (its own
 * $request_id, or a well-formed X-Request-Id from a trusted peer: the hub's webhooks, a function's
 * REST calls), passed as CHATR_REQUEST_ID (REQUEST_ID for functions), or a fresh one when the
 * request has none (nchan hooks share their socket's). The runtime sets it before the handler
 * runs and hands it to the SDK, so REST calls made while serving carry it (X-Request-Id). */
#define FN_MAX_REQUEST_ID 64 /* accepted: 1..64 of [0-9A-Za-z-] */
const char *fn_request_id(void);
/* The program name log lines carry (fn_run sets it; hub_loop_run too). */
void fn_log_as(const char *name);
/* Takes id when it is well-formed, else makes a fresh one (32 hex digits, like nginx's). */
void fn_request_id_set(const char *id);
/* One structured request line: `request k=v k=v ...` from a NULL-terminated list of key/value
 * pairs (a NULL value is skipped); values with spaces, quotes or control bytes are quoted and
 * escaped, so every line splits the same way (docs/observability.md, "Logs"). */
void fn_log_request(const char *first_key, ...) __attribute__((sentinel));

/* PostgreSQL: one connection per process, opened on first use from DATABASE_URL, re-opened
 * after the server restarts (fn_db.c; docs/storage.md, "Transactions and retries").
 * fn_db_exec returns NULL (and logs once) on failure. A statement outside a transaction whose
 * connection was lost waits for the database (backoff, at most FN_DB_HOLD_MS from when the outage
 * was first seen) and runs again; a statement inside BEGIN ... COMMIT is never retried alone:
 * the transaction fails whole (fn_db_tx runs it again whole). When the database could not be
 * reached, fn_db_unavailable() is 1 and the caller answers 503 with Retry-After
 * FN_DB_RETRY_AFTER_S instead of 500. */
#define FN_DB_HOLD_MS 5000        /* how long statements wait for a database that went away */
#define FN_DB_BACKOFF_FIRST_MS 25 /* first wait between reconnection attempts ... */
#define FN_DB_BACKOFF_MAX_MS 500  /* ... doubling up to this */
#define FN_DB_RETRY_AFTER_S 5     /* Retry-After of a 503 for an unreachable database */
#define FN_DB_TX_ATTEMPTS 3       /* runs of one transaction whose connection keeps failing */
PGconn *fn_db(void);
PGresult *fn_db_exec(const char *sql, int nparams, const char *const *params);
/* fn_db_exec with binary parameters (formats[i] 1: params[i] is lens[i] raw bytes, e.g. a bytea;
 * lens/formats NULL: all text) and, when binary_result, every column in binary (a bytea comes as
 * its raw bytes; PQgetlength gives the length). Same retry rules. */
PGresult *fn_db_exec_bin(const char *sql, int nparams, const char *const *params, const int *lens,
                         const int *formats, int binary_result);
/* Runs body between BEGIN and COMMIT (body returns 0 to commit, anything else to roll back).
 * When the connection is lost inside it, before COMMIT, the transaction was rolled back and runs
 * again whole, up to FN_DB_TX_ATTEMPTS times, so body must be safe to run again from its start.
 * A connection lost during COMMIT leaves the outcome unknown (the commit may have happened and
 * only its answer been lost): it is never run again (a second run would repeat what the first
 * did, e.g. publish a message under a new sequenceId) and FN_DB_TX_UNKNOWN is returned.
 * Returns 0 when committed, -1 when not (fn_db_unavailable() tells why). */
#define FN_DB_TX_UNKNOWN 1
typedef int (*fn_db_tx_body)(void *arg);
int fn_db_tx(fn_db_tx_body body, void *arg);
/* SQLSTATE of the last failed fn_db_exec ("23505" unique violation, "08000" no connection). */
const char *fn_db_sqlstate(void);
/* 1 when the last failure was the database being unreachable (not the statement's fault). */
int fn_db_unavailable(void);
void fn_db_clear_error(void);
/* A 500 answered because the database was unreachable becomes 503 + Retry-After (the runtime
 * and the hub loop call it after every handler). */
void fn_db_unavailable_503(fn_res *res);
void fn_db_close(void);

/* Settings read once (fn_settings.c): the environment variables the runtime and the programs on
 * it share, read on first use (fn_run reads them before its loop; the fuzz targets, which call
 * handlers without fn_run, on their first request) and never again, so no request reads the
 * environment. A string is NULL when its variable is unset (a copy otherwise, kept for the life of
 * the process); each user keeps its own default for unset or empty. A getenv left elsewhere says
 * why it is not here (docs/deployment.md, "Settings and secrets"). */
typedef struct fn_settings {
    const char *database_url; /* DATABASE_URL: libpq connection string (fn_db.c, hub-rest) */
    const char *public_url;   /* CHATR_PUBLIC_URL: the site's origin (auth, the hub) */
    const char *nginx_socket; /* CHATR_NGINX_SOCKET: nginx's internal unix socket (the hub) */
    const char *state_dir;    /* CHATR_STATE_DIR: the node's state (run/nginx.pid, ...) */
    const char *log_file;     /* CHATR_LOG_FILE: where fn_log writes (stderr when unset) */
    long db_hold_ms;          /* CHATR_DB_HOLD_MS (0..60000), else FN_DB_HOLD_MS */
    const char *wps_connstr;  /* WEBPUBSUB_CONNECTION_STRING (FN_WPS_CONNSTR_ENV, fn_wps.c) */
    const char *wps_hub;      /* WEBPUBSUB_HUB (FN_WPS_HUB_ENV, fn_wps.c) */
} fn_settings;
const fn_settings *fn_settings_get(void);

#endif
