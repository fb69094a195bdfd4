/* emoji.c: is a string one emoji, as a reaction takes it (docs/chat-features.md#reactions)?
 * Unicode decides, through ICU's RGI_Emoji property of strings: the emoji Unicode recommends
 * for general interchange, each one grapheme (single characters, skin-tone and ZWJ sequences,
 * flags, tag sequences). We add two rules of our own: no ASCII byte at all (no letters, digits,
 * spaces or markup; this also refuses the keycaps, whose first character is ASCII) and at most
 * EV_EMOJI_MAX_BYTES bytes. A lone character that is an emoji only with its emoji presentation
 * selector (U+2764 "❤" for "❤️") is stored with it, so both spellings are one kind. */
#include "events.h"

#include <string.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#define VS16_UTF8 "\xEF\xB8\x8F" /* U+FE0F VARIATION SELECTOR-16: emoji presentation */
#define VS16 0xFE0F

/* s (len bytes of valid UTF-8) as UTF-16 into u (cap units); its length, or -1. */
static int32_t to_utf16(const char *s, size_t len, UChar *u, int32_t cap)
{
    UErrorCode err = U_ZERO_ERROR;
    int32_t n = 0;
    u_strFromUTF8(u, cap, &n, s, (int32_t)len, &err);
    return U_SUCCESS(err) && n <= cap ? n : -1;
}

int ev_emoji_canonical(const char *in, char *out, size_t outlen)
{
    size_t len = strlen(in);
    if (len == 0 || len > EV_EMOJI_MAX_BYTES || !fn_utf8_valid(in, len)) return -1;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)in[i] < 0x80) return -1;
    /* 32 bytes of UTF-8 are at most 32 UTF-16 units; one more for the selector. */
    UChar u[EV_EMOJI_MAX_BYTES + 2];
    int32_t n = to_utf16(in, len, u, EV_EMOJI_MAX_BYTES);
    if (n <= 0) return -1;
    if (u_stringHasBinaryProperty(u, n, UCHAR_RGI_EMOJI)) {
        if (len + 1 > outlen) return -1;
        memcpy(out, in, len + 1);
        return 0;
    }
    /* One character with the Emoji property whose RGI form is it + U+FE0F. */
    UChar32 cp;
    int32_t i = 0;
    U16_NEXT(u, i, n, cp);
    if (i != n || !u_hasBinaryProperty(cp, UCHAR_EMOJI)) return -1;
    u[n] = VS16;
    if (!u_stringHasBinaryProperty(u, n + 1, UCHAR_RGI_EMOJI)) return -1;
    if (len + sizeof VS16_UTF8 > outlen || len + sizeof VS16_UTF8 - 1 > EV_EMOJI_MAX_BYTES)
        return -1;
    memcpy(out, in, len);
    memcpy(out + len, VS16_UTF8, sizeof VS16_UTF8);
    return 0;
}
