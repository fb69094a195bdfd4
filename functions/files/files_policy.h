/* files_policy.h: the limits of the files function and its pure decisions (no I/O, unit tested
 * in tests/unit/test_files.c): which detected types are accepted and how they are served, the
 * display name made from a client's filename, the Content-Disposition header, and the bounds
 * checked on a multipart body before the MIME parser sees it (docs/files.md). */
#ifndef CHATR_FILES_POLICY_H
#define CHATR_FILES_POLICY_H

#include <stddef.h>

/* Sizes (docs/files.md#limits). function.json's maxBody must equal FILES_MAX_BODY (nginx refuses
 * larger bodies before the function runs; tests/api/test_files.py checks that they agree). */
#define FILES_MAX_BYTES (10 * 1024 * 1024)   /* one file (schema/014_files.sql too) */
#define FILES_MULTIPART_OVERHEAD (64 * 1024) /* delimiters, part headers, other fields */
#define FILES_MAX_BODY (FILES_MAX_BYTES + FILES_MULTIPART_OVERHEAD) /* 10551296 */
#define FILES_QUOTA_BYTES (200LL * 1024 * 1024) /* per user, the sum over every chat */
#define FILES_PER_MESSAGE 1                     /* one `file` part per upload and message */
#define FILES_MAX_PARTS 4                       /* parts of one multipart body */
#define FILES_MAX_PART_HEADER 2048              /* bytes of one part's header block */
#define FILES_MAX_BOUNDARY 70                   /* RFC 2046 */
#define FILES_MAX_CONTENT_TYPE 512              /* the request's Content-Type header */
#define FILES_NAME_RAW_MAX 1024                 /* bytes of the filename as sent */
#define FILES_NAME_MAX 200                      /* characters of the display name */
#define FILES_NAME_EXT_MAX 16                   /* an extension kept when a name is cut */
#define FILES_ID_LEN 32                         /* hex digits of a file id (128 bits) */
#define FILES_TYPE_MAX 100                      /* a served Content-Type */
#define FILES_DISPOSITION_MAX 2700 /* the header for FILES_NAME_MAX 4-byte characters: 2643 */
/* Thumbnails (docs/files.md#thumbnails). */
#define FILES_THUMB_SIZE 320                       /* longest side, pixels */
#define FILES_THUMB_MAX_PIXELS (40L * 1000 * 1000) /* larger images get no thumbnail */
#define FILES_THUMB_MAX_BYTES (512 * 1024)         /* a bigger thumbnail is not kept */
#define FILES_MAGIC_BYTES (1024 * 1024)            /* what libmagic may look at */

/* What a detected type becomes. */
typedef enum files_kind {
    FILES_REFUSED = 0, /* not on the allow-list (415) */
    FILES_IMAGE,       /* served inline, with a thumbnail */
    FILES_DOCUMENT,    /* served as an attachment */
} files_kind;

/* Decides on libmagic's MIME answer ("image/png", "text/plain; charset=utf-8", ...). On an
 * allowed type, served gets the Content-Type the file is served with (at most FILES_TYPE_MAX
 * bytes): never text/html, never image/svg+xml, never anything a browser would run. */
files_kind files_type_decide(const char *magic_mime, char *served, size_t served_len);

/* The display name made from a client's filename (raw_len bytes, may hold anything): the last
 * path component, valid UTF-8 (bad bytes become '_'), no control, bidirectional or invisible
 * formatting characters, no leading dots or surrounding spaces, at most FILES_NAME_MAX characters
 * (a long name keeps its extension); "file" when nothing is left. out needs FILES_NAME_MAX * 4 + 1
 * bytes. */
void files_name_sanitize(const char *raw, size_t raw_len, char *out, size_t out_len);

/* Content-Disposition for a sanitised name (RFC 6266): `inline` or `attachment`, an ASCII
 * filename= fallback and filename*=UTF-8''<percent-encoded>. Returns 0, or -1 if out is short. */
int files_disposition(char *out, size_t out_len, int inline_, const char *name);

/* Bounds on a multipart body, checked before the MIME parser runs, so that no body can make it
 * build many parts or deep trees: at most FILES_MAX_PARTS delimiters (any occurrence of
 * "--boundary" counts), each part's header block ends within FILES_MAX_PART_HEADER bytes and
 * names no nested multipart, and the close delimiter is there. */
typedef enum files_prescan {
    FILES_PRESCAN_OK = 0,
    FILES_PRESCAN_NO_PARTS, /* no delimiter, or no close delimiter */
    FILES_PRESCAN_TOO_MANY, /* more than FILES_MAX_PARTS parts */
    FILES_PRESCAN_HEADER_TOO_BIG /* a header block without its end in FILES_MAX_PART_HEADER */,
    FILES_PRESCAN_NESTED, /* a part that is itself a multipart */
} files_prescan;
files_prescan files_multipart_prescan(const char *body, size_t len, const char *boundary);
const char *files_prescan_reason(files_prescan rc);

/* 1 when s is a well-formed file id (FILES_ID_LEN lowercase hex digits). */
int files_valid_id(const char *s);

#endif
