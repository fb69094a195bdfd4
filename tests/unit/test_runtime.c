/* test_runtime.c: the function runtime's parsing, limits and principal decoding. */
#include "unit.h"
#include "fn.h"

#include <stdlib.h>
#include <sodium.h>

static char *b64(const char *s)
{
    size_t n = strlen(s);
    size_t cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
    char *out = malloc(cap);
    sodium_bin2base64(out, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

UNIT_TEST(principal_decodes_protocol_example)
{
    /* The x-ms-client-principal example of Static Web Apps' docs, byte for byte. */
    const char *hdr =
        "eyJpZGVudGl0eVByb3ZpZGVyIjoiZ2l0aHViIiwidXNlcklkIjoiZDc1YjI2MGE2NDUwNDA2N2JmYzVi"
        "MjkwNWUzYjgxODIiLCJ1c2VyRGV0YWlscyI6ImFsaWNlIiwidXNlclJvbGVzIjpbImFub255bW91cyIs"
        "ImF1dGhlbnRpY2F0ZWQiXX0=";
    fn_principal p;
    CHECK(fn_principal_decode(hdr, &p) == 0);
    CHECK_STR(p.provider, "github");
    CHECK_STR(p.user_id, "d75b260a64504067bfc5b2905e3b8182");
    CHECK_STR(p.details, "alice");
    CHECK(p.nroles == 2);
    CHECK(fn_principal_has_role(&p, "authenticated"));
    CHECK(!fn_principal_has_role(&p, "admin"));
}

UNIT_TEST(principal_rejects_malformed)
{
    fn_principal p;
    CHECK(fn_principal_decode("", &p) == -1);
    CHECK(fn_principal_decode("!!!not base64!!!", &p) == -1);
    char *s = b64("not json");
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    s = b64("[1,2]");
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    s = b64("{\"identityProvider\":\"x\"}"); /* no userId */
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    s = b64("{\"userId\":\"u\",\"userRoles\":\"authenticated\"}"); /* roles not an array */
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    s = b64("{\"userId\":\"u\",\"userRoles\":[1]}");
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    s = b64("{\"userId\":\"u\"} trailing");
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
}

UNIT_TEST(principal_enforces_limits)
{
    fn_principal p;
    char big[FN_MAX_USER_ID + 64];
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = '\0';
    char json[sizeof big + 64];
    snprintf(json, sizeof json, "{\"userId\":\"%s\"}", big);
    char *s = b64(json);
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    /* Too many roles. */
    char roles[4096] = "{\"userId\":\"u\",\"userRoles\":[";
    for (int i = 0; i <= FN_MAX_ROLES; i++)
        strcat(roles, i ? ",\"r\"" : "\"r\"");
    strcat(roles, "]}");
    s = b64(roles);
    CHECK(fn_principal_decode(s, &p) == -1);
    free(s);
    /* An oversized header is refused before decoding. */
    char *huge = malloc(FN_MAX_PRINCIPAL + 8);
    memset(huge, 'A', FN_MAX_PRINCIPAL + 4);
    huge[FN_MAX_PRINCIPAL + 4] = '\0';
    CHECK(fn_principal_decode(huge, &p) == -1);
    free(huge);
}

UNIT_TEST(methods_and_roles)
{
    CHECK(fn_method_allowed("GET", "GET"));
    CHECK(fn_method_allowed("GET", "HEAD"));
    CHECK(!fn_method_allowed("GET", "POST"));
    CHECK(fn_method_allowed("GET, POST", "POST"));
    CHECK(!fn_method_allowed("GET,POST", "DELETE"));
    CHECK(fn_method_allowed("", "DELETE"));

    fn_principal p = {0};
    strcpy(p.user_id, "u");
    strcpy(p.roles[0], "anonymous");
    strcpy(p.roles[1], "authenticated");
    p.nroles = 2;
    CHECK(fn_roles_check("anonymous", NULL) == 0);
    CHECK(fn_roles_check("", NULL) == 0);
    CHECK(fn_roles_check("authenticated", NULL) == 401);
    CHECK(fn_roles_check("authenticated", &p) == 0);
    CHECK(fn_roles_check("admin", &p) == 403);
    CHECK(fn_roles_check("admin,authenticated", &p) == 0);
}

UNIT_TEST(url_decode)
{
    char out[32];
    CHECK(fn_url_decode(out, sizeof out, "a%20b+c", 7, 1) == 5);
    CHECK_STR(out, "a b c");
    fn_url_decode(out, sizeof out, "a+b", 3, 0);
    CHECK_STR(out, "a+b");
    fn_url_decode(out, sizeof out, "%zz%4", 5, 0); /* bad escapes kept literally */
    CHECK_STR(out, "%zz%4");
    fn_url_decode(out, 4, "abcdefgh", 8, 0); /* truncates, stays terminated */
    CHECK_STR(out, "abc");
}

UNIT_TEST(body_limit)
{
    CHECK(fn_body_limit(NULL) == FN_MAX_BODY_DEFAULT);
    CHECK(fn_body_limit("") == FN_MAX_BODY_DEFAULT);
    CHECK(fn_body_limit("0") == 0);
    CHECK(fn_body_limit("1024") == 1024);
    CHECK(fn_body_limit("-5") == FN_MAX_BODY_DEFAULT);
    CHECK(fn_body_limit("12x") == FN_MAX_BODY_DEFAULT);
    CHECK(fn_body_limit("999999999999") == FN_MAX_BODY_CEILING);
}

UNIT_TEST(query_params)
{
    fn_req req = {0};
    req.query = "a=1&userId=al%20ice&empty=&flag&x=%2F";
    char buf[16];
    CHECK_STR(fn_query(&req, "userId", buf, sizeof buf), "al ice");
    CHECK_STR(fn_query(&req, "a", buf, sizeof buf), "1");
    CHECK_STR(fn_query(&req, "empty", buf, sizeof buf), "");
    CHECK_STR(fn_query(&req, "flag", buf, sizeof buf), "");
    CHECK_STR(fn_query(&req, "x", buf, sizeof buf), "/");
    CHECK(fn_query(&req, "missing", buf, sizeof buf) == NULL);
    char tiny[3];
    CHECK(fn_query(&req, "userId", tiny, sizeof tiny) == NULL); /* too long: refused */
}

UNIT_TEST(form_fields)
{
    char *env[] = {"CONTENT_TYPE=application/x-www-form-urlencoded; charset=UTF-8", NULL};
    char body[] = "name=Ada+L%C3%B6\0x&password=p%26ss&empty=&n2=Ada+L%C3%B6&z=%00";
    fn_req req = {0};
    req.envp = env;
    req.body = body;
    req.body_len = sizeof body - 1;
    char buf[32];
    CHECK(fn_form(&req, "name", buf, sizeof buf) == NULL); /* a NUL inside: refused */
    CHECK_STR(fn_form(&req, "password", buf, sizeof buf),
              "p&ss"); /* after the NUL: length-bounded */
    CHECK_STR(fn_form(&req, "empty", buf, sizeof buf), "");
    CHECK_STR(fn_form(&req, "n2", buf, sizeof buf), "Ada L\xc3\xb6");
    CHECK(fn_form(&req, "z", buf, sizeof buf) == NULL);
    CHECK(fn_form(&req, "missing", buf, sizeof buf) == NULL);
    char *json_env[] = {"CONTENT_TYPE=application/json", NULL};
    req.envp = json_env;
    CHECK(fn_form(&req, "name", buf, sizeof buf) == NULL); /* only urlencoded bodies are forms */
    char *odd_env[] = {"CONTENT_TYPE=application/x-www-form-urlencodedX", NULL};
    req.envp = odd_env;
    CHECK(fn_form(&req, "name", buf, sizeof buf) == NULL);
    CHECK(fn_urlencoded_get("a=1", 1, "a", buf, sizeof buf) != NULL); /* "a" only: present, empty */
    CHECK_STR(buf, "");
    CHECK(fn_urlencoded_get(NULL, 0, "a", buf, sizeof buf) == NULL);
}
