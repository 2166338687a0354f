/* placeholder until the cg-syncd issue lands */
#include <stdio.h>
int main(void) {
        fprintf(stderr, "cg-syncd: not built yet\n");
        return 1;
}
