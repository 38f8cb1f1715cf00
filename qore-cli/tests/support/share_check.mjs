// Drives Debian's chromium (headless, no network) over a share page and
// prints what it shows as JSON: used by the CLI tests and benches/share.py.
// Usage: node share_check.mjs LINK [PASSPHRASE...]
// LINK is a file:// or http:// URL with its #k= fragment. Each PASSPHRASE is
// typed in turn (the page keeps asking after a wrong one).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(process.env.QORE_TOOLS + '/node/');
const { chromium } = require('playwright-core');

const [link, ...passes] = process.argv.slice(2);
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'qore-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  // A page from disk gets no network at all; one from the test's nginx only its own URL.
  offline: link.startsWith('file:'),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage();
const requests = [];
page.on('request', (r) => { if (r.url().split('#')[0] !== link.split('#')[0] && !r.url().startsWith('data:')) requests.push(r.url()); });
const dialogs = [];
page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
const started = Date.now();
const settled = 'body[data-ready="1"], body[data-failed="1"], #unlock:not([hidden])';
await page.goto(link);
await page.waitForSelector(settled, { timeout: 30000 });
const out = { wrong: 0 };
for (const p of passes) {
  if (!(await page.isVisible('#unlock'))) break;
  const before = Number(await page.evaluate(() => document.body.dataset.wrong || 0));
  await page.fill('#pass', p);
  await page.click('#open');
  await page.waitForFunction((b) => document.body.dataset.ready === '1' || document.body.dataset.failed === '1'
    || Number(document.body.dataset.wrong || 0) > b, before, { timeout: 60000 });
  out.wrong = Number(await page.evaluate(() => document.body.dataset.wrong || 0));
}
out.ms = Date.now() - started;
// Navigation start to the first page drawn, and the steps on the way, as the page measured them.
out.pageMs = Number(await page.evaluate(() => document.body.dataset.ms || -1));
out.marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, Math.round(m.startTime)])));
out.ready = await page.evaluate(() => document.body.dataset.ready === '1');
out.failed = await page.evaluate(() => document.body.dataset.failed === '1');
out.locked = await page.isVisible('#unlock');
out.error = (await page.isVisible('#error')) ? await page.textContent('#error') : null;
out.count = await page.textContent('#count');
out.title = await page.title();
out.facts = await page.textContent('#facts');
out.query = await page.textContent('#query');
out.headers = await page.$$eval('#grid thead th .name', (e) => e.map((x) => x.textContent));
const col = async (i) => page.$$eval('#grid tbody tr', (trs, i) => trs.map((tr) => tr.children[i].textContent), i);
out.rowsShown = (await page.$$('#grid tbody tr')).length;
// The second column's first cells (the first column's for one column).
out.first = out.rowsShown ? (await col(Math.min(1, out.headers.length - 1))).slice(0, 3) : [];
out.requests = requests;
out.dialogs = dialogs;
console.log(JSON.stringify(out));
await browser.close();
