#!/bin/sh
exec "${FM_BUILDDIR:-.}/t/mailmsg-t"
