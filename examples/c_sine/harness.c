/* Reads x values, one per line, and prints "x approx_sin(x)" for each. The scoring is
   done outside this process (evaluate.sh), so an honest mistake cannot skew it; a hostile
   candidate runs as the same uid as evaluate.sh and could (see the README). */
#include <stdio.h>

double approx_sin(double x);

int main(void) {
    double x;
    while (scanf("%lf", &x) == 1)
        printf("%.17g %.17g\n", x, approx_sin(x));
    return 0;
}
