#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/mailout-t"
