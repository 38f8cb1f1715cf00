//! The sealed data block of a share page: AES-256-GCM in chunks, and the
//! byte escaping that lets raw ciphertext sit in an HTML `<script>`.
//!
//! Chunk `i` (plaintext [`CHUNK`] bytes, the last one 0..=[`CHUNK`]) is
//! sealed under the nonce `prefix(8) || i(4, big-endian)` with the
//! associated data `meta || 0 || i(4) || 0` for every chunk but the last and
//! `meta || 0 || i(4) || 1 || tail` for the last. `meta` is the page's
//! metadata element as written and `tail` the trailer element (the row
//! count): changing either, dropping, reordering or cutting chunks fails
//! authentication. Two key checks (empty plaintexts under nonces no chunk
//! uses) tell a wrong link key apart from a wrong passphrase.

use std::io::Write;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::aead::Nonce;
use aes_gcm::{Aes256Gcm, Key};
use qore_core::{Error, Result};

/// Plaintext bytes per chunk.
pub(crate) const CHUNK: usize = 1 << 20;
/// Bytes of a GCM tag.
pub(crate) const TAG: usize = 16;
/// The nonce index of the link key's check value.
pub(crate) const CHECK_KEY: u32 = u32::MAX;
/// The nonce index of the passphrase's check value.
pub(crate) const CHECK_PASS: u32 = u32::MAX - 1;
/// The associated data of the check values.
const CHECK_AAD: &[u8] = b"qore share key check";

/// The escape byte of the data block.
const ESC: u8 = b'=';

/// Bytes a page's data block may not hold raw: NUL (the HTML parser
/// replaces it), CR (line ends are normalised), `<` (could end the script
/// element) and the escape byte itself.
fn must_escape(b: u8) -> bool {
    matches!(b, 0 | b'\r' | b'<' | ESC)
}

/// Appends `data` to `out` with every byte [`must_escape`] names written as
/// `=` and the byte plus 64 (which is never itself one of them).
pub(crate) fn escape_into(data: &[u8], out: &mut Vec<u8>) {
    out.reserve(data.len() + data.len() / 32);
    for &b in data {
        if must_escape(b) {
            out.push(ESC);
            out.push(b.wrapping_add(64));
        } else {
            out.push(b);
        }
    }
}

/// Undoes [`escape_into`].
///
/// # Error handling
///
/// [`Error::Data`] for an escape byte at the end or before a byte no
/// escape produces.
pub(crate) fn unescape(data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len());
    let mut it = data.iter();
    while let Some(&b) = it.next() {
        if b != ESC {
            out.push(b);
            continue;
        }
        match it.next() {
            Some(&e) if must_escape(e.wrapping_sub(64)) => out.push(e.wrapping_sub(64)),
            _ => return Err(Error::data("the share's data block has a broken escape: the file was changed")),
        }
    }
    Ok(out)
}

fn nonce(prefix: &[u8; 8], index: u32) -> Nonce<Aes256Gcm> {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(prefix);
    n[8..].copy_from_slice(&index.to_be_bytes());
    Nonce::<Aes256Gcm>::from(n)
}

/// The associated data of chunk `index`; `tail` is `Some` for the last.
pub(crate) fn aad(meta: &[u8], index: u32, tail: Option<&[u8]>) -> Vec<u8> {
    let mut a = Vec::with_capacity(meta.len() + 6 + tail.map_or(0, <[u8]>::len));
    a.extend_from_slice(meta);
    a.push(0);
    a.extend_from_slice(&index.to_be_bytes());
    match tail {
        None => a.push(0),
        Some(t) => {
            a.push(1);
            a.extend_from_slice(t);
        }
    }
    a
}

/// An AES-256-GCM key with the share's nonce prefix.
pub(crate) struct Sealer {
    cipher: Aes256Gcm,
    prefix: [u8; 8],
}

impl Sealer {
    pub(crate) fn new(key: &[u8; 32], prefix: [u8; 8]) -> Self {
        Sealer {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)),
            prefix,
        }
    }

    /// Seals `buf` in place (the tag appended).
    pub(crate) fn seal(&self, index: u32, aad: &[u8], buf: &mut Vec<u8>) -> Result<()> {
        self.cipher
            .encrypt_in_place(&nonce(&self.prefix, index), aad, buf)
            .map_err(|_| Error::data("AES-GCM refused to seal a chunk"))
    }

    /// Opens `buf` in place (the tag removed); `false` when it does not
    /// authenticate.
    pub(crate) fn open(&self, index: u32, aad: &[u8], buf: &mut Vec<u8>) -> bool {
        self.cipher
            .decrypt_in_place(&nonce(&self.prefix, index), aad, buf)
            .is_ok()
    }

    /// The check value of this key at `index` ([`CHECK_KEY`] or [`CHECK_PASS`]).
    pub(crate) fn check(&self, index: u32) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.seal(index, CHECK_AAD, &mut v)?;
        Ok(v)
    }

    /// Whether `value` is this key's check value at `index`.
    pub(crate) fn checks(&self, index: u32, value: &[u8]) -> bool {
        let mut v = value.to_vec();
        self.open(index, CHECK_AAD, &mut v) && v.is_empty()
    }
}

/// A writer that seals what it is given chunk by chunk and writes the
/// escaped ciphertext to `out`: memory stays at one chunk.
pub(crate) struct SealWriter<W: Write> {
    out: W,
    sealer: Sealer,
    meta: Vec<u8>,
    buf: Vec<u8>,
    escaped: Vec<u8>,
    index: u32,
}

