/* wps_connstr.h: parsing a Web PubSub connection string ("Endpoint=...;AccessKey=...;Port=...;")
 * into an endpoint URL and an access key, the way @azure/web-pubsub does
 * (docs/protocols.md#connection-strings). */
#ifndef WPS_CONNSTR_H
#define WPS_CONNSTR_H
#include <stddef.h>

/* Longest connection string accepted (it usually comes from an environment variable). */
#define WPS_CONNSTR_MAX_LEN 4096

typedef struct {
    char *endpoint; /* "http://localhost:8080/": http(s), port only if not the default, ends '/' */
    char *access_key; /* verbatim; used as HMAC key bytes, never base64-decoded */
} wps_connstr;

/* Parses s into out. Returns 0, or -1 with a message in err (err may be NULL). On success the
 * caller releases out with wps_connstr_free. */
int wps_connstr_parse(const char *s, wps_connstr *out, char *err, size_t errlen);
void wps_connstr_free(wps_connstr *cs);

#endif
