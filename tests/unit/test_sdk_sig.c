/* test_sdk_sig.c: the ce-signature header (docs/protocols.md#headers-and-signature). */
#include "unit.h"
#include "wps_sig.h"

#include <stdlib.h>

#define KEY "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH"
#define SIG_CONN1 "sha256=8de7281e588e23b0a30a7180ffa240257b8176e983004c240c9f3f7a7233c993"

UNIT_TEST(sig_reproduces_protocol_vector)
{
    char out[WPS_SIG_LEN + 1];
    CHECK(wps_sig_make(KEY, "conn1", out) == 0);
    CHECK_STR(out, SIG_CONN1);
    CHECK(wps_sig_make(NULL, "conn1", out) == -1);
    CHECK(wps_sig_make(KEY, NULL, out) == -1);
}

UNIT_TEST(sig_check_accepts_any_listed_entry)
{
    CHECK(wps_sig_check(KEY, "conn1", SIG_CONN1));
    CHECK(wps_sig_check(KEY, "conn1",
                        "SHA256=8DE7281E588E23B0A30A7180FFA240257B8176E983004C240C9F3F"
                        "7A7233C993"));
    CHECK(wps_sig_check(KEY, "conn1", "sha256=0000,  " SIG_CONN1 "  "));
    CHECK(wps_sig_check(KEY, "conn1", SIG_CONN1 ",sha256=ffff"));
    CHECK(wps_sig_check(KEY, "conn1", "\t" SIG_CONN1 "\t,"));
}

UNIT_TEST(sig_check_rejects)
{
    CHECK(!wps_sig_check(KEY, "conn2", SIG_CONN1));
    CHECK(!wps_sig_check("other-key", "conn1", SIG_CONN1));
    CHECK(!wps_sig_check(KEY, "conn1", ""));
    CHECK(!wps_sig_check(KEY, "conn1", NULL));
    CHECK(!wps_sig_check(KEY, "conn1", ","));
    CHECK(!wps_sig_check(KEY, "conn1", SIG_CONN1 "0"));
    CHECK(!wps_sig_check(KEY, "conn1", SIG_CONN1 + 7)); /* hex without "sha256=" */
    CHECK(!wps_sig_check(KEY, "conn1",
                         "sha1=8de7281e588e23b0a30a7180ffa240257b8176e983004c240c9f3f7a7233c993"));
    CHECK(!wps_sig_check(KEY, "conn1",
                         "sha256=8de7281e588e23b0a30a7180ffa240257b8176e983004c240c9f3f7a7233c99"));
    /* A header over the limit is refused even if it holds the right entry. */
    size_t n = WPS_SIG_HEADER_MAX + 1;
    char *h = malloc(n + 1);
    memset(h, ' ', n);
    memcpy(h, SIG_CONN1, strlen(SIG_CONN1));
    h[n] = '\0';
    CHECK(!wps_sig_check(KEY, "conn1", h));
    h[n - 1] = '\0';
    CHECK(wps_sig_check(KEY, "conn1", h));
    free(h);
}

/* A token's signature is HMAC(key, header.payload): such an "id" must never verify (issue 11). */
UNIT_TEST(sig_never_covers_a_jwt_signing_input)
{
    char out[WPS_SIG_LEN + 1];
    CHECK(wps_sig_make(KEY, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", out) == -1);
    CHECK(wps_sig_make(KEY, ".", out) == -1);
    CHECK(wps_sig_make(KEY, "", out) == -1);
    /* the right HMAC of a dotted id (Python's hmac) is refused by the check */
    CHECK(!wps_sig_check(
        KEY, "a.b", "sha256=5a1adc105b7b24846a01d86cbdef6d26111bcec5f9903a0820f91eb6912e9f9b"));
    CHECK(wps_sig_make(KEY, "0123456789abcdef0123456789abcdef", out) == 0);
    CHECK(wps_sig_check(KEY, "0123456789abcdef0123456789abcdef", out));
}
