// SPDX-License-Identifier: BSD-2-Clause
//
// history.js - one account's history as the API gives it (/api/account
// for admins, /api/me for its owner): login roll-ups per day, address and
// service with count, first, last and place; recent attempts; places;
// messages with their recipients and delivery status; sessions; alerts.

import { el } from './dom.js';
import { badge, country, num, place, time } from './fmt.js';
import { t } from './i18n.js';
import { section, table } from './table.js';

// rollday - the day (YYYYMMDD) a roll-up belongs to
export function rollday(r) {
	return String(r.day || String(r.first || '').slice(0, 10)).replace(/-/g, '');
}

// rollkey - its field: result|ip|service
export function rollkey(r) {
	return r.key || `${r.result}|${r.ip}|${r.service}`;
}

function mark(r) {
	if (!r.mark)
		return '';
	const v = typeof r.mark === 'string' ? r.mark : r.mark.verdict;
	return badge(v === 'me' ? t('owner: was me') : v === 'notme' ? t("owner: wasn't me") : v, `mark-${v}`);
}

// logins - the roll-up table; extra(row) adds a last column (owner buttons)
export function logins(rows, extra) {
	const sorted = [...(rows || [])].sort((a, b) => String(b.last || '').localeCompare(String(a.last || '')));
	const cols = [
		{ head: t('Result'), cell: (r) => badge(t(r.result), r.result) },
		{ head: t('Service'), cell: (r) => r.service },
		{ head: t('Address'), cell: (r) => r.ip, cls: 'mono' },
		{ head: t('Place'), cell: (r) => place(r) },
		{ head: t('Count'), cell: (r) => num(r.n ?? r.count), cls: 'n' },
		{ head: t('First (UTC)'), cell: (r) => time(r.first), cls: 'mono' },
		{ head: t('Last (UTC)'), cell: (r) => time(r.last), cls: 'mono' },
		{ head: t('Mechanism'), cell: (r) => r.mech },
		{ head: t('Server'), cell: (r) => r.host },
		{ head: t('Reason'), cell: (r) => r.reason },
		{ head: t('Mark'), cell: mark },
	];
	if (extra)
		cols.push({ head: '', cell: extra });
	return table(cols, sorted, { cls: 'data logins', empty: t('No logins in this range.'),
	    rowcls: (r) => `r-${r.result === 'ok' ? 'ok' : 'fail'}` });
}

export function recent(rows) {
	const sorted = [...(rows || [])].sort((a, b) => String(b.time || '').localeCompare(String(a.time || '')));
	return table([
		{ head: t('Time (UTC)'), cell: (r) => time(r.time), cls: 'mono' },
		{ head: t('Result'), cell: (r) => badge(t(r.result), r.result) },
		{ head: t('Service'), cell: (r) => r.service },
		{ head: t('Address'), cell: (r) => r.ip, cls: 'mono' },
		{ head: t('Mechanism'), cell: (r) => r.mech },
		{ head: t('Server'), cell: (r) => r.host },
		{ head: t('Reason'), cell: (r) => r.reason },
		{ head: t('Attempts'), cell: (r) => num(r.attempts), cls: 'n' },
	], sorted, { empty: t('No recent attempts.') });
}

// places - the geo hash decoded: either [{...}] or {"cc:JP": "n|first|last|name"}
export function places(p) {
	let rows = [];
	if (Array.isArray(p))
		rows = p;
	else if (p && typeof p === 'object') {
		for (const [k, v] of Object.entries(p)) {
			if (v && typeof v === 'object') {
				rows.push({ key: k, ...v });
				continue;
			}
			const [n, first, last, name] = String(v).split('|');
			rows.push({ key: k, n, first, last, name });
		}
	}
	const what = (r) => {
		const k = String(r.key || '');
		if (k.startsWith('cc:'))
			return country(k.slice(3));
		if (k.startsWith('asn:'))
			return `AS${k.slice(4)}` + (r.name ? ` ${r.name}` : '');
		if (k.startsWith('city:')) {
			const [, cc, ...city] = k.split(':');
			return `${city.join(':')}, ${country(cc)}`;
		}
		return r.name ? `${k} ${r.name}` : k;
	};
	return table([
		{ head: t('Place'), cell: what },
		{ head: t('Logins'), cell: (r) => num(r.n ?? r.count), cls: 'n' },
		{ head: t('First (UTC)'), cell: (r) => time(r.first), cls: 'mono' },
		{ head: t('Last (UTC)'), cell: (r) => time(r.last), cls: 'mono' },
	], rows, { empty: t('No places learned (GeoIP not configured, or no logins).') });
}

