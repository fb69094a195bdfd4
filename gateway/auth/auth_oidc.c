/* auth_oidc.c: sign-in with OpenID Connect providers (docs/sign-in.md, "OpenID Connect").
 *
 *   GET /.auth/login/<provider>           a flow row (state, nonce, PKCE verifier) is stored,
 *                                          the browser goes to the provider's authorization
 *                                          endpoint
 *   GET /.auth/login/<provider>/callback  the row is consumed (single use, bound to the browser
 *                                          by the ChatrOidcBinding cookie), the code exchanged at
 *                                          the token endpoint, the ID token checked
 *                                          (auth_oidc_jwt.c); main.c then creates the session
 *   GET /.auth/providers                  the providers the login page lists
 *
 * Providers come from the site's staticwebapp.config.json (CHATR_SWA_CONFIG), read once per
 * process; the client id and secret from the app settings the configuration names. Discovery and
 * JWKS are cached per process for AUTH_OIDC_CACHE_TTL_S. Every failure ends on an error page that
 * says what happened in plain words; the details go to the log, once. */
#include "auth_oidc.h"
#include "fn_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include <sodium.h>

typedef struct oidc_provider {
    char name[AUTH_PROVIDER_MAX + 1];
    char well_known[AUTH_OIDC_URL_MAX + 1];
    char client_id[AUTH_OIDC_SETTING_MAX + 1];
    char secret[AUTH_OIDC_SETTING_MAX + 1];
    char name_claim[AUTH_OIDC_CLAIM_NAME_MAX + 1];
    char scopes[AUTH_OIDC_SCOPES_MAX * (AUTH_OIDC_SCOPE_MAX + 1) + 8];
    /* cache */
    char issuer[AUTH_OIDC_URL_MAX + 1], authorize[AUTH_OIDC_URL_MAX + 1];
    char token[AUTH_OIDC_URL_MAX + 1], jwks_uri[AUTH_OIDC_URL_MAX + 1];
    int auth_post; /* client_secret_post rather than client_secret_basic */
    time_t discovered_at;
    json_object *jwks;
    time_t jwks_at;
} oidc_provider;

static oidc_provider providers[AUTH_OIDC_PROVIDERS_MAX];
static int nproviders = -1; /* -1: configuration not read yet */

/* ---- HTTP (libcurl, TLS verified) --------------------------------------------------------- */

/* https anywhere; http only to a loopback address (a provider on this machine, the tests). */
static int url_allowed(const char *url)
{
    if (!url || strlen(url) > AUTH_OIDC_URL_MAX) return 0;
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = 0;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        ok =
            !strcasecmp(scheme, "https") ||
            (!strcasecmp(scheme, "http") && (!strcmp(host, "127.0.0.1") || !strcmp(host, "[::1]") ||
                                             !strcasecmp(host, "localhost")));
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    auth_buf *b = arg;
    if (b->len + size * n > AUTH_OIDC_DOC_MAX) return 0; /* too large: the transfer fails */
    auth_buf_put(b, data, size * n);
    return b->failed ? 0 : size * n;
}

/* GET url (post == NULL) or POST the form post; the JSON object answered with 200, else NULL
 * (logged). *status: the HTTP status (0 when there was no answer). */
static json_object *http_json(const oidc_provider *p, const char *what, const char *url,
                              const char *post, const char *authz, long *status)
{
    *status = 0;
    if (!url_allowed(url)) {
        fn_log("oidc %s: %s URL refused (https, or http to loopback only)", p->name, what);
        return NULL;
    }
    static CURL *handle;
    CURL *c = fn_curl(&handle);
    if (!c) return NULL;
    auth_buf body = {0};
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (authz) h = curl_slist_append(h, authz);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, AUTH_OIDC_HTTP_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, AUTH_OIDC_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "Chatr");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    if (post) curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    json_object *o = NULL;
    if (rc != CURLE_OK)
        fn_log("oidc %s: %s: %s", p->name, what, curl_easy_strerror(rc));
    else if (*status != 200)
        fn_log("oidc %s: %s answered %ld", p->name, what, *status);
    else if (body.failed || !body.s || !(o = json_tokener_parse(body.s)) ||
             !json_object_is_type(o, json_type_object)) {
        fn_log("oidc %s: %s answered no JSON object", p->name, what);
        json_object_put(o);
        o = NULL;
    }
    auth_buf_free(&body);
    return o;
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int copy_url(char *dst, const char *src)
{
    if (!url_allowed(src)) return -1;
    snprintf(dst, AUTH_OIDC_URL_MAX + 1, "%s", src);
    return 0;
}

