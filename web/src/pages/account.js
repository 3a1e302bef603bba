// SPDX-License-Identifier: BSD-2-Clause
//
// account.js - the admin's page of one account (/account.html?a=<hex>).

import { adminGet } from '../lib/api.js';
import { $, fill } from '../lib/dom.js';
import { ishex, time } from '../lib/fmt.js';
import { render } from '../lib/history.js';
import { failed, ready } from './common.js';

async function load() {
	const p = new URLSearchParams(location.search);
	const hex = p.get('a') || '';
	if (!ishex(hex) || hex === '')
		throw new Error('No account given (account.html?a=<hex of its name>).');
	// the date inputs give whole days (UTC): since its start, until its end
	const since = $('since').value, until = $('until').value;
	const d = await adminGet('/api/account', { a: hex,
	    since: since ? `${since}T00:00:00Z` : undefined,
	    until: until ? `${until}T23:59:59Z` : undefined });
	const a = d.account || {};
	fill($('name'), a.name ?? '');
	document.title = `${a.name ?? ''} – fumidai`;
	const r = d.range || {};
	$('hexname').textContent = `hex ${a.hex ?? hex}` +
	    (r.since ? ` · ${time(r.since).slice(0, 10)} – ${time(r.until).slice(0, 10)} UTC` : '');
	render($('main'), d);
	ready();
}

$('range').addEventListener('submit', (ev) => {
	ev.preventDefault();
	load().catch(failed);
});
load().catch(failed);
