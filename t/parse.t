#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# parse.t - golden files for the Postfix and Dovecot parsers.
#
# Every t/data/{postfix,dovecot}/<case>.log is run through
#   fumidai parse -c /dev/null --year 2026 --tz UTC <case>.log
# from inside its directory (so "src" reads "<case>.log:N"); stdout must be
# exactly <case>.expected.  A difference fails and is shown as a diff.  The
# summary fumidai prints on stderr must account for every line.
#
# FM_REGEN=1 rewrites the .expected files from the current output (review
# the git diff before committing them).
use strict;
use warnings;
use Cwd qw(abs_path getcwd);
use File::Basename qw(basename dirname);
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use FM qw(run_cmd read_file write_file tmpdir);

my $src = abs_path($ENV{FM_SRCDIR} // "$FindBin::Bin/..");
my $bin = abs_path(FM::fumidai()) // '';
plan skip_all => "fumidai binary not built" unless -x $bin;

# Cases whose log deliberately holds lines no parser understands.
my %unrecognized_ok = map { $_ => 1 } qw(hostile.log);

my @cases;
for my $dir (qw(postfix dovecot)) {
	push @cases, sort glob("$src/t/data/$dir/*.log");
}
plan skip_all => "no golden cases" unless @cases;

my $cwd = getcwd();
for my $log (@cases) {
	my $case = basename($log);
	my $dir = dirname($log);
	my $name = basename($dir) . "/$case";
	(my $expfile = $log) =~ s/\.log\z/.expected/;

	chdir $dir or die "$dir: $!";
	my ($st, $out, $err) = run_cmd([$bin, 'parse', '-c', '/dev/null',
	    '--year', '2026', '--tz', 'UTC', $case]);
	chdir $cwd;

	is($st, 0, "$name: exit status 0") or diag($err);
	if ($ENV{FM_REGEN}) {
		write_file($expfile, $out);
		note("$name: rewrote " . basename($expfile));
	}
	my $exp = read_file($expfile);
	if (!defined $exp) {
		fail("$name: has a .expected file");
		next;
	}
	if ($out eq $exp) {
		pass("$name: output matches " . basename($expfile));
	} else {
		fail("$name: output matches " . basename($expfile));
		diag(show_diff($exp, $out));
	}
	check_summary($name, $case, $log, $out, $err);
}
done_testing();

# check_summary - the stderr summary counts every line of the log once
sub check_summary {
	my ($name, $case, $log, $out, $err) = @_;
	my $lines = () = (read_file($log) // '') =~ /\n/g;
	my @sum = grep { /^fumidai: parse: \Q$case\E: lines=/ } split /\n/, $err;
	is(scalar @sum, 1, "$name: one summary line on stderr") or do {
		diag($err);
		return;
	};
	my %n = $sum[0] =~ /(\w+)=(\d+)/g;
	is($n{lines}, $lines, "$name: summary counts $lines lines");
	my $acc = 0;
	$acc += $n{$_} // 0 for qw(parsed ignored unrecognized other_programs
	    malformed too_long bad_bytes);
	is($acc, $n{lines}, "$name: every line is parsed, ignored or counted")
	    or diag($sum[0]);
	my $events = () = $out =~ /\n/g;
	is($n{events}, $events, "$name: summary events = output lines");
	unless ($unrecognized_ok{$case}) {
		is($n{unrecognized} // -1, 0, "$name: no unrecognized line")
		    or diag(shown_skipped($log, $case));
	}
	my @noise = grep { !/^fumidai: parse: \Q$case\E: lines=/ } split /\n/, $err;
	is(scalar @noise, 0, "$name: nothing else on stderr")
	    or diag(join("\n", @noise));
}

# shown_skipped - which lines fumidai did not understand (--show-skipped)
sub shown_skipped {
	my ($log, $case) = @_;
	my $here = getcwd();
	chdir dirname($log);
	my (undef, undef, $err) = run_cmd([$bin, 'parse', '-c', '/dev/null',
	    '--year', '2026', '--tz', 'UTC', '--show-skipped', $case]);
	chdir $here;
	return $err;
}

# show_diff - a unified diff of expected and got (diff(1) when present)
sub show_diff {
	my ($exp, $got) = @_;
	my $t = tmpdir();
	write_file("$t/expected", $exp);
	write_file("$t/got", $got);
	my (undef, $d) = run_cmd(['diff', '-u', "$t/expected", "$t/got"]);
	return $d ne '' ? $d : "expected:\n$exp\ngot:\n$got";
}