/* The provider's discovery document, cached: 0 ready, -1 not reachable or not usable. */
static int discover(oidc_provider *p)
{
    time_t now = time(NULL);
    if (p->discovered_at && now - p->discovered_at < AUTH_OIDC_CACHE_TTL_S) return 0;
    long status;
    json_object *d = http_json(p, "discovery", p->well_known, NULL, NULL, &status);
    if (!d) return -1;
    const char *iss = jstr(d, "issuer");
    /* The issuer is the well-known URL without its suffix (OIDC Discovery 4.3). */
    static const char suffix[] = "/.well-known/openid-configuration";
    size_t ilen = iss ? strlen(iss) : 0;
    int rc = -1;
    if (!iss || strlen(p->well_known) != ilen + strlen(suffix) ||
        strncmp(p->well_known, iss, ilen) || strcmp(p->well_known + ilen, suffix))
        fn_log("oidc %s: discovery: the issuer does not match the well-known URL", p->name);
    else if (copy_url(p->issuer, iss) ||
             copy_url(p->authorize, jstr(d, "authorization_endpoint")) ||
             copy_url(p->token, jstr(d, "token_endpoint")) ||
             copy_url(p->jwks_uri, jstr(d, "jwks_uri")))
        fn_log("oidc %s: discovery: an endpoint is missing or not https", p->name);
    else {
        json_object *m;
        int basic = 1, post = 0;
        if (json_object_object_get_ex(d, "token_endpoint_auth_methods_supported", &m) &&
            json_object_is_type(m, json_type_array)) {
            basic = 0;
            for (size_t i = 0; i < json_object_array_length(m); i++) {
                const char *s = json_object_get_string(json_object_array_get_idx(m, i));
                if (s && !strcmp(s, "client_secret_basic")) basic = 1;
                if (s && !strcmp(s, "client_secret_post")) post = 1;
            }
        }
        p->auth_post = !basic && post;
        p->discovered_at = now;
        rc = 0;
    }
    json_object_put(d);
    return rc;
}

static int fetch_jwks(oidc_provider *p)
{
    long status;
    json_object *k = http_json(p, "jwks", p->jwks_uri, NULL, NULL, &status);
    json_object *keys;
    if (!k || !json_object_object_get_ex(k, "keys", &keys) ||
        !json_object_is_type(keys, json_type_array)) {
        if (k) fn_log("oidc %s: jwks: no keys array", p->name);
        json_object_put(k);
        return -1;
    }
    json_object_put(p->jwks);
    p->jwks = k;
    p->jwks_at = time(NULL);
    return 0;
}

/* ---- configuration ------------------------------------------------------------------------- */

static int scope_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AUTH_OIDC_SCOPE_MAX) return 0;
    for (; *s; s++) /* RFC 6749 3.3: %x21 / %x23-5B / %x5D-7E */
        if (*s < 0x21 || *s > 0x7e || *s == '"' || *s == '\\') return 0;
    return 1;
}

/* The value of the variable a provider's configuration names (clientIdSettingName, ...): the
 * name comes from the site's configuration, so it cannot be a field of auth_settings; it is read
 * once, when load_config reads the configuration (once per process), and copied. */
