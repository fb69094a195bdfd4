/* auth_util.c: the sign-in program's pure parts (no I/O): input validation, redirect targets,
 * cookie parsing, roles, principal JSON, and the string builder the pages use. Unit tested in
 * tests/unit/test_auth.c. */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

void auth_buf_put(auth_buf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void auth_buf_puts(auth_buf *b, const char *s)
{
    auth_buf_put(b, s, strlen(s));
}

void auth_buf_html(auth_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            auth_buf_puts(b, "&amp;");
            break;
        case '<':
            auth_buf_puts(b, "&lt;");
            break;
        case '>':
            auth_buf_puts(b, "&gt;");
            break;
        case '"':
            auth_buf_puts(b, "&quot;");
            break;
        case '\'':
            auth_buf_puts(b, "&#39;");
            break;
        default:
            auth_buf_put(b, s, 1);
        }
    }
}

void auth_buf_url(auth_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~/", c)) {
            auth_buf_put(b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            auth_buf_put(b, e, 3);
        }
    }
}

void auth_buf_free(auth_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static void set_out(char *out, size_t outlen, const char *s)
{
    snprintf(out, outlen, "%s", strlen(s) < outlen ? s : "/");
}

void auth_safe_redirect(const char *target, const char *public_url, char *out, size_t outlen)
{
    set_out(out, outlen, "/");
    if (!target || !*target || strlen(target) > AUTH_REDIRECT_MAX) return;
    /* An absolute URL of this very site is accepted as its path. */
    size_t plen = public_url ? strlen(public_url) : 0;
    while (plen > 0 && public_url[plen - 1] == '/')
        plen--;
    if (plen > 0 && strncmp(target, public_url, plen) == 0 &&
        (target[plen] == '/' || target[plen] == '\0'))
        target += plen;
    if (!*target) return;
    /* Site-relative only: "/x", never "//host", "/\host", "http:", or anything with a
     * backslash, space, control or non-ASCII byte (browsers "fix" those into other hosts). */
    if (target[0] != '/' || target[1] == '/' || target[1] == '\\') return;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '\\') return;
    set_out(out, outlen, target);
}

int auth_valid_name(const char *s, size_t max_chars)
{
    if (!s || !*s || s[0] == ' ' || s[strlen(s) - 1] == ' ') return -1;
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t left = strlen(s);
    while (*p) {
        uint32_t cp;
        size_t n = fn_utf8_next(p, left, &cp);
        if (n == 0) return -1;
        /* Control characters (C0, DEL, C1), line/paragraph separators, bidi overrides. */
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
            (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
            return -1;
        p += n, left -= n;
        if (++chars > max_chars) return -1;
    }
    return 0;
}

static int all_in(const char *s, const char *extra)
{
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              (extra && strchr(extra, c))))
            return 0;
    }
    return 1;
}

int auth_valid_username(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < AUTH_USERNAME_MIN || n > AUTH_USERNAME_MAX || !all_in(s, "_.-")) return -1;
    return 0;
}

int auth_valid_provider(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > AUTH_PROVIDER_MAX) return -1;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))) return -1;
    return 0;
}

int auth_valid_user_id(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 1 || n > AUTH_USER_ID_MAX || !all_in(s, "_.@-")) return -1;
    return 0;
}

int auth_mock_user_id(const char *provider, const char *id, char *out, size_t outlen)
{
    if (auth_valid_provider(provider) || auth_valid_user_id(id)) return -1;
    int n = snprintf(out, outlen, "%s.%s", provider, id);
    if (n < 0 || (size_t)n >= outlen || (size_t)n > AUTH_USER_ID_MAX) {
        if (outlen) out[0] = '\0';
        return -1;
    }
    return 0;
}

