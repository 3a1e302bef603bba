/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * geo.c - GeoIP lookups on MaxMind DB files (see geo.h).
 *
 * Each role (city, ASN) holds a short list of files; each file keeps its
 * MMDB_s on the heap, because every MMDB_entry_s points back to it, and
 * the identity of the file it came from, so a replaced file is noticed.
 * Which field lives where is decided per file by probing one record: a
 * "country" or "location" map means the MaxMind layout, a "country_code"
 * or "latitude" value the flat ip-location-db one.
 *
 * SECURITY: the databases are files an administrator installed, but their
 * contents are treated as data of unknown shape: every value is checked
 * for its type, strings are copied with bounds, numbers range-checked.
 * Addresses come from logs and are only classified and looked up.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <maxminddb.h>

#include "geo.h"
#include "log.h"
#include "util.h"

#define GEO_MAXFILES	8	/* files per role */
#define GEO_MAXCAND	2	/* auto candidate paths per field */

enum geo_layout { LAYOUT_UNKNOWN, LAYOUT_MAXMIND, LAYOUT_FLAT };
static const char *const layout_names[] = { "?", "maxmind", "flat" };

enum geo_field {
	F_COUNTRY, F_COUNTRY_NAME, F_CITY, F_LAT, F_LON, F_ACC, F_ASN, F_ASN_ORG,
	F_MAX
};

struct fileid {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
};

struct geo_db {
	char *path;
	MMDB_s *mmdb;		/* heap: entries point back to it */
	enum geo_layout layout;
	struct fileid id;	/* file the open database came from */
	struct fileid bad;	/* replacement that failed to open, logged */
};

struct geo_role {
	struct geo_db db[GEO_MAXFILES];
	size_t n;
};

struct geo {
	struct geo_role city, asn;
	char **paths[F_MAX];	/* overrides (one block each), NULL: auto */
	int allow_loopback;	/* test only, see geo.h */
};

/* Auto lookup paths per layout and field, tried in order. */
#define P(...) ((const char *const []){ __VA_ARGS__, NULL })
static const char *const *const auto_paths[3][F_MAX][GEO_MAXCAND] = {
	[LAYOUT_MAXMIND] = {
		[F_COUNTRY] = { P("country", "iso_code"),
		    P("registered_country", "iso_code") },
		[F_COUNTRY_NAME] = { P("country", "names", "en"),
		    P("registered_country", "names", "en") },
		[F_CITY] = { P("city", "names", "en") },
		[F_LAT] = { P("location", "latitude") },
		[F_LON] = { P("location", "longitude") },
		[F_ACC] = { P("location", "accuracy_radius") },
	},
	[LAYOUT_FLAT] = {
		[F_COUNTRY] = { P("country_code") },
		[F_CITY] = { P("city") },
		[F_LAT] = { P("latitude") },
		[F_LON] = { P("longitude") },
	},
};
static const char *const *const asn_paths[2] = {
	P("autonomous_system_number"), P("autonomous_system_organization")
};
#undef P

/* Addresses that never have a place, checked before any database. */
struct special {
	uint8_t af, bits;
	uint8_t prefix[16];
	const char *why;
	int test_ok;		/* reachable with geo_set_allow_loopback */
};

static const struct special specials[] = {
	{ 4, 8, { 0 }, "reserved", 0 },
	{ 4, 8, { 10 }, "private", 0 },
	{ 4, 10, { 100, 64 }, "cgnat", 0 },
	{ 4, 8, { 127 }, "loopback", 1 },
	{ 4, 16, { 169, 254 }, "link-local", 0 },
	{ 4, 12, { 172, 16 }, "private", 0 },
	{ 4, 24, { 192, 0, 0 }, "reserved", 0 },
	{ 4, 24, { 192, 0, 2 }, "documentation", 1 },
	{ 4, 16, { 192, 168 }, "private", 0 },
	{ 4, 15, { 198, 18 }, "reserved", 1 },	/* benchmarking */
	{ 4, 24, { 198, 51, 100 }, "documentation", 1 },
	{ 4, 24, { 203, 0, 113 }, "documentation", 1 },
	{ 4, 4, { 224 }, "multicast", 0 },
	{ 4, 4, { 240 }, "reserved", 0 },
	{ 6, 128, { 0 }, "reserved", 0 },
	{ 6, 128, { [15] = 1 }, "loopback", 0 },
	{ 6, 48, { 0x20, 0x01, 0x00, 0x02, 0x00, 0x00 }, "reserved", 0 },
	{ 6, 32, { 0x20, 0x01, 0x0d, 0xb8 }, "documentation", 1 },
	{ 6, 20, { 0x3f, 0xff }, "documentation", 0 },
	{ 6, 7, { 0xfc }, "private", 0 },
	{ 6, 10, { 0xfe, 0x80 }, "link-local", 0 },
	{ 6, 10, { 0xfe, 0xc0 }, "private", 0 },
	{ 6, 8, { 0xff }, "multicast", 0 },
	/* and every IPv6 address outside 2000::/3: see classify */
};

