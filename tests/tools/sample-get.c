/* sample-get — reads one cg-accountd sample (JSON) on stdin and prints one thing of it, for
 * test scripts that have no python (the VM guest):
 *   sample-get NODE FIELD[.KEY]
 * NODE is "<subsystem>" or "<subsystem>/<child>/<grandchild>..." (down the sub_cgroup maps);
 * FIELD is "value" or "pressure" (or any other key of the node). With .KEY it prints that
 * integer ("1446489231295"); without, the sorted keys of the object joined by ',' ("peak,usage").
 * Exit 1 with nothing printed when the node, field or key is missing or not of that type. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

int main(int argc, char **argv) {
        static char buf[1 << 22];
        size_t len = fread(buf, 1, sizeof(buf) - 1, stdin);
        char *node, *field, *key, *save = NULL;
        const cJSON *n, *f;
        cJSON *j;

        if (argc != 3) {
                fprintf(stderr, "usage: sample-get NODE FIELD[.KEY] < sample.json\n");
                return 2;
        }
        buf[len] = '\0';
        j = cJSON_Parse(buf);
        if (!j)
                return 1;
        node = argv[1];
        n = cJSON_GetObjectItemCaseSensitive(j, strtok_r(node, "/", &save));
        for (char *c; n && (c = strtok_r(NULL, "/", &save));)
                n = cJSON_GetObjectItemCaseSensitive(
                        cJSON_GetObjectItemCaseSensitive(n, "sub_cgroup"), c);
        field = argv[2];
        key = strchr(field, '.');
        if (key)
                *key++ = '\0';
        f = n ? cJSON_GetObjectItemCaseSensitive(n, field) : NULL;
        if (!f || !cJSON_IsObject(f))
                return 1;
        if (key) {
                const cJSON *v = cJSON_GetObjectItemCaseSensitive(f, key);
                if (!cJSON_IsNumber(v))
                        return 1;
                printf("%.0f\n", v->valuedouble); /* test values stay far below 2^53 */
        } else {
                const char *names[64];
                size_t k = 0;
                for (const cJSON *c = f->child; c && k < 64; c = c->next)
                        names[k++] = c->string;
                qsort(names, k, sizeof(*names), cmp);
                for (size_t i = 0; i < k; i++)
                        printf("%s%s", i ? "," : "", names[i]);
                printf("\n");
        }
        cJSON_Delete(j);
        return 0;
}
