/* The sine on [0, pi/2] from a few multiplications: the constants and the form evolve. */
double approx_sin(double x) {
    // EVOLVE-BLOCK-START
    double x2 = x * x;
    return x * (1.0 - x2 * (0.16 - x2 * 0.008));
    // EVOLVE-BLOCK-END
}
