/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * geo-t.c - GeoIP lookups on test databases written by t/lib/mkmmdb.pl
 * into a mkdtemp directory: both layouts, IPv4 and IPv6, split files,
 * unlocated ranges, path overrides, broken files, reopen, distances.
 *
 * Usage: geo-t [path/to/mkmmdb.pl]; default $FM_SRCDIR/t/lib/mkmmdb.pl.
 * Skips only when Perl's MaxMind::DB::Writer is not installed.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "geo.h"
#include "log.h"
#include "tap.h"
#include "util.h"

static char tmpdir[PATH_MAX];

static const char *
P(const char *name)
{
	static char ring[8][PATH_MAX + 64];
	static int i;

	i = (i + 1) % 8;
	snprintf(ring[i], sizeof(ring[i]), "%s/%s", tmpdir, name);
	return ring[i];
}

/* cleanup - remove the (flat) temp directory */
static void
cleanup(void)
{
	struct dirent *de;
	DIR *d;

	if ((d = opendir(tmpdir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlink(P(de->d_name));
	closedir(d);
	rmdir(tmpdir);
}

/* look - geo_lookup on a text address */
static int
look(struct geo *g, const char *text, struct geo_result *r)
{
	uint8_t af, addr[16];

	if (addr_parse(text, strlen(text), &af, addr) == -1) {
		diag("bad test address %s", text);
		exit(1);
	}
	return geo_lookup(g, af, addr, r);
}

static void
put_file(const char *path, const void *p, size_t n)
{
	char err[256];

	if (write_file_atomic(path, p, n, err, sizeof(err)) == -1) {
		diag("%s", err);
		exit(1);
	}
}

static void
copy_file(const char *from, const char *to)
{
	struct buf b;
	char chunk[4096];
	size_t n;
	FILE *f;

	buf_init(&b);
	if ((f = fopen(from, "rb")) == NULL) {
		diag("cannot open %s", from);
		exit(1);
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	put_file(to, b.data, b.len);
	buf_free(&b);
}

/* make_dbs - run mkmmdb.pl; skips the whole test if the module is missing */
static void
make_dbs(const char *script)
{
	pid_t pid;
	int status;

	if ((pid = fork()) == -1)
		exit(1);
	if (pid == 0) {
		execlp("perl", "perl", script, tmpdir, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status)) {
		diag("mkmmdb.pl did not finish");
		exit(1);
	}
	if (WEXITSTATUS(status) == 2) {
		cleanup();
		skip_all("Perl MaxMind::DB::Writer::Tree (libmaxmind-db-writer-perl) "
		    "is not installed");
	}
	if (WEXITSTATUS(status) != 0) {
		printf("Bail out! %s failed (exit %d)\n", script,
		    WEXITSTATUS(status));
		exit(1);
	}
}

static void
test_maxmind(void)
{
	struct geo_result r;
	struct geo *g;
	char err[512];

	g = geo_open(P("city-maxmind.mmdb"), P("asn.mmdb"), NULL, err,
	    sizeof(err));
	if (!ok(g != NULL, "maxmind layout opens"))
		diag("%s", err);
	if (g == NULL)
		exit(1);
	ok(geo_has_city(g) && geo_has_asn(g), "both roles present");

	ok(look(g, "127.0.1.9", &r) == 0, "127/8 unlocated without the test option");
	is_str(r.unlocated, "loopback", "  reason loopback");
	ok(look(g, "2001:db8:1::5", &r) == 0, "2001:db8::/32 unlocated without it");
	is_str(r.unlocated, "documentation", "  reason documentation");

	geo_set_allow_loopback(g, 1);
	ok(look(g, "127.0.1.9", &r) == 1 && r.located, "Tokyo found");
	is_str(r.country, "JP", "  country JP");
	is_str(r.country_name, "Japan", "  country name");
	is_str(r.city, "Tokyo", "  city");
	ok(r.has_coords && fabs(r.latitude - 35.68) < 1e-9 &&
	    fabs(r.longitude - 139.69) < 1e-9, "  coordinates");
	is_int(r.accuracy_km, 50, "  accuracy radius");
	is_int(r.asn, 64501, "  ASN");
	is_str(r.asn_org, "Tokyo Test Net", "  AS organisation");
	ok(r.unlocated == NULL, "  no unlocated reason");

	ok(look(g, "127.0.2.200", &r) == 1, "New York found");
	ok(strcmp(r.country, "US") == 0 && strcmp(r.city, "New York") == 0 &&
	    fabs(r.longitude + 74.0) < 1e-9 && r.asn == 64502, "  US New York");
	ok(look(g, "127.0.3.1", &r) == 1, "London found");
	ok(strcmp(r.country, "GB") == 0 && strcmp(r.city, "London") == 0,
	    "  GB London");
	ok(look(g, "2001:db8:1:ffff::1", &r) == 1, "IPv6 Berlin found");
	ok(strcmp(r.country, "DE") == 0 && strcmp(r.city, "Berlin") == 0 &&
	    r.asn == 64504 && r.accuracy_km == 100, "  DE Berlin AS64504");
	ok(look(g, "::ffff:127.0.1.1", &r) == 1 && strcmp(r.country, "JP") == 0,
	    "IPv4-mapped IPv6 is looked up as IPv4");

	ok(look(g, "127.0.4.1", &r) == 1, "ASN-only address found");
	ok(!r.located && r.country[0] == '\0' && !r.has_coords &&
	    r.asn == 64505, "  no place, AS64505");
	ok(look(g, "127.0.9.1", &r) == 0, "unknown test address");
	is_str(r.unlocated, "not-found", "  reason not-found");
	ok(look(g, "2001:db8:2::1", &r) == 0, "2001:db8::/32 without db entry");
	is_str(r.unlocated, "not-found", "  reason not-found");
	ok(look(g, "8.8.8.8", &r) == 0 && r.asn == 0 && r.country[0] == '\0',
	    "public address absent from db: nothing");
	geo_free(g);
}

static void
test_unlocated(void)
{
	static const struct { const char *addr, *why; } cases[] = {
		{ "10.1.1.1", "private" },
		{ "10.255.255.255", "private" },
		{ "192.168.0.1", "private" },
		{ "172.16.0.1", "private" },
		{ "172.31.255.254", "private" },
		{ "100.64.0.1", "cgnat" },
		{ "100.127.255.254", "cgnat" },
		{ "169.254.10.10", "link-local" },
		{ "192.0.2.55", "documentation" },
		{ "198.51.100.1", "documentation" },
		{ "203.0.113.9", "documentation" },
		{ "0.0.0.0", "reserved" },
		{ "224.0.0.1", "multicast" },
		{ "255.255.255.255", "reserved" },
		{ "::", "reserved" },
		{ "::1", "loopback" },
		{ "fe80::1", "link-local" },
		{ "febf::1", "link-local" },
		{ "fc00::1", "private" },
		{ "fd12:3456::1", "private" },
		{ "ff02::1", "multicast" },
		{ "::ffff:10.0.0.1", "private" },
		{ "::ffff:192.168.1.1", "private" },
		{ "4000::1", "reserved" },
	};
	struct geo_result r;
	struct geo *g;
	uint8_t addr[16] = { 1, 2, 3, 4 };
	char err[512];
	size_t i;

	/* The db maps most of these to CN Beijing; none may come out. */
	g = geo_open(P("city-maxmind.mmdb"), P("asn.mmdb"), NULL, err,
	    sizeof(err));
	if (g == NULL)
		exit(1);
	/* (the test switch opens the documentation ranges: keep it off) */
	for (i = 0; i < nitems(cases); i++) {
		int rv = look(g, cases[i].addr, &r);

		if (!ok(rv == 0 && r.country[0] == '\0' && r.unlocated != NULL &&
		    strcmp(r.unlocated, cases[i].why) == 0, "%s is %s",
		    cases[i].addr, cases[i].why))
			diag("  got rv=%d country='%s' reason=%s", rv, r.country,
			    r.unlocated ? r.unlocated : "(null)");
	}
	ok(look(g, "172.32.0.1", &r) == 0 && strcmp(r.unlocated, "not-found") == 0,
	    "172.32.0.1 is outside 172.16/12");
	ok(look(g, "100.128.0.1", &r) == 0 && strcmp(r.unlocated, "not-found") == 0,
	    "100.128.0.1 is outside 100.64/10");
	ok(geo_lookup(g, 0, addr, &r) == 0 && strcmp(r.unlocated, "unknown") == 0,
	    "unknown family is unlocated");
	ok(geo_lookup(g, 99, addr, &r) == 0 && strcmp(r.unlocated, "unknown") == 0,
	    "bogus family is unlocated");
	geo_free(g);
}

static void
test_flat(void)
{
	struct geo_result r;
	struct geo *g;
	struct buf b;
	char err[512], list[2 * PATH_MAX + 8];

	snprintf(list, sizeof(list), "%s , %s", P("city-flat-v4.mmdb"),
	    P("city-flat-v6.mmdb"));
	g = geo_open(list, P("asn.mmdb"), NULL, err, sizeof(err));
	if (!ok(g != NULL, "flat layout, IPv4 + IPv6 files, opens"))
		diag("%s", err);
	if (g == NULL)
		exit(1);
	buf_init(&b);
	geo_describe(g, &b);
	ok(strstr(b.data, "city-flat-v4.mmdb:flat,") != NULL &&
	    strstr(b.data, "city-flat-v6.mmdb:flat asn=") != NULL,
	    "both files probed as flat");
	diag("%s", b.data);
	buf_free(&b);
	geo_set_allow_loopback(g, 1);
	ok(look(g, "127.0.1.1", &r) == 1 && r.located, "flat: Tokyo found");
	is_str(r.country, "JP", "  country_code");
	is_str(r.city, "Tokyo", "  city");
	is_str(r.country_name, "", "  no country name in this layout");
	ok(r.has_coords && fabs(r.latitude - 35.68) < 1e-4 &&
	    fabs(r.longitude - 139.69) < 1e-4, "  float coordinates");
	is_int(r.accuracy_km, 0, "  no accuracy radius");
	is_int(r.asn, 64501, "  ASN from the ASN db");
	ok(look(g, "127.0.2.1", &r) == 1 && strcmp(r.city, "New York") == 0 &&
	    fabs(r.latitude - 40.71) < 1e-4, "flat: New York");
	ok(look(g, "2001:db8:1::1", &r) == 1 && strcmp(r.country, "DE") == 0 &&
	    strcmp(r.city, "Berlin") == 0, "flat: IPv6 from the IPv6-only file");
	ok(look(g, "10.0.0.1", &r) == 0, "flat: private still unlocated");
	geo_free(g);

	g = geo_open(P("city-flat-v4.mmdb"), NULL, NULL, err, sizeof(err));
	if (g == NULL)
		exit(1);
	geo_set_allow_loopback(g, 1);
	ok(!geo_has_asn(g), "city only: no ASN role");
	ok(look(g, "2001:db8:1::1", &r) == 0 &&
	    strcmp(r.unlocated, "not-found") == 0,
	    "IPv6 against an IPv4-only file: not found, no error");
	ok(look(g, "127.0.3.3", &r) == 1 && strcmp(r.city, "London") == 0 &&
	    r.asn == 0, "city only: London, no ASN");
	geo_free(g);
}

static void
test_paths(void)
{
	static const char *const cc_as_city[] = { "country_code", NULL };
	struct geo_paths gp;
	struct geo_result r;
	struct geo *g;
	char **sp, err[512];

	sp = geo_path_split("/country//names/en/");
	ok(sp != NULL && sp[0] && strcmp(sp[0], "country") == 0 && sp[1] &&
	    strcmp(sp[1], "names") == 0 && sp[2] && strcmp(sp[2], "en") == 0 &&
	    sp[3] == NULL, "geo_path_split");
	ok(geo_path_split("") == NULL && geo_path_split("//") == NULL,
	    "geo_path_split: empty is NULL");

	memset(&gp, 0, sizeof(gp));
	gp.city = (const char *const *)sp;
	g = geo_open(P("city-maxmind.mmdb"), NULL, &gp, err, sizeof(err));
	free(sp);		/* geo_open keeps its own copy */
	if (g == NULL)
		exit(1);
	geo_set_allow_loopback(g, 1);
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.city, "Japan") == 0 &&
	    strcmp(r.country, "JP") == 0, "maxmind: city path overridden");
	geo_free(g);

	memset(&gp, 0, sizeof(gp));
	gp.city = cc_as_city;
	g = geo_open(P("city-flat-v4.mmdb"), NULL, &gp, err, sizeof(err));
	if (g == NULL)
		exit(1);
	geo_set_allow_loopback(g, 1);
	ok(look(g, "127.0.2.1", &r) == 1 && strcmp(r.city, "US") == 0,
	    "flat: city path overridden");
	geo_free(g);
}

static void
test_errors(void)
{
	static const char junk[] = "this is not a MaxMind DB file\n";
	struct geo_result r;
	struct geo *g;
	struct buf b;
	uint8_t addr[16] = { 127, 0, 1, 1 };
	char err[512], list[2 * PATH_MAX + 8];
	FILE *f;

	err[0] = '\0';
	g = geo_open(P("nope.mmdb"), NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "nope.mmdb") != NULL &&
	    strstr(err, "No such file") != NULL, "missing city file: error names it");
	diag("%s", err);
	g = geo_open(P("city-maxmind.mmdb"), P("nope-asn.mmdb"), NULL, err,
	    sizeof(err));
	ok(g == NULL && strstr(err, "nope-asn.mmdb") != NULL,
	    "missing ASN file: error names it");
	snprintf(list, sizeof(list), "%s,%s", P("city-flat-v4.mmdb"),
	    P("gone-v6.mmdb"));
	g = geo_open(list, NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "gone-v6.mmdb") != NULL,
	    "missing second file of a list: error names it");

	put_file(P("junk.mmdb"), junk, sizeof(junk) - 1);
	g = geo_open(P("junk.mmdb"), NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "junk.mmdb") != NULL &&
	    strstr(err, "not a usable") != NULL, "corrupt file refused");
	diag("%s", err);
	put_file(P("empty.mmdb"), "", 0);
	g = geo_open(P("empty.mmdb"), NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "empty.mmdb") != NULL, "empty file refused");
	copy_file(P("city-maxmind.mmdb"), P("cut.mmdb"));
	if ((f = fopen(P("cut.mmdb"), "r+")) == NULL || ftruncate(fileno(f), 600))
		exit(1);
	fclose(f);
	g = geo_open(P("cut.mmdb"), NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "cut.mmdb") != NULL, "truncated file refused");
	g = geo_open(tmpdir, NULL, NULL, err, sizeof(err));
	ok(g == NULL && strstr(err, "directory") != NULL, "a directory refused");

	g = geo_open(NULL, "", NULL, err, sizeof(err));
	ok(g != NULL && !geo_has_city(g) && !geo_has_asn(g),
	    "no databases: opens empty");
	geo_set_allow_loopback(g, 1);
	ok(geo_lookup(g, 4, addr, &r) == 0 &&
	    strcmp(r.unlocated, "no-database") == 0, "  lookups say no-database");
	is_int(geo_reopen_if_changed(g), 0, "  reopen is a no-op");
	buf_init(&b);
	geo_describe(g, &b);
	is_str(b.data, "city=none asn=none", "  describe");
	buf_free(&b);
	geo_free(g);
	geo_free(NULL);
	ok(1, "geo_free(NULL)");
}

