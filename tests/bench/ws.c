/* ws.c: RFC 6455 client framing (see ws.h). */
#include "ws.h"

#include <stdlib.h>
#include <string.h>

int ws_parse(const uint8_t *buf, size_t avail, ws_hdr *h)
{
    if (avail < 2) return 0;
    uint8_t b0 = buf[0], b1 = buf[1];
    if (b0 & 0x70) return -1; /* RSV bits: no extension negotiated */
    if (b1 & 0x80) return -1; /* servers never mask */
    h->fin = (b0 & 0x80) != 0;
    h->opcode = b0 & 0x0f;
    int control = h->opcode & 0x8;
    if (h->opcode > WS_OP_BINARY && !control) return -1;
    if (h->opcode > WS_OP_PONG) return -1;
    uint64_t len = b1 & 0x7f;
    size_t hl = 2;
    if (len == 126) {
        if (avail < 4) return 0;
        len = ((uint64_t)buf[2] << 8) | buf[3];
        hl = 4;
    } else if (len == 127) {
        if (avail < 10) return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | buf[2 + i];
        hl = 10;
    }
    if (control && (!h->fin || len > WS_MAX_CONTROL)) return -1;
    if (len > WS_MAX_MESSAGE) return -1;
    h->len = len;
    h->hdr_len = hl;
    return avail >= hl + len ? 1 : 0;
}

size_t ws_encode(uint8_t *out, int opcode, const void *payload, size_t len, const uint8_t *mask)
{
    size_t n = 0;
    out[n++] = (uint8_t)(0x80 | (opcode & 0x0f));
    uint8_t mbit = mask ? 0x80 : 0;
    if (len < 126) {
        out[n++] = (uint8_t)(mbit | len);
    } else if (len <= 0xffff) {
        out[n++] = mbit | 126;
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = mbit | 127;
        for (int i = 7; i >= 0; i--)
            out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    const uint8_t *p = payload;
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
        for (size_t i = 0; i < len; i++)
            out[n + i] = p[i] ^ mask[i & 3];
    } else if (len) {
        memcpy(out + n, p, len);
    }
    return n + len;
}

int ws_msg_add(ws_msg *m, const ws_hdr *h, const uint8_t *payload, const uint8_t **out,
               size_t *outlen, int *opcode)
{
    if (h->opcode == WS_OP_CONT) {
        if (!m->opcode) return -1;
    } else {
        if (m->opcode) return -1;
        if (h->fin) { /* the common case: no copy */
            *out = payload;
            *outlen = h->len;
            *opcode = h->opcode;
            return 1;
        }
        m->opcode = h->opcode;
        m->len = 0;
    }
    if (m->len + h->len > WS_MAX_MESSAGE) return -1;
    if (m->len + h->len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + h->len)
            cap *= 2;
        uint8_t *nb = realloc(m->buf, cap);
        if (!nb) return -1;
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, payload, h->len);
    m->len += h->len;
    if (!h->fin) return 0;
    *out = m->buf;
    *outlen = m->len;
    *opcode = m->opcode;
    m->opcode = 0;
    return 1;
}

void ws_msg_free(ws_msg *m)
{
    free(m->buf);
    m->buf = NULL;
    m->len = m->cap = 0;
    m->opcode = 0;
}
