// Second TU of the ODR check.
#define ATTNSEL_ODR_FUNCTION attnsel_odr_b
#include "odr_tu.inc"
