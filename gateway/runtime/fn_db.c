/* fn_db.c: the per-process PostgreSQL connection of a function, re-opened after a restart.
 * Statements are prepared on first use and executed by name afterwards (PostgreSQL then skips
 * parsing and planning them on every call: most of what a short query costs it). */
#include "fn.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static PGconn *conn;
static char last_sqlstate[6];

/* Prepared statements of this connection: the SQL text, and its name "fn<slot>". A full table
 * leaves further statements unprepared (they still run). Cleared when the connection is reset. */
#define FN_DB_PREPARED 128
static char *prepared[FN_DB_PREPARED];

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
    for (const char *c = sql; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
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

static void notice_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

PGconn *fn_db(void)
{
    if (conn && PQstatus(conn) == CONNECTION_OK) return conn;
    if (conn) {
        prepared_forget(); /* a new session has none of them */
        PQreset(conn);
        if (PQstatus(conn) == CONNECTION_OK) {
            fn_log("database connection re-established");
            return conn;
        }
        fn_log("database reconnect failed: %s", PQerrorMessage(conn));
        return NULL;
    }
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url) {
        fn_log("DATABASE_URL is not set");
        return NULL;
    }
    conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        fn_log("database connect failed: %s", PQerrorMessage(conn));
        PQfinish(conn);
        conn = NULL;
        return NULL;
    }
    PQsetNoticeProcessor(conn, notice_quiet, NULL);
    return conn;
}

PGresult *fn_db_exec(const char *sql, int nparams, const char *const *params)
{
    last_sqlstate[0] = '\0';
    for (int attempt = 0; attempt < 2; attempt++) {
        PGconn *db = fn_db();
        if (!db) return NULL;
        int slot = prepared_slot(db, sql, nparams);
        PGresult *r;
        if (slot >= 0) {
            char name[16];
            snprintf(name, sizeof name, "fn%d", slot);
            r = PQexecPrepared(db, name, nparams, params, NULL, NULL, 0);
        } else {
            r = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
        }
        ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
        int dead = PQstatus(db) != CONNECTION_OK;
        if (!dead || attempt == 1) {
            /* Statement errors are the caller's to map (fn_db_sqlstate); log once. */
            const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
            snprintf(last_sqlstate, sizeof last_sqlstate, "%s", state ? state : "08000");
            fn_log("query failed: %s", r ? PQresultErrorMessage(r) : PQerrorMessage(db));
            PQclear(r);
            return NULL;
        }
        PQclear(r); /* connection died under us: reconnect and try once more */
    }
    return NULL;
}

void fn_db_close(void)
{
    prepared_forget();
    if (conn) PQfinish(conn);
    conn = NULL;
}
