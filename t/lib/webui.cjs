// SPDX-License-Identifier: BSD-2-Clause
//
// webui.cjs - the dashboard in headless Chromium, for t/web-ui.t.
//
//   node t/lib/webui.cjs SPEC.json
//
// SPEC (written by t/web-ui.t): base (http://127.0.0.1:PORT), password,
// modules (the build's web/node_modules: playwright-core), chromium (path),
// shots (directory for the PNGs, or ""), accounts (names the admin view
// must list), alert_kinds, countries (alpha-2 codes the map must shade),
// search (a substring) and search_name (the account it must find), account
// {name, hex, messages: recipients its page must show}, xss {name, hex}
// (an account whose name is markup), owner {link, name, others: names that
// must not appear, messages, notme and me: addresses of logins to report
// as not theirs and as theirs},
// expired and tampered (links).
//
// Prints one JSON object per check and line: {"ok":bool,"name":"...",
// "diag":"..."}; the Perl test turns them into TAP.  Every wait is for an
// element or an event (Playwright's default timeout bounds it), never a
// sleep.  A page "loaded" when body[data-ready] is set by its script.
'use strict';

const fs = require('fs');
const path = require('path');

const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { chromium } = require(path.join(spec.modules, 'playwright-core'));

function check(ok, name, diag) {
	process.stdout.write(JSON.stringify({ ok: !!ok, name, diag: ok ? undefined : String(diag ?? '') }) + '\n');
	return !!ok;
}

