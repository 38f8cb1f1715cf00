//! Share pages: a result as one self-contained HTML file whose data is
//! compressed and sealed with AES-256-GCM under a random key that travels
//! only in the link's fragment (`#k=...`), which browsers never send to a
//! server. The page (the HTML export's grid) decrypts in the browser with
//! WebCrypto; with a passphrase, the key is also bound to PBKDF2-SHA256 of
//! it. Nothing on the page is shown before every byte authenticated.
//!
//! Layout of the file, all ASCII but the data block:
//! - `<meta charset="windows-1252">`: every byte is one character, so the
//!   data block holds raw ciphertext with 4 byte values escaped (about
//!   1.6 % overhead) instead of base64 (33 %). A probe of the 128 high
//!   bytes leads the block, so a page re-encoded by a server that forces
//!   another charset says so instead of failing to decrypt.
//! - `#meta`: title, times, expiry and the sealing parameters, in clear and
//!   authenticated with every chunk.
//! - `#data`: the probe, then the sealed chunks of deflate-raw of the
//!   column description (first line) and one JSON array per row.
//! - `#tail`: the row count, authenticated with the last chunk.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use qore_core::arrow::array::{Int64Array, RecordBatch};
//! use qore_core::{RecordBatchStreamAdapter, SendableRecordBatchStream};
//! use qore_export::share::{self, ShareOptions};
//!
//! let batch = RecordBatch::try_from_iter([("n", Arc::new(Int64Array::from(vec![1, 2])) as _)]).unwrap();
//! let stream: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
//!     batch.schema(),
//!     futures::stream::iter([Ok(batch)]),
//! ));
//! let mut page = Vec::new();
//! let shared = share::share_to_writer(stream, &mut page, &ShareOptions::default(), |_| {}).await.unwrap();
//! assert_eq!(shared.summary.rows, 2);
//! let opened = share::open(&page, &shared.key, None).unwrap();
//! assert_eq!(opened.rows, vec![serde_json::json!([1]), serde_json::json!([2])]);
//! # });
//! ```

mod seal;
mod upload;

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arrow::array::RecordBatch;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use flate2::Compression;
use flate2::write::DeflateEncoder;
use futures::StreamExt;
use qore_core::{Error, Result, SendableRecordBatchStream};
use sha2::{Digest, Sha256};

use crate::html::{GRID_JS, HtmlOptions, Page, RowLines, page_head, page_meta, script_json};
use crate::{Counting, OutputPath, Progress, Summary};
use seal::{CHECK_KEY, CHECK_PASS, OpenFailure, SealWriter, Sealer};

pub use upload::{UploadTarget, Uploaded, upload};

/// The fewest PBKDF2 iterations a passphrase gets (OWASP's figure for
/// PBKDF2-HMAC-SHA256).
pub const MIN_ITERATIONS: u32 = 600_000;

/// What a share page holds besides the data.
#[derive(Debug, Clone)]
pub struct ShareOptions {
    /// Title, query, source and time shown in the page's header. The title
    /// is in clear (authenticated); query and source are sealed with the data.
    pub html: HtmlOptions,
    /// When the page stops opening (seconds since the epoch, UTC). The page
    /// enforces it; a copy of the file can be edited, so it is advisory
    /// unless the upload target deletes the file too.
    pub expires_at: Option<i64>,
    /// A passphrase needed besides the link's key.
    pub passphrase: Option<String>,
    /// PBKDF2 iterations for the passphrase; at least [`MIN_ITERATIONS`].
    pub iterations: u32,
    /// The creation time (seconds since the epoch); now when `None`.
    pub created_at: Option<i64>,
}

impl Default for ShareOptions {
    fn default() -> Self {
        ShareOptions {
            html: HtmlOptions::default(),
            expires_at: None,
            passphrase: None,
            iterations: MIN_ITERATIONS,
            created_at: None,
        }
    }
}

/// The random 256-bit key of one share. It goes into the link's fragment
/// and nowhere else: `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareKey([u8; 32]);

impl std::fmt::Debug for ShareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShareKey(..)")
    }
}

impl ShareKey {
    /// A new key from the operating system's random source.
    ///
    /// # Error handling
    ///
    /// [`Error::Internal`] when the system has no random source.
    pub fn generate() -> Result<ShareKey> {
        Ok(ShareKey(random()?))
    }

    /// The link fragment, without `#`: `k=` and the key in base64url.
    pub fn fragment(&self) -> String {
        format!("k={}", URL_SAFE_NO_PAD.encode(self.0))
    }

