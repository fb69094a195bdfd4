/* auth: the Static Web Apps sign-in program (docs/protocols.md#static-web-apps-sign-in). nginx
 * routes everything under /.auth/ here, and asks the two internal endpoints through auth_request:
 *   /.chatr/auth/principal  the session's x-ms-client-principal for the API (X-Chatr-Principal)
 *   /.chatr/auth/check      204 / 401 / 403 for a static route rule's allowedRoles (param
 * SWA_ROLES) Providers: guest (a name), local (username + password, argon2id), and the development
 * mock (github, aad, twitter) when CHATR_DEV_AUTH=1, whose user ids live in their own namespace,
 * and the site's OpenID Connect providers (auth_oidc.c; GET /.auth/providers lists them).
 * Sign-in is throttled per client and per account with backoff; logout also closes the hub
 * connections the session's tokens opened (docs/sign-in.md). */
#include "auth.h"
#include "auth_oidc.h"
#include "hub_revoke.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sodium.h>
#include <json-c/json.h>

static const char *const MOCK_PROVIDERS[] = {"github", "aad", "twitter", NULL};

static int dev_auth(void)
{
    return auth_settings_get()->dev_auth;
}

/* Whether the cookie gets Secure: nginx served this request over TLS, or browsers see an https
 * site (CHATR_PUBLIC_URL) with TLS ending in a proxy in front (docs/tls.md). */
static int is_https(const fn_req *req)
{
    const char *https = fn_param(req, "HTTPS");
    const char *proto = fn_header(req, "X-Forwarded-Proto");
    const char *pub = fn_settings_get()->public_url;
    return (https && !strcasecmp(https, "on")) || (proto && !strcasecmp(proto, "https")) ||
           (pub && !strncasecmp(pub, "https://", 8));
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

/* The session behind the request's cookie: 1 signed in, 0 not, -1 database failure (answered). */
static int current_user(const fn_req *req, fn_res *res, auth_user *u)
{
    char cookie[AUTH_COOKIE_VALUE_MAX];
    memset(u, 0, sizeof *u);
    if (!auth_cookie_get(fn_header(req, "Cookie"), AUTH_COOKIE, cookie, sizeof cookie)) return 0;
    int rc = auth_session_lookup(cookie, u);
    if (rc < 0) db_down(res);
    return rc;
}

/* ---- internal endpoints (auth_request) ------------------------------------------------- */

static int principal(fn_req *req, fn_res *res)
{
    auth_user u;
    int rc = current_user(req, res, &u);
    if (rc < 0) return 0;
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
        /* The session's binding, for getToken's tokens (chatr_api.conf: CHATR_SID). */
        if (u.sid[0]) fn_set_header(res, "X-Chatr-Sid", "%s", u.sid);
        json_object_put(o);
    }
    fn_no_content(res);
    return 0;
}

static int check(fn_req *req, fn_res *res)
{
    auth_user u;
    int rc = current_user(req, res, &u);
    if (rc < 0) return 0;
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
    int rc = current_user(req, res, &u);
    if (rc < 0) return 0;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "clientPrincipal", rc == 1 ? auth_principal_json(&u, 1) : NULL);
    fn_json(res, 200, o);
    return 0;
}

static int logout(fn_req *req, fn_res *res)
{
    char cookie[AUTH_COOKIE_VALUE_MAX], sid[AUTH_SID_LEN + 1] = "";
    if (auth_cookie_get(fn_header(req, "Cookie"), AUTH_COOKIE, cookie, sizeof cookie) &&
        auth_session_delete(cookie, sid) < 0) {
        db_down(res);
        return 0;
    }
    /* The session is gone, so its tokens open nothing more (hub_revoke.c); what they opened
     * closes now. A failure here is logged: the user is signed out all the same. */
    if (sid[0]) {
        int closed = hub_revoke_session(sid);
        if (closed < 0)
            fn_log("logout: the session's hub connections could not all be closed");
        else if (closed > 0)
            snprintf(res->log_note, sizeof res->log_note, "closed %d hub connections", closed);
    }
    char target[AUTH_REDIRECT_MAX + 1], safe[AUTH_REDIRECT_MAX + 1];
    auth_safe_redirect(fn_query(req, "post_logout_redirect_uri", target, sizeof target),
                       fn_settings_get()->public_url, safe, sizeof safe);
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
    char client[AUTH_CLIENT_KEY_MAX + 8]; /* the real client address, as counted */
    char client_key[AUTH_THROTTLE_KEY_MAX];
} login_ctx;

static const char TOO_MANY[] = "Too many sign-in attempts from here. Try again in a moment.";

