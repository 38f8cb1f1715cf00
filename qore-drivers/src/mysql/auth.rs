//! Connecting: the handshake, TLS, and the authentication plugins.

use std::pin::Pin;
use std::sync::Arc;

use qore_core::Error;

use super::codec::*;
use super::options::{Options, SslMode};
use super::wire::{Conn, Io};

impl Conn {
    /// Connects, upgrades to TLS as asked, and authenticates.
    pub(crate) async fn connect(o: &Options) -> WResult<Conn> {
        let fut = Self::connect_inner(o);
        match tokio::time::timeout(o.connect_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(WireError::Other(Error::Timeout(format!(
                "the MySQL server did not answer within {} s; raise it with ?connect_timeout=S",
                o.connect_timeout.as_secs()
            )))),
        }
    }

    async fn connect_inner(o: &Options) -> WResult<Conn> {
        let io: Pin<Box<dyn Io>> = match &o.socket {
            #[cfg(unix)]
            Some(path) => Box::pin(
                tokio::net::UnixStream::connect(path)
                    .await
                    .map_err(io_err)?,
            ),
            #[cfg(not(unix))]
            Some(_) => return Err(Error::invalid("socket= needs a Unix system").into()),
            None => {
                let s = tokio::net::TcpStream::connect((o.host.as_str(), o.port))
                    .await
                    .map_err(io_err)?;
                // Requests are single small packets: without this, a request
                // that follows one with no reply waits for a delayed ACK.
                s.set_nodelay(true).map_err(io_err)?;
                // A server that stops answering is found in seconds.
                crate::keepalive::tune_socket(&s).map_err(io_err)?;
                Box::pin(s)
            }
        };
        let mut conn = Conn::over(io);
        // Handshake v10.
        conn.read_packet().await?;
        let hs = conn.payload().to_vec();
        if hs.first() == Some(&0xff) {
            return Err(parse_err(&hs));
        }
        let mut c = Cur { b: &hs };
        let version = c.u8()?;
        if version != 10 {
            return Err(proto(format!("unsupported handshake version {version}")));
        }
        conn.server_version = String::from_utf8_lossy(c.nul_str()?).into_owned();
        conn.connection_id = c.u32()?;
        let mut scramble = c.take(8)?.to_vec();
        c.u8()?;
        let mut server_caps = u32::from(c.u16()?);
        let _charset = c.u8()?;
        let _status = c.u16()?;
        server_caps |= u32::from(c.u16()?) << 16;
        let auth_len = c.u8()?;
        c.take(10)?;
        if server_caps & SECURE_CONNECTION != 0 {
            let n = (usize::from(auth_len).saturating_sub(8)).max(13);
            let part = c.take(n.min(c.b.len()))?;
            // The second part ends with a NUL that is not part of the scramble.
            let part = part.strip_suffix(&[0]).unwrap_or(part);
            scramble.extend_from_slice(part);
        }
        let mut plugin = if server_caps & PLUGIN_AUTH != 0 {
            String::from_utf8_lossy(c.nul_str().unwrap_or(b"")).into_owned()
        } else {
            "mysql_native_password".to_string()
        };
        if plugin.is_empty() {
            plugin = "mysql_native_password".into();
        }

        let mut caps = LONG_PASSWORD
            | FOUND_ROWS
            | LONG_FLAG
            | IGNORE_SPACE
            | PROTOCOL_41
            | TRANSACTIONS
            | SECURE_CONNECTION
            | MULTI_STATEMENTS
            | MULTI_RESULTS
            | PS_MULTI_RESULTS
            | PLUGIN_AUTH
            | PLUGIN_AUTH_LENENC_DATA
            | DEPRECATE_EOF;
        if o.database.is_some() {
            caps |= CONNECT_WITH_DB;
        }
        let want_tls = o.ssl_mode != SslMode::Disabled && o.socket.is_none();
        if want_tls && server_caps & SSL != 0 {
            caps |= SSL;
        } else if matches!(
            o.ssl_mode,
            SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity
        ) {
            return Err(WireError::Other(Error::connect(
                "TLS with the MySQL server failed",
                format!(
                    "ssl-mode={} but the server does not offer TLS",
                    o.ssl_mode.name()
                ),
            )));
        }
        caps &= server_caps | SSL;
        caps |= PROTOCOL_41;
        conn.caps = caps;

        let mut head = Vec::with_capacity(64);
        head.extend_from_slice(&caps.to_le_bytes());
        head.extend_from_slice(&(MAX_PACKET as u32).to_le_bytes());
        head.push(UTF8MB4_GENERAL_CI);
        head.extend_from_slice(&[0; 23]);
        if caps & SSL != 0 {
            conn.write_packet(&head).await?;
            conn.start_tls(o).await?;
        }
        let ctx = AuthContext {
            password: o.password.as_deref().unwrap_or(""),
            secure: conn.tls || o.socket.is_some(),
            server_key: match &o.server_public_key {
                Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid(format!("server-public-key-path `{}`: {e}", path.display()))
                })?),
                None => None,
            },
            ask_key: o.get_server_public_key,
        };
        let response = auth_response(&plugin, &ctx, &scramble)?;
        let mut p = head;
        p.extend_from_slice(o.user.as_bytes());
        p.push(0);
        if caps & PLUGIN_AUTH_LENENC_DATA != 0 {
            put_lenenc(&mut p, response.len() as u64);
        } else {
            p.push(u8::try_from(response.len()).map_err(|_| proto("auth data too long"))?);
        }
        p.extend_from_slice(&response);
        if let Some(db) = &o.database {
            p.extend_from_slice(db.as_bytes());
            p.push(0);
        }
        if caps & PLUGIN_AUTH != 0 {
            p.extend_from_slice(plugin.as_bytes());
            p.push(0);
        }
        conn.write_packet(&p).await?;
        conn.finish_auth(&ctx, plugin, scramble).await?;
        Ok(conn)
    }

    async fn start_tls(&mut self, o: &Options) -> WResult<()> {
        let tls_err =
            |m: String| WireError::Other(Error::connect("TLS with the MySQL server failed", m));
        let config = super::tls::client_config(o.ssl_mode, o.ssl_ca.as_deref()).map_err(tls_err)?;
        let name = rustls::pki_types::ServerName::try_from(o.host.clone())
            .map_err(|e| tls_err(format!("host `{}`: {e}", o.host)))?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let io = std::mem::replace(&mut self.io, Box::pin(tokio::io::empty()));
        // TLS wraps the plain stream; an empty reader holds its place.
        let tls = connector
            .connect(name, io)
            .await
            .map_err(|e| tls_err(e.to_string()))?;
        self.io = Box::pin(tls);
        self.tls = true;
        Ok(())
    }

    async fn finish_auth(
        &mut self,
        ctx: &AuthContext<'_>,
        mut plugin: String,
        mut scramble: Vec<u8>,
    ) -> WResult<()> {
        loop {
            self.read_packet().await?;
            let p = self.payload().to_vec();
            match p.first() {
                Some(0x00) => return Ok(()),
                Some(0xff) => return Err(parse_err(&p)),
                Some(0xfe) => {
                    // Auth switch: another plugin, a new scramble. Its data
                    // is kept whole: an ed25519 nonce may end in a zero byte,
                    // the SHA plugins read only their first 20 bytes.
                    let mut c = Cur { b: &p[1..] };
                    plugin = String::from_utf8_lossy(c.nul_str()?).into_owned();
                    scramble = c.b.to_vec();
                    let r = auth_response(&plugin, ctx, &scramble)?;
                    self.write_packet(&r).await?;
                }
                Some(0x01) => {
                    let r = more_data(&plugin, ctx, &scramble, &p[1..])?;
                    if let Some(r) = r {
                        self.write_packet(&r).await?;
                    }
                }
                _ => return Err(proto("unexpected packet during authentication")),
            }
        }
    }
}