static int role_open(struct geo_role *, const char *, char *, size_t);
static int db_open(struct geo_db *, const char *, char *, size_t);
static void role_close(struct geo_role *);
static enum geo_layout probe_layout(MMDB_s *);
static enum geo_layout layout_of(MMDB_entry_s *);
static int file_id(const char *, struct fileid *);
static char **path_dup(const char *const *);
static const char *classify(int, const uint8_t *, int);
static int to_sockaddr(int, const uint8_t *, struct sockaddr_storage *);
static int role_lookup(struct geo_role *, int, const struct sockaddr *,
    MMDB_entry_s *, struct geo_db **);
static void fill_city(struct geo *, struct geo_db *, MMDB_entry_s *,
    struct geo_result *);
static void fill_asn(struct geo *, MMDB_entry_s *, struct geo_result *);
static int get_value(struct geo *, enum geo_layout, enum geo_field,
    MMDB_entry_s *, MMDB_entry_data_s *);
static int get_str(struct geo *, enum geo_layout, enum geo_field,
    MMDB_entry_s *, char *, size_t);
static int get_double(struct geo *, enum geo_layout, enum geo_field,
    MMDB_entry_s *, double *);
static int get_uint(struct geo *, enum geo_layout, enum geo_field,
    MMDB_entry_s *, uint64_t *);
static void copy_utf8(char *, size_t, const char *, size_t);
static int reopen_db(struct geo_db *);

struct geo *
geo_open(const char *city_path, const char *asn_path,
    const struct geo_paths *paths, char *err, size_t errlen)
{
	struct geo *g;

	g = xcalloc(1, sizeof(*g));
	if (paths != NULL) {
		g->paths[F_COUNTRY] = path_dup(paths->country);
		g->paths[F_COUNTRY_NAME] = path_dup(paths->country_name);
		g->paths[F_CITY] = path_dup(paths->city);
		g->paths[F_LAT] = path_dup(paths->latitude);
		g->paths[F_LON] = path_dup(paths->longitude);
		g->paths[F_ACC] = path_dup(paths->accuracy);
		g->paths[F_ASN] = path_dup(paths->asn);
		g->paths[F_ASN_ORG] = path_dup(paths->asn_org);
	}
	if (role_open(&g->city, city_path, err, errlen) == -1 ||
	    role_open(&g->asn, asn_path, err, errlen) == -1) {
		geo_free(g);
		return NULL;
	}
	return g;
}

void
geo_free(struct geo *g)
{
	size_t i;

	if (g == NULL)
		return;
	role_close(&g->asn);
	role_close(&g->city);
	for (i = 0; i < F_MAX; i++)
		free(g->paths[i]);
	free(g);
}

int
geo_has_city(const struct geo *g)
{
	return g != NULL && g->city.n > 0;
}

int
geo_has_asn(const struct geo *g)
{
	return g != NULL && g->asn.n > 0;
}

void
geo_set_allow_loopback(struct geo *g, int on)
{
	g->allow_loopback = on != 0;
}

