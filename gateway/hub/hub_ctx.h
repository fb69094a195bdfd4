/* hub_ctx.h: what the handshake decided about one connection; travels to the hooks as $hub_ctx
 * (base64url of JSON). */
#ifndef CHATR_HUB_CTX_H
#define CHATR_HUB_CTX_H

#include <json-c/json.h>

#include "hub.h"

typedef struct hub_ctx {
    char hub[HUB_MAX_HUB_NAME + 1]; /* normalised */
    char *user;                     /* NULL: anonymous */
    char protocol[40];              /* "" = simple client */
    json_object *roles;             /* array of strings (owned) */
    json_object *groups;            /* array of strings (owned) */
    char *state;                    /* ce-connectionState or NULL */
} hub_ctx;
/* Encodes as base64url(JSON); returns malloc'd string. */
char *hub_ctx_encode(const hub_ctx *c);
/* 0, or -1 when s is no context (c is then empty). */
int hub_ctx_decode(const char *s, hub_ctx *c);
void hub_ctx_free(hub_ctx *c);
/* 1 for a subprotocol (JSON) client. */
static inline int hub_ctx_json(const hub_ctx *c)
{
    return c->protocol[0] != '\0';
}

#endif
