/* auth_oidc.h: sign-in with any OpenID Connect provider, configured like Static Web Apps'
 * custom providers (staticwebapp.config.json: auth.identityProviders.customOpenIdConnectProviders).
 * The authorization code flow with PKCE (S256), state and nonce; the ID token checked with
 * OpenSSL's libcrypto against the provider's JWKS. Flow, checks and configuration:
 * docs/sign-in.md, "OpenID Connect". */
#ifndef CHATR_AUTH_OIDC_H
#define CHATR_AUTH_OIDC_H

#include <stddef.h>
#include "auth.h"

#define AUTH_OIDC_PROVIDERS_MAX 8         /* custom providers read from the configuration */
#define AUTH_OIDC_CONFIG_MAX (256 * 1024) /* staticwebapp.config.json, bytes */
#define AUTH_OIDC_DOC_MAX (64 * 1024)     /* discovery, JWKS and token responses, bytes */
#define AUTH_OIDC_JWKS_KEYS_MAX 16        /* keys looked at in one JWKS */
#define AUTH_OIDC_TOKEN_MAX (16 * 1024)   /* an ID token, bytes */
#define AUTH_OIDC_URL_MAX 1024            /* an endpoint URL */
#define AUTH_OIDC_SETTING_MAX 512         /* a client id or secret from the environment */
#define AUTH_OIDC_CLAIM_NAME_MAX 64       /* login.nameClaimType */
#define AUTH_OIDC_SCOPES_MAX 16           /* login.scopes entries */
#define AUTH_OIDC_SCOPE_MAX 64            /* one scope */
#define AUTH_OIDC_SUB_MAX 255             /* the sub claim (OIDC Core: at most 255 ASCII) */
#define AUTH_OIDC_CODE_MAX 2048           /* the code a callback carries */
#define AUTH_OIDC_STATE_LEN 43            /* base64url of 32 random bytes */
#define AUTH_OIDC_LEEWAY_S 60             /* clock skew allowed on exp, nbf, iat */
#define AUTH_OIDC_IAT_MAX_AGE_S 600       /* an ID token issued longer ago than this is stale */
#define AUTH_OIDC_FLOW_TTL_S 600          /* a started sign-in must come back within this */
#define AUTH_OIDC_CACHE_TTL_S 3600        /* discovery and JWKS are fetched again after this */
#define AUTH_OIDC_JWKS_REFETCH_MIN_S 10   /* an unknown kid refetches the JWKS at most this often */
#define AUTH_OIDC_HTTP_TIMEOUT_MS 10000L  /* one call to the provider */
#define AUTH_OIDC_CONNECT_TIMEOUT_MS 5000L
#define AUTH_OIDC_BINDING_COOKIE "ChatrOidcBinding"
/* Sign-ins started per client (each stores a flow row until it returns or expires). */
#define AUTH_OIDC_STARTS ((auth_policy){"oidc", 60, 30, 1, 30})

/* The login path after /.auth/login/: "<provider>" or "<provider>/callback". Returns 0 when it
 * names no configured OIDC provider (the caller goes on), 1 when answered (a redirect or an error
 * page), 2 when the callback signed a user in: *u and redirect (AUTH_REDIRECT_MAX + 1 bytes) are
 * set and the caller creates the session. */
int auth_oidc_login(fn_req *req, fn_res *res, const char *rest, auth_user *u, char *redirect);
/* GET /.auth/providers: the configured OIDC providers (and the development mocks when on). */
int auth_oidc_providers(fn_req *req, fn_res *res, const char *const *mocks, int dev_auth);

/* Pure parts (auth_oidc_jwt.c, tests/unit/test_oidc.c). */
/* Names the custom providers may not take: the built-in and development providers'. */
int auth_oidc_reserved_name(const char *name);
/* "<provider>.<32 hex>": the first 128 bits of SHA-256(iss NUL sub). -1 if it does not fit. */
int auth_oidc_user_id(const char *provider, const char *iss, const char *sub, char *out,
                      size_t outlen);
/* userDetails from the ID token's claims: name_claim when set, else preferred_username, name,
 * email; cut to AUTH_DETAILS_MAX bytes on a character boundary; fallback when none is usable. */
void auth_oidc_user_details(json_object *claims, const char *name_claim, const char *fallback,
                            char *out, size_t outlen);

/* What an ID token must match. */
typedef struct auth_oidc_expect {
    const char *issuer;
    const char *client_id;
    const char *nonce;
    long long now; /* seconds since the epoch */
} auth_oidc_expect;

/* Checks an ID token: its signature with a key of jwks (a JWKS object: RS256/384/512 with RSA
 * keys of 2048 bits or more, ES256/384 with P-256/P-384 keys), then iss, aud (and azp), exp,
 * nbf, iat and nonce. 0 valid (*claims: the payload, caller puts it), 1 no key of jwks has the
 * token's kid (fetch the JWKS again), -1 invalid (*why: a short reason for the log). */
int auth_oidc_verify(const char *token, json_object *jwks, const auth_oidc_expect *e,
                     json_object **claims, const char **why);

#endif
