#!/bin/bash
# Appends and import of the code at a base revision and of the working tree, run in
# turns on this machine (noisy: compare ranges, not single runs).
#   bench/side_by_side.sh BASE_REV [ROUNDS]
# Prints one JSON line a run: "appends <side> <round> {...}" (bench/appends.py, 5 s of
# wrk each) and "import <side> <round> {...}" (100,000 events, bench/run.py --step build).
set -euo pipefail
base_rev=$1
rounds=${2:-2}
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
    psql "$pg" -q -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public" 2>/dev/null
    echo "appends $side $round $(run $side bench/appends.py 5 "$pg" | tail -1)"
    work=$(mktemp -d)
    echo "import $side $round $(run $side bench/run.py --step build --workdir "$work" --events 100000)"
    rm -rf "$work"
  done
done
psql "$admin" -q -c "DROP DATABASE truceline_side_by_side WITH (FORCE)"
