/* auth: the Static Web Apps sign-in program (PROTOCOL.md §5, DESIGN.md §4). nginx routes
 * everything under /.auth/ here, and asks the two internal endpoints through auth_request:
 *   /.chatr/auth/principal  the session's x-ms-client-principal for the API (X-Chatr-Principal)
 *   /.chatr/auth/check      204 / 401 / 403 for a static route rule's allowedRoles (param
 * SWA_ROLES) Providers: guest (a name), local (username + password, argon2id), and the development
 * mock (github, aad, twitter) when CHATR_DEV_AUTH=1. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>

static const char *const MOCK_PROVIDERS[] = {"github", "aad", "twitter", NULL};

static int dev_auth(void)
{
    const char *v = getenv("CHATR_DEV_AUTH");
    return v && !strcmp(v, "1");
}

static int is_https(const fn_req *req)
{
    const char *https = fn_param(req, "HTTPS");
    const char *proto = fn_header(req, "X-Forwarded-Proto");
    return (https && !strcasecmp(https, "on")) || (proto && !strcasecmp(proto, "https"));
}

/* The session behind the request's cookie: 1 signed in, 0 not, -1 database failure. */
static int current_user(const fn_req *req, auth_user *u, char *cookie, size_t cookie_len)
{
    memset(u, 0, sizeof *u);
    cookie[0] = '\0';
    if (!auth_cookie_get(fn_header(req, "Cookie"), AUTH_COOKIE, cookie, cookie_len)) return 0;
    return auth_session_lookup(cookie, u);
}

static void set_cookie(const fn_req *req, fn_res *res, const char *value, int max_age)
{
    if (max_age > 0)
        fn_set_header(res, "Set-Cookie", "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
                      AUTH_COOKIE, value, max_age, is_https(req) ? "; Secure" : "");
    else
        fn_set_header(res, "Set-Cookie",
                      "%s=deleted; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; "
                      "SameSite=Lax%s",
                      AUTH_COOKIE, is_https(req) ? "; Secure" : "");
}

static void redirect(fn_res *res, const char *location)
{
    fn_set_header(res, "Location", "%s", location);
    fn_text(res, 302, NULL, "", 0);
}

static void db_down(fn_res *res)
{
    fn_error(res, 500, "database unavailable");
}

/* ---- internal endpoints (auth_request) ------------------------------------------------- */

static int principal(fn_req *req, fn_res *res)
{
    auth_user u;
    char cookie[AUTH_COOKIE_VALUE_MAX];
    int rc = current_user(req, &u, cookie, sizeof cookie);
    if (rc < 0) {
        db_down(res);
        return 0;
    }
    if (rc == 1) {
        json_object *o = auth_principal_json(&u, 0);
        size_t len = 0;
        const char *js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
        char b64[FN_MAX_HEADER_OUT_LEN - 64];
        if (sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) <= sizeof b64) {
            sodium_bin2base64(b64, sizeof b64, (const unsigned char *)js, len,
                              sodium_base64_VARIANT_ORIGINAL);
            fn_set_header(res, "X-Chatr-Principal", "%s", b64);
        }
        json_object_put(o);
    }
    fn_no_content(res);
    return 0;
}

static int check(fn_req *req, fn_res *res)
{
    auth_user u;
    char cookie[AUTH_COOKIE_VALUE_MAX];
    int rc = current_user(req, &u, cookie, sizeof cookie);
    if (rc < 0) {
        db_down(res);
        return 0;
    }
    fn_principal p;
    if (rc == 1) auth_to_principal(&u, &p);
    int denied = fn_roles_check(fn_param(req, "SWA_ROLES"), rc == 1 ? &p : NULL);
    if (denied)
        fn_text(res, denied, NULL, "", 0);
    else
        fn_no_content(res);
    return 0;
}

/* ---- /.auth/me, /.auth/logout ----------------------------------------------------------- */

static int me(fn_req *req, fn_res *res)
{
    auth_user u;
    char cookie[AUTH_COOKIE_VALUE_MAX];
    int rc = current_user(req, &u, cookie, sizeof cookie);
    if (rc < 0) {
        db_down(res);
        return 0;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "clientPrincipal", rc == 1 ? auth_principal_json(&u, 1) : NULL);
    fn_json(res, 200, o);
    return 0;
}

static int logout(fn_req *req, fn_res *res)
{
    char cookie[AUTH_COOKIE_VALUE_MAX];
    if (auth_cookie_get(fn_header(req, "Cookie"), AUTH_COOKIE, cookie, sizeof cookie) &&
        auth_session_delete(cookie) < 0) {
        db_down(res);
        return 0;
    }
    char target[AUTH_REDIRECT_MAX + 1], safe[AUTH_REDIRECT_MAX + 1];
    auth_safe_redirect(fn_query(req, "post_logout_redirect_uri", target, sizeof target),
                       getenv("CHATR_PUBLIC_URL"), safe, sizeof safe);
    set_cookie(req, res, "", 0);
    redirect(res, safe);
    return 0;
}

