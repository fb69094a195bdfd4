/* test_auth.c: the sign-in program's pure parts (gateway/auth/auth_util.c, compiled in here
 * because gateway/auth is a program, not library code): redirect targets, names, roles,
 * cookies, escaping and the principal. */
#include "unit.h"
#include "../../gateway/auth/auth_util.c"

static const char *redir(const char *target)
{
    static char out[AUTH_REDIRECT_MAX + 1];
    auth_safe_redirect(target, "http://127.0.0.1:4280", out, sizeof out);
    return out;
}

UNIT_TEST(auth_redirect_site_relative_only)
{
    CHECK_STR(redir(NULL), "/");
    CHECK_STR(redir(""), "/");
    CHECK_STR(redir("/"), "/");
    CHECK_STR(redir("/index.html?x=1#y"), "/index.html?x=1#y");
    CHECK_STR(redir("/chat/%2F%2Fevil"), "/chat/%2F%2Fevil");
    CHECK_STR(redir("//evil.example"), "/");
    CHECK_STR(redir("/\\evil.example"), "/");
    CHECK_STR(redir("/ok\\..\\x"), "/");
    CHECK_STR(redir("http://evil.example/"), "/");
    CHECK_STR(redir("https://evil.example"), "/");
    CHECK_STR(redir("javascript:alert(1)"), "/");
    CHECK_STR(redir("evil.example"), "/");
    CHECK_STR(redir("/a b"), "/");
    CHECK_STR(redir("/a\r\nSet-Cookie: x=1"), "/");
    CHECK_STR(redir("/caf\xc3\xa9"), "/");
    /* Our own site, absolute: accepted as its path; a look-alike host is not ours. */
    CHECK_STR(redir("http://127.0.0.1:4280/index.html"), "/index.html");
    CHECK_STR(redir("http://127.0.0.1:4280"), "/");
    CHECK_STR(redir("http://127.0.0.1:42800/x"), "/");
    CHECK_STR(redir("http://127.0.0.1:4280@evil.example/"), "/");
    char big[AUTH_REDIRECT_MAX + 10];
    memset(big, 'a', sizeof big - 1);
    big[0] = '/';
    big[sizeof big - 1] = '\0';
    CHECK_STR(redir(big), "/");
    char small[4];
    auth_safe_redirect("/abcdef", NULL, small, sizeof small); /* does not fit: the default */
    CHECK_STR(small, "/");
}

UNIT_TEST(auth_names)
{
    CHECK(auth_valid_name("Ada", AUTH_NAME_MAX) == 0);
    CHECK(auth_valid_name("Zo\xc3\xab \xe6\x9d\x8e", AUTH_NAME_MAX) == 0); /* UTF-8 letters */
    CHECK(auth_valid_name("", AUTH_NAME_MAX) == -1);
    CHECK(auth_valid_name(" Ada", AUTH_NAME_MAX) == -1); /* callers trim first */
    CHECK(auth_valid_name("A\tda", AUTH_NAME_MAX) == -1);
    CHECK(auth_valid_name("A\x7f", AUTH_NAME_MAX) == -1);
    CHECK(auth_valid_name("A\xc2\x85", AUTH_NAME_MAX) == -1);     /* C1 control */
    CHECK(auth_valid_name("A\xe2\x80\xae", AUTH_NAME_MAX) == -1); /* bidi override */
    CHECK(auth_valid_name("A\xff", AUTH_NAME_MAX) == -1);         /* not UTF-8 */
    CHECK(auth_valid_name("\xc0\xaf", AUTH_NAME_MAX) == -1);      /* overlong */
    CHECK(auth_valid_name("\xed\xa0\x80", AUTH_NAME_MAX) == -1);  /* surrogate */
    CHECK(auth_valid_name("abc", 3) == 0);
    CHECK(auth_valid_name("abcd", 3) == -1);
    CHECK(auth_valid_name("\xc3\xa9\xc3\xa9\xc3\xa9", 3) == 0); /* characters, not bytes */
    char t[] = "  spaced out \t";
    CHECK_STR(auth_trim(t), "spaced out");

    CHECK(auth_valid_username("ada_l.e-9") == 0);
    CHECK(auth_valid_username("ab") == -1);
    CHECK(auth_valid_username("abcdefghijklmnopqrstuvwxyz0123456") == -1); /* 33 */
    CHECK(auth_valid_username("ada lovelace") == -1);
    CHECK(auth_valid_username("ad\xc3\xa1") == -1);
    CHECK(auth_valid_provider("github") == 0);
    CHECK(auth_valid_provider("GitHub") == -1);
    CHECK(auth_valid_provider("git/hub") == -1);
    CHECK(auth_valid_provider("") == -1);
    CHECK(auth_valid_user_id("d75b260a64504067bfc5b2905e3b8182") == 0);
    CHECK(auth_valid_user_id("a@b.c") == 0);
    CHECK(auth_valid_user_id("a/b") == -1);
    CHECK(auth_valid_user_id("a%2F") == -1);
}

