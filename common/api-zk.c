/* api-zk.c — cgarch_cgexec_arg_zk() of include/cgrouparch.h: the seed's get_cgexec_arg reading
 * the conf from ZooKeeper, without a daemon. One short session, bounded by timeout_ms. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgrouparch.h"
#include "util.h"
#include "zk.h"

int cgarch_cgexec_arg_zk(const char *hosts, const char *prefix, const char *auth, const char *root,
                         const char *const *names, int n, int timeout_ms, char **ret_json) {
        _cleanup_(zk_freep) struct zk *z = NULL;
        _cleanup_free_ char *path = NULL, *data = NULL;
        char *auth_v[2] = {(char *) auth, NULL};
        uint64_t deadline;
        int r;

        if (!hosts || !prefix || timeout_ms <= 0 || n < 0 || (n > 0 && !names) || !ret_json)
                return -EINVAL;
        r = zk_path_join(prefix, "arch_conf", &path);
        if (r < 0)
                return r;
        deadline = now_usec(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * USEC_PER_MSEC;
        /* The session timeout asked for only matters if the call outlives it; the server
         * clamps it to its own bounds anyway. */
        r = zk_new(hosts, MAX(timeout_ms, 4000), auth ? auth_v : NULL, &z);
        if (r < 0)
                return r;
        r = zk_get_sync(z, path, deadline, &data, NULL, NULL);
        if (r == -EPERM)
                return -EACCES; /* credentials refused: an auth problem as ZNOAUTH is */
        if (r < 0)
                return r;
        return cgarch_cgexec_arg(data, root, names, n, ret_json);
}
