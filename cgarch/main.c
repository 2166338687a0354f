/* placeholder until the cgarch issue lands */
#include <stdio.h>
int main(void) {
        fprintf(stderr, "cgarch: not built yet\n");
        return 1;
}