// watch - record a page's console errors, uncaught exceptions, failed
// requests and HTTP errors (except the statuses expected of a URL)
function watch(page, expect = {}) {
	const bad = [];
	page.on('console', (m) => {
		// Chromium logs every HTTP error status as "Failed to load
		// resource": those are judged by the response handler below
		if (m.type() === 'error' && !/^Failed to load resource: the server responded/.test(m.text()))
			bad.push(`console: ${m.text()}`);
	});
	page.on('pageerror', (e) => bad.push(`exception: ${e.message}`));
	page.on('requestfailed', (r) => bad.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
	page.on('response', (r) => {
		const u = new URL(r.url());
		if (r.status() >= 400 && expect[u.pathname] !== r.status())
			bad.push(`HTTP ${r.status()}: ${u.pathname}${u.search}`);
		if (u.origin !== new URL(spec.base).origin)
			bad.push(`request to another origin: ${r.url()}`);
	});
	return bad;
}

async function ready(page, want = '1') {
	await page.waitForSelector('body[data-ready]');
	const v = await page.getAttribute('body', 'data-ready');
	if (v !== want)
		throw new Error(`page ${page.url()}: data-ready=${v}: ` +
		    await page.textContent('main').catch(() => ''));
}

async function shot(page, name) {
	if (!spec.shots)
		return;
	await page.screenshot({ path: path.join(spec.shots, `${name}.png`), fullPage: true });
}

async function text(page, sel) {
	return (await page.locator(sel).textContent()) ?? '';
}

async function unauthenticated(browser) {
	const ctx = await browser.newContext({ viewport: { width: 960, height: 600 } });
	const page = await ctx.newPage();
	const r = await ctx.request.get(`${spec.base}/api/overview`);
	check(r.status() === 401, 'API without authentication: 401', `got ${r.status()}`);
	const r2 = await ctx.request.get(`${spec.base}/api/account?a=${spec.xss.hex}`);
	check(r2.status() === 401, 'account API without authentication: 401', `got ${r2.status()}`);
	const r3 = await ctx.request.get(`${spec.base}/api/overview`,
	    { headers: { Authorization: 'Bearer wrong-token' } });
	check(r3.status() === 401, 'API with a wrong token: 401', `got ${r3.status()}`);
	const bad = watch(page, { '/login': 401 });
	await page.goto(`${spec.base}/`);
	await page.waitForSelector('input#password');
	check(true, 'admin page without authentication shows the login form');
	await ready(page);
	await shot(page, 'login');
	await page.fill('#password', 'not-the-password');
	const [lr] = await Promise.all([
		page.waitForResponse((x) => new URL(x.url()).pathname === '/login' && x.request().method() === 'POST'),
		page.click('button[type=submit]')]);
	check(lr.status() !== 200 || !lr.headers()['set-cookie'], 'a wrong password is refused', `got ${lr.status()}`);
	// back on the login page, told why (the server's /login.html?failed=1)
	await page.waitForURL(/\/login\.html\?failed/);
	await ready(page);
	check(await text(page, '#msg') === 'Wrong password.', 'the login page says the password was wrong',
	    await text(page, '#msg'));
	const cookies = await ctx.cookies();
	check(!cookies.some((c) => c.name === 'fm_admin'), 'a wrong password gets no admin cookie',
	    JSON.stringify(cookies));
	const errs = bad.filter((b) => !b.startsWith('HTTP '));
	check(errs.length === 0, 'login page: no script errors or failed requests', errs.join('\n'));
	// the owners' form: web.owner_login names a closed loopback port here,
	// so the mail server "cannot be reached" (a 503, said on the page)
	check(await page.isVisible('#ownerform'), 'the login page shows the owners\' form (web.owner_login)');
	await page.fill('#oaccount', spec.xss.name);
	await page.fill('#opassword', 'not-the-password');
	const [or] = await Promise.all([
		page.waitForResponse((x) => new URL(x.url()).pathname === '/api/owner/login' &&
		    x.request().method() === 'POST'),
		page.click('#ownerlogin')]);
	check(or.status() === 503, 'owner login with the mail server down: 503', `got ${or.status()}`);
	await page.waitForFunction(() => document.getElementById('ownermsg').className === 'error');
	check(await text(page, '#ownermsg') === 'The mail server cannot be reached. Try again later.',
	    'the owners\' form says the mail server cannot be reached', await text(page, '#ownermsg'));
	check(!(await ctx.cookies()).some((c) => c.name === 'fm_owner'), 'and gives no owner cookie');
	await ctx.close();
}

// step - run f, reporting an exception as a failed check (the next steps
// still run)
async function step(name, f) {
	try {
		await f();
	} catch (e) {
		check(false, `${name}: ran to the end`, e.stack || e);
	}
}

async function admin(browser) {
	const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 } });
	const page = await ctx.newPage();
	const bad = watch(page, { '/': 401, '/index.html': 401 });
	await page.goto(`${spec.base}/login.html`);
	await page.fill('#password', spec.password);
	await Promise.all([page.waitForURL((u) => u.pathname === '/' || u.pathname === '/index.html'),
	    page.click('button[type=submit]')]);
	await ready(page);
	check(true, 'admin login with the password opens the overview');

	await step('overview', async () => {
		const tops = await text(page, '#top-accounts');
		for (const a of spec.accounts)
			check(tops.includes(a), `top attacked accounts list ${a}`, tops);
		const al = await text(page, '#alerts');
		for (const k of spec.alert_kinds)
			check(al.includes(k), `alerts list ${k}`, al);
		const shaded = await page.$$eval('svg.worldmap path.shaded',
		    (ps) => ps.map((p) => p.getAttribute('data-cc')));
		const paths = await page.$$eval('svg.worldmap path.country', (ps) => ps.length);
		check(paths > 100, 'the map draws the countries', `${paths} paths`);
		for (const cc of spec.countries)
			check(shaded.includes(cc), `the map shades ${cc}`, `shaded: ${shaded.join(' ')}`);
		const bars = await page.$$eval('svg.timeline rect.fail',
		    (r) => r.filter((x) => +x.getAttribute('height') > 0).length);
		check(bars > 0, 'the timeline has failures', `${bars} bars`);
		const ips = await text(page, '#top-ips');
		check(ips.length > 0 && !/Nothing in this range/.test(ips), 'top attacking addresses listed', ips);
		check(tops.includes(spec.xss.name), 'a markup account name shows as its literal text', tops);
		check(await page.evaluate(() => window.fmXss === undefined), 'no script ran from an account name');
		check(await page.$$eval('#top-accounts script, #top-accounts img', (x) => x.length) === 0,
		    'no element made from an account name');
		await shot(page, 'admin');
		check(bad.length === 0, 'admin overview: no console errors or failed requests', bad.join('\n'));
	});

	await step('search', async () => {
		bad.length = 0;
		await page.fill('#q', spec.search);
		await page.click('#search button');
		// the answer: a table, "No account matches." or an error (not
		// the "Searching…" shown meanwhile)
		await page.waitForSelector('#results table, #results p.empty, #results p.error');
		const link = page.locator('#results a.acct', { hasText: spec.search_name });
		const found = await link.count();
		check(found === 1, `search "${spec.search}" finds ${spec.search_name}`, await text(page, '#results'));
		if (found !== 1)
			return;
		await Promise.all([page.waitForURL(/\/account\.html\?a=/), link.click()]);
		await ready(page);
		check(true, 'a search result opens the account page');
	});

	await step('account page', async () => {
		bad.length = 0;
		await page.goto(`${spec.base}/account.html?a=${spec.account.hex}`);
		await ready(page);
		check(await text(page, '#name') === spec.account.name, 'account page names the account',
		    await text(page, '#name'));
		const rows = await page.$$eval('#logins tbody tr', (r) => r.length);
		check(rows > 0, 'account page lists login roll-ups', `${rows} rows`);
		const msgs = await text(page, '#messages');
		for (const m of spec.account.messages)
			check(msgs.includes(m), `account page shows the message's ${m}`, msgs);
		check(await page.evaluate(() => window.fmSubj === undefined), 'account page: no script ran from a subject');
		check(await page.$$eval('#messages img', (x) => x.length) === 0, 'account page: no element made from a subject');
		await shot(page, 'account');
		check(bad.length === 0, 'account page: no console errors or failed requests', bad.join('\n'));
	});

	await step('markup account page', async () => {
		bad.length = 0;
		await page.goto(`${spec.base}/account.html?a=${spec.xss.hex}`);
		await ready(page);
		check(await text(page, '#name') === spec.xss.name, 'markup account page: the name is literal text',
		    await text(page, '#name'));
		check(await page.title() === `${spec.xss.name} – fumidai`, 'markup account page: title is literal text',
		    await page.title());
		check(await page.evaluate(() => window.fmXss === undefined), 'markup account page: no script ran');
		check(bad.length === 0, 'markup account page: no console errors or failed requests', bad.join('\n'));
	});

	await step('logout', async () => {
		await page.goto(`${spec.base}/`);
		await ready(page);
		await Promise.all([page.waitForURL(/\/login\.html/), page.click('form.logout button')]);
		const r = await ctx.request.get(`${spec.base}/api/overview`);
		check(r.status() === 401, 'after logging out the API answers 401', `got ${r.status()}`);
	});
	await ctx.close();
}

