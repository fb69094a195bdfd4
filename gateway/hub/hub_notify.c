/* hub_notify.c: the `connected` and `disconnected` system events of a connection, sent to the
 * hub's event handler when it has one (docs/protocols.md#system-events, docs/webhooks.md). */
#include "hub_notify.h"
#include "hub_settings.h"
#include "hub_webhook.h"
#include "fn.h"

#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

void hub_notify(const char *hub, const char *conn_id, const char *user, const char *protocol,
                const char *state, const char *event, const char *reason)
{
    const hub_settings *hs = hub_settings_get(hub);
    char url[2048];
    if (!hub_settings_handler(hs, hub, event, 1, url, sizeof url)) return;
    char *body;
    if (strcmp(event, "disconnected") == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "reason", json_object_new_string(reason ? reason : ""));
        body = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
    } else {
        body = strdup("{}");
    }
    hub_webhook_event ev = {.hub = hub,
                            .conn_id = conn_id,
                            .user = user,
                            .event = event,
                            .system = 1,
                            .protocol = protocol,
                            .state = state,
                            .ctype = "application/json; charset=utf-8",
                            .body = body,
                            .body_len = body ? strlen(body) : 0};
    hub_webhook_reply rep;
    if (hub_webhook(url, &ev, HUB_NOTIFY_TIMEOUT_MS, &rep) == 0) {
        if (rep.status < 200 || rep.status >= 300)
            fn_log("%s webhook for %s: HTTP %ld", event, conn_id, rep.status);
        hub_webhook_reply_free(&rep);
    }
    free(body);
}
