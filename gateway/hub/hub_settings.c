/* hub_settings.c: per-hub settings from gateway/hubs.json (CHATR_HUB_SETTINGS): event handlers
 * (url template, system events, user event pattern) and allowed browser origins. */
#include "hub_settings.h"
#include "hub.h"
#include "hub_conf.h"
#include "fn.h"
#include "moderation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <json-c/json.h>

struct hub_settings {
    json_object *obj; /* borrowed from the loaded file */
};

static json_object *loaded; /* the whole file, loaded once per process */
static hub_settings cache[2];

static json_object *load(void)
{
    if (loaded) return loaded;
    const char *path = hub_conf_get()->settings_file;
    if (path && *path) loaded = json_object_from_file(path);
    if (!loaded) {
        fn_log("hub settings %s: cannot load, using defaults", path ? path : "(unset)");
        loaded = json_object_new_object();
    }
    return loaded;
}

const hub_settings *hub_settings_get(const char *hub)
{
    json_object *root = load(), *hubs, *h = NULL;
    if (json_object_object_get_ex(root, "hubs", &hubs)) {
        json_object_object_foreach(hubs, key, val)
        {
            if (strcasecmp(key, hub) == 0) h = val;
        }
    }
    if (h) {
        cache[0].obj = h;
        return &cache[0];
    }
    json_object *d = NULL;
    json_object_object_get_ex(root, "default", &d);
    cache[1].obj = d;
    return &cache[1];
}

const char *hub_settings_metric_hub(const char *hub)
{
    json_object *hubs;
    if (hub && json_object_object_get_ex(load(), "hubs", &hubs)) {
        json_object_object_foreach(hubs, key, val)
        {
            (void)val;
            if (strcasecmp(key, hub) == 0) return key;
        }
    }
    return "other";
}

/* ${VAR} in hubs.json names a variable the file chooses, so it cannot be a field of hub_conf: the
 * value of each name is read once, on first use, and kept (NULL: unset). A file naming more than
 * HUB_ENV_REFS variables has the rest read on each use (no hubs.json comes near). */
#define HUB_ENV_REFS 16
static const char *env_ref(const char *name)
{
    static struct {
        char *name, *value;
    } refs[HUB_ENV_REFS];
    static int nrefs;
    for (int i = 0; i < nrefs; i++)
        if (strcmp(refs[i].name, name) == 0) return refs[i].value;
    const char *v = getenv(name);
    char *copy = v ? strdup(v) : NULL, *key = strdup(name);
    if (nrefs == HUB_ENV_REFS || !key || (v && !copy)) {
        free(copy);
        free(key);
        return v;
    }
    refs[nrefs].name = key;
    refs[nrefs++].value = copy;
    return copy;
}

/* Expands ${VAR} from the environment (env_ref). */
static void expand(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    while (*in && o + 1 < outlen) {
        if (in[0] == '$' && in[1] == '{') {
            const char *end = strchr(in, '}');
            if (end) {
                char name[128];
                size_t n = (size_t)(end - in - 2);
                if (n < sizeof name) {
                    memcpy(name, in + 2, n);
                    name[n] = '\0';
                    const char *v = env_ref(name);
                    for (; v && *v && o + 1 < outlen; v++)
                        out[o++] = *v;
                }
                in = end + 1;
                continue;
            }
        }
        out[o++] = *in++;
    }
    out[o] = '\0';
}

static int list_has(json_object *arr, const char *s)
{
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *v = json_object_get_string(json_object_array_get_idx(arr, i));
        if (v && strcasecmp(v, s) == 0) return 1;
    }
    return 0;
}

static int pattern_has(const char *pattern, const char *event)
{
    if (!pattern) return 0;
    return strcmp(pattern, "*") == 0 || fn_list_has(pattern, event, 1);
}

