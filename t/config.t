#!/usr/bin/perl
# config.t - a broken configuration exits 2 before starting, naming the
# file, the line and the setting; a good one is accepted and shown.
use strict;
use warnings;
use Test::More;
use lib "$ENV{FM_SRCDIR}/t/lib";
use FM qw(fumidai run_cmd tmpdir write_file);

my $dir = tmpdir();
my $f = "$dir/fumidai.conf";

my @bad = (
    [ "state_dir = \"/tmp/x\";\nmax_line = ;\n", qr/\Q$f\E:2: syntax error/, 'syntax error' ],
    [ "state_dir = \"$dir\";\n\nmaxline = 100;\n", qr/\Q$f\E:3: maxline: unknown setting/, 'unknown setting' ],
    [ "max_line = 10;\n", qr/\Q$f\E:1: max_line: 10 is out of range \(256 to/, 'out of range' ],
    [ "\n\nretention_days = \"long\";\n", qr/\Q$f\E:3: retention_days: expected a whole number/, 'wrong type' ],
    [ "redis = {\n  port = 99999;\n};\n", qr/\Q$f\E:2: redis.port: 99999 is out of range/, 'nested range' ],
    [ "redis = {\n  hots = \"x\";\n};\n", qr/\Q$f\E:2: redis.hots: unknown setting/, 'nested unknown' ],
    [ "redis = { host = \"127.0.0.1\";\n socket = \"/x\"; };\n", qr/\Q$f\E:\d+: redis: give either host/, 'host and socket' ],
    [ "inputs = (\n  { path = \"/var/log/mail.log\"; format = \"csv\"; }\n);\n", qr/\Q$f\E:2: format: expected "auto"/, 'bad format' ],
    [ "inputs = (\n  { format = \"auto\"; }\n);\n", qr/\Q$f\E:2: inputs\.\[0\]: path is missing/, 'missing path' ],
    [ "inputs = (\n  { path = \"/x\";\n    parsers = [ \"../evil\" ]; }\n);\n", qr/\Q$f\E:3: parsers: each parser is a plain name/, 'parser path refused' ],
    [ "inputs = (\n  { path = \"/x\"; color = 1; }\n);\n", qr/\Q$f\E:2: color: unknown setting in an input/, 'unknown input key' ],
    [ "state_dir = 5;\n", qr/\Q$f\E:1: state_dir: expected a string/, 'string expected' ],
);
for my $c (@bad) {
    my ($text, $re, $name) = @$c;
    write_file($f, $text);
    my ($st, $out, $err) = run_cmd([fumidai(), 'check-config', '-c', $f]);
    is($st, 2, "$name: check-config exits 2");
    like($err, $re, "$name: message names file, line and setting") or diag $err;
    ($st, $out, $err) = run_cmd([fumidai(), 'run', '-f', '-c', $f]);
    is($st, 2, "$name: run exits 2 before starting");
}

my ($st, $out, $err) = run_cmd([fumidai(), 'check-config', '-c', "$dir/nonexistent.conf"]);
is($st, 2, 'missing config file named with -c exits 2');
like($err, qr/nonexistent\.conf: cannot read/, 'and says which file');

write_file($f, <<"EOT");
# a good configuration
state_dir = "$dir/state";
instance = "mx1";
timezone = "Asia/Tokyo";
retention_days = 90;
redis = { socket = "$dir/redis.sock"; prefix = "t:"; db = 2; };
inputs = (
  { path = "/var/log/mail.log"; parsers = [ "postfix" ]; },
  { path = "/var/log/dovecot.log"; format = "dovecot"; parsers = [ "dovecot" ]; }
);
EOT
($st, $out, $err) = run_cmd([fumidai(), 'check-config', '-c', $f]);
is($st, 0, 'good configuration accepted') or diag $err;
like($out, qr/^retention_days = 90;$/m, 'shows the value set');
like($out, qr/^redis\.prefix = "t:";$/m, 'shows nested values');
like($out, qr/path = "\/var\/log\/dovecot\.log"; format = "dovecot"; parsers = \[ "dovecot" \]/,
    'shows inputs');
like($out, qr/^max_line = 16384;$/m, 'shows defaults');

# The shipped sample configuration is valid as it is.
($st, $out, $err) = run_cmd([fumidai(), 'check-config', '-c', "$ENV{FM_SRCDIR}/etc/fumidai.conf"]);
is($st, 0, 'etc/fumidai.conf is valid') or diag $err;

# An unknown parser plugin is reported clearly by commands that load it.
write_file("$dir/x.log", "Nov 24 11:30:25 mx1 postfix/smtpd[1]: connect from a[127.0.0.1]\n");
($st, $out, $err) = run_cmd([fumidai(), 'parse', '--parsers', 'nosuchparser', "$dir/x.log"]);
is($st, 2, 'unknown parser: exit 2');
like($err, qr/parser "nosuchparser": cannot load .*nosuchparser\.so/, 'names the parser and file');

done_testing();
