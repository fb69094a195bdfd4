/* test_files.c: the files function's pure decisions (functions/files/files_policy.c,
 * docs/files.md): the type allow-list, display names, Content-Disposition and the bounds checked
 * on a multipart body before GMime parses it. */
#include "unit.h"
#include "../../functions/files/files_policy.h"

#include <stdlib.h>

UNIT_TEST(files_type_allow_list_decides_on_libmagic_answer)
{
    char t[FILES_TYPE_MAX + 1];
    CHECK(files_type_decide("image/png; charset=binary", t, sizeof t) == FILES_IMAGE);
    CHECK_STR(t, "image/png");
    CHECK(files_type_decide("image/jpeg", t, sizeof t) == FILES_IMAGE);
    CHECK(files_type_decide("image/gif; charset=binary", t, sizeof t) == FILES_IMAGE);
    CHECK(files_type_decide("image/webp; charset=binary", t, sizeof t) == FILES_IMAGE);
    CHECK(files_type_decide("application/pdf; charset=binary", t, sizeof t) == FILES_DOCUMENT);
    CHECK_STR(t, "application/pdf");
    CHECK(files_type_decide("application/zip; charset=binary", t, sizeof t) == FILES_DOCUMENT);
    CHECK(files_type_decide("application/vnd.openxmlformats-officedocument.wordprocessingml."
                            "document; charset=binary",
                            t, sizeof t) == FILES_DOCUMENT);
    /* text of any listed dialect is served as text/plain, with a charset a browser knows */
    CHECK(files_type_decide("text/plain; charset=utf-8", t, sizeof t) == FILES_DOCUMENT);
    CHECK_STR(t, "text/plain; charset=utf-8");
    CHECK(files_type_decide("text/x-c; charset=us-ascii", t, sizeof t) == FILES_DOCUMENT);
    CHECK_STR(t, "text/plain; charset=us-ascii");
    CHECK(files_type_decide("text/plain; charset=unknown-8bit", t, sizeof t) == FILES_DOCUMENT);
    CHECK_STR(t, "text/plain");
    CHECK(files_type_decide("text/plain; charset=binary", t, sizeof t) == FILES_REFUSED);
}

UNIT_TEST(files_type_refuses_markup_and_unlisted_types)
{
    const char *refused[] = {"text/html; charset=us-ascii",
                             "image/svg+xml; charset=us-ascii",
                             "text/xml; charset=utf-8",
                             "application/xml",
                             "application/xhtml+xml",
                             "text/javascript",
                             "application/x-executable; charset=binary",
                             "application/octet-stream; charset=binary",
                             "application/x-empty; charset=binary",
                             "image/png-but-not",
                             "image/pn",
                             "IMAGE/SVG+XML",
                             "",
                             "text/plain-html"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char t[FILES_TYPE_MAX + 1] = "unchanged";
        if (files_type_decide(refused[i], t, sizeof t) != FILES_REFUSED) {
            fprintf(stderr, "  type \"%s\"\n", refused[i]);
            CHECK(!"refused expected");
        }
    }
    char t[8];
    CHECK(files_type_decide(NULL, t, sizeof t) == FILES_REFUSED);
}

static const char *clean(const char *raw)
{
    static char out[FILES_NAME_MAX * 4 + 1];
    files_name_sanitize(raw, strlen(raw), out, sizeof out);
    return out;
}

