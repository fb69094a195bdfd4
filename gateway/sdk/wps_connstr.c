/* wps_connstr.c: connection string parsing (docs/protocols.md#connection-strings). Pieces are split
 * on ';', each at its first '='; keys are case-insensitive, values verbatim, later duplicates win.
 * The endpoint URL is normalised with libcurl's URL API (Port applied, default port dropped,
 * trailing '/'). */
#include "wps_connstr.h"
#include "wps_err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>
#include <sodium.h>

/* Value of key in s (case-insensitive key, last occurrence wins), as a new string; NULL if the
 * key is absent or the value empty (the JS SDK treats empty values as missing). */
static char *find_value(const char *s, const char *key)
{
    char *found = NULL;
    size_t klen = strlen(key);
    while (*s) {
        size_t n = strcspn(s, ";");
        const char *eq = memchr(s, '=', n);
        if (eq && (size_t)(eq - s) == klen && strncasecmp(s, key, klen) == 0) {
            free(found);
            found = strndup(eq + 1, n - klen - 1);
            if (found && !found[0]) {
                free(found);
                found = NULL;
            }
        }
        s += n;
        if (*s == ';') s++;
    }
    return found;
}

/* "http..." stays, a bare host gets "https://" in front (as the JS SDK does); another scheme is
 * refused (NULL) rather than turned into "https://ftp//host" as the JS SDK would. */
static char *with_scheme(const char *endpoint)
{
    char *out = NULL;
    if (strncasecmp(endpoint, "http", 4) == 0) return strdup(endpoint);
    if (strstr(endpoint, "://")) return NULL;
    if (asprintf(&out, "https://%s", endpoint) < 0) return NULL;
    return out;
}

/* Normalised endpoint: scheme http(s), Port applied unless it is the scheme default, ends '/'. */
static char *normalise(const char *raw, const char *port, char *err, size_t errlen)
{
    char *url = with_scheme(raw), *got = NULL, *scheme = NULL, *extra = NULL, *out = NULL;
    CURLU *u = curl_url();
    if (!url || !u) {
        wps_fail(err, errlen, "connection string: endpoint '%s' is not http(s)", raw);
        goto done;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK) {
        wps_fail(err, errlen, "connection string: invalid endpoint URL '%s'", url);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        wps_fail(err, errlen, "connection string: endpoint '%s' is not http(s)", url);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK) {
        wps_fail(err, errlen, "connection string: endpoint '%s' has a query or fragment", url);
        goto done;
    }
    if (port && curl_url_set(u, CURLUPART_PORT, port, 0) != CURLUE_OK) {
        wps_fail(err, errlen, "connection string: invalid port '%s'", port);
        goto done;
    }
    if (curl_url_get(u, CURLUPART_URL, &got, CURLU_NO_DEFAULT_PORT) != CURLUE_OK) {
        wps_fail(err, errlen, "connection string: cannot rebuild endpoint '%s'", url);
        goto done;
    }
    size_t n = strlen(got);
    if (asprintf(&out, "%s%s", got, n && got[n - 1] == '/' ? "" : "/") < 0) out = NULL;
    if (!out) wps_fail(err, errlen, "connection string: out of memory");
done:
    curl_free(got);
    curl_free(scheme);
    curl_free(extra);
    curl_url_cleanup(u);
    free(url);
    return out;
}

int wps_connstr_parse(const char *s, wps_connstr *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!s || !s[0]) return wps_fail(err, errlen, "connection string is empty");
    if (strlen(s) > WPS_CONNSTR_MAX_LEN)
        return wps_fail(err, errlen, "connection string longer than %d bytes", WPS_CONNSTR_MAX_LEN);
    char *endpoint = find_value(s, "endpoint");
    char *key = find_value(s, "accesskey");
    char *port = find_value(s, "port");
    int rc = -1;
    if (!endpoint)
        wps_fail(err, errlen, "connection string missing endpoint");
    else if (!key)
        wps_fail(err, errlen, "connection string missing access key");
    else if ((out->endpoint = normalise(endpoint, port, err, errlen)) != NULL) {
        out->access_key = key;
        key = NULL;
        rc = 0;
    }
    free(endpoint);
    free(key);
    free(port);
    return rc;
}

void wps_connstr_free(wps_connstr *cs)
{
    if (!cs) return;
    free(cs->endpoint);
    if (cs->access_key) sodium_memzero(cs->access_key, strlen(cs->access_key));
    free(cs->access_key);
    cs->endpoint = cs->access_key = NULL;
}
