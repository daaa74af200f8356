#!/bin/sh
# /irisHealth.sh -- stand-in health check (docs/learnings/container.md): healthy only when
# "iris qlist IRIS" says running (field 4) and the monitor state (field 9) is ok.
line=$(iris qlist IRIS) || exit 1
status=$(printf '%s' "$line" | cut -d^ -f4 | cut -d, -f1)
state=$(printf '%s' "$line" | cut -d^ -f9)
[ "$status" = running ] && [ "$state" = ok ]
