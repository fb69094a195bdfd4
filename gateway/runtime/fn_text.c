/* fn_text.c: strict UTF-8 and comma-separated lists (fn_text.h), unit tested in tests/unit. */
#include "fn_text.h"

#include <string.h>
#include <strings.h>

size_t fn_utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, v = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, v = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, v = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n > len) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return n;
}

int fn_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = fn_utf8_next(p + i, len - i, &cp);
        if (n == 0 || cp == 0) return 0;
        i += n;
    }
    return 1;
}

const char *fn_list_next(const char **p, size_t *len)
{
    const char *s = *p;
    if (!s) return NULL;
    while (*s == ' ' || *s == ',')
        s++;
    if (!*s) {
        *p = s;
        return NULL;
    }
    size_t n = strcspn(s, ","), m = n;
    while (m && s[m - 1] == ' ')
        m--;
    *p = s + n;
    *len = m;
    return s;
}

int fn_list_has(const char *list, const char *item, int nocase)
{
    size_t n = strlen(item), len;
    for (const char *it; (it = fn_list_next(&list, &len)) != NULL;)
        if (len == n && (nocase ? strncasecmp(it, item, n) : strncmp(it, item, n)) == 0) return 1;
    return 0;
}
