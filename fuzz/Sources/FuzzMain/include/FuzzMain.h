#ifndef MON_FUZZ_MAIN_H
#define MON_FUZZ_MAIN_H

/// Runs libFuzzer's driver on the target's LLVMFuzzerTestOneInput.
///
/// SwiftPM links every executable target with `--defsym main=<Target>_main`, so libFuzzer's
/// own `main` is never used: each target defines `<Target>_main` (with @_cdecl) and calls this.
int mon_fuzz_main(int argc, char **argv);

#endif