/* role_open - open every file of a comma-separated list */
static int
role_open(struct geo_role *r, const char *list, char *err, size_t errlen)
{
	const char *p, *e;
	int rv;

	for (p = list; p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		char *path = xmemdup(p, (size_t)(e - p));
		for (size_t n = strlen(path); n > 0 &&
		    (path[n - 1] == ' ' || path[n - 1] == '\t'); n--)
			path[n - 1] = '\0';
		if (*path == '\0') {
			free(path);
			continue;
		}
		if (r->n == GEO_MAXFILES) {
			snprintf(err, errlen, "geoip: more than %d files in "
			    "\"%s\"", GEO_MAXFILES, list);
			free(path);
			return -1;
		}
		rv = db_open(&r->db[r->n], path, err, errlen);
		free(path);
		if (rv == -1)
			return -1;
		r->n++;
	}
	return 0;
}

static int
db_open(struct geo_db *d, const char *path, char *err, size_t errlen)
{
	MMDB_s *m;
	int rc;

	memset(d, 0, sizeof(*d));
	if (file_id(path, &d->id) == -1) {
		snprintf(err, errlen, "geoip: %s: %s", path, strerror(errno));
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	if ((rc = MMDB_open(path, MMDB_MODE_MMAP, m)) != MMDB_SUCCESS) {
		snprintf(err, errlen, "geoip: %s: not a usable MaxMind DB "
		    "file: %s", path, MMDB_strerror(rc));
		free(m);
		return -1;
	}
	d->path = xstrdup(path);
	d->mmdb = m;
	d->layout = probe_layout(m);
	return 0;
}

static void
role_close(struct geo_role *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		MMDB_close(r->db[i].mmdb);
		free(r->db[i].mmdb);
		free(r->db[i].path);
	}
	r->n = 0;
}

static int
file_id(const char *path, struct fileid *id)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		return -1;
	}
	id->dev = (uint64_t)st.st_dev;
	id->ino = (uint64_t)st.st_ino;
	id->size = (uint64_t)st.st_size;
	id->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
	    st.st_mtim.tv_nsec;
	return 0;
}

/*
 * probe_layout - find the first data record of the search tree (depth
 * first, bounded) and look at its shape.
 */
static enum geo_layout
probe_layout(MMDB_s *m)
{
	MMDB_search_node_s n;
	uint32_t stack[300];
	size_t sp = 0;
	int visits = 0;

	stack[sp++] = 0;
	while (sp > 0 && visits++ < 4096) {
		if (MMDB_read_node(m, stack[--sp], &n) != MMDB_SUCCESS)
			break;
		if (n.left_record_type == MMDB_RECORD_TYPE_DATA)
			return layout_of(&n.left_record_entry);
		if (n.right_record_type == MMDB_RECORD_TYPE_DATA)
			return layout_of(&n.right_record_entry);
		if (n.right_record_type == MMDB_RECORD_TYPE_SEARCH_NODE &&
		    sp < nitems(stack))
			stack[sp++] = (uint32_t)n.right_record;
		if (n.left_record_type == MMDB_RECORD_TYPE_SEARCH_NODE &&
		    sp < nitems(stack))
			stack[sp++] = (uint32_t)n.left_record;
	}
	return LAYOUT_UNKNOWN;
}

static enum geo_layout
layout_of(MMDB_entry_s *e)
{
	static const char *const country[] = { "country", NULL };
	static const char *const location[] = { "location", NULL };
	static const char *const cc[] = { "country_code", NULL };
	static const char *const lat[] = { "latitude", NULL };
	MMDB_entry_data_s d;

	if ((MMDB_aget_value(e, &d, country) == MMDB_SUCCESS &&
	    d.has_data && d.type == MMDB_DATA_TYPE_MAP) ||
	    (MMDB_aget_value(e, &d, location) == MMDB_SUCCESS &&
	    d.has_data && d.type == MMDB_DATA_TYPE_MAP))
		return LAYOUT_MAXMIND;
	if ((MMDB_aget_value(e, &d, cc) == MMDB_SUCCESS && d.has_data) ||
	    (MMDB_aget_value(e, &d, lat) == MMDB_SUCCESS && d.has_data))
		return LAYOUT_FLAT;
	return LAYOUT_UNKNOWN;
}

