/* files_multipart.c: the upload's multipart/form-data body, read with GMime
 * (docs/files.md#parsing).
 *
 * GMime is a MIME library (Debian libgmime-3.0-dev; mail clients parse untrusted mail with it):
 * multipart/form-data is MIME multipart (RFC 7578), so its parser reads our bodies, with the
 * RFC 2231 / RFC 2047 parameter decoding a filename may need. libmicrohttpd's post processor
 * was the other candidate; it only works on a connection of libmicrohttpd's own server. Before
 * GMime sees a body, files_multipart_prescan bounds what it could build (parts, header sizes, no
 * nesting); the body itself is bounded by function.json's maxBody. */
#include "files.h"

#include <stdlib.h>
#include <string.h>
#include <gmime/gmime.h>

/* RFC 2046 bchars (a boundary made of them needs no escaping inside a quoted parameter). */
static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "'()+_,-./:=? ";

static void gmime_ready(void)
{
    static int ready; /* per process: the library's own tables */
    if (!ready) {
        g_mime_init();
        ready = 1;
    }
}

void files_upload_free(files_upload *up)
{
    free(up->data);
    up->data = NULL;
    up->size = 0;
}

#define FAIL(status, ...)                                                                          \
    do {                                                                                           \
        snprintf(err, err_len, __VA_ARGS__);                                                       \
        rc = (status);                                                                             \
        goto done;                                                                                 \
    } while (0)

/* The decoded bytes of a leaf part into up (413 when over FILES_MAX_BYTES). */
static int part_bytes(GMimePart *part, files_upload *up, char *err, size_t err_len)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    int rc = 0;
    GMimeStream *out = g_mime_stream_mem_new();
    if (w && g_mime_data_wrapper_write_to_stream(w, out) < 0) FAIL(400, "unreadable file part");
    GByteArray *a = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    if (a->len > FILES_MAX_BYTES) FAIL(413, "the file is larger than %d bytes", FILES_MAX_BYTES);
    up->data = malloc(a->len ? a->len : 1);
    if (!up->data) FAIL(500, "out of memory");
    if (a->len) memcpy(up->data, a->data, a->len);
    up->size = a->len;
done:
    g_object_unref(out);
    return rc;
}

/* The form's parts: exactly FILES_PER_MESSAGE part named "file"; others are ignored. */
static int read_parts(GMimeMultipart *form, files_upload *up, char *err, size_t err_len)
{
    int rc = 0, files = 0;
    int n = g_mime_multipart_get_count(form);
    for (int i = 0; i < n; i++) {
        GMimeObject *part = g_mime_multipart_get_part(form, i);
        if (!GMIME_IS_PART(part)) FAIL(400, "nested multipart parts are not accepted");
        GMimeContentDisposition *d = g_mime_object_get_content_disposition(part);
        const char *disp = d ? g_mime_content_disposition_get_disposition(d) : NULL;
        const char *field = d ? g_mime_content_disposition_get_parameter(d, "name") : NULL;
        if (!disp || g_ascii_strcasecmp(disp, "form-data") != 0 || !field)
            FAIL(400, "part %d has no Content-Disposition: form-data; name=...", i + 1);
        if (strcmp(field, "file") != 0) continue;
        if (++files > FILES_PER_MESSAGE)
            FAIL(400, "one file per upload (%d at most)", FILES_PER_MESSAGE);
        const char *fname = g_mime_content_disposition_get_parameter(d, "filename");
        size_t flen = fname ? strlen(fname) : 0;
        if (flen > FILES_NAME_RAW_MAX)
            FAIL(400, "the filename is longer than %d bytes", FILES_NAME_RAW_MAX);
        files_name_sanitize(fname ? fname : "", flen, up->name, sizeof up->name);
        if ((rc = part_bytes(GMIME_PART(part), up, err, err_len)) != 0) goto done;
    }
    if (files == 0) FAIL(400, "no part named \"file\"");
done:
    return rc;
}

int files_multipart_read(const char *content_type, const char *body, size_t len, files_upload *up,
                         char *err, size_t err_len)
{
    memset(up, 0, sizeof *up);
    int rc = 0;
    GMimeContentType *ct = NULL;
    GMimeStream *cat = NULL;
    GMimeParser *parser = NULL;
    GMimeObject *top = NULL;
    if (!content_type || !*content_type) FAIL(415, "Content-Type must be multipart/form-data");
    if (strlen(content_type) > FILES_MAX_CONTENT_TYPE || strpbrk(content_type, "\r\n"))
        FAIL(400, "Content-Type header too long or malformed");
    gmime_ready();
    ct = g_mime_content_type_parse(NULL, content_type);
    if (!ct || !g_mime_content_type_is_type(ct, "multipart", "form-data"))
        FAIL(415, "Content-Type must be multipart/form-data");
    const char *boundary = g_mime_content_type_get_parameter(ct, "boundary");
    size_t blen = boundary ? strlen(boundary) : 0;
    if (blen == 0 || blen > FILES_MAX_BOUNDARY || strspn(boundary, bchars) != blen ||
        boundary[blen - 1] == ' ')
        FAIL(400, "multipart/form-data needs a boundary of 1..%d RFC 2046 characters",
             FILES_MAX_BOUNDARY);
    files_prescan pre = files_multipart_prescan(body, len, boundary);
    if (pre != FILES_PRESCAN_OK) FAIL(400, "%s", files_prescan_reason(pre));

    /* The parser reads a MIME entity: our header line, then the body as it came. */
    char head[FILES_MAX_BOUNDARY + 64];
    int hn = snprintf(head, sizeof head,
                      "Content-Type: multipart/form-data; boundary=\"%s\"\r\n\r\n", boundary);
    GMimeStream *h = g_mime_stream_mem_new_with_buffer(head, (size_t)hn);
    GMimeStream *b = g_mime_stream_mem_new_with_buffer(body, len);
    cat = g_mime_stream_cat_new();
    g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), h);
    g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), b);
    g_object_unref(h);
    g_object_unref(b);
    parser = g_mime_parser_new_with_stream(cat);
    top = g_mime_parser_construct_part(parser, NULL);
    if (!top || !GMIME_IS_MULTIPART(top)) FAIL(400, "malformed multipart body");
    rc = read_parts(GMIME_MULTIPART(top), up, err, err_len);
done:
    if (rc) files_upload_free(up);
    if (top) g_object_unref(top);
    if (parser) g_object_unref(parser);
    if (cat) g_object_unref(cat);
    if (ct) g_object_unref(ct);
    return rc;
}
