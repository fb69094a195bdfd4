/* wps_sig.c: computing and checking `ce-signature` values (docs/protocols.md#headers-and-signature)
 * with libsodium. */
#include "wps_sig.h"

#include <ctype.h>
#include <string.h>
#include <sodium.h>

int wps_sig_make(const char *key, const char *connection_id, char out[WPS_SIG_LEN + 1])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    /* Every JWS signing input is header "." payload: an id with a dot is never signed. */
    if (!key || !connection_id || !*connection_id || strchr(connection_id, '.')) return -1;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)connection_id, strlen(connection_id));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
    const size_t plen = sizeof WPS_SIG_PREFIX - 1;
    memcpy(out, WPS_SIG_PREFIX, plen);
    sodium_bin2hex(out + plen, WPS_SIG_LEN + 1 - plen, mac, sizeof mac); /* lowercase hex */
    return 0;
}

/* 1 if the n bytes at s (one header entry, untrimmed) equal want, ignoring case and spaces. */
static int entry_matches(const char *s, size_t n, const char *want)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n != WPS_SIG_LEN) return 0;
    char low[WPS_SIG_LEN];
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    return sodium_memcmp(low, want, WPS_SIG_LEN) == 0;
}

int wps_sig_check(const char *key, const char *connection_id, const char *header)
{
    char want[WPS_SIG_LEN + 1];
    if (!header || strnlen(header, WPS_SIG_HEADER_MAX + 1) > WPS_SIG_HEADER_MAX) return 0;
    if (wps_sig_make(key, connection_id, want) != 0) return 0;
    int ok = 0;
    for (const char *p = header;;) {
        size_t n = strcspn(p, ",");
        ok |= entry_matches(p, n, want);
        if (!p[n]) break;
        p += n + 1;
    }
    return ok;
}