/* path_dup - deep copy of a NULL-terminated array into one block */
static char **
path_dup(const char *const *p)
{
	size_t n, i, len = 0;
	char **out, *s;

	if (p == NULL || p[0] == NULL)
		return NULL;
	for (n = 0; p[n] != NULL; n++)
		len += strlen(p[n]) + 1;
	out = xmalloc((n + 1) * sizeof(char *) + len);
	s = (char *)(out + n + 1);
	for (i = 0; i < n; i++) {
		len = strlen(p[i]) + 1;
		memcpy(s, p[i], len);
		out[i] = s;
		s += len;
	}
	out[n] = NULL;
	return out;
}

char **
geo_path_split(const char *slashed)
{
	const char *parts[64];
	char *copy, *s, *tok;
	char **out;
	size_t n = 0;

	if (slashed == NULL)
		return NULL;
	copy = xstrdup(slashed);
	for (s = copy; (tok = strsep(&s, "/")) != NULL;)
		if (*tok != '\0' && n < nitems(parts) - 1)
			parts[n++] = tok;
	parts[n] = NULL;
	out = path_dup(parts);
	free(copy);
	return out;
}

/* classify - the reason an address has no place, or NULL */
static const char *
classify(int af, const uint8_t *a, int allow_test)
{
	const struct special *s;
	size_t i;
	unsigned full, rest;

	for (i = 0; i < nitems(specials); i++) {
		s = &specials[i];
		if (s->af != af)
			continue;
		full = s->bits / 8;
		rest = s->bits % 8;
		if (memcmp(a, s->prefix, full) != 0)
			continue;
		if (rest != 0 && ((a[full] ^ s->prefix[full]) &
		    (uint8_t)(0xff << (8 - rest))) != 0)
			continue;
		return s->test_ok && allow_test ? NULL : s->why;
	}
	if (af == 6 && (a[0] & 0xe0) != 0x20)
		return "reserved";
	return NULL;
}

/* to_sockaddr - normalised family (4/6) or 0 for an unknown one */
static int
to_sockaddr(int af, const uint8_t *addr, struct sockaddr_storage *ss)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (af == AF_INET6 || af == 6) {
		if (memcmp(addr, mapped, 12) != 0 &&
		    memcmp(addr, nat64, 12) != 0) {
			sin6->sin6_family = AF_INET6;
			memcpy(&sin6->sin6_addr, addr, 16);
			return 6;
		}
		addr += 12;
	} else if (af != AF_INET && af != 4)
		return 0;
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	return 4;
}

int
geo_lookup(struct geo *g, int af, const uint8_t addr[16], struct geo_result *r)
{
	struct sockaddr_storage ss;
	const uint8_t *a;
	MMDB_entry_s e;
	struct geo_db *d;
	int fam, asn_found = 0;

	memset(r, 0, sizeof(*r));
	fam = to_sockaddr(af, addr, &ss);
	a = fam == 4 ? (const uint8_t *)&((struct sockaddr_in *)&ss)->sin_addr
	    : addr;
	if (fam == 0)
		r->unlocated = "unknown";
	else
		r->unlocated = classify(fam, a, g->allow_loopback);
	if (r->unlocated != NULL)
		return 0;
	if (g->city.n == 0 && g->asn.n == 0) {
		r->unlocated = "no-database";
		return 0;
	}
	if (role_lookup(&g->city, fam, (struct sockaddr *)&ss, &e, &d))
		fill_city(g, d, &e, r);
	if (role_lookup(&g->asn, fam, (struct sockaddr *)&ss, &e, &d)) {
		fill_asn(g, &e, r);
		asn_found = r->asn != 0 || r->asn_org[0] != '\0';
	}
	if (!r->located && !asn_found) {
		memset(r, 0, sizeof(*r));
		r->unlocated = "not-found";
		return 0;
	}
	return 1;
}

/* role_lookup - the first file of the role that has an entry */
static int
role_lookup(struct geo_role *role, int fam, const struct sockaddr *sa,
    MMDB_entry_s *e, struct geo_db **dp)
{
	MMDB_lookup_result_s res;
	size_t i;
	int merr;

	for (i = 0; i < role->n; i++) {
		if (fam == 6 && role->db[i].mmdb->metadata.ip_version == 4)
			continue;
		res = MMDB_lookup_sockaddr(role->db[i].mmdb, sa, &merr);
		if (merr != MMDB_SUCCESS || !res.found_entry)
			continue;
		*e = res.entry;
		*dp = &role->db[i];
		return 1;
	}
	return 0;
}