static const char *setting(const char *name, const char *what, const char *provider)
{
    const char *v = name ? getenv(name) : NULL;
    if (!v || !*v || strlen(v) > AUTH_OIDC_SETTING_MAX) {
        fn_log("oidc %s: %s setting %.64s is not set (or too long): provider left out", provider,
               what, name ? name : "(none named)");
        return NULL;
    }
    return v;
}

static json_object *path_get(json_object *o, const char *const *keys)
{
    for (; o && *keys; keys++)
        if (!json_object_object_get_ex(o, *keys, &o)) return NULL;
    return o;
}

static void add_provider(const char *name, json_object *cfg)
{
    static const char *const k_id[] = {"registration", "clientIdSettingName", NULL};
    static const char *const k_secret[] = {"registration", "clientCredential",
                                           "clientSecretSettingName", NULL};
    static const char *const k_wk[] = {"registration", "openIdConnectConfiguration",
                                       "wellKnownOpenIdConfiguration", NULL};
    static const char *const k_claim[] = {"login", "nameClaimType", NULL};
    static const char *const k_scopes[] = {"login", "scopes", NULL};
    if (auth_valid_provider(name) || auth_oidc_reserved_name(name)) {
        fn_log("oidc: provider name %.32s refused (1 to 16 lower-case letters and digits, not a "
               "built-in provider's)",
               name);
        return;
    }
    if (nproviders >= AUTH_OIDC_PROVIDERS_MAX) {
        fn_log("oidc: more than %d providers: %s left out", AUTH_OIDC_PROVIDERS_MAX, name);
        return;
    }
    oidc_provider p = {0};
    snprintf(p.name, sizeof p.name, "%s", name);
    const char *id = setting(json_object_get_string(path_get(cfg, k_id)), "client id", name);
    const char *secret =
        setting(json_object_get_string(path_get(cfg, k_secret)), "client secret", name);
    const char *wk = json_object_get_string(path_get(cfg, k_wk));
    if (!id || !secret) return;
    if (!url_allowed(wk)) {
        fn_log("oidc %s: wellKnownOpenIdConfiguration must be an https URL (http: loopback only)",
               name);
        return;
    }
    snprintf(p.client_id, sizeof p.client_id, "%s", id);
    snprintf(p.secret, sizeof p.secret, "%s", secret);
    snprintf(p.well_known, sizeof p.well_known, "%s", wk);
    json_object *claim = path_get(cfg, k_claim);
    if (claim) {
        const char *s = json_object_get_string(claim);
        if (!json_object_is_type(claim, json_type_string) || strlen(s) > AUTH_OIDC_CLAIM_NAME_MAX) {
            fn_log("oidc %s: login.nameClaimType must be a claim name", name);
            return;
        }
        snprintf(p.name_claim, sizeof p.name_claim, "%s", s);
    }
    /* openid first, always; then the configured scopes (default: profile email). */
    snprintf(p.scopes, sizeof p.scopes, "openid");
    json_object *scopes = path_get(cfg, k_scopes);
    size_t ns = json_object_is_type(scopes, json_type_array) ? json_object_array_length(scopes) : 0;
    if (scopes && (!json_object_is_type(scopes, json_type_array) || ns > AUTH_OIDC_SCOPES_MAX)) {
        fn_log("oidc %s: login.scopes must be at most %d scopes", name, AUTH_OIDC_SCOPES_MAX);
        return;
    }
    if (ns == 0) snprintf(p.scopes, sizeof p.scopes, "openid profile email");
    for (size_t i = 0; i < ns; i++) {
        json_object *s = json_object_array_get_idx(scopes, i);
        const char *v = json_object_get_string(s);
        if (!json_object_is_type(s, json_type_string) || !scope_ok(v)) {
            fn_log("oidc %s: login.scopes: invalid scope", name);
            return;
        }
        if (strcmp(v, "openid")) {
            size_t len = strlen(p.scopes);
            snprintf(p.scopes + len, sizeof p.scopes - len, " %s", v);
        }
    }
    providers[nproviders++] = p;
}