    /// The key of a link, a fragment (`#k=...`, `k=...`) or the bare key.
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] when no 256-bit base64url key is there.
    pub fn parse(link: &str) -> Result<ShareKey> {
        let frag = link.rsplit_once('#').map_or(link, |(_, f)| f);
        let value = frag
            .split('&')
            .find_map(|p| p.strip_prefix("k="))
            .unwrap_or(frag);
        let bytes = URL_SAFE_NO_PAD
            .decode(value)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| Error::invalid("the share link has no key: it ends with #k= and 43 characters of base64url"))?;
        Ok(ShareKey(bytes))
    }
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no random source for the share key: {e}")))?;
    Ok(b)
}

/// The content key: the link key alone, or bound to the passphrase.
fn content_key(key: &ShareKey, passphrase: Option<(&str, &[u8], u32)>) -> [u8; 32] {
    let Some((pass, salt, iterations)) = passphrase else {
        return key.0;
    };
    let mut derived = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(pass.as_bytes(), salt, iterations, &mut derived);
    let mut h = Sha256::new();
    h.update(b"qore-share-v1\0");
    h.update(key.0);
    h.update(derived);
    h.finalize().into()
}

/// A share written: the export's counts and the key for the link.
#[derive(Debug)]
pub struct Shared {
    /// Rows, bytes written and time taken.
    pub summary: Summary,
    /// The key; [`ShareKey::fragment`] is the link's fragment.
    pub key: ShareKey,
}

/// Streams `stream` into a share page written to `out`, calling `progress`
/// after every batch. Memory stays at one batch and one 1 MiB chunk.
///
/// # Error handling
///
/// [`Error::InvalidInput`] for fewer than [`MIN_ITERATIONS`] or an empty
/// passphrase; any error of the stream; [`Error::Io`] when `out` fails.
pub async fn share_to_writer<W, F>(
    mut stream: SendableRecordBatchStream,
    out: W,
    options: &ShareOptions,
    mut progress: F,
) -> Result<Shared>
where
    W: Write + Send,
    F: FnMut(&Progress),
{
    let started = Instant::now();
    let io = |e| Error::io("cannot write the share page", e);
    let bytes = Arc::new(AtomicU64::new(0));
    let mut out = std::io::BufWriter::with_capacity(
        1 << 16,
        Counting {
            inner: out,
            bytes: bytes.clone(),
        },
    );
    let key = ShareKey::generate()?;
    let prefix: [u8; 8] = random()?;
    let link_sealer = Sealer::new(&key.0, prefix);
    let mut enc = serde_json::json!({
        "alg": "AES-256-GCM",
        "chunk": seal::CHUNK,
        "compression": "deflate-raw",
        "nonce": STANDARD.encode(prefix),
        "check_key": STANDARD.encode(link_sealer.check(CHECK_KEY)?),
    });
    let sealer = match options.passphrase.as_deref() {
        None => link_sealer,
        Some("") => return Err(Error::invalid("the passphrase is empty")),
        Some(pass) => {
            if options.iterations < MIN_ITERATIONS {
                return Err(Error::invalid(format!(
                    "{} PBKDF2 iterations are too few: at least {MIN_ITERATIONS}",
                    options.iterations
                )));
            }
            let salt: [u8; 16] = random()?;
            let s = Sealer::new(&content_key(&key, Some((pass, &salt, options.iterations))), prefix);
            enc["kdf"] = serde_json::json!({
                "alg": "PBKDF2-SHA256",
                "iterations": options.iterations,
                "salt": STANDARD.encode(salt),
            });
            enc["check_pass"] = serde_json::Value::String(STANDARD.encode(s.check(CHECK_PASS)?));
            s
        }
    };
    let created = options.created_at.unwrap_or_else(now_secs);
    let title = options.html.title.clone().unwrap_or_else(|| "qore share".into());
    let meta = serde_json::json!({
        "v": 1,
        "title": title,
        "created_at": qore_core::calendar::rfc3339_utc(created),
        "expires_at": options.expires_at.map(qore_core::calendar::rfc3339_utc),
        "enc": enc,
    });
    let meta_text = script_json(&meta);
    out.write_all(page_head(Page::Share, &title, &meta_text).as_bytes()).map_err(io)?;
    out.write_all(&PROBE).map_err(io)?;

    let mut inner = page_meta(&stream.schema(), &options.html);
    inner["title"] = serde_json::Value::String(title);
    let mut deflate = DeflateEncoder::new(SealWriter::new(out, sealer, meta_text.into_bytes()), Compression::new(6));
    serde_json::to_writer(&mut deflate, &inner).map_err(|e| Error::data(e.to_string()))?;
    deflate.write_all(b"\n").map_err(io)?;
    let mut lines = RowLines::default();
    let mut rows = 0u64;
    while let Some(batch) = stream.next().await {
        let batch: RecordBatch = batch?;
        rows += lines.write(&batch, &mut deflate)?;
        progress(&Progress {
            rows,
            bytes: bytes.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        });
    }
    let tail = format!("{{\"rows\":{rows}}}");
    let mut out = deflate.finish().map_err(io)?.finish(tail.as_bytes()).map_err(io)?;
    out.write_all(
        format!("</script>\n<script type=\"application/json\" id=\"tail\">{tail}</script>\n<script>{GRID_JS}{SHARE_JS}</script></body></html>\n")
            .as_bytes(),
    )
    .map_err(io)?;
    out.flush().map_err(io)?;
    Ok(Shared {
        summary: Summary {
            rows,
            bytes: bytes.load(Ordering::Relaxed),
            duration: started.elapsed(),
        },
        key,
    })
}

