/* auth_oidc_jwt.c: the ID token checks of the OpenID Connect sign-in (no I/O): the signature
 * with OpenSSL's libcrypto (keys built from the JWK's n/e or x/y with EVP_PKEY_fromdata,
 * EVP_DigestVerify), then the claims; and the user id and name the session gets. Why each check:
 * docs/sign-in.md, "OpenID Connect". Unit tested in tests/unit/test_oidc.c. */
#include "auth_oidc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

int auth_oidc_reserved_name(const char *name)
{
    static const char *const reserved[] = {"guest", "local", "github", "aad", "twitter", NULL};
    for (const char *const *r = reserved; *r; r++)
        if (!strcmp(name, *r)) return 1;
    return 0;
}

int auth_oidc_user_id(const char *provider, const char *iss, const char *sub, char *out,
                      size_t outlen)
{
    crypto_hash_sha256_state st;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[33];
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)iss, strlen(iss) + 1); /* with NUL */
    crypto_hash_sha256_update(&st, (const unsigned char *)sub, strlen(sub));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(hex, sizeof hex, h, 16);
    int n = snprintf(out, outlen, "%s.%s", provider, hex);
    if (auth_valid_provider(provider) || n < 0 || (size_t)n >= outlen || n > AUTH_USER_ID_MAX) {
        if (outlen) out[0] = '\0';
        return -1;
    }
    return 0;
}

/* A claim's string cut to the session's size on a character boundary, trimmed; "" if unusable. */
static void usable_name(json_object *claims, const char *claim, char *out, size_t outlen)
{
    out[0] = '\0';
    json_object *v;
    if (!claim || !json_object_object_get_ex(claims, claim, &v) ||
        !json_object_is_type(v, json_type_string))
        return;
    const char *s = json_object_get_string(v);
    size_t n = strlen(s);
    if ((size_t)json_object_get_string_len(v) != n) return; /* an embedded NUL */
    if (n > AUTH_DETAILS_MAX) n = AUTH_DETAILS_MAX;
    while (n > 0 && (s[n] & 0xc0) == 0x80) /* do not cut a character in two */
        n--;
    if (n >= outlen) return;
    memcpy(out, s, n);
    out[n] = '\0';
    auth_trim(out);
    if (auth_valid_name(out, AUTH_DETAILS_MAX)) out[0] = '\0';
}

void auth_oidc_user_details(json_object *claims, const char *name_claim, const char *fallback,
                            char *out, size_t outlen)
{
    static const char *const defaults[] = {"preferred_username", "name", "email", NULL};
    if (name_claim && *name_claim) usable_name(claims, name_claim, out, outlen);
    for (const char *const *d = defaults; !(name_claim && *name_claim && out[0]) && *d; d++) {
        usable_name(claims, *d, out, outlen);
        if (out[0]) return;
    }
    if (!out[0]) snprintf(out, outlen, "%s", fallback);
}

/* ---- signatures ----------------------------------------------------------------------- */

typedef struct alg_info {
    const char *name, *digest, *kty, *curve; /* curve: EC only */
    size_t coord;                            /* EC coordinate bytes */
} alg_info;

