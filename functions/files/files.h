/* files.h: what the files function's sources share (docs/files.md): the upload's multipart
 * reading (files_multipart.c, GMime), the content checks (files_content.c, libmagic and libvips)
 * and the limits (files_policy.h). */
#ifndef CHATR_FILES_H
#define CHATR_FILES_H

#include <stddef.h>
#include "files_policy.h"

/* The one file of an upload: its bytes (malloc'd, owned) and its sanitised display name. */
typedef struct files_upload {
    unsigned char *data;
    size_t size;
    char name[FILES_NAME_MAX * 4 + 1];
} files_upload;

/* Reads the `file` part of a multipart/form-data body (content_type: the request's header).
 * Returns 0 with up filled, or an HTTP status (400 malformed, 413 too large, 415 not
 * multipart/form-data, 500) with a reason in err. */
int files_multipart_read(const char *content_type, const char *body, size_t len, files_upload *up,
                         char *err, size_t err_len);
void files_upload_free(files_upload *up);

/* libmagic's MIME answer for the bytes ("image/png", "text/plain; charset=utf-8") into out;
 * -1 when libmagic failed (logged). */
int files_detect(const unsigned char *data, size_t size, char *out, size_t out_len);

/* A thumbnail of an image (FILES_THUMB_SIZE at most on its longest side, WebP), made with
 * libvips from the allowed image loaders only; *thumb malloc'd. The original's size goes to
 * *width, *height (0 when unknown). Returns 0, or -1 (logged) when there is none: too many
 * pixels, undecodable, or a failed save. */
int files_thumbnail(const unsigned char *data, size_t size, unsigned char **thumb,
                    size_t *thumb_len, int *width, int *height);

#endif
