/* wps_url.c: URL building for the Web PubSub SDK (docs/protocols.md#client-access-tokens,
 * #rest-authentication); percent-encoding by libcurl, strings assembled in a memory stream. */
#include "wps_url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <curl/curl.h>

int wps_hub_name_ok(const char *hub)
{
    static const char more[] = "_`,.[]";
    if (!hub || !((hub[0] >= 'A' && hub[0] <= 'Z') || (hub[0] >= 'a' && hub[0] <= 'z'))) return 0;
    size_t n = strlen(hub);
    if (n > WPS_HUB_MAX_LEN) return 0;
    for (size_t i = 1; i < n; i++) {
        char c = hub[i];
        int alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !strchr(more, c)) return 0;
    }
    return 1;
}

static int put_escaped(FILE *f, const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));
    if (!e) return -1;
    fputs(e, f);
    curl_free(e);
    return 0;
}

/* Writes path to f with each "{}" replaced by the next arg, escaped; -1 on a count mismatch. */
static int put_path(FILE *f, const char *path, const char *const *args, size_t nargs)
{
    size_t used = 0;
    for (const char *p = path; *p;) {
        const char *ph = strstr(p, "{}");
        size_t lit = ph ? (size_t)(ph - p) : strlen(p);
        fwrite(p, 1, lit, f);
        if (!ph) break;
        if (used >= nargs || !args[used] || !args[used][0]) return -1;
        if (put_escaped(f, args[used++]) != 0) return -1;
        p = ph + 2;
    }
    return used == nargs ? 0 : -1;
}

static int put_query(FILE *f, const wps_query *q, size_t nq)
{
    fputs("?api-version=" WPS_API_VERSION, f);
    for (size_t i = 0; i < nq; i++) {
        if (!q[i].value) continue;
        fprintf(f, "&%s=", q[i].name);
        if (put_escaped(f, q[i].value) != 0) return -1;
    }
    return 0;
}

char *wps_url_rest(const char *endpoint, const char *path, const char *const *args, size_t nargs,
                   const wps_query *query, size_t nquery)
{
    char *buf = NULL;
    size_t len = 0;
    if (!endpoint || !path) return NULL;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    fputs(endpoint, f);
    int bad = put_path(f, path, args, nargs) != 0 || put_query(f, query, nquery) != 0;
    bad = fclose(f) != 0 || bad;
    if (bad || len > WPS_URL_MAX_LEN) {
        free(buf);
        return NULL;
    }
    return buf;
}

char *wps_url_client_aud(const char *endpoint, const char *hub)
{
    char *out;
    if (!endpoint || !hub) return NULL;
    return asprintf(&out, "%sclient/hubs/%s", endpoint, hub) < 0 ? NULL : out;
}

char *wps_url_client_base(const char *endpoint, const char *hub)
{
    char *out;
    if (!endpoint || !hub) return NULL;
    const char *rest = endpoint;
    const char *scheme = "";
    if (strncasecmp(endpoint, "https://", 8) == 0)
        scheme = "wss://", rest = endpoint + 8;
    else if (strncasecmp(endpoint, "http://", 7) == 0)
        scheme = "ws://", rest = endpoint + 7;
    return asprintf(&out, "%s%sclient/hubs/%s", scheme, rest, hub) < 0 ? NULL : out;
}
