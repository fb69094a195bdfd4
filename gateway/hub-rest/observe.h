/* observe.h: hub-rest's observability pages: GET /.chatr/metrics and GET /.chatr/ready, and the
 * count of every REST call (docs/observability.md). */
#ifndef CHATR_HUB_REST_OBSERVE_H
#define CHATR_HUB_REST_OBSERVE_H

#include "fn.h"

#define OBS_READY_POOLS_MAX 64 /* pools named in CHATR_POOLS that ready checks */
#define OBS_REST_OPS_MAX 64    /* distinct REST operation labels; later ones count as "other" */
#define OBS_DB_PING_TIMEOUT_S "2"

/* GET /.chatr/metrics: loopback clients, or a bearer CHATR_METRICS_TOKEN (compared in constant
 * time); anyone else gets 401/403. */
void obs_metrics(fn_req *req, fn_res *res);
/* GET /.chatr/ready: 200 when the database answers and every pool accepts connections, else 503;
 * a JSON body names each check. */
void obs_ready(fn_req *req, fn_res *res);
/* Counts one REST call (chatr_hub_rest_calls_total) by operation and status. */
void obs_rest_count(const char *uri, const char *method, int status);
/* The operation label of a REST URI: method and path shape, hub and ids left out
 * ("POST /groups/{}/:send"). Pure; for the tests. */
void obs_rest_op(const char *uri, const char *method, char *out, size_t len);

#endif
