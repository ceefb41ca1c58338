#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer's driver with `callback` as the target: the fuzz executables' entry point
/// (SwiftPM names an executable's main `<Module>_main`, so libFuzzer's own main is not used).
int firestream_fuzz_main(int argc, char **argv, int (*callback)(const uint8_t *data, size_t size));
