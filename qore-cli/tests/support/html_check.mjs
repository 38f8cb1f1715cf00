// Drives Debian's chromium (headless, no network) over an exported HTML file
// and prints what the page shows as JSON: used by the CLI tests.
// Usage: node html_check.mjs FILE.html
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(process.env.QORE_TOOLS + '/node/');
const { chromium } = require('playwright-core');

const file = process.argv[2];
// A fresh profile directory per run.
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'qore-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage();
const requests = [];
page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
const dialogs = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
await page.goto(pathToFileURL(file).href);
await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
const col = async (i) => page.$$eval('#grid tbody tr', (trs, i) => trs.map((tr) => tr.children[i].textContent), i);
const out = {};
out.count = await page.textContent('#count');
out.headers = await page.$$eval('#grid thead th .name', (e) => e.map((x) => x.textContent));
out.tags = await page.$$eval('#grid thead th', (e) => e.map((th) => [...th.querySelectorAll('.tag')].map((t) => t.textContent)));
out.firstIds = (await col(0)).slice(0, 3);
out.rowsShown = (await col(0)).length;
// Sort by the first column twice: descending on the second click.
await page.click('#grid thead th:nth-child(1) .name');
await page.click('#grid thead th:nth-child(1) .name');
out.sortedDesc = (await col(0)).slice(0, 3);
// Sort by the second column (text) ascending.
await page.click('#grid thead th:nth-child(2) .name');
out.sortedText = (await col(1)).slice(0, 3);
// Global filter, then a per-column filter.
await page.fill('#filter', 'needle');
out.filteredCount = await page.textContent('#count');
out.filtered = await col(1);
await page.fill('#filter', '');
await page.fill('#grid thead th:nth-child(2) input', '</script>');
out.hostile = await col(1);
await page.fill('#grid thead th:nth-child(2) input', '');
await page.click('#next');
out.page2 = await page.textContent('#page');
out.pwned = await page.evaluate(() => window.__pwned === 1);
out.title = await page.title();
out.legend = await page.textContent('#legend');
out.query = await page.textContent('#query');
out.requests = requests;
out.dialogs = dialogs;
console.log(JSON.stringify(out));
await browser.close();
