/* fuzz_connstr.c: the Web PubSub connection string parser (wps_connstr_parse,
 * gateway/sdk/wps_connstr.c) and the SDK client built on it (wps_client_new).
 *
 * Input: the connection string. Properties: a parsed endpoint is http:// or https://, ends with
 * '/', and the access key is non-empty and appears verbatim in the input.
 * Every reader of WEBPUBSUB_CONNECTION_STRING (hub_key_access in gateway/hub/hub_key.c, the
 * eventHandler's signature check and validate(), the functions' clients) goes through this
 * parser, once per process (fn_wps_connstr, gateway/runtime/fn_wps.c). */
#include "fuzz_util.h"
#include "wps_client.h"
#include "wps_connstr.h"

#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 2 * WPS_CONNSTR_MAX_LEN) return 0;
    char *s = fuzz_dup(data, size);
    wps_connstr cs;
    char err[256];
    if (wps_connstr_parse(s, &cs, err, sizeof err) == 0) {
        FUZZ_ASSERT(cs.endpoint && cs.access_key && cs.access_key[0]);
        FUZZ_ASSERT(strncmp(cs.endpoint, "http://", 7) == 0 ||
                    strncmp(cs.endpoint, "https://", 8) == 0);
        size_t n = strlen(cs.endpoint);
        FUZZ_ASSERT(n > 0 && cs.endpoint[n - 1] == '/');
        FUZZ_ASSERT(strstr(s, cs.access_key) != NULL);
        wps_connstr_free(&cs);
        wps_client *c = wps_client_new(s, "chat", err, sizeof err);
        FUZZ_ASSERT(c != NULL);
        wps_client_free(c);
    } else {
        FUZZ_ASSERT(cs.endpoint == NULL && cs.access_key == NULL);
        FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL);
    }
    free(s);
    return 0;
}
