// Drives Debian's chromium (headless, no network) over an ER diagram page
// and prints what it shows and how fast, as JSON: used by the CLI tests and
// benches/erd.py. Usage: node erd_check.mjs FILE.html [TABLE-TO-CLICK] [SEARCH]
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(process.env.QORE_TOOLS + '/node/');
const { chromium } = require('playwright-core');

const [file, clickName, query] = process.argv.slice(2);
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'qore-chromium-')), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
         '--disable-sync', '--no-first-run', '--disable-quic'],
});
const page = await browser.newPage();
const requests = [];
page.on('request', (r) => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()); });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.goto(pathToFileURL(file).href);
await page.waitForSelector('body[data-ready="1"]', { timeout: 30000, state: 'attached' });
const out = {};
out.readyMs = await page.evaluate(() => window.__erdReadyMs);
out.tables = await page.evaluate(() => JSON.parse(document.getElementById('erd').textContent).tables.length);
out.title = await page.title();
out.legend = await page.textContent('#legend');
// Search: the names found, and how long until the highlight is drawn.
out.search = await page.evaluate((q) => {
  const t0 = performance.now();
  const names = window.qoreErd.search(q);
  return { names, ms: performance.now() - t0, hits: document.getElementById('hits').textContent };
}, query || 'order');
await page.evaluate(() => window.qoreErd.search(''));
// Scripted zoom and pan: draw times per frame.
await page.evaluate(() => { window.qoreErd.fit(); window.__erdFrames.length = 0; });
await page.mouse.move(700, 450);
for (let i = 0; i < 30; i++) { await page.mouse.wheel(0, -120); await page.waitForTimeout(16); }
await page.mouse.down();
for (let i = 0; i < 30; i++) { await page.mouse.move(700 - i * 10, 450 - i * 5); await page.waitForTimeout(16); }
await page.mouse.up();
for (let i = 0; i < 30; i++) { await page.mouse.wheel(0, 120); await page.waitForTimeout(16); }
const frames = await page.evaluate(() => window.__erdFrames.slice().sort((a, b) => a - b));
out.frames = frames.length;
out.p95FrameMs = frames.length ? frames[Math.floor(frames.length * 0.95)] : null;
// Click a table: its panel opens.
const clickAt = async (name) => {
  const pos = await page.evaluate((name) => {
    const D = JSON.parse(document.getElementById('erd').textContent);
    const t = D.tables.find((t) => t.name === name || t.label === name);
    window.qoreErd.center(name);
    const v = window.qoreErd.view();
    return { x: (t.box[0] + 10) * v.scale + v.tx, y: (t.box[1] + 8) * v.scale + v.ty + 40 };
  }, name);
  await page.waitForTimeout(50);
  await page.mouse.click(pos.x, pos.y);
  await page.waitForTimeout(50);
};
if (clickName) {
  await clickAt(clickName);
  out.panelOpen = await page.evaluate(() => document.getElementById('panel').classList.contains('open'));
  out.panelTitle = await page.textContent('#panel h2');
  out.panelColumns = await page.$$eval('#columns tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  out.panelText = await page.textContent('#panel');
  out.query = await page.evaluate(() => { const q = document.getElementById('query'); return q ? q.textContent : null; });
  out.sampleRows = await page.$$eval('#samples tr', (trs) => trs.length - 1);
  // A GUI's hook: navigation instead of the panel.
  await page.evaluate(() => { document.getElementById('panel').classList.remove('open'); window.__opened = []; window.qoreErd.on_open = (t) => window.__opened.push(t.table); });
  await clickAt(clickName);
  out.hook = await page.evaluate(() => window.__opened);
  out.panelAfterHook = await page.evaluate(() => document.getElementById('panel').classList.contains('open'));
}
out.pwned = await page.evaluate(() => window.__pwned === 1);
out.requests = requests;
out.errors = errors;
console.log(JSON.stringify(out));
await browser.close();
