// SPDX-License-Identifier: BSD-2-Clause
//
// login.js - the login page.  The admin form posts to /login itself; this
// only says why the browser is back here.  When the server has
// web.owner_login (GET /api/owner/login says enabled), the owners' form
// appears: it posts the mail account and password as JSON to
// /api/owner/login (with the CSRF header, lib/api.js) and goes on to
// /owner.html once the mail server accepted them.  Messages are set with
// textContent only.

import { get, post } from '../lib/api.js';

const p = new URLSearchParams(location.search);
if (p.has('failed') || p.has('error')) {
	const m = document.getElementById('msg');
	m.textContent = 'Wrong password.';
	m.className = 'error';
}
document.getElementById('password').focus();

const why = {
	401: 'Wrong mail account or password.',
	429: 'Too many failed logins. Try again later.',
	503: 'The mail server cannot be reached. Try again later.',
};

async function ownerLogin(ev) {
	ev.preventDefault();
	const form = ev.target;
	const msg = document.getElementById('ownermsg');
	const pw = document.getElementById('opassword');
	const btn = document.getElementById('ownerlogin');
	btn.disabled = true;
	try {
		await post('/api/owner/login', {
			account: document.getElementById('oaccount').value,
			password: pw.value,
		});
		pw.value = '';
		location.assign('/owner.html');
	} catch (e) {
		pw.value = '';
		msg.textContent = why[e.status] || e.message;
		msg.className = 'error';
		btn.disabled = false;
		form.querySelector('#opassword').focus();
	}
}

async function ownerForm() {
	try {
		const r = await get('/api/owner/login');
		if (!r || r.enabled !== true)
			return;
	} catch (e) {
		return;
	}
	const form = document.getElementById('ownerform');
	form.addEventListener('submit', ownerLogin);
	form.hidden = false;
}

ownerForm().finally(() => document.body.setAttribute('data-ready', '1'));
