// SPDX-License-Identifier: BSD-2-Clause
//
// owner.js - an account owner's page (/owner.html): their own history
// (/api/me; the account is the one of their signed link), with "This was
// me" / "This wasn't me" on each login.  "This wasn't me" raises a
// high-severity alert for the admins; "This was me" teaches the baseline.

import { get, post } from '../lib/api.js';
import { $, el, fill } from '../lib/dom.js';
import { render, rollday, rollkey } from '../lib/history.js';
import { t, uselang } from '../lib/i18n.js';
import { failed, ready } from './common.js';

let data = null;

async function verdict(r, v, cell) {
	const btns = cell.querySelectorAll('button');
	btns.forEach((b) => { b.disabled = true; });
	try {
		await post('/api/me/feedback', { day: rollday(r), key: rollkey(r), verdict: v });
		r.mark = { verdict: v };
		fill(cell, el('span', { class: 'thanks' }, v === 'me'
		    ? t('Thank you: noted as yours.')
		    : t('Thank you: the administrators have been alerted.')));
	} catch (e) {
		btns.forEach((b) => { b.disabled = false; });
		cell.appendChild(el('span', { class: 'error' }, ` ${e.message}`));
	}
}

function buttons(r) {
	const cell = el('span', { class: 'verdict' });
	if (r.mark)
		return cell;
	cell.append(
	    el('button', { type: 'button', class: 'me', onclick: () => verdict(r, 'me', cell) }, t('This was me')),
	    el('button', { type: 'button', class: 'notme', onclick: () => verdict(r, 'notme', cell) }, t("This wasn't me")));
	return cell;
}

async function load() {
	try {
		data = await get('/api/me');
	} catch (e) {
		if (e.status === 401 || e.status === 403) {
			fill($('main'), el('p', { class: 'error', id: 'expired' }, t('expired')));
			document.body.setAttribute('data-ready', 'denied');
			return;
		}
		throw e;
	}
	const a = data.account || {};
	$('name').textContent = a.name ?? '';
	render($('main'), data, { loginExtra: buttons });
	ready();
}

uselang(navigator.languages);
$('sub').textContent = t("your account's history");
$('intro').textContent = t('intro');
document.title = `${t("your account's history")} – fumidai`;
load().catch(failed);
