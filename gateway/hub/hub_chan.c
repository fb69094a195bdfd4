/* hub_chan.c: the nchan channel names of a hub, a user and a socket, keyed with the access key
 * so that only the hub programs can compute them (docs/liveness.md, "Channel names"). */
#include "hub_chan.h"
#include "hub_key.h"
#include "fn.h"

#include <stdio.h>
#include <string.h>
#include <sodium.h>

/* Keyed: BLAKE2b (crypto_generichash) with a key derived from the access key and a label, so a
 * name cannot be computed from a hub, user or connection id without the secret, and whoever can
 * reach nginx's internal socket still cannot publish into a channel or delete it (close its
 * sockets). The kind ("a", "u", "c") is hashed first, so the three kinds never share a name. */
#define HUB_CHAN_LABEL "chatr/hub/channel-names/v1"
static unsigned char chan_key[crypto_generichash_KEYBYTES];
static int chan_key_ready;

void hub_chan_use_key(const char *access_key)
{
    if (!access_key || !*access_key) fn_log("channel names: no access key (names are guessable)");
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof chan_key);
    crypto_generichash_update(&st, (const unsigned char *)HUB_CHAN_LABEL, sizeof HUB_CHAN_LABEL);
    if (access_key)
        crypto_generichash_update(&st, (const unsigned char *)access_key, strlen(access_key));
    crypto_generichash_final(&st, chan_key, sizeof chan_key);
    chan_key_ready = 1;
}

static void hexhash(const char *kind, const char *a, const char *b, size_t bytes, char *out)
{
    if (!chan_key_ready) hub_chan_use_key(hub_key_access());
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, chan_key, sizeof chan_key, bytes);
    crypto_generichash_update(&st, (const unsigned char *)kind, strlen(kind) + 1);
    crypto_generichash_update(&st, (const unsigned char *)a, strlen(a));
    if (b) {
        crypto_generichash_update(&st, (const unsigned char *)"\0", 1);
        crypto_generichash_update(&st, (const unsigned char *)b, strlen(b));
    }
    crypto_generichash_final(&st, h, bytes);
    sodium_bin2hex(out, bytes * 2 + 1, h, bytes);
}

void hub_chan_all(const char *hub, int json, char *out)
{
    char hk[17];
    hexhash("a", hub, NULL, 8, hk);
    snprintf(out, HUB_MAX_CHANNEL, "a%c.%s", json ? 'j' : 's', hk);
}

void hub_chan_user(const char *hub, const char *user, int json, char *out)
{
    char hk[17], uk[33];
    hexhash("a", hub, NULL, 8, hk);
    hexhash("u", hub, user, 16, uk);
    snprintf(out, HUB_MAX_CHANNEL, "u%c.%s.%s", json ? 'j' : 's', hk, uk);
}

void hub_chan_conn(const char *conn_id, char *out)
{
    char ck[33];
    hexhash("c", conn_id, NULL, 16, ck);
    snprintf(out, HUB_MAX_CHANNEL, "c.%s", ck);
}
