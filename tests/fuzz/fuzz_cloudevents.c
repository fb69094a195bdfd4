/* fuzz_cloudevents.c: the eventHandler function's reading of a CloudEvents request
 * (functions/eventHandler/eventHandler.c: event_handler, validate, origin_is_endpoint): the
 * abuse-protection OPTIONS with WebHook-Request-Origin against the connection string's
 * Endpoint, the ce-signature check, ce-eventName/ce-type/ce-hub/ce-userId, and the dispatch to
 * the chat events with their bodies. event_handler is static, so this file includes
 * eventHandler.c with its main renamed; the other files of the function link as they are.
 *
 * Input: eleven '\n'-separated fields: method, WebHook-Request-Origin, a connection string
 * (OPTIONS only; the process parses the connection string once, fn_wps_connstr, so after the
 * first request validate() sees the first one: the parser itself is fuzz_connstr's),
 * ce-connectionId, ce-signature (empty: the valid signature of the connection id, so events are
 * reached), ce-eventName, ce-type, ce-hub, ce-userId, Content-Type, body. An empty field is an
 * absent header. Nothing outside answers (fuzz_util.h): database and hub calls fail at once.
 * Properties: OPTIONS answers 200 only with WebHook-Allowed-Origin equal to the origin, else an
 * error; a request whose signature is not valid for its connection id is refused (4xx/5xx). */
#include "fuzz_util.h"

#include <sodium.h>

#define main event_handler_main
#include "../../functions/eventHandler/eventHandler.c"
#undef main

#define CONNSTR "Endpoint=" FUZZ_PUBLIC_URL ";AccessKey=" FUZZ_KEY ";Version=1.0;"

enum {
    F_METHOD,
    F_ORIGIN,
    F_CONNSTR,
    F_CONN,
    F_SIG,
    F_EVENT,
    F_TYPE,
    F_HUB,
    F_USER,
    F_CTYPE,
    F_BODY,
    F_COUNT
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_init();
    return 0;
}

static const char *opt(const fuzz_fields *ff, int i)
{
    return ff->len[i] ? ff->f[i] : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256 * 1024) return 0;
    fuzz_fields ff;
    fuzz_split(&ff, data, size, F_COUNT);
    const char *method = ff.len[F_METHOD] ? ff.f[F_METHOD] : "POST";
    int options = strcmp(method, "OPTIONS") == 0;
    char sig[WPS_SIG_LEN + 1] = "";
    const char *given_sig = opt(&ff, F_SIG);
    if (!given_sig && ff.len[F_CONN] && wps_sig_make(FUZZ_KEY, ff.f[F_CONN], sig) == 0)
        given_sig = sig;
    int sig_ok = ff.len[F_CONN] && given_sig && wps_sig_check(FUZZ_KEY, ff.f[F_CONN], given_sig);

    fuzz_req r;
    fuzz_req_init(&r, method, "/api/eventHandler", "");
    fuzz_param(&r, "HTTP_WEBHOOK_REQUEST_ORIGIN", opt(&ff, F_ORIGIN));
    fuzz_param(&r, "HTTP_CE_CONNECTIONID", opt(&ff, F_CONN));
    fuzz_param(&r, "HTTP_CE_SIGNATURE", given_sig);
    fuzz_param(&r, "HTTP_CE_EVENTNAME", opt(&ff, F_EVENT));
    fuzz_param(&r, "HTTP_CE_TYPE", opt(&ff, F_TYPE));
    fuzz_param(&r, "HTTP_CE_HUB", opt(&ff, F_HUB));
    fuzz_param(&r, "HTTP_CE_USERID", opt(&ff, F_USER));
    fuzz_param(&r, "CONTENT_TYPE", opt(&ff, F_CTYPE));
    fuzz_body(&r, ff.f[F_BODY], ff.len[F_BODY]);
    if (options && ff.len[F_CONNSTR]) setenv("WEBPUBSUB_CONNECTION_STRING", ff.f[F_CONNSTR], 1);
    event_handler(&r.req, &r.res);
    if (options) setenv("WEBPUBSUB_CONNECTION_STRING", CONNSTR, 1);

    int st = r.res.status;
    if (options) {
        FUZZ_ASSERT(st == 200 || st >= 400);
        if (st == 200) {
            char want[FN_MAX_HEADER_OUT_LEN];
            snprintf(want, sizeof want, "WebHook-Allowed-Origin: %s", ff.f[F_ORIGIN]);
            FUZZ_ASSERT(r.res.nheaders == 1 && strcmp(r.res.headers[0], want) == 0);
        }
    } else if (!sig_ok) {
        FUZZ_ASSERT(st >= 400); /* refused, whichever check comes first */
    }
    FUZZ_ASSERT(st >= 200 && st <= 599);
    fuzz_req_free(&r);
    fuzz_fields_free(&ff);
    return 0;
}
