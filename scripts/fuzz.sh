#!/usr/bin/env bash
# Fuzzes every target of fuzz/Pinhole.Fuzz with AFL++ (Debian afl++) through SharpFuzz, each for at least
# --execs executions (default 1,000,000), starting from fuzz/corpus/TARGET. Prints one line per target
# (executions, exec/s, crashes, hangs) and writes artifacts/fuzz/summary.tsv; exits 1 if anything crashed or hung.
# Crashing inputs are in artifacts/fuzz/findings/TARGET/default/crashes/: replay one with
#   dotnet artifacts/fuzz/bin/Pinhole.Fuzz.dll replay TARGET FILE
# then fix the parser, add the input to fuzz/corpus/TARGET/crash-NAME and a test to tests/Pinhole.Reliability.Tests/Fuzzing.
#
# usage: scripts/fuzz.sh [--execs N] [--seconds S] [--jobs J] [--persistent] [--keep-corpus] [TARGET...]
#   --seconds S     time-box each target to S seconds as well (whichever comes first: N executions or S seconds)
#   --jobs J        fuzz J targets at a time (one afl-fuzz each; default 1; at most the number of cores helps)
#   --persistent    run each target in the fuzzer's process (SharpFuzz Fuzzer.Run) instead of a child process:
#                   faster, but a stack overflow ends that target's run instead of being saved as a crash
#   --keep-corpus   copy the inputs AFL++ kept for new coverage back into fuzz/corpus/TARGET (minimized with afl-cmin)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
execs=1000000
seconds=
jobs=1
mode=afl
keep=0
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --execs) execs=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --persistent) mode=afl-persistent; shift ;;
    --keep-corpus) keep=1; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) targets+=("$1"); shift ;;
  esac
done
command -v afl-fuzz >/dev/null || { echo "fuzz: afl-fuzz not found (scripts/setup-test-deps.sh installs afl++)" >&2; exit 2; }

out="$root/artifacts/fuzz"
bin="$out/bin"
rm -rf "$bin"; mkdir -p "$out/findings"
dotnet tool restore >/dev/null
# Its own build tree (--artifacts-path): fuzzing never races a build of the worktree.
dotnet publish fuzz/Pinhole.Fuzz -c Release -o "$bin" --artifacts-path "$out/build" -nologo -v q
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(dotnet "$bin/Pinhole.Fuzz.dll" list | cut -f1)

# Instrument the assemblies under test (never the harness or the BCL): SharpFuzz rewrites them in place.
for assembly in $(dotnet "$bin/Pinhole.Fuzz.dll" list | cut -f2 | tr ',' '\n' | sort -u); do
  dotnet sharpfuzz "$bin/$assembly.dll" >/dev/null
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
summary="$out/summary.tsv"
printf 'target\texecutions\texec_per_sec\tcrashes\thangs\tcorpus\n' > "$summary"

# One target: afl-fuzz, then its summary line in $out/TARGET.tsv (exit 1 if it did not start, crashed or hung).
fuzz_one() {
  local target=$1 findings="$out/findings/$1"
  rm -rf "$findings" "$out/$target.tsv"
  # -t: a .NET target's first execution includes JIT; 10 s leaves room on a loaded machine.
  afl-fuzz -i "fuzz/corpus/$target" -o "$findings" -t 10000 -m none -E "$execs" ${seconds:+-V "$seconds"} \
    -- dotnet "$bin/Pinhole.Fuzz.dll" "$mode" "$target" > "$out/$target.log" 2>&1 || true
  local stats="$findings/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "fuzz: $target: afl-fuzz did not start; see $out/$target.log" >&2
    tail -20 "$out/$target.log" >&2
    return 1
  fi
  get() { awk -F' *: *' -v k="$1" '$1 == k { print $2 }' "$stats"; }
  local crashes hangs
  crashes=$(get saved_crashes); hangs=$(get saved_hangs)
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$target" "$(get execs_done)" "$(get execs_per_sec)" "$crashes" "$hangs" "$(get corpus_count)" > "$out/$target.tsv"
  cat "$out/$target.tsv"
  if [ "$keep" = 1 ]; then
    local kept="$out/cmin/$target"
    rm -rf "$kept"
    AFL_PATH=/usr/lib/afl afl-cmin -i "$findings/default/queue" -o "$kept" -t 10000 -m none -- dotnet "$bin/Pinhole.Fuzz.dll" "$mode" "$target" >/dev/null 2>&1 \
      && for f in "$kept"/*; do cp "$f" "fuzz/corpus/$target/afl-$(sha1sum "$f" | cut -c1-12)"; done
  fi
  [ "$crashes" = 0 ] && [ "$hangs" = 0 ]
}
export -f fuzz_one
export out bin execs seconds mode keep

status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one "$1"' _ {} || status=1
for target in "${targets[@]}"; do
  if [ -f "$out/$target.tsv" ]; then cat "$out/$target.tsv" >> "$summary"; else status=1; fi
done
column -t "$summary"
exit $status
