#!/usr/bin/env bash
# Requires: clang-format. Userspace and test C sources follow .clang-format.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
files=$(git ls-files -co --exclude-standard 'userspace/*.[ch]' 'tests/*.[ch]')
[ -n "$files" ] || { echo "SKIP: no C sources"; exit 77; }
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
