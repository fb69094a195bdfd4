/* test_oidc.c: the ID token checks of the OpenID Connect sign-in (gateway/auth/auth_oidc_jwt.c,
 * compiled in here because gateway/auth is a program; auth_util.c comes with test_auth.c):
 * signatures with keys made here by OpenSSL (RS256, ES256), the algorithms refused, each claim
 * check at its edge, the user id and the user name. */
#include "unit.h"
#include "../../gateway/auth/auth_oidc_jwt.c"

#include <openssl/rsa.h>

#define ISS "https://idp.example"
#define AUD "chatr"
#define NONCE "n0nce"

static void b64u(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static EVP_PKEY *rsa_key(size_t bits)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
}

static EVP_PKEY *ec_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* The public JWK of a key (kid given), as a provider publishes it. */
static json_object *jwk_of(EVP_PKEY *k, const char *kid)
{
    json_object *j = json_object_new_object();
    char b[1024];
    unsigned char raw[600];
    if (EVP_PKEY_is_a(k, "RSA")) {
        BIGNUM *n = NULL, *e = NULL;
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
        EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
        json_object_object_add(j, "kty", json_object_new_string("RSA"));
        b64u(raw, (size_t)BN_bn2bin(n, raw), b, sizeof b);
        json_object_object_add(j, "n", json_object_new_string(b));
        b64u(raw, (size_t)BN_bn2bin(e, raw), b, sizeof b);
        json_object_object_add(j, "e", json_object_new_string(b));
        BN_free(n);
        BN_free(e);
    } else {
        size_t len = 0;
        EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof raw, &len);
        json_object_object_add(j, "kty", json_object_new_string("EC"));
        json_object_object_add(j, "crv", json_object_new_string("P-256"));
        b64u(raw + 1, 32, b, sizeof b);
        json_object_object_add(j, "x", json_object_new_string(b));
        b64u(raw + 33, 32, b, sizeof b);
        json_object_object_add(j, "y", json_object_new_string(b));
    }
    json_object_object_add(j, "kid", json_object_new_string(kid));
    json_object_object_add(j, "use", json_object_new_string("sig"));
    return j;
}

static json_object *jwks_of(json_object *k1, json_object *k2)
{
    json_object *s = json_object_new_object(), *keys = json_object_new_array();
    json_object_array_add(keys, k1);
    if (k2) json_object_array_add(keys, k2);
    json_object_object_add(s, "keys", keys);
    return s;
}

/* A signed token: header {"alg":alg,"kid":kid} and the payload given (JSON text). */
static char *token(EVP_PKEY *k, const char *alg, const char *kid, const char *payload)
{
    char header[128], h64[256], p64[2048], sig64[1024], input[2400];
    snprintf(header, sizeof header, "{\"alg\":\"%s\",\"kid\":\"%s\"}", alg, kid);
    b64u((const unsigned char *)header, strlen(header), h64, sizeof h64);
    b64u((const unsigned char *)payload, strlen(payload), p64, sizeof p64);
    snprintf(input, sizeof input, "%s.%s", h64, p64);
    unsigned char sig[600];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, k, NULL);
    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input));
    EVP_MD_CTX_free(md);
    if (EVP_PKEY_is_a(k, "EC")) { /* DER to r || s */
        const unsigned char *p = sig;
        ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
        unsigned char rs[64];
        BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
        BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
        ECDSA_SIG_free(es);
        memcpy(sig, rs, 64);
        siglen = 64;
    }
    b64u(sig, siglen, sig64, sizeof sig64);
    char *out = malloc(strlen(input) + strlen(sig64) + 2);
    sprintf(out, "%s.%s", input, sig64);
    return out;
}

static long long NOW = 1800000000;

static char *claims_json(const char *extra)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"iss\":\"" ISS "\",\"sub\":\"u-1\",\"aud\":\"" AUD "\",\"exp\":%lld,\"iat\":%lld,"
             "\"nonce\":\"" NONCE "\",\"preferred_username\":\"ada\"%s}",
             NOW + 300, NOW, extra ? extra : "");
    return buf;
}

/* auth_oidc_verify's answer for a token signed by k, against jwks. */
static int check(json_object *jwks, EVP_PKEY *k, const char *alg, const char *kid,
                 const char *payload, const char **why)
{
    char *t = token(k, alg, kid, payload);
    auth_oidc_expect e = {ISS, AUD, NONCE, NOW};
    json_object *claims = NULL;
    int rc = auth_oidc_verify(t, jwks, &e, &claims, why);
    if (rc == 0) {
        json_object *sub;
        if (!json_object_object_get_ex(claims, "sub", &sub)) rc = 99;
    }
    json_object_put(claims);
    free(t);
    return rc;
}

