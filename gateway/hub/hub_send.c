/* hub_send.c: delivery of one message to connections, users, groups or the whole hub, each
 * socket in its own shape (JSON envelope or raw bytes), one multi-channel publish per 255. */
#include "hub_send.h"
#include "hub_cache.h"
#include "hub_chan.h"
#include "hub_conf.h"
#include "hub_env.h"
#include "hub_moderate.h"
#include "hub_nchan.h"
#include "hub_payload.h"
#include "hub_reliable.h"
#include "hub_role.h"
#include "hub_settings.h"
#include "hub_store.h"
#include "fn.h"
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>

static int excluded_has(char *const *excluded, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(excluded[i], id) == 0) return 1;
    return 0;
}

/* Publishes to the connections listed in r (column col id, column col + 1 protocol; rows with a
 * NULL id are skipped): JSON sockets get json_body and simple ones the raw bytes, one
 * multi-channel publish per 255; reliable connections get json_body sequenced, one by one
 * (hub_reliable.c). */
static int publish_rows(PGresult *r, int col, const char *json_body, size_t json_len,
                        const hub_payload *p, const char *exclude_conn, char *const *excluded,
                        size_t nexcluded, size_t *delivered)
{
    size_t n = (size_t)PQntuples(r), nj = 0, ns = 0, nr = 0;
    char(*chans)[HUB_MAX_CHANNEL] = malloc((n ? n : 1) * sizeof *chans);
    const char **js = malloc((n ? n : 1) * sizeof *js), **ss = malloc((n ? n : 1) * sizeof *ss);
    const char **rs = malloc((n ? n : 1) * sizeof *rs);
    int rc = 0;
    if (!chans || !js || !ss || !rs) rc = -1;
    for (size_t i = 0; !rc && i < n; i++) {
        if (PQgetisnull(r, (int)i, col)) continue;
        const char *id = PQgetvalue(r, (int)i, col), *proto = PQgetvalue(r, (int)i, col + 1);
        if ((exclude_conn && strcmp(exclude_conn, id) == 0) ||
            excluded_has(excluded, nexcluded, id))
            continue;
        if (hub_reliable_protocol(proto)) {
            rs[nr++] = id;
            continue;
        }
        hub_chan_conn(id, chans[i]);
        if (proto[0])
            js[nj++] = chans[i];
        else
            ss[ns++] = chans[i];
    }
    if (!rc && nj && hub_nchan_publish(js, nj, json_body, json_len, "application/json") != 0)
        rc = -1;
    if (!rc && ns && hub_nchan_publish(ss, ns, p->raw, p->raw_len, hub_payload_ctype(p)) != 0)
        rc = -1;
    if (!rc && nr && hub_reliable_send(rs, nr, json_body, json_len) != 0) rc = -1;
    if (!rc && delivered) *delivered = nj + ns + nr;
    free(chans);
    free(js);
    free(ss);
    free(rs);
    return rc;
}

/* hub_store_conns through the process's memory (hub_cache.h): the connections of a user, a
 * group, a connection or the hub, as REST sends read them. *mine: the caller clears r. */
static PGresult *conns(enum hub_store_scope scope, const char *kind, const char *hub,
                       const char *name, int *mine)
{
    PGresult *r = hub_cache_get(kind, hub, name, NULL);
    *mine = 0;
    if (r) return r;
    uint64_t gen = hub_cache_gen(); /* before the answer is read */
    r = hub_store_conns(scope, hub, name);
    *mine = !hub_cache_put(kind, hub, name, NULL, gen, r);
    return r;
}

/* CHATR_HISTORY_DURABLE=1: history commits wait for the WAL flush (default: they do not). */
static int hub_history_durable(void)
{
    return hub_conf_get()->history_durable;
}

static PGresult *group_send_db(const hub_send_msg *m, int allowed, int store)
{
    hub_store_msg s = {.conn_id = m->conn_id,
                       .hub = m->hub,
                       .group = m->group,
                       .allowed = allowed,
                       .has_ack = m->has_ack,
                       .ack_id = m->ack_id,
                       .store = store,
                       .from_user = m->from_user,
                       .dt = hub_payload_dt_name(m->p->dt),
                       .data = store ? hub_store_payload_text(m->p) : "",
                       .durable = hub_history_durable(),
                       .quoted = store && m->conn_id}; /* server (REST) sends have no quota */
    hub_settings_quota(hub_settings_get(m->hub), &s.quota_bytes, &s.quota_window_s);
    return hub_store_group_send(&s);
}

static void ack_forget(const hub_send_msg *m)
{
    if (m->conn_id && m->has_ack) hub_store_ack_forget(m->conn_id, m->ack_id);
}

