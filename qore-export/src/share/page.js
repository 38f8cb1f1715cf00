
(function(){
'use strict';
// The share page's loader (see qore-export/src/share/mod.rs for the layout).
// Nothing from the sealed data is drawn until every part authenticated.
const metaText = document.getElementById('meta').textContent;
const tailText = document.getElementById('tail').textContent;
const meta = JSON.parse(metaText);
const tail = JSON.parse(tailText);
const enc = meta.enc;
const CHECK_KEY = 0xFFFFFFFF, CHECK_PASS = 0xFFFFFFFE;
const te = new TextEncoder();
const unlock = document.getElementById('unlock');
const error = document.getElementById('error');
const count = document.getElementById('count');
document.getElementById('title').textContent = meta.title;
const about = [tail.rows + ' rows', 'shared ' + meta.created_at];
if (meta.expires_at) about.push('expires ' + meta.expires_at);
document.getElementById('facts').textContent = about.join(' \u00b7 ');
function fail(msg){
  error.textContent = msg; error.hidden = false; unlock.hidden = true;
  count.textContent = 'nothing shown';
  document.body.dataset.failed = '1';
}
function b64(s){ return Uint8Array.from(atob(s), function(c){ return c.charCodeAt(0); }); }
function b64url(s){ s = s.replace(/-/g, '+').replace(/_/g, '/'); while (s.length % 4) s += '='; return b64(s); }
function concat(parts){
  let n = 0; parts.forEach(function(p){ n += p.length; });
  const out = new Uint8Array(n); let at = 0;
  parts.forEach(function(p){ out.set(p, at); at += p.length; });
  return out;
}
function u32(i){ const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, i); return b; }
const prefix = b64(enc.nonce);
function iv(i){ return concat([prefix, u32(i)]); }
// The data block as bytes: the page is read as windows-1252, where every
// byte is one character; the first 128 characters are the bytes 0x80..0xFF
// and give the table back. Escapes: '=' then the byte plus 64.
function bytesOf(text){
  if (text.length < 128) return null;
  const table = new Int16Array(65536).fill(-1);
  for (let i = 0; i < 128; i++) table[i] = i;
  for (let i = 0; i < 128; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 || table[c] >= 0) return null;
    table[c] = 128 + i;
  }
  const out = new Uint8Array(text.length - 128);
  let n = 0;
  for (let i = 128; i < text.length; i++) {
    let b = table[text.charCodeAt(i)];
    if (b < 0) return null;
    if (b === 61) {
      i++;
      b = i < text.length ? (table[text.charCodeAt(i)] - 64) & 255 : -1;
      if (b !== 0 && b !== 13 && b !== 60 && b !== 61) return 'broken';
    }
    out[n++] = b;
  }
  return out.subarray(0, n);
}
async function opens(key, i, aad, data){
  try {
    return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: iv(i), additionalData: aad }, key, data));
  } catch (e) { return null; }
}
const CHECK_AAD = te.encode('qore share key check');
async function checks(key, i, value){
  const p = await opens(key, i, CHECK_AAD, b64(value));
  return p !== null && p.length === 0;
}
async function passKey(k, pass){
  const base = await crypto.subtle.importKey('raw', te.encode(pass), 'PBKDF2', false, ['deriveBits']);
  const bits = new Uint8Array(await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt: b64(enc.kdf.salt), iterations: enc.kdf.iterations }, base, 256));
  const digest = await crypto.subtle.digest('SHA-256', concat([te.encode('qore-share-v1\u0000'), k, bits]));
  return crypto.subtle.importKey('raw', digest, 'AES-GCM', false, ['decrypt']);
}
const DAMAGED = ' of the data does not match its seal: this file was changed or damaged. Nothing is shown.';
async function show(key, data){
  const metaBytes = te.encode(metaText), tailBytes = te.encode(tailText);
  const size = enc.chunk + 16;
  if (data.length < 16) return fail('The data is cut short: this file was changed or damaged. Nothing is shown.');
  const n = Math.ceil(data.length / size);
  const parts = [];
  for (let i = 0; i < n; i++) {
    const last = i === n - 1;
    const aad = concat([metaBytes, new Uint8Array([0]), u32(i), last ? concat([new Uint8Array([1]), tailBytes]) : new Uint8Array([0])]);
    const p = await opens(key, i, aad, data.subarray(i * size, Math.min(data.length, (i + 1) * size)));
    if (p === null) return fail('Part ' + (i + 1) + ' of ' + n + DAMAGED);
    parts.push(p);
  }
  performance.mark('qore-decrypted');
  const stream = new Blob(parts).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  const text = await new Response(stream).text();
  performance.mark('qore-inflated');
  const nl = text.indexOf('\n');
  const inner = JSON.parse(text.slice(0, nl));
  const rows = qoreLines(text.slice(nl + 1));
  performance.mark('qore-parsed');
  if (rows.length !== tail.rows) return fail('The data holds ' + rows.length + ' rows, not ' + tail.rows + '. Nothing is shown.');
  inner.title = meta.title;
  inner.facts = ['shared ' + meta.created_at];
  if (meta.expires_at) inner.facts.push('expires ' + meta.expires_at);
  unlock.hidden = true; error.hidden = true;
  qoreGrid(inner, rows);
}
async function main(){
  if (meta.expires_at && Date.now() >= Date.parse(meta.expires_at))
    return fail('This share expired on ' + meta.expires_at + '. Nothing is shown.');
  performance.mark('qore-start');
  const data = bytesOf(document.getElementById('data').textContent);
  performance.mark('qore-decoded');
  if (data === null)
    return fail('This page was re-encoded on its way here (it must be read as windows-1252). Save the file and open it from disk.');
  if (data === 'broken') return fail('The data block' + DAMAGED);
  if (!window.crypto || !crypto.subtle)
    return fail('This browser offers no WebCrypto for this page: open it from disk (file://) or over https.');
  const m = /(?:^#|&)k=([A-Za-z0-9_-]{43})(?:&|$)/.exec(location.hash);
  if (!m) return fail('This link has no key: open the whole link, including the part after # (k=...).');
  const k = b64url(m[1]);
  const linkKey = await crypto.subtle.importKey('raw', k, 'AES-GCM', false, ['decrypt']);
  if (!await checks(linkKey, CHECK_KEY, enc.check_key))
    return fail('The key in this link is wrong or incomplete. Nothing was decrypted.');
  if (!enc.kdf) return show(linkKey, data);
  count.textContent = 'locked';
  document.getElementById('about').textContent = 'This share is also protected by a passphrase.';
  unlock.hidden = false;
  const pass = document.getElementById('pass');
  const button = document.getElementById('open');
  pass.focus();
  async function tryOpen(){
    button.disabled = true; error.hidden = true;
    count.textContent = 'checking the passphrase\u2026';
    try {
      const key = await passKey(k, pass.value);
      if (!await checks(key, CHECK_PASS, enc.check_pass)) {
        error.textContent = 'Wrong passphrase.'; error.hidden = false;
        count.textContent = 'locked';
        document.body.dataset.wrong = String(Number(document.body.dataset.wrong || 0) + 1);
        return;
      }
      await show(key, data);
    } finally { button.disabled = false; }
  }
  button.addEventListener('click', function(){ tryOpen().catch(function(e){ fail('Could not open the share: ' + e); }); });
  pass.addEventListener('keydown', function(e){ if (e.key === 'Enter') button.click(); });
}
main().catch(function(e){ fail('Could not open the share: ' + e); });
})();
