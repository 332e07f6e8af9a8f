// libFuzzer target for envelope decoding: what a client or worker may send the broker. The input is
// decoded as an Op and as a Reply, through decode() (fast path, then the full decoder) and through
// each path alone.
// Invariants (abort on violation):
//   - nothing crashes, leaks or reads out of bounds (the sanitizers watch);
//   - where the fast path accepts the bytes, the full decoder accepts them too and both decode the
//     same envelope (equal re-encodings);
//   - decode() accepts exactly what the full decoder accepts.
// Built and run by fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "common/envelope.hpp"
#include "common/envelope_fast.hpp"

using namespace clossyne;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

template <typename T>
void check_paths(std::string_view body) {
  T full;
  const bool full_ok = decode_full(body, full).ok();
  T either;
  check(decode(body, either).ok() == full_ok, "decode() and the full decoder disagree on validity");
  T fast;
  if (!decode_fast(body, fast)) return;
  check(full_ok, "the fast path accepted what the full decoder refuses");
  check(encode(fast) == encode(full), "the fast path and the full decoder decode differently");
  check(encode(either) == encode(full), "decode() differs from the full decoder");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  check_paths<Op>(body);
  check_paths<Reply>(body);
  return 0;
}
