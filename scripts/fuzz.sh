#!/usr/bin/env bash
# libFuzzer targets under fuzz/ (clang, with ASan + UBSan).
#   scripts/fuzz.sh replay [BUILD]      build and run each target once over its seed corpus
#   scripts/fuzz.sh run SECONDS [BUILD] build and fuzz each target for SECONDS (make fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-replay}"
if [ "$mode" = run ]; then seconds="${2:-60}"; build="${3:-build-fuzz}"; else build="${2:-build-fuzz}"; fi
# The generated code (protobuf, the directory's migrations and OpenAPI document) comes from the
# normal build.
make --no-print-directory build/libsso.a build/gen/dir_migrations.c build/gen/dir_openapi_doc.c >/dev/null
mkdir -p "$build/obj"
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -Ilib -Ibuild/gen -Iservices/token -Iservices/saml -Iservices/directory -Iservices/oidc -Iservices/scim
       $(pkg-config --cflags libczmq jansson libprotobuf-c openssl libxml-2.0 libcurl xmlsec1-openssl zlib sqlite3 libpq))
libs=($(pkg-config --libs libczmq libzmq jansson libprotobuf-c openssl libxml-2.0 libcurl xmlsec1-openssl zlib sqlite3 libpq) -lpthread)
# Everything a target may reach, in one archive: the linker takes only the objects a target
# needs (a module brings its self-test along, and with it the test kits it calls, the
# directory's in-process dir_fake among them).
srcs=($(ls lib/*.c services/saml/*.c services/token/*.c services/oidc/*.c services/directory/*.c services/directory/*/*.c services/scim/*.c \
        | grep -v -e /main.c -e /selftest.c) build/gen/*.pb-c.c build/gen/dir_migrations.c \
        build/gen/dir_openapi_doc.c)
archive="$build/libfuzz.a" stale=0
for src in "${srcs[@]}"; do
  obj="$build/obj/$(echo "${src%.c}" | tr / _).o"
  if [ ! -e "$obj" ] || [ -n "$(find "$src" $(dirname "$src") lib build/gen -maxdepth 1 -newer "$obj" -name '*.h' | head -n 1)" ] \
     || [ "$src" -nt "$obj" ]; then
    clang "${flags[@]}" -c -o "$obj" "$src"; stale=1
  fi
done
if [ "$stale" = 1 ] || [ ! -e "$archive" ]; then rm -f "$archive"; ar rcs "$archive" "$build"/obj/*.o; fi
passed=0 failed=0
for src in fuzz/fuzz_*.c; do
  name="$(basename "$src" .c)"; name="${name#fuzz_}"
  bin="$build/fuzz_$name"
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ "$archive" -nt "$bin" ]; then
    clang "${flags[@]}" -o "$bin" "$src" "$archive" "${libs[@]}"
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
