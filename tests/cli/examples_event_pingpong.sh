#!/bin/bash
# The event example: two processes ping-pong through two shared events and
# the example checks every round trip itself (exit 0 only if all arrived).
set -eu
"$SHMKIT_BUILD_DIR/examples/event_pingpong" 1000
