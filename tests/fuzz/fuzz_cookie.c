/* fuzz_cookie.c: what the sign-in program (gateway/auth) parses from a browser: the Cookie
 * header (auth_cookie_get), urlencoded forms and queries (fn_form / fn_urlencoded_get,
 * gateway/runtime), redirect targets (auth_safe_redirect), the roles textarea (auth_parse_roles)
 * and the name checks, plus the HTML and URL escaping of what it echoes back.
 *
 * Input: "<Cookie header>\n<Content-Type>\n<redirect target>\n<form body>".
 * Properties: a cookie value or form field fits its buffer and is a C string; a redirect target
 * is site-relative ("/" or "/x", never "//host" or "/\host", printable ASCII only); parsed roles
 * are at most AUTH_ROLES_MAX comma-separated names; escaped HTML has no < > " ' left. */
#include "fuzz_util.h"
#include "../../gateway/auth/auth.h"

static const char *const cookie_names[] = {AUTH_COOKIE, "a", ""};
static const char *const form_names[] = {"name", "username", "password", "userRoles", "a b", "%"};
static const size_t buflens[] = {1, 2, 8, AUTH_COOKIE_VALUE_MAX + 1, 1024};

static void cookies(const char *header)
{
    for (size_t i = 0; i < sizeof cookie_names / sizeof *cookie_names; i++)
        for (size_t j = 0; j < sizeof buflens / sizeof *buflens; j++) {
            char *out = malloc(buflens[j]);
            if (!out) abort();
            if (auth_cookie_get(header, cookie_names[i], out, buflens[j]))
                FUZZ_ASSERT(strlen(out) < buflens[j]);
            free(out);
        }
}

static void forms(const char *ctype, const char *body, size_t len)
{
    fuzz_req r;
    fuzz_req_init(&r, "POST", "/.auth/login/guest", "");
    fuzz_param(&r, "CONTENT_TYPE", ctype);
    fuzz_body(&r, body, len);
    r.req.query = r.req.body; /* the same bytes as a query string (up to a NUL) */
    for (size_t i = 0; i < sizeof form_names / sizeof *form_names; i++)
        for (size_t j = 0; j < sizeof buflens / sizeof *buflens; j++) {
            char *out = malloc(buflens[j]);
            if (!out) abort();
            if (fn_form(&r.req, form_names[i], out, buflens[j]))
                FUZZ_ASSERT(strlen(out) < buflens[j]);
            if (fn_query(&r.req, form_names[i], out, buflens[j]))
                FUZZ_ASSERT(strlen(out) < buflens[j]);
            free(out);
        }
    fuzz_req_free(&r);
}

static void redirect(const char *target)
{
    static const char *const publics[] = {NULL, "", FUZZ_PUBLIC_URL, "http://chatr.example/"};
    for (size_t i = 0; i < sizeof publics / sizeof *publics; i++) {
        char out[AUTH_REDIRECT_MAX + 1];
        auth_safe_redirect(target, publics[i], out, sizeof out);
        FUZZ_ASSERT(out[0] == '/');
        FUZZ_ASSERT(out[1] != '/' && out[1] != '\\');
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            FUZZ_ASSERT(*p > 0x20 && *p < 0x7f && *p != '\\');
    }
}

static void fields(const char *s)
{
    char roles[AUTH_ROLES_MAX * (AUTH_ROLE_MAX + 1) + 1];
    if (auth_parse_roles(s, roles, sizeof roles) == 0) {
        size_t commas = 0;
        for (const char *p = roles; *p; p++)
            commas += *p == ',';
        FUZZ_ASSERT(roles[0] == '\0' || commas + 1 <= AUTH_ROLES_MAX);
    }
    (void)auth_valid_name(s, AUTH_NAME_MAX);
    (void)auth_valid_username(s);
    (void)auth_valid_provider(s);
    (void)auth_valid_user_id(s);
    auth_buf b = {0};
    auth_buf_html(&b, s);
    if (b.s) FUZZ_ASSERT(strpbrk(b.s, "<>\"'") == NULL);
    auth_buf_url(&b, s);
    auth_buf_free(&b);
    char *t = strdup(s);
    if (!t) abort();
    char *trimmed = auth_trim(t);
    size_t n = strlen(trimmed);
    FUZZ_ASSERT(n == 0 || (trimmed[0] != ' ' && trimmed[n - 1] != ' '));
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024) return 0;
    fuzz_fields ff;
    fuzz_split(&ff, data, size, 4);
    cookies(ff.f[0]);
    forms(ff.len[1] ? ff.f[1] : "application/x-www-form-urlencoded", ff.f[3], ff.len[3]);
    redirect(ff.f[2]);
    fields(ff.f[3]);
    fuzz_fields_free(&ff);
    return 0;
}
