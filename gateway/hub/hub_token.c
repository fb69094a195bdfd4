/* hub_token.c: the hub's token checks on top of the SDK (gateway/sdk/wps_jwt): client access
 * tokens (docs/protocols.md#client-access-tokens) and REST bearer tokens (#rest-authentication),
 * both signed with the access key. The only hub-specific part is the lenient audience rule: the hub
 * knows its request path but not the public URL a client or server SDK was given, so aud is
 * compared by path only. Within the path, "/<x>/hubs/<hub>" ignores case (hub names do); what
 * follows (group names, user and connection ids) is compared exactly: a token for groups/Foo is no
 * token for groups/foo. */
#include "hub_token.h"
#include "hub_key.h"
#include "wps_jwt.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

/* Path of a URL without query and trailing slashes: "http://h:1/a/b/?x" -> "/a/b". */
static size_t url_path(const char *u, const char **path)
{
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : u;
    if (!p) p = "/";
    *path = p;
    size_t n = strcspn(p, "?#");
    while (n > 1 && p[n - 1] == '/')
        n--;
    return n;
}

/* Length of the first three segments of a path ("/api/hubs/chat" of "/api/hubs/chat/groups/G"). */
static size_t hub_prefix_len(const char *p, size_t n)
{
    size_t i = 0;
    for (int seg = 0; seg < 3 && i < n; seg++) {
        i++; /* the '/' */
        while (i < n && p[i] != '/')
            i++;
    }
    return i;
}

/* Does any audience of the token name path? The hub part ignores case, the rest does not. */
static int aud_path_ok(json_object *claims, const char *path)
{
    json_object *aud;
    if (!json_object_object_get_ex(claims, "aud", &aud)) return 0;
    const char *want;
    size_t wn = url_path(path, &want);
    size_t wp = hub_prefix_len(want, wn);
    int is_arr = json_object_is_type(aud, json_type_array);
    size_t n = is_arr ? json_object_array_length(aud) : 1;
    for (size_t i = 0; i < n; i++) {
        json_object *a = is_arr ? json_object_array_get_idx(aud, i) : aud;
        if (!json_object_is_type(a, json_type_string)) continue;
        const char *got;
        size_t gn = url_path(json_object_get_string(a), &got);
        if (gn == wn && strncasecmp(got, want, wp) == 0 &&
            memcmp(got + wp, want + wp, wn - wp) == 0)
            return 1;
    }
    return 0;
}

int hub_token_verify(const char *token, const char *path, wps_jwt_claims *out, char *err,
                     size_t errlen)
{
    wps_jwt_expect ex = {0}; /* aud checked below, by path */
    if (wps_jwt_verify(hub_key_access(), token, &ex, out, err, errlen) != 0) return -1;
    if (!aud_path_ok(out->claims, path)) {
        if (err && errlen) snprintf(err, errlen, "token: aud is not %s", path);
        wps_jwt_claims_free(out);
        return -1;
    }
    return 0;
}

char *hub_token_sign(json_object *claims)
{
    return wps_jwt_sign(hub_key_access(), claims);
}
