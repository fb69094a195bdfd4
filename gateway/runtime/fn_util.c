/* fn_util.c: pure helpers of the function runtime (no I/O), unit tested in tests/unit. */
#include "fn.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

size_t fn_url_decode(char *dst, size_t dstlen, const char *src, size_t srclen, int plus_is_space)
{
    size_t o = 0;
    if (dstlen == 0) return 0;
    for (size_t i = 0; i < srclen && o + 1 < dstlen; i++) {
        int c = (unsigned char)src[i];
        if (c == '%' && i + 2 < srclen && hexval(src[i + 1]) >= 0 && hexval(src[i + 2]) >= 0) {
            c = hexval(src[i + 1]) * 16 + hexval(src[i + 2]);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        dst[o++] = (char)c;
    }
    dst[o] = '\0';
    return o;
}

int fn_method_allowed(const char *methods_csv, const char *method)
{
    if (!methods_csv || !*methods_csv) return 1;
    if (fn_list_has(methods_csv, method, 1)) return 1;
    /* HEAD is GET without a body, as in every HTTP server. */
    return strcmp(method, "HEAD") == 0 && fn_list_has(methods_csv, "GET", 1);
}

int fn_principal_has_role(const fn_principal *p, const char *role)
{
    if (!p) return strcmp(role, "anonymous") == 0;
    for (size_t i = 0; i < p->nroles; i++)
        if (strcmp(p->roles[i], role) == 0) return 1;
    return 0;
}

int fn_roles_check(const char *roles_csv, const fn_principal *p)
{
    if (!roles_csv || !*roles_csv || fn_list_has(roles_csv, "anonymous", 1)) return 0;
    if (!p) return 401;
    size_t len;
    for (const char *q; (q = fn_list_next(&roles_csv, &len)) != NULL;) {
        char role[FN_MAX_ROLE_LEN];
        if (len < sizeof role) {
            memcpy(role, q, len);
            role[len] = '\0';
            if (fn_principal_has_role(p, role)) return 0;
        }
    }
    return 403;
}

static int copy_str(char *dst, size_t dstlen, json_object *v)
{
    if (!v || !json_object_is_type(v, json_type_string)) return -1;
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (n >= dstlen || memchr(s, '\0', n)) return -1;
    memcpy(dst, s, n + 1);
    return 0;
}

int fn_principal_decode(const char *b64, fn_principal *out)
{
    memset(out, 0, sizeof *out);
    if (!b64) return -1;
    size_t inlen = strlen(b64);
    if (inlen == 0 || inlen > FN_MAX_PRINCIPAL) return -1;
    size_t cap = inlen / 4 * 3 + 3;
    unsigned char *raw = malloc(cap + 1);
    if (!raw) return -1;
    size_t rawlen = 0;
    if (sodium_base642bin(raw, cap, b64, inlen, " \t", &rawlen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(raw);
        return -1;
    }
    raw[rawlen] = '\0';
    json_tokener *tok = json_tokener_new();
    json_object *obj = tok ? json_tokener_parse_ex(tok, (const char *)raw, (int)rawlen) : NULL;
    int complete = tok && json_tokener_get_error(tok) == json_tokener_success &&
                   (size_t)json_tokener_get_parse_end(tok) == rawlen;
    if (tok) json_tokener_free(tok);
    free(raw);
    int rc = -1;
    json_object *v, *roles;
    if (!complete || !obj || !json_object_is_type(obj, json_type_object)) goto done;
    if (!json_object_object_get_ex(obj, "userId", &v) ||
        copy_str(out->user_id, sizeof out->user_id, v) || !out->user_id[0])
        goto done;
    if (json_object_object_get_ex(obj, "identityProvider", &v) &&
        copy_str(out->provider, sizeof out->provider, v))
        goto done;
    if (json_object_object_get_ex(obj, "userDetails", &v) &&
        !json_object_is_type(v, json_type_null) && copy_str(out->details, sizeof out->details, v))
        goto done;
    if (json_object_object_get_ex(obj, "userRoles", &roles)) {
        if (!json_object_is_type(roles, json_type_array)) goto done;
        size_t n = json_object_array_length(roles);
        if (n > FN_MAX_ROLES) goto done;
        for (size_t i = 0; i < n; i++)
            if (copy_str(out->roles[i], FN_MAX_ROLE_LEN, json_object_array_get_idx(roles, i)))
                goto done;
        out->nroles = n;
    }
    rc = 0;
done:
    json_object_put(obj);
    if (rc) memset(out, 0, sizeof *out);
    return rc;
}

long fn_body_limit(const char *declared)
{
    if (!declared || !*declared) return FN_MAX_BODY_DEFAULT;
    char *end;
    long v = strtol(declared, &end, 10);
    if (*end || v < 0) return FN_MAX_BODY_DEFAULT;
    return v > FN_MAX_BODY_CEILING ? FN_MAX_BODY_CEILING : v;
}
