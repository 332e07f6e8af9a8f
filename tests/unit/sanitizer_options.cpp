// Default options of AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer for the
// unit tests of the sanitizer build (CLOSSYNE_SANITIZE; tests/CMakeLists.txt adds this file to each
// unit-test executable there). The runtimes call these before main; ASAN_OPTIONS and UBSAN_OPTIONS
// in the environment override them one by one.
//   halt_on_error                 the first error fails the test, with its report
//   detect_leaks                  LeakSanitizer at exit (x86_64 Linux: gcc and clang support it)
//   detect_stack_use_after_return a pointer into a returned frame is caught, not silently reused
//   strict_init_order             static initializers that read another file's globals
//   print_stacktrace              UBSan reports say where, not only what
#define CLOSSYNE_NO_SANITIZE __attribute__((no_sanitize("address", "undefined"), used))

extern "C" CLOSSYNE_NO_SANITIZE const char* __asan_default_options() {
  return "halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:"
         "check_initialization_order=1:strict_init_order=1:abort_on_error=0";
}

extern "C" CLOSSYNE_NO_SANITIZE const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1";
}
