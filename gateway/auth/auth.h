/* auth.h: the Static Web Apps sign-in program (docs/protocols.md#auth-endpoints): the /.auth
 * endpoints login, me, logout and purge, and the two internal endpoints nginx's auth_request asks
 * (the principal for the API routes, the role check for static route rules). Sessions, accounts and
 * throttle counters live in the `swa` schema (schema/003_swa.sql, 007_signin.sql). Why sign-in is
 * throttled the way it is, and what logout revokes: docs/sign-in.md. */
#ifndef CHATR_AUTH_H
#define CHATR_AUTH_H

#include <stddef.h>
#include "fn.h"

#define AUTH_COOKIE "StaticWebAppsAuthCookie"
#define AUTH_SESSION_TTL_SECONDS (8 * 3600) /* like SWA: a session lasts 8 hours */
#define AUTH_SESSION_ID_BYTES 32            /* random bytes behind a cookie value */
#define AUTH_COOKIE_VALUE_MAX 64            /* base64url of 32 bytes is 43 characters */
#define AUTH_REDIRECT_MAX 1024              /* post_login_redirect_uri / post_logout_redirect_uri */
#define AUTH_NAME_MAX 32                    /* guest display name, in characters */
#define AUTH_USERNAME_MIN 3
#define AUTH_USERNAME_MAX 32
#define AUTH_PASSWORD_MIN 8
#define AUTH_PASSWORD_MAX 128
#define AUTH_USER_ID_MAX 64      /* user id: [A-Za-z0-9_.@-], safe in REST paths */
#define AUTH_DETAILS_MAX 128     /* mock provider userDetails, bytes */
#define AUTH_ROLE_MAX 32         /* one custom role name */
#define AUTH_ROLES_MAX 8         /* custom roles per principal */
#define AUTH_ROLES_FIELD_MAX 512 /* the userRoles textarea */
#define AUTH_PROVIDER_MAX 16

#define AUTH_SID_LEN 32           /* a session's binding (swa.sessions.sid): 32 hex */
#define AUTH_CLIENT_KEY_MAX 64    /* a client address as counted (IPv6 by its /64) */
#define AUTH_THROTTLE_KEY_MAX 128 /* kind:subject, see auth_throttle.c */

/* Throttling (auth_throttle.c, docs/sign-in.md): every policy counts events of one kind per key
 * in a fixed window; past `free` events each one blocks the key for base * 2^(n-1) seconds (n:
 * events past free), at most cap. Blocked requests get 429 + Retry-After and are not counted. */
typedef struct auth_policy {
    const char *kind; /* key prefix */
    int window_s;
    int free;
    int base_s, cap_s;
} auth_policy;
/* Refused sign-in POSTs of one client (bad form, wrong password, foreign Origin), any account. */
#define AUTH_CLIENT_FAILURES ((auth_policy){"client", 15 * 60, 30, 1, 60})
/* Wrong passwords for one account from one client: the owner's own typos. */
#define AUTH_PAIR_FAILURES ((auth_policy){"pair", 15 * 60, 5, 1, 300})
/* Wrong passwords for one account from every client together. It only holds back clients that
 * already failed AUTH_ACCOUNT_GRACE times on the account, so that the owner, at an address of
 * their own, still signs in while the account is under attack. */
#define AUTH_ACCOUNT_FAILURES ((auth_policy){"account", 15 * 60, 50, 1, 60})
#define AUTH_ACCOUNT_GRACE 3
/* Registrations (each costs an argon2id hash) and guest sign-ins (each a session) per client. */
#define AUTH_REGISTRATIONS ((auth_policy){"register", 15 * 60, 10, 1, 60})
#define AUTH_GUEST_SIGNINS ((auth_policy){"guest", 60, 60, 1, 30})
/* CHATR_GUEST_SIGNINS_PER_MINUTE overrides the guest allowance (a classroom behind one NAT, or
 * a test suite that is hundreds of browsers on one address), 1 to this. */
#define AUTH_GUEST_SIGNINS_SETTING_MAX 1000000

/* A signed-in user, as the session stores it. roles: custom roles, comma-separated. */
typedef struct auth_user {
    char provider[AUTH_PROVIDER_MAX + 1];
    char user_id[AUTH_USER_ID_MAX + 1];
    char details[AUTH_DETAILS_MAX + 1];
    char roles[AUTH_ROLES_MAX * (AUTH_ROLE_MAX + 1) + 1];
    char sid[AUTH_SID_LEN + 1]; /* the session's binding (lookup only) */
} auth_user;

