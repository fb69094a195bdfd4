/* files_policy.c: the files function's pure decisions (files_policy.h, docs/files.md): the type
 * allow-list, display names, Content-Disposition and the multipart bounds. No I/O. */
#include "files_policy.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "fn_text.h"

/* ---- types (docs/files.md#types) ---------------------------------------------------------- */

/* The allow-list, by libmagic's MIME type (its answer for the content, never the name or the
 * client's Content-Type). Text is served as text/plain whatever its dialect; markup (HTML, XML,
 * SVG) is on no list: a browser could run what it carries. */
static const char *const images[] = {"image/png", "image/jpeg", "image/gif", "image/webp"};
static const char *const documents[] = {
    "application/pdf",
    "application/zip",
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
};
static const char *const texts[] = {
    "text/plain",           "text/csv",           "text/x-c",
    "text/x-c++",           "text/x-java",        "text/x-python",
    "text/x-script.python", "text/x-shellscript", "text/x-diff",
    "text/x-makefile",      "text/x-tex",         "text/x-asm",
    "text/x-ruby",          "text/x-perl",        "text/x-go",
    "text/x-rust",          "text/x-msdos-batch", "text/x-po",
    "text/x-fortran",       "text/x-pascal",
};
/* Charsets libmagic names that a browser knows under the same name. */
static const char *const charsets[] = {"us-ascii", "utf-8", "iso-8859-1", "utf-16le", "utf-16be"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int listed(const char *const *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], s, len) == 0) return (int)i + 1;
    return 0;
}

files_kind files_type_decide(const char *magic_mime, char *served, size_t served_len)
{
    if (!magic_mime || served_len == 0) return FILES_REFUSED;
    served[0] = '\0';
    size_t len = strcspn(magic_mime, "; ");
    int i;
    if ((i = listed(images, COUNT(images), magic_mime, len)) != 0) {
        snprintf(served, served_len, "%s", images[i - 1]);
        return FILES_IMAGE;
    }
    if ((i = listed(documents, COUNT(documents), magic_mime, len)) != 0) {
        snprintf(served, served_len, "%s", documents[i - 1]);
        return FILES_DOCUMENT;
    }
    if (!listed(texts, COUNT(texts), magic_mime, len)) return FILES_REFUSED;
    /* "text/plain; charset=utf-8": keep a charset a browser knows, else name none. */
    const char *cs = strstr(magic_mime, "charset=");
    size_t cslen = cs ? strcspn(cs + 8, "; ") : 0;
    if (cs && (i = listed(charsets, COUNT(charsets), cs + 8, cslen)) != 0)
        snprintf(served, served_len, "text/plain; charset=%s", charsets[i - 1]);
    else if (cs && cslen == 6 && strncasecmp(cs + 8, "binary", 6) == 0)
        return FILES_REFUSED; /* "text" that is binary: not what it claims */
    else
        snprintf(served, served_len, "text/plain");
    return FILES_DOCUMENT;
}

/* ---- names (docs/files.md#names) ---------------------------------------------------------- */

/* Characters a display name drops: controls, and the formatting characters that make a name
 * read differently from what it is (bidirectional overrides: "gpj.exe" shown as "exe.jpg";
 * zero-width and other invisible ones). */
static int dropped(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad || cp == 0x061c ||
           (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
           (cp >= 0xe0000 && cp <= 0xe007f);
}

/* Byte offset of the start of the last path component (after the last '/' or '\'). */
static size_t basename_at(const char *raw, size_t len)
{
    size_t at = 0;
    for (size_t i = 0; i < len; i++)
        if (raw[i] == '/' || raw[i] == '\\') at = i + 1;
    return at;
}

/* Byte offsets of the character boundaries of s (n characters); returns n. */
static size_t char_starts(const char *s, size_t len, size_t *starts, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < max;) {
        uint32_t cp;
        size_t k = fn_utf8_next((const unsigned char *)s + i, len - i, &cp);
        starts[n++] = i;
        i += k ? k : 1;
    }
    return n;
}

void files_name_sanitize(const char *raw, size_t raw_len, char *out, size_t out_len)
{
    if (out_len == 0) return;
    out[0] = '\0';
    if (raw_len > FILES_NAME_RAW_MAX) raw_len = FILES_NAME_RAW_MAX;
    size_t at = raw ? basename_at(raw, raw_len) : raw_len;
    /* Clean copy: valid UTF-8, the dropped characters gone, bad bytes as '_'. */
    char clean[FILES_NAME_RAW_MAX * 3 + 1];
    size_t o = 0;
    for (size_t i = at; i < raw_len;) {
        uint32_t cp;
        size_t k = fn_utf8_next((const unsigned char *)raw + i, raw_len - i, &cp);
        if (k == 0) {
            clean[o++] = '_';
            i++;
            continue;
        }
        if (!dropped(cp)) {
            memcpy(clean + o, raw + i, k);
            o += k;
        }
        i += k;
    }
    /* No leading dots or spaces (hidden files, names that look empty), no trailing spaces/dots. */
    size_t start = 0;
    while (start < o && (clean[start] == '.' || clean[start] == ' '))
        start++;
    while (o > start && (clean[o - 1] == ' ' || clean[o - 1] == '.'))
        o--;
    const char *s = clean + start;
    size_t len = o - start;
    if (len == 0) {
        snprintf(out, out_len, "file");
        return;
    }
    /* At most FILES_NAME_MAX characters: a longer name keeps its extension and loses the middle.
     */
    static const size_t cap = FILES_NAME_MAX;
    size_t starts[FILES_NAME_RAW_MAX + 1];
    size_t nchars = char_starts(s, len, starts, FILES_NAME_RAW_MAX);
    size_t keep = len; /* bytes of the result */
    char buf[FILES_NAME_RAW_MAX * 3 + 1];
    if (nchars > cap) {
        const char *dot = memrchr(s, '.', len);
        size_t ext = dot ? (size_t)(s + len - dot) : 0;
        size_t ext_chars = 0;
        for (size_t c = 0; c < nchars; c++)
            if (starts[c] >= len - ext) ext_chars++;
        if (ext == 0 || ext_chars > FILES_NAME_EXT_MAX) ext = 0, ext_chars = 0;
        size_t stem_end = starts[cap - ext_chars]; /* the first cap - ext_chars characters */
        memcpy(buf, s, stem_end);
        memcpy(buf + stem_end, s + len - ext, ext);
        keep = stem_end + ext;
        s = buf;
    }
    if (keep >= out_len) keep = 0; /* out too small: the caller's mistake, give the fallback */
    if (keep == 0) {
        snprintf(out, out_len, "file");
        return;
    }
    memcpy(out, s, keep);
    out[keep] = '\0';
}

