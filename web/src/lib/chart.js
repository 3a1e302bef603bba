// SPDX-License-Identifier: BSD-2-Clause
//
// chart.js - the hourly timeline as SVG bars: successful logins up (green),
// failed attempts down (red), messages as a line, each on its own scale.

import { svg } from './dom.js';
import { num } from './fmt.js';

const W = 960, H = 220, L = 48, R = 12, T = 12, B = 28;

export function timeline(points) {
	const pts = points || [];
	const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'timeline', role: 'img',
	    'aria-label': 'Logins per hour' });
	const mid = T + (H - T - B) / 2;
	const half = (H - T - B) / 2;
	const maxok = Math.max(1, ...pts.map((p) => p.ok || 0));
	const maxfail = Math.max(1, ...pts.map((p) => p.fail || 0));
	const n = Math.max(1, pts.length);
	const bw = (W - L - R) / n;
	root.appendChild(svg('line', { x1: L, x2: W - R, y1: mid, y2: mid, class: 'axis' }));
	root.appendChild(svg('text', { x: L - 4, y: T + 10, class: 'lbl end' }, `${num(maxok)} ok`));
	root.appendChild(svg('text', { x: L - 4, y: H - B, class: 'lbl end' }, `${num(maxfail)} fail`));
	const every = Math.max(1, Math.ceil(n / 12));
	pts.forEach((p, i) => {
		const x = L + i * bw;
		const ho = half * (p.ok || 0) / maxok, hf = half * (p.fail || 0) / maxfail;
		const t = String(p.t || '');
		const tip = `${t.slice(0, 13).replace('T', ' ')}:00 UTC: ${num(p.ok || 0)} ok, ` +
		    `${num(p.fail || 0)} failed, ${num(p.messages || 0)} messages`;
		const g = svg('g', { class: 'hour' }, svg('title', null, tip));
		g.appendChild(svg('rect', { x: x + 0.5, y: mid - ho, width: Math.max(1, bw - 1), height: ho, class: 'ok' }));
		g.appendChild(svg('rect', { x: x + 0.5, y: mid, width: Math.max(1, bw - 1), height: hf, class: 'fail' }));
		root.appendChild(g);
		if (i % every === 0)
			root.appendChild(svg('text', { x: x + bw / 2, y: H - 8, class: 'lbl mid' },
			    n > 24 ? t.slice(5, 13).replace('T', ' ') + 'h' : t.slice(11, 13) + 'h'));
	});
	const maxmsg = Math.max(1, ...pts.map((p) => p.messages || 0));
	if (pts.some((p) => p.messages)) {
		const d = pts.map((p, i) => `${i ? 'L' : 'M'}${(L + (i + 0.5) * bw).toFixed(1)},` +
		    `${(mid - half * (p.messages || 0) / maxmsg).toFixed(1)}`).join('');
		root.appendChild(svg('path', { d, class: 'msgs' }));
	}
	return root;
}
