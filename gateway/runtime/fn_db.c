/* fn_db.c: the per-process PostgreSQL connection of a function or hub program, and the rules for
 * a lost connection (docs/storage.md, "Transactions and retries"):
 *  - a statement outside a transaction whose connection is lost (or cannot be opened) waits for
 *    the database with backoff, for at most FN_DB_HOLD_MS from the moment the outage was first
 *    seen, and runs again on the new connection; past the hold it fails at once (no queue builds
 *    up behind a long outage) until a connection succeeds again;
 *  - a statement inside an explicit transaction (BEGIN ... COMMIT) is never retried alone: the
 *    transaction is broken, every later statement of it fails, COMMIT fails, and only the
 *    caller may run the whole transaction again (fn_db_tx does that).
 * Statements are prepared on first use and executed by name afterwards (PostgreSQL then skips
 * parsing and planning them on every call: most of what a short query costs it). */
#include "fn.h"
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static PGconn *conn;
static char last_sqlstate[6];
static int last_unavailable; /* the last failure: the database could not be reached */

/* The explicit transaction of this connection. BROKEN: its connection was lost under it. */
static enum { TX_NONE, TX_OPEN, TX_BROKEN } tx;
/* When this process first found the database unreachable (monotonic ms; 0: reachable). */
static long long outage_since;

/* Prepared statements of this connection: the SQL text, and its name "fn<slot>". A full table
 * leaves further statements unprepared (they still run). Cleared when the connection is reset. */
#define FN_DB_PREPARED 128
static char *prepared[FN_DB_PREPARED];

static void sleep_ms(long ms)
{
    struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

static void prepared_forget(void)
{
    for (int i = 0; i < FN_DB_PREPARED; i++) {
        free(prepared[i]);
        prepared[i] = NULL;
    }
}

/* The slot of sql (prepared now if needed), or -1 to run it unprepared. */
static int prepared_slot(PGconn *db, const char *sql, int nparams)
{
    unsigned h = 2166136261u;
    for (const char *c = sql; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    for (int k = 0; k < FN_DB_PREPARED; k++) {
        int i = (int)((h + (unsigned)k) % FN_DB_PREPARED);
        if (prepared[i] && strcmp(prepared[i], sql) == 0) return i;
        if (prepared[i]) continue;
        char name[16];
        snprintf(name, sizeof name, "fn%d", i);
        PGresult *r = PQprepare(db, name, sql, nparams, NULL);
        int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) return -1; /* run unprepared: its error (if any) is reported the usual way */
        prepared[i] = strdup(sql);
        if (!prepared[i]) {
            char dealloc[32];
            snprintf(dealloc, sizeof dealloc, "DEALLOCATE fn%d", i);
            PQclear(PQexec(db, dealloc));
            return -1;
        }
        return i;
    }
    return -1;
}

const char *fn_db_sqlstate(void)
{
    return last_sqlstate;
}

int fn_db_unavailable(void)
{
    return last_unavailable;
}

void fn_db_clear_error(void)
{
    last_sqlstate[0] = '\0';
    last_unavailable = 0;
}

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* One attempt to have a working connection; no waiting. */
PGconn *fn_db(void)
{
    if (conn && PQstatus(conn) == CONNECTION_OK) return conn;
    if (conn) {
        prepared_forget(); /* a new session has none of them */
        PQreset(conn);
        if (PQstatus(conn) == CONNECTION_OK) {
            fn_log("database connection re-established");
            metrics_inc("chatr_db_reconnects_total", NULL);
            outage_since = 0;
            return conn;
        }
        if (!outage_since) fn_log("database reconnect failed: %s", PQerrorMessage(conn));
        metrics_inc("chatr_db_errors_total", NULL);
        return NULL;
    }
    const char *url = fn_settings_get()->database_url;
    if (!url || !*url) {
        fn_log("DATABASE_URL is not set");
        return NULL;
    }
    conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        if (!outage_since) fn_log("database connect failed: %s", PQerrorMessage(conn));
        metrics_inc("chatr_db_errors_total", NULL);
        PQfinish(conn);
        conn = NULL;
        return NULL;
    }
    if (outage_since) metrics_inc("chatr_db_reconnects_total", NULL);
    outage_since = 0;
    PQsetNoticeProcessor(conn, notice_quiet, NULL);
    return conn;
}

