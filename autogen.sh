#!/bin/sh
# autogen.sh - regenerate the autotools files after a fresh checkout.
set -e
cd "$(dirname "$0")"
autoreconf -fi