static const alg_info ALGS[] = {
    {"RS256", "SHA256", "RSA", NULL, 0},    {"RS384", "SHA384", "RSA", NULL, 0},
    {"RS512", "SHA512", "RSA", NULL, 0},    {"ES256", "SHA256", "EC", "P-256", 32},
    {"ES384", "SHA384", "EC", "P-384", 48},
};
#define RSA_MIN_BITS 2048

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* base64url without padding into a fresh buffer; NULL if invalid or longer than max. */
static unsigned char *b64url(const char *s, size_t slen, size_t max, size_t *outlen)
{
    size_t cap = slen / 4 * 3 + 3;
    if (cap > max + 3) return NULL;
    unsigned char *out = malloc(cap + 1);
    if (!out) return NULL;
    const char *end;
    if (sodium_base642bin(out, cap, s, slen, NULL, outlen, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + slen || *outlen > max) {
        free(out);
        return NULL;
    }
    out[*outlen] = '\0';
    return out;
}

static unsigned char *jwk_bytes(json_object *jwk, const char *key, size_t max, size_t *len)
{
    const char *s = jstr(jwk, key);
    return s ? b64url(s, strlen(s), max, len) : NULL;
}

/* An OpenSSL public key from a JWK of the algorithm's type; NULL if unusable. */
static EVP_PKEY *jwk_key(json_object *jwk, const alg_info *a)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *nb = NULL, *eb = NULL, *x = NULL, *y = NULL;
    size_t nlen = 0, elen = 0, xlen = 0, ylen = 0;
    unsigned char pub[1 + 2 * 48]; /* read by OSSL_PARAM_BLD_to_param, below */
    EVP_PKEY_CTX *ctx = NULL;
    if (!bld) goto out;
    if (!strcmp(a->kty, "RSA")) {
        nb = jwk_bytes(jwk, "n", 1024, &nlen);
        eb = jwk_bytes(jwk, "e", 8, &elen);
        if (!nb || !eb || nlen == 0 || elen == 0) goto out;
        n = BN_bin2bn(nb, (int)nlen, NULL);
        e = BN_bin2bn(eb, (int)elen, NULL);
        if (!n || !e || BN_num_bits(n) < RSA_MIN_BITS ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
            !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
            goto out;
    } else {
        const char *crv = jstr(jwk, "crv");
        x = jwk_bytes(jwk, "x", a->coord, &xlen);
        y = jwk_bytes(jwk, "y", a->coord, &ylen);
        if (!crv || strcmp(crv, a->curve) || !x || !y || xlen != a->coord || ylen != a->coord)
            goto out;
        pub[0] = 0x04; /* uncompressed point */
        memcpy(pub + 1, x, xlen);
        memcpy(pub + 1 + xlen, y, ylen);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             a->coord == 32 ? "prime256v1" : "secp384r1", 0) ||
            !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * xlen))
            goto out;
    }
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, a->kty, NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
        pkey = NULL;
        goto out;
    }
    if (!strcmp(a->kty, "EC")) { /* the point must be on the curve */
        EVP_PKEY_CTX *chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
        int ok = chk && EVP_PKEY_public_check(chk) == 1;
        EVP_PKEY_CTX_free(chk);
        if (!ok) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(nb);
    free(eb);
    free(x);
    free(y);
    return pkey;
}

/* 1 if sig is a valid signature of data by pkey under the algorithm. */
static int sig_ok(EVP_PKEY *pkey, const alg_info *a, const unsigned char *sig, size_t siglen,
                  const char *data, size_t datalen)
{
    unsigned char *der = NULL;
    int derlen = 0;
    if (a->coord) { /* JWS carries r || s; OpenSSL wants DER */
        if (siglen != 2 * a->coord) return 0;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)a->coord, NULL);
        BIGNUM *s = BN_bin2bn(sig + a->coord, (int)a->coord, NULL);
        if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return 0;
        }
        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (derlen <= 0) return 0;
        sig = der;
        siglen = (size_t)derlen;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit_ex(md, NULL, a->digest, NULL, NULL, pkey, NULL) == 1 &&
             EVP_DigestVerify(md, sig, siglen, (const unsigned char *)data, datalen) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    return ok;
}

/* ---- claims --------------------------------------------------------------------------- */

static int jnum(json_object *o, const char *key, long long *out)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v)) return 0;
    if (json_object_is_type(v,
                            json_type_int)) { /* bounded, so that adding leeways cannot overflow */
        int64_t i = json_object_get_int64(v);
        if (i <= -1000000000000000LL || i >= 1000000000000000LL) return -1;
        *out = (long long)i;
        return 1;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        if (d > -1e15 && d < 1e15) {
            *out = (long long)d;
            return 1;
        }
    }
    return -1;
}

static int aud_ok(json_object *claims, const char *client_id)
{
    json_object *aud;
    if (!json_object_object_get_ex(claims, "aud", &aud)) return 0;
    const char *azp = jstr(claims, "azp");
    if (azp && strcmp(azp, client_id)) return 0;
    if (json_object_is_type(aud, json_type_string))
        return !strcmp(json_object_get_string(aud), client_id);
    if (!json_object_is_type(aud, json_type_array)) return 0;
    size_t n = json_object_array_length(aud);
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(aud, i);
        if (json_object_is_type(v, json_type_string) &&
            !strcmp(json_object_get_string(v), client_id))
            found = 1;
    }
    /* Several audiences: the token must say it was issued to us (OIDC Core 3.1.3.7). */
    return found && (n == 1 || azp);
}

