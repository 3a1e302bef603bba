#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/correlate-t"
