/* proto.c: the two protocols the generator speaks over WebSocket.
 *   wps: json.webpubsub.azure.v1 (docs/protocols.md#subprotocol-frames): token signed with the
 *        access key as the SDK does (wps_jwt), wait for "connected", joinGroup with ackId 1
 *        (groups, ceiling), sendToGroup (groups) or event "echo" (echo, answered by the hub's
 *        event handler).
 *   sio: Engine.IO v4 / Socket.IO v5 over the websocket transport, straight away (no polling):
 *        "0{...}" open, "40" connect, 421["join",g] acked by 431[true], 42["send",...] or
 *        42["echo",...]; "2" → "3".
 * Every message carries data {"bench":[sender,seq,send_us],"pad":"..."}: --size bytes of JSON.
 * Deliveries: wps "message" from group (groups, ceiling) or from server (echo, user); sio
 * ["msg",{room,data}] (groups), ["echo",{data}] (echo), ["msg",{data}] (user). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <sodium.h>

#include "wps_jwt.h"

#define WPS_SUBPROTOCOL "json.webpubsub.azure.v1"
#define BENCH_MARK "\"bench\":["
#define JOIN_ACK_ID 1

static char *hub_token(bench *b, client *c)
{
    char aud[512], sub[BENCH_NAME_LEN];
    snprintf(aud, sizeof aud, "http://%s:%d/client/hubs/%s", b->host, b->port, b->hub);
    snprintf(sub, sizeof sub, "%su%d", b->prefix, c->idx);
    const char *roles[] = {"webpubsub.joinLeaveGroup", "webpubsub.sendToGroup"};
    long long now = (long long)time(NULL);
    json_object *claims = wps_jwt_claims_new(aud, sub, roles, 2, NULL, 0, now, now + 3600);
    if (!claims) return NULL;
    char *tok = wps_jwt_sign(b->key, claims);
    json_object_put(claims);
    return tok;
}

char *proto_upgrade_request(bench *b, client *c, size_t *len)
{
    unsigned char nonce[16];
    char key[sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_ORIGINAL)];
    randombytes_buf(nonce, sizeof nonce);
    sodium_bin2base64(key, sizeof key, nonce, sizeof nonce, sodium_base64_VARIANT_ORIGINAL);
    char *req = NULL;
    int n;
    if (b->mode == MODE_WPS) {
        char *tok = hub_token(b, c);
        if (!tok) return NULL;
        n = asprintf(&req,
                     "GET /client/hubs/%s?access_token=%s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " WPS_SUBPROTOCOL
                     "\r\n\r\n",
                     b->hub, tok, b->host, b->port, key);
        free(tok);
    } else {
        n = asprintf(&req,
                     "GET /socket.io/?EIO=4&transport=websocket&user=%su%d HTTP/1.1\r\n"
                     "Host: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     b->prefix, c->idx, b->host, b->port, key);
    }
    if (n < 0) return NULL;
    *len = (size_t)n;
    return req;
}

/* headers: the NUL-terminated response head. Sec-WebSocket-Accept is not verified (it needs
 * SHA-1, which libsodium lacks); loopback only, and the status and subprotocol are checked. */
int proto_check_upgrade(bench *b, const char *headers)
{
    if (strncmp(headers, "HTTP/1.1 101", 12) != 0) return -1;
    if (b->mode == MODE_WPS && !strcasestr(headers, "Sec-WebSocket-Protocol: " WPS_SUBPROTOCOL))
        return -1;
    return 0;
}

/* The fast path for deliveries: our own marker, written by proto_send_message, then numbers. */
static int scan_bench(const char *text, size_t len, long long v[3])
{
    const char *p = memmem(text, len, BENCH_MARK, sizeof BENCH_MARK - 1);
    if (!p) return 0;
    p += sizeof BENCH_MARK - 1;
    const char *end = text + len;
    for (int i = 0; i < 3; i++) {
        char *q;
        if (p >= end) return -1;
        v[i] = strtoll(p, &q, 10);
        if (q == p || q >= end || *q != (i < 2 ? ',' : ']')) return -1;
        p = q + 1;
    }
    return 1;
}