impl<W: Write> SealWriter<W> {
    pub(crate) fn new(out: W, sealer: Sealer, meta: Vec<u8>) -> Self {
        SealWriter {
            out,
            sealer,
            meta,
            buf: Vec::with_capacity(CHUNK + TAG),
            escaped: Vec::new(),
            index: 0,
        }
    }

    fn emit(&mut self, mut chunk: Vec<u8>, tail: Option<&[u8]>) -> std::io::Result<()> {
        if self.index >= CHECK_PASS {
            return Err(std::io::Error::other("a share holds at most 4 PiB of compressed data"));
        }
        self.sealer
            .seal(self.index, &aad(&self.meta, self.index, tail), &mut chunk)
            .map_err(std::io::Error::other)?;
        self.index += 1;
        self.escaped.clear();
        escape_into(&chunk, &mut self.escaped);
        self.out.write_all(&self.escaped)
    }

    /// Seals what is buffered as the last chunk, bound to `tail`, and
    /// returns the writer underneath.
    pub(crate) fn finish(mut self, tail: &[u8]) -> std::io::Result<W> {
        let last = std::mem::take(&mut self.buf);
        self.emit(last, Some(tail))?;
        Ok(self.out)
    }
}

impl<W: Write> Write for SealWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        // A full chunk is sealed only once more data follows: the last
        // chunk must be sealed as the last.
        while self.buf.len() > CHUNK {
            let rest = self.buf.split_off(CHUNK);
            let chunk = std::mem::replace(&mut self.buf, rest);
            self.emit(chunk, None)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Why a sealed block did not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenFailure {
    /// Chunk `index` of `count` did not authenticate.
    Chunk { index: usize, count: usize },
    /// The block is shorter than one tag.
    Short,
}

/// Opens a sealed block (already unescaped) into its plaintext.
pub(crate) fn open_all(
    sealer: &Sealer,
    meta: &[u8],
    tail: &[u8],
    block: &[u8],
) -> std::result::Result<Vec<u8>, OpenFailure> {
    if block.len() < TAG {
        return Err(OpenFailure::Short);
    }
    let count = block.len().div_ceil(CHUNK + TAG);
    let mut out = Vec::with_capacity(block.len());
    for (i, part) in block.chunks(CHUNK + TAG).enumerate() {
        let last = i + 1 == count;
        let mut buf = part.to_vec();
        let index = u32::try_from(i).map_err(|_| OpenFailure::Chunk { index: i, count })?;
        if !sealer.open(index, &aad(meta, index, last.then_some(tail)), &mut buf) {
            return Err(OpenFailure::Chunk { index: i, count });
        }
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sealed(data: &[u8], writes: &[usize]) -> Vec<u8> {
        let mut w = SealWriter::new(Vec::new(), Sealer::new(&[7; 32], [1; 8]), b"{}".to_vec());
        let mut at = 0;
        for &n in writes.iter().cycle() {
            if at >= data.len() {
                break;
            }
            let end = (at + n.max(1)).min(data.len());
            w.write_all(&data[at..end]).unwrap();
            at = end;
        }
        w.finish(b"{\"rows\":1}").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn escaping_round_trips_and_leaves_no_forbidden_byte(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut e = Vec::new();
            escape_into(&data, &mut e);
            prop_assert!(!e.iter().any(|&b| b == 0 || b == b'\r' || b == b'<'));
            prop_assert_eq!(unescape(&e).unwrap(), data);
        }

        #[test]
        fn sealing_round_trips_whatever_the_write_sizes(
            len in 0usize..(3 * CHUNK + 10),
            writes in proptest::collection::vec(1usize..(CHUNK + 5), 1..4),
        ) {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            let block = unescape(&sealed(&data, &writes)).unwrap();
            prop_assert_eq!(block.len(), len + TAG * len.div_ceil(CHUNK).max(1));
            let s = Sealer::new(&[7; 32], [1; 8]);
            prop_assert_eq!(open_all(&s, b"{}", b"{\"rows\":1}", &block).unwrap(), data);
        }
    }

    #[test]
    fn changes_anywhere_fail_to_open() {
        let data: Vec<u8> = (0..(2 * CHUNK + 100)).map(|i| (i % 253) as u8).collect();
        let block = unescape(&sealed(&data, &[CHUNK / 3])).unwrap();
        let s = Sealer::new(&[7; 32], [1; 8]);
        let tail = b"{\"rows\":1}";
        for at in [0, CHUNK + 20, block.len() - 1] {
            let mut b = block.clone();
            b[at] ^= 1;
            assert!(open_all(&s, b"{}", tail, &b).is_err(), "flip at {at}");
        }
        // Cut at a chunk boundary: the new last chunk was not sealed as last.
        let cut = &block[..2 * (CHUNK + TAG)];
        assert_eq!(open_all(&s, b"{}", tail, cut), Err(OpenFailure::Chunk { index: 1, count: 2 }));
        assert!(open_all(&s, b"{ }", tail, &block).is_err(), "meta changed");
        assert!(open_all(&s, b"{}", b"{\"rows\":2}", &block).is_err(), "row count changed");
        assert!(open_all(&Sealer::new(&[8; 32], [1; 8]), b"{}", tail, &block).is_err(), "other key");
        assert_eq!(open_all(&s, b"{}", tail, &block[..5]), Err(OpenFailure::Short));
    }

    #[test]
    fn check_values_tell_keys_apart() {
        let a = Sealer::new(&[1; 32], [0; 8]);
        let b = Sealer::new(&[2; 32], [0; 8]);
        let v = a.check(CHECK_KEY).unwrap();
        assert!(a.checks(CHECK_KEY, &v));
        assert!(!b.checks(CHECK_KEY, &v));
        assert!(!a.checks(CHECK_PASS, &v));
    }
}
