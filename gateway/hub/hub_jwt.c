/* hub_jwt.c: access-token checks for the hub (PROTOCOL.md §1.3, §4.1).
 * STOPGAP: gateway/sdk (wps_jwt_*) is being written; once it lands these two functions become
 * thin calls into it and this file loses its HS256 code. */
#include "hub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sodium.h>

static json_object *b64json(const char *s, size_t n)
{
    unsigned char *bin = malloc(n + 1);
    size_t blen;
    if (!bin) return NULL;
    if (sodium_base642bin(bin, n, s, n, NULL, &blen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(bin);
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    json_object *o = json_tokener_parse_ex(tok, (const char *)bin, (int)blen);
    int ok = json_tokener_get_error(tok) == json_tokener_success &&
             (size_t)json_tokener_get_parse_end(tok) == blen;
    json_tokener_free(tok);
    free(bin);
    if (!ok || !o || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static void hs256(const char *data, size_t len, unsigned char mac[32])
{
    const char *key = hub_access_key();
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
    crypto_auth_hmacsha256_final(&st, mac);
}

json_object *hub_jwt_verify(const char *token)
{
    if (!token || strlen(token) > HUB_MAX_TOKEN || !hub_access_key()[0]) return NULL;
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.')) return NULL;
    json_object *hdr = b64json(token, (size_t)(d1 - token)), *v;
    int alg_ok = hdr && json_object_object_get_ex(hdr, "alg", &v) &&
                 strcmp(json_object_get_string(v), "HS256") == 0;
    json_object_put(hdr);
    if (!alg_ok) return NULL;
    unsigned char mac[32], sig[64];
    size_t slen;
    const char *s = d2 + 1;
    if (sodium_base642bin(sig, sizeof sig, s, strlen(s), NULL, &slen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || slen != 32)
        return NULL;
    hs256(token, (size_t)(d2 - token), mac);
    if (sodium_memcmp(mac, sig, 32) != 0) return NULL;
    json_object *claims = b64json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!claims) return NULL;
    time_t now = time(NULL);
    if (!json_object_object_get_ex(claims, "exp", &v) ||
        !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) ||
        (double)now > json_object_get_double(v) + HUB_CLOCK_SKEW) {
        json_object_put(claims);
        return NULL;
    }
    if (json_object_object_get_ex(claims, "nbf", &v) &&
        (double)now + HUB_CLOCK_SKEW < json_object_get_double(v)) {
        json_object_put(claims);
        return NULL;
    }
    return claims;
}

char *hub_jwt_sign(json_object *claims)
{
    static const char hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    size_t clen;
    const char *c = json_object_to_json_string_length(claims, JSON_C_TO_STRING_PLAIN, &clen);
    size_t cap = sodium_base64_ENCODED_LEN(sizeof hdr, sodium_base64_VARIANT_URLSAFE_NO_PADDING) +
                 sodium_base64_ENCODED_LEN(clen, sodium_base64_VARIANT_URLSAFE_NO_PADDING) + 64;
    char *out = malloc(cap);
    if (!out) return NULL;
    sodium_bin2base64(out, cap, (const unsigned char *)hdr, sizeof hdr - 1,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t o = strlen(out);
    out[o++] = '.';
    sodium_bin2base64(out + o, cap - o, (const unsigned char *)c, clen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    o = strlen(out);
    unsigned char mac[32];
    hs256(out, o, mac);
    out[o++] = '.';
    sodium_bin2base64(out + o, cap - o, mac, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* Path of a URL without the query: "http://h:1/a/b?x" -> "/a/b". */
static size_t url_path(const char *u, const char **path)
{
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : u;
    if (!p) p = "/";
    *path = p;
    size_t n = strcspn(p, "?#");
    while (n > 1 && p[n - 1] == '/') n--;
    return n;
}

int hub_aud_path_ok(json_object *claims, const char *path)
{
    json_object *aud;
    if (!json_object_object_get_ex(claims, "aud", &aud)) return 0;
    const char *want;
    size_t wn = url_path(path, &want);
    size_t n = json_object_is_type(aud, json_type_array) ? json_object_array_length(aud) : 1;
    for (size_t i = 0; i < n; i++) {
        json_object *a = json_object_is_type(aud, json_type_array) ? json_object_array_get_idx(aud, i) : aud;
        if (!json_object_is_type(a, json_type_string)) continue;
        const char *got;
        size_t gn = url_path(json_object_get_string(a), &got);
        if (gn == wn && strncasecmp(got, want, gn) == 0) return 1;
    }
    return 0;
}
