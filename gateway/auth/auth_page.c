/* auth_page.c: the server-rendered sign-in form of /.auth/login/<provider>, shown on GET and
 * again with the error after a failed POST. Every piece of user text goes through
 * auth_buf_html; the form posts back to the same URL. */
#include "auth.h"

#include <string.h>
#include <sodium.h>

static void field(auth_buf *b, const char *label, const char *name, const char *type,
                  const char *value, const char *extra)
{
    auth_buf_puts(b, "<label>");
    auth_buf_puts(b, label);
    auth_buf_puts(b, "<input name=\"");
    auth_buf_puts(b, name);
    auth_buf_puts(b, "\" type=\"");
    auth_buf_puts(b, type);
    auth_buf_puts(b, "\" value=\"");
    auth_buf_html(b, value ? value : "");
    auth_buf_puts(b, "\" ");
    auth_buf_puts(b, extra);
    auth_buf_puts(b, "></label>\n");
}

static void form_fields(auth_buf *b, const char *provider, const char *prefill)
{
    if (!strcmp(provider, "guest")) {
        field(b, "Display name", "name", "text", prefill, "required maxlength=\"32\" autofocus");
        auth_buf_puts(b, "<button type=\"submit\">Continue as guest</button>\n");
    } else if (!strcmp(provider, "local")) {
        field(b, "Username", "username", "text", prefill,
              "required minlength=\"3\" maxlength=\"32\" autocomplete=\"username\" autofocus");
        field(b, "Password", "password", "password", "",
              "required minlength=\"8\" maxlength=\"128\" autocomplete=\"current-password\"");
        auth_buf_puts(b,
                      "<button type=\"submit\" name=\"action\" value=\"login\">Sign in</button>\n"
                      "<button type=\"submit\" name=\"action\" value=\"register\">Create account"
                      "</button>\n");
    } else {
        /* The development mock, like the SWA CLI's page (docs/protocols.md#mock-sign-in-page). */
        char id[33];
        unsigned char raw[16];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(id, sizeof id, raw, sizeof raw);
        auth_buf_puts(b, "<p class=\"note\">Development sign-in: no password is checked.</p>\n");
        field(b, "User ID", "userId", "text", id, "required maxlength=\"64\"");
        field(b, "Username", "userDetails", "text", prefill,
              "required maxlength=\"128\" autofocus");
        auth_buf_puts(b,
                      "<label>User's roles (one per line)<textarea name=\"userRoles\" rows=\"3\">"
                      "</textarea></label>\n<button type=\"submit\">Login</button>\n");
    }
}

void auth_page_login(fn_res *res, int status, const char *provider, const char *redirect,
                     const char *error, const char *prefill)
{
    auth_buf b = {0};
    auth_buf_puts(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>Sign in · Chatr</title>\n"
                      "<link rel=\"stylesheet\" href=\"/login.css\">\n</head>\n<body>\n"
                      "<main class=\"card\">\n<h1>Sign in to Chatr</h1>\n<p>Provider: <b>");
    auth_buf_html(&b, provider);
    auth_buf_puts(&b, "</b></p>\n");
    if (error) {
        auth_buf_puts(&b, "<p class=\"error\" role=\"alert\">");
        auth_buf_html(&b, error);
        auth_buf_puts(&b, "</p>\n");
    }
    auth_buf_puts(&b, "<form method=\"post\" action=\"/.auth/login/");
    auth_buf_html(&b, provider);
    auth_buf_puts(&b, "?post_login_redirect_uri=");
    {
        auth_buf enc = {0};
        auth_buf_url(&enc, redirect);
        auth_buf_html(&b, enc.s ? enc.s : "/");
        auth_buf_free(&enc);
    }
    auth_buf_puts(&b, "\">\n");
    form_fields(&b, provider, prefill);
    auth_buf_puts(&b, "</form>\n<p><a href=\"/login.html\">Other ways to sign in</a></p>\n"
                      "</main>\n</body>\n</html>\n");
    if (b.failed) {
        auth_buf_free(&b);
        fn_error(res, 500, "out of memory");
        return;
    }
    fn_set_header(
        res, "Content-Security-Policy",
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'");
    fn_set_header(res, "X-Frame-Options", "DENY");
    fn_set_header(res, "X-Content-Type-Options", "nosniff");
    fn_set_header(res, "Referrer-Policy", "same-origin");
    fn_text(res, status, "text/html; charset=utf-8", b.s, b.len);
    auth_buf_free(&b);
}