/// [`share_to_writer`] into a file, the way [`crate::export_to_path`]
/// writes one: through a temporary file renamed into place at the end, so
/// a failed share leaves nothing under `path`.
pub async fn share_to_path<F>(
    stream: SendableRecordBatchStream,
    path: &Path,
    options: &ShareOptions,
    progress: F,
) -> Result<Shared>
where
    F: FnMut(&Progress),
{
    let out = OutputPath::create(path)?;
    let shared = share_to_writer(stream, out.writer()?, options, progress).await?;
    out.commit()?;
    Ok(shared)
}

/// A share written and, if asked, uploaded.
#[derive(Debug)]
pub struct Published {
    /// The counts and the key.
    pub shared: Shared,
    /// The local page (kept whatever happened to the upload).
    pub file: std::path::PathBuf,
    /// The upload's outcome, when a target was given.
    pub upload: Option<Result<Uploaded>>,
}

impl Published {
    /// The link to open: the upload's URL, else the local file's
    /// `file://` URL, with the key's fragment.
    pub fn link(&self) -> String {
        match &self.upload {
            Some(Ok(u)) => format!("{}#{}", u.url, self.shared.key.fragment()),
            _ => self.local_link(),
        }
    }

    /// The local file's `file://` link with the key's fragment.
    pub fn local_link(&self) -> String {
        let url = url::Url::from_file_path(&self.file)
            .map_or_else(|_| format!("file://{}", self.file.display()), |u| u.to_string());
        format!("{url}#{}", self.shared.key.fragment())
    }
}

/// Writes the share page to `path` ([`share_to_path`]) and uploads it to
/// `target` if one is given ([`upload`]). An upload failure does not lose
/// the page: it is in [`Published::upload`], and the local link still opens.
///
/// # Error handling
///
/// The errors of [`share_to_path`]; the upload's own in the result.
pub async fn publish<F>(
    stream: SendableRecordBatchStream,
    path: &Path,
    options: &ShareOptions,
    target: Option<&UploadTarget>,
    progress: F,
) -> Result<Published>
where
    F: FnMut(&Progress),
{
    let shared = share_to_path(stream, path, options, progress).await?;
    let file = path
        .canonicalize()
        .map_err(|e| Error::io(format!("cannot find {} after writing it", path.display()), e))?;
    let expires_in = options.expires_at.map(|t| t - now_secs());
    let upload = target.map(|t| upload(&file, t, expires_in));
    Ok(Published { shared, file, upload })
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The 128 bytes that lead the data block: 0x80 to 0xFF.
const PROBE: [u8; 128] = {
    let mut p = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        p[i] = 0x80 + i as u8;
        i += 1;
    }
    p
};

/// A share page opened: what the browser would show.
#[derive(Debug, Clone)]
pub struct Opened {
    /// The clear metadata (title, times, expiry, sealing parameters).
    pub meta: serde_json::Value,
    /// The sealed description: columns, legend, query, source.
    pub columns: serde_json::Value,
    /// One JSON array per row.
    pub rows: Vec<serde_json::Value>,
}