static void
test_reopen(void)
{
	static const char junk[] = "garbage, not a database";
	struct geo_result r;
	struct geo *g;
	char err[512];

	copy_file(P("city-maxmind.mmdb"), P("live.mmdb"));
	copy_file(P("asn.mmdb"), P("live-asn.mmdb"));
	g = geo_open(P("live.mmdb"), P("live-asn.mmdb"), NULL, err, sizeof(err));
	if (g == NULL)
		exit(1);
	geo_set_allow_loopback(g, 1);
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.country, "JP") == 0,
	    "reopen: starts as JP");
	is_int(geo_reopen_if_changed(g), 0, "unchanged files: nothing reopened");

	copy_file(P("city-alt.mmdb"), P("live.mmdb"));	/* by rename */
	is_int(geo_reopen_if_changed(g), 1, "replaced city file reopened");
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.country, "FR") == 0 &&
	    strcmp(r.city, "Paris") == 0 && r.asn == 64501,
	    "  now FR Paris, ASN unchanged");
	ok(look(g, "127.0.2.1", &r) == 1 && !r.located && r.asn == 64502,
	    "  New York gone from the new city db");

	put_file(P("live.mmdb"), junk, sizeof(junk) - 1);
	is_int(geo_reopen_if_changed(g), -1, "corrupt replacement: -1");
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.country, "FR") == 0,
	    "  old database kept");
	is_int(geo_reopen_if_changed(g), -1, "  still -1 (logged once)");

	unlink(P("live.mmdb"));
	is_int(geo_reopen_if_changed(g), 0, "file removed: keep the old one");
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.country, "FR") == 0,
	    "  still FR");

	copy_file(P("city-flat-v4.mmdb"), P("live.mmdb"));
	copy_file(P("asn.mmdb"), P("live-asn.mmdb"));
	is_int(geo_reopen_if_changed(g), 2, "good files back: both reopened");
	ok(look(g, "127.0.1.1", &r) == 1 && strcmp(r.country, "JP") == 0 &&
	    fabs(r.latitude - 35.68) < 1e-4, "  layout re-probed (flat JP)");
	geo_free(g);
}