/// What the authentication plugins need besides the server's challenge.
pub(super) struct AuthContext<'a> {
    pub(super) password: &'a str,
    /// TLS or a Unix socket: a password may travel in clear, as the
    /// server itself requires for a full SHA-2 authentication.
    pub(super) secure: bool,
    /// The server's RSA public key (PEM), read from `server-public-key-path`.
    pub(super) server_key: Option<String>,
    /// `get-server-public-key=true`: the key may be asked from the server.
    pub(super) ask_key: bool,
}

impl AuthContext<'_> {
    /// The password for a full SHA-2 authentication: in clear over a secure
    /// transport, else RSA-encrypted with a key the user gave; `ask` is the
    /// plugin's request for the server's key, when that is allowed.
    fn full_sha2(&self, plugin: &str, scramble: &[u8], ask: u8) -> WResult<Vec<u8>> {
        if self.secure {
            let mut v = self.password.as_bytes().to_vec();
            v.push(0);
            Ok(v)
        } else if let Some(pem) = &self.server_key {
            rsa_password(pem, self.password, scramble)
        } else if self.ask_key {
            Ok(vec![ask])
        } else {
            Err(WireError::Other(Error::Auth(format!(
                "{plugin} needs the password itself, and this connection is plain TCP: give the server's RSA public key with server-public-key-path=FILE, allow asking the server for it with get-server-public-key=true, or connect with ssl-mode=required"
            ))))
        }
    }
}