static void load_config(void)
{
    if (nproviders >= 0) return;
    nproviders = 0;
    const char *path = auth_settings_get()->swa_config;
    if (!path || !*path) return;
    FILE *f = fopen(path, "r");
    if (!f) {
        fn_log("oidc: cannot read %s: no OpenID Connect providers", path);
        return;
    }
    char *buf = malloc(AUTH_OIDC_CONFIG_MAX + 1);
    size_t n = buf ? fread(buf, 1, AUTH_OIDC_CONFIG_MAX + 1, f) : 0;
    fclose(f);
    json_object *cfg = NULL;
    if (buf && n <= AUTH_OIDC_CONFIG_MAX) {
        buf[n] = '\0';
        cfg = json_tokener_parse(buf);
    }
    free(buf);
    if (!json_object_is_type(cfg, json_type_object)) {
        fn_log("oidc: %s is not a JSON object of at most %d bytes: no OpenID Connect providers",
               path, AUTH_OIDC_CONFIG_MAX);
        json_object_put(cfg);
        return;
    }
    static const char *const k_custom[] = {"auth", "identityProviders",
                                           "customOpenIdConnectProviders", NULL};
    json_object *custom = path_get(cfg, k_custom);
    if (json_object_is_type(custom, json_type_object)) {
        json_object_object_foreach(custom, name, pcfg) add_provider(name, pcfg);
    }
    json_object_put(cfg);
}

static oidc_provider *find_provider(const char *name, size_t len)
{
    load_config();
    for (int i = 0; i < nproviders; i++)
        if (strlen(providers[i].name) == len && !strncmp(providers[i].name, name, len))
            return &providers[i];
    return NULL;
}

/* ---- pages -------------------------------------------------------------------------------- */

static int error_page(fn_res *res, int status, const char *message, const oidc_provider *p,
                      const char *why)
{
    auth_buf b = {0};
    auth_buf_puts(&b, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>Sign-in failed · Chatr</title>\n"
                      "<link rel=\"stylesheet\" href=\"/login.css\">\n</head>\n<body>\n"
                      "<main class=\"card\">\n<h1>Sign-in failed</h1>\n"
                      "<p class=\"error\" role=\"alert\">");
    auth_buf_html(&b, message);
    auth_buf_puts(&b, "</p>\n<p>You are not signed in. <a href=\"/login.html\">Back to sign-in"
                      "</a></p>\n</main>\n</body>\n</html>\n");
    fn_set_header(res, "Content-Security-Policy",
                  "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'");
    fn_set_header(res, "X-Frame-Options", "DENY");
    fn_set_header(res, "X-Content-Type-Options", "nosniff");
    fn_set_header(res, "Referrer-Policy", "no-referrer");
    fn_set_header(res, "Cache-Control", "no-store");
    if (b.failed)
        fn_error(res, 500, "out of memory");
    else
        fn_text(res, status, "text/html; charset=utf-8", b.s, b.len);
    auth_buf_free(&b);
    snprintf(res->log_note, sizeof res->log_note, "oidc %s: %s", p ? p->name : "-", why);
    return 1;
}

static const char PROVIDER_DOWN[] =
    "The sign-in provider could not be reached or did not answer properly. Try again later.";
static const char DB_DOWN[] = "Sign-in is unavailable right now. Try again in a moment.";

/* ---- the flow ----------------------------------------------------------------------------- */

static void random_b64url(char *out, size_t outlen) /* 32 random bytes: 43 characters */
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, outlen, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, h, sizeof h);
}

static int plausible_random(const char *v)
{
    if (strlen(v) != AUTH_OIDC_STATE_LEN) return 0;
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
              *v == '-' || *v == '_'))
            return 0;
    return 1;
}

static int secure_site(const fn_req *req)
{
    const char *pub = fn_settings_get()->public_url, *https = fn_param(req, "HTTPS");
    return (pub && !strncasecmp(pub, "https://", 8)) || (https && !strcasecmp(https, "on"));
}

