#!/bin/bash
# Appends and import of the code at a base revision and of the working tree, run in
# turns on this machine (noisy: compare ranges, not single runs).
#   bench/side_by_side.sh BASE_REV [ROUNDS] [WHAT]
# Prints one JSON line a run: "appends <side> <round> {...}" (bench/appends.py, 5 s of
# wrk each), "import <side> <round> {...}" (100,000 events, bench/run.py --step build)
# and, when WHAT holds "load" or "window", "load <side> <round> {...}"
# (bench/under_load.py) and "window <side> <round> {...}" (bench/import_window.py, 60,000
# lines): this tree's scripts against either side's code; with "speed", "build",
# "catch_up", "queries" (bench/run.py's steps on a log of 100,000 events) and "http"
# (bench/queries_http.py on it, 5 s of wrk each); with "scale", "scale"
# (bench/scale_out.py, 5 s each); with "growth", "read", "catch_up" and "queries" of logs of
# 10,000, 100,000 and 1,000,000 events ("build" first; sizes from GROWTH_SIZES).
# WHAT defaults to "appends import".
set -euo pipefail
base_rev=$1
rounds=${2:-2}
what=${3:-appends import}
root=$(cd "$(dirname "$0")/.." && pwd)
python=$root/.venv/bin/python
base=$(mktemp -d)
trap 'git -C "$root" worktree remove --force "$base"' EXIT
git -C "$root" worktree add -q "$base" "$base_rev"
admin=postgresql://postgres@127.0.0.1:5432/postgres
psql "$admin" -q -c "DROP DATABASE IF EXISTS truceline_side_by_side" -c "CREATE DATABASE truceline_side_by_side"
pg=postgresql://postgres@127.0.0.1:5432/truceline_side_by_side
run() {  # side, then the script and its arguments
  local side=$1; shift
  if [ "$side" = base ]; then PYTHONPATH=$base/src "$python" "$base/$@"; else "$python" "$root/$@"; fi
}
for round in $(seq "$rounds"); do
  for side in new base; do
    if [[ $what == *appends* ]]; then
      psql "$pg" -q -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public" 2>/dev/null
      echo "appends $side $round $(run $side bench/appends.py 5 "$pg" | tail -1)"
    fi
    if [[ $what == *import* ]]; then
      work=$(mktemp -d)
      echo "import $side $round $(run $side bench/run.py --step build --workdir "$work" --events 100000)"
      rm -rf "$work"
    fi
    if [[ $what == *load* ]]; then
      src=$root/src; [ "$side" = base ] && src=$base/src
      echo "load $side $round $(PYTHONPATH=$src "$python" "$root/bench/under_load.py" 100000 10)"
    fi
    if [[ $what == *speed* ]]; then
      src=$root/src; [ "$side" = base ] && src=$base/src
      work=$(mktemp -d)
      for step in build catch_up queries; do
        echo "$step $side $round $(run $side bench/run.py --step $step --workdir "$work" --events 100000)"
      done
      echo "http $side $round $(PYTHONPATH=$src "$python" "$root/bench/queries_http.py" "$work" 5 | tail -1)"
      rm -rf "$work"
    fi
    if [[ $what == *growth* ]]; then
      for size in ${GROWTH_SIZES:-10000 100000 1000000}; do
        work=$(mktemp -d)
        for step in build read catch_up queries; do
          echo "$step-$size $side $round $(run $side bench/run.py --step $step --workdir "$work" --events "$size")"
        done
        rm -rf "$work"
      done
    fi
    if [[ $what == *scale* ]]; then
      src=$root/src; [ "$side" = base ] && src=$base/src
      psql "$pg" -q -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public" 2>/dev/null
      echo "scale $side $round $(PYTHONPATH=$src "$python" "$root/bench/scale_out.py" 5 "$pg" | tail -1)"
    fi
    if [[ $what == *window* ]]; then
      src=$root/src; [ "$side" = base ] && src=$base/src
      echo "window $side $round $(PYTHONPATH=$src "$python" "$root/bench/import_window.py" --lines 60000 | tail -1)"
    fi
  done
done
psql "$admin" -q -c "DROP DATABASE truceline_side_by_side WITH (FORCE)"
