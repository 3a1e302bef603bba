// SPDX-License-Identifier: BSD-2-Clause
//
// dom.js - building the page from data.  Everything the server sends may
// hold attacker-controlled text (account names, log text), so nodes are
// made with createElement and text only ever goes in through createTextNode
// / textContent: there is no innerHTML anywhere in the dashboard.

const SVGNS = 'http://www.w3.org/2000/svg';

// append - add children: strings and numbers become text nodes, null and
// false are skipped, arrays are flattened
function append(node, kids) {
	for (const k of kids) {
		if (k === null || k === undefined || k === false)
			continue;
		if (Array.isArray(k))
			append(node, k);
		else if (k instanceof Node)
			node.appendChild(k);
		else
			node.appendChild(document.createTextNode(String(k)));
	}
	return node;
}

// setattrs - attributes from an object; "class" and "on<event>" handled
function setattrs(node, attrs) {
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === null || v === undefined || v === false)
			continue;
		if (k.startsWith('on') && typeof v === 'function')
			node.addEventListener(k.slice(2), v);
		else
			node.setAttribute(k, v === true ? '' : String(v));
	}
}

// el - an HTML element: el('td', {class: 'n'}, 'text', child, ...)
export function el(tag, attrs, ...kids) {
	const n = document.createElement(tag);
	setattrs(n, attrs);
	return append(n, kids);
}

// svg - an SVG element, same calling convention as el
export function svg(tag, attrs, ...kids) {
	const n = document.createElementNS(SVGNS, tag);
	setattrs(n, attrs);
	return append(n, kids);
}

// fill - replace a node's children
export function fill(node, ...kids) {
	node.replaceChildren();
	return append(node, kids);
}

export function $(id) {
	return document.getElementById(id);
}
