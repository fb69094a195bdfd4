/* files_content.c: what an upload's bytes are and its thumbnail (docs/files.md#types,
 * docs/files.md#thumbnails). The type comes from the content alone, with libmagic (the `file`
 * command's library); thumbnails come from libvips, with every loader blocked but the four image
 * types we accept, a pixel limit read from the header before any decoding (decompression bombs),
 * and one thread. Both libraries keep a per-process handle, opened on first use. */
#include "files.h"

#include <stdlib.h>
#include <string.h>
#include <magic.h>
#include <vips/vips.h>
#include "fn.h"

static magic_t cookie; /* per process: libmagic's loaded database */

static magic_t magic_ready(void)
{
    if (cookie) return cookie;
    magic_t m = magic_open(MAGIC_MIME_TYPE | MAGIC_MIME_ENCODING | MAGIC_ERROR);
    if (!m) {
        fn_log("magic_open failed");
        return NULL;
    }
    size_t bytes = FILES_MAGIC_BYTES;
    if (magic_load(m, NULL) != 0 || magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes) != 0) {
        fn_log("libmagic: %s", magic_error(m) ? magic_error(m) : "cannot load its database");
        magic_close(m);
        return NULL;
    }
    return cookie = m;
}

int files_detect(const unsigned char *data, size_t size, char *out, size_t out_len)
{
    magic_t m = magic_ready();
    const char *t = m ? magic_buffer(m, data, size) : NULL;
    if (!t) {
        if (m) fn_log("libmagic: %s", magic_error(m) ? magic_error(m) : "no answer");
        return -1;
    }
    snprintf(out, out_len, "%s", t);
    return 0;
}

/* libvips, once per process: no operation cache (each upload is seen once), one worker thread,
 * and only the loaders of the image types on the allow-list (files_policy.c). */
static const char *const loaders[] = {"VipsForeignLoadPngBuffer", "VipsForeignLoadJpegBuffer",
                                      "VipsForeignLoadNsgifBuffer", "VipsForeignLoadWebpBuffer"};

static int vips_ready(void)
{
    static int state; /* 0 not yet, 1 ready, -1 failed */
    if (state) return state > 0;
    if (VIPS_INIT("fn-files") != 0) {
        fn_log("vips_init: %s", vips_error_buffer());
        vips_error_clear();
        state = -1;
        return 0;
    }
    vips_cache_set_max(0);
    vips_concurrency_set(1);
    vips_block_untrusted_set(TRUE);
    vips_operation_block_set("VipsForeignLoad", TRUE);
    for (size_t i = 0; i < sizeof loaders / sizeof loaders[0]; i++)
        vips_operation_block_set(loaders[i], FALSE);
    state = 1;
    return 1;
}

int files_thumbnail(const unsigned char *data, size_t size, unsigned char **thumb,
                    size_t *thumb_len, int *width, int *height)
{
    *thumb = NULL;
    *thumb_len = 0;
    *width = *height = 0;
    if (!vips_ready()) return -1;
    int rc = -1;
    VipsImage *head = NULL, *small = NULL;
    void *buf = NULL;
    size_t len = 0;
    /* The header only (nothing is decoded yet): the pixel limit comes first. */
    head = vips_image_new_from_buffer(data, size, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!head) goto done;
    *width = vips_image_get_width(head);
    *height = vips_image_get_height(head);
    if ((double)*width * (double)*height > (double)FILES_THUMB_MAX_PIXELS) {
        fn_log("thumbnail: %dx%d is over %ld pixels", *width, *height, FILES_THUMB_MAX_PIXELS);
        goto done;
    }
    /* fail_on=error: a damaged image gets no thumbnail rather than one of half-decoded pixels */
    if (vips_thumbnail_buffer((void *)data, size, &small, FILES_THUMB_SIZE, "height",
                              FILES_THUMB_SIZE, "size", VIPS_SIZE_DOWN, "option_string",
                              "fail_on=error", NULL) != 0)
        goto done;
    /* the thumbnail is only made lazily: its pixels are computed by the save below */
    if (vips_webpsave_buffer(small, &buf, &len, "Q", 80, "strip", TRUE, NULL) != 0) goto done;
    if (len > FILES_THUMB_MAX_BYTES) {
        fn_log("thumbnail: %zu bytes is over %d", len, FILES_THUMB_MAX_BYTES);
        goto done;
    }
    *thumb = malloc(len);
    if (!*thumb) goto done;
    memcpy(*thumb, buf, len);
    *thumb_len = len;
    rc = 0;
done:
    if (rc && vips_error_buffer()[0]) fn_log("thumbnail: %.300s", vips_error_buffer());
    vips_error_clear();
    if (buf) g_free(buf);
    if (small) g_object_unref(small);
    if (head) g_object_unref(head);
    return rc;
}