/* A message accepted and then not delivered is counted (metrics.c): reason database (away
 * past the hold), delivery (nchan refused it), gone (its sender closed), quota. */
static void count_drop(const char *hub, const char *reason)
{
    char l[METRICS_MAX_LABELS];
    metrics_inc(
        "chatr_hub_messages_dropped_total",
        metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(hub), "reason", reason, NULL));
}

enum hub_send_rc hub_send_group(const hub_send_msg *m, char *why, size_t whylen)
{
    why[0] = '\0';
    char l[METRICS_MAX_LABELS];
    metrics_inc("chatr_hub_messages_in_total",
                metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(m->hub), "source",
                               m->conn_id ? "client" : "rest", NULL));
    if (hub_moderate(m->hub, m->p, why, whylen) != 0) return HUB_SEND_REJECTED;
    int store = m->persist && hub_settings_history(hub_settings_get(m->hub));
    /* A send that writes nothing (no ackId to claim, no history) may be answered from the
     * process's memory (hub_cache.h, docs/performance.md#the-hub-cache): the group's member rows,
     * and the sender's permission to send there. */
    int cacheable = !m->has_ack && !store;
    PGresult *r = cacheable ? hub_cache_get("group_send", m->hub, m->group, m->conn_id) : NULL;
    int mine = r == NULL;                                   /* r is ours to clear */
    uint64_t gen = cacheable && mine ? hub_cache_gen() : 0; /* before the answer is read */
    if (mine) r = group_send_db(m, 0, store);
    int status = r && PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : -1;
    /* evaluate the roles here, then once more with the answer */
    if (status == HUB_STORE_GS_WILDCARD) {
        json_object *roles = json_tokener_parse(PQgetvalue(r, 0, 3));
        int ok = roles && hub_role_allow(roles, "sendToGroup", m->group);
        json_object_put(roles);
        PQclear(r);
        r = NULL;
        status = HUB_STORE_GS_FORBIDDEN;
        if (ok) {
            r = group_send_db(m, 1, store);
            status = r && PQntuples(r) > 0 ? atoi(PQgetvalue(r, 0, 0)) : -1;
        }
    }
    int unavailable = !r && fn_db_unavailable();
    enum hub_send_rc rc = status == HUB_STORE_GS_SENT        ? HUB_SEND_OK
                          : status == HUB_STORE_GS_FORBIDDEN ? HUB_SEND_FORBIDDEN
                          : status == HUB_STORE_GS_DUPLICATE ? HUB_SEND_DUPLICATE
                          : status == HUB_STORE_GS_GONE      ? HUB_SEND_GONE
                          : status == HUB_STORE_GS_QUOTA     ? HUB_SEND_QUOTA
                                                             : HUB_SEND_FAILED;
    if (rc == HUB_SEND_FAILED) {
        snprintf(why, whylen,
                 unavailable ? "the database is unavailable; the message was dropped"
                             : "the message could not be stored or routed");
        count_drop(m->hub, unavailable ? "database" : "error");
    } else if (rc == HUB_SEND_QUOTA) {
        long long quota;
        long window;
        hub_settings_quota(hub_settings_get(m->hub), &quota, &window);
        snprintf(why, whylen, "history quota exceeded: at most %lld bytes per %ld s per user",
                 quota, window);
        count_drop(m->hub, "quota");
    } else if (rc == HUB_SEND_GONE) {
        count_drop(m->hub, "gone");
    }
    if (rc != HUB_SEND_OK) {
        PQclear(r);
        return rc;
    }
    long long id = PQgetisnull(r, 0, 1) ? 0 : atoll(PQgetvalue(r, 0, 1));
    size_t len;
    char *env = hub_env_group(m->p, m->group, m->from_user, m->from_user != NULL, id,
                              PQgetvalue(r, 0, 2), &len);
    size_t delivered = 0;
    int prc = env ? publish_rows(r, 3, env, len, m->p, m->exclude_conn, m->excluded, m->nexcluded,
                                 &delivered)
                  : -1;
    free(env);
    if (mine && !hub_cache_put("group_send", m->hub, m->group, m->conn_id, gen, r)) PQclear(r);
    if (prc != 0) {
        /* Not delivered. A stored message stays (catch-up finds it) and so does its ackId claim,
         * so a retry is answered Duplicate (success to the SDKs) instead of storing it twice. */
        if (id == 0) ack_forget(m);
        snprintf(why, whylen, "the message was not delivered");
        count_drop(m->hub, "delivery");
        return HUB_SEND_FAILED;
    }
    metrics_add("chatr_hub_deliveries_total",
                metrics_labels(l, sizeof l, "hub", hub_settings_metric_hub(m->hub), NULL),
                delivered);
    return HUB_SEND_OK;
}

