#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/util-t"
