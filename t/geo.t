#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/geo-t" "$(dirname "$0")/lib/mkmmdb.pl"
