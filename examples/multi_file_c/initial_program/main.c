/* Reads x values, one per line, and prints "x approx_sin(x)" for each. The scoring is
   done outside this process (evaluate.sh), so the candidate linked in here cannot fake it. */
#include <stdio.h>

double approx_sin(double x);

int main(void) {
    double x;
    while (scanf("%lf", &x) == 1)
        printf("%.17g %.17g\n", x, approx_sin(x));
    return 0;
}
