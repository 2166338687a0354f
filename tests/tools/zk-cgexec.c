/* zk-cgexec — calls the public cgarch_cgexec_arg_zk() (include/cgrouparch.h) as a program would.
 *   zk-cgexec HOSTS PREFIX AUTH|- ROOT TIMEOUT_MS NAME...
 * Prints the JSON on success (exit 0), else "error: <errno name>: <text>" (exit 1). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrouparch.h"

int main(int argc, char **argv) {
        char *json = NULL;
        int r;

        if (argc < 6) {
                fprintf(stderr, "usage: zk-cgexec HOSTS PREFIX AUTH|- ROOT TIMEOUT_MS NAME...\n");
                return 2;
        }
        r = cgarch_cgexec_arg_zk(argv[1], argv[2], strcmp(argv[3], "-") ? argv[3] : NULL, argv[4],
                                 (const char *const *) argv + 6, argc - 6, atoi(argv[5]), &json);
        if (r < 0) {
                printf("error: %s: %s\n", strerrorname_np(-r), strerror(-r));
                return 1;
        }
        printf("%s\n", json);
        free(json);
        return 0;
}
