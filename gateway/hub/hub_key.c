/* hub_key.c: the hub's settings from the environment (access key, public URL, node). */
#include "hub.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *hub_access_key(void)
{
    static char key[512];
    if (key[0]) return key;
    const char *cs = getenv("WEBPUBSUB_CONNECTION_STRING");
    for (const char *p = cs; p && *p;) {
        size_t n = strcspn(p, ";");
        if (n > 10 && strncasecmp(p, "AccessKey=", 10) == 0 && n - 10 < sizeof key) {
            memcpy(key, p + 10, n - 10);
            key[n - 10] = '\0';
        }
        p += n;
        if (*p == ';') p++;
    }
    return key;
}

const char *hub_public_url(void)
{
    const char *u = getenv("CHATR_PUBLIC_URL");
    return u && *u ? u : "http://127.0.0.1";
}

const char *hub_node_id(void)
{
    const char *n = getenv("CHATR_NODE_ID");
    return n && *n ? n : "node";
}

long hub_node_epoch(void)
{
    const char *sd = getenv("CHATR_STATE_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/run/nginx.pid", sd && *sd ? sd : ".");
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1) pid = 0;
        fclose(f);
    }
    if (pid > 0 && kill((pid_t)pid, 0) != 0) pid = 0;
    return pid;
}