UNIT_TEST(files_name_keeps_the_last_component_without_tricks)
{
    CHECK_STR(clean("photo.jpg"), "photo.jpg");
    CHECK_STR(clean("../../etc/passwd"), "passwd");
    CHECK_STR(clean("C:\\Users\\me\\report.pdf"), "report.pdf");
    CHECK_STR(clean("dir/"), "file");
    CHECK_STR(clean(""), "file");
    CHECK_STR(clean("..."), "file");
    CHECK_STR(clean("  .bashrc "), "bashrc");
    CHECK_STR(clean("a\r\nb\tc\x7f.txt"), "abc.txt");
    CHECK_STR(clean("evil\xe2\x80\xae"
                    "gpj.exe"),
              "evilgpj.exe");                                       /* U+202E */
    CHECK_STR(clean("zero\xe2\x80\x8bwidth.txt"), "zerowidth.txt"); /* U+200B */
    CHECK_STR(clean("bom\xef\xbb\xbf.txt"), "bom.txt");             /* U+FEFF */
    CHECK_STR(clean("caf\xc3\xa9 \xe2\x98\x95.txt"), "caf\xc3\xa9 \xe2\x98\x95.txt");
    CHECK_STR(clean("bad\xff\xc3.txt"), "bad__.txt");           /* invalid UTF-8 bytes */
    CHECK_STR(clean("over\xc0\xaflong.txt"), "over__long.txt"); /* an overlong '/' */
    CHECK_STR(clean("quote\"semi;.txt"), "quote\"semi;.txt");   /* shown as text: kept */
}

UNIT_TEST(files_name_is_cut_to_the_limit_keeping_its_extension)
{
    char raw[600], want[FILES_NAME_MAX + 1];
    memset(raw, 'a', 300);
    memcpy(raw + 300, ".docx", 6);
    memset(want, 'a', FILES_NAME_MAX - 5);
    memcpy(want + FILES_NAME_MAX - 5, ".docx", 6);
    CHECK_STR(clean(raw), want);
    /* a multi-byte name is cut on a character boundary: 250 x U+00E9 (2 bytes each) */
    char wide[501];
    for (int i = 0; i < 250; i++)
        memcpy(wide + 2 * i, "\xc3\xa9", 2);
    wide[500] = '\0';
    const char *c = clean(wide);
    CHECK(strlen(c) == 2 * FILES_NAME_MAX);
    /* an "extension" longer than FILES_NAME_EXT_MAX is not one: the end is cut */
    memset(raw, 'b', 300);
    raw[100] = '.';
    raw[300] = '\0';
    c = clean(raw);
    CHECK(strlen(c) == FILES_NAME_MAX && c[100] == '.');
    /* the raw name is read up to FILES_NAME_RAW_MAX bytes */
    char *huge = malloc(100000);
    memset(huge, 'x', 99999);
    huge[99999] = '\0';
    CHECK(strlen(clean(huge)) == FILES_NAME_MAX);
    free(huge);
}

UNIT_TEST(files_disposition_has_ascii_fallback_and_rfc8187_name)
{
    char d[FILES_DISPOSITION_MAX];
    CHECK(files_disposition(d, sizeof d, 1, "cat.png") == 0);
    CHECK_STR(d, "inline; filename=\"cat.png\"; filename*=UTF-8''cat.png");
    CHECK(files_disposition(d, sizeof d, 0, "caf\xc3\xa9 \"1\"%\\;.txt") == 0);
    CHECK_STR(d, "attachment; filename=\"caf_ _1___;.txt\"; "
                 "filename*=UTF-8''caf%C3%A9%20%221%22%25%5C%3B.txt");
    /* the longest name, all four-byte characters, fits the header */
    char name[FILES_NAME_MAX * 4 + 1];
    for (int i = 0; i < FILES_NAME_MAX; i++)
        memcpy(name + 4 * i, "\xf0\x9f\x98\x80", 4);
    name[FILES_NAME_MAX * 4] = '\0';
    CHECK(files_disposition(d, sizeof d, 0, name) == 0);
    CHECK(strlen(d) < 4000); /* under the runtime's FN_MAX_HEADER_OUT_LEN */
    char small[20];
    CHECK(files_disposition(small, sizeof small, 0, "a-rather-long-name.txt") == -1);
}

static files_prescan scan(const char *body, const char *boundary)
{
    return files_multipart_prescan(body, strlen(body), boundary);
}

