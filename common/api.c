/* api.c — the public C API of include/cgrouparch.h that needs no ZooKeeper: the seed's
 * get_cgexec_arg over a conf (or snapshot) text. cgarch_cgexec_arg_zk is in api-zk.c. */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cgrouparch.h"
#include "conf.h"

static int parse_any(const char *conf_json, struct conf **ret) {
        if (!conf_json)
                return -EINVAL;
        return conf_parse_text(conf_json, strlen(conf_json), CONF_TEXT_ANY, ret, NULL);
}

int cgarch_cgexec_arg(const char *conf_json, const char *root, const char *const *names, int n,
                      char **ret_json) {
        _cleanup_(conf_freep) struct conf *c = NULL;
        cJSON *out;
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
        out = cJSON_CreateObject();
        if (!out)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *arg = NULL;

                if (cJSON_GetObjectItemCaseSensitive(out, names[i]))
                        continue; /* asked twice: one key */
                r = conf_cgexec_arg(c, root, names[i], &arg);
                if (r < 0 && r != -ENOENT)
                        goto fail;
                /* As the seed: a name held by no tree maps to "". */
                if (!cJSON_AddStringToObject(out, names[i], arg ? arg : "")) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        s = cJSON_PrintUnformatted(out);
        cJSON_Delete(out);
        if (!s)
                return -ENOMEM;
        *ret_json = s;
        return 0;
fail:
        cJSON_Delete(out);
        return r;
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
