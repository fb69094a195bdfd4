/* wps_jwt.h: HS256 JSON Web Tokens as Web PubSub uses them: client access tokens
 * (docs/protocols.md#client-access-tokens) and per-request REST tokens (#rest-authentication). The
 * key is the AccessKey's raw UTF-8 bytes. */
#ifndef WPS_JWT_H
#define WPS_JWT_H
#include <stddef.h>
#include <time.h>
#include <json-c/json.h>

#define WPS_JWT_MAX_LEN 8192     /* longest token accepted by wps_jwt_verify */
#define WPS_JWT_CLOCK_SKEW 300   /* seconds of leeway on exp/nbf (Microsoft's emulator: 5 min) */
#define WPS_JWT_MAX_DEPTH 16     /* JSON nesting accepted in header and claims */
#define WPS_JWT_MAX_LIST 64      /* roles, groups or audiences in one token */
#define WPS_JWT_MAX_NAME 1024    /* bytes of one sub, role or group value */
#define WPS_JWT_DEFAULT_TTL 3600 /* seconds, when a caller does not choose */

/* Claims in jsonwebtoken's order (role, webpubsub.group, iat, exp, aud, sub), each optional part
 * omitted when NULL/empty. The REST token (docs/protocols.md#rest-authentication) is
 * wps_jwt_claims_new(url, NULL, NULL, 0, NULL, 0, iat, exp). Returns a new object (json_object_put
 * it), NULL on allocation failure. */
json_object *wps_jwt_claims_new(const char *aud, const char *sub, const char *const *roles,
                                size_t nroles, const char *const *groups, size_t ngroups,
                                long long iat, long long exp);

/* Signs payload (serialised compactly, '/' unescaped) with header {"alg":"HS256","typ":"JWT"}.
 * Returns a malloc'd token, NULL on failure. */
char *wps_jwt_sign(const char *key, json_object *payload);

typedef struct {
    const char *const *aud; /* accepted audiences (any may match); naud == 0 skips the check */
    size_t naud;
    int aud_nocase; /* compare case-insensitively: client audiences (hub names are not case-
                     * sensitive); a trailing '/' is ignored either way */
    time_t now;     /* 0 = time(NULL); tests pass a fixed time */
} wps_jwt_expect;

typedef struct {
    const char *user_id;                 /* "sub"; NULL when absent (anonymous connection) */
    const char *roles[WPS_JWT_MAX_LIST]; /* "role": a string or an array of strings */
    size_t nroles;
    const char *groups[WPS_JWT_MAX_LIST]; /* "webpubsub.group": same rule */
    size_t ngroups;
    json_object *claims; /* the whole payload; owns every string above */
} wps_jwt_claims;

/* Verifies token (signature in constant time, alg HS256, exp required, nbf honoured, aud) and
 * fills out. Returns 0, or -1 with a reason in err (err may be NULL); on failure out holds
 * nothing. Release a success with wps_jwt_claims_free. */
int wps_jwt_verify(const char *key, const char *token, const wps_jwt_expect *expect,
                   wps_jwt_claims *out, char *err, size_t errlen);
void wps_jwt_claims_free(wps_jwt_claims *c);

#endif
