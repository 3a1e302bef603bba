#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/lz-t"