UNIT_TEST(files_prescan_accepts_ordinary_forms)
{
    CHECK(scan("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"
               "hi\r\n--b--\r\n",
               "b") == FILES_PRESCAN_OK);
    CHECK(scan("preamble\r\n--b\r\nX: 1\r\n\r\nx\r\n--b\r\nY: 2\r\n\r\ny\r\n--b--", "b") ==
          FILES_PRESCAN_OK);
    CHECK(scan("--b\n\nno headers, LF only\n--b--\n", "b") == FILES_PRESCAN_OK);
    /* content mentioning "multipart" is content, not a header */
    CHECK(scan("--b\r\nX: 1\r\n\r\nmultipart/mixed\r\n--b--", "b") == FILES_PRESCAN_OK);
    /* after the close delimiter: the epilogue, ignored */
    CHECK(scan("--b\r\n\r\nx\r\n--b--\r\n--b\r\n--b\r\n--b\r\n--b\r\n--b\r\n", "b") ==
          FILES_PRESCAN_OK);
}

UNIT_TEST(files_prescan_refuses_what_would_make_the_parser_work_hard)
{
    CHECK(scan("", "b") == FILES_PRESCAN_NO_PARTS);
    CHECK(scan("--b\r\n\r\nno close", "b") == FILES_PRESCAN_NO_PARTS);
    CHECK(scan("--b--", "b") == FILES_PRESCAN_NO_PARTS);
    CHECK(scan("--other\r\n\r\nx\r\n--other--", "b") == FILES_PRESCAN_NO_PARTS);
    CHECK(scan("--b\r\n\r\n", "") == FILES_PRESCAN_NO_PARTS);
    char many[200] = "";
    for (int i = 0; i < FILES_MAX_PARTS + 1; i++)
        strcat(many, "--b\r\n\r\nx\r\n");
    strcat(many, "--b--");
    CHECK(scan(many, "b") == FILES_PRESCAN_TOO_MANY);
    /* occurrences inside content count as well */
    CHECK(scan("--b\r\n\r\nx--bx--bx--bx--bx--bx--b\r\n--b--", "b") == FILES_PRESCAN_TOO_MANY);
    char big[FILES_MAX_PART_HEADER + 100] = "--b\r\nX: ";
    memset(big + 8, 'p', FILES_MAX_PART_HEADER);
    strcpy(big + 8 + FILES_MAX_PART_HEADER, "\r\n\r\nx\r\n--b--");
    CHECK(scan(big, "b") == FILES_PRESCAN_HEADER_TOO_BIG);
    CHECK(scan("--b\r\nContent-Type: MultiPart/mixed; boundary=c\r\n\r\n--c\r\n\r\n--c--\r\n--b--",
               "b") == FILES_PRESCAN_NESTED);
    CHECK(scan("--b\r\nX: 1\r\nno end of headers", "b") == FILES_PRESCAN_HEADER_TOO_BIG);
    char long_boundary[FILES_MAX_BOUNDARY + 2];
    memset(long_boundary, 'q', sizeof long_boundary - 1);
    long_boundary[sizeof long_boundary - 1] = '\0';
    CHECK(scan("--q\r\n\r\nx\r\n--q--", long_boundary) == FILES_PRESCAN_NO_PARTS);
    CHECK(strlen(files_prescan_reason(FILES_PRESCAN_NESTED)) > 0);
}

UNIT_TEST(files_ids_are_32_lowercase_hex_digits)
{
    CHECK(files_valid_id("0123456789abcdef0123456789abcdef"));
    CHECK(!files_valid_id("0123456789ABCDEF0123456789abcdef"));
    CHECK(!files_valid_id("0123456789abcdef0123456789abcde"));
    CHECK(!files_valid_id("0123456789abcdef0123456789abcdef0"));
    CHECK(!files_valid_id("../../../../../../../../etc/pass"));
    CHECK(!files_valid_id(""));
    CHECK(!files_valid_id(NULL));
}