/* The site's own origin (CHATR_PUBLIC_URL without trailing '/'), or NULL. */
static int redirect_uri(const oidc_provider *p, char *out, size_t outlen)
{
    const char *pub = fn_settings_get()->public_url;
    if (!pub || !*pub) return -1;
    size_t n = strlen(pub);
    while (n > 0 && pub[n - 1] == '/')
        n--;
    int w = snprintf(out, outlen, "%.*s/.auth/login/%s/callback", (int)n, pub, p->name);
    return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

static void put_param(auth_buf *b, const char *name, const char *value)
{
    auth_buf_puts(b, name);
    auth_buf_puts(b, "=");
    auth_buf enc = {0};
    auth_buf_url(&enc, value);
    /* auth_buf_url leaves '/' as is (paths); in a query value it is encoded too */
    for (const char *s = enc.s ? enc.s : ""; *s; s++)
        auth_buf_puts(b, *s == '/' ? "%2F" : (char[2]){*s, 0});
    auth_buf_free(&enc);
}

static int start(fn_req *req, fn_res *res, oidc_provider *p)
{
    char client[AUTH_CLIENT_KEY_MAX + 8], key[AUTH_THROTTLE_KEY_MAX];
    auth_client_key(fn_param(req, "REMOTE_ADDR"), client, sizeof client);
    auth_throttle_key(&AUTH_OIDC_STARTS, client, key, sizeof key);
    int wait = auth_throttle_wait(&AUTH_OIDC_STARTS, key, NULL);
    if (wait < 0 || (wait == 0 && auth_throttle_note(&AUTH_OIDC_STARTS, key) < 0))
        return error_page(res, 503, DB_DOWN, p, "database unavailable");
    if (wait > 0) {
        fn_set_header(res, "Retry-After", "%d", wait);
        return error_page(res, 429, "Too many sign-in attempts from here. Try again in a moment.",
                          p, "throttled");
    }
    char ruri[AUTH_OIDC_URL_MAX + 1];
    if (redirect_uri(p, ruri, sizeof ruri))
        return error_page(res, 500, "Sign-in with this provider is not set up correctly.", p,
                          "CHATR_PUBLIC_URL is not set");
    if (discover(p)) return error_page(res, 502, PROVIDER_DOWN, p, "discovery failed");

    char target[AUTH_REDIRECT_MAX + 1], redirect[AUTH_REDIRECT_MAX + 1];
    auth_safe_redirect(fn_query(req, "post_login_redirect_uri", target, sizeof target),
                       fn_settings_get()->public_url, redirect, sizeof redirect);
    char state[64], nonce[64], verifier[64], binding[AUTH_COOKIE_VALUE_MAX];
    random_b64url(state, sizeof state);
    random_b64url(nonce, sizeof nonce);
    random_b64url(verifier, sizeof verifier);
    /* The browser's binding is kept across sign-ins (several tabs may sign in at once). */
    if (!auth_cookie_get(fn_header(req, "Cookie"), AUTH_OIDC_BINDING_COOKIE, binding,
                         sizeof binding) ||
        !plausible_random(binding))
        random_b64url(binding, sizeof binding);
    unsigned char ch[crypto_hash_sha256_BYTES];
    char challenge[64], state_hash[65], binding_hash[65], ttl[16];
    crypto_hash_sha256(ch, (const unsigned char *)verifier, strlen(verifier));
    sodium_bin2base64(challenge, sizeof challenge, ch, sizeof ch,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sha256_hex(state, state_hash);
    sha256_hex(binding, binding_hash);
    snprintf(ttl, sizeof ttl, "%d", AUTH_OIDC_FLOW_TTL_S);

    PGresult *r = fn_db_exec("DELETE FROM swa.oidc_flows WHERE expires_at < now()", 0, NULL);
    if (r) PQclear(r);
    const char *params[] = {state_hash, binding_hash, p->name, verifier, nonce, redirect, ttl};
    r = r ? fn_db_exec("INSERT INTO swa.oidc_flows (state_hash, binding_hash, provider, "
                       "code_verifier, nonce, redirect, expires_at) VALUES ($1, $2, $3, $4, $5, "
                       "$6, now() + make_interval(secs => $7::int))",
                       7, params)
          : NULL;
    if (!r) return error_page(res, 503, DB_DOWN, p, "database unavailable");
    PQclear(r);

    auth_buf loc = {0};
    auth_buf_puts(&loc, p->authorize);
    auth_buf_puts(&loc, strchr(p->authorize, '?') ? "&" : "?");
    put_param(&loc, "response_type", "code");
    auth_buf_puts(&loc, "&");
    put_param(&loc, "client_id", p->client_id);
    auth_buf_puts(&loc, "&");
    put_param(&loc, "redirect_uri", ruri);
    auth_buf_puts(&loc, "&");
    put_param(&loc, "scope", p->scopes);
    auth_buf_puts(&loc, "&");
    put_param(&loc, "state", state);
    auth_buf_puts(&loc, "&");
    put_param(&loc, "nonce", nonce);
    auth_buf_puts(&loc, "&");
    put_param(&loc, "code_challenge", challenge);
    auth_buf_puts(&loc, "&code_challenge_method=S256");
    if (loc.failed || loc.len >= FN_MAX_HEADER_OUT_LEN - 16) {
        auth_buf_free(&loc);
        return error_page(res, 500, "Sign-in with this provider is not set up correctly.", p,
                          "authorization URL too long");
    }
    fn_set_header(res, "Set-Cookie",
                  "%s=%s; Path=/.auth/login/; Max-Age=%d; HttpOnly; SameSite=Lax%s",
                  AUTH_OIDC_BINDING_COOKIE, binding, AUTH_OIDC_FLOW_TTL_S,
                  secure_site(req) ? "; Secure" : "");
    fn_set_header(res, "Location", "%s", loc.s);
    fn_set_header(res, "Cache-Control", "no-store");
    fn_set_header(res, "Referrer-Policy", "no-referrer");
    fn_text(res, 302, NULL, "", 0);
    auth_buf_free(&loc);
    sodium_memzero(verifier, sizeof verifier);
    snprintf(res->log_note, sizeof res->log_note, "oidc %s: sign-in started", p->name);
    return 1;
}

/* The form value of the token request, percent-encoded. */
static void form_add(auth_buf *b, const char *name, const char *value)
{
    if (b->len) auth_buf_puts(b, "&");
    put_param(b, name, value);
}

/* Exchanges the code: the ID token (malloc'd) or NULL (logged). */
static char *exchange(oidc_provider *p, const char *code, const char *verifier)
{
    char ruri[AUTH_OIDC_URL_MAX + 1];
    if (redirect_uri(p, ruri, sizeof ruri)) return NULL;
    auth_buf form = {0}, cred = {0};
    form_add(&form, "grant_type", "authorization_code");
    form_add(&form, "code", code);
    form_add(&form, "redirect_uri", ruri);
    form_add(&form, "code_verifier", verifier);
    char *authz = NULL;
    if (p->auth_post) {
        form_add(&form, "client_id", p->client_id);
        form_add(&form, "client_secret", p->secret);
    } else {
        /* RFC 6749 2.3.1: each part form-encoded, then base64 of id:secret. */
        auth_buf id = {0}, sec = {0};
        put_param(&id, "x", p->client_id);
        put_param(&sec, "x", p->secret);
        if (id.s && sec.s) {
            auth_buf_puts(&cred, id.s + 2);
            auth_buf_puts(&cred, ":");
            auth_buf_puts(&cred, sec.s + 2);
        }
        auth_buf_free(&id);
        auth_buf_free(&sec);
        size_t n = sodium_base64_ENCODED_LEN(cred.len, sodium_base64_VARIANT_ORIGINAL);
        authz = cred.failed || !cred.s ? NULL : malloc(n + 32);
        if (authz) {
            strcpy(authz, "Authorization: Basic ");
            sodium_bin2base64(authz + strlen(authz), n, (const unsigned char *)cred.s, cred.len,
                              sodium_base64_VARIANT_ORIGINAL);
        }
        if (cred.s) sodium_memzero(cred.s, cred.len);
        auth_buf_free(&cred);
    }
    char *id_token = NULL;
    if (!form.failed && form.s && (p->auth_post || authz)) {
        long status;
        json_object *t = http_json(p, "token", p->token, form.s, authz, &status);
        const char *tok = jstr(t, "id_token");
        if (t && !tok) fn_log("oidc %s: token: no id_token in the answer", p->name);
        if (tok) id_token = strdup(tok);
        json_object_put(t);
    }
    if (form.s) sodium_memzero(form.s, form.len);
    auth_buf_free(&form);
    if (authz) {
        sodium_memzero(authz, strlen(authz));
        free(authz);
    }
    return id_token;
}

static int callback(fn_req *req, fn_res *res, oidc_provider *p, auth_user *u, char *redirect)
{
    char state[AUTH_OIDC_STATE_LEN + 2], binding[AUTH_COOKIE_VALUE_MAX];
    char code[AUTH_OIDC_CODE_MAX + 1], err[64];
    static const char STALE[] = "This sign-in could not be matched to one started in this browser "
                                "(it was used already, or is too old). Start again.";
    if (!fn_query(req, "state", state, sizeof state) || !plausible_random(state))
        return error_page(res, 400, STALE, p, "no valid state");
    char state_hash[65];
    sha256_hex(state, state_hash);
    /* Consumed whatever comes next: a state is good for one callback. */
    const char *params[] = {state_hash};
    PGresult *r = fn_db_exec("DELETE FROM swa.oidc_flows WHERE state_hash = $1 "
                             "RETURNING binding_hash, provider, code_verifier, nonce, redirect, "
                             "expires_at > now()",
                             1, params);
    if (!r) return error_page(res, 503, DB_DOWN, p, "database unavailable");
    if (PQntuples(r) != 1) {
        PQclear(r);
        return error_page(res, 400, STALE, p, "unknown or used state");
    }
    char binding_hash[65], verifier[64], nonce[64];
    snprintf(binding_hash, sizeof binding_hash, "%s", PQgetvalue(r, 0, 0));
    int same_provider = !strcmp(PQgetvalue(r, 0, 1), p->name);
    snprintf(verifier, sizeof verifier, "%s", PQgetvalue(r, 0, 2));
    snprintf(nonce, sizeof nonce, "%s", PQgetvalue(r, 0, 3));
    snprintf(redirect, AUTH_REDIRECT_MAX + 1, "%s", PQgetvalue(r, 0, 4));
    int live = !strcmp(PQgetvalue(r, 0, 5), "t");
    PQclear(r);
    char mine[65] = "";
    if (auth_cookie_get(fn_header(req, "Cookie"), AUTH_OIDC_BINDING_COOKIE, binding,
                        sizeof binding) &&
        plausible_random(binding))
        sha256_hex(binding, mine);
    if (!live || !same_provider || sodium_memcmp(mine, binding_hash, 64) != 0)
        return error_page(res, 400, STALE, p,
                          !live            ? "state expired"
                          : !same_provider ? "state of another provider"
                                           : "state not started in this browser");
    if (fn_query(req, "error", err, sizeof err)) {
        for (char *c = err; *c; c++)
            if (!((*c >= 'a' && *c <= 'z') || *c == '_')) *c = '?';
        char why[96];
        snprintf(why, sizeof why, "the provider answered error=%s", err);
        return error_page(res, 401, "The sign-in provider did not sign you in.", p, why);
    }
    if (!fn_query(req, "code", code, sizeof code) || !code[0])
        return error_page(res, 400, STALE, p, "no code");
    if (discover(p)) return error_page(res, 502, PROVIDER_DOWN, p, "discovery failed");
    /* RFC 9207: a provider that names itself in the answer must be the one asked (mix-up). */
    char iss[AUTH_OIDC_URL_MAX + 1];
    if (fn_query(req, "iss", iss, sizeof iss) && strcmp(iss, p->issuer))
        return error_page(res, 400, "The sign-in answer came from another provider.", p,
                          "iss parameter of another issuer");
    char *token = exchange(p, code, verifier);
    sodium_memzero(verifier, sizeof verifier);
    if (!token) return error_page(res, 502, PROVIDER_DOWN, p, "code exchange failed");

    static const char UNVERIFIED[] = "The sign-in provider's answer could not be verified.";
    auth_oidc_expect e = {p->issuer, p->client_id, nonce, (long long)time(NULL)};
    json_object *claims = NULL;
    const char *why = NULL;
    int rc = -1;
    time_t now = time(NULL);
    int fresh = 0;
    if (!p->jwks || now - p->jwks_at >= AUTH_OIDC_CACHE_TTL_S) {
        if (fetch_jwks(p)) rc = -2;
        fresh = 1;
    }
    if (rc != -2) {
        rc = auth_oidc_verify(token, p->jwks, &e, &claims, &why);
        /* An unknown kid: the provider may have rotated its keys. Fetch once more (at most
         * every AUTH_OIDC_JWKS_REFETCH_MIN_S). */
        if (rc == 1 && !fresh && now - p->jwks_at >= AUTH_OIDC_JWKS_REFETCH_MIN_S &&
            fetch_jwks(p) == 0)
            rc = auth_oidc_verify(token, p->jwks, &e, &claims, &why);
    }
    sodium_memzero(token, strlen(token));
    free(token);
    if (rc == -2) return error_page(res, 502, PROVIDER_DOWN, p, "jwks unavailable");
    if (rc != 0) {
        char note[96];
        snprintf(note, sizeof note, "ID token refused: %s", why ? why : "no key");
        return error_page(res, 401, UNVERIFIED, p, note);
    }
    memset(u, 0, sizeof *u);
    snprintf(u->provider, sizeof u->provider, "%s", p->name);
    json_object *sub;
    json_object_object_get_ex(claims, "sub", &sub);
    if (auth_oidc_user_id(p->name, p->issuer, json_object_get_string(sub), u->user_id,
                          sizeof u->user_id)) {
        json_object_put(claims);
        return error_page(res, 401, UNVERIFIED, p, "no user id");
    }
    auth_oidc_user_details(claims, p->name_claim, u->user_id, u->details, sizeof u->details);
    json_object_put(claims);
    return 2;
}

int auth_oidc_login(fn_req *req, fn_res *res, const char *rest, auth_user *u, char *redirect)
{
    const char *slash = strchr(rest, '/');
    size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
    if (slash && strcmp(slash, "/callback")) return 0;
    oidc_provider *p = find_provider(rest, len);
    if (!p) return 0;
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        fn_set_header(res, "Allow", "GET, HEAD");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 1;
    }
    return slash ? callback(req, res, p, u, redirect) : start(req, res, p);
}

int auth_oidc_providers(fn_req *req, fn_res *res, const char *const *mocks, int dev_auth)
{
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        fn_set_header(res, "Allow", "GET, HEAD");
        fn_error(res, 405, "method %s not allowed", req->method);
        return 0;
    }
    load_config();
    json_object *o = json_object_new_object(), *list = json_object_new_array();
    for (int i = 0; i < nproviders; i++)
        json_object_array_add(list, json_object_new_string(providers[i].name));
    json_object_object_add(o, "openIdConnect", list);
    json_object *dev = json_object_new_array();
    for (const char *const *m = mocks; dev_auth && *m; m++)
        json_object_array_add(dev, json_object_new_string(*m));
    json_object_object_add(o, "development", dev);
    fn_set_header(res, "Cache-Control", "no-cache");
    fn_json(res, 200, o);
    return 0;
}
