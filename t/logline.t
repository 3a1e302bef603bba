#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/logline-t"
