/* test_hub_chan.c: channel names are keyed (gateway/hub/hub_chan.c, docs/liveness.md): not
 * predictable from a hub, user or connection id without the key, and stable with it. */
#include "unit.h"
#include "hub_chan.h"

#include <sodium.h>
#include <string.h>

/* The names as they were before they were keyed (an unkeyed BLAKE2b of the ids, the socket's
 * own id in clear): anyone could compute them. */
static void unkeyed(const char *a, const char *b, size_t bytes, char *out)
{
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, bytes);
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
    if (b) {
        crypto_generichash_update(&st, (const unsigned char *)"\0", 1);
        crypto_generichash_update(&st, (const unsigned char *)b, strlen(b));
    }
    crypto_generichash_final(&st, h, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, h, bytes);
}

UNIT_TEST(hub_chan_names_are_not_the_unkeyed_hashes)
{
    hub_chan_use_key("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH");
    char all[HUB_MAX_CHANNEL], user[HUB_MAX_CHANNEL], conn[HUB_MAX_CHANNEL], old[HUB_MAX_CHANNEL];
    char hk[17], uk[33];
    hub_chan_all("chat", 1, all);
    hub_chan_user("chat", "alice", 1, user);
    hub_chan_conn("0123456789abcdef0123456789abcdef", conn);
    unkeyed("chat", NULL, 8, hk);
    unkeyed("chat", "alice", 16, uk);
    snprintf(old, sizeof old, "aj.%s", hk);
    CHECK(strcmp(all, old) != 0);
    snprintf(old, sizeof old, "uj.%s.%s", hk, uk);
    CHECK(strcmp(user, old) != 0);
    CHECK(strcmp(conn, "c.0123456789abcdef0123456789abcdef") != 0);
    CHECK(strstr(conn, "0123456789abcdef") == NULL);
    /* the shapes nginx and the hub rely on: prefix, no delimiter, within the limit */
    CHECK(strncmp(all, "aj.", 3) == 0 && strlen(all) == 3 + 16);
    CHECK(strncmp(user, "uj.", 3) == 0 && strlen(user) == 3 + 16 + 1 + 32);
    CHECK(strncmp(conn, "c.", 2) == 0 && strlen(conn) == 2 + 32);
    CHECK(!strchr(all, ',') && !strchr(user, ',') && !strchr(conn, ','));
}

UNIT_TEST(hub_chan_names_change_with_the_key)
{
    char a1[HUB_MAX_CHANNEL], a2[HUB_MAX_CHANNEL], u1[HUB_MAX_CHANNEL], u2[HUB_MAX_CHANNEL];
    char c1[HUB_MAX_CHANNEL], c2[HUB_MAX_CHANNEL], again[HUB_MAX_CHANNEL];
    hub_chan_use_key("key-one-key-one-key-one-key-one-key-one-1234");
    hub_chan_all("chat", 1, a1);
    hub_chan_user("chat", "alice", 1, u1);
    hub_chan_conn("conn1", c1);
    hub_chan_conn("conn1", again);
    CHECK_STR(c1, again); /* every hub program computes the same name */
    hub_chan_use_key("key-two-key-two-key-two-key-two-key-two-1234");
    hub_chan_all("chat", 1, a2);
    hub_chan_user("chat", "alice", 1, u2);
    hub_chan_conn("conn1", c2);
    CHECK(strcmp(a1, a2) != 0);
    CHECK(strcmp(u1, u2) != 0);
    CHECK(strcmp(c1, c2) != 0);
    /* under one key: JSON and simple broadcasts share the hub part, users and kinds differ */
    char s[HUB_MAX_CHANNEL], b[HUB_MAX_CHANNEL];
    hub_chan_all("chat", 0, s);
    CHECK(s[1] == 's' && strcmp(s + 2, a2 + 2) == 0);
    hub_chan_user("chat", "bob", 1, b);
    CHECK(strcmp(b, u2) != 0);
    hub_chan_conn("chat", b);
    CHECK(strncmp(b + 2, a2 + 3, 16) != 0);
}
