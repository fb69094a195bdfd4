/* hub_token.h: token checks (the SDK's wps_jwt with the hub's audience rule) for client access
 * tokens and REST bearer tokens (docs/protocols.md#client-access-tokens). */
#ifndef CHATR_HUB_TOKEN_H
#define CHATR_HUB_TOKEN_H

#include <stddef.h>
#include <json-c/json.h>

#include "wps_jwt.h"

/* Verifies an HS256 token with the access key (wps_jwt_verify: signature, alg, exp/nbf with
 * WPS_JWT_CLOCK_SKEW, role/webpubsub.group as string or array) and its aud leniently: only the
 * path of an audience is compared with path (case-insensitive, trailing slash and query
 * ignored). Returns 0 (release out with wps_jwt_claims_free) or -1 with a reason in err. */
int hub_token_verify(const char *token, const char *path, wps_jwt_claims *out, char *err,
                     size_t errlen);
/* Signs claims (borrowed) into a token (malloc'd), NULL on failure. */
char *hub_token_sign(json_object *claims);

#endif