static int claims_ok(json_object *c, const auth_oidc_expect *e, const char **why)
{
    long long exp = 0, iat = 0, nbf = 0;
    const char *iss = jstr(c, "iss"), *sub = jstr(c, "sub"), *nonce = jstr(c, "nonce");
    if (!iss || strcmp(iss, e->issuer)) return *why = "wrong issuer", -1;
    if (!aud_ok(c, e->client_id)) return *why = "wrong audience", -1;
    if (!sub || !*sub || strlen(sub) > AUTH_OIDC_SUB_MAX) return *why = "no usable sub", -1;
    if (jnum(c, "exp", &exp) != 1) return *why = "no exp", -1;
    if (exp + AUTH_OIDC_LEEWAY_S <= e->now) return *why = "expired", -1;
    if (jnum(c, "iat", &iat) != 1) return *why = "no iat", -1;
    if (iat > e->now + AUTH_OIDC_LEEWAY_S) return *why = "issued in the future", -1;
    if (iat + AUTH_OIDC_IAT_MAX_AGE_S + AUTH_OIDC_LEEWAY_S < e->now)
        return *why = "issued too long ago", -1;
    int has_nbf = jnum(c, "nbf", &nbf);
    if (has_nbf < 0 || (has_nbf && nbf > e->now + AUTH_OIDC_LEEWAY_S))
        return *why = "not valid yet", -1;
    if (!nonce || !e->nonce || strcmp(nonce, e->nonce)) return *why = "wrong nonce", -1;
    return 0;
}

int auth_oidc_verify(const char *token, json_object *jwks, const auth_oidc_expect *e,
                     json_object **claims, const char **why)
{
    *claims = NULL;
    *why = "malformed token";
    size_t tlen = token ? strlen(token) : 0;
    if (tlen == 0 || tlen > AUTH_OIDC_TOKEN_MAX) return -1;
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strchr(dot2 + 1, '.')) return -1;
    size_t hlen, plen, slen;
    unsigned char *hb = b64url(token, (size_t)(dot1 - token), AUTH_OIDC_TOKEN_MAX, &hlen);
    unsigned char *pb = b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1), AUTH_OIDC_TOKEN_MAX, &plen);
    unsigned char *sb = b64url(dot2 + 1, strlen(dot2 + 1), 1024, &slen);
    json_object *header = hb ? json_tokener_parse((const char *)hb) : NULL;
    json_object *payload = pb ? json_tokener_parse((const char *)pb) : NULL;
    int rc = -1;
    if (!sb || !json_object_is_type(header, json_type_object) ||
        !json_object_is_type(payload, json_type_object) || strlen((char *)hb) != hlen ||
        strlen((char *)pb) != plen)
        goto out;
    const char *alg = jstr(header, "alg"), *kid = jstr(header, "kid");
    const alg_info *a = NULL;
    for (size_t i = 0; alg && i < sizeof ALGS / sizeof *ALGS; i++)
        if (!strcmp(alg, ALGS[i].name)) a = &ALGS[i];
    if (!a) { /* none, HS256 (a client secret is no proof of the provider), anything else */
        *why = "signature algorithm not accepted";
        goto out;
    }
    if (json_object_object_get_ex(header, "crit", NULL)) {
        *why = "critical header extension";
        goto out;
    }
    json_object *keys = NULL;
    if (!json_object_object_get_ex(jwks, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        *why = "no keys in the JWKS";
        goto out;
    }
    size_t nkeys = json_object_array_length(keys), tried = 0;
    if (nkeys > AUTH_OIDC_JWKS_KEYS_MAX) nkeys = AUTH_OIDC_JWKS_KEYS_MAX;
    int verified = 0;
    for (size_t i = 0; i < nkeys && !verified; i++) {
        json_object *k = json_object_array_get_idx(keys, i);
        const char *kty = jstr(k, "kty"), *kkid = jstr(k, "kid"), *use = jstr(k, "use");
        const char *kalg = jstr(k, "alg");
        if (!kty || strcmp(kty, a->kty) || (use && strcmp(use, "sig")) ||
            (kalg && strcmp(kalg, a->name)) || (kid && (!kkid || strcmp(kid, kkid))))
            continue;
        tried++;
        EVP_PKEY *pkey = jwk_key(k, a);
        if (pkey) verified = sig_ok(pkey, a, sb, slen, token, (size_t)(dot2 - token));
        EVP_PKEY_free(pkey);
    }
    if (!verified) {
        rc = tried == 0 && kid ? 1 : -1;
        *why = tried == 0 ? "no key in the JWKS for the token" : "bad signature";
        goto out;
    }
    if (claims_ok(payload, e, why)) goto out;
    *claims = payload;
    payload = NULL;
    *why = NULL;
    rc = 0;
out:
    json_object_put(header);
    json_object_put(payload);
    free(hb);
    free(pb);
    free(sb);
    return rc;
}