fn element<'a>(page: &'a [u8], id: &str) -> Result<&'a [u8]> {
    let open = format!(" id=\"{id}\">");
    let start = find(page, open.as_bytes())
        .ok_or_else(|| Error::data(format!("not a qore share page: no `{id}` element")))?
        + open.len();
    let len = find(&page[start..], b"</script>")
        .ok_or_else(|| Error::data(format!("not a qore share page: the `{id}` element does not end")))?;
    Ok(&page[start..start + len])
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Opens a share page the way the page's own script does, checking every
/// seal: for tests, and for a program that receives a share.
///
/// # Error handling
///
/// [`Error::InvalidInput`] when the key (or the passphrase) is wrong or a
/// passphrase is needed; [`Error::Data`] when the page was changed or is not
/// a share page. Nothing is returned unless everything authenticated.
pub fn open(page: &[u8], key: &ShareKey, passphrase: Option<&str>) -> Result<Opened> {
    let meta_text = element(page, "meta")?;
    let tail = element(page, "tail")?;
    let meta: serde_json::Value =
        serde_json::from_slice(meta_text).map_err(|e| Error::data(format!("the share's metadata is not JSON: {e}")))?;
    let enc = &meta["enc"];
    let b64 = |name: &str| -> Result<Vec<u8>> {
        enc[name]
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or_else(|| Error::data(format!("the share's metadata lacks `{name}`")))
    };
    let prefix: [u8; 8] = b64("nonce")?
        .try_into()
        .map_err(|_| Error::data("the share's nonce is not 8 bytes"))?;
    if !Sealer::new(&key.0, prefix).checks(CHECK_KEY, &b64("check_key")?) {
        return Err(Error::invalid("the key in this link is wrong or incomplete: nothing was decrypted"));
    }
    let sealer = if enc["kdf"].is_object() {
        let pass = passphrase.ok_or_else(|| Error::invalid("this share needs its passphrase"))?;
        let iterations = enc["kdf"]["iterations"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| Error::data("the share's PBKDF2 iterations are missing"))?;
        let salt = enc["kdf"]["salt"]
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .ok_or_else(|| Error::data("the share's salt is missing"))?;
        let s = Sealer::new(&content_key(key, Some((pass, &salt, iterations))), prefix);
        if !s.checks(CHECK_PASS, &b64("check_pass")?) {
            return Err(Error::invalid("wrong passphrase"));
        }
        s
    } else {
        Sealer::new(&key.0, prefix)
    };
    let data = element(page, "data")?;
    if data.get(..PROBE.len()) != Some(&PROBE[..]) {
        return Err(Error::data("the share's data block was re-encoded (its byte probe changed)"));
    }
    let block = seal::unescape(&data[PROBE.len()..])?;
    let plain = seal::open_all(&sealer, meta_text, tail, &block).map_err(|f| match f {
        OpenFailure::Short => Error::data("the share's data block is cut short: the file was changed or truncated"),
        OpenFailure::Chunk { index, count } => Error::data(format!(
            "part {} of {count} of the share's data does not match its seal: the file was changed or damaged",
            index + 1
        )),
    })?;
    let mut text = String::new();
    flate2::read::DeflateDecoder::new(&plain[..])
        .read_to_string(&mut text)
        .map_err(|e| Error::data(format!("the share's data does not decompress: {e}")))?;
    let mut lines = text.lines();
    let columns = serde_json::from_str(lines.next().unwrap_or("null"))
        .map_err(|e| Error::data(format!("the share's column description is not JSON: {e}")))?;
    let rows = lines
        .map(|l| serde_json::from_str(l).map_err(|e| Error::data(format!("a row of the share is not JSON: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let promised: serde_json::Value = serde_json::from_slice(tail).unwrap_or_default();
    if promised["rows"].as_u64() != Some(rows.len() as u64) {
        return Err(Error::data(format!("the share holds {} rows, not the {} its trailer says", rows.len(), promised["rows"])));
    }
    Ok(Opened { meta, columns, rows })
}

/// Parses an expiry such as `7d`, `12h`, `1w2d`, `90m` or `3600s` into
/// seconds.
///
/// # Error handling
///
/// [`Error::InvalidInput`] naming the text for anything else, zero, or more
/// than ten years.
pub fn parse_expiry(text: &str) -> Result<i64> {
    let bad = || Error::invalid(format!("`{text}` is not an expiry: write a number and a unit (s, m, h, d, w), e.g. 7d or 1d12h"));
    let mut total: i64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: i64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        total = n.checked_mul(unit).and_then(|v| total.checked_add(v)).ok_or_else(bad)?;
    }
    if !digits.is_empty() || total == 0 {
        return Err(bad());
    }
    if total > 10 * 366 * 86_400 {
        return Err(Error::invalid(format!("`{text}` is more than ten years")));
    }
    Ok(total)
}

/// The page's loader: checks the encoding probe and the expiry, reads the
/// key from the fragment, asks for the passphrase when there is one,
/// checks every seal, and only then draws the grid. ASCII only.
const SHARE_JS: &str = include_str!("page.js");

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn expiry_forms() {
        assert_eq!(parse_expiry("7d").unwrap(), 7 * 86_400);
        assert_eq!(parse_expiry("1d12h").unwrap(), 36 * 3600);
        assert_eq!(parse_expiry("90m").unwrap(), 5400);
        assert_eq!(parse_expiry("2w").unwrap(), 14 * 86_400);
        for bad in ["", "7", "d", "7x", "0d", "-1d", "1.5d", "99999999999999w"] {
            let e = parse_expiry(bad).unwrap_err().to_string();
            assert!(e.contains(bad) || bad.is_empty(), "{bad}: {e}");
        }
        assert!(parse_expiry("11000d").unwrap_err().to_string().contains("ten years"));
    }

    proptest! {
        #[test]
        fn expiry_adds_its_parts(parts in proptest::collection::vec((1i64..100, 0usize..5), 1..4)) {
            let units = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400), ("w", 604_800)];
            let text: String = parts.iter().map(|(n, u)| format!("{n}{}", units[*u].0)).collect();
            let want: i64 = parts.iter().map(|(n, u)| n * units[*u].1).sum();
            prop_assert_eq!(parse_expiry(&text).unwrap(), want);
        }

        #[test]
        fn keys_round_trip_through_links(bytes in any::<[u8; 32]>()) {
            let k = ShareKey(bytes);
            let link = format!("https://example.org/s/x.html#{}", k.fragment());
            prop_assert_eq!(ShareKey::parse(&link).unwrap(), k.clone());
            prop_assert_eq!(ShareKey::parse(&k.fragment()).unwrap(), k);
        }
    }

    fn page_of(rows: &[(Option<String>, i64)], options: &ShareOptions) -> (Vec<u8>, ShareKey) {
        use arrow::array::{Int64Array, StringArray};
        let batch = RecordBatch::try_from_iter([
            ("s", std::sync::Arc::new(StringArray::from(rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>())) as _),
            ("n", std::sync::Arc::new(Int64Array::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())) as _),
        ])
        .unwrap();
        let stream: SendableRecordBatchStream = Box::pin(qore_core::RecordBatchStreamAdapter::new(
            batch.schema(),
            futures::stream::iter([Ok(batch)]),
        ));
        let mut page = Vec::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let shared = rt.block_on(share_to_writer(stream, &mut page, options, |_| {})).unwrap();
        (page, shared.key)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the cells, the page opens to exactly them, and every
        /// byte outside the data block is ASCII (the page is read as
        /// windows-1252).
        #[test]
        fn pages_round_trip_any_text(rows in proptest::collection::vec((proptest::option::of(".{0,40}"), any::<i64>()), 0..60), title in ".{0,20}") {
            let options = ShareOptions { html: HtmlOptions { title: Some(title.clone()), ..Default::default() }, ..Default::default() };
            let (page, key) = page_of(&rows, &options);
            let opened = open(&page, &key, None).unwrap();
            let want: Vec<serde_json::Value> = rows.iter().map(|(s, n)| serde_json::json!([s, n])).collect();
            prop_assert_eq!(opened.rows, want);
            prop_assert_eq!(opened.meta["title"].as_str().unwrap(), if title.is_empty() { "" } else { title.as_str() });
            let data = find(&page, b"id=\"data\">").unwrap();
            let end = data + find(&page[data..], b"</script>").unwrap();
            prop_assert!(page[..data].is_ascii() && page[end..].is_ascii());
        }
    }

    #[test]
    fn few_iterations_and_empty_passphrases_are_refused() {
        let weak = ShareOptions { passphrase: Some("p".into()), iterations: 1000, ..Default::default() };
        let stream: SendableRecordBatchStream = Box::pin(qore_core::RecordBatchStreamAdapter::new(
            std::sync::Arc::new(arrow::datatypes::Schema::empty()),
            futures::stream::iter(Vec::<Result<RecordBatch>>::new()),
        ));
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let e = rt.block_on(share_to_writer(stream, Vec::new(), &weak, |_| {})).unwrap_err();
        assert!(e.to_string().contains("1000 PBKDF2 iterations are too few"), "{e}");
        let (page, key) = page_of(&[], &ShareOptions::default());
        assert_eq!(open(&page, &key, None).unwrap().rows.len(), 0);
    }

    #[test]
    fn key_is_never_in_debug_output() {
        let k = ShareKey::generate().unwrap();
        let shown = format!("{k:?}");
        assert!(!shown.contains(&k.fragment()[2..]));
        assert!(ShareKey::parse("https://x/y#k=short").is_err());
        assert!(ShareKey::parse("https://x/y").is_err());
    }
}
