#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/store-t"
