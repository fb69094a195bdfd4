/* test_sdk_jwt.c: HS256 tokens: the client and REST token vectors byte for byte, claim
 * parsing (string or array), and every way a token must be refused. */
#include "unit.h"
#include "wps_jwt.h"

#include <stdlib.h>
#include <sodium.h>

#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
#define T0 1700000000
#define CLIENT_AUD "http://localhost:8080/client/hubs/chat"
#define REST_AUD "http://localhost:8080/api/hubs/chat/:send?api-version=2024-12-01"
#define VECTOR_CLIENT                                                                              \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                        \
    "eyJyb2xlIjpbIndlYnB1YnN1Yi5zZW5kVG9Hcm91cCIsIndlYnB1YnN1"                                     \
    "Yi5qb2luTGVhdmVHcm91cCJdLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiYXVkIjoiaHR0cDovL2xv" \
    "Y2FsaG9zdDo4MDgwL2NsaWVudC9odWJzL2NoYXQiLCJzdWIiOiJ1c2VyMSJ9.ueThyP1Djzx5XqN-"                \
    "9Gja5fOITDUYjJ8zb"                                                                            \
    "MmFr8tSpFA"
#define VECTOR_REST                                                                                \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                        \
    "eyJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMzYwMCwiYXVkIjoi"                                     \
    "aHR0cDovL2xvY2FsaG9zdDo4MDgwL2FwaS9odWJzL2NoYXQvOnNlbmQ_YXBpLXZlcnNpb249MjAyNC0xMi0wMSJ9.md_" \
    "k"                                                                                            \
    "yvmghoXMP7fZ1djIXxMyhU63EnRPdKDq_Rhb6K0"

static const char *const chatr_roles[] = {"webpubsub.sendToGroup", "webpubsub.joinLeaveGroup"};

/* Verifies token against CLIENT_AUD at now; 0 on success (claims freed), -1 otherwise. */
static int verify_at(const char *token, time_t now)
{
    const char *aud[] = {CLIENT_AUD};
    wps_jwt_expect ex = {aud, 1, 1, now};
    wps_jwt_claims c;
    int rc = wps_jwt_verify(KEY, token, &ex, &c, NULL, 0);
    wps_jwt_claims_free(&c);
    return rc;
}

/* Signs the JSON text payload with KEY. */
static char *sign_json(const char *payload)
{
    json_object *o = json_tokener_parse(payload);
    char *t = wps_jwt_sign(KEY, o);
    json_object_put(o);
    return t;
}

