#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/tail-t"
