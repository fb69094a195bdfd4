/* auth_throttle.c: sign-in throttling in PostgreSQL (swa.attempts, schema/007_signin.sql), so
 * that it holds across the auth pool's processes. One row per key ("<kind>:<subject>"): the
 * events of a fixed window, and how long the key is blocked. Past a policy's free allowance
 * every event blocks the key for a doubling delay (capped): a growing wait, never a lockout
 * for the rest of a window. Policies: auth.h; why they are shaped so: docs/sign-in.md. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>

#define THROTTLE_GC_ONE_IN 64     /* about one event in this many clears old rows */
#define THROTTLE_GC_AGE_S (3600L) /* rows whose window began this long ago (> every window) */

void auth_throttle_key(const auth_policy *p, const char *subject, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s:%s", p->kind, subject);
}

int auth_throttle_wait(const auth_policy *p, const char *key, int *events)
{
    char win[16];
    snprintf(win, sizeof win, "%d", p->window_s);
    const char *params[] = {key, win};
    PGresult *r = fn_db_exec(
        "SELECT CASE WHEN blocked_until > now() "
        "            THEN greatest(1, ceil(extract(epoch FROM blocked_until - now())))::int "
        "            ELSE 0 END, "
        "       CASE WHEN window_start > now() - make_interval(secs => $2::int) "
        "            THEN failures ELSE 0 END "
        "FROM swa.attempts WHERE key = $1",
        2, params);
    if (!r) return -1;
    int wait = 0, n = 0;
    if (PQntuples(r) == 1) {
        wait = atoi(PQgetvalue(r, 0, 0));
        n = atoi(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    if (events) *events = n;
    return wait;
}

int auth_throttle_note(const auth_policy *p, const char *key)
{
    char win[16], free_s[16], base[16], cap[16];
    snprintf(win, sizeof win, "%d", p->window_s);
    snprintf(free_s, sizeof free_s, "%d", p->free);
    snprintf(base, sizeof base, "%d", p->base_s);
    snprintf(cap, sizeof cap, "%d", p->cap_s);
    const char *params[] = {key, win, free_s, base, cap};
    /* n = events in the window after this one; past free: blocked base * 2^(n - free - 1) s. */
    PGresult *r = fn_db_exec(
        "INSERT INTO swa.attempts AS a (key, window_start, failures, blocked_until) "
        "VALUES ($1, now(), 1, CASE WHEN 1 > $3::int "
        "  THEN now() + make_interval(secs => least($5::int, $4::int)) END) "
        "ON CONFLICT (key) DO UPDATE SET "
        "  window_start = CASE WHEN a.window_start <= now() - make_interval(secs => $2::int) "
        "                      THEN now() ELSE a.window_start END, "
        "  failures = CASE WHEN a.window_start <= now() - make_interval(secs => $2::int) "
        "                  THEN 1 ELSE a.failures + 1 END, "
        "  blocked_until = CASE "
        "    WHEN a.window_start <= now() - make_interval(secs => $2::int) "
        "      THEN CASE WHEN 1 > $3::int "
        "           THEN now() + make_interval(secs => least($5::int, $4::int)) END "
        "    WHEN a.failures + 1 > $3::int "
        "      THEN now() + make_interval(secs => least($5::int::float8, "
        "             $4::int * power(2, least(a.failures - $3::int, 30)))) "
        "    ELSE a.blocked_until END",
        5, params);
    if (!r) return -1;
    PQclear(r);
    if (randombytes_uniform(THROTTLE_GC_ONE_IN) == 0) {
        char age[24];
        snprintf(age, sizeof age, "%ld", THROTTLE_GC_AGE_S);
        const char *gp[] = {age};
        r = fn_db_exec("DELETE FROM swa.attempts WHERE window_start < now() - "
                       "make_interval(secs => $1::int) AND "
                       "(blocked_until IS NULL OR blocked_until < now())",
                       1, gp);
        if (!r) return -1;
        PQclear(r);
    }
    return 0;
}

int auth_throttle_clear(const char *key)
{
    const char *p[] = {key};
    PGresult *r = fn_db_exec("DELETE FROM swa.attempts WHERE key = $1", 1, p);
    if (!r) return -1;
    PQclear(r);
    return 0;
}
