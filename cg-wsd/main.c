/* placeholder until the cg-wsd issue lands */
#include <stdio.h>
int main(void) {
        fprintf(stderr, "cg-wsd: not built yet\n");
        return 1;
}
