/* fn_curl.c: a reusable libcurl handle per purpose and process (fn_curl.h). */
#include "fn_curl.h"

CURL *fn_curl(CURL **slot)
{
    static int ready;
    if (*slot) {
        curl_easy_reset(*slot);
    } else {
        if (!ready && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return NULL;
        ready = 1;
        *slot = curl_easy_init();
        if (!*slot) return NULL;
    }
    curl_easy_setopt(*slot, CURLOPT_NOSIGNAL, 1L);
    return *slot;
}