async function owner(browser) {
	const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'en-US' });
	const page = await ctx.newPage();
	const bad = watch(page);
	await page.goto(spec.owner.link);
	await page.waitForURL(/\/owner\.html$/);
	await ready(page);
	check(await text(page, '#name') === spec.owner.name, 'owner link opens the owner page of its account',
	    await text(page, '#name'));
	const body = await text(page, 'main');
	const rows = await page.$$eval('#logins tbody tr', (r) => r.length);
	check(rows > 0, 'owner page lists the owner\'s logins', `${rows} rows`);
	for (const o of spec.owner.others)
		check(!body.includes(o), `owner page shows nothing of ${o}`, body);
	for (const m of spec.owner.messages || [])
		check(body.includes(m), `owner page lists the message to ${m}`, body);
	const r = await ctx.request.get(`${spec.base}/api/account?a=${spec.xss.hex}`);
	check(r.status() === 401, 'the owner cookie does not open the admin API', `got ${r.status()}`);
	const r2 = await ctx.request.post(`${spec.base}/api/me/feedback`,
	    { data: { day: '20000101', key: 'ok|127.0.0.1|imap', verdict: 'me' } });
	check(r2.status() === 403 || r2.status() === 400 || r2.status() === 401,
	    'feedback without the CSRF header is refused', `got ${r2.status()}`);
	await shot(page, 'owner');
	if (rows === 0)
		return;
	// "This wasn't me" on the login from owner.notme
	const first = page.locator('#logins tbody tr', { hasText: spec.owner.notme }).first();
	const [resp] = await Promise.all([
		page.waitForResponse((x) => new URL(x.url()).pathname === '/api/me/feedback'),
		first.locator('button.notme').click(),
	]);
	check(resp.status() === 200, '"This wasn\'t me" is accepted', `got ${resp.status()}`);
	await first.locator('.thanks').waitFor();
	// "This was me" on a login from home
	const home = page.locator('#logins tbody tr', { hasText: spec.owner.me }).first();
	const [resp2] = await Promise.all([
		page.waitForResponse((x) => new URL(x.url()).pathname === '/api/me/feedback'),
		home.locator('button.me').click(),
	]);
	check(resp2.status() === 200, '"This was me" is accepted', `got ${resp2.status()}`);
	await home.locator('.thanks').waitFor();
	await page.reload();
	await ready(page);
	const marked = await text(page, `#logins tbody tr:has-text("${spec.owner.notme}")`);
	check(/wasn't me/.test(marked) && !/This wasn't me/.test(marked),
	    'after a reload the login is marked, without buttons', marked);
	check(bad.length === 0, 'owner page: no console errors or failed requests', bad.join('\n'));
	await ctx.close();
}

