// SPDX-License-Identifier: BSD-2-Clause
//
// api.js - the JSON API of `fumidai web` (same origin; the browser sends
// the fm_admin / fm_owner cookie).  State-changing requests carry the
// X-Fumidai-CSRF header the server requires.

export class HttpError extends Error {
	constructor(status, msg) {
		super(msg);
		this.status = status;
	}
}

async function request(path, opts) {
	const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store', ...opts });
	let body = null;
	try {
		body = await r.json();
	} catch (e) {
		body = null;
	}
	if (!r.ok)
		throw new HttpError(r.status, (body && body.error) || `HTTP ${r.status}`);
	return body;
}

// get - GET a path with query parameters (undefined ones left out)
export function get(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v !== undefined && v !== null && v !== '')
			q.set(k, v);
	const qs = q.toString();
	return request(qs ? `${path}?${qs}` : path);
}

export function post(path, data) {
	return request(path, {
		method: 'POST',
		headers: { 'Content-Type': 'application/json', 'X-Fumidai-CSRF': '1' },
		body: JSON.stringify(data),
	});
}

// adminGet - get, sending the admin to the login page when not logged in
export async function adminGet(path, params) {
	try {
		return await get(path, params);
	} catch (e) {
		if (e.status === 401)
			location.assign('/login.html');
		throw e;
	}
}