static json_object *parse_len(const char *text, size_t len)
{
    json_tokener *tk = json_tokener_new();
    if (!tk) return NULL;
    json_object *root = json_tokener_parse_ex(tk, text, (int)len);
    if (root && json_tokener_get_parse_end(tk) != len) {
        json_object_put(root);
        root = NULL;
    }
    json_tokener_free(tk);
    return root;
}

static int has_group(const bench *b)
{
    return b->scenario == SC_GROUPS || b->scenario == SC_CEILING;
}

static int str_is(json_object *o, const char *key, const char *want)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) &&
           strcmp(json_object_get_string(v), want) == 0;
}

/* --strict: the whole frame parsed with json-c and its envelope checked. Returns the group (""
 * when the scenario has none), NULL when the envelope is wrong. */
static const char *strict_group(bench *b, json_object *root)
{
    json_object *o;
    if (b->mode == MODE_WPS) {
        if (!str_is(root, "type", "message") ||
            !str_is(root, "from", has_group(b) ? "group" : "server"))
            return NULL;
        if (!str_is(root, "dataType", "json")) return NULL;
        if (!json_object_object_get_ex(root, "data", &o) ||
            !json_object_is_type(o, json_type_object))
            return NULL;
        if (!has_group(b)) return "";
        return json_object_object_get_ex(root, "group", &o) ? json_object_get_string(o) : NULL;
    }
    if (!json_object_is_type(root, json_type_array) || json_object_array_length(root) != 2)
        return NULL;
    const char *ev = json_object_get_string(json_object_array_get_idx(root, 0));
    json_object *m = json_object_array_get_idx(root, 1);
    if (!ev || strcmp(ev, b->scenario == SC_ECHO ? "echo" : "msg") != 0) return NULL;
    if (!json_object_object_get_ex(m, "data", &o) || !json_object_is_type(o, json_type_object))
        return NULL;
    if (!has_group(b)) return json_object_object_get_ex(m, "room", &o) ? NULL : "";
    return json_object_object_get_ex(m, "room", &o) ? json_object_get_string(o) : NULL;
}

static void on_delivery(bench *b, client *c, const char *text, size_t len, const long long v[3])
{
    if (!b->strict) {
        bench_delivery(b, c, v[0], v[1], v[2], NULL, 0);
        return;
    }
    const char *js = b->mode == MODE_WPS ? text : text + 2; /* sio: skip "42" */
    size_t jlen = b->mode == MODE_WPS ? len : len - 2;
    json_object *root = parse_len(js, jlen);
    const char *g = root ? strict_group(b, root) : NULL;
    if (!g)
        b->malformed++;
    else if (!*g)
        bench_delivery(b, c, v[0], v[1], v[2], NULL, 0);
    else
        bench_delivery(b, c, v[0], v[1], v[2], g, strlen(g));
    json_object_put(root);
}

static void wps_on_text(bench *b, client *c, const char *text, size_t len)
{
    json_object *root = parse_len(text, len), *o;
    if (!root) {
        b->malformed++;
        return;
    }
    const char *type = json_object_object_get_ex(root, "type", &o) ? json_object_get_string(o) : "";
    if (!strcmp(type, "system")) {
        const char *ev =
            json_object_object_get_ex(root, "event", &o) ? json_object_get_string(o) : "";
        if (!strcmp(ev, "connected") && c->state == C_OPEN) {
            const char *id = json_object_object_get_ex(root, "connectionId", &o)
                                 ? json_object_get_string(o)
                                 : "";
            snprintf(c->conn_id, sizeof c->conn_id, "%s", strlen(id) < sizeof c->conn_id ? id : "");
            if (!proto_needs_join(b)) {
                client_ready(b, c);
                json_object_put(root);
                return;
            }
            char join[256];
            int n = snprintf(join, sizeof join,
                             "{\"type\":\"joinGroup\",\"group\":\"%sg%d\",\"ackId\":%d}", b->prefix,
                             c->group, JOIN_ACK_ID);
            c->state = C_JOINING;
            client_send_text(b, c, join, (size_t)n);
        } else if (!strcmp(ev, "disconnected")) {
            client_fail(b, c, "disconnected by the hub");
        }
    } else if (!strcmp(type, "ack")) {
        int ok = json_object_object_get_ex(root, "success", &o) && json_object_get_boolean(o);
        if (c->state == C_JOINING && ok)
            client_ready(b, c);
        else if (!ok)
            client_fail(b, c, "ack success:false");
    } else {
        b->other++;
    }
    json_object_put(root);
}

