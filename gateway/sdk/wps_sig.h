/* wps_sig.h: the CloudEvents `ce-signature` header of upstream event requests
 * (docs/protocols.md#headers-and-signature): "sha256=" + lowercase hex HMAC-SHA256(key = AccessKey
 * bytes, msg = connectionId).
 *
 * The same key signs JWTs: HMAC-SHA256(key, header "." payload). A connection id with a '.'
 * could be a token's signing input, whose signature every token holder has, so it is never
 * signed nor accepted here: the two message spaces stay apart (docs/webhooks.md). */
#ifndef WPS_SIG_H
#define WPS_SIG_H
#include <stddef.h>

#define WPS_SIG_PREFIX "sha256="
#define WPS_SIG_LEN (sizeof WPS_SIG_PREFIX - 1 + 64) /* one entry, without the NUL */
#define WPS_SIG_HEADER_MAX 1024                      /* longest ce-signature header value checked */

/* Writes the signature entry for connection_id into out (WPS_SIG_LEN + 1 bytes). Returns 0, or
 * -1 when key or connection_id is missing, or connection_id is empty or contains a '.'. */
int wps_sig_make(const char *key, const char *connection_id, char out[WPS_SIG_LEN + 1]);

/* 1 if any comma-separated entry of header (trimmed; hex case-insensitive) is the signature of
 * connection_id under key, compared in constant time; 0 otherwise (also for a missing or
 * oversized header, and for a connection id wps_sig_make refuses). */
int wps_sig_check(const char *key, const char *connection_id, const char *header);

#endif