UNIT_TEST(auth_roles_field)
{
    char out[AUTH_ROLES_MAX * (AUTH_ROLE_MAX + 1) + 1];
    CHECK(auth_parse_roles("admin\r\n  writer \n\nadmin\nauthenticated\nanonymous", out,
                           sizeof out) == 0);
    CHECK_STR(out, "admin,writer");
    CHECK(auth_parse_roles("", out, sizeof out) == 0);
    CHECK_STR(out, "");
    CHECK(auth_parse_roles(NULL, out, sizeof out) == 0);
    CHECK(auth_parse_roles("bad role", out, sizeof out) == -1);
    CHECK(auth_parse_roles("bad,role", out, sizeof out) == -1);
    CHECK(auth_parse_roles("a\nb\nc\nd\ne\nf\ng\nh", out, sizeof out) == 0);
    CHECK(auth_parse_roles("a\nb\nc\nd\ne\nf\ng\nh\ni", out, sizeof out) == -1); /* 9 roles */
    CHECK(auth_parse_roles("abcdefghijklmnopqrstuvwxyz0123456", out, sizeof out) == -1);
}

UNIT_TEST(auth_cookie_header)
{
    char v[AUTH_COOKIE_VALUE_MAX];
    CHECK_STR(auth_cookie_get("a=1; StaticWebAppsAuthCookie=abc; b=2", AUTH_COOKIE, v, sizeof v),
              "abc");
    CHECK_STR(auth_cookie_get("StaticWebAppsAuthCookie=\"q\"", AUTH_COOKIE, v, sizeof v), "q");
    CHECK(auth_cookie_get("StaticWebAppsAuthCookie_0=abc", AUTH_COOKIE, v, sizeof v) == NULL);
    CHECK(auth_cookie_get("XStaticWebAppsAuthCookie=abc", AUTH_COOKIE, v, sizeof v) == NULL);
    CHECK(auth_cookie_get(NULL, AUTH_COOKIE, v, sizeof v) == NULL);
    CHECK_STR(auth_cookie_get("StaticWebAppsAuthCookie=first;StaticWebAppsAuthCookie=second",
                              AUTH_COOKIE, v, sizeof v),
              "first");
    char tiny[4];
    CHECK(auth_cookie_get("StaticWebAppsAuthCookie=toolong", AUTH_COOKIE, tiny, sizeof tiny) ==
          NULL);
}

