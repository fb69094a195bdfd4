/* test_settings.c: settings are read from the environment once (gateway/runtime/fn_settings.c,
 * gateway/hub/hub_conf.c): a change to the environment after the first read reaches no request.
 * Before, hub_conf_public_url and fn_wps_hub read the environment on every call. */
#include "unit.h"
#include "fn.h"
#include "fn_wps.h"
#include "hub_conf.h"
#include "hub_node.h"
#include "hub_sweep.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets name to value for the test, keeping the old value in old (NULL: it was unset). */
static char *swap_env(const char *name, const char *value)
{
    const char *v = getenv(name);
    char *old = v ? strdup(v) : NULL;
    setenv(name, value, 1);
    return old;
}

static void restore_env(const char *name, char *old)
{
    if (old)
        setenv(name, old, 1);
    else
        unsetenv(name);
    free(old);
}

UNIT_TEST(settings_are_read_once)
{
    const fn_settings *s = fn_settings_get();
    char pub[512], hub[128], node[128];
    snprintf(pub, sizeof pub, "%s", hub_conf_public_url());
    snprintf(hub, sizeof hub, "%s", fn_wps_hub());
    snprintf(node, sizeof node, "%s", hub_node_id());
    long hold = s->db_hold_ms, sweep = hub_sweep_every_ms();
    char *o1 = swap_env("CHATR_PUBLIC_URL", "https://changed.example");
    char *o2 = swap_env("WEBPUBSUB_HUB", "changedhub");
    char *o3 = swap_env("CHATR_NODE_ID", "changednode");
    char *o4 = swap_env("CHATR_DB_HOLD_MS", "1234");
    char *o5 = swap_env("CHATR_HUB_SWEEP_MS", "4321");
    CHECK(fn_settings_get() == s);
    CHECK_STR(hub_conf_public_url(), pub);
    CHECK_STR(fn_wps_hub(), hub);
    CHECK_STR(hub_node_id(), node);
    CHECK(fn_settings_get()->db_hold_ms == hold);
    CHECK(hub_sweep_every_ms() == sweep);
    restore_env("CHATR_PUBLIC_URL", o1);
    restore_env("WEBPUBSUB_HUB", o2);
    restore_env("CHATR_NODE_ID", o3);
    restore_env("CHATR_DB_HOLD_MS", o4);
    restore_env("CHATR_HUB_SWEEP_MS", o5);
}

/* The struct holds copies: a value the environment drops later stays readable (and the same). */
UNIT_TEST(settings_outlive_the_environment)
{
    const fn_settings *s = fn_settings_get();
    char *old = swap_env("DATABASE_URL", "host=/nowhere dbname=elsewhere");
    char before[1024];
    snprintf(before, sizeof before, "%s", s->database_url ? s->database_url : "(unset)");
    unsetenv("DATABASE_URL");
    CHECK_STR(s->database_url ? s->database_url : "(unset)", before);
    restore_env("DATABASE_URL", old);
}