static void
fill_city(struct geo *g, struct geo_db *d, MMDB_entry_s *e,
    struct geo_result *r)
{
	uint64_t acc;
	double lat, lon;

	if (d->layout == LAYOUT_UNKNOWN)
		d->layout = layout_of(e);
	if (get_str(g, d->layout, F_COUNTRY, e, r->country,
	    sizeof(r->country)) && (strlen(r->country) != 2 ||
	    strcmp(r->country, "ZZ") == 0))
		r->country[0] = '\0';	/* not an ISO code, or "unknown" */
	get_str(g, d->layout, F_COUNTRY_NAME, e, r->country_name,
	    sizeof(r->country_name));
	get_str(g, d->layout, F_CITY, e, r->city, sizeof(r->city));
	if (get_double(g, d->layout, F_LAT, e, &lat) &&
	    get_double(g, d->layout, F_LON, e, &lon) &&
	    isfinite(lat) && isfinite(lon) && fabs(lat) <= 90 &&
	    fabs(lon) <= 180) {
		r->latitude = lat;
		r->longitude = lon;
		r->has_coords = 1;
	}
	if (get_uint(g, d->layout, F_ACC, e, &acc) && acc <= 20040)
		r->accuracy_km = (uint32_t)acc;
	r->located = r->country[0] != '\0' || r->has_coords;
}

static void
fill_asn(struct geo *g, MMDB_entry_s *e, struct geo_result *r)
{
	uint64_t asn;

	if (get_uint(g, LAYOUT_UNKNOWN, F_ASN, e, &asn) && asn <= UINT32_MAX)
		r->asn = (uint32_t)asn;
	get_str(g, LAYOUT_UNKNOWN, F_ASN_ORG, e, r->asn_org,
	    sizeof(r->asn_org));
}

/* get_value - the field by its override path or the layout's candidates */
static int
get_value(struct geo *g, enum geo_layout layout, enum geo_field f,
    MMDB_entry_s *e, MMDB_entry_data_s *d)
{
	const char *const *path;
	int i;

	if (g->paths[f] != NULL)
		return MMDB_aget_value(e, d, (const char *const *)g->paths[f])
		    == MMDB_SUCCESS && d->has_data;
	for (i = 0; i < GEO_MAXCAND; i++) {
		if (f == F_ASN || f == F_ASN_ORG)
			path = i == 0 ? asn_paths[f - F_ASN] : NULL;
		else
			path = auto_paths[layout][f][i];
		if (path == NULL)
			break;
		if (MMDB_aget_value(e, d, path) == MMDB_SUCCESS && d->has_data)
			return 1;
	}
	return 0;
}