/* "<b64url(header)>.<b64url(payload)>.<sig>" with sig = HS256 under KEY, or the given text. */
static char *raw_token(const char *header, const char *payload, const char *sig)
{
    char h[512], p[1024], s[64];
    sodium_bin2base64(h, sizeof h, (const unsigned char *)header, strlen(header),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_bin2base64(p, sizeof p, (const unsigned char *)payload, strlen(payload),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out;
    if (asprintf(&out, "%s.%s", h, p) < 0) return NULL;
    if (!sig) {
        unsigned char mac[32];
        crypto_auth_hmacsha256_state st;
        crypto_auth_hmacsha256_init(&st, (const unsigned char *)KEY, strlen(KEY));
        crypto_auth_hmacsha256_update(&st, (const unsigned char *)out, strlen(out));
        crypto_auth_hmacsha256_final(&st, mac);
        sodium_bin2base64(s, sizeof s, mac, 32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sig = s;
    }
    char *full;
    int n = asprintf(&full, "%s.%s", out, sig);
    free(out);
    return n < 0 ? NULL : full;
}

UNIT_TEST(jwt_sign_reproduces_client_vector)
{
    json_object *c =
        wps_jwt_claims_new(CLIENT_AUD, "user1", chatr_roles, 2, NULL, 0, T0, T0 + 3600);
    CHECK_STR(
        json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
        "{\"role\":[\"webpubsub.sendToGroup\",\"webpubsub.joinLeaveGroup\"],\"iat\":1700000000,"
        "\"exp\":1700003600,\"aud\":\"http://localhost:8080/client/hubs/chat\",\"sub\":\"user1\"}");
    char *t = wps_jwt_sign(KEY, c);
    CHECK_STR(t, VECTOR_CLIENT);
    free(t);
    json_object_put(c);
}

UNIT_TEST(jwt_sign_reproduces_rest_vector)
{
    json_object *c = wps_jwt_claims_new(REST_AUD, NULL, NULL, 0, NULL, 0, T0, T0 + 3600);
    char *t = wps_jwt_sign(KEY, c);
    CHECK_STR(t, VECTOR_REST);
    free(t);
    json_object_put(c);
}

UNIT_TEST(jwt_verify_client_vector)
{
    const char *aud[] = {CLIENT_AUD};
    wps_jwt_expect ex = {aud, 1, 1, T0 + 10};
    wps_jwt_claims c;
    char err[128] = "";
    CHECK(wps_jwt_verify(KEY, VECTOR_CLIENT, &ex, &c, err, sizeof err) == 0);
    CHECK_STR(c.user_id, "user1");
    CHECK(c.nroles == 2);
    CHECK_STR(c.roles[0], "webpubsub.sendToGroup");
    CHECK_STR(c.roles[1], "webpubsub.joinLeaveGroup");
    CHECK(c.ngroups == 0);
    json_object *iat;
    CHECK(c.claims && json_object_object_get_ex(c.claims, "iat", &iat) &&
          json_object_get_int64(iat) == T0);
    wps_jwt_claims_free(&c);
    CHECK(c.claims == NULL);
}

UNIT_TEST(jwt_verify_rest_vector)
{
    const char *aud[] = {"http://other/", REST_AUD};
    wps_jwt_expect ex = {aud, 2, 0, T0 + 3600};
    wps_jwt_claims c;
    CHECK(wps_jwt_verify(KEY, VECTOR_REST, &ex, &c, NULL, 0) == 0);
    CHECK(c.user_id == NULL && c.nroles == 0 && c.ngroups == 0);
    wps_jwt_claims_free(&c);
    /* Another query string is another audience. */
    const char *other[] = {"http://localhost:8080/api/hubs/chat/:send?api-version=2024-01-01"};
    wps_jwt_expect ex2 = {other, 1, 0, T0};
    CHECK(wps_jwt_verify(KEY, VECTOR_REST, &ex2, &c, NULL, 0) == -1);
}

UNIT_TEST(jwt_audience_leniency)
{
    wps_jwt_claims c;
    const char *slash[] = {CLIENT_AUD "/"};
    const char *hubcase[] = {"http://localhost:8080/client/hubs/Chat"};
    const char *wrong[] = {"http://localhost:8080/client/hubs/other"};
    char err[128] = "";
    CHECK(wps_jwt_verify(KEY, VECTOR_CLIENT, &(wps_jwt_expect){slash, 1, 0, T0}, &c, NULL, 0) == 0);
    wps_jwt_claims_free(&c);
    CHECK(wps_jwt_verify(KEY, VECTOR_CLIENT, &(wps_jwt_expect){hubcase, 1, 1, T0}, &c, NULL, 0) ==
          0);
    wps_jwt_claims_free(&c);
    CHECK(wps_jwt_verify(KEY, VECTOR_CLIENT, &(wps_jwt_expect){hubcase, 1, 0, T0}, &c, NULL, 0) ==
          -1);
    CHECK(wps_jwt_verify(KEY, VECTOR_CLIENT, &(wps_jwt_expect){wrong, 1, 1, T0}, &c, err,
                         sizeof err) == -1);
    CHECK(strstr(err, "aud") != NULL);
    /* An aud array matches if any entry does; a token without aud fails an aud check. */
    char *t = sign_json("{\"aud\":[\"x\",\"" CLIENT_AUD "\"],\"exp\":1700003600}");
    CHECK(verify_at(t, T0) == 0);
    free(t);
    t = sign_json("{\"exp\":1700003600}");
    CHECK(verify_at(t, T0) == -1);
    CHECK(wps_jwt_verify(KEY, t, &(wps_jwt_expect){NULL, 0, 0, T0}, &c, NULL, 0) == 0);
    wps_jwt_claims_free(&c);
    free(t);
}

UNIT_TEST(jwt_lifetime_and_skew)
{
    /* exp = T0 + 3600, skew 300 s. */
    CHECK(verify_at(VECTOR_CLIENT, T0 + 3600 + WPS_JWT_CLOCK_SKEW) == 0);
    CHECK(verify_at(VECTOR_CLIENT, T0 + 3600 + WPS_JWT_CLOCK_SKEW + 1) == -1);
    char *t = sign_json("{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"nbf\":1700001000}");
    CHECK(verify_at(t, 1700001000 - WPS_JWT_CLOCK_SKEW - 1) == -1);
    CHECK(verify_at(t, 1700001000 - WPS_JWT_CLOCK_SKEW) == 0);
    free(t);
    t = sign_json("{\"aud\":\"" CLIENT_AUD "\"}"); /* no exp */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = sign_json("{\"aud\":\"" CLIENT_AUD "\",\"exp\":\"1700003600\"}"); /* exp not a number */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    /* A fresh token with the real clock (expect->now = 0). */
    json_object *c =
        wps_jwt_claims_new(CLIENT_AUD, NULL, NULL, 0, NULL, 0, time(NULL), time(NULL) + 60);
    t = wps_jwt_sign(KEY, c);
    CHECK(verify_at(t, 0) == 0);
    free(t);
    json_object_put(c);
}

UNIT_TEST(jwt_rejects_bad_signature_and_alg)
{
    char *t = strdup(VECTOR_CLIENT);
    size_t n = strlen(t);
    t[n - 2] = t[n - 2] == 'A' ? 'B' : 'A'; /* flip one signature character */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    const char *aud[] = {CLIENT_AUD};
    wps_jwt_claims c;
    char err[128] = "";
    CHECK(wps_jwt_verify("another-key", VECTOR_CLIENT, &(wps_jwt_expect){aud, 1, 1, T0}, &c, err,
                         sizeof err) == -1);
    CHECK_STR(err, "token: bad signature");
    CHECK(wps_jwt_verify("", VECTOR_CLIENT, &(wps_jwt_expect){aud, 1, 1, T0}, &c, NULL, 0) == -1);
    const char *payload = "{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600}";
    t = raw_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, NULL);
    CHECK(verify_at(t, T0) == 0); /* the helper itself makes good tokens */
    free(t);
    t = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, "");
    CHECK(wps_jwt_verify(KEY, t, &(wps_jwt_expect){aud, 1, 1, T0}, &c, err, sizeof err) == -1);
    CHECK_STR(err, "token: alg is not HS256");
    free(t);
    t = raw_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL); /* even if HMAC'd */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = raw_token("{\"alg\":\"HS512\"}", payload, NULL);
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = raw_token("{\"typ\":\"JWT\"}", payload, NULL);
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = raw_token("{\"alg\":\"HS256\",\"kid\":\"k1\"}", payload, NULL); /* kid ignored */
    CHECK(verify_at(t, T0) == 0);
    free(t);
}

