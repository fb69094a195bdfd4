/* fuzz_router.c: hub-router's handle() (gateway/hub-router/main.c): the client frame parser
 * (json.webpubsub.azure.v1 and the reliable subprotocol: type, ackId, group, event, dataType,
 * data, sequenceId) and the dispatch to every operation, with the connection context decoder
 * (hub_ctx_decode) in front. handle() is static, so this file includes main.c with its main
 * renamed. Nothing outside answers (fuzz_util.h): database calls fail at once, so operations
 * end in their error paths, which is where a frame's bytes meet the most code.
 *
 * Input: "<REQUEST_ID>\n<HUB_CTX>\n<frame>". HUB_CTX "0" .. "3" picks a prepared context
 * (0 JSON client with a user and roles on hub chat, 1 reliable client, 2 simple client, 3 JSON
 * client of hub testhub without roles); anything else is passed as it is (base64url JSON).
 * Property: the router only ever answers 200 (a JSON object: ack or pong) or 204 (nchan closes
 * the socket on anything else), except 403 to a refused recovery. */
#include "fuzz_util.h"

#include <sodium.h>

#define main hub_router_main
#include "../../gateway/hub-router/main.c"
#undef main

#define FUZZ_CTXS 4
static char *ctxs[FUZZ_CTXS];

static char *ctx_make(const char *hub, const char *user, const char *protocol, const char *roles)
{
    hub_ctx c = {0};
    snprintf(c.hub, sizeof c.hub, "%s", hub);
    c.user = (char *)user;
    snprintf(c.protocol, sizeof c.protocol, "%s", protocol);
    c.roles = json_tokener_parse(roles);
    c.groups = json_object_new_array();
    char *s = hub_ctx_encode(&c);
    json_object_put(c.roles);
    json_object_put(c.groups);
    if (!s) abort();
    return s;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    ctxs[0] = ctx_make("chat", "alice", HUB_PROTO_JSON,
                       "[\"webpubsub.sendToGroup\",\"webpubsub.joinLeaveGroup\"]");
    ctxs[1] = ctx_make("chat", "bob", HUB_PROTO_RELIABLE, "[\"webpubsub.sendToGroup.g1\"]");
    ctxs[2] = ctx_make("chat", "carol", "", "[]");
    ctxs[3] = ctx_make("testhub", NULL, HUB_PROTO_JSON, "[]");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > HUB_MAX_FRAME + 4096) return 0;
    fuzz_fields ff;
    fuzz_split(&ff, data, size, 3);
    const char *ctx = ff.f[1];
    if (ff.len[1] == 1 && ff.f[1][0] >= '0' && ff.f[1][0] < '0' + FUZZ_CTXS)
        ctx = ctxs[ff.f[1][0] - '0'];
    fuzz_req r;
    fuzz_req_init(&r, "POST", "/hub/frame", "");
    fuzz_param(&r, "REQUEST_ID", ff.f[0]);
    fuzz_param(&r, "HUB_CTX", ctx);
    fuzz_body(&r, ff.f[2], ff.len[2]);
    hub_loop_after after = {0};
    handle(&r.req, &r.res, &after);
    FUZZ_ASSERT(r.res.status == 200 || r.res.status == 204);
    if (r.res.status == 200) {
        FUZZ_ASSERT(r.res.body && r.res.body_len > 0);
        json_object *o = json_tokener_parse(r.res.body);
        FUZZ_ASSERT(o && json_object_is_type(o, json_type_object));
        json_object_put(o);
    }
    fuzz_req_free(&r);
    fuzz_fields_free(&ff);
    return 0;
}
