#!/usr/bin/env bash
# Requires: clang, libclang-rt-14-dev (scripts/setup). The fuzz smoke:
# builds every libFuzzer target (make fuzz-build) and runs each for
# FUZZ_SMOKE_SECONDS (default 20) from its seed corpus alone; fails on any
# crash, leak, timeout or sanitizer report (scripts/fuzz prints it, the
# input stays in build/fuzz/artifacts/). About 3 minutes in all.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
command -v clang >/dev/null || { echo "SKIP: clang is not installed (scripts/setup)"; exit 77; }
if ! echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return d && n < 0; }' |
	clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null; then
	echo "SKIP: clang cannot link libFuzzer (libclang-rt-14-dev, scripts/setup)"
	exit 77
fi
make -s -j2 fuzz-build >/dev/null || { echo "FAIL: make fuzz-build"; exit 1; }
scripts/fuzz --no-build --fresh --seconds "${FUZZ_SMOKE_SECONDS:-20}"
