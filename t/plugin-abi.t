#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# plugin-abi.t - a parser plugin built for another ABI is refused, and the
# message says which ABI it has and which one fumidai speaks.
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file have_prog);

plan skip_all => 'no C compiler' unless have_prog('cc');
my $dir = tmpdir();
write_file("$dir/old.c", <<'EOC');
#include "fumidai/plugin.h"
static int claims(const char *p, size_t n) { (void)p; (void)n; return 1; }
static void *init(fm_log_fn *l, const char **e) { (void)l; (void)e; static int x; return &x; }
static int parse(void *s, const struct fm_line *ln, struct fm_event *ev, fm_emit_fn *emit, void *a)
{ (void)s; (void)ln; (void)ev; (void)emit; (void)a; return FM_PARSE_UNKNOWN; }
static void fini(void *s) { (void)s; }
const struct fm_parser fm_parser_plugin = { FM_PLUGIN_ABI + 41, "old", "wrong ABI", claims, init, parse, fini };
EOC
write_file("$dir/nosym.c", "int something_else = 1;\n");
for my $p (qw(old nosym)) {
    system('cc', '-shared', '-fPIC', "-I$ENV{FM_SRCDIR}/include", '-o', "$dir/$p.so",
        "$dir/$p.c") == 0 or BAIL_OUT("cannot build $p.so");
}
write_file("$dir/x.log", "Nov 24 11:30:25 mx1 postfix/smtpd[1]: connect from a[127.0.0.1]\n");
local $ENV{FUMIDAI_PLUGIN_DIR} = $dir;
my ($st, $out, $err) = run_cmd([fumidai(), 'parse', '-c', '/dev/null', '--parsers', 'old', "$dir/x.log"]);
is($st, 2, 'a plugin of another ABI is refused');
# the ABI this tree speaks, from the header the plugin was built with
my ($abi) = (FM::read_file("$ENV{FM_SRCDIR}/include/fumidai/plugin.h") //
    '') =~ /^#define FM_PLUGIN_ABI (\d+)$/m;
my $old = ($abi // 0) + 41;
like($err, qr/parser "old": .*old\.so was built for plugin ABI $old, this fumidai speaks ABI $abi; rebuild/,
    'the message gives both ABIs');
($st, $out, $err) = run_cmd([fumidai(), 'parse', '-c', '/dev/null', '--parsers', 'nosym', "$dir/x.log"]);
is($st, 2, 'a library without the descriptor is refused');
like($err, qr/nosym\.so has no fm_parser_plugin symbol/, 'and said so');
done_testing();
