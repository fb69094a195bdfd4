/* hub_settings.h: the per-hub settings of gateway/hubs.json (event handlers, allowed origins,
 * history, quotas, moderation), loaded once per process. docs/deployment.md. */
#ifndef CHATR_HUB_SETTINGS_H
#define CHATR_HUB_SETTINGS_H

#include <stddef.h>

/* History quota per sender and hub, unless hubs.json's "historyQuota" says otherwise
 * (docs/storage.md, "Quotas"): bytes of stored group messages per fixed window. */
#define HUB_HISTORY_QUOTA_BYTES (8L * 1024 * 1024)
#define HUB_HISTORY_QUOTA_WINDOW_S 3600

typedef struct hub_settings hub_settings;
/* Settings of one hub (falls back to "default"); loaded once per process. */
const hub_settings *hub_settings_get(const char *hub);
/* The hub as a metrics label: its name when hubs.json lists it, else "other" (any client may
 * name any hub: the label set stays bounded; docs/observability.md). */
const char *hub_settings_metric_hub(const char *hub);
/* The handler URL for an event (system: connect/connected/disconnected), or NULL. Writes the
 * resolved URL into out. */
const char *hub_settings_handler(const hub_settings *s, const char *hub, const char *event,
                                 int system, char *out, size_t outlen);
int hub_settings_origin_ok(const hub_settings *s, const char *origin);
/* "history": true — group messages are stored (schema/005_history.sql). */
int hub_settings_history(const hub_settings *s);
/* The history quota of a hub (hubs.json "historyQuota": {"bytes": n, "windowSeconds": s}, each
 * defaulting to HUB_HISTORY_QUOTA_BYTES / HUB_HISTORY_QUOTA_WINDOW_S). */
void hub_settings_quota(const hub_settings *s, long long *bytes, long *window_s);
/* "moderation": {"wordList": <path relative to hubs.json>, "action": "mask" | "reject"}: the
 * hub's word filter (loaded once per process), or NULL when the hub has none. */
struct mod_filter;
const struct mod_filter *hub_settings_filter(const char *hub, int *reject);

#endif
