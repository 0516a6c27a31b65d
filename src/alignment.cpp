// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
//
// The compiled library's alignment marker (types.hpp): its users' TUs refer to the marker of
// their own Eigen alignment class, so a TU built for another class does not link.
#include <attnsel/types.hpp>

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
extern const int ATTNSEL_DETAIL_ALIGNMENT_MARKER;
const int ATTNSEL_DETAIL_ALIGNMENT_MARKER = EIGEN_MAX_ALIGN_BYTES;
}  // namespace detail
ATTNSEL_NAMESPACE_END
