/* fuzz_moderation.c: the hub's word filter (gateway/moderation): the tokeniser and normaliser
 * (UTF-8 decoding, look-alikes, ambiguous 1 ! |, repeated letters, edge symbols), masking in
 * place, the JSON walk, and the word list loader.
 *
 * Input: one flags byte, then the text. Flags: bit 0: the text starts with a word list of its
 * own, up to the first NUL byte (loaded from a memfd through mod_load); bits 1-2: the size of
 * the `first` buffer (none, 1, 8, 65 bytes). Without bit 0 the default list is used
 * (gateway/moderation/words.txt).
 * Properties: scanning without mask leaves the text unchanged; masking finds the same number
 * of words, keeps the length, turns bytes into '*' only, and keeps valid UTF-8 valid; `first`
 * is a NUL-terminated string inside its buffer. */
#include "fuzz_util.h"
#include "fn.h"
#include "moderation.h"

#include <sys/mman.h>
#include <unistd.h>
#include <json-c/json.h>
#include <string.h>
#include <stdint.h>

static mod_filter *words; /* the default list, loaded once */
static int list_fd = -1;  /* memfd holding a fuzzed word list */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[256];
    words = mod_load(FUZZ_ROOT "/gateway/moderation/words.txt", err, sizeof err);
    if (!words) {
        fprintf(stderr, "fuzz_moderation: %s\n", err);
        abort();
    }
    list_fd = memfd_create("fuzz-words", 0);
    if (list_fd < 0) abort();
    return 0;
}

static mod_filter *load_list(const uint8_t *list, size_t len)
{
    if (ftruncate(list_fd, 0) != 0 || pwrite(list_fd, list, len, 0) != (ssize_t)len) abort();
    char path[64], err[256];
    snprintf(path, sizeof path, "/proc/self/fd/%d", list_fd);
    mod_filter *f = mod_load(path, err, sizeof err);
    if (!f)
        FUZZ_ASSERT(memchr(err, '\0', sizeof err) != NULL && err[0]);
    else
        FUZZ_ASSERT(mod_count(f) <= MOD_MAX_WORDS);
    return f;
}

static void scan(const mod_filter *f, const uint8_t *text, size_t len, size_t firstlen)
{
    char *a = fuzz_dup(text, len), *b = fuzz_dup(text, len);
    char first[65], *fp = firstlen ? first : NULL;
    memset(first, 'x', sizeof first);
    int n0 = mod_scan(f, a, len, 0, fp, firstlen);
    FUZZ_ASSERT(n0 >= 0 && memcmp(a, text, len) == 0);
    if (n0 > 0 && fp) FUZZ_ASSERT(memchr(first, '\0', firstlen) != NULL);
    int n1 = mod_scan(f, b, len, 1, NULL, 0);
    FUZZ_ASSERT(n1 == n0);
    for (size_t i = 0; i < len; i++)
        FUZZ_ASSERT(b[i] == a[i] || b[i] == '*');
    FUZZ_ASSERT(b[len] == '\0');
    if (fn_utf8_valid(a, len)) FUZZ_ASSERT(fn_utf8_valid(b, len));
    free(a);
    free(b);

    /* the same text as JSON (a group message's data): strings are scanned and masked */
    json_tokener *tok = json_tokener_new_ex(MOD_MAX_JSON_DEPTH);
    json_object *o = tok ? json_tokener_parse_ex(tok, (const char *)text, (int)len) : NULL;
    if (tok) json_tokener_free(tok);
    if (o) {
        int j0 = mod_scan_json(f, o, 0, fp, firstlen);
        int j1 = mod_scan_json(f, o, 1, NULL, 0);
        FUZZ_ASSERT(j0 >= 0 && j1 == j0);
        json_object_put(o);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t firstlens[] = {0, 1, 8, 65};
    if (size < 1 || size > 64 * 1024) return 0;
    uint8_t flags = data[0];
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    mod_filter *own = NULL;
    if (flags & 1) {
        const uint8_t *nul = memchr(text, '\0', len);
        size_t llen = nul ? (size_t)(nul - text) : len;
        own = load_list(text, llen);
        text += nul ? llen + 1 : llen;
        len -= nul ? llen + 1 : llen;
        if (!own) return 0;
    }
    scan(own ? own : words, text, len, firstlens[(flags >> 1) & 3]);
    mod_free(own);
    return 0;
}