static void substitute(const char *tmpl, const char *hub, const char *event, char *out,
                       size_t outlen)
{
    char buf[2048];
    expand(tmpl, buf, sizeof buf);
    size_t o = 0;
    for (const char *p = buf; *p && o + 1 < outlen;) {
        const char *val = NULL;
        if (strncmp(p, "{event}", 7) == 0)
            val = event, p += 7;
        else if (strncmp(p, "{hub}", 5) == 0)
            val = hub, p += 5;
        if (val) {
            for (; *val && o + 1 < outlen; val++)
                out[o++] = *val;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

const char *hub_settings_handler(const hub_settings *s, const char *hub, const char *event,
                                 int system, char *out, size_t outlen)
{
    json_object *handlers;
    if (!s || !s->obj || !json_object_object_get_ex(s->obj, "eventHandlers", &handlers))
        return NULL;
    size_t n =
        json_object_is_type(handlers, json_type_array) ? json_object_array_length(handlers) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *h = json_object_array_get_idx(handlers, i), *v;
        int match = 0;
        if (system) {
            match = json_object_object_get_ex(h, "systemEvents", &v) && list_has(v, event);
        } else {
            match = json_object_object_get_ex(h, "userEventPattern", &v) &&
                    pattern_has(json_object_get_string(v), event);
        }
        if (!match || !json_object_object_get_ex(h, "urlTemplate", &v)) continue;
        char url[2048];
        substitute(json_object_get_string(v), hub, event, url, sizeof url);
        if (!url[0]) return NULL; /* ${VAR} unset: no handler */
        if (url[0] == '/')
            snprintf(out, outlen, "%s%s", hub_conf_public_url(), url);
        else
            snprintf(out, outlen, "%s", url);
        return out;
    }
    return NULL;
}

int hub_settings_origin_ok(const hub_settings *s, const char *origin)
{
    json_object *list;
    if (!origin || !*origin) return 1; /* not a browser */
    if (!s || !s->obj || !json_object_object_get_ex(s->obj, "allowedOrigins", &list)) return 0;
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        char o[1024];
        expand(json_object_get_string(json_object_array_get_idx(list, i)), o, sizeof o);
        size_t len = strlen(o);
        while (len && o[len - 1] == '/')
            o[--len] = '\0';
        if (strcmp(o, "*") == 0 || strcasecmp(o, origin) == 0) return 1;
    }
    return 0;
}

int hub_settings_history(const hub_settings *s)
{
    json_object *v;
    return s && s->obj && json_object_object_get_ex(s->obj, "history", &v) &&
           json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

void hub_settings_quota(const hub_settings *s, long long *bytes, long *window_s)
{
    json_object *q, *v;
    *bytes = HUB_HISTORY_QUOTA_BYTES;
    *window_s = HUB_HISTORY_QUOTA_WINDOW_S;
    if (!s || !s->obj || !json_object_object_get_ex(s->obj, "historyQuota", &q)) return;
    if (json_object_object_get_ex(q, "bytes", &v) && json_object_is_type(v, json_type_int) &&
        json_object_get_int64(v) > 0)
        *bytes = json_object_get_int64(v);
    if (json_object_object_get_ex(q, "windowSeconds", &v) &&
        json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0 &&
        json_object_get_int64(v) <= 366L * 24 * 3600)
        *window_s = (long)json_object_get_int64(v);
}

/* Word filters, loaded on first use per hub (and per process). */
#define FILTERS_MAX 32
static struct {
    char hub[HUB_MAX_HUB_NAME + 1];
    mod_filter *f;
    int reject;
} filters[FILTERS_MAX];
static int nfilters;

const struct mod_filter *hub_settings_filter(const char *hub, int *reject)
{
    for (int i = 0; i < nfilters; i++)
        if (strcasecmp(filters[i].hub, hub) == 0) {
            *reject = filters[i].reject;
            return filters[i].f;
        }
    const hub_settings *s = hub_settings_get(hub);
    json_object *m, *v;
    mod_filter *f = NULL;
    int rej = 0;
    if (s && s->obj && json_object_object_get_ex(s->obj, "moderation", &m) &&
        json_object_object_get_ex(m, "wordList", &v) && json_object_is_type(v, json_type_string)) {
        /* relative paths are relative to the settings file's directory */
        char path[4096], err[256] = "";
        const char *list = json_object_get_string(v), *file = hub_conf_get()->settings_file;
        const char *slash = file ? strrchr(file, '/') : NULL;
        if (list[0] == '/' || !slash)
            snprintf(path, sizeof path, "%s", list);
        else
            snprintf(path, sizeof path, "%.*s/%s", (int)(slash - file), file, list);
        rej = json_object_object_get_ex(m, "action", &v) &&
              strcmp(json_object_get_string(v), "reject") == 0;
        f = mod_load(path, err, sizeof err);
        if (!f)
            fn_log("hub %s: moderation word list %s not loaded: %s", hub, path, err);
        else
            fn_log("hub %s: moderation with %zu words, action %s", hub, mod_count(f),
                   rej ? "reject" : "mask");
    }
    if (nfilters < FILTERS_MAX) {
        snprintf(filters[nfilters].hub, sizeof filters[nfilters].hub, "%s", hub);
        filters[nfilters].f = f;
        filters[nfilters].reject = rej;
        nfilters++;
    }
    *reject = rej;
    return f;
}
