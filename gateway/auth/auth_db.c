/* auth_db.c: the sign-in program's state in PostgreSQL (schema swa): sessions stored as the
 * SHA-256 of their random id (and their binding, sid, derived from it: schema/007), local
 * accounts with argon2id hashes. The throttle counters: auth_throttle.c. */
#include "auth.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

/* Verified against when a username does not exist, so that the answer takes as long. */
static const char DUMMY_HASH[crypto_pwhash_STRBYTES] =
    "$argon2id$v=19$m=65536,t=2,p=1$bMcD9TC+tcYtDmVkVP3JnA$X+KnMVHb+"
    "Y4iNwjYVdRXUUzgE5Ab0SfrRJfrEupVvtM";

static void random_hex(char *out, size_t bytes) /* out holds 2*bytes+1 */
{
    unsigned char raw[32];
    randombytes_buf(raw, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, raw, bytes);
}

/* The stored form of a cookie value: hex SHA-256. */
static void id_hash(const char *cookie, char out[crypto_hash_sha256_BYTES * 2 + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)cookie, strlen(cookie));
    sodium_bin2hex(out, crypto_hash_sha256_BYTES * 2 + 1, h, sizeof h);
}

/* A cookie value we could have issued: base64url of AUTH_SESSION_ID_BYTES, no padding. */
static int cookie_plausible(const char *v)
{
    size_t n = strlen(v);
    if (n !=
        sodium_base64_ENCODED_LEN(AUTH_SESSION_ID_BYTES, sodium_base64_VARIANT_URLSAFE_NO_PADDING) -
            1)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

int auth_session_create(const auth_user *u, char *cookie_out, size_t cookie_len)
{
    unsigned char raw[AUTH_SESSION_ID_BYTES];
    randombytes_buf(raw, sizeof raw);
    if (cookie_len <
        sodium_base64_ENCODED_LEN(sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING))
        return -1;
    sodium_bin2base64(cookie_out, cookie_len, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    char hash[crypto_hash_sha256_BYTES * 2 + 1], ttl[16];
    id_hash(cookie_out, hash);
    snprintf(ttl, sizeof ttl, "%d", AUTH_SESSION_TTL_SECONDS);
    /* Expired sessions go as new ones come. */
    PGresult *r = fn_db_exec("DELETE FROM swa.sessions WHERE expires_at < now()", 0, NULL);
    if (!r) return -1;
    PQclear(r);
    const char *p[] = {hash, u->provider, u->user_id, u->details, u->roles, ttl};
    r = fn_db_exec(
        "INSERT INTO swa.sessions (id_hash, provider, user_id, user_details, roles, expires_at) "
        "VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::int))",
        6, p);
    if (!r) return -1;
    PQclear(r);
    return 0;
}

int auth_session_lookup(const char *cookie_value, auth_user *u)
{
    memset(u, 0, sizeof *u);
    if (!cookie_value || !cookie_plausible(cookie_value)) return 0;
    char hash[crypto_hash_sha256_BYTES * 2 + 1];
    id_hash(cookie_value, hash);
    const char *p[] = {hash};
    PGresult *r = fn_db_exec("SELECT provider, user_id, user_details, roles, sid FROM swa.sessions "
                             "WHERE id_hash = $1 AND expires_at > now()",
                             1, p);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    if (found) {
        snprintf(u->provider, sizeof u->provider, "%s", PQgetvalue(r, 0, 0));
        snprintf(u->user_id, sizeof u->user_id, "%s", PQgetvalue(r, 0, 1));
        snprintf(u->details, sizeof u->details, "%s", PQgetvalue(r, 0, 2));
        snprintf(u->roles, sizeof u->roles, "%s", PQgetvalue(r, 0, 3));
        snprintf(u->sid, sizeof u->sid, "%s", PQgetvalue(r, 0, 4));
    }
    PQclear(r);
    return found;
}

int auth_session_delete(const char *cookie_value, char *sid_out)
{
    sid_out[0] = '\0';
    if (!cookie_value || !cookie_plausible(cookie_value)) return 0;
    char hash[crypto_hash_sha256_BYTES * 2 + 1];
    id_hash(cookie_value, hash);
    const char *p[] = {hash};
    PGresult *r = fn_db_exec("DELETE FROM swa.sessions WHERE id_hash = $1 RETURNING sid", 1, p);
    if (!r) return -1;
    if (PQntuples(r) == 1) snprintf(sid_out, AUTH_SID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static void username_key(const char *username, char *out, size_t outlen)
{
    size_t i = 0;
    for (; username[i] && i + 1 < outlen; i++)
        out[i] =
            (username[i] >= 'A' && username[i] <= 'Z') ? (char)(username[i] + 32) : username[i];
    out[i] = '\0';
}

int auth_account_create(const char *username, const char *password, auth_user *u)
{
    char key[AUTH_USERNAME_MAX + 1];
    username_key(username, key, sizeof key);
    const char *pk[] = {key};
    PGresult *r = fn_db_exec("SELECT 1 FROM swa.accounts WHERE username_key = $1", 1, pk);
    if (!r) return -1;
    int taken = PQntuples(r) > 0;
    PQclear(r);
    if (taken) return 0;
    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fn_log("register: password hashing failed (out of memory)");
        return -1;
    }
    char id[33];
    random_hex(id, 16);
    const char *p[] = {key, username, id, hash};
    r = fn_db_exec(
        "INSERT INTO swa.accounts (username_key, username, user_id, password_hash) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT (username_key) DO NOTHING RETURNING user_id",
        4, p);
    sodium_memzero(hash, sizeof hash);
    if (!r) return -1;
    int created = PQntuples(r) == 1;
    PQclear(r);
    if (!created) return 0;
    memset(u, 0, sizeof *u);
    snprintf(u->provider, sizeof u->provider, "local");
    snprintf(u->user_id, sizeof u->user_id, "%s", id);
    snprintf(u->details, sizeof u->details, "%s", username);
    return 1;
}

int auth_account_check(const char *username, const char *password, auth_user *u)
{
    char key[AUTH_USERNAME_MAX + 1];
    username_key(username, key, sizeof key);
    const char *p[] = {key};
    PGresult *r = fn_db_exec("SELECT username, user_id, password_hash FROM swa.accounts "
                             "WHERE username_key = $1",
                             1, p);
    if (!r) return -1;
    int found = PQntuples(r) == 1;
    const char *hash = found ? PQgetvalue(r, 0, 2) : DUMMY_HASH;
    int ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 && found;
    if (ok) {
        memset(u, 0, sizeof *u);
        snprintf(u->provider, sizeof u->provider, "local");
        snprintf(u->user_id, sizeof u->user_id, "%s", PQgetvalue(r, 0, 1));
        snprintf(u->details, sizeof u->details, "%s", PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    return ok;
}