/* The JSON of a claims set with one claim replaced: {"iss":...} with key := value. */
static char *claims_with(const char *key, const char *value)
{
    static char buf[1024];
    json_object *o = json_tokener_parse(claims_json(NULL));
    if (value)
        json_object_object_add(o, key, json_tokener_parse(value));
    else
        json_object_object_del(o, key);
    snprintf(buf, sizeof buf, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return buf;
}

UNIT_TEST(oidc_signatures)
{
    EVP_PKEY *rsa = rsa_key(2048), *rsa2 = rsa_key(2048), *ec = ec_key(), *small = rsa_key(1024);
    json_object *jwks = jwks_of(jwk_of(rsa, "r1"), jwk_of(ec, "e1"));
    const char *why;
    CHECK(check(jwks, rsa, "RS256", "r1", claims_json(NULL), &why) == 0);
    CHECK(check(jwks, ec, "ES256", "e1", claims_json(NULL), &why) == 0);
    /* another key under a published kid */
    CHECK(check(jwks, rsa2, "RS256", "r1", claims_json(NULL), &why) == -1);
    CHECK_STR(why, "bad signature");
    /* a kid the JWKS does not have: fetch it again */
    CHECK(check(jwks, rsa2, "RS256", "r9", claims_json(NULL), &why) == 1);
    /* an algorithm of another key type than the kid's key */
    CHECK(check(jwks, rsa, "ES256", "r1", claims_json(NULL), &why) != 0);
    CHECK(check(jwks, ec, "RS256", "e1", claims_json(NULL), &why) != 0);
    /* algorithms never accepted */
    CHECK(check(jwks, rsa, "HS256", "r1", claims_json(NULL), &why) == -1);
    CHECK_STR(why, "signature algorithm not accepted");
    CHECK(check(jwks, rsa, "none", "r1", claims_json(NULL), &why) == -1);
    CHECK(check(jwks, rsa, "PS256", "r1", claims_json(NULL), &why) == -1);
    /* RSA keys under 2048 bits are not used */
    json_object *weak = jwks_of(jwk_of(small, "s1"), NULL);
    CHECK(check(weak, small, "RS256", "s1", claims_json(NULL), &why) == -1);
    /* altered after signing: the payload of one token with the signature of another */
    char *a = token(rsa, "RS256", "r1", claims_json(NULL));
    char *b = token(rsa, "RS256", "r1", claims_with("sub", "\"mallory\""));
    char *mix = malloc(strlen(a) + strlen(b) + 1);
    const char *a_sig = strrchr(a, '.');
    sprintf(mix, "%.*s%s", (int)(strrchr(b, '.') - b), b, a_sig);
    auth_oidc_expect e = {ISS, AUD, NONCE, NOW};
    json_object *claims = NULL;
    CHECK(auth_oidc_verify(mix, jwks, &e, &claims, &why) == -1 && claims == NULL);
    CHECK(auth_oidc_verify("a.b", jwks, &e, &claims, &why) == -1);
    CHECK(auth_oidc_verify("a.b.c.d", jwks, &e, &claims, &why) == -1);
    CHECK(auth_oidc_verify("", jwks, &e, &claims, &why) == -1);
    free(a);
    free(b);
    free(mix);
    /* an EC key whose point is not on the curve */
    json_object *bad = jwk_of(ec, "e2");
    json_object_object_add(bad, "y",
                           json_object_new_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    json_object *badset = jwks_of(bad, NULL);
    CHECK(check(badset, ec, "ES256", "e2", claims_json(NULL), &why) == -1);
    json_object_put(badset);
    json_object_put(weak);
    json_object_put(jwks);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(rsa2);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(small);
}

UNIT_TEST(oidc_claims)
{
    EVP_PKEY *k = rsa_key(2048);
    json_object *jwks = jwks_of(jwk_of(k, "r1"), NULL);
    const char *why;
    char v[64];
#define REFUSED(payload, reason)                                                                   \
    do {                                                                                           \
        CHECK(check(jwks, k, "RS256", "r1", payload, &why) == -1);                                 \
        CHECK_STR(why, reason);                                                                    \
    } while (0)
#define ACCEPTED(payload) CHECK(check(jwks, k, "RS256", "r1", payload, &why) == 0)
    REFUSED(claims_with("iss", "\"https://idp.example/\""), "wrong issuer");
    REFUSED(claims_with("iss", NULL), "wrong issuer");
    REFUSED(claims_with("aud", "\"other\""), "wrong audience");
    REFUSED(claims_with("aud", NULL), "wrong audience");
    ACCEPTED(claims_with("aud", "[\"" AUD "\"]"));
    REFUSED(claims_with("aud", "[\"" AUD "\",\"other\"]"), "wrong audience"); /* no azp */
    REFUSED(claims_with("azp", "\"other\""), "wrong audience");
    REFUSED(claims_with("sub", "\"\""), "no usable sub");
    REFUSED(claims_with("nonce", "\"other\""), "wrong nonce");
    REFUSED(claims_with("nonce", NULL), "wrong nonce");
    REFUSED(claims_with("exp", NULL), "no exp");
    REFUSED(claims_with("exp", "\"1800000300\""), "no exp");
    REFUSED(claims_with("exp", "9223372036854775807"), "no exp"); /* exp + leeway: no overflow */
    REFUSED(claims_with("iat", "-9223372036854775807"), "no iat");
    /* exp: a small leeway for clocks, no more */
    snprintf(v, sizeof v, "%lld", NOW - AUTH_OIDC_LEEWAY_S + 1);
    ACCEPTED(claims_with("exp", v));
    snprintf(v, sizeof v, "%lld", NOW - AUTH_OIDC_LEEWAY_S);
    REFUSED(claims_with("exp", v), "expired");
    /* iat: not from the future, not stale */
    snprintf(v, sizeof v, "%lld", NOW + AUTH_OIDC_LEEWAY_S);
    ACCEPTED(claims_with("iat", v));
    snprintf(v, sizeof v, "%lld", NOW + AUTH_OIDC_LEEWAY_S + 1);
    REFUSED(claims_with("iat", v), "issued in the future");
    snprintf(v, sizeof v, "%lld", NOW - AUTH_OIDC_IAT_MAX_AGE_S - AUTH_OIDC_LEEWAY_S - 1);
    REFUSED(claims_with("iat", v), "issued too long ago");
    REFUSED(claims_with("iat", NULL), "no iat");
    snprintf(v, sizeof v, "%lld", NOW + AUTH_OIDC_LEEWAY_S + 1);
    REFUSED(claims_with("nbf", v), "not valid yet");
    ACCEPTED(claims_with("nbf", "1700000000"));
#undef REFUSED
#undef ACCEPTED
    json_object_put(jwks);
    EVP_PKEY_free(k);
}

UNIT_TEST(oidc_user_id_and_name)
{
    char a[AUTH_USER_ID_MAX + 1], b[AUTH_USER_ID_MAX + 1];
    CHECK(auth_oidc_user_id("keycloak", "https://kc.example/realms/x", "sub-1", a, sizeof a) == 0);
    CHECK(strncmp(a, "keycloak.", 9) == 0 && strlen(a) == 9 + 32);
    CHECK(auth_oidc_user_id("keycloak", "https://kc.example/realms/x", "sub-1", b, sizeof b) == 0);
    CHECK_STR(a, b); /* stable */
    CHECK(auth_oidc_user_id("keycloak", "https://kc.example/realms/y", "sub-1", b, sizeof b) == 0);
    CHECK(strcmp(a, b) != 0); /* another issuer's sub-1 is someone else */
    /* iss and sub do not run into each other: ("ab", "c") is not ("a", "bc") */
    CHECK(auth_oidc_user_id("p", "ab", "c", a, sizeof a) == 0);
    CHECK(auth_oidc_user_id("p", "a", "bc", b, sizeof b) == 0);
    CHECK(strcmp(a, b) != 0);
    CHECK(auth_oidc_user_id("Bad.Name", "i", "s", a, sizeof a) == -1);
    CHECK(auth_oidc_reserved_name("github") && auth_oidc_reserved_name("guest") &&
          auth_oidc_reserved_name("local") && !auth_oidc_reserved_name("keycloak"));

    json_object *c = json_tokener_parse("{\"preferred_username\":\"ada\",\"name\":\"Ada L\","
                                        "\"email\":\"ada@x\",\"nick\":\"bad\\u0007\"}");
    char d[AUTH_DETAILS_MAX + 1];
    auth_oidc_user_details(c, NULL, "fallback", d, sizeof d);
    CHECK_STR(d, "ada");
    auth_oidc_user_details(c, "email", "fallback", d, sizeof d);
    CHECK_STR(d, "ada@x");
    auth_oidc_user_details(c, "nick", "fallback", d, sizeof d); /* control character: next */
    CHECK_STR(d, "ada");
    json_object_object_del(c, "preferred_username");
    auth_oidc_user_details(c, "missing", "fallback", d, sizeof d);
    CHECK_STR(d, "Ada L");
    json_object_put(c);
    c = json_tokener_parse("{}");
    auth_oidc_user_details(c, NULL, "p.0123", d, sizeof d);
    CHECK_STR(d, "p.0123");
    json_object_put(c);
    /* a long name is cut on a character boundary: 127 'a' then a 2-byte character */
    char longname[200];
    memset(longname, 'a', 127);
    strcpy(longname + 127, "\xc3\xa9zzz");
    c = json_object_new_object();
    json_object_object_add(c, "name", json_object_new_string(longname));
    auth_oidc_user_details(c, NULL, "f", d, sizeof d);
    CHECK(strlen(d) == 127 && auth_valid_name(d, AUTH_DETAILS_MAX) == 0);
    json_object_put(c);
}