function rcpts(m) {
	const list = m.rcpt || [];
	if (list.length === 0)
		return m.nrcpt !== undefined ? `${num(m.nrcpt)} (not yet delivered)` : '';
	return el('ul', { class: 'rcpt' }, list.map((r) => el('li', null,
	    el('span', { class: 'mono' }, r.to ?? ''), ' ', badge(r.status || 'pending', r.status || 'pending'),
	    r.relay && r.relay !== 'none' ? el('span', { class: 'dim' }, ` via ${r.relay}`) : null,
	    r.dsn ? el('span', { class: 'dim' }, ` ${r.dsn}`) : null)));
}

function sentby(m) {
	const out = [];
	if (m.login) {
		const l = m.login;
		out.push(`${l.service || ''} ${l.mech || ''} ${time(l.time)} from ${l.ip || '?'}`.trim());
	}
	if (m.inferred || m.via) {
		const v = m.via || {};
		out.push(el('div', { class: 'dim' }, `inferred (POP-before-SMTP, ${m.confidence || '?'} confidence): ` +
		    `${v.service || ''} login ${time(v.login_time)}`));
	}
	return out;
}

export function messages(rows) {
	const sorted = [...(rows || [])].sort((a, b) => String(b.time || '').localeCompare(String(a.time || '')));
	return table([
		{ head: t('Time (UTC)'), cell: (m) => time(m.time), cls: 'mono' },
		{ head: t('From'), cell: (m) => m.from, cls: 'mono' },
		{ head: t('Subject'), cell: (m) => m.subject ?? '' },
		{ head: t('Recipients'), cell: rcpts },
		{ head: t('Size'), cell: (m) => (m.size >= 0 ? num(m.size) : ''), cls: 'n' },
		{ head: t('Client'), cell: (m) => [el('span', { class: 'mono' }, m.ip ?? ''), ' ', m.service ?? ''] },
		{ head: t('Sent by login'), cell: sentby },
		{ head: t('Queue id'), cell: (m) => [m.host ?? '', ' ', el('span', { class: 'mono' }, m.qid ?? '')] },
		{ head: 'Message-ID', cell: (m) => m.msgid ?? '', cls: 'mono small' },
	], sorted, { empty: t('No messages sent in this range.') });
}

export function sessions(rows) {
	let list = rows || [];
	if (!Array.isArray(list))
		list = Object.entries(list).map(([k, v]) => ({ key: k, ...(typeof v === 'object' ? v : {}) }));
	list = [...list].sort((a, b) => String(b.start || '').localeCompare(String(a.start || '')));
	return table([
		{ head: t('Since (UTC)'), cell: (s) => time(s.start), cls: 'mono' },
		{ head: t('Service'), cell: (s) => s.service ?? String(s.key || '').split('|')[1] ?? '' },
		{ head: t('Server'), cell: (s) => s.host ?? String(s.key || '').split('|')[0] ?? '' },
		{ head: t('Address'), cell: (s) => s.ip, cls: 'mono' },
		{ head: t('Place'), cell: (s) => place(s) },
		{ head: t('Mechanism'), cell: (s) => s.mech ?? '' },
		{ head: t('Session'), cell: (s) => s.session ?? '', cls: 'mono' },
	], list, { empty: t('No open sessions.') });
}

export function alerts(rows, withAccount) {
	const now = Date.now();
	const open = (a) => a.until && new Date(a.until).getTime() >= now;
	const cols = [
		{ head: t('Last (UTC)'), cell: (a) => time(a.last || a.time), cls: 'mono' },
		{ head: t('State'), cell: (a) => (open(a) ? badge(t('open'), 'open') : t('closed')) },
		{ head: t('Severity'), cell: (a) => badge(a.severity, a.severity) },
		{ head: t('Kind'), cell: (a) => a.kind },
	];
	if (withAccount)
		cols.push({ head: 'Account', cell: withAccount });
	cols.push(
		{ head: t('Address'), cell: (a) => a.ip || a.net || '', cls: 'mono' },
		{ head: t('Summary'), cell: (a) => a.summary },
		{ head: t('Count'), cell: (a) => num(a.count), cls: 'n' });
	return table(cols, rows, { empty: t('No alerts.') });
}

// render - the sections of an account's history into node
export function render(node, d, opts = {}) {
	node.replaceChildren(
	    section(t('Logins by day, address and service'), 'logins', logins(d.logins, opts.loginExtra)),
	    section(t('Messages sent'), 'messages', messages(d.messages)),
	    section(t('Places'), 'places', places(d.places)),
	    section(t('Open sessions'), 'sessions', sessions(d.sessions)),
	    section(t('Alerts'), 'alerts', alerts(d.alerts)),
	    section(t('Recent attempts'), 'recent', recent(d.recent)));
}