void auth_client_key(const char *addr, char *out, size_t outlen)
{
    unsigned char a6[16];
    char text[INET6_ADDRSTRLEN];
    if (addr && strchr(addr, ':') && inet_pton(AF_INET6, addr, a6) == 1) {
        static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, v4mapped, sizeof v4mapped) == 0) {
            if (inet_ntop(AF_INET, a6 + 12, text, sizeof text)) {
                snprintf(out, outlen, "%s", text);
                return;
            }
        } else {
            memset(a6 + 8, 0, 8); /* one host usually holds a whole /64 */
            if (inet_ntop(AF_INET6, a6, text, sizeof text)) {
                snprintf(out, outlen, "%s/64", text);
                return;
            }
        }
    }
    snprintf(out, outlen, "%.*s", AUTH_CLIENT_KEY_MAX, addr && *addr ? addr : "-");
}

char *auth_trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t i = 0;
    while (s[i] == ' ' || s[i] == '\t')
        i++;
    if (i) memmove(s, s + i, n - i + 1);
    return s;
}

int auth_parse_roles(const char *field, char *out, size_t outlen)
{
    size_t o = 0, count = 0;
    if (outlen == 0) return -1;
    out[0] = '\0';
    for (const char *p = field ? field : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *q = p;
        while (len > 0 && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++, len--;
        while (len > 0 && (q[len - 1] == ' ' || q[len - 1] == '\t' || q[len - 1] == '\r'))
            len--;
        p = nl ? nl + 1 : p + strlen(p);
        if (len == 0) continue;
        if (len > AUTH_ROLE_MAX) return -1;
        char role[AUTH_ROLE_MAX + 1];
        memcpy(role, q, len);
        role[len] = '\0';
        if (!all_in(role, "_")) return -1;
        if (!strcmp(role, "anonymous") || !strcmp(role, "authenticated")) continue; /* built in */
        if (fn_list_has(out, role, 0)) continue;
        if (++count > AUTH_ROLES_MAX || o + len + 2 > outlen) return -1;
        if (o) out[o++] = ',';
        memcpy(out + o, role, len + 1);
        o += len;
    }
    return 0;
}

char *auth_cookie_get(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1;
            size_t vlen = len - nlen - 1;
            while (vlen > 0 && v[vlen - 1] == ' ')
                vlen--;
            if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') v++, vlen -= 2;
            if (vlen >= outlen) return NULL;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return out;
        }
        p = end;
    }
    return NULL;
}

static void add_roles(json_object *arr, const char *csv)
{
    for (const char *p = csv; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len) json_object_array_add(arr, json_object_new_string_len(p, (int)len));
        if (!end) break;
        p = end + 1;
    }
}

json_object *auth_principal_json(const auth_user *u, int with_claims)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "identityProvider", json_object_new_string(u->provider));
    json_object_object_add(o, "userId", json_object_new_string(u->user_id));
    json_object_object_add(o, "userDetails", json_object_new_string(u->details));
    json_object *roles = json_object_new_array();
    add_roles(roles, u->roles);
    json_object_array_add(roles, json_object_new_string("anonymous"));
    json_object_array_add(roles, json_object_new_string("authenticated"));
    json_object_object_add(o, "userRoles", roles);
    if (with_claims) json_object_object_add(o, "claims", json_object_new_array());
    return o;
}

void auth_to_principal(const auth_user *u, fn_principal *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->provider, sizeof p->provider, "%s", u->provider);
    snprintf(p->user_id, sizeof p->user_id, "%s", u->user_id);
    snprintf(p->details, sizeof p->details, "%s", u->details);
    for (const char *q = u->roles; *q && p->nroles < FN_MAX_ROLES - 2;) {
        const char *end = strchr(q, ',');
        size_t len = end ? (size_t)(end - q) : strlen(q);
        if (len && len < FN_MAX_ROLE_LEN) {
            memcpy(p->roles[p->nroles], q, len);
            p->roles[p->nroles++][len] = '\0';
        }
        if (!end) break;
        q = end + 1;
    }
    strcpy(p->roles[p->nroles++], "anonymous");
    strcpy(p->roles[p->nroles++], "authenticated");
}
