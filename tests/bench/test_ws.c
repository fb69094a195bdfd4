/* test_ws.c: unit tests of the generator's WebSocket framing (ws.c): lengths of every size class,
 * masking, frames split across reads, fragmented messages, control frames, protocol errors. */
#include "ws.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c);                  \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* A server frame (unmasked) of len bytes round-trips through ws_parse, also byte by byte. */
static void test_lengths(void)
{
    size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t len = sizes[k];
        uint8_t *p = malloc(len + 1), *f = malloc(len + WS_MAX_HEADER);
        for (size_t i = 0; i < len; i++)
            p[i] = (uint8_t)(i * 7);
        size_t n = ws_encode(f, WS_OP_TEXT, p, len, NULL);
        ws_hdr h;
        for (size_t avail = 0; avail < n; avail += (len > 1000 ? 997 : 1))
            CHECK(ws_parse(f, avail, &h) == 0);
        CHECK(ws_parse(f, n, &h) == 1);
        CHECK(h.fin && h.opcode == WS_OP_TEXT && h.len == len && h.hdr_len + len == n);
        CHECK(h.hdr_len == (len < 126 ? 2u : len <= 65535 ? 4u : 10u));
        CHECK(memcmp(f + h.hdr_len, p, len) == 0);
        free(p);
        free(f);
    }
}

/* Client frames carry the mask bit and the key, and the payload XORed with it. */
static void test_mask(void)
{
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    uint8_t f[64];
    size_t n = ws_encode(f, WS_OP_TEXT, "Hello", 5, mask);
    /* RFC 6455 §5.7 example: a masked "Hello" */
    const uint8_t want[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    CHECK(n == sizeof want && memcmp(f, want, n) == 0);
    ws_hdr h;
    CHECK(ws_parse(f, n, &h) == -1); /* a masked frame from a server is an error */
}

/* RFC 6455 §5.7: "Hel" then "lo" as a fragmented text message with a ping in between. */
static void test_fragments(void)
{
    const uint8_t stream[] = {0x01, 0x03, 'H',  'e',  'l', 0x89, 0x02,
                              'h',  'i',  0x80, 0x02, 'l', 'o'};
    ws_msg m = {0};
    size_t off = 0;
    int messages = 0, pings = 0;
    while (off < sizeof stream) {
        ws_hdr h;
        CHECK(ws_parse(stream + off, sizeof stream - off, &h) == 1);
        const uint8_t *pl = stream + off + h.hdr_len, *out;
        size_t outlen;
        int op;
        if (h.opcode == WS_OP_PING) {
            pings++;
            CHECK(h.len == 2 && memcmp(pl, "hi", 2) == 0);
        } else {
            int r = ws_msg_add(&m, &h, pl, &out, &outlen, &op);
            if (r == 1) {
                messages++;
                CHECK(op == WS_OP_TEXT && outlen == 5 && memcmp(out, "Hello", 5) == 0);
            } else {
                CHECK(r == 0);
            }
        }
        off += h.hdr_len + h.len;
    }
    CHECK(messages == 1 && pings == 1);
    /* a continuation with nothing to continue, and a new message inside a fragmented one */
    ws_hdr c = {.fin = 1, .opcode = WS_OP_CONT, .len = 1, .hdr_len = 2};
    const uint8_t *out;
    size_t outlen;
    int op;
    CHECK(ws_msg_add(&m, &c, (const uint8_t *)"x", &out, &outlen, &op) == -1);
    ws_hdr s = {.fin = 0, .opcode = WS_OP_TEXT, .len = 1, .hdr_len = 2};
    CHECK(ws_msg_add(&m, &s, (const uint8_t *)"x", &out, &outlen, &op) == 0);
    CHECK(ws_msg_add(&m, &s, (const uint8_t *)"x", &out, &outlen, &op) == -1);
    ws_msg_free(&m);
}

static void test_errors(void)
{
    ws_hdr h;
    const uint8_t rsv[] = {0xc1, 0x00};                 /* RSV1 without an extension */
    const uint8_t badop[] = {0x83, 0x00};               /* reserved data opcode */
    const uint8_t bigping[] = {0x89, 0x7e, 0x00, 0x80}; /* control frame over 125 bytes */
    const uint8_t fragping[] = {0x09, 0x00};            /* fragmented control frame */
    const uint8_t huge[] = {0x81, 0x7f, 0, 0, 0, 0, 0x10, 0, 0, 0}; /* 256 MiB */
    CHECK(ws_parse(rsv, 2, &h) == -1);
    CHECK(ws_parse(badop, 2, &h) == -1);
    CHECK(ws_parse(bigping, 4, &h) == -1);
    CHECK(ws_parse(fragping, 2, &h) == -1);
    CHECK(ws_parse(huge, sizeof huge, &h) == -1);
    const uint8_t close[] = {0x88, 0x02, 0x03, 0xe8}; /* close 1000 */
    CHECK(ws_parse(close, 4, &h) == 1 && h.opcode == WS_OP_CLOSE && h.len == 2);
}

int main(void)
{
    test_lengths();
    test_mask();
    test_fragments();
    test_errors();
    if (failures) {
        fprintf(stderr, "test_ws: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_ws: ok\n");
    return 0;
}
