/* frame_gate.c: per-connection token buckets and the gate's error acks (frame_gate.h). */
#include "frame_gate.h"

#include <json-c/json.h>
#include <string.h>

static uint32_t gate_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return h;
}

static gate_bucket *gate_find(gate_table *t, const char *key, size_t keylen, uint64_t now_ms,
                              double burst)
{
    gate_bucket *set = &t->slot[(gate_hash(key, keylen) % (GATE_SLOTS / GATE_WAYS)) * GATE_WAYS];
    gate_bucket *oldest = &set[0];
    for (int i = 0; i < GATE_WAYS; i++) {
        gate_bucket *b = &set[i];
        if (b->at_ms && strlen(b->key) == keylen && memcmp(b->key, key, keylen) == 0) return b;
        if (b->at_ms < oldest->at_ms) oldest = b;
    }
    memcpy(oldest->key, key, keylen);
    oldest->key[keylen] = '\0';
    oldest->tokens = burst;
    oldest->warned = 0;
    oldest->at_ms = now_ms ? now_ms : 1;
    return oldest;
}

gate_verdict gate_take(gate_table *t, const char *key, size_t keylen, uint64_t now_ms, double rate,
                       double burst)
{
    gate_verdict v = {.allowed = 0, .first_refusal = 0, .left = 0};
    if (keylen == 0 || keylen > GATE_MAX_KEY) return v;
    gate_bucket *b = gate_find(t, key, keylen, now_ms, burst);
    if (now_ms > b->at_ms) {
        b->tokens += (double)(now_ms - b->at_ms) * rate / 1000.0;
        if (b->tokens > burst) b->tokens = burst;
        b->at_ms = now_ms;
    }
    if (b->tokens >= 1) {
        b->tokens -= 1;
        b->warned = 0;
        v.allowed = 1;
    } else {
        v.first_refusal = !b->warned;
        b->warned = 1;
    }
    v.left = b->tokens;
    return v;
}

size_t gate_ack(const char *frame, size_t len, const char *name, const char *message, char *out,
                size_t outlen)
{
    if (!frame || len == 0 || len > GATE_MAX_PARSE || outlen == 0) return 0;
    json_tokener *tok = json_tokener_new_ex(GATE_JSON_DEPTH);
    if (!tok) return 0;
    json_object *msg = json_tokener_parse_ex(tok, frame, (int)len);
    int parsed = json_tokener_get_error(tok) == json_tokener_success &&
                 (size_t)json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    json_object *v;
    size_t n = 0;
    if (parsed && msg && json_object_is_type(msg, json_type_object) &&
        json_object_object_get_ex(msg, "ackId", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) >= 0) {
        json_object *a = json_object_new_object(), *e = json_object_new_object();
        json_object_object_add(a, "type", json_object_new_string("ack"));
        json_object_object_add(a, "ackId", json_object_new_uint64(json_object_get_uint64(v)));
        json_object_object_add(a, "success", json_object_new_boolean(0));
        json_object_object_add(e, "name", json_object_new_string(name));
        json_object_object_add(e, "message", json_object_new_string(message));
        json_object_object_add(a, "error", e);
        const char *s = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN);
        size_t slen = s ? strlen(s) : 0;
        if (slen > 0 && slen < outlen) {
            memcpy(out, s, slen + 1);
            n = slen;
        }
        json_object_put(a);
    }
    json_object_put(msg);
    return n;
}

/* The header length once its second byte is known: extended length and mask key. */
static uint8_t gate_ws_head_len(const uint8_t *head)
{
    uint8_t len7 = head[1] & 0x7f;
    return (uint8_t)(2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((head[1] & 0x80) ? 4 : 0));
}

static uint64_t gate_ws_payload_len(const uint8_t *head)
{
    uint8_t len7 = head[1] & 0x7f;
    uint64_t len = len7;
    if (len7 == 126) len = ((uint64_t)head[2] << 8) | head[3];
    if (len7 == 127) {
        len = 0;
        for (int i = 2; i < 10; i++)
            len = (len << 8) | head[i];
    }
    return len;
}

size_t gate_wsscan_feed(gate_wsscan *s, const uint8_t *p, size_t n)
{
    size_t frames = 0;
    while (n > 0) {
        if (s->in_payload) {
            uint64_t take = s->left < n ? s->left : n;
            s->left -= take;
            p += take;
            n -= (size_t)take;
        } else {
            if (s->need == 0) s->need = 2;
            s->head[s->have++] = *p++;
            n--;
            if (s->have == 2) s->need = gate_ws_head_len(s->head);
            if (s->have < s->need) continue;
            s->left = gate_ws_payload_len(s->head);
            s->in_payload = 1;
        }
        if (s->in_payload && s->left == 0) { /* the frame's last byte: nchan queues it now */
            uint8_t opcode = s->head[0] & 0x0f;
            if (opcode == 1 || opcode == 2) frames++;
            s->have = s->need = s->in_payload = 0;
        }
    }
    return frames;
}

static void gate_persec_roll(gate_persec *p, int64_t now_sec)
{
    if (p->sec != now_sec) {
        p->sec = now_sec;
        p->frames = 0;
    }
}

int gate_persec_full(gate_persec *p, int64_t now_sec, uint32_t max)
{
    gate_persec_roll(p, now_sec);
    return p->frames >= max;
}

uint32_t gate_persec_add(gate_persec *p, int64_t now_sec, size_t n)
{
    gate_persec_roll(p, now_sec);
    p->frames = n > UINT32_MAX - p->frames ? UINT32_MAX : p->frames + (uint32_t)n;
    return p->frames;
}
