// Compiled into every executable of a sanitizer build (cmake/sanitizers.cmake),
// never into a release build. The sanitizer runtimes call these functions at
// start-up, before main, for their default options and suppressions; options
// in ASAN_OPTIONS, UBSAN_OPTIONS, LSAN_OPTIONS or TSAN_OPTIONS still apply on
// top. Built in rather than passed in the environment because a dsd does not
// always get the environment its starter had: systemd passes on only the
// variables a unit names, and ds drops some (the NEON_* credentials).

#include "sanitizer_suppressions.inc"  // generated: k_lsan_suppressions, k_tsan_suppressions

#define DS_SANITIZER_CALLBACK extern "C" __attribute__((visibility("default"), used))

// check_initialization_order and strict_init_order: a global constructor that
// reads another translation unit's global is a bug whichever order the
// linker happens to pick today. detect_stack_use_after_return: catches a
// pointer to a dead stack frame (e.g. a lambda capturing a local by
// reference that outlives it). handle_abort: an abort() still prints a stack.
DS_SANITIZER_CALLBACK const char* __asan_default_options() {
  return "check_initialization_order=1:strict_init_order=1:"
         "detect_stack_use_after_return=1:handle_abort=1";
}

// The build uses -fno-sanitize-recover, so the first finding already stops
// the program; print where it happened.
DS_SANITIZER_CALLBACK const char* __ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1";
}

DS_SANITIZER_CALLBACK const char* __lsan_default_suppressions() { return k_lsan_suppressions; }

// second_deadlock_stack: a lock-order report shows where both locks were taken.
DS_SANITIZER_CALLBACK const char* __tsan_default_options() {
  return "second_deadlock_stack=1:handle_abort=1";
}

DS_SANITIZER_CALLBACK const char* __tsan_default_suppressions() { return k_tsan_suppressions; }