/* The hold: FN_DB_HOLD_MS, or CHATR_DB_HOLD_MS (fn_settings). */
static long hold_ms(void)
{
    return fn_settings_get()->db_hold_ms;
}

/* A connection, waiting for one with backoff while the hold of the current outage lasts. */
static PGconn *db_wait(void)
{
    PGconn *db = fn_db();
    if (db) return db;
    long long now = fn_mono_ms();
    if (!outage_since) {
        outage_since = now;
        fn_log("database unreachable: holding statements for up to %ld ms", hold_ms());
    }
    if (now - outage_since >= hold_ms()) return NULL; /* past the hold: fail at once */
    metrics_inc("chatr_db_held_total", NULL);
    long backoff = FN_DB_BACKOFF_FIRST_MS;
    while (!(db = fn_db())) {
        long left = (long)(outage_since + hold_ms() - fn_mono_ms());
        if (left <= 0) {
            fn_log("database still unreachable after %ld ms: giving up", hold_ms());
            metrics_inc("chatr_db_hold_expired_total", NULL);
            return NULL;
        }
        sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 > FN_DB_BACKOFF_MAX_MS ? FN_DB_BACKOFF_MAX_MS : backoff * 2;
    }
    return db;
}

/* Did this failure come from losing the server rather than from the statement? */
static int lost(PGconn *db, const PGresult *r)
{
    if (PQstatus(db) != CONNECTION_OK) return 1;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    /* 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now */
    return !st || strncmp(st, "08", 2) == 0 || strncmp(st, "57P0", 4) == 0;
}

/* A statement's parameters: text (lens and formats NULL), or some binary (fn_db_exec_bin). */
typedef struct stmt {
    const char *sql;
    int nparams;
    const char *const *params;
    const int *lens, *formats;
    int binary_result;
} stmt;

static PGresult *run(PGconn *db, const stmt *q)
{
    int slot = prepared_slot(db, q->sql, q->nparams);
    if (slot < 0)
        return PQexecParams(db, q->sql, q->nparams, NULL, q->params, q->lens, q->formats,
                            q->binary_result);
    char name[16];
    snprintf(name, sizeof name, "fn%d", slot);
    return PQexecPrepared(db, name, q->nparams, q->params, q->lens, q->formats, q->binary_result);
}

static PGresult *fail(PGconn *db, PGresult *r, int unavailable, const char *state)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(last_sqlstate, sizeof last_sqlstate, "%s", state ? state : s ? s : "08000");
    last_unavailable = unavailable;
    metrics_inc("chatr_db_errors_total", NULL);
    fn_log("query failed: %s", r    ? PQresultErrorMessage(r)
                               : db ? PQerrorMessage(db)
                                    : "no database connection");
    PQclear(r);
    return NULL;
}

