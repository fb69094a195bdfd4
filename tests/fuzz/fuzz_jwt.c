/* fuzz_jwt.c: the HS256 token parser and verifier (gateway/sdk/wps_jwt.c) and the hub's
 * audience-by-path rule on top of it (gateway/hub/hub_token.c).
 *
 * Input: one mode byte, then
 *   mode 0: a whole token, verified as it comes (header, dots, signature, length checks);
 *   mode 1: "<header JSON>\n<payload JSON>": the target signs it with the key, so the claims
 *           parser (exp/nbf, aud, sub, role, webpubsub.group) sees fuzzed claims behind a valid
 *           signature, which random tokens would never reach.
 * Properties: a verified token has a string-or-absent sub no longer than WPS_JWT_MAX_NAME, at
 * most WPS_JWT_MAX_LIST roles and groups, and an exp that has not passed (with the skew). */
#include "fuzz_util.h"
#include "hub_token.h"
#include "wps_jwt.h"

#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <json-c/json.h>
#include <string.h>

#define NOW 1700000000
#define AUD "http://localhost:8080/client/hubs/chat"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

static char *b64url(const char *s, size_t n)
{
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(cap);
    if (!out) abort();
    sodium_bin2base64(out, cap, (const unsigned char *)s, n,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}

/* header.payload.signature with FUZZ_KEY over exactly the given JSON texts. */
static char *sign_raw(const char *header, size_t hlen, const char *payload, size_t plen)
{
    char *h = b64url(header, hlen), *p = b64url(payload, plen);
    size_t n = strlen(h) + strlen(p) + 2 + 64;
    char *tok = malloc(n);
    if (!tok) abort();
    int at = snprintf(tok, n, "%s.%s", h, p);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)FUZZ_KEY, strlen(FUZZ_KEY));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)tok, (unsigned long long)at);
    crypto_auth_hmacsha256_final(&st, mac);
    char *sig = b64url((const char *)mac, sizeof mac);
    snprintf(tok + at, n - (size_t)at, ".%s", sig);
    free(h);
    free(p);
    free(sig);
    return tok;
}

static void check_claims(const wps_jwt_claims *c, time_t now)
{
    FUZZ_ASSERT(c->claims != NULL);
    FUZZ_ASSERT(c->nroles <= WPS_JWT_MAX_LIST && c->ngroups <= WPS_JWT_MAX_LIST);
    if (c->user_id) FUZZ_ASSERT(strlen(c->user_id) <= WPS_JWT_MAX_NAME);
    for (size_t i = 0; i < c->nroles; i++)
        FUZZ_ASSERT(strlen(c->roles[i]) <= WPS_JWT_MAX_NAME);
    for (size_t i = 0; i < c->ngroups; i++)
        FUZZ_ASSERT(strlen(c->groups[i]) <= WPS_JWT_MAX_NAME);
    json_object *exp;
    FUZZ_ASSERT(json_object_object_get_ex(c->claims, "exp", &exp));
    double e = json_object_get_double(exp);
    FUZZ_ASSERT(!isnan(e) && e + WPS_JWT_CLOCK_SKEW >= (double)now); /* it has not expired */
}

static void verify(const char *token)
{
    const char *aud[] = {AUD, "http://localhost:8080/api/hubs/chat"};
    char err[256];
    for (int nocase = 0; nocase < 2; nocase++) {
        wps_jwt_expect ex = {aud, 2, nocase, NOW};
        wps_jwt_claims c;
        if (wps_jwt_verify(FUZZ_KEY, token, &ex, &c, err, sizeof err) == 0) {
            check_claims(&c, NOW);
            wps_jwt_claims_free(&c);
        } else {
            FUZZ_ASSERT(c.claims == NULL); /* "on failure out holds nothing" */
        }
    }
    /* the hub's rule: any audience whose path is /client/hubs/chat, at the real time */
    wps_jwt_claims c;
    if (hub_token_verify(token, "/client/hubs/chat", &c, err, sizeof err) == 0) {
        check_claims(&c, time(NULL));
        wps_jwt_claims_free(&c);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    if (data[0] & 1) {
        fuzz_fields ff;
        fuzz_split(&ff, data + 1, size - 1, 2);
        char *tok = sign_raw(ff.f[0], ff.len[0], ff.f[1], ff.len[1]);
        verify(tok);
        free(tok);
        fuzz_fields_free(&ff);
    } else {
        char *tok = fuzz_dup(data + 1, size - 1);
        verify(tok);
        free(tok);
    }
    return 0;
}
