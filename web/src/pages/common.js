// SPDX-License-Identifier: BSD-2-Clause
//
// common.js - what every page shares: the error banner and the "loaded"
// mark (body[data-ready]) the browser tests wait for.

import { $, el, fill } from '../lib/dom.js';

export function ready() {
	document.body.setAttribute('data-ready', '1');
}

export function failed(e) {
	const m = $('main');
	if (m)
		fill(m, el('p', { class: 'error', id: 'error' }, String(e && e.message || e)));
	document.body.setAttribute('data-ready', 'error');
}
