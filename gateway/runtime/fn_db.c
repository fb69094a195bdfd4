/* fn_db.c: the per-process PostgreSQL connection of a function, re-opened after a restart. */
#include "fn.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static PGconn *conn;
static char last_sqlstate[6];

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
        PGresult *r = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
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
    if (conn) PQfinish(conn);
    conn = NULL;
}