/// Answers the server's challenge for `plugin`.
pub(super) fn auth_response(
    plugin: &str,
    ctx: &AuthContext<'_>,
    scramble: &[u8],
) -> WResult<Vec<u8>> {
    let pw = ctx.password;
    let sha_scramble = scramble.get(..20).unwrap_or(scramble);
    match plugin {
        "mysql_native_password" => {
            if pw.is_empty() {
                return Ok(Vec::new());
            }
            use sha1::{Digest, Sha1};
            let h1 = Sha1::digest(pw.as_bytes());
            let h2 = Sha1::digest(h1);
            let mut h = Sha1::new();
            h.update(sha_scramble);
            h.update(h2);
            let h3 = h.finalize();
            Ok(h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect())
        }
        "caching_sha2_password" => {
            if pw.is_empty() {
                return Ok(Vec::new());
            }
            use sha2::{Digest, Sha256};
            let h1 = Sha256::digest(pw.as_bytes());
            let h2 = Sha256::digest(h1);
            let mut h = Sha256::new();
            h.update(h2);
            h.update(sha_scramble);
            let h3 = h.finalize();
            Ok(h1.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect())
        }
        // MySQL's older SHA-256 plugin: no fast path, always the password.
        "sha256_password" if pw.is_empty() => Ok(vec![0]),
        "sha256_password" => ctx.full_sha2(plugin, sha_scramble, 1),
        "client_ed25519" => {
            let nonce = scramble
                .get(..32)
                .ok_or_else(|| proto("ed25519 nonce shorter than 32 bytes"))?;
            Ok(ed25519_sign(pw.as_bytes(), nonce).to_vec())
        }
        "mysql_clear_password" if ctx.secure => {
            let mut v = pw.as_bytes().to_vec();
            v.push(0);
            Ok(v)
        }
        "mysql_clear_password" => Err(WireError::Other(Error::Auth(
            "the server asks for the password in clear text; QoreDB only sends it over TLS (ssl-mode=required) or a Unix socket".into(),
        ))),
        other => Err(WireError::Other(Error::Auth(format!(
            "the account uses the authentication plugin `{other}`, which QoreDB does not speak (it speaks mysql_native_password, caching_sha2_password, sha256_password, client_ed25519 and, over TLS, mysql_clear_password)"
        )))),
    }
}

/// Answers an "auth more data" packet (its payload after the 0x01); None
/// when the server only informs (fast authentication succeeded).
fn more_data(
    plugin: &str,
    ctx: &AuthContext<'_>,
    scramble: &[u8],
    data: &[u8],
) -> WResult<Option<Vec<u8>>> {
    let sha_scramble = scramble.get(..20).unwrap_or(scramble);
    match (plugin, data.first()) {
        // Fast authentication succeeded: the OK follows.
        ("caching_sha2_password", Some(3)) => Ok(None),
        // Full authentication: the server wants the password itself.
        ("caching_sha2_password", Some(4)) => ctx.full_sha2(plugin, sha_scramble, 2).map(Some),
        // The server's public key, which we asked for.
        ("caching_sha2_password" | "sha256_password", Some(b'-')) => {
            let pem = std::str::from_utf8(data)
                .map_err(|_| proto("the server's public key is not PEM text"))?;
            rsa_password(pem, ctx.password, sha_scramble).map(Some)
        }
        _ => Err(proto(format!("unexpected {plugin} message"))),
    }
}

/// The password for the SHA-2 plugins over plain TCP: NUL-terminated,
/// XORed with the scramble, encrypted with RSA-OAEP (SHA-1, as the server
/// decrypts it) under the server's public key.
fn rsa_password(pem: &str, password: &str, scramble: &[u8]) -> WResult<Vec<u8>> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PaddingScheme;
    if scramble.is_empty() {
        return Err(proto("empty scramble"));
    }
    let key = rsa::RsaPublicKey::from_public_key_pem(pem)
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
        .map_err(|e| {
            WireError::Other(Error::Auth(format!(
                "the MySQL server's RSA public key cannot be read: {e}"
            )))
        })?;
    let msg: Vec<u8> = password
        .bytes()
        .chain([0])
        .enumerate()
        .map(|(i, b)| b ^ scramble[i % scramble.len()])
        .collect();
    rsa::Oaep::<sha1::Sha1>::new()
        .encrypt(&mut getrandom::SysRng, &key, &msg)
        .map_err(|e| {
            WireError::Other(Error::Auth(format!(
                "encrypting the password with the server's RSA key failed: {e}"
            )))
        })
}

