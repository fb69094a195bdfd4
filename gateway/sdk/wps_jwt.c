/* wps_jwt.c: HS256 JWT signing and verification (docs/protocols.md#client-access-tokens,
 * #rest-authentication) on libsodium (HMAC, base64url, constant-time compare) and json-c. */
#include "wps_jwt.h"
#include "wps_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

#define B64URL sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define JWT_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define MAC_LEN crypto_auth_hmacsha256_BYTES

static void hs256(const char *key, const char *data, size_t len, unsigned char mac[MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)data, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

/* ---- signing ---- */

static int add_list(json_object *o, const char *name, const char *const *items, size_t n)
{
    if (!n) return 0;
    json_object *arr = json_object_new_array_ext((int)n);
    if (!arr) return -1;
    for (size_t i = 0; i < n; i++)
        if (json_object_array_add(arr, json_object_new_string(items[i] ? items[i] : "")) != 0) {
            json_object_put(arr);
            return -1;
        }
    return json_object_object_add(o, name, arr);
}

json_object *wps_jwt_claims_new(const char *aud, const char *sub, const char *const *roles,
                                size_t nroles, const char *const *groups, size_t ngroups,
                                long long iat, long long exp)
{
    json_object *o = json_object_new_object();
    if (!o) return NULL;
    int bad = add_list(o, "role", roles, nroles) || add_list(o, "webpubsub.group", groups, ngroups);
    bad = bad || json_object_object_add(o, "iat", json_object_new_int64(iat));
    bad = bad || json_object_object_add(o, "exp", json_object_new_int64(exp));
    if (aud) bad = bad || json_object_object_add(o, "aud", json_object_new_string(aud));
    if (sub && sub[0]) bad = bad || json_object_object_add(o, "sub", json_object_new_string(sub));
    if (bad) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Appends base64url(data) at out + *pos (cap bytes in all); the result stays NUL-terminated. */
static void b64_append(char *out, size_t cap, size_t *pos, const void *data, size_t n)
{
    sodium_bin2base64(out + *pos, cap - *pos, data, n, B64URL);
    *pos += strlen(out + *pos);
}

char *wps_jwt_sign(const char *key, json_object *payload)
{
    if (!key || !payload) return NULL;
    size_t plen;
    const char *p = json_object_to_json_string_length(
        payload, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &plen);
    if (!p) return NULL;
    size_t cap = sodium_base64_ENCODED_LEN(sizeof JWT_HEADER - 1, B64URL) +
                 sodium_base64_ENCODED_LEN(plen, B64URL) +
                 sodium_base64_ENCODED_LEN(MAC_LEN, B64URL) + 2;
    char *out = malloc(cap);
    if (!out) return NULL;
    size_t pos = 0;
    unsigned char mac[MAC_LEN];
    b64_append(out, cap, &pos, JWT_HEADER, sizeof JWT_HEADER - 1);
    out[pos++] = '.';
    b64_append(out, cap, &pos, p, plen);
    hs256(key, out, pos, mac);
    out[pos++] = '.';
    b64_append(out, cap, &pos, mac, sizeof mac);
    return out;
}

/* ---- verification ---- */

/* base64url(JSON object) of n chars at s; NULL unless it decodes to exactly one JSON object. */
static json_object *decode_part(const char *s, size_t n)
{
    unsigned char *bin = malloc(n + 1);
    size_t blen = 0;
    json_object *o = NULL;
    if (!bin || n == 0 || sodium_base642bin(bin, n, s, n, NULL, &blen, NULL, B64URL) != 0) {
        free(bin);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(WPS_JWT_MAX_DEPTH);
    if (tok) {
        o = json_tokener_parse_ex(tok, (const char *)bin, (int)blen);
        if (json_tokener_get_error(tok) != json_tokener_success ||
            json_tokener_get_parse_end(tok) != blen || !json_object_is_type(o, json_type_object)) {
            json_object_put(o);
            o = NULL;
        }
        json_tokener_free(tok);
    }
    free(bin);
    return o;
}

static int check_header(const char *s, size_t n, char *err, size_t errlen)
{
    json_object *h = decode_part(s, n), *alg;
    int ok = h && json_object_object_get_ex(h, "alg", &alg) &&
             json_object_is_type(alg, json_type_string) &&
             strcmp(json_object_get_string(alg), "HS256") == 0;
    int parsed = h != NULL;
    json_object_put(h);
    if (!parsed) return wps_fail(err, errlen, "token: malformed header");
    return ok ? 0 : wps_fail(err, errlen, "token: alg is not HS256");
}

/* signed_len bytes of token are signed; sig is the base64url MAC after the second '.'. */
static int check_signature(const char *key, const char *token, size_t signed_len, const char *sig)
{
    unsigned char want[MAC_LEN], got[MAC_LEN + 1];
    size_t glen = 0;
    size_t slen = strlen(sig);
    if (slen != sodium_base64_ENCODED_LEN(MAC_LEN, B64URL) - 1 ||
        sodium_base642bin(got, sizeof got, sig, slen, NULL, &glen, NULL, B64URL) != 0 ||
        glen != MAC_LEN)
        return -1;
    hs256(key, token, signed_len, want);
    return sodium_memcmp(want, got, MAC_LEN);
}

static int number_claim(json_object *claims, const char *name, double *v)
{
    json_object *o;
    if (!json_object_object_get_ex(claims, name, &o)) return 0;
    if (!json_object_is_type(o, json_type_int) && !json_object_is_type(o, json_type_double))
        return -1;
    *v = json_object_get_double(o);
    return 1;
}

static int check_times(json_object *claims, time_t now, char *err, size_t errlen)
{
    double exp = 0, nbf = 0;
    int has_exp = number_claim(claims, "exp", &exp);
    int has_nbf = number_claim(claims, "nbf", &nbf);
    if (has_exp < 0 || has_nbf < 0) return wps_fail(err, errlen, "token: exp/nbf is not a number");
    if (!has_exp) return wps_fail(err, errlen, "token: no exp claim");
    if ((double)now > exp + WPS_JWT_CLOCK_SKEW) return wps_fail(err, errlen, "token: expired");
    if (has_nbf && (double)now + WPS_JWT_CLOCK_SKEW < nbf)
        return wps_fail(err, errlen, "token: not valid yet (nbf)");
    return 0;
}

static size_t trim_slash(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '/')
        n--;
    return n;
}

static int aud_equal(const char *got, const char *want, int nocase)
{
    size_t gn = trim_slash(got), wn = trim_slash(want);
    if (gn != wn) return 0;
    return nocase ? strncasecmp(got, want, gn) == 0 : strncmp(got, want, gn) == 0;
}

/* Fills items/n from claim name: absent or null = none, a string = one, an array of strings. */
static int str_list(json_object *claims, const char *name, const char **items, size_t *n, char *err,
                    size_t errlen)
{
    json_object *v;
    *n = 0;
    if (!json_object_object_get_ex(claims, name, &v) || !v) return 0;
    int is_arr = json_object_is_type(v, json_type_array);
    size_t len = is_arr ? json_object_array_length(v) : 1;
    if (len > WPS_JWT_MAX_LIST)
        return wps_fail(err, errlen, "token: more than %d values in %s", WPS_JWT_MAX_LIST, name);
    for (size_t i = 0; i < len; i++) {
        json_object *it = is_arr ? json_object_array_get_idx(v, i) : v;
        if (!json_object_is_type(it, json_type_string))
            return wps_fail(err, errlen, "token: %s must be a string or an array of strings", name);
        if (json_object_get_string_len(it) > WPS_JWT_MAX_NAME)
            return wps_fail(err, errlen, "token: a %s value is longer than %d", name,
                            WPS_JWT_MAX_NAME);
        items[(*n)++] = json_object_get_string(it);
    }
    return 0;
}

static int check_aud(json_object *claims, const wps_jwt_expect *ex, char *err, size_t errlen)
{
    const char *auds[WPS_JWT_MAX_LIST];
    size_t n;
    if (!ex || ex->naud == 0) return 0;
    if (str_list(claims, "aud", auds, &n, err, errlen) != 0) return -1;
    if (n == 0) return wps_fail(err, errlen, "token: no aud claim");
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ex->naud; j++)
            if (ex->aud[j] && aud_equal(auds[i], ex->aud[j], ex->aud_nocase)) return 0;
    return wps_fail(err, errlen, "token: aud '%s' is not this endpoint", auds[0]);
}

static int read_identity(wps_jwt_claims *out, char *err, size_t errlen)
{
    json_object *sub;
    if (json_object_object_get_ex(out->claims, "sub", &sub) && sub) {
        if (!json_object_is_type(sub, json_type_string))
            return wps_fail(err, errlen, "token: sub is not a string");
        if (json_object_get_string_len(sub) > WPS_JWT_MAX_NAME)
            return wps_fail(err, errlen, "token: sub longer than %d", WPS_JWT_MAX_NAME);
        if (json_object_get_string_len(sub) > 0) out->user_id = json_object_get_string(sub);
    }
    if (str_list(out->claims, "role", out->roles, &out->nroles, err, errlen) != 0) return -1;
    return str_list(out->claims, "webpubsub.group", out->groups, &out->ngroups, err, errlen);
}

int wps_jwt_verify(const char *key, const char *token, const wps_jwt_expect *expect,
                   wps_jwt_claims *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!key || !key[0]) return wps_fail(err, errlen, "token: no access key configured");
    if (!token || !token[0]) return wps_fail(err, errlen, "token: missing");
    if (strnlen(token, WPS_JWT_MAX_LEN + 1) > WPS_JWT_MAX_LEN)
        return wps_fail(err, errlen, "token: longer than %d bytes", WPS_JWT_MAX_LEN);
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2 || strchr(d2 + 1, '.'))
        return wps_fail(err, errlen, "token: not three dot-separated parts");
    if (check_header(token, (size_t)(d1 - token), err, errlen) != 0) return -1;
    if (check_signature(key, token, (size_t)(d2 - token), d2 + 1) != 0)
        return wps_fail(err, errlen, "token: bad signature");
    out->claims = decode_part(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!out->claims) return wps_fail(err, errlen, "token: malformed payload");
    time_t now = expect && expect->now ? expect->now : time(NULL);
    if (check_times(out->claims, now, err, errlen) != 0 ||
        check_aud(out->claims, expect, err, errlen) != 0 || read_identity(out, err, errlen) != 0) {
        wps_jwt_claims_free(out);
        return -1;
    }
    return 0;
}

void wps_jwt_claims_free(wps_jwt_claims *c)
{
    if (!c) return;
    json_object_put(c->claims);
    memset(c, 0, sizeof *c);
}
