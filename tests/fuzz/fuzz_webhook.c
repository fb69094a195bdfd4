/* fuzz_webhook.c: the hub's reading of an event handler's reply (gateway/hub/hub_webhook.c):
 * the libcurl header callback (WebHook-Allowed-Origin, ce-connectionState), the origin check
 * of the abuse-protection handshake and the bounded body sink. These are static, so this file
 * includes hub_webhook.c (it then defines hub_webhook itself, and the library's copy is not
 * linked).
 *
 * Input: "<our host>\n" then header lines, each handed to the callback as one call with exactly
 * its bytes (libcurl's way: one header per call, CRLF included, not NUL-terminated); after an
 * empty line, the body, handed to the sink in chunks of up to 1000 bytes.
 * Properties: the allowed-origins list stays a C string inside its buffer; a state is kept only
 * with has_state and never holds CR or LF (it becomes a header again on the next event). */
#include "fuzz_util.h"

#include "../../gateway/hub/hub_webhook.c"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_env();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024 * 1024) return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    char *host = fuzz_dup(data, nl ? (size_t)(nl - data) : size);
    size_t at = nl ? (size_t)(nl - data) + 1 : size;
    hdrs h = {0};
    while (at < size) {
        const uint8_t *e = memchr(data + at, '\n', size - at);
        size_t len = e ? (size_t)(e - data - at) + 1 : size - at;
        char *line = malloc(len ? len : 1); /* exactly the header's bytes */
        if (!line) abort();
        memcpy(line, data + at, len);
        size_t got = header_cb(line, 1, len, &h);
        FUZZ_ASSERT(got == len);
        free(line);
        at += len;
        if (len <= 2 && (len == 1 || data[at - 2] == '\r')) break; /* end of the headers */
    }
    FUZZ_ASSERT(memchr(h.allowed, '\0', sizeof h.allowed) != NULL);
    FUZZ_ASSERT(!h.state || h.has_state);
    if (h.state) FUZZ_ASSERT(!strpbrk(h.state, "\r\n"));
    (void)origin_allowed(h.allowed, host);
    free(h.state);

    sink body = {0};
    while (at < size) {
        size_t n = size - at < 1000 ? size - at : 1000;
        char *chunk = malloc(n);
        if (!chunk) abort();
        memcpy(chunk, data + at, n);
        FUZZ_ASSERT(collect(chunk, 1, n, &body) == n);
        free(chunk);
        at += n;
    }
    if (body.buf) FUZZ_ASSERT(body.buf[body.len] == '\0');
    free(body.buf);
    free(host);
    return 0;
}
