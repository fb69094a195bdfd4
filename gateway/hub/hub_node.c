/* hub_node.c: which gateway node this process belongs to (CHATR_NODE_ID) and the node's epoch,
 * the nginx master that holds its sockets now (docs/liveness.md, "Epochs"). */
#include "hub_node.h"
#include "hub_conf.h"
#include "fn.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *hub_node_id(void)
{
    const char *n = hub_conf_get()->node_id;
    return n && *n ? n : "node";
}

/* The node's epoch: the pid of its nginx master (run/nginx.pid), 0 when none runs. Every row
 * carries the epoch of the nginx that holds its socket, and a new epoch sweeps the old ones
 * (hub_sweep.c), so a wrong answer would end live connections: the pid must name a running
 * process called nginx, not a zombie (a stale or half-written pid file names nothing, or something
 * else). /proc is read rather than kill(pid, 0), which fails with EPERM when nginx runs as another
 * user. */
long hub_node_epoch(void)
{
    const char *sd = fn_settings_get()->state_dir;
    char path[1024];
    snprintf(path, sizeof path, "%s/run/nginx.pid", sd && *sd ? sd : ".");
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1) pid = 0;
        fclose(f);
    }
    if (pid <= 0) return 0;
    /* /proc/<pid>/stat: "pid (comm) state ..."; a zombie (Z) or dead (X) master is no nginx */
    char stat[256] = "";
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (!f && access("/proc/self/stat", R_OK) != 0) /* no /proc here: ask the kernel instead */
        return kill((pid_t)pid, 0) == 0 || errno == EPERM ? pid : 0;
    if (f) {
        if (!fgets(stat, sizeof stat, f)) stat[0] = '\0';
        fclose(f);
    }
    const char *lp = strchr(stat, '('), *rp = strrchr(stat, ')');
    if (!lp || !rp || rp - lp != 6 || strncmp(lp + 1, "nginx", 5) != 0) return 0;
    return rp[1] == ' ' && rp[2] && !strchr("ZX", rp[2]) ? pid : 0;
}
