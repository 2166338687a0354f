/* api.c — the public C API of include/cgrouparch.h that needs no ZooKeeper: the seed's
 * get_cgexec_arg over a conf (or snapshot) text. cgarch_cgexec_arg_zk is in api-zk.c. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cgrouparch.h"
#include "conf.h"
#include "strbuf.h"

static int parse_any(const char *conf_json, struct conf **ret) {
        if (!conf_json)
                return -EINVAL;
        return conf_parse_text(conf_json, strlen(conf_json), CONF_TEXT_ANY, ret, NULL);
}

int cgarch_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                      char **ret_json) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        struct strbuf b = {};
        bool first = true;
        char *s;
        int r;

        if (n < 0 || (n > 0 && !names) || !ret_json)
                return -EINVAL;
        for (int i = 0; i < n; i++)
                if (!names[i])
                        return -EINVAL;
        r = parse_any(conf_json, &c);
        if (r < 0)
                return r;
        /* The seed's json.dumps() shape, {"a": "-g cpu:a", "b": ""}: `cgarch cgexec-arg` prints
         * exactly this. */
        (void) strbuf_puts(&b, "{");
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *arg = NULL;
                bool dup = false;

                for (int k = 0; k < i && !dup; k++)
                        dup = strcmp(names[k], names[i]) == 0;
                if (dup)
                        continue; /* asked twice: one key */
                r = conf_cgexec_arg(c, root, names[i], &arg);
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

int cgarch_cgexec_arg_one(const char *conf_json, const char *root, const char *name, char **ret) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        int r;

        if (!name || !ret)
                return -EINVAL;
        r = parse_any(conf_json, &c);
        if (r < 0)
                return r;
        return conf_cgexec_arg(c, root, name, ret);
}
