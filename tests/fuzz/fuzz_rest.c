/* fuzz_rest.c: hub-rest's handle() and route() (gateway/hub-rest/main.c): the REST path router
 * of /api/hubs/{hub}/..., segment decoding, query parameters (excluded, role, group, reason,
 * maxpagesize, before/after/limit, targetName), the OData filter of :addToGroups and the body
 * payloads. Both are static, so this file includes main.c with its main renamed.
 *
 * Input: "<method>\n<request URI>\n<Content-Type>\n<Authorization>\n<body>". An empty
 * Authorization line gets a valid bearer token for the URI's path (signed with the access key,
 * aud = public URL + path), so fuzzed paths reach route() and not only the 401; any other value
 * is sent as it is. Nothing outside answers (fuzz_util.h): database calls fail at once.
 * Property: a status that HTTP has (200..599) and a body whenever the status is not 204. */
#include "fuzz_util.h"

#include <sodium.h>

#define main hub_rest_main
#include "../../gateway/hub-rest/main.c"
#undef main

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

/* "Bearer <token>" valid for path (malloc'd). */
static char *bearer_for(const char *uri)
{
    char aud[8192];
    snprintf(aud, sizeof aud, "%s%.*s", FUZZ_PUBLIC_URL, (int)strcspn(uri, "?"), uri);
    time_t now = time(NULL);
    json_object *c = wps_jwt_claims_new(aud, NULL, NULL, 0, NULL, 0, now, now + 3600);
    char *tok = c ? hub_token_sign(c) : NULL;
    json_object_put(c);
    if (!tok) return NULL;
    size_t n = strlen(tok) + 8;
    char *h = malloc(n);
    if (!h) abort();
    snprintf(h, n, "Bearer %s", tok);
    free(tok);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024) return 0;
    fuzz_fields ff;
    fuzz_split(&ff, data, size, 5);
    const char *uri = ff.f[1];
    const char *q = strchr(uri, '?');
    char *auth = ff.len[3] ? NULL : bearer_for(uri);
    fuzz_req r;
    fuzz_req_init(&r, ff.f[0], uri, q ? q + 1 : "");
    fuzz_param(&r, "HUB_URI", uri);
    fuzz_param(&r, "QUERY_STRING", q ? q + 1 : "");
    fuzz_param(&r, "CONTENT_TYPE", ff.len[2] ? ff.f[2] : NULL);
    fuzz_param(&r, "HTTP_AUTHORIZATION", ff.len[3] ? ff.f[3] : auth);
    fuzz_body(&r, ff.f[4], ff.len[4]);
    hub_loop_after after = {0};
    handle(&r.req, &r.res, &after);
    FUZZ_ASSERT(r.res.status >= 200 && r.res.status <= 599);
    if (r.res.status != 204) FUZZ_ASSERT(r.res.body != NULL);
    free(auth);
    fuzz_req_free(&r);
    fuzz_fields_free(&ff);
    return 0;
}
