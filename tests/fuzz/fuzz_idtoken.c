/* fuzz_idtoken.c: the OpenID Connect ID token checks (gateway/auth/auth_oidc_jwt.c): the token
 * parser, the JWK key builder (RSA n/e, EC x/y) and the claims checks, and the user name taken
 * from the claims.
 *
 * Input: one mode byte, then
 *   mode 0: "<JWKS JSON>\n<token>": a token verified as it comes against a fuzzed JWKS (keys of
 *           any shape, the provider's half of the input);
 *   mode 1: "<header JSON>\n<payload JSON>": the target signs it with its own ES256 key (kid
 *           "k1", in the JWKS it verifies against), so the claims checks see fuzzed claims behind
 *           a valid signature, which random tokens would never reach.
 * Properties: a verified token has our issuer and nonce, a sub of 1 to AUTH_OIDC_SUB_MAX bytes
 * and an exp that has not passed (with the leeway); the user id made from it is
 * "<provider>.<32 hex>" and the user name a valid name of at most AUTH_DETAILS_MAX bytes. */
#include "fuzz_util.h"
#include "../../gateway/auth/auth_oidc.h"

#include <sodium.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#define ISS "https://idp.example"
#define AUD "chatr"
#define NONCE "n0nce"
#define NOW 1800000000LL

static EVP_PKEY *key;
static json_object *own_jwks;

static void b64u(const unsigned char *in, size_t n, char *out, size_t outlen)
{
    sodium_bin2base64(out, outlen, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    unsigned char pub[65];
    size_t len = 0;
    char x[64], y[64], text[256];
    if (!key ||
        !EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len) ||
        len != 65)
        abort();
    b64u(pub + 1, 32, x, sizeof x);
    b64u(pub + 33, 32, y, sizeof y);
    snprintf(
        text, sizeof text,
        "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"k1\",\"x\":\"%s\",\"y\":\"%s\"}]}",
        x, y);
    own_jwks = json_tokener_parse(text);
    if (!own_jwks) abort();
    return 0;
}

/* header.payload.signature with the target's key. */
static char *sign(const char *header, size_t hlen, const char *payload, size_t plen)
{
    size_t cap = (hlen + plen) / 3 * 4 + 256;
    char *t = malloc(cap);
    if (!t) abort();
    b64u((const unsigned char *)header, hlen, t, cap);
    size_t n = strlen(t);
    t[n++] = '.';
    b64u((const unsigned char *)payload, plen, t + n, cap - n);
    n = strlen(t);
    unsigned char der[128], rs[64];
    size_t derlen = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, der, &derlen, (const unsigned char *)t, n) != 1)
        abort();
    EVP_MD_CTX_free(md);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    if (!es) abort();
    BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
    ECDSA_SIG_free(es);
    t[n++] = '.';
    b64u(rs, 64, t + n, cap - n);
    return t;
}

static void check_verified(json_object *claims)
{
    json_object *v;
    FUZZ_ASSERT(json_object_object_get_ex(claims, "iss", &v) &&
                !strcmp(json_object_get_string(v), ISS));
    FUZZ_ASSERT(json_object_object_get_ex(claims, "nonce", &v) &&
                !strcmp(json_object_get_string(v), NONCE));
    FUZZ_ASSERT(json_object_object_get_ex(claims, "sub", &v) &&
                json_object_is_type(v, json_type_string));
    const char *sub = json_object_get_string(v);
    FUZZ_ASSERT(*sub && strlen(sub) <= AUTH_OIDC_SUB_MAX);
    FUZZ_ASSERT(json_object_object_get_ex(claims, "exp", &v));
    FUZZ_ASSERT((long long)json_object_get_double(v) + AUTH_OIDC_LEEWAY_S > NOW);
    char id[AUTH_USER_ID_MAX + 1], details[AUTH_DETAILS_MAX + 1];
    FUZZ_ASSERT(auth_oidc_user_id("prov", ISS, sub, id, sizeof id) == 0);
    FUZZ_ASSERT(strlen(id) == 5 + 32 && auth_valid_user_id(id) == 0);
    auth_oidc_user_details(claims, "nick", id, details, sizeof details);
    FUZZ_ASSERT(strlen(details) <= AUTH_DETAILS_MAX &&
                auth_valid_name(details, AUTH_DETAILS_MAX) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    fuzz_fields in;
    fuzz_split(&in, data + 1, size - 1, 2);
    auth_oidc_expect e = {ISS, AUD, NONCE, NOW};
    json_object *claims = NULL, *jwks = NULL;
    const char *why = NULL;
    char *token = NULL;
    if (data[0] & 1) {
        token = sign(in.f[0], in.len[0], in.f[1], in.len[1]);
        jwks = json_object_get(own_jwks);
    } else {
        jwks = json_tokener_parse(in.f[0]);
        token = strdup(in.f[1]);
        if (!token) abort();
    }
    int rc = auth_oidc_verify(token, jwks, &e, &claims, &why);
    FUZZ_ASSERT(rc >= -1 && rc <= 1);
    FUZZ_ASSERT((rc == 0) == (claims != NULL));
    FUZZ_ASSERT(rc == 0 || why != NULL);
    if (claims) check_verified(claims);
    json_object_put(claims);
    json_object_put(jwks);
    free(token);
    fuzz_fields_free(&in);
    return 0;
}
