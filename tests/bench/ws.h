/* ws.h: the client side of RFC 6455 framing for the load generator: encode masked client frames,
 * parse unmasked server frames from a byte stream that may hold partial frames, and reassemble
 * fragmented messages. No I/O here, so it is unit-tested byte by byte (test_ws.c). */
#ifndef BENCH_WS_H
#define BENCH_WS_H
#include <stddef.h>
#include <stdint.h>

#define WS_OP_CONT 0x0
#define WS_OP_TEXT 0x1
#define WS_OP_BINARY 0x2
#define WS_OP_CLOSE 0x8
#define WS_OP_PING 0x9
#define WS_OP_PONG 0xA

#define WS_MAX_HEADER 14          /* 2 + 8 (64-bit length) + 4 (mask) */
#define WS_MAX_MESSAGE (1u << 20) /* longest frame or reassembled message we accept */
#define WS_MAX_CONTROL 125        /* control frames carry at most 125 bytes (RFC 6455 §5.5) */

typedef struct {
    int fin;
    int opcode;
    uint64_t len;   /* payload length */
    size_t hdr_len; /* bytes before the payload */
} ws_hdr;

/* Parses the frame at buf. Returns 1 when the header AND the whole payload are in buf (the frame
 * is buf[0 .. hdr_len+len)), 0 when more bytes are needed, -1 on a protocol error (masked server
 * frame, reserved bits or opcode, oversized or fragmented control frame, length over
 * WS_MAX_MESSAGE). */
int ws_parse(const uint8_t *buf, size_t avail, ws_hdr *h);

/* Writes one frame (FIN set) into out, which must hold len + WS_MAX_HEADER bytes. With mask
 * (4 bytes) the payload is masked, as a client must; with mask NULL it is not (server frames, for
 * tests). Returns the frame's length. */
size_t ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, const uint8_t *mask);

/* Reassembles data messages from frames. */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int opcode; /* of the message being assembled, 0 when none */
} ws_msg;

/* Feeds one data frame (opcode TEXT, BINARY or CONT; control frames are the caller's). Returns 1
 * when a whole message is ready (*out, *outlen, *opcode: the payload itself for an unfragmented
 * frame, else the assembled buffer, valid until the next call), 0 when more fragments are
 * needed, -1 on error (continuation without a start, a new message inside a fragmented one, too
 * long, out of memory). */
int ws_msg_add(ws_msg *m, const ws_hdr *h, const uint8_t *payload, const uint8_t **out,
               size_t *outlen, int *opcode);
void ws_msg_free(ws_msg *m);

#endif
