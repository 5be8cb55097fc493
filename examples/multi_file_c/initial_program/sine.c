#include "coeffs.h"

/* The sine on [0, pi/2]: the form evolves here, its coefficients in coeffs.h. */
double approx_sin(double x) {
    // EVOLVE-BLOCK-START
    double x2 = x * x;
    return x * (1.0 - x2 * (C3 - x2 * C5));
    // EVOLVE-BLOCK-END
}
