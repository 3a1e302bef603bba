// SPDX-License-Identifier: BSD-2-Clause
//
// map.js - a world map as SVG, countries shaded by logins: red for failed
// attempts, green for successful logins (the mix when both).  The geometry
// is Natural Earth 1:110m from world-atlas, bundled into the script at
// build time; nothing is fetched at run time.

import { geoNaturalEarth1, geoPath } from 'd3-geo';
import { feature } from 'topojson-client';
import world from 'world-atlas/countries-110m.json';
import { svg } from './dom.js';
import { ccalpha, country, num } from './fmt.js';

const W = 960, H = 480;
let shapes = null;	// [{id, name, d}], projected once

function project() {
	if (shapes)
		return shapes;
	const land = feature(world, world.objects.countries);
	const proj = geoNaturalEarth1().fitSize([W, H], { type: 'Sphere' });
	const path = geoPath(proj);
	shapes = land.features.map((f) => ({ id: f.id, name: f.properties.name, d: path(f) }));
	shapes.sphere = path({ type: 'Sphere' });
	return shapes;
}

// shade - a fill colour: intensity by the log of the total, hue from the
// share of failures (green .. red)
function shade(ok, fail, max) {
	const tot = ok + fail;
	if (tot === 0)
		return null;
	const a = 0.35 + 0.65 * Math.log1p(tot) / Math.log1p(max);
	const f = fail / tot;
	const r = Math.round(60 + 180 * f), g = Math.round(160 - 110 * f), b = 70;
	return `rgba(${r},${g},${b},${a.toFixed(3)})`;
}

// offmap - the countries of [{cc, ok, fail}] the map cannot show (too
// small for 1:110m, or no country code)
export function offmap(countries) {
	const drawn = new Set(project().map((s) => ccalpha(s.id)).filter(Boolean));
	return (countries || []).filter((c) => !drawn.has(String(c.cc || '').toUpperCase()) &&
	    ((c.ok || 0) + (c.fail || 0)) > 0);
}

// worldmap - the SVG for countries [{cc, ok, fail}]
export function worldmap(countries) {
	const sh = project();
	const by = new Map();
	let max = 1;
	for (const c of countries || []) {
		const cc = String(c.cc || '').toUpperCase();
		by.set(cc, c);
		max = Math.max(max, (c.ok || 0) + (c.fail || 0));
	}
	const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'worldmap', role: 'img',
	    'aria-label': 'Logins by country' });
	root.appendChild(svg('path', { d: sh.sphere, class: 'sphere' }));
	for (const s of sh) {
		const cc = ccalpha(s.id);
		const c = cc ? by.get(cc) : undefined;
		const ok = c ? c.ok || 0 : 0, fail = c ? c.fail || 0 : 0;
		const col = shade(ok, fail, max);
		const p = svg('path', { d: s.d, class: col ? (fail ? 'country shaded has-fail' : 'country shaded') : 'country',
		    'data-cc': cc, fill: col });
		const label = cc ? country(cc) : s.name;
		p.appendChild(svg('title', null, col ? `${label}: ${num(ok)} ok, ${num(fail)} failed` : label));
		root.appendChild(p);
	}
	return root;
}
