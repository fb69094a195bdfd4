/* frame_gate.h: the pure logic of the frame gate (ngx_http_chatr_gate_module.c), kept free of
 * nginx so tests/unit can run it: a table of per-connection token buckets that lives in shared
 * memory (one for every nginx worker, so the limit is exact however many workers run), and the
 * error ack the gate sends for a frame it answers itself. See docs/frame-gate.md. */
#ifndef CHATR_FRAME_GATE_H
#define CHATR_FRAME_GATE_H

#include <stddef.h>
#include <stdint.h>

#define GATE_MAX_KEY 64  /* a connection id (HUB_MAX_CONN_ID); longer keys are refused */
#define GATE_SLOTS 16384 /* buckets in the table ... */
#define GATE_WAYS 8      /* ... searched GATE_WAYS at a time (set-associative) */
#define GATE_MAX_PARSE (1024 * 1024) /* frames read for an ackId (HUB_MAX_FRAME) */
#define GATE_JSON_DEPTH 64           /* as the router parses frames (HUB_JSON_DEPTH) */
#define GATE_MAX_ACK 512             /* an error ack the gate writes */
#define GATE_WS_MAX_HEAD 14          /* a WebSocket frame header: 2 + 8 (length) + 4 (mask) */
/* nchan 1.3.6 numbers the messages of a channel within one second with a 16-bit counter (the
 * message id's tag): the 32,768th message of one second wraps it, and the next message to a
 * multi-channel subscriber (every client socket) aborts the worker (nchan_msg.c:675,
 * assert(nonnegs == 1)). Every frame's answer is a message in its socket's own channel. */
#define GATE_NCHAN_TAG_MAX 32767
/* So the gate reads at most this many frames of one socket per second (docs/frame-gate.md,
 * "A socket's frames per second"): twice what hub-router would ever take in one second (a full
 * burst plus a second of rate), and a fraction of GATE_NCHAN_TAG_MAX, which leaves the rest for
 * the messages other connections send to the socket and for workers whose clocks differ. */
#define GATE_FRAMES_PER_SEC 4096

typedef struct gate_bucket {
    char key[GATE_MAX_KEY + 1];
    uint8_t warned; /* refused since it last had a token: logged once per episode */
    double tokens;
    uint64_t at_ms; /* last refill; 0: the slot is free */
} gate_bucket;

typedef struct gate_table {
    gate_bucket slot[GATE_SLOTS];
} gate_table;

typedef struct gate_verdict {
    int allowed;       /* 1: the frame may go on to hub-router */
    int first_refusal; /* 1: the first refusal since this connection last had a token */
    double left;       /* tokens left after this frame */
} gate_verdict;

/* Takes one token from key's bucket (rate tokens per second, at most burst), now_ms on a
 * monotonic clock. A new connection starts with a full bucket. When all GATE_WAYS slots of its
 * set are taken, the slot idle longest is reused: a bucket idle for burst/rate seconds is full
 * again anyway, so nothing is lost unless more than GATE_WAYS connections of one set are busy. */
gate_verdict gate_take(gate_table *t, const char *key, size_t keylen, uint64_t now_ms, double rate,
                       double burst);

/* The error ack for a frame the gate answers itself: writes
 * {"type":"ack","ackId":N,"success":false,"error":{"name":name,"message":message}} to out and
 * returns its length, or 0 when the frame is not a JSON object with an unsigned integer ackId
 * (then it gets no answer: it is dropped, as hub-router drops such frames over the rate). */
size_t gate_ack(const char *frame, size_t len, const char *name, const char *message, char *out,
                size_t outlen);

/* Where a client's WebSocket byte stream stands (RFC 6455 §5.2), fed with the bytes nginx reads
 * from the socket, so the gate knows when nchan has read a whole data frame (and queued it as a
 * fake request) without parsing a frame itself. Only the framing is read: 2 header bytes, the
 * extended length (2 or 8 bytes), the mask key (4), then the payload is skipped. */
typedef struct gate_wsscan {
    uint8_t head[GATE_WS_MAX_HEAD];
    uint8_t have;  /* header bytes seen of the frame being read */
    uint8_t need;  /* its header length (2 until the second byte is known) */
    uint64_t left; /* payload bytes still to come, once the header is complete */
    uint8_t in_payload;
} gate_wsscan;

/* Feeds n bytes of the stream; returns how many data frames (text or binary: the ones nchan
 * hands to /_hub/frame) ended within them. Control frames (ping, pong, close) are not counted. */
size_t gate_wsscan_feed(gate_wsscan *s, const uint8_t *p, size_t n);

/* A socket's frames read in the current second (of nginx's cached clock, as nchan's message
 * ids use it). */
typedef struct gate_persec {
    int64_t sec;     /* the second counted */
    uint32_t frames; /* data frames read in it */
} gate_persec;

/* 1 when the socket has read max frames in now_sec already (the gate reads no more until the
 * next second); a new second starts from zero. */
int gate_persec_full(gate_persec *p, int64_t now_sec, uint32_t max);

/* Counts n data frames read at now_sec; returns the second's count. */
uint32_t gate_persec_add(gate_persec *p, int64_t now_sec, size_t n);

#endif
