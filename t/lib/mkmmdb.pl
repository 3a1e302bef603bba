#!/usr/bin/perl
# SPDX-License-Identifier: BSD-2-Clause
#
# mkmmdb.pl - write the small GeoIP test databases into DIR.
#
#   perl t/lib/mkmmdb.pl DIR
#
# Test ranges (loopback and documentation space, so nothing real is named):
#   127.0.1.0/24    JP Tokyo     35.68, 139.69   AS64501 "Tokyo Test Net"
#   127.0.2.0/24    US New York  40.71, -74.00   AS64502 "New York Test Net"
#   127.0.3.0/24    GB London    51.51,  -0.13   AS64503 "London Test Net"
#   2001:db8:1::/48 DE Berlin    52.52,  13.40   AS64504 "Berlin Test Net"
#   127.0.4.0/24    (ASN only)                   AS64505 "No Place Net"
# Files:
#   city-maxmind.mmdb  GeoIP2/GeoLite2 City layout, IPv6 tree; it also maps
#                      private/link-local/ULA ranges to CN Beijing, which
#                      fumidai must never report (unlocated before lookup)
#   city-flat-v4.mmdb  ip-location-db (DB-IP Lite) layout, IPv4-only tree
#   city-flat-v6.mmdb  the same layout, IPv6-only tree (the Berlin range)
#   city-alt.mmdb      MaxMind layout, 127.0.1.0/24 -> FR Paris (replacement)
#   asn.mmdb           autonomous_system_number / _organization
# Needs Debian's libmaxmind-db-writer-perl; exits 2 when it is missing.
use v5.36;

BEGIN {
	unless (eval { require MaxMind::DB::Writer::Tree; 1 }) {
		print STDERR "mkmmdb.pl: MaxMind::DB::Writer::Tree is not " .
		    "installed (libmaxmind-db-writer-perl)\n";
		exit 2;
	}
}

my $dir = shift // die "usage: mkmmdb.pl DIR\n";

my @places = (
	[ '127.0.1.0/24', 'JP', 'Japan', 'Tokyo', 35.68, 139.69, 50 ],
	[ '127.0.2.0/24', 'US', 'United States', 'New York', 40.71, -74.0, 20 ],
	[ '127.0.3.0/24', 'GB', 'United Kingdom', 'London', 51.51, -0.13, 10 ],
	[ '2001:db8:1::/48', 'DE', 'Germany', 'Berlin', 52.52, 13.40, 100 ],
);
my @decoys = ('10.0.0.0/8', '192.168.0.0/16', '172.16.0.0/12',
    '100.64.0.0/10', '169.254.0.0/16', '192.0.2.0/24', 'fe80::/10',
    'fc00::/7');
my @asns = (
	[ '127.0.1.0/24', 64501, 'Tokyo Test Net' ],
	[ '127.0.2.0/24', 64502, 'New York Test Net' ],
	[ '127.0.3.0/24', 64503, 'London Test Net' ],
	[ '2001:db8:1::/48', 64504, 'Berlin Test Net' ],
	[ '127.0.4.0/24', 64505, 'No Place Net' ],
);

my %maxmind_types = (
	country => 'map', registered_country => 'map', city => 'map',
	location => 'map', names => 'map', iso_code => 'utf8_string',
	en => 'utf8_string', latitude => 'double', longitude => 'double',
	accuracy_radius => 'uint16', geoname_id => 'uint32',
);
my %flat_types = (
	country_code => 'utf8_string', city => 'utf8_string',
	state1 => 'utf8_string', latitude => 'float', longitude => 'float',
);
my %asn_types = (
	autonomous_system_number => 'uint32',
	autonomous_system_organization => 'utf8_string',
);

sub tree($ipv, $type, $types) {
	return MaxMind::DB::Writer::Tree->new(
		ip_version => $ipv,
		record_size => 24,
		database_type => $type,
		languages => ['en'],
		description => { en => "fumidai test $type" },
		map_key_type_callback => sub { $types->{ $_[0] } },
		remove_reserved_networks => 0,
		alias_ipv6_to_ipv4 => 0,
	);
}

sub maxmind($p) {
	my ($net, $cc, $cname, $city, $lat, $lon, $acc) = @$p;
	return {
		country => { iso_code => $cc, names => { en => $cname } },
		city => { names => { en => $city } },
		location => { latitude => $lat, longitude => $lon,
		    accuracy_radius => $acc },
	};
}

sub flat($p) {
	my ($net, $cc, $cname, $city, $lat, $lon) = @$p;
	return { country_code => $cc, city => $city, state1 => '',
	    latitude => $lat, longitude => $lon };
}

sub write_tree($tree, $name) {
	my $tmp = "$dir/.$name.tmp";
	open(my $fh, '>:raw', $tmp) or die "$tmp: $!\n";
	$tree->write_tree($fh);
	close($fh) or die "$tmp: $!\n";
	rename($tmp, "$dir/$name") or die "$dir/$name: $!\n";
}

my $t = tree(6, 'GeoLite2-City', \%maxmind_types);
$t->insert_network($_->[0], maxmind($_)) for @places;
$t->insert_network($_, maxmind([ $_, 'CN', 'China', 'Beijing', 39.9, 116.4,
    5 ])) for @decoys;
write_tree($t, 'city-maxmind.mmdb');

$t = tree(4, 'dbip-city-ipv4', \%flat_types);
$t->insert_network($_->[0], flat($_)) for grep { $_->[0] !~ /:/ } @places;
write_tree($t, 'city-flat-v4.mmdb');

$t = tree(6, 'dbip-city-ipv6', \%flat_types);
$t->insert_network($_->[0], flat($_)) for grep { $_->[0] =~ /:/ } @places;
write_tree($t, 'city-flat-v6.mmdb');

$t = tree(6, 'GeoLite2-City', \%maxmind_types);
$t->insert_network('127.0.1.0/24', maxmind([ '', 'FR', 'France', 'Paris',
    48.86, 2.35, 10 ]));
write_tree($t, 'city-alt.mmdb');

$t = tree(6, 'GeoLite2-ASN', \%asn_types);
$t->insert_network($_->[0], { autonomous_system_number => $_->[1],
    autonomous_system_organization => $_->[2] }) for @asns;
write_tree($t, 'asn.mmdb');
exit 0;
