/* hub_nchan.c: publishing to nchan channels through nginx's internal unix socket
 * (CHATR_NGINX_SOCKET, location /pub), one keep-alive connection per process. */
#include "hub_nchan.h"
#include "hub_chan.h"
#include "fn.h"
#include "fn_curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>
#include <json-c/json.h>

static CURL *pub_curl; /* the per-process connection to nginx */

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static CURL *handle(void)
{
    if (!fn_curl(&pub_curl)) return NULL;
    const char *sock = fn_settings_get()->nginx_socket;
    curl_easy_setopt(pub_curl, CURLOPT_UNIX_SOCKET_PATH, sock ? sock : "nginx-internal.sock");
    curl_easy_setopt(pub_curl, CURLOPT_URL, "http://localhost/pub");
    curl_easy_setopt(pub_curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(pub_curl, CURLOPT_TIMEOUT_MS, 10000L);
    return pub_curl;
}

/* Runs the request set up on c with headers h (freed here): the CURLcode, and in *status the
 * HTTP status (0 when there was none). */
static CURLcode perform(CURL *c, struct curl_slist *h, long *status)
{
    if (h) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    return rc;
}

static int live; /* the next request goes to /publive (shared channels, not stored) */

static int request(const char *method, const char *channels, const char *body, size_t len,
                   const char *ctype)
{
    CURL *c = handle();
    if (!c) return -1;
    if (live) curl_easy_setopt(c, CURLOPT_URL, "http://localhost/publive");
    struct curl_slist *h = NULL;
    size_t hl = strlen(channels) + 32;
    char *hc = malloc(hl);
    if (!hc) return -1;
    snprintf(hc, hl, "X-Hub-Channels: %s", channels);
    h = curl_slist_append(h, hc);
    free(hc);
    char ct[160];
    snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
    h = curl_slist_append(h, ct);
    h = curl_slist_append(h, "Accept: text/json");
    h = curl_slist_append(h, "Expect:");
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    long status;
    CURLcode rc = perform(c, h, &status);
    if (rc != CURLE_OK) {
        fn_log("nchan %s: %s", method, curl_easy_strerror(rc));
        return -1;
    }
    if (status >= 300 && !(status == 404 && strcmp(method, "DELETE") == 0)) {
        fn_log("nchan %s: HTTP %ld", method, status);
        return -1;
    }
    return 0;
}

int hub_nchan_publish(const char *const *channels, size_t n, const char *body, size_t len,
                      const char *ctype)
{
    int rc = 0;
    char *list = malloc((size_t)HUB_CHANNELS_PER_PUBLISH * (HUB_MAX_CHANNEL + 1) + 1);
    if (!list) return -1;
    for (size_t i = 0; i < n; i += HUB_CHANNELS_PER_PUBLISH) {
        size_t o = 0;
        for (size_t j = i; j < n && j < i + HUB_CHANNELS_PER_PUBLISH; j++) {
            size_t l = strnlen(channels[j], HUB_MAX_CHANNEL);
            if (o) list[o++] = ',';
            memcpy(list + o, channels[j], l);
            o += l;
        }
        list[o] = '\0';
        if (request("POST", list, body, len, ctype) != 0) rc = -1;
    }
    free(list);
    return rc;
}

int hub_nchan_publish1(const char *channel, const char *body, size_t len, const char *ctype)
{
    return request("POST", channel, body, len, ctype);
}

int hub_nchan_publish_live(const char *channel, const char *body, size_t len, const char *ctype)
{
    live = 1;
    int rc = request("POST", channel, body, len, ctype);
    live = 0;
    return rc;
}

typedef struct info_sink {
    char buf[HUB_NCHAN_STATUS_MAX]; /* a channel's info, or nchan_stub_status (~600 bytes) */
    size_t len;
} info_sink;

static size_t collect_info(char *p, size_t s, size_t n, void *u)
{
    info_sink *k = u;
    size_t add = s * n, room = sizeof k->buf - 1 - k->len;
    memcpy(k->buf + k->len, p, add < room ? add : room);
    k->len += add < room ? add : room;
    k->buf[k->len] = '\0';
    return add;
}

int hub_nchan_subscribers(const char *channel)
{
    CURL *c = handle();
    if (!c) return -1;
    char hc[HUB_MAX_CHANNEL + 32];
    snprintf(hc, sizeof hc, "X-Hub-Channels: %s", channel);
    struct curl_slist *h = curl_slist_append(NULL, hc);
    h = curl_slist_append(h, "Accept: application/json");
    info_sink body = {.len = 0};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_info);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    long status;
    CURLcode rc = perform(c, h, &status);
    if (rc != CURLE_OK) {
        fn_log("nchan channel info %s: %s", channel, curl_easy_strerror(rc));
        return -1;
    }
    if (status == 404) return 0;
    json_object *o = status == 200 ? json_tokener_parse(body.buf) : NULL, *v;
    int n = o && json_object_object_get_ex(o, "subscribers", &v) ? json_object_get_int(v) : -1;
    json_object_put(o);
    if (n < 0) fn_log("nchan channel info %s: HTTP %ld", channel, status);
    return n;
}

int hub_nchan_status(char *buf, size_t len)
{
    CURL *c = handle();
    if (!c || len < 2) return -1;
    info_sink body = {.len = 0};
    curl_easy_setopt(c, CURLOPT_URL, "http://localhost/.chatr/nchan");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_info);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 2000L);
    long status;
    CURLcode rc = perform(c, NULL, &status);
    if (rc != CURLE_OK || status != 200) {
        fn_log("nchan status: %s", rc != CURLE_OK ? curl_easy_strerror(rc) : "not 200");
        return -1;
    }
    snprintf(buf, len, "%s", body.buf);
    return 0;
}

int hub_nchan_delete(const char *channel)
{
    return request("DELETE", channel, NULL, 0, NULL);
}