/* A growing string (HTML pages). On allocation failure it stays valid and sets failed. */
typedef struct auth_buf {
    char *s;
    size_t len, cap;
    int failed;
} auth_buf;

void auth_buf_put(auth_buf *b, const char *s, size_t n);
void auth_buf_puts(auth_buf *b, const char *s);
void auth_buf_html(auth_buf *b, const char *s); /* escaped for text and attribute values */
void auth_buf_url(auth_buf *b, const char *s);  /* percent-encoded query value */
void auth_buf_free(auth_buf *b);

/* Pure validation (auth_util.c, unit tested). */
/* Site-relative redirect target or "/" : writes the safe target into out (outlen bytes). */
void auth_safe_redirect(const char *target, const char *public_url, char *out, size_t outlen);
/* 0 if s is valid UTF-8 without control characters, 1..max characters after trimming. */
int auth_valid_name(const char *s, size_t max_chars);
int auth_valid_username(const char *s);
int auth_valid_provider(const char *s);
int auth_valid_user_id(const char *s);
/* A mock provider's user id in its own namespace: "<provider>.<id>" (a guest or local id has no
 * '.', and provider names have none), so a mock sign-in can never become a local, guest or other
 * provider's user. -1 when id is invalid or the result would not fit AUTH_USER_ID_MAX. */
int auth_mock_user_id(const char *provider, const char *id, char *out, size_t outlen);
/* The client an address stands for: IPv4 as is, IPv6 by its /64 (one host's share). */
void auth_client_key(const char *addr, char *out, size_t outlen);
/* Parses the userRoles textarea (one role per line) into "r1,r2"; -1 on an invalid role. */
int auth_parse_roles(const char *field, char *out, size_t outlen);
/* The value of cookie `name` from a Cookie header into out; NULL if absent or too long. */
char *auth_cookie_get(const char *header, const char *name, char *out, size_t outlen);
/* Trims ASCII spaces at both ends in place; returns s. */
char *auth_trim(char *s);
/* The principal JSON (claims only when with_claims). Caller frees with json_object_put. */
json_object *auth_principal_json(const auth_user *u, int with_claims);
/* Fills an fn_principal (for role checks) from a user. */
void auth_to_principal(const auth_user *u, fn_principal *p);

/* Database (auth_db.c). Return -1 on database failure. */
int auth_session_create(const auth_user *u, char *cookie_out, size_t cookie_len);
int auth_session_lookup(const char *cookie_value, auth_user *u); /* 1 found, 0 none, -1 error */
/* Deletes the session; its binding into sid_out (AUTH_SID_LEN + 1 bytes, "" if none). */
int auth_session_delete(const char *cookie_value, char *sid_out);
/* Throttling (auth_throttle.c). key: "<kind>:<subject>" (auth_throttle_key). */
void auth_throttle_key(const auth_policy *p, const char *subject, char *out, size_t outlen);
/* Seconds key stays blocked (0: free), the events counted in its window into *events (may be
 * NULL); -1 on database failure. */
int auth_throttle_wait(const auth_policy *p, const char *key, int *events);
int auth_throttle_note(const auth_policy *p, const char *key); /* counts one event */
int auth_throttle_clear(const char *key);
/* Local accounts: 1 created, 0 name taken, -1 error. */
int auth_account_create(const char *username, const char *password, auth_user *u);
/* 1 signed in, 0 wrong name or password, -1 error. */
int auth_account_check(const char *username, const char *password, auth_user *u);

/* Pages (auth_page.c). */
void auth_page_login(fn_res *res, int status, const char *provider, const char *redirect,
                     const char *error, const char *prefill);

/* Settings of the auth program read once (auth_settings.c), on first use, beside the runtime's
 * (fn_settings: CHATR_PUBLIC_URL). */
typedef struct auth_settings {
    int dev_auth;           /* CHATR_DEV_AUTH=1: the mock providers sign anyone in (development) */
    int guest_signins;      /* CHATR_GUEST_SIGNINS_PER_MINUTE (1..AUTH_GUEST_SIGNINS_SETTING_MAX),
                               0 when unset or invalid (logged once): AUTH_GUEST_SIGNINS's */
    const char *swa_config; /* CHATR_SWA_CONFIG: staticwebapp.config.json (auth_oidc.c), or NULL */
} auth_settings;
const auth_settings *auth_settings_get(void);

#endif
