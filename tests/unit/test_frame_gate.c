/* test_frame_gate.c: the frame gate's pure logic (gateway/nginx/module/frame_gate.c): the
 * per-connection token bucket and the error ack for a frame the gate answers itself. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

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

/* A client frame: FIN + opcode, masked (mask key 0), payload of len bytes of 'x'. */
static size_t ws_frame(uint8_t *out, uint8_t opcode, size_t len)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        out[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[n++] = 0x80 | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    memset(out + n, 0, 4); /* mask key */
    n += 4;
    memset(out + n, 'x', len);
    return n + len;
}

UNIT_TEST(gate_wsscan_counts_data_frames_at_their_last_byte)
{
    static uint8_t buf[3 * 1024 * 1024];
    size_t n = 0;
    n += ws_frame(buf + n, 1, 0);           /* empty text frame */
    n += ws_frame(buf + n, 9, 4);           /* ping: not a frame for /_hub/frame */
    n += ws_frame(buf + n, 1, 125);         /* 7-bit length */
    n += ws_frame(buf + n, 2, 300);         /* 16-bit length, binary */
    n += ws_frame(buf + n, 1, 1024 * 1024); /* 64-bit length: 1 MB */
    size_t last = n - 1;
    n += ws_frame(buf + n, 8, 2); /* close */

    gate_wsscan s = {0};
    CHECK(gate_wsscan_feed(&s, buf, n) == 4); /* all at once */

    gate_wsscan b = {0}; /* byte by byte, as nchan's short reads may cut it anywhere */
    size_t total = 0, at_last = 0;
    for (size_t i = 0; i < n; i++) {
        size_t f = gate_wsscan_feed(&b, buf + i, 1);
        total += f;
        if (i == last) at_last = f;
    }
    CHECK(total == 4);
    CHECK(at_last == 1); /* counted when its last payload byte is read, not before */

    gate_wsscan u = {0}; /* unmasked frames (a server's) have no mask key */
    uint8_t raw[] = {0x81, 0x02, 'h', 'i', 0x82, 0x00};
    CHECK(gate_wsscan_feed(&u, raw, 3) == 0);
    CHECK(gate_wsscan_feed(&u, raw + 3, 3) == 2);
}

/* nchan's message ids number a channel's messages of one second in 16 bits: the gate reads at
 * most GATE_FRAMES_PER_SEC frames of a socket per second, and the cap must leave a wide margin. */
UNIT_TEST(gate_persec_caps_a_socket_per_second)
{
    CHECK((GATE_FRAMES_PER_SEC + 32) * 4 <= GATE_NCHAN_TAG_MAX);
    gate_persec p = {0};
    CHECK(!gate_persec_full(&p, 100, GATE_FRAMES_PER_SEC));
    for (int i = 0; i < GATE_FRAMES_PER_SEC - 1; i++)
        gate_persec_add(&p, 100, 1);
    CHECK(!gate_persec_full(&p, 100, GATE_FRAMES_PER_SEC));
    CHECK(gate_persec_add(&p, 100, 1) == GATE_FRAMES_PER_SEC);
    CHECK(gate_persec_full(&p, 100, GATE_FRAMES_PER_SEC)); /* the rest of second 100: no reads */
    CHECK(gate_persec_add(&p, 100, 0) == GATE_FRAMES_PER_SEC);
    CHECK(!gate_persec_full(&p, 101, GATE_FRAMES_PER_SEC)); /* a new second starts from zero */
    CHECK(p.frames == 0);
    CHECK(gate_persec_add(&p, 101, 3) == 3);
    CHECK(gate_persec_add(&p, 105, 2) == 2); /* seconds without reads are skipped */
    gate_persec big = {.sec = 7, .frames = UINT32_MAX - 1};
    CHECK(gate_persec_add(&big, 7, 5) == UINT32_MAX); /* saturates */
}
