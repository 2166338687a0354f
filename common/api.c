/* api.c — the public C API of include/cgrouparch.h that needs no ZooKeeper: the seed's
 * get_cgexec_arg over a conf (or snapshot) text. cgarch_cgexec_arg_zk is in api-zk.c.
 *
 * The arguments are for this host's cgexec, so they follow this host's mounts: where cpu and
 * cpuacct are separate v1 hierarchies (Debian 12's hybrid layout) the cpu tree is named in both,
 * or a cgexec'd process would never be in the cpuacct cgroup that cg-accountd reads. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "cgfs.h"
#include "cgrouparch.h"
#include "conf.h"
#include "strbuf.h"
#include "util.h"

static int parse_any(const char *conf_json, struct conf **ret) {
        if (!conf_json)
                return -EINVAL;
        return conf_parse_text(conf_json, strlen(conf_json), CONF_TEXT_ANY, ret, NULL);
}

unsigned api_cgexec_flags(const char *mountinfo) {
        _cleanup_(cgfs_layout_freep) struct cgfs_layout *l = NULL;
        const struct cgfs_mount *cpu, *cpuacct;

        /* Every cgroup mount, wherever it is: cgexec (libcgroup) finds them all the same way. */
        if (!mountinfo || cgfs_layout_parse(mountinfo, "/", &l) < 0)
                return 0;
        cpu = cgfs_layout_find(l, "cpu");
        cpuacct = cgfs_layout_find(l, "cpuacct");
        if (!cpu || cpu->v2 || !cpuacct || cpuacct->v2 ||
            strv_contains(cpu->controllers, "cpuacct"))
                return 0;
        return CONF_CGEXEC_CPUACCT;
}

unsigned api_cgexec_host_flags(void) {
        _cleanup_free_ char *text = NULL;

        if (read_full_file("/proc/self/mountinfo", &text, NULL) < 0)
                return 0; /* no /proc: the seed's text, which is right on most hosts */
        return api_cgexec_flags(text);
}

struct cgexec_ctx {
        const struct conf *conf;
        const char *root;
        unsigned flags;
};

static int cgexec_one(const char *name, void *userdata, char **ret) {
        const struct cgexec_ctx *x = userdata;

        return conf_cgexec_arg(x->conf, x->root, name, x->flags, ret);
}

int api_name_map_json(const char *const *names, int n,
                      int (*one)(const char *name, void *userdata, char **ret), void *userdata,
                      char **ret_json) {
        struct strbuf b = {};
        bool first = true;
        char *s;
        int r;

        (void) strbuf_puts(&b, "{");
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *arg = NULL;
                bool dup = false;

                for (int k = 0; k < i && !dup; k++)
                        dup = strcmp(names[k], names[i]) == 0;
                if (dup)
                        continue; /* asked twice: one key */
                r = one(names[i], userdata, &arg);
                if (r < 0 && r != -ENOENT) {
                        strbuf_done(&b);
                        return r;
                }
                if (!first)
                        (void) strbuf_puts(&b, ", ");
                first = false;
                (void) strbuf_json_string(&b, names[i]);
                (void) strbuf_puts(&b, ": ");
                /* As the seed: a name held by no tree maps to "". */
                (void) strbuf_json_string(&b, arg ?: "");
        }
        (void) strbuf_puts(&b, "}");
        s = strbuf_steal(&b); /* NULL if any append failed */
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
}

int api_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                   unsigned flags, char **ret_json) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        int r;

        if (n < 0 || (n > 0 && !names) || !ret_json)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (!names[i])
                        return -EINVAL;
        r = parse_any(conf_json, &c);
        if (r < 0)
                return r;
        /* `cgarch cgexec-arg` prints exactly this. */
        return api_name_map_json(names, n, cgexec_one, &(struct cgexec_ctx){ c, root, flags },
                                 ret_json);
}

int api_cgexec_arg_one(const char *conf_json, const char *root, const char *name, unsigned flags,
                       char **ret) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        int r;

        if (!name || !ret)
                return -EINVAL;
        r = parse_any(conf_json, &c);
        if (r < 0)
                return r;
        return conf_cgexec_arg(c, root, name, flags, ret);
}

int cgarch_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                      char **ret_json) {
        return api_cgexec_arg(conf_json, root, names, n, api_cgexec_host_flags(), ret_json);
}

int cgarch_cgexec_arg_one(const char *conf_json, const char *root, const char *name, char **ret) {
        return api_cgexec_arg_one(conf_json, root, name, api_cgexec_host_flags(), ret);
}