/// MariaDB's `client_ed25519`: an Ed25519 signature of the server's nonce
/// whose secret is derived from the password the way Ed25519 derives it
/// from a seed (SHA-512, then clamping), except that the password may have
/// any length, which is why a signing-key type cannot take it.
fn ed25519_sign(password: &[u8], nonce: &[u8]) -> [u8; 64] {
    use curve25519_dalek::{EdwardsPoint, Scalar, scalar::clamp_integer};
    use sha2::{Digest, Sha512};
    let az = Sha512::digest(password);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&az[..32]);
    let secret = clamp_integer(secret);
    let a = Scalar::from_bytes_mod_order(secret);
    let public = EdwardsPoint::mul_base_clamped(secret).compress();
    let wide = |parts: &[&[u8]]| {
        let mut h = Sha512::new();
        for p in parts {
            h.update(p);
        }
        let mut out = [0u8; 64];
        out.copy_from_slice(&h.finalize());
        Scalar::from_bytes_mod_order_wide(&out)
    };
    let r = wide(&[&az[32..], nonce]);
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let k = wide(&[big_r.as_bytes(), public.as_bytes(), nonce]);
    let s = k * a + r;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(big_r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(password: &str, secure: bool) -> AuthContext<'_> {
        AuthContext {
            password,
            secure,
            server_key: None,
            ask_key: false,
        }
    }

    /// caching_sha2_password against another client's published vectors
    /// (go-sql-driver/mysql's auth tests): no MySQL 8 server runs here.
    #[test]
    fn caching_sha2_scramble_matches_an_independent_client() {
        let scramble = [
            10, 47, 74, 111, 75, 73, 34, 48, 88, 76, 114, 74, 37, 13, 3, 80, 82, 2, 23, 21,
        ];
        for (pw, hex) in [
            (
                "secret",
                "f490e76f66d9d86665ce54d98c78d0acfe2fb0b08b423da807144873d30b312c",
            ),
            (
                "secret2",
                "abc3934a012cf342e876071c8ee202de51785b430258a7a0138bc79c4d800bc6",
            ),
        ] {
            let r = auth_response("caching_sha2_password", &ctx(pw, false), &scramble).unwrap();
            let got: String = r.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{pw}");
        }
    }

    #[test]
    fn native_password_scramble() {
        // SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))), computed by hand
        // from the definition for a 20-byte scramble of 1..=20 (and a NUL,
        // as an auth switch sends it).
        let mut scramble: Vec<u8> = (1..=20).collect();
        scramble.push(0);
        let r = auth_response("mysql_native_password", &ctx("secret", false), &scramble).unwrap();
        assert_eq!(r.len(), 20);
        use sha1::{Digest, Sha1};
        let h1 = Sha1::digest(b"secret");
        let h2 = Sha1::digest(h1);
        let mut h = Sha1::new();
        h.update(&scramble[..20]);
        h.update(h2);
        let h3 = h.finalize();
        // XOR back: r ^ h3 must be SHA1(pw), whose SHA1 is h2.
        let back: Vec<u8> = r.iter().zip(h3.iter()).map(|(a, b)| a ^ b).collect();
        assert_eq!(Sha1::digest(&back).as_slice(), h2.as_slice());
        assert!(
            auth_response("mysql_native_password", &ctx("", false), &scramble)
                .unwrap()
                .is_empty()
        );
        assert!(matches!(
            auth_response("dialog", &ctx("x", false), &scramble),
            Err(WireError::Other(Error::Auth(_)))
        ));
        assert!(auth_response("mysql_clear_password", &ctx("x", false), &scramble).is_err());
        assert_eq!(
            auth_response("mysql_clear_password", &ctx("x", true), &scramble).unwrap(),
            b"x\0"
        );
    }

    /// The SHA-2 plugins over plain TCP: refused without a key (naming the
    /// options), the key asked for only when allowed, and the encrypted
    /// password is what the server recovers with its private key.
    #[test]
    fn sha2_full_authentication_over_plain_tcp() {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        use rsa::traits::PaddingScheme;
        let scramble: Vec<u8> = (30..50).collect();
        let plain = ctx("pässword", false);
        let e = more_data("caching_sha2_password", &plain, &scramble, &[4]).unwrap_err();
        assert!(format!("{e:?}").contains("server-public-key-path"), "{e:?}");
        assert!(auth_response("sha256_password", &plain, &scramble).is_err());
        assert_eq!(
            auth_response("sha256_password", &ctx("", false), &scramble).unwrap(),
            [0]
        );
        // Fast path: nothing to send.
        assert!(
            more_data("caching_sha2_password", &plain, &scramble, &[3])
                .unwrap()
                .is_none()
        );
        // Over TLS: the password in clear.
        assert_eq!(
            more_data("caching_sha2_password", &ctx("pw", true), &scramble, &[4])
                .unwrap()
                .unwrap(),
            b"pw\0"
        );
        let ask = AuthContext {
            ask_key: true,
            ..ctx("pässword", false)
        };
        assert_eq!(
            more_data("caching_sha2_password", &ask, &scramble, &[4])
                .unwrap()
                .unwrap(),
            [2]
        );
        assert_eq!(
            auth_response("sha256_password", &ask, &scramble).unwrap(),
            [1]
        );

        let private =
            rsa::RsaPrivateKey::new(&mut rand_core::UnwrapErr(getrandom::SysRng), 2048).unwrap();
        let pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let mut data = vec![b'-'];
        data.extend_from_slice(pem.as_bytes().get(1..).unwrap());
        let sent = more_data("caching_sha2_password", &ask, &scramble, &data)
            .unwrap()
            .unwrap();
        let with_key = AuthContext {
            server_key: Some(pem.clone()),
            ..ctx("pässword", false)
        };
        let direct = auth_response("sha256_password", &with_key, &scramble).unwrap();
        for cipher in [sent, direct] {
            let opened = rsa::Oaep::<sha1::Sha1>::new()
                .decrypt(None::<&mut getrandom::SysRng>, &private, &cipher)
                .unwrap();
            let clear: Vec<u8> = opened
                .iter()
                .enumerate()
                .map(|(i, b)| b ^ scramble[i % 20])
                .collect();
            assert_eq!(clear, "pässword\0".as_bytes());
        }
        let bad = AuthContext {
            server_key: Some("not a key".into()),
            ..ctx("x", false)
        };
        assert!(matches!(
            auth_response("sha256_password", &bad, &scramble),
            Err(WireError::Other(Error::Auth(_)))
        ));
    }

    /// client_ed25519: for a 32-byte password MariaDB's derivation is
    /// standard Ed25519 with the password as seed, so ed25519-dalek's
    /// signature must be byte-identical; for other lengths the signature
    /// must satisfy the verification equation. A short nonce is refused.
    #[test]
    fn ed25519_signatures_verify() {
        use curve25519_dalek::{EdwardsPoint, Scalar, scalar::clamp_integer};
        use sha2::{Digest, Sha512};
        let nonce: Vec<u8> = (0..32).map(|i| i * 7).collect();
        let seed = *b"exactly thirty-two bytes long!!!";
        use ed25519_dalek::Signer;
        let standard = ed25519_dalek::SigningKey::from_bytes(&seed).sign(&nonce);
        assert_eq!(ed25519_sign(&seed, &nonce), standard.to_bytes());
        for pw in [
            "secret",
            "",
            "a much longer password than thirty-two bytes, 🔑",
        ] {
            let sig = ed25519_sign(pw.as_bytes(), &nonce);
            // Verify by the equation: S·B = R + H(R‖A‖M)·A.
            let az = Sha512::digest(pw.as_bytes());
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&az[..32]);
            let public = EdwardsPoint::mul_base_clamped(clamp_integer(seed));
            let mut h = Sha512::new();
            h.update(&sig[..32]);
            h.update(public.compress().as_bytes());
            h.update(&nonce);
            let mut wide = [0u8; 64];
            wide.copy_from_slice(&h.finalize());
            let k = Scalar::from_bytes_mod_order_wide(&wide);
            let mut s = [0u8; 32];
            s.copy_from_slice(&sig[32..]);
            let s = Scalar::from_canonical_bytes(s).unwrap();
            let r = curve25519_dalek::edwards::CompressedEdwardsY(sig[..32].try_into().unwrap())
                .decompress()
                .unwrap();
            assert_eq!(EdwardsPoint::mul_base(&s), r + k * public, "{pw}");
        }
        assert!(auth_response("client_ed25519", &ctx("x", false), &nonce[..31]).is_err());
    }
}
