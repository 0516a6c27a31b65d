// First TU of the ODR check.
#define ATTNSEL_ODR_FUNCTION attnsel_odr_a
#include "odr_tu.inc"
