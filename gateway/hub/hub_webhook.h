/* hub_webhook.h: CloudEvents to the upstream event handler (docs/webhooks.md). */
#ifndef CHATR_HUB_WEBHOOK_H
#define CHATR_HUB_WEBHOOK_H

#include <stddef.h>

#define HUB_WEBHOOK_TIMEOUT_MS 30000 /* blocking webhooks (connect, user events) */
#define HUB_MAX_WEBHOOK_REPLY (16 * 1024 * 1024)

typedef struct hub_webhook_event {
    const char *hub;
    const char *conn_id;
    const char *user;  /* NULL: none */
    const char *event; /* connect, connected, disconnected, or the user event name */
    int system;
    const char *protocol; /* NULL/"" none */
    const char *state;    /* ce-connectionState, NULL none */
    const char *ctype;
    const char *body;
    size_t body_len;
} hub_webhook_event;
typedef struct hub_webhook_reply {
    long status; /* HTTP status, 0 when unreachable/invalid */
    char *body;  /* malloc'd */
    size_t len;
    char ctype[128];
    char *state; /* ce-connectionState response header, malloc'd */
    int has_state;
} hub_webhook_reply;
/* Sends one event to url (validating it first with OPTIONS, once per process). 0 with out
 * filled (release it with hub_webhook_reply_free), or -1. */
int hub_webhook(const char *url, const hub_webhook_event *ev, long timeout_ms,
                hub_webhook_reply *out);
void hub_webhook_reply_free(hub_webhook_reply *r);

#endif
