/* auth_settings.c: the auth program's own settings, read from the environment once (auth.h). */
#include "auth.h"

#include <stdlib.h>
#include <string.h>

static auth_settings settings;
static int settings_read;

/* CHATR_GUEST_SIGNINS_PER_MINUTE: 1..AUTH_GUEST_SIGNINS_SETTING_MAX, else 0 (the default policy;
 * a value that is set but invalid is logged). */
static int guest_signins(void)
{
    const char *v = getenv("CHATR_GUEST_SIGNINS_PER_MINUTE");
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    if (v && *v && !*end && n >= 1 && n <= AUTH_GUEST_SIGNINS_SETTING_MAX) return (int)n;
    if (v && *v)
        fn_log("CHATR_GUEST_SIGNINS_PER_MINUTE=%.32s is not 1..%d: using %d", v,
               AUTH_GUEST_SIGNINS_SETTING_MAX, AUTH_GUEST_SIGNINS.free);
    return 0;
}

const auth_settings *auth_settings_get(void)
{
    if (settings_read) return &settings;
    settings_read = 1;
    const char *dev = getenv("CHATR_DEV_AUTH");
    settings.dev_auth = dev && !strcmp(dev, "1");
    settings.guest_signins = guest_signins();
    const char *swa = getenv("CHATR_SWA_CONFIG");
    settings.swa_config = swa ? strdup(swa) : NULL;
    return &settings;
}
