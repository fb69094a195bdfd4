/* test_text.c: the runtime's shared text helpers (gateway/runtime/fn_text.c): strict UTF-8 and
 * comma-separated lists. */
#include "fn_text.h"
#include "unit.h"

#define VALID(lit) fn_utf8_valid(lit, sizeof lit - 1)

UNIT_TEST(utf8_accepts_well_formed_text_up_to_u10ffff)
{
    CHECK(VALID(""));
    CHECK(VALID("plain ascii"));
    CHECK(VALID("\xc2\x80"));                /* U+0080, the first two-byte form */
    CHECK(VALID("Zo\xc3\xab \xe6\x9d\x8e")); /* letters */
    CHECK(VALID("\xef\xbf\xbf"));            /* U+FFFF */
    CHECK(VALID("\xed\x9f\xbf"));            /* U+D7FF, just below the surrogates */
    CHECK(VALID("\xee\x80\x80"));            /* U+E000, just above them */
    CHECK(VALID("\xf0\x9f\x98\x80"));        /* an emoji */
    CHECK(VALID("\xf4\x8f\xbf\xbf"));        /* U+10FFFF, the last code point */
}

UNIT_TEST(utf8_refuses_overlong_forms)
{
    CHECK(!VALID("\xc0\xaf"));         /* '/' in two bytes */
    CHECK(!VALID("\xc1\xbf"));         /* U+007F in two bytes */
    CHECK(!VALID("\xe0\x80\xaf"));     /* '/' in three bytes */
    CHECK(!VALID("\xe0\x9f\xbf"));     /* U+07FF in three bytes */
    CHECK(!VALID("\xf0\x80\x80\xaf")); /* '/' in four bytes */
    CHECK(!VALID("\xf0\x8f\xbf\xbf")); /* U+FFFF in four bytes */
    CHECK(!VALID("a\xc0\x80z"));       /* NUL in two bytes (modified UTF-8) */
}

UNIT_TEST(utf8_refuses_surrogates_and_beyond_u10ffff)
{
    CHECK(!VALID("\xed\xa0\x80"));             /* U+D800 */
    CHECK(!VALID("\xed\xbf\xbf"));             /* U+DFFF */
    CHECK(!VALID("\xed\xa0\xbd\xed\xb8\x80")); /* a surrogate pair in CESU-8 */
    CHECK(!VALID("\xf4\x90\x80\x80"));         /* U+110000 */
    CHECK(!VALID("\xf5\x80\x80\x80"));
    CHECK(!VALID("\xf8\x88\x80\x80\x80")); /* five-byte form */
    CHECK(!VALID("\xff"));
}

UNIT_TEST(utf8_refuses_truncated_stray_and_nul)
{
    CHECK(!VALID("\x80")); /* a continuation byte alone */
    CHECK(!VALID("\xc3")); /* cut after the lead byte */
    CHECK(!VALID("\xe6\x9d"));
    CHECK(!VALID("\xf0\x9f\x98"));
    CHECK(!VALID("\xc3\x28"));        /* lead byte then ASCII */
    CHECK(!fn_utf8_valid("a\0b", 3)); /* NUL: no text we forward as a string */
    /* the length bounds the scan: a sequence cut by len is refused even if bytes follow */
    CHECK(!fn_utf8_valid("\xc3\xab", 1));
    uint32_t cp = 0;
    CHECK(fn_utf8_next((const unsigned char *)"\xe6\x9d\x8e", 3, &cp) == 3 && cp == 0x674e);
    CHECK(fn_utf8_next((const unsigned char *)"\xe6\x9d\x8e", 2, &cp) == 0);
}

UNIT_TEST(list_items_are_trimmed_and_matched)
{
    const char *l = " GET ,, POST,DELETE ", *it;
    size_t n;
    CHECK((it = fn_list_next(&l, &n)) != NULL && n == 3 && strncmp(it, "GET", 3) == 0);
    CHECK((it = fn_list_next(&l, &n)) != NULL && n == 4 && strncmp(it, "POST", 4) == 0);
    CHECK((it = fn_list_next(&l, &n)) != NULL && n == 6 && strncmp(it, "DELETE", 6) == 0);
    CHECK(fn_list_next(&l, &n) == NULL);
    CHECK(fn_list_next(&l, &n) == NULL);
    const char *none = NULL;
    CHECK(fn_list_next(&none, &n) == NULL);

    CHECK(fn_list_has("a, b ,c", "b", 0));
    CHECK(fn_list_has("a,B", "b", 1));
    CHECK(!fn_list_has("a,B", "b", 0)); /* subprotocols compare exactly */
    CHECK(!fn_list_has("ab,c", "a", 1));
    CHECK(!fn_list_has("a", "ab", 1));
    CHECK(!fn_list_has(NULL, "a", 1));
    CHECK(!fn_list_has("", "a", 1));
    CHECK(fn_list_has("*", "*", 0));
}