UNIT_TEST(jwt_rejects_garbage)
{
    const char *bad[] = {"",
                         "abc",
                         "a.b",
                         "a.b.c",
                         "a.b.c.d",
                         "..",
                         "eyJhbGciOiJIUzI1NiJ9..",
                         VECTOR_CLIENT ".x",
                         "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.!!!.abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(verify_at(bad[i], T0) == -1);
    CHECK(verify_at(NULL, T0) == -1);
    char *t = raw_token("{\"alg\":\"HS256\"}", "[1,2]", NULL); /* payload not an object */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = raw_token("{\"alg\":\"HS256\"}", "{\"exp\":1700003600} x", NULL); /* trailing bytes */
    CHECK(verify_at(t, T0) == -1);
    free(t);
    t = raw_token("not json", "{\"exp\":1700003600}", NULL);
    CHECK(verify_at(t, T0) == -1);
    free(t);
}

UNIT_TEST(jwt_rejects_oversized)
{
    size_t big = WPS_JWT_MAX_LEN;
    char *pad = malloc(big + 1);
    memset(pad, 'x', big);
    pad[big] = '\0';
    json_object *c = wps_jwt_claims_new(CLIENT_AUD, NULL, NULL, 0, NULL, 0, T0, T0 + 60);
    json_object_object_add(c, "pad", json_object_new_string(pad));
    char *t = wps_jwt_sign(KEY, c);
    char err[128] = "";
    const char *aud[] = {CLIENT_AUD};
    wps_jwt_claims out;
    CHECK(t && strlen(t) > WPS_JWT_MAX_LEN);
    CHECK(wps_jwt_verify(KEY, t, &(wps_jwt_expect){aud, 1, 1, T0}, &out, err, sizeof err) == -1);
    CHECK(strstr(err, "longer than") != NULL);
    free(t);
    free(pad);
    json_object_put(c);
}

UNIT_TEST(jwt_claims_string_or_array)
{
    const char *aud[] = {CLIENT_AUD};
    wps_jwt_expect ex = {aud, 1, 1, T0};
    wps_jwt_claims c;
    char *t = sign_json("{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"role\":\"webpubsub."
                        "sendToGroup\",\"webpubsub.group\":\"room1\",\"sub\":\"u\"}");
    CHECK(wps_jwt_verify(KEY, t, &ex, &c, NULL, 0) == 0);
    CHECK(c.nroles == 1 && c.ngroups == 1);
    CHECK_STR(c.roles[0], "webpubsub.sendToGroup");
    CHECK_STR(c.groups[0], "room1");
    CHECK_STR(c.user_id, "u");
    wps_jwt_claims_free(&c);
    free(t);
    const char *const groups[] = {"a", "b c", "d/e"};
    json_object *o = wps_jwt_claims_new(CLIENT_AUD, NULL, NULL, 0, groups, 3, T0, T0 + 60);
    t = wps_jwt_sign(KEY, o);
    json_object_put(o);
    CHECK(wps_jwt_verify(KEY, t, &ex, &c, NULL, 0) == 0);
    CHECK(c.ngroups == 3 && c.nroles == 0 && c.user_id == NULL);
    CHECK_STR(c.groups[2], "d/e");
    wps_jwt_claims_free(&c);
    free(t);
}

UNIT_TEST(jwt_claims_types_and_limits)
{
    const char *bad[] = {
        "{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"role\":[\"a\",1]}",
        "{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"role\":{\"a\":1}}",
        "{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"webpubsub.group\":5}",
        "{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"sub\":42}",
        "{\"aud\":7,\"exp\":1700003600}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = sign_json(bad[i]);
        CHECK(verify_at(t, T0) == -1);
        free(t);
    }
    const char *names[WPS_JWT_MAX_LIST + 1];
    for (size_t i = 0; i <= WPS_JWT_MAX_LIST; i++)
        names[i] = "g";
    json_object *o =
        wps_jwt_claims_new(CLIENT_AUD, NULL, NULL, 0, names, WPS_JWT_MAX_LIST, T0, T0 + 9);
    char *t = wps_jwt_sign(KEY, o);
    CHECK(verify_at(t, T0) == 0); /* exactly the limit */
    free(t);
    json_object_put(o);
    o = wps_jwt_claims_new(CLIENT_AUD, NULL, names, WPS_JWT_MAX_LIST + 1, NULL, 0, T0, T0 + 9);
    t = wps_jwt_sign(KEY, o);
    CHECK(verify_at(t, T0) == -1);
    free(t);
    json_object_put(o);
    char longname[WPS_JWT_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *one[] = {longname};
    o = wps_jwt_claims_new(CLIENT_AUD, NULL, NULL, 0, one, 1, T0, T0 + 9);
    t = wps_jwt_sign(KEY, o);
    CHECK(verify_at(t, T0) == -1);
    free(t);
    json_object_put(o);
    longname[WPS_JWT_MAX_NAME] = '\0';
    o = wps_jwt_claims_new(CLIENT_AUD, longname, NULL, 0, one, 1, T0, T0 + 9);
    t = wps_jwt_sign(KEY, o);
    CHECK(verify_at(t, T0) == 0);
    free(t);
    json_object_put(o);
    t = sign_json("{\"aud\":\"" CLIENT_AUD "\",\"exp\":1700003600,\"role\":null,\"sub\":null}");
    CHECK(verify_at(t, T0) == 0); /* null = absent */
    free(t);
}