static void
test_distance(void)
{
	double d;

	d = geo_distance_km(35.68, 139.69, 40.71, -74.0);
	ok(fabs(d - 10850) < 30, "Tokyo - New York ~ 10,850 km (%.0f)", d);
	ok(fabs(geo_distance_km(40.71, -74.0, 35.68, 139.69) - d) < 1e-6,
	    "symmetric");
	d = geo_distance_km(51.51, -0.13, 52.52, 13.40);
	ok(fabs(d - 932) < 10, "London - Berlin ~ 932 km (%.0f)", d);
	ok(geo_distance_km(12.5, 45.25, 12.5, 45.25) < 1e-9, "same point: 0");
	d = geo_distance_km(0, 0, 0, 180);
	ok(fabs(d - 20015) < 5, "antipodes ~ 20,015 km (%.0f)", d);
	d = geo_distance_km(10, 179.5, 10, -179.5);
	ok(d > 100 && d < 115, "across the date line ~ 110 km (%.0f)", d);
}

int
main(int argc, char **argv)
{
	char script[PATH_MAX];
	const char *src;

	log_init(LOG_TO_STDERR, 0);
	if (argc > 1)
		snprintf(script, sizeof(script), "%s", argv[1]);
	else {
		src = getenv("FM_SRCDIR");
		snprintf(script, sizeof(script), "%s/t/lib/mkmmdb.pl",
		    src != NULL ? src : ".");
	}
	if (access(script, R_OK) == -1) {
		printf("Bail out! %s not found (set FM_SRCDIR)\n", script);
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s/fm-geo-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	make_dbs(script);

	test_maxmind();
	test_unlocated();
	test_flat();
	test_paths();
	test_errors();
	test_reopen();
	test_distance();

	cleanup();
	return done_testing();
}
