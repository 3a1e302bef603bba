// SPDX-License-Identifier: BSD-2-Clause
//
// login.js - the admin login page: the form posts to /login itself; this
// only says why the browser is back here.

const p = new URLSearchParams(location.search);
if (p.has('failed') || p.has('error')) {
	const m = document.getElementById('msg');
	m.textContent = 'Wrong password.';
	m.className = 'error';
}
document.getElementById('password').focus();
document.body.setAttribute('data-ready', '1');
