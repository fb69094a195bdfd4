/* test_frame_gate.c: the frame gate's pure logic (gateway/nginx/module/frame_gate.c): the
 * per-connection token bucket and the error ack for a frame the gate answers itself. */
#include "unit.h"

#include <stdlib.h>

#include "../../gateway/nginx/module/frame_gate.h"

static gate_table *table(void)
{
    return calloc(1, sizeof(gate_table));
}

UNIT_TEST(gate_bucket_allows_burst_then_rate)
{
    gate_table *t = table();
    int ok = 0, first = 0;
    for (int i = 0; i < 2500; i++) { /* 2,500 frames at one instant: the burst passes */
        gate_verdict v = gate_take(t, "conn-a", 6, 1000, 200, 2000);
        ok += v.allowed;
        first += v.first_refusal;
    }
    CHECK(ok == 2000);
    CHECK(first == 1);                  /* logged once per episode */
    for (int ms = 1; ms <= 10000; ms++) /* then 10 s of one frame per ms: 200 per second pass */
        ok += gate_take(t, "conn-a", 6, 1000 + (uint64_t)ms, 200, 2000).allowed;
    CHECK(ok >= 4000 - 1 && ok <= 4000);
    free(t);
}

UNIT_TEST(gate_buckets_are_per_connection)
{
    gate_table *t = table();
    for (int i = 0; i < 2000; i++)
        gate_take(t, "conn-a", 6, 5, 200, 2000);
    CHECK(!gate_take(t, "conn-a", 6, 5, 200, 2000).allowed);
    CHECK(gate_take(t, "conn-b", 6, 5, 200, 2000).allowed);
    CHECK(!gate_take(t, "", 0, 5, 200, 2000).allowed); /* no connection: no bucket */
    char big[GATE_MAX_KEY + 2];
    memset(big, 'k', sizeof big);
    CHECK(!gate_take(t, big, sizeof big, 5, 200, 2000).allowed);
    free(t);
}

UNIT_TEST(gate_busy_set_keeps_spent_buckets)
{
    /* more connections than slots in a set: the idlest is reused, a spent busy one is kept */
    gate_table *t = table();
    for (int i = 0; i < 2000; i++)
        gate_take(t, "spender", 7, 100, 200, 2000);
    char key[32];
    for (int i = 0; i < 3 * GATE_SLOTS; i++) {
        int n = snprintf(key, sizeof key, "other-%d", i);
        gate_take(t, key, (size_t)n, 50, 200, 2000); /* older than the spender's last use */
    }
    CHECK(!gate_take(t, "spender", 7, 100, 200, 2000).allowed);
    free(t);
}

UNIT_TEST(gate_ack_for_frames_with_ack_ids)
{
    char out[GATE_MAX_ACK];
    const char *f = "{\"type\":\"joinGroup\",\"group\":\"g\",\"ackId\":42}";
    size_t n =
        gate_ack(f, strlen(f), "TooManyRequests", "over 200 messages per second", out, sizeof out);
    CHECK(n == strlen(out));
    CHECK_STR(out, "{\"type\":\"ack\",\"ackId\":42,\"success\":false,\"error\":{\"name\":"
                   "\"TooManyRequests\",\"message\":\"over 200 messages per second\"}}");
    const char *none[] = {"{\"type\":\"ping\"}", "{\"ackId\":-1}",  "{\"ackId\":\"7\"}", "[1]",
                          "{\"ackId\":1",        "{\"ackId\":1} x", "not json",          ""};
    for (size_t i = 0; i < sizeof none / sizeof *none; i++)
        CHECK(gate_ack(none[i], strlen(none[i]), "X", "y", out, sizeof out) == 0);
    CHECK(gate_ack(f, strlen(f), "X", "y", out, 10) == 0); /* does not fit: no partial ack */
}
