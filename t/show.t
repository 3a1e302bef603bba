#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/show-t"