/* ---- Content-Disposition (RFC 6266, RFC 8187) --------------------------------------------- */

static int attr_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           strchr("!#$&+-.^_`|~", c) != NULL;
}

int files_disposition(char *out, size_t out_len, int inline_, const char *name)
{
    size_t o = 0, n = strlen(name);
    int k = snprintf(out, out_len, "%s; filename=\"", inline_ ? "inline" : "attachment");
    if (k < 0 || (size_t)k >= out_len) return -1;
    o = (size_t)k;
    /* The ASCII fallback: one '_' for each character a quoted string cannot carry plainly. */
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)name[i];
        uint32_t cp;
        size_t step = fn_utf8_next((const unsigned char *)name + i, n - i, &cp);
        if (step == 0) step = 1;
        if (o + 1 >= out_len) return -1;
        out[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '%') ? (char)c : '_';
        i += step;
    }
    k = snprintf(out + o, out_len - o, "\"; filename*=UTF-8''");
    if (k < 0 || (size_t)k >= out_len - o) return -1;
    o += (size_t)k;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (o + 4 >= out_len) return -1;
        if (attr_char(c))
            out[o++] = (char)c;
        else
            o += (size_t)snprintf(out + o, out_len - o, "%%%02X", c);
    }
    out[o] = '\0';
    return 0;
}

/* ---- multipart bounds (docs/files.md#parsing) --------------------------------------------- */

/* The end of the header block that starts at p (the first empty line), or NULL when there is
 * none within FILES_MAX_PART_HEADER bytes; *nested set when the block names a multipart. */
static const char *header_end(const char *p, const char *end, int *nested)
{
    size_t room = (size_t)(end - p);
    if (room > FILES_MAX_PART_HEADER) room = FILES_MAX_PART_HEADER;
    const char *stop = NULL;
    for (size_t i = 0; i < room && !stop; i++) {
        if (p[i] != '\n') continue;
        if (i + 1 < room && p[i + 1] == '\n') stop = p + i;
        if (i + 2 < room && p[i + 1] == '\r' && p[i + 2] == '\n') stop = p + i;
    }
    if (!stop) return NULL;
    static const char word[] = "multipart";
    for (const char *q = p; q + sizeof word - 1 <= stop; q++)
        if (strncasecmp(q, word, sizeof word - 1) == 0) *nested = 1;
    return stop;
}

files_prescan files_multipart_prescan(const char *body, size_t len, const char *boundary)
{
    char delim[FILES_MAX_BOUNDARY + 3];
    size_t blen = strlen(boundary);
    if (blen == 0 || blen > FILES_MAX_BOUNDARY) return FILES_PRESCAN_NO_PARTS;
    snprintf(delim, sizeof delim, "--%s", boundary);
    size_t dlen = blen + 2;
    const char *p = body, *end = body + len;
    int parts = 0, closed = 0;
    while (p < end && (p = memmem(p, (size_t)(end - p), delim, dlen)) != NULL) {
        const char *after = p + dlen;
        int line_start = p == body || p[-1] == '\n';
        p = after;
        if (!line_start) {
            /* Not a delimiter for the parser, but counted: a body cannot hide parts this way. */
            if (++parts > FILES_MAX_PARTS + 1) return FILES_PRESCAN_TOO_MANY;
            continue;
        }
        if (end - after >= 2 && after[0] == '-' && after[1] == '-') {
            closed = 1;
            break; /* the epilogue after the close delimiter is ignored by the parser */
        }
        if (++parts > FILES_MAX_PARTS) return FILES_PRESCAN_TOO_MANY;
        int nested = 0;
        if (!header_end(after, end, &nested)) return FILES_PRESCAN_HEADER_TOO_BIG;
        if (nested) return FILES_PRESCAN_NESTED;
    }
    return parts > 0 && closed ? FILES_PRESCAN_OK : FILES_PRESCAN_NO_PARTS;
}

const char *files_prescan_reason(files_prescan rc)
{
    switch (rc) {
    case FILES_PRESCAN_OK:
        return "ok";
    case FILES_PRESCAN_NO_PARTS:
        return "no multipart parts (or no close delimiter) for the boundary";
    case FILES_PRESCAN_TOO_MANY:
        return "too many multipart parts";
    case FILES_PRESCAN_HEADER_TOO_BIG:
        return "a multipart part header is too large";
    case FILES_PRESCAN_NESTED:
        return "nested multipart parts are not accepted";
    }
    return "malformed multipart body";
}

int files_valid_id(const char *s)
{
    return s && strlen(s) == FILES_ID_LEN && strspn(s, "0123456789abcdef") == FILES_ID_LEN;
}
