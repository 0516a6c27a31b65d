// A TU of attnsel_data whose IDX readers are built without gzip support, next to data_test.cpp's
// (built with it): issue #16, the switch must not be an ODR hazard between TUs.
#undef ATTNSEL_WITH_ZLIB
#define ATTNSEL_WITH_ZLIB 0
#include <attnsel/data/idx.hpp>

static_assert(ATTNSEL_HAS_ZLIB == 0, "this TU must see the reader without zlib");

attnsel::IdxArray decode_idx_without_zlib(const unsigned char* data, std::size_t size) {
  return attnsel::decode_idx(data, size, "plain-tu");
}
