/* rest.h: what hub-rest's files share: one REST call as the route table hands it to an operation
 * (main.c), and the history extension's operations (history.c; docs/protocols.md#history). */
#ifndef CHATR_HUB_REST_REST_H
#define CHATR_HUB_REST_REST_H

#include "hub.h"
#include "hub_payload.h"
#include "fn.h"

#define MAX_SEGS 8
#define MAX_EXCLUDED 1024

typedef struct rest {
    fn_req *req;
    fn_res *res;
    const char *method;
    char hub[HUB_MAX_HUB_NAME + 1];
    char *seg[MAX_SEGS]; /* decoded path segments after the hub */
    size_t nseg;
    char *excluded[MAX_EXCLUDED];
    size_t nexcluded;
} rest;

/* The request body as a payload of the dataType its Content-Type names; -1 with 415 or 400
 * answered. */
int rest_body_payload(rest *r, hub_payload *p);

/* History extension (history.c), each behind the route table's row of the same path:
 * GET    groups/{group}/messages            a page of a group's history
 * GET    groups/{group}/messages/{id}       one message
 * PUT    groups/{group}/messages/{id}       edit it (the body is the new data)
 * DELETE groups/{group}/messages/{id}       delete it (its data is erased)
 * POST   :searchMessages                    full-text search over groups
 * POST   :countMessages                     messages after an id, per group */
void hist_page(rest *r);
void hist_get(rest *r);
void hist_edit(rest *r);
void hist_delete(rest *r);
void hist_search(rest *r);
void hist_count(rest *r);

#endif
