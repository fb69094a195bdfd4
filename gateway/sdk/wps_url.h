/* wps_url.h: the URLs the Web PubSub SDK builds: REST request URLs
 * (docs/protocols.md#rest-authentication), which are also the `aud` of their JWT, and the client
 * audience and WebSocket URLs (docs/protocols.md#client-access-tokens). Pure functions: no network,
 * no clock. */
#ifndef WPS_URL_H
#define WPS_URL_H
#include <stddef.h>

#define WPS_API_VERSION "2024-12-01" /* what @azure/web-pubsub 1.2.0 sends */
#define WPS_URL_MAX_LEN 8192         /* longest request URL built (a server's header limit) */
#define WPS_HUB_MAX_LEN 128          /* hub names: ^[A-Za-z][A-Za-z0-9_`,.[\]]{0,127}$ */

typedef struct {
    const char *name;  /* query parameter name, sent as is */
    const char *value; /* percent-encoded when sent; NULL = parameter left out */
} wps_query;

/* 1 if hub matches the hub-name pattern (docs/protocols.md#limits). */
int wps_hub_name_ok(const char *hub);

/* endpoint (ends with '/') + path + "?api-version=" WPS_API_VERSION + "&name=value" for each
 * query entry in order (repeat a name for array parameters). Each "{}" in path is replaced by
 * the next of args, percent-encoded. Returns a malloc'd URL, or NULL when args do not match the
 * placeholders, an arg is NULL or empty, or the URL would exceed WPS_URL_MAX_LEN. */
char *wps_url_rest(const char *endpoint, const char *path, const char *const *args, size_t nargs,
                   const wps_query *query, size_t nquery);

/* "<endpoint>client/hubs/<hub>": the aud of client access tokens (http(s), not ws). */
char *wps_url_client_aud(const char *endpoint, const char *hub);

/* The same with http -> ws, https -> wss: the baseUrl handed to browsers. */
char *wps_url_client_base(const char *endpoint, const char *hub);

#endif