int hub_send_all(const char *hub, const hub_payload *p, char *const *excluded, size_t nexcluded)
{
    size_t len;
    char *env = hub_env_server(p, &len);
    if (!env) return -1;
    int rc = 0;
    if (nexcluded == 0 && !hub_conf_get()->redis_mode) { /* the hub's broadcast channels */
        char aj[HUB_MAX_CHANNEL], as[HUB_MAX_CHANNEL];
        hub_chan_all(hub, 1, aj);
        hub_chan_all(hub, 0, as);
        if (hub_nchan_publish_live(aj, env, len, "application/json") != 0) rc = -1;
        if (hub_nchan_publish_live(as, p->raw, p->raw_len, hub_payload_ctype(p)) != 0) rc = -1;
        /* reliable sockets are not on the broadcast channel */
        if (hub_reliable_send_hub(hub, NULL, NULL, 0, env, len) != 0) rc = -1;
    } else { /* every connection's own channel (Redis mode: docs/scale-out.md) */
        int mine;
        PGresult *r = conns(HUB_STORE_HUB, "hub", hub, NULL, &mine);
        rc = r ? publish_rows(r, 0, env, len, p, NULL, excluded, nexcluded, NULL) : -1;
        if (mine) PQclear(r);
    }
    free(env);
    return rc;
}

int hub_send_user(const char *hub, const char *user, const hub_payload *p)
{
    size_t len;
    char *env = hub_env_server(p, &len);
    if (!env) return -1;
    if (hub_conf_get()->redis_mode) { /* Redis mode: the user's connections' own channels */
        int mine;
        PGresult *r = conns(HUB_STORE_USER, "user", hub, user, &mine);
        int rc = r ? publish_rows(r, 0, env, len, p, NULL, NULL, 0, NULL) : -1;
        if (mine) PQclear(r);
        free(env);
        return rc;
    }
    /* The user's connections, read once: its json and simple channels are published to only
     * when a connection of that kind exists (a socket subscribes after its row is written, so
     * none is missed), and reliable ones get theirs sequenced (they are not on user channels).
     * docs/performance.md#rest-send-to-user */
    int mine;
    PGresult *r = conns(HUB_STORE_USER, "user", hub, user, &mine);
    size_t n = r ? (size_t)PQntuples(r) : 0, nr = 0;
    const char **rs = r ? malloc((n ? n : 1) * sizeof *rs) : NULL;
    int json = 0, simple = 0, rc = rs ? 0 : -1;
    for (size_t i = 0; rs && i < n; i++) {
        const char *proto = PQgetvalue(r, (int)i, 1);
        if (hub_reliable_protocol(proto))
            rs[nr++] = PQgetvalue(r, (int)i, 0);
        else if (proto[0])
            json = 1;
        else
            simple = 1;
    }
    char chan[HUB_MAX_CHANNEL];
    if (json) {
        hub_chan_user(hub, user, 1, chan);
        if (hub_nchan_publish_live(chan, env, len, "application/json") != 0) rc = -1;
    }
    if (simple) {
        hub_chan_user(hub, user, 0, chan);
        if (hub_nchan_publish_live(chan, p->raw, p->raw_len, hub_payload_ctype(p)) != 0) rc = -1;
    }
    if (nr && hub_reliable_send(rs, nr, env, len) != 0) rc = -1;
    free(rs);
    if (mine) PQclear(r);
    free(env);
    return rc;
}

int hub_send_conn(const char *hub, const char *conn_id, const hub_payload *p)
{
    int mine;
    PGresult *r = conns(HUB_STORE_CONN, "conn", hub, conn_id, &mine);
    if (!r) return -1;
    size_t len;
    char *env = hub_env_server(p, &len);
    int rc = env ? publish_rows(r, 0, env, len, p, NULL, NULL, 0, NULL) : -1;
    free(env);
    if (mine) PQclear(r);
    return rc;
}

int hub_send_group_server(const char *hub, const char *group, const hub_payload *p,
                          char *const *excluded, size_t nexcluded)
{
    int mine;
    PGresult *r = conns(HUB_STORE_GROUP, "group", hub, group, &mine);
    if (!r) return -1;
    size_t len;
    char *env = hub_env_server(p, &len);
    int rc = env ? publish_rows(r, 0, env, len, p, NULL, excluded, nexcluded, NULL) : -1;
    free(env);
    if (mine) PQclear(r);
    return rc;
}