// japanese - the owner page in a browser that prefers Japanese
async function japanese(browser) {
	const ctx = await browser.newContext({ viewport: { width: 1360, height: 900 }, locale: 'ja-JP' });
	const page = await ctx.newPage();
	const bad = watch(page);
	await page.goto(spec.owner.link);
	await page.waitForURL(/\/owner\.html$/);
	await ready(page);
	check(await page.getAttribute('html', 'lang') === 'ja', 'owner page in Japanese for a Japanese browser');
	const h = await text(page, '#logins h2');
	check(h.includes('ログイン'), 'owner page: Japanese headings', h);
	const b = await page.locator('#logins button.notme').count() +
	    await page.locator('#logins button.me').count();
	const l = await text(page, '#logins');
	check(b === 0 || l.includes('自分ではありません'), 'owner page: Japanese buttons', l);
	check(await text(page, '#name') === spec.owner.name, 'owner page in Japanese: the account name as it is');
	await shot(page, 'owner-ja');
	check(bad.length === 0, 'Japanese owner page: no console errors or failed requests', bad.join('\n'));
	await ctx.close();
}

async function refused(browser, which, link) {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	const resp = await page.goto(link);
	check(resp.status() === 403, `${which} owner link: 403`, `got ${resp.status()}`);
	const cookies = await ctx.cookies();
	check(!cookies.some((c) => c.name === 'fm_owner'), `${which} owner link: no cookie`, JSON.stringify(cookies));
	const me = await ctx.request.get(`${spec.base}/api/me`);
	check(me.status() === 401, `${which} owner link: /api/me refused`, `got ${me.status()}`);
	await ctx.close();
}

(async () => {
	const browser = await chromium.launch({ executablePath: spec.chromium,
	    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-quic', '--disable-dev-shm-usage',
		'--disable-background-networking', '--disable-component-update', '--disable-sync'] });
	try {
		await step('unauthenticated', () => unauthenticated(browser));
		await step('admin', () => admin(browser));
		await step('owner', () => owner(browser));
		await step('japanese', () => japanese(browser));
		await step('expired', () => refused(browser, 'expired', spec.expired));
		await step('tampered', () => refused(browser, 'tampered', spec.tampered));
	} finally {
		await browser.close();
	}
})().catch((e) => {
	check(false, 'browser started', e.stack || e);
	process.exitCode = 1;
});