/* A failed POST: counted against the client, the form again with the error. */
static int refuse(login_ctx *c, int status, const char *error, const char *prefill)
{
    if (auth_throttle_note(&AUTH_CLIENT_FAILURES, c->client_key) < 0) {
        db_down(c->res);
        return 0;
    }
    auth_page_login(c->res, status, c->provider, c->redirect, error, prefill);
    snprintf(c->res->log_note, sizeof c->res->log_note, "%s: %s", c->provider, error);
    return 0;
}

/* A throttled POST (429): not counted, told when to come back. */
static int throttled(login_ctx *c, int wait, const char *what, const char *error,
                     const char *prefill)
{
    auth_page_login(c->res, 429, c->provider, c->redirect, error, prefill);
    fn_set_header(c->res, "Retry-After", "%d", wait);
    snprintf(c->res->log_note, sizeof c->res->log_note, "%s: throttled (%s, %d s)", c->provider,
             what, wait);
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

/* Waits of a rate policy (guest sign-ins, registrations) for this client: -1 database down (and
 * answered), 1 throttled (answered), 0 go on (the event is counted). */
static int rate_gate(login_ctx *c, const auth_policy *p)
{
    char key[AUTH_THROTTLE_KEY_MAX];
    auth_throttle_key(p, c->client, key, sizeof key);
    int wait = auth_throttle_wait(p, key, NULL);
    if (wait < 0 || (wait == 0 && auth_throttle_note(p, key) < 0)) {
        db_down(c->res);
        return -1;
    }
    if (wait > 0) {
        throttled(c, wait, p->kind, TOO_MANY, NULL);
        return 1;
    }
    return 0;
}

/* The guest sign-in policy, with CHATR_GUEST_SIGNINS_PER_MINUTE when it is set and valid. */
static auth_policy guest_policy(void)
{
    auth_policy p = AUTH_GUEST_SIGNINS;
    int n = auth_settings_get()->guest_signins;
    if (n > 0) p.free = n;
    return p;
}

static int login_guest(login_ctx *c)
{
    char name[AUTH_NAME_MAX * 4 + 1];
    if (!fn_form(c->req, "name", name, sizeof name) ||
        auth_valid_name(auth_trim(name), AUTH_NAME_MAX))
        return refuse(c, 400,
                      "Enter a display name of 1 to 32 characters, without control characters.",
                      NULL);
    auth_policy guests = guest_policy();
    if (rate_gate(c, &guests)) return 0;
    auth_user u = {0};
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(u.user_id, sizeof u.user_id, raw, sizeof raw);
    snprintf(u.provider, sizeof u.provider, "guest");
    snprintf(u.details, sizeof u.details, "%s", name);
    return signed_in(c, &u);
}

static int login_register(login_ctx *c, const char *un, char *password)
{
    if (rate_gate(c, &AUTH_REGISTRATIONS)) return 0;
    if (!un || auth_valid_username(un))
        return refuse(c, 400, "Usernames are 3 to 32 letters, digits, '.', '_' or '-'.", NULL);
    if (strlen(password) < AUTH_PASSWORD_MIN)
        return refuse(c, 400, "Passwords are 8 to 128 characters.", un);
    auth_user u;
    int rc = auth_account_create(un, password, &u);
    if (rc < 0) {
        db_down(c->res);
        return 0;
    }
    if (rc == 0) return refuse(c, 409, "That username is taken.", un);
    return signed_in(c, &u);
}

/* Wrong passwords are counted per (account, client) and per account. A client is held back by
 * its own failures on the account, and by the account's only once it has failed on it
 * AUTH_ACCOUNT_GRACE times: the owner at an address of their own is never shut out by others. */
static int login_password(login_ctx *c, const char *username, char *password)
{
    char account[AUTH_USERNAME_MAX + 1], pair[AUTH_USERNAME_MAX + AUTH_CLIENT_KEY_MAX + 16];
    char pair_key[AUTH_THROTTLE_KEY_MAX], account_key[AUTH_THROTTLE_KEY_MAX];
    snprintf(account, sizeof account, "%s", username);
    for (char *p = account; *p; p++)
        if (*p >= 'A' && *p <= 'Z') *p = (char)(*p + 32);
    snprintf(pair, sizeof pair, "%s|%s", account, c->client);
    auth_throttle_key(&AUTH_PAIR_FAILURES, pair, pair_key, sizeof pair_key);
    auth_throttle_key(&AUTH_ACCOUNT_FAILURES, account, account_key, sizeof account_key);
    int mine = 0;
    int wait = auth_throttle_wait(&AUTH_PAIR_FAILURES, pair_key, &mine);
    int wait_all = wait < 0 ? -1 : auth_throttle_wait(&AUTH_ACCOUNT_FAILURES, account_key, NULL);
    if (wait < 0 || wait_all < 0) {
        db_down(c->res);
        return 0;
    }
    static const char slow[] =
        "Too many failed sign-in attempts for this account. Try again in a moment.";
    if (wait > 0) return throttled(c, wait, "account and client", slow, username);
    if (wait_all > 0 && mine >= AUTH_ACCOUNT_GRACE)
        return throttled(c, wait_all, "account", slow, username);
    auth_user u;
    int rc = auth_account_check(username, password, &u);
    if (rc < 0) {
        db_down(c->res);
        return 0;
    }
    if (rc == 0) {
        if (auth_throttle_note(&AUTH_PAIR_FAILURES, pair_key) < 0 ||
            auth_throttle_note(&AUTH_ACCOUNT_FAILURES, account_key) < 0) {
            db_down(c->res);
            return 0;
        }
        return refuse(c, 401, "Wrong username or password.", username);
    }
    if (auth_throttle_clear(pair_key) < 0) {
        db_down(c->res);
        return 0;
    }
    return signed_in(c, &u);
}

static int login_local(login_ctx *c)
{
    char username[AUTH_USERNAME_MAX + 1], password[AUTH_PASSWORD_MAX + 1], action[16];
    const char *un = fn_form(c->req, "username", username, sizeof username);
    const char *pw = fn_form(c->req, "password", password, sizeof password);
    const char *act = fn_form(c->req, "action", action, sizeof action);
    if (un) auth_trim(username);
    if (!pw) password[0] = '\0';
    int rc;
    if (act && !strcmp(act, "register"))
        rc = login_register(c, un, password);
    else if (!act || strcmp(act, "login"))
        rc = refuse(c, 400, "Choose sign in or create account.", un);
    else if (!un || !pw || auth_valid_username(username))
        rc = refuse(c, 401, "Wrong username or password.", NULL);
    else
        rc = login_password(c, username, password);
    sodium_memzero(password, sizeof password);
    return rc;
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
    /* The id the form gives is scoped to this provider: "github.<id>". */
    if (auth_mock_user_id(c->provider, id, u.user_id, sizeof u.user_id)) {
        char why[160];
        snprintf(why, sizeof why,
                 "User IDs are 1 to %d letters, digits, '_', '.', '@' or '-' for this provider.",
                 AUTH_USER_ID_MAX - (int)strlen(c->provider) - 1);
        return refuse(c, 400, why, details);
    }
    if (!fn_form(c->req, "userRoles", roles_field, sizeof roles_field)) roles_field[0] = '\0';
    if (auth_parse_roles(roles_field, u.roles, sizeof u.roles))
        return refuse(c, 400, "Roles are up to 8 names of letters, digits and '_', one per line.",
                      details);
    snprintf(u.details, sizeof u.details, "%s", details);
    return signed_in(c, &u);
}

/* A POST from another site is refused: Origin, when the browser sends it, must be ours. */
static int origin_ok(const fn_req *req)
{
    const char *origin = fn_header(req, "Origin");
    if (!origin || !*origin) return 1;
    const char *pub = fn_settings_get()->public_url;
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
    /* OpenID Connect providers of the site's configuration (auth_oidc.c). */
    auth_user oidc_user;
    login_ctx oc = {.req = req, .res = res, .provider = provider};
    int oidc = auth_oidc_login(req, res, provider, &oidc_user, oc.redirect);
    if (oidc == 2) return signed_in(&oc, &oidc_user);
    if (oidc) return 0;
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
                       fn_settings_get()->public_url, c.redirect, sizeof c.redirect);
    if (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) {
        auth_page_login(res, 200, provider, c.redirect, NULL, NULL);
        return 0;
    }
    if (strcmp(req->method, "POST")) {
        fn_set_header(res, "Allow", "GET, HEAD, POST");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    /* REMOTE_ADDR is the real client behind trusted proxies (nginx realip, realip.conf). */
    auth_client_key(fn_param(req, "REMOTE_ADDR"), c.client, sizeof c.client);
    auth_throttle_key(&AUTH_CLIENT_FAILURES, c.client, c.client_key, sizeof c.client_key);
    int wait = auth_throttle_wait(&AUTH_CLIENT_FAILURES, c.client_key, NULL);
    if (wait < 0) {
        db_down(res);
        return 0;
    }
    if (wait > 0) return throttled(&c, wait, "client", TOO_MANY, NULL);
    if (!origin_ok(req))
        return refuse(&c, 403, "This sign-in form was sent from another site.", NULL);
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
    if (!strcmp(path, "/.auth/providers"))
        return auth_oidc_providers(req, res, MOCK_PROVIDERS, dev_auth());
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
