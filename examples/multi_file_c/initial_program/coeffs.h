/* Coefficients of the odd polynomial in sine.c. */
#ifndef COEFFS_H
#define COEFFS_H
// EVOLVE-BLOCK-START
#define C3 0.16
#define C5 0.008
// EVOLVE-BLOCK-END
#endif
