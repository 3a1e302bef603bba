// SPDX-License-Identifier: BSD-2-Clause
//
// fmt.js - formatting of times, counts, countries, places and accounts.
// Country names come from the bundled ISO 3166 table (i18n-iso-countries),
// nothing is looked up at run time.

import countries from 'i18n-iso-countries';
import en from 'i18n-iso-countries/langs/en.json';
import { el } from './dom.js';

countries.registerLocale(en);

// the short names people use, where the ISO table has the long ones
const SHORT = {
	BO: 'Bolivia', CN: 'China', CZ: 'Czechia', GB: 'United Kingdom', IR: 'Iran',
	KP: 'North Korea', KR: 'South Korea', LA: 'Laos', MD: 'Moldova', RU: 'Russia',
	SY: 'Syria', TW: 'Taiwan', TZ: 'Tanzania', US: 'United States', VE: 'Venezuela',
};

// country - "Japan (JP)", or the code alone when the table lacks it
export function country(cc) {
	if (!cc)
		return '';
	const up = String(cc).toUpperCase();
	const name = Object.hasOwn(SHORT, up) ? SHORT[up] : countries.getName(up, 'en');
	return name ? `${name} (${cc})` : String(cc);
}

// ccnum - the ISO 3166-1 numeric code of an alpha-2 code (world-atlas ids)
export function ccnum(cc) {
	return cc ? countries.alpha2ToNumeric(String(cc).toUpperCase()) : undefined;
}

export function ccalpha(num) {
	return num ? countries.numericToAlpha2(String(num)) : undefined;
}

// time - an ISO 8601 time as "2026-11-25 10:30:01" (UTC), or ''
export function time(t) {
	if (!t)
		return '';
	const d = new Date(t);
	if (isNaN(d))
		return String(t);
	return d.toISOString().slice(0, 19).replace('T', ' ');
}

export function num(n) {
	if (n === null || n === undefined || n === '')
		return '';
	const v = Number(n);
	return isNaN(v) ? String(n) : v.toLocaleString('en-US');
}

// place - "Tokyo, Japan (JP) · AS64500 Org" from a record's geo fields
export function place(r) {
	const parts = [];
	const where = [r.city, country(r.cc)].filter(Boolean).join(', ');
	if (where)
		parts.push(where);
	if (r.asn)
		parts.push(`AS${r.asn}` + (r.asorg ? ` ${r.asorg}` : ''));
	return parts.join(' · ');
}

// hexof - the hex of a name's UTF-8 bytes (for alert records that carry
// the account as text only; the API's {name, hex} is used when present)
export function hexof(name) {
	const b = new TextEncoder().encode(String(name));
	return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function ishex(h) {
	return typeof h === 'string' && /^(?:[0-9a-f]{2})*$/i.test(h);
}

// account - a link to the account page showing the name as text
export function account(a, linked = true) {
	if (!a)
		return '';
	const name = typeof a === 'string' ? a : (a.name ?? '');
	const hex = typeof a === 'string' ? hexof(a) : (a.hex ?? hexof(name));
	const shown = name === '' ? '(empty)' : name;
	if (!linked || !ishex(hex))
		return el('span', { class: 'acct' }, shown);
	return el('a', { class: 'acct', href: `/account.html?a=${encodeURIComponent(hex)}` }, shown);
}

// badge - a small coloured label: ok / fail / severity / status
export function badge(text, kind) {
	return el('span', { class: `badge b-${String(kind || text).replace(/[^a-z0-9_-]/gi, '')}` }, String(text ?? ''));
}
