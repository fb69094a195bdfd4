/* fn_text.h: text helpers every program and library shares: strict UTF-8 (RFC 3629) and
 * comma-separated lists. No I/O, no other header of ours: the lowest layer (fn_text.c). */
#ifndef FN_TEXT_H
#define FN_TEXT_H
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point at s[0..len) (len > 0) into *cp; returns its length in bytes, or 0
 * when s does not start with a well-formed sequence: no overlong form, no surrogate
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence (RFC 3629). */
size_t fn_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);
/* 1 when s[0..len) is well-formed UTF-8 (as fn_utf8_next) without a NUL byte, else 0. */
int fn_utf8_valid(const char *s, size_t len);

/* The next item of a comma-separated list at *p: separators and spaces before it are skipped,
 * spaces after it trimmed. Returns its start with its length in *len and moves *p past it, or
 * NULL when the list has no more items. */
const char *fn_list_next(const char **p, size_t *len);
/* 1 when the list (NULL = empty) has item, compared case-insensitively when nocase. */
int fn_list_has(const char *list, const char *item, int nocase);

#endif