/* ---- /.auth/login/<provider> ------------------------------------------------------------ */

typedef struct login_ctx {
    fn_req *req;
    fn_res *res;
    const char *provider;
    char redirect[AUTH_REDIRECT_MAX + 1];
    char addr_key[80];
} login_ctx;

/* A failed POST: counted against the address, the form again with the error. */
static int refuse(login_ctx *c, int status, const char *error, const char *prefill)
{
    if (status != 429 && auth_failure(c->addr_key) < 0) {
        db_down(c->res);
        return 0;
    }
    auth_page_login(c->res, status, c->provider, c->redirect, error, prefill);
    snprintf(c->res->log_note, sizeof c->res->log_note, "%s: %s", c->provider, error);
    if (status == 429) fn_set_header(c->res, "Retry-After", "%d", AUTH_WINDOW_SECONDS);
    return 0;
}

static int signed_in(login_ctx *c, const auth_user *u)
{
    char cookie[AUTH_COOKIE_VALUE_MAX];
    if (auth_session_create(u, cookie, sizeof cookie) < 0) {
        db_down(c->res);
        return 0;
    }
    set_cookie(c->req, c->res, cookie, AUTH_SESSION_TTL_SECONDS);
    sodium_memzero(cookie, sizeof cookie);
    redirect(c->res, c->redirect);
    snprintf(c->res->log_note, sizeof c->res->log_note, "signed in %s/%s", u->provider, u->user_id);
    return 0;
}

static int login_guest(login_ctx *c)
{
    char name[AUTH_NAME_MAX * 4 + 1];
    if (!fn_form(c->req, "name", name, sizeof name) ||
        auth_valid_name(auth_trim(name), AUTH_NAME_MAX))
        return refuse(c, 400,
                      "Enter a display name of 1 to 32 characters, without control characters.",
                      NULL);
    auth_user u = {0};
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(u.user_id, sizeof u.user_id, raw, sizeof raw);
    snprintf(u.provider, sizeof u.provider, "guest");
    snprintf(u.details, sizeof u.details, "%s", name);
    return signed_in(c, &u);
}