static int
get_str(struct geo *g, enum geo_layout layout, enum geo_field f,
    MMDB_entry_s *e, char *out, size_t outlen)
{
	MMDB_entry_data_s d;

	out[0] = '\0';
	if (!get_value(g, layout, f, e, &d) ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return 0;
	copy_utf8(out, outlen, d.utf8_string, d.data_size);
	return out[0] != '\0';
}

static int
get_double(struct geo *g, enum geo_layout layout, enum geo_field f,
    MMDB_entry_s *e, double *v)
{
	MMDB_entry_data_s d;

	if (!get_value(g, layout, f, e, &d))
		return 0;
	switch (d.type) {
	case MMDB_DATA_TYPE_DOUBLE:
		*v = d.double_value;
		return 1;
	case MMDB_DATA_TYPE_FLOAT:
		*v = (double)d.float_value;
		return 1;
	default:
		return 0;
	}
}

/* get_uint - an unsigned number; also "AS123" / "123" strings */
static int
get_uint(struct geo *g, enum geo_layout layout, enum geo_field f,
    MMDB_entry_s *e, uint64_t *v)
{
	MMDB_entry_data_s d;
	const char *s;
	size_t i, n;

	if (!get_value(g, layout, f, e, &d))
		return 0;
	switch (d.type) {
	case MMDB_DATA_TYPE_UINT16:
		*v = d.uint16;
		return 1;
	case MMDB_DATA_TYPE_UINT32:
		*v = d.uint32;
		return 1;
	case MMDB_DATA_TYPE_UINT64:
		*v = d.uint64;
		return 1;
	case MMDB_DATA_TYPE_INT32:
		*v = d.int32 < 0 ? 0 : (uint64_t)d.int32;
		return d.int32 >= 0;
	case MMDB_DATA_TYPE_UTF8_STRING:
		s = d.utf8_string;
		n = d.data_size;
		i = n >= 2 && (s[0] == 'A' || s[0] == 'a') &&
		    (s[1] == 'S' || s[1] == 's') ? 2 : 0;
		if (i == n || n - i > 10)
			return 0;
		for (*v = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return 0;
			*v = *v * 10 + (uint64_t)(s[i] - '0');
		}
		return 1;
	default:
		return 0;
	}
}

/* copy_utf8 - bounded copy that stops at NUL and never splits a sequence */
static void
copy_utf8(char *out, size_t outlen, const char *s, size_t n)
{
	const char *nul;

	if ((nul = memchr(s, '\0', n)) != NULL)
		n = (size_t)(nul - s);
	if (n >= outlen) {
		n = outlen - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

int
geo_reopen_if_changed(struct geo *g)
{
	struct geo_role *roles[2] = { &g->city, &g->asn };
	size_t i, j;
	int rv, n = 0, failed = 0;

	for (i = 0; i < nitems(roles); i++)
		for (j = 0; j < roles[i]->n; j++) {
			rv = reopen_db(&roles[i]->db[j]);
			if (rv == -1)
				failed = 1;
			else
				n += rv;
		}
	return failed ? -1 : n;
}

/* reopen_db - 1 reopened, 0 unchanged (or gone for now), -1 failed */
static int
reopen_db(struct geo_db *d)
{
	struct fileid id;
	struct buf b;
	MMDB_s *m;
	int rc;

	if (file_id(d->path, &id) == -1)
		return 0;	/* mid-replacement or removed: keep ours */
	if (memcmp(&id, &d->id, sizeof(id)) == 0)
		return 0;
	if (memcmp(&id, &d->bad, sizeof(id)) == 0)
		return -1;	/* already reported */
	m = xcalloc(1, sizeof(*m));
	buf_init(&b);
	log_escape(&b, d->path, strlen(d->path));
	if ((rc = MMDB_open(d->path, MMDB_MODE_MMAP, m)) != MMDB_SUCCESS) {
		log_warnx("geoip: reopen failed, keeping the old database "
		    "file=%s error=\"%s\"", b.data, MMDB_strerror(rc));
		free(m);
		buf_free(&b);
		d->bad = id;
		return -1;
	}
	MMDB_close(d->mmdb);
	free(d->mmdb);
	d->mmdb = m;
	d->id = id;
	memset(&d->bad, 0, sizeof(d->bad));
	d->layout = probe_layout(m);
	log_info("geoip: reopened file=%s layout=%s", b.data,
	    layout_names[d->layout]);
	buf_free(&b);
	return 1;
}

static void
describe_role(const struct geo_role *r, struct buf *b, int layout)
{
	size_t i;

	if (r->n == 0) {
		buf_adds(b, "none");
		return;
	}
	for (i = 0; i < r->n; i++) {
		if (i > 0)
			buf_addc(b, ',');
		log_escape(b, r->db[i].path, strlen(r->db[i].path));
		if (layout) {
			buf_addc(b, ':');
			buf_adds(b, layout_names[r->db[i].layout]);
		}
	}
}

void
geo_describe(const struct geo *g, struct buf *b)
{
	buf_adds(b, "city=");
	describe_role(&g->city, b, 1);
	buf_adds(b, " asn=");
	describe_role(&g->asn, b, 0);
}

double
geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0, earth_km = 6371.0088;
	double dlat, dlon, h;

	dlat = (lat2 - lat1) * rad;
	dlon = (lon2 - lon1) * rad;
	h = sin(dlat / 2) * sin(dlat / 2) + cos(lat1 * rad) * cos(lat2 * rad) *
	    sin(dlon / 2) * sin(dlon / 2);
	if (h > 1)
		h = 1;
	return 2 * earth_km * asin(sqrt(h));
}
