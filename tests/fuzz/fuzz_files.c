/* fuzz_files.c: the files function's upload parsing (functions/files, docs/files.md#parsing):
 * the Content-Type header and multipart body through files_multipart_read (the prescan, then
 * GMime), and the pure decisions on what comes out (display name, Content-Disposition, the type
 * allow-list on a fuzzed libmagic answer).
 *
 * Input: "<Content-Type>\n<body>".
 * Properties: an accepted upload has at most FILES_MAX_BYTES bytes and a display name of 1 to
 * FILES_NAME_MAX characters of valid UTF-8 without path separators or control characters; its
 * Content-Disposition is built within FILES_DISPOSITION_MAX without CR or LF; a refusal is a
 * 4xx with a reason; an allowed type is never HTML or SVG. */
#include "fuzz_util.h"
#include "../../functions/files/files.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_env();
    return 0;
}

static void check_name(const char *name)
{
    size_t n = strlen(name), chars = 0;
    if (n == 0 || !fn_utf8_valid(name, n) || strpbrk(name, "/\\")) abort();
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) abort();
        if ((*p & 0xC0) != 0x80) chars++;
    }
    if (chars > FILES_NAME_MAX) abort();
    char d[FILES_DISPOSITION_MAX];
    if (files_disposition(d, sizeof d, 0, name) != 0 || strpbrk(d, "\r\n")) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fields ff;
    fuzz_split(&ff, data, size, 2);
    files_upload up;
    char err[200] = "";
    int st = files_multipart_read(ff.f[0], ff.f[1], ff.len[1], &up, err, sizeof err);
    if (st == 0) {
        if (up.size > FILES_MAX_BYTES || (up.size && !up.data)) abort();
        check_name(up.name);
        files_upload_free(&up);
    } else if (st < 400 || st > 500 || !err[0]) {
        abort();
    }
    /* the same bytes as a client's filename, and as a libmagic answer */
    char name[FILES_NAME_MAX * 4 + 1];
    files_name_sanitize(ff.f[1], ff.len[1], name, sizeof name);
    check_name(name);
    char served[FILES_TYPE_MAX + 1];
    static const char *const markup[] = {"text/html",       "image/svg",         "text/xml",
                                         "application/xml", "application/xhtml", "text/javascript"};
    if (files_type_decide(ff.f[0], served, sizeof served) != FILES_REFUSED)
        for (size_t i = 0; i < sizeof markup / sizeof markup[0]; i++)
            if (strncmp(served, markup[i], strlen(markup[i])) == 0) abort();
    fuzz_fields_free(&ff);
    return 0;
}