static int ok(const PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

enum { SQL_OTHER, SQL_BEGIN, SQL_COMMIT, SQL_ROLLBACK };
static int sql_kind(const char *sql)
{
    if (strcasecmp(sql, "BEGIN") == 0) return SQL_BEGIN;
    if (strcasecmp(sql, "COMMIT") == 0) return SQL_COMMIT;
    if (strcasecmp(sql, "ROLLBACK") == 0) return SQL_ROLLBACK;
    return SQL_OTHER;
}

/* A statement of the open transaction, COMMIT or ROLLBACK: one attempt, never retried. */
static PGresult *exec_in_tx(int kind, const stmt *q)
{
    if (tx == TX_BROKEN) {
        if (kind == SQL_ROLLBACK) { /* the server rolled it back when the connection went */
            tx = TX_NONE;
            return PQmakeEmptyPGresult(NULL, PGRES_COMMAND_OK);
        }
        if (kind == SQL_COMMIT) tx = TX_NONE;
        return fail(NULL, NULL, 1, "08006");
    }
    PGconn *db = conn;
    PGresult *r = db && PQstatus(db) == CONNECTION_OK ? run(db, q) : NULL;
    if (kind != SQL_OTHER) tx = TX_NONE;
    if (ok(r)) {
        /* COMMIT of a transaction that failed earlier answers ROLLBACK: that is no commit */
        if (kind == SQL_COMMIT && strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
            return fail(db, NULL, 0, "40000");
        return r;
    }
    int gone = !db || lost(db, r);
    if (gone && kind == SQL_OTHER) tx = TX_BROKEN;
    if (gone)
        fn_log("connection lost inside a transaction: it is not retried statement by statement");
    return fail(db, r, gone, NULL);
}

static PGresult *exec_stmt(const stmt *q)
{
    fn_db_clear_error();
    int kind = sql_kind(q->sql);
    if (tx != TX_NONE) {
        if (kind == SQL_BEGIN) return fail(conn, NULL, 0, "25001"); /* active_sql_transaction */
        return exec_in_tx(kind, q);
    }
    if (kind == SQL_COMMIT || kind == SQL_ROLLBACK) return fail(conn, NULL, 0, "25P01");
    /* A statement on its own (or BEGIN, which opens nothing until it succeeds) may be run again
     * on a new connection; the server finished or discarded the first attempt. */
    for (;;) {
        PGconn *db = db_wait();
        if (!db) return fail(conn, NULL, 1, "08000");
        PGresult *r = run(db, q);
        if (ok(r)) {
            if (kind == SQL_BEGIN) tx = TX_OPEN;
            return r;
        }
        if (!lost(db, r)) return fail(db, r, 0, NULL); /* the statement's own error */
        fn_log("database connection lost: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(db));
        metrics_inc("chatr_db_errors_total", NULL);
        PQclear(r);
        if (PQstatus(db) == CONNECTION_OK) { /* the server is shutting down: a new session */
            prepared_forget();
            PQreset(db);
        }
    }
}

PGresult *fn_db_exec(const char *sql, int nparams, const char *const *params)
{
    stmt q = {sql, nparams, params, NULL, NULL, 0};
    return exec_stmt(&q);
}

PGresult *fn_db_exec_bin(const char *sql, int nparams, const char *const *params, const int *lens,
                         const int *formats, int binary_result)
{
    stmt q = {sql, nparams, params, lens, formats, binary_result};
    return exec_stmt(&q);
}

int fn_db_tx(fn_db_tx_body body, void *arg)
{
    for (int attempt = 1; attempt <= FN_DB_TX_ATTEMPTS; attempt++) {
        PGresult *b = fn_db_exec("BEGIN", 0, NULL);
        if (!b) return -1;
        PQclear(b);
        int rc = body(arg);
        int unavailable = fn_db_unavailable();
        if (rc == 0) {
            PGresult *c = fn_db_exec("COMMIT", 0, NULL);
            if (c) {
                PQclear(c);
                return 0;
            }
            if (fn_db_unavailable()) { /* committed or not: nobody can tell; never twice */
                fn_log("transaction lost its connection during COMMIT: outcome unknown");
                last_unavailable = 1;
                return FN_DB_TX_UNKNOWN;
            }
            unavailable = 0;
        } else {
            PQclear(fn_db_exec("ROLLBACK", 0, NULL));
        }
        if (!unavailable) return -1; /* the body failed on its own: not ours to repeat */
        fn_log("transaction lost its connection (attempt %d of %d)%s", attempt, FN_DB_TX_ATTEMPTS,
               attempt < FN_DB_TX_ATTEMPTS ? ": running it again whole" : "");
        last_unavailable = 1;
    }
    return -1;
}

void fn_db_close(void)
{
    prepared_forget();
    if (conn) PQfinish(conn);
    conn = NULL;
    tx = TX_NONE;
}

void fn_db_unavailable_503(fn_res *res)
{
    if (res->status != 500 || !last_unavailable) return;
    res->status = 503; /* the handler's own error body stays */
    fn_set_header(res, "Retry-After", "%d", FN_DB_RETRY_AFTER_S);
}
