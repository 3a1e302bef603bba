// SPDX-License-Identifier: BSD-2-Clause
//
// admin.js - the admin overview (/): totals, the world map, the hourly
// timeline, top attacked accounts and attacking addresses, networks and
// countries, alerts, audits, and the account search.

import { adminGet } from '../lib/api.js';
import { timeline } from '../lib/chart.js';
import { $, el, fill } from '../lib/dom.js';
import { account, badge, country, num, time } from '../lib/fmt.js';
import { alerts } from '../lib/history.js';
import { offmap, worldmap } from '../lib/map.js';
import { section, table } from '../lib/table.js';
import { failed, ready } from './common.js';

function totals(o) {
	const t = o.totals || {};
	const card = (id, label, v, cls) => el('div', { class: `card ${cls || ''}`, id },
	    el('div', { class: 'v' }, num(v || 0)), el('div', { class: 'l' }, label));
	return el('div', { class: 'cards' },
	    card('t-ok', 'logins', t.login_ok, 'ok'),
	    card('t-fail', 'failed attempts', t.login_fail, 'fail'),
	    card('t-msg', 'messages', t.messages),
	    card('t-rcpt', 'recipients', t.recipients),
	    card('t-alerts', 'open alerts', o.open_alerts, o.open_alerts ? 'fail' : ''));
}

function tops(o) {
	return el('div', { class: 'grid' },
	    section('Top attacked accounts', 'top-accounts', table([
		{ head: 'Account', cell: (r) => account(r.account) },
		{ head: 'Failed', cell: (r) => num(r.fail), cls: 'n' },
		{ head: 'OK', cell: (r) => num(r.ok), cls: 'n' },
	    ], o.top_accounts)),
	    section('Top attacking addresses', 'top-ips', table([
		{ head: 'Address', cell: (r) => r.ip, cls: 'mono' },
		{ head: 'Failed', cell: (r) => num(r.fail), cls: 'n' },
		{ head: 'Country', cell: (r) => country(r.cc) },
		{ head: 'ASN', cell: (r) => (r.asn ? `AS${r.asn}` : '') },
	    ], o.top_ips)),
	    section('Top attacking networks', 'top-asns', table([
		{ head: 'ASN', cell: (r) => `AS${r.asn}` },
		{ head: 'Organisation', cell: (r) => r.org },
		{ head: 'Failed', cell: (r) => num(r.fail), cls: 'n' },
	    ], o.top_asns)),
	    section('Top attacking countries', 'top-countries', table([
		{ head: 'Country', cell: (r) => country(r.cc) },
		{ head: 'Failed', cell: (r) => num(r.fail), cls: 'n' },
	    ], o.top_countries)));
}

function audits(list) {
	return table([
		{ head: 'Audit', cell: (a) => a.name },
		{ head: 'Type', cell: (a) => a.type },
		{ head: 'Target', cell: (a) => a.target, cls: 'mono' },
		{ head: 'Last run (UTC)', cell: (a) => time(a.latest && a.latest.time), cls: 'mono' },
		{ head: 'Verdict', cell: (a) => (a.latest ? badge(a.latest.verdict, a.latest.verdict) : 'not run yet') },
		{ head: 'Findings', cell: (a) => (a.latest && a.latest.findings || []).join('; ') || (a.latest && a.latest.error) || '' },
	], list, { empty: 'No audits configured.' });
}

// offlist - the countries too small for the map, in words
function offlist(countries) {
	const off = offmap(countries);
	if (off.length === 0)
		return null;
	return el('p', { class: 'offmap' }, 'Not on the map: ', off.map((c, i) => [i ? '; ' : '',
	    c.cc ? country(c.cc) : 'unknown', `: ${num(c.ok || 0)} ok, ${num(c.fail || 0)} failed`]));
}

function alertAccount(a) {
	if (a.account === undefined || a.account === '')
		return '';
	return account(a.account_hex ? { name: a.account, hex: a.account_hex } : a.account);
}

async function search(ev) {
	ev.preventDefault();
	const q = $('q').value;
	const out = $('results');
	fill(out, el('p', { class: 'dim' }, 'Searching…'));
	try {
		const r = await adminGet('/api/accounts', { q });
		fill(out, table([
			{ head: 'Account', cell: (x) => account(x.account) },
			{ head: 'Last login (UTC)', cell: (x) => time(x.last_login), cls: 'mono' },
			{ head: 'From', cell: (x) => x.last_ip, cls: 'mono' },
			{ head: 'Last failure (UTC)', cell: (x) => time(x.last_fail), cls: 'mono' },
		], r.accounts, { empty: 'No account matches.' }));
	} catch (e) {
		fill(out, el('p', { class: 'error' }, e.message));
	}
}

async function load() {
	const days = $('days').value;
	const [o, al] = await Promise.all([
		adminGet('/api/overview', { days }),
		adminGet('/api/alerts', { limit: 50 }),
	]);
	$('range').textContent = `${time(o.range && o.range.since)} – ${time(o.range && o.range.until)} UTC`;
	fill($('main'),
	    totals(o),
	    section('Logins by country', 'map', worldmap(o.countries), offlist(o.countries),
		el('p', { class: 'legend' }, el('span', { class: 'sw ok' }), ' successful logins  ',
		    el('span', { class: 'sw fail' }), ' failed attempts (darker: more)')),
	    section('Logins per hour (UTC)', 'timeline', timeline(o.timeline),
		el('p', { class: 'legend' }, el('span', { class: 'sw ok' }), ' ok (up)  ',
		    el('span', { class: 'sw fail' }), ' failed (down)  ', el('span', { class: 'sw msg' }), ' messages')),
	    tops(o),
	    section('Alerts', 'alerts', alerts(al.alerts, alertAccount)),
	    section('Latest audits', 'audits', audits(o.audits)));
	ready();
}

$('search').addEventListener('submit', search);
$('days').addEventListener('change', () => load().catch(failed));
load().catch(failed);
