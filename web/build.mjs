// SPDX-License-Identifier: BSD-2-Clause
//
// build.mjs - build the dashboard: node build.mjs [SRC [OUT]]
//
// SRC is this directory (web/ of the source tree), OUT the build's web/
// directory, which holds node_modules (npm ci) and gets dist/: the four
// pages, assets/*.js (one bundle per page, the map geometry and country
// table inside), assets/style.css and assets/icon.svg.  `fumidai web`
// serves dist/ (web.assets; FUMIDAI_WEB_DIR).  Nothing in dist/ refers to
// another host.  Out-of-tree builds write only under OUT.

import { cpSync, mkdirSync, rmSync, renameSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = resolve(process.argv[2] || dirname(fileURLToPath(import.meta.url)));
const out = resolve(process.argv[3] || src);
const modules = join(out, 'node_modules');
const esbuild = createRequire(join(out, 'package.json'))('esbuild');
const dist = join(out, 'dist');
const tmp = join(out, 'dist.tmp');

rmSync(tmp, { recursive: true, force: true });
mkdirSync(join(tmp, 'assets'), { recursive: true });

await esbuild.build({
	entryPoints: ['admin', 'account', 'owner', 'login'].map((p) => ({
		in: join(src, 'src', 'pages', `${p}.js`), out: p })),
	outdir: join(tmp, 'assets'),
	bundle: true,
	format: 'esm',
	target: ['es2020'],
	minify: true,
	legalComments: 'linked',
	nodePaths: [modules],
	logLevel: 'warning',
	absWorkingDir: out,
});
await esbuild.build({
	entryPoints: [join(src, 'src', 'style.css')],
	outfile: join(tmp, 'assets', 'style.css'),
	bundle: true,
	minify: true,
	logLevel: 'warning',
});
for (const f of ['index.html', 'account.html', 'owner.html', 'login.html'])
	cpSync(join(src, 'src', 'html', f), join(tmp, f));
cpSync(join(src, 'src', 'html', 'icon.svg'), join(tmp, 'assets', 'icon.svg'));

rmSync(dist, { recursive: true, force: true });
renameSync(tmp, dist);
