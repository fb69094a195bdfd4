/* fuzz_util.h: what the libFuzzer targets in tests/fuzz share (docs/fuzzing.md): an environment
 * in which every outside service fails at once (no database, no nginx, no event handler), a
 * FastCGI request built from fuzzed parameters, and the split of one input into fields.
 * Header-only: each target is one program, built with -fsanitize=fuzzer,address,undefined. */
#ifndef CHATR_FUZZ_UTIL_H
#define CHATR_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "fn.h"

#ifndef FUZZ_ROOT /* the repository, for gateway/hubs.json and the word list (the Makefile sets    \
                     it) */
#define FUZZ_ROOT "."
#endif

#define FUZZ_KEY                                                                                   \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH" /* the access key of every target               \
                                                    */
#define FUZZ_PUBLIC_URL "http://127.0.0.1:1"       /* nothing listens on port 1 */
#define FUZZ_MAX_FIELDS 16
#define FUZZ_MAX_PARAMS 32

/* Points every outside service at something that refuses at once, so a target never waits:
 * PostgreSQL at a unix socket directory that does not exist (libpq fails with ENOENT, no
 * timeout), nginx's internal socket likewise, event handlers at 127.0.0.1:1 (refused). */
static inline void fuzz_env(void)
{
    setenv("DATABASE_URL", "host=/nonexistent/chatr-fuzz dbname=chatr connect_timeout=1", 1);
    setenv("CHATR_DB_HOLD_MS", "0", 1); /* no database here: fail at once, never hold an input */
    setenv("CHATR_NGINX_SOCKET", "/nonexistent/chatr-fuzz/nginx-internal.sock", 1);
    setenv("CHATR_STATE_DIR", "/nonexistent/chatr-fuzz", 1);
    setenv("CHATR_PUBLIC_URL", FUZZ_PUBLIC_URL, 1);
    setenv("CHATR_HUB_SETTINGS", FUZZ_ROOT "/gateway/hubs.json", 1);
    setenv("WEBPUBSUB_CONNECTION_STRING",
           "Endpoint=" FUZZ_PUBLIC_URL ";AccessKey=" FUZZ_KEY ";Version=1.0;", 1);
    setenv("WEBPUBSUB_HUB", "chat", 1);
    unsetenv("WEBPUBSUB_UNIX_SOCKET");
    unsetenv("CHATR_LOG_FILE");
}

/* What every target's LLVMFuzzerInitialize does first: fuzz_env, and libsodium ready. */
static inline void fuzz_init(void)
{
    fuzz_env();
    if (sodium_init() < 0) abort();
}

/* One input as n fields: the first n-1 end at '\n', the last is the rest (may hold anything).
 * Each field is a malloc'd copy of exactly its bytes plus a NUL, so ASan sees any overread;
 * fields the input does not reach are empty. */
typedef struct fuzz_fields {
    char *f[FUZZ_MAX_FIELDS];
    size_t len[FUZZ_MAX_FIELDS];
    size_t n;
} fuzz_fields;

static inline char *fuzz_dup(const uint8_t *p, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    if (n) memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static inline void fuzz_split(fuzz_fields *ff, const uint8_t *data, size_t size, size_t n)
{
    if (n > FUZZ_MAX_FIELDS) abort();
    ff->n = n;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t end = size;
        if (i + 1 < n) {
            const uint8_t *nl = at < size ? memchr(data + at, '\n', size - at) : NULL;
            end = nl ? (size_t)(nl - data) : size;
        }
        ff->f[i] = fuzz_dup(data + at, end - at);
        ff->len[i] = end - at;
        at = end < size ? end + 1 : size;
    }
}

static inline void fuzz_fields_free(fuzz_fields *ff)
{
    for (size_t i = 0; i < ff->n; i++)
        free(ff->f[i]);
    ff->n = 0;
}

/* A FastCGI request as fn_run hands it to a handler: envp holds "NAME=value" parameters (what
 * fn_param reads), body a malloc'd NUL-terminated copy (fn_read_body's contract). */
typedef struct fuzz_req {
    fn_req req;
    fn_res res;
    char *params[FUZZ_MAX_PARAMS + 1];
    size_t nparams;
} fuzz_req;

static inline void fuzz_req_init(fuzz_req *r, const char *method, const char *path,
                                 const char *query)
{
    memset(r, 0, sizeof *r);
    r->req.envp = r->params;
    r->req.method = method;
    r->req.path = path;
    r->req.query = query;
}

/* Adds a parameter (a FastCGI name: HTTP_CE_HUB, CONTENT_TYPE, REQUEST_ID ...); NULL value: none.
 */
static inline void fuzz_param(fuzz_req *r, const char *name, const char *value)
{
    if (!value || r->nparams >= FUZZ_MAX_PARAMS) return;
    size_t n = strlen(name) + strlen(value) + 2;
    char *p = malloc(n);
    if (!p) abort();
    snprintf(p, n, "%s=%s", name, value);
    r->params[r->nparams++] = p;
}

static inline void fuzz_body(fuzz_req *r, const char *body, size_t len)
{
    r->req.body = fuzz_dup((const uint8_t *)body, len);
    r->req.body_len = len;
}

static inline void fuzz_req_free(fuzz_req *r)
{
    for (size_t i = 0; i < r->nparams; i++)
        free(r->params[i]);
    free(r->req.body);
    free(r->res.body);
    memset(r, 0, sizeof *r);
}

/* A property the code promises does not hold: report it as a crash (libFuzzer keeps the input). */
#define FUZZ_ASSERT(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
