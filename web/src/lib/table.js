// SPDX-License-Identifier: BSD-2-Clause
//
// table.js - tables from arrays of records.  A column is
// {head, cell(row) -> string | Node, cls}; cells are built by dom.js, so
// text stays text.

import { el } from './dom.js';

export function table(cols, rows, opts = {}) {
	if (!rows || rows.length === 0)
		return el('p', { class: 'empty' }, opts.empty || 'Nothing in this range.');
	return el('table', { class: opts.cls || 'data' },
	    el('thead', null, el('tr', null, cols.map((c) => el('th', { class: c.cls === 'n' ? 'n' : null }, c.head)))),
	    el('tbody', null, rows.map((r) => el('tr', { class: opts.rowcls ? opts.rowcls(r) : null },
		cols.map((c) => el('td', { class: c.cls }, c.cell(r)))))));
}

// section - a titled panel
export function section(title, id, ...kids) {
	return el('section', { class: 'panel', id }, el('h2', null, title), ...kids);
}