static int login_local(login_ctx *c)
{
    char username[AUTH_USERNAME_MAX + 1], password[AUTH_PASSWORD_MAX + 1], action[16];
    const char *un = fn_form(c->req, "username", username, sizeof username);
    const char *pw = fn_form(c->req, "password", password, sizeof password);
    const char *act = fn_form(c->req, "action", action, sizeof action);
    if (un) auth_trim(username);
    int registering = act && !strcmp(act, "register");
    if (!act || (!registering && strcmp(act, "login")))
        return refuse(c, 400, "Choose sign in or create account.", un);
    if (registering) {
        if (!un || auth_valid_username(username))
            return refuse(c, 400, "Usernames are 3 to 32 letters, digits, '.', '_' or '-'.", NULL);
        if (!pw || strlen(pw) < AUTH_PASSWORD_MIN)
            return refuse(c, 400, "Passwords are 8 to 128 characters.", username);
        auth_user u;
        int rc = auth_account_create(username, password, &u);
        sodium_memzero(password, sizeof password);
        if (rc < 0) {
            db_down(c->res);
            return 0;
        }
        if (rc == 0) return refuse(c, 409, "That username is taken.", username);
        return signed_in(c, &u);
    }
    static const char generic[] = "Wrong username or password.";
    if (!un || !pw || auth_valid_username(username)) return refuse(c, 401, generic, NULL);
    char user_key[AUTH_USERNAME_MAX + 8];
    snprintf(user_key, sizeof user_key, "user:%s", username);
    for (char *p = user_key; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    int limited = auth_limited(user_key, AUTH_MAX_FAILURES_PER_USER);
    if (limited < 0) {
        db_down(c->res);
        return 0;
    }
    if (limited)
        return refuse(c, 429, "Too many failed sign-in attempts. Try again later.", username);
    auth_user u;
    int rc = auth_account_check(username, password, &u);
    sodium_memzero(password, sizeof password);
    if (rc < 0) {
        db_down(c->res);
        return 0;
    }
    if (rc == 0) {
        if (auth_failure(user_key) < 0) {
            db_down(c->res);
            return 0;
        }
        return refuse(c, 401, generic, username);
    }
    if (auth_failures_clear(user_key) < 0) {
        db_down(c->res);
        return 0;
    }
    return signed_in(c, &u);
}

static int login_mock(login_ctx *c)
{
    char id[AUTH_USER_ID_MAX + 1], details[AUTH_DETAILS_MAX + 1], roles_field[AUTH_ROLES_FIELD_MAX];
    auth_user u = {0};
    snprintf(u.provider, sizeof u.provider, "%s", c->provider);
    if (!fn_form(c->req, "userDetails", details, sizeof details) ||
        auth_valid_name(auth_trim(details), AUTH_DETAILS_MAX))
        return refuse(c, 400,
                      "Enter a username of 1 to 128 characters, without control characters.", NULL);
    if (!fn_form(c->req, "userId", id, sizeof id)) id[0] = '\0';
    auth_trim(id);
    if (!id[0]) {
        unsigned char raw[16];
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(id, sizeof id, raw, sizeof raw);
    }
    if (auth_valid_user_id(id))
        return refuse(c, 400, "User IDs are 1 to 64 letters, digits, '_', '.', '@' or '-'.",
                      details);
    if (!fn_form(c->req, "userRoles", roles_field, sizeof roles_field)) roles_field[0] = '\0';
    if (auth_parse_roles(roles_field, u.roles, sizeof u.roles))
        return refuse(c, 400, "Roles are up to 8 names of letters, digits and '_', one per line.",
                      details);
    snprintf(u.user_id, sizeof u.user_id, "%s", id);
    snprintf(u.details, sizeof u.details, "%s", details);
    return signed_in(c, &u);
}

/* A POST from another site is refused: Origin, when the browser sends it, must be ours. */
static int origin_ok(const fn_req *req)
{
    const char *origin = fn_header(req, "Origin");
    if (!origin || !*origin) return 1;
    const char *pub = getenv("CHATR_PUBLIC_URL");
    if (pub && *pub) {
        size_t n = strlen(pub);
        while (n > 0 && pub[n - 1] == '/')
            n--;
        if (strlen(origin) == n && !strncmp(origin, pub, n)) return 1;
    }
    const char *host = fn_header(req, "Host");
    char self[320];
    if (host && *host &&
        snprintf(self, sizeof self, "%s://%s", is_https(req) ? "https" : "http", host) <
            (int)sizeof self)
        return !strcmp(origin, self);
    return 0;
}

static int login(fn_req *req, fn_res *res, const char *provider)
{
    int mock = 0;
    for (const char *const *m = MOCK_PROVIDERS; *m; m++)
        if (!strcmp(provider, *m)) mock = 1;
    if (auth_valid_provider(provider) ||
        !(mock ? dev_auth() : (!strcmp(provider, "guest") || !strcmp(provider, "local")))) {
        fn_error(res, 404, "unknown identity provider");
        return 0;
    }
    login_ctx c = {.req = req, .res = res, .provider = provider};
    char target[AUTH_REDIRECT_MAX + 1];
    auth_safe_redirect(fn_query(req, "post_login_redirect_uri", target, sizeof target),
                       getenv("CHATR_PUBLIC_URL"), c.redirect, sizeof c.redirect);
    if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) {
        auth_page_login(res, 200, provider, c.redirect, NULL, NULL);
        return 0;
    }
    if (strcmp(req->method, "POST")) {
        fn_set_header(res, "Allow", "GET, HEAD, POST");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    const char *addr = fn_param(req, "REMOTE_ADDR");
    snprintf(c.addr_key, sizeof c.addr_key, "addr:%.64s", addr && *addr ? addr : "-");
    if (!origin_ok(req))
        return refuse(&c, 403, "This sign-in form was sent from another site.", NULL);
    int limited = auth_limited(c.addr_key, AUTH_MAX_FAILURES_PER_ADDR);
    if (limited < 0) {
        db_down(res);
        return 0;
    }
    if (limited) return refuse(&c, 429, "Too many failed sign-in attempts. Try again later.", NULL);
    if (!strcmp(provider, "guest")) return login_guest(&c);
    if (!strcmp(provider, "local")) return login_local(&c);
    return login_mock(&c);
}

static int handle(fn_req *req, fn_res *res)
{
    const char *path = req->path;
    const char *internal = fn_param(req, "CHATR_AUTH_INTERNAL");
    if (internal && !strcmp(internal, "1")) {
        if (!strcmp(path, "/.chatr/auth/principal")) return principal(req, res);
        if (!strcmp(path, "/.chatr/auth/check")) return check(req, res);
    }
    int read_only = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (!strncmp(path, "/.auth/login/", 13)) return login(req, res, path + 13);
    if (!read_only && (!strcmp(path, "/.auth/me") || !strcmp(path, "/.auth/logout") ||
                       !strncmp(path, "/.auth/purge/", 13))) {
        fn_set_header(res, "Allow", "GET, HEAD");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    if (!strcmp(path, "/.auth/me")) return me(req, res);
    if (!strcmp(path, "/.auth/logout")) return logout(req, res);
    if (!strncmp(path, "/.auth/purge/", 13) && !auth_valid_provider(path + 13))
        return logout(req, res);
    fn_error(res, 404, "not found");
    return 0;
}

int main(void)
{
    return fn_run("auth", handle);
}
