/* fuzz_principal.c: decoding the Static Web Apps client principal, the base64 JSON of the
 * x-ms-client-principal header that every function trusts for identity and roles
 * (fn_principal_decode and fn_roles_check, gateway/runtime/fn_util.c).
 *
 * Input: one mode byte, then
 *   mode 0: the header value as it comes (base64, blanks and all);
 *   mode 1: the decoded JSON: the target base64-encodes it, so the JSON checks are reached;
 * then (both modes) a roles list after the last '\n' is checked against the principal.
 * Properties: a decoded principal has a non-empty userId and every string NUL-terminated inside
 * its field, at most FN_MAX_ROLES roles; a failed decode leaves the principal all zero. */
#include "fuzz_util.h"

#include <sodium.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0) abort();
    return 0;
}

static void check(const fn_principal *p)
{
    FUZZ_ASSERT(p->user_id[0] != '\0');
    FUZZ_ASSERT(memchr(p->user_id, '\0', sizeof p->user_id) != NULL);
    FUZZ_ASSERT(memchr(p->provider, '\0', sizeof p->provider) != NULL);
    FUZZ_ASSERT(memchr(p->details, '\0', sizeof p->details) != NULL);
    FUZZ_ASSERT(p->nroles <= FN_MAX_ROLES);
    for (size_t i = 0; i < p->nroles; i++)
        FUZZ_ASSERT(memchr(p->roles[i], '\0', sizeof p->roles[i]) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4 * FN_MAX_PRINCIPAL) return 0;
    const uint8_t *nl = memchr(data + 1, '\n', size - 1);
    size_t vlen = nl ? (size_t)(nl - data - 1) : size - 1;
    char *roles = nl ? fuzz_dup(nl + 1, size - (size_t)(nl + 1 - data)) : NULL;
    char *value;
    if (data[0] & 1) {
        size_t cap = sodium_base64_ENCODED_LEN(vlen, sodium_base64_VARIANT_ORIGINAL);
        value = malloc(cap);
        if (!value) abort();
        sodium_bin2base64(value, cap, data + 1, vlen, sodium_base64_VARIANT_ORIGINAL);
    } else {
        value = fuzz_dup(data + 1, vlen);
    }
    fn_principal p;
    if (fn_principal_decode(value, &p) == 0) {
        check(&p);
        int rc = fn_roles_check(roles, &p);
        FUZZ_ASSERT(rc == 0 || rc == 403);
        (void)fn_principal_has_role(&p, "authenticated");
    } else {
        static const fn_principal zero;
        FUZZ_ASSERT(memcmp(&p, &zero, sizeof p) == 0);
        int rc = fn_roles_check(roles, NULL);
        FUZZ_ASSERT(rc == 0 || rc == 401);
    }
    free(value);
    free(roles);
    return 0;
}
