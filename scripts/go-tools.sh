#!/usr/bin/env bash
# go install each MODULE@VERSION given into $TOOLS/bin. A module that does not
# build (or that the proxy refuses) leaves its error in $TOOLS/unavailable/<tool>
# and the others go on; one that builds clears that file. Times go to stdout.
set -uo pipefail
GO=${GO:-go}
TOOLS=$(realpath -m "${TOOLS:-.tools}")
mkdir -p "$TOOLS/bin" "$TOOLS/unavailable"
# GOFLAGS=-mod=mod: a module whose vendor/ or go.sum lags still installs; GOTOOLCHAIN=local:
# no toolchain download behind our back.
export GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
for spec in "$@"; do
  module=${spec%@*}
  tool=${module##*/}
  started=$(date +%s)
  if out=$("$GO" install "$spec" 2>&1); then
    rm -f "$TOOLS/unavailable/$tool"
    echo "$tool: built from $spec in $(( $(date +%s) - started )) s"
  else
    printf '%s\n%s\n' "$spec" "$out" > "$TOOLS/unavailable/$tool"
    echo "$tool: NOT built from $spec ($(( $(date +%s) - started )) s): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
  fi
done
