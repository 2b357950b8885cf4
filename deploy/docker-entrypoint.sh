#!/bin/sh
# `run` (the default) brings the schema up to date first, as `make run` does; any other command
# is passed on (`backup --to …`, `db current`, `audit verify`, …). HOMECARE_CONFIG: the config file.
set -eu
[ $# -gt 0 ] || set -- run
if [ -n "${HOMECARE_CONFIG:-}" ]; then
  set -- --config "$HOMECARE_CONFIG" "$@"
  command=$3
else
  command=$1
fi
if [ "$command" = run ]; then
  homecare ${HOMECARE_CONFIG:+--config "$HOMECARE_CONFIG"} db upgrade
fi
exec homecare "$@"
