/* test_hub_cache.c: the hub cache's tables (gateway/hub/hub_cache.c, docs/performance.md#the-hub-
 * cache): an answer is used only at the generation it was read at, only for a sender whose
 * permission was remembered with it, an older answer never replaces a newer one, and the row
 * budget holds. The generation file is a temporary one of this test. */
#include "unit.h"
#include "hub_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A result of n rows of one text column, as a query's answer. */
static PGresult *rows(int n)
{
    PGresult *r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    PGresAttDesc col = {.name = "member", .typid = 25, .typlen = -1, .atttypmod = -1};
    PQsetResultAttrs(r, 1, &col);
    for (int i = 0; i < n; i++) {
        char v[16];
        int len = snprintf(v, sizeof v, "c%d", i);
        PQsetvalue(r, i, 0, v, len);
    }
    return r;
}

static int mapped(void)
{
    static int done = -1;
    if (done < 0) {
        char path[] = "/tmp/chatr-unit-hub-cache-XXXXXX";
        int fd = mkstemp(path);
        if (fd >= 0) close(fd);
        done = fd >= 0 && hub_cache_map(path) == 0;
        unlink(path); /* the mapping stays */
    }
    return done;
}

UNIT_TEST(hub_cache_answers_only_at_the_generation_read)
{
    CHECK(mapped());
    uint64_t gen = hub_cache_gen();
    CHECK(gen != 0);
    PGresult *r = rows(3);
    CHECK(hub_cache_put("user", "h", "u-gen", NULL, gen, r) == 1);
    CHECK(hub_cache_get("user", "h", "u-gen", NULL) == r);
    CHECK(hub_cache_get("user", "h", "u-other", NULL) == NULL);
    CHECK(hub_cache_get("group", "h", "u-gen", NULL) == NULL); /* another kind */
    hub_cache_bump();
    CHECK(hub_cache_gen() == gen + 1);
    CHECK(hub_cache_get("user", "h", "u-gen", NULL) == NULL);
}

UNIT_TEST(hub_cache_never_keeps_an_answer_read_before_a_write)
{
    CHECK(mapped());
    uint64_t before = hub_cache_gen();
    hub_cache_bump(); /* a write committed while the query ran */
    PGresult *r = rows(1);
    CHECK(hub_cache_put("group", "h", "g-raced", NULL, before, r) == 1);
    CHECK(hub_cache_get("group", "h", "g-raced", NULL) == NULL);
    /* the next answer, read now, replaces it; an older one arriving late does not */
    PGresult *now = rows(2);
    CHECK(hub_cache_put("group", "h", "g-raced", NULL, hub_cache_gen(), now) == 1);
    PGresult *late = rows(1);
    CHECK(hub_cache_put("group", "h", "g-raced", NULL, before, late) == 0);
    PQclear(late); /* not kept: still ours */
    CHECK(hub_cache_get("group", "h", "g-raced", NULL) == now);
}

UNIT_TEST(hub_cache_group_sends_need_the_senders_permission)
{
    CHECK(mapped());
    uint64_t gen = hub_cache_gen();
    PGresult *r = rows(4);
    CHECK(hub_cache_put("group_send", "h", "g-perm", "conn-a", gen, r) == 1);
    CHECK(hub_cache_get("group_send", "h", "g-perm", "conn-a") == r);
    CHECK(hub_cache_get("group_send", "h", "g-perm", "conn-b") == NULL); /* never asked */
    /* b's own answer (the same members) remembers b too, and a keeps its permission */
    PGresult *again = rows(4);
    CHECK(hub_cache_put("group_send", "h", "g-perm", "conn-b", gen, again) == 0); /* as new */
    PQclear(again);
    CHECK(hub_cache_get("group_send", "h", "g-perm", "conn-b") == r);
    CHECK(hub_cache_get("group_send", "h", "g-perm", "conn-a") == r);
    hub_cache_bump();
    CHECK(hub_cache_get("group_send", "h", "g-perm", "conn-a") == NULL);
}

UNIT_TEST(hub_cache_keeps_at_most_its_row_budget)
{
    CHECK(mapped());
    hub_cache_bump(); /* start from nothing current (earlier tests' answers are stale) */
    uint64_t gen = hub_cache_gen();
    PGresult *big = rows(HUB_CACHE_MAX_ROWS + 1);
    CHECK(hub_cache_put("hub", "h", "too-big", NULL, gen, big) == 0);
    PQclear(big);
    /* answers add up to the budget, then the next is refused until a slot is replaced */
    int kept = 0, refused = 0;
    for (int i = 0; i < 8 && !refused; i++) {
        char name[32];
        snprintf(name, sizeof name, "chunk-%d", i);
        PGresult *r = rows(HUB_CACHE_MAX_ROWS / 4);
        if (hub_cache_put("hub", "h", name, NULL, gen, r))
            kept++;
        else {
            refused = 1;
            PQclear(r);
        }
    }
    CHECK(refused);
    CHECK(kept >= 1 && kept <= 4);
}
