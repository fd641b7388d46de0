#!/usr/bin/env bash
# libFuzzer targets under fuzz/ (clang, with ASan + UBSan).
#   scripts/fuzz.sh replay [BUILD]      build and run each target once over its seed corpus
#   scripts/fuzz.sh run SECONDS [BUILD] build and fuzz each target for SECONDS (make fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-replay}"
if [ "$mode" = run ]; then seconds="${2:-60}"; build="${3:-build-fuzz}"; else build="${2:-build-fuzz}"; fi
# The generated protobuf code comes from the normal build.
make --no-print-directory build/libsso.a >/dev/null
mkdir -p "$build"
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Ilib -Ibuild/gen -Iservices/token -Iservices/saml
       $(pkg-config --cflags libczmq jansson libprotobuf-c openssl libxml-2.0 libcurl xmlsec1-openssl zlib))
libs=($(pkg-config --libs libczmq libzmq jansson libprotobuf-c openssl libxml-2.0 libcurl xmlsec1-openssl zlib) -lpthread)
lib_srcs=($(ls lib/*.c | grep -v selftest.c) build/gen/*.pb-c.c)
saml_srcs="$(ls services/saml/*.c | grep -v -e /main.c -e /selftest.c | tr '\n' ' ')"
token_srcs="$(ls services/token/*.c | grep -v -e /main.c -e /selftest.c | tr '\n' ' ')"
declare -A extra=([token_params]="$token_srcs" [authorize_params]="$token_srcs"
                  [acs]="$saml_srcs")
passed=0 failed=0
for src in fuzz/fuzz_*.c; do
  name="$(basename "$src" .c)"; name="${name#fuzz_}"
  bin="$build/fuzz_$name"
  if [ ! -x "$bin" ] || [ -n "$(find "$src" lib services/token services/saml -newer "$bin" -name '*.[ch]' | head -n 1)" ]; then
    clang "${flags[@]}" -o "$bin" "$src" ${extra[$name]:-} "${lib_srcs[@]}" "${libs[@]}"
  fi
  corpus="fuzz/corpus/$name"; mkdir -p "$corpus"
  if [ "$mode" = run ]; then
    work="$build/corpus-$name"; mkdir -p "$work"
    if "$bin" -max_total_time="$seconds" -max_len=65536 "$work" "$corpus" >"$build/$name.log" 2>&1; then
      echo "fuzz $name: $(grep -c . <(ls "$work")) inputs in the working corpus, no crash"; passed=$((passed + 1))
    else echo "fuzz $name: CRASH, see $build/$name.log"; tail -n 30 "$build/$name.log"; failed=$((failed + 1)); fi
  else
    if "$bin" -runs=0 "$corpus" >"$build/$name.log" 2>&1 && ASAN_OPTIONS=detect_leaks=1 "$bin" "$corpus"/* >>"$build/$name.log" 2>&1; then
      echo "fuzz $name: $(ls "$corpus" | wc -l) seeds replayed"; passed=$((passed + 1))
    else echo "fuzz $name: FAILED, see $build/$name.log"; tail -n 30 "$build/$name.log"; failed=$((failed + 1)); fi
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