static void sio_on_text(bench *b, client *c, const char *text, size_t len)
{
    if (len == 1 && text[0] == '2') { /* Engine.IO ping */
        client_send_text(b, c, "3", 1);
    } else if (text[0] == '0' && c->state == C_OPEN) { /* Engine.IO open */
        client_send_text(b, c, "40", 2);
    } else if (len >= 2 && !strncmp(text, "40", 2) && c->state == C_OPEN) { /* namespace joined */
        if (!proto_needs_join(b)) {
            client_ready(b, c);
            return;
        }
        char join[256];
        int n = snprintf(join, sizeof join, "42%d[\"join\",\"%sg%d\"]", JOIN_ACK_ID, b->prefix,
                         c->group);
        c->state = C_JOINING;
        client_send_text(b, c, join, (size_t)n);
    } else if (!strncmp(text, "431[true]", 9) && c->state == C_JOINING) {
        client_ready(b, c);
    } else if (len >= 2 && (!strncmp(text, "41", 2) || !strncmp(text, "44", 2) || text[0] == '1')) {
        client_fail(b, c, "closed by the Socket.IO server");
    } else {
        b->other++;
    }
}

void proto_on_text(bench *b, client *c, const char *text, size_t len)
{
    long long v[3];
    int r = scan_bench(text, len, v);
    if (r > 0)
        on_delivery(b, c, text, len, v);
    else if (r < 0)
        b->malformed++;
    else if (b->mode == MODE_WPS)
        wps_on_text(b, c, text, len);
    else if (len)
        sio_on_text(b, c, text, len);
}

int proto_needs_join(const bench *b)
{
    return has_group(b);
}

int proto_data(bench *b, client *c, uint64_t ts, char *out)
{
    int h = sprintf(out, "{" BENCH_MARK "%d,%u,%llu],\"pad\":\"", c->idx, c->seq,
                    (unsigned long long)ts);
    int padlen = b->size - h - 2; /* data = head + pad + "\"}" is exactly --size bytes */
    if (padlen < 0) padlen = 0;
    memcpy(out + h, b->pad, (size_t)padlen);
    h += padlen;
    h += sprintf(out + h, "\"}");
    c->seq++;
    return h;
}

int proto_send_message(bench *b, client *c, uint64_t now)
{
    char *buf = malloc((size_t)b->size + 512);
    if (!buf) return -1;
    int n, echo = b->scenario == SC_ECHO;
    if (b->mode == MODE_WPS && echo)
        n = sprintf(buf, "{\"type\":\"event\",\"event\":\"echo\",\"dataType\":\"json\",\"data\":");
    else if (b->mode == MODE_WPS)
        n = sprintf(buf,
                    "{\"type\":\"sendToGroup\",\"group\":\"%sg%d\",\"dataType\":\"json\",\"data\":",
                    b->prefix, c->group);
    else if (echo)
        n = sprintf(buf, "42[\"echo\",{\"data\":");
    else
        n = sprintf(buf, "42[\"send\",{\"room\":\"%sg%d\",\"data\":", b->prefix, c->group);
    n += proto_data(b, c, now, buf + n);
    n += sprintf(buf + n, b->mode == MODE_WPS ? "}" : "}]");
    int r = client_send_text(b, c, buf, (size_t)n);
    free(buf);
    return r;
}