UNIT_TEST(auth_escaping)
{
    auth_buf b = {0};
    auth_buf_html(&b, "<script>alert('x')</script>&\"");
    CHECK_STR(b.s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
    auth_buf_free(&b);
    auth_buf_url(&b, "/a b?c=d&e=/\"<");
    CHECK_STR(b.s, "/a%20b%3Fc%3Dd%26e%3D/%22%3C");
    auth_buf_free(&b);
    for (int i = 0; i < 1000; i++)
        auth_buf_puts(&b, "0123456789");
    CHECK(b.len == 10000 && !b.failed && strlen(b.s) == 10000);
    auth_buf_free(&b);
}

UNIT_TEST(auth_principal_shapes)
{
    auth_user u = {.provider = "github",
                   .user_id = "d75b260a64504067bfc5b2905e3b8182",
                   .details = "alice",
                   .roles = ""};
    json_object *o = auth_principal_json(&u, 0);
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"identityProvider\":\"github\",\"userId\":\"d75b260a64504067bfc5b2905e3b8182\","
              "\"userDetails\":\"alice\",\"userRoles\":[\"anonymous\",\"authenticated\"]}");
    json_object_put(o);
    snprintf(u.roles, sizeof u.roles, "admin,writer");
    o = auth_principal_json(&u, 1);
    CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
              "{\"identityProvider\":\"github\",\"userId\":\"d75b260a64504067bfc5b2905e3b8182\","
              "\"userDetails\":\"alice\",\"userRoles\":[\"admin\",\"writer\",\"anonymous\","
              "\"authenticated\"],\"claims\":[]}");
    json_object_put(o);
    fn_principal p;
    auth_to_principal(&u, &p);
    CHECK(p.nroles == 4);
    CHECK(fn_roles_check("writer", &p) == 0);
    CHECK(fn_roles_check("authenticated", &p) == 0);
    CHECK(fn_roles_check("owner", &p) == 403);
}

UNIT_TEST(auth_mock_ids_stay_in_their_provider_namespace)
{
    char out[AUTH_USER_ID_MAX + 1];
    CHECK(auth_mock_user_id("github", "alice", out, sizeof out) == 0);
    CHECK_STR(out, "github.alice");
    /* A local or guest id (32 hex), or another provider's id, becomes a github one. */
    CHECK(auth_mock_user_id("github", "d75b260a64504067bfc5b2905e3b8182", out, sizeof out) == 0);
    CHECK_STR(out, "github.d75b260a64504067bfc5b2905e3b8182");
    CHECK(auth_mock_user_id("github", "aad.bob", out, sizeof out) == 0);
    CHECK_STR(out, "github.aad.bob");
    CHECK(auth_mock_user_id("github", "a/b", out, sizeof out) == -1);
    CHECK(auth_mock_user_id("github", "", out, sizeof out) == -1);
    char id[AUTH_USER_ID_MAX + 1];
    memset(id, 'x', AUTH_USER_ID_MAX - 7);
    id[AUTH_USER_ID_MAX - 7] = '\0'; /* "github." + 57 = 64: fits */
    CHECK(auth_mock_user_id("github", id, out, sizeof out) == 0);
    id[AUTH_USER_ID_MAX - 7] = 'x';
    id[AUTH_USER_ID_MAX - 6] = '\0'; /* 65: does not */
    CHECK(auth_mock_user_id("github", id, out, sizeof out) == -1);
}

UNIT_TEST(auth_client_keys)
{
    char k[AUTH_CLIENT_KEY_MAX + 8];
    auth_client_key("203.0.113.5", k, sizeof k);
    CHECK_STR(k, "203.0.113.5");
    auth_client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof k);
    CHECK_STR(k, "2001:db8:1:2::/64"); /* one host's /64 is one client */
    auth_client_key("2001:db8:1:2::1", k, sizeof k);
    CHECK_STR(k, "2001:db8:1:2::/64");
    auth_client_key("::ffff:198.51.100.7", k, sizeof k);
    CHECK_STR(k, "198.51.100.7");
    auth_client_key("unix:", k, sizeof k);
    CHECK_STR(k, "unix:");
    auth_client_key(NULL, k, sizeof k);
    CHECK_STR(k, "-");
}
