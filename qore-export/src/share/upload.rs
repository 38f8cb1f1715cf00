//! Uploading a share page: SFTP through the system's OpenSSH `sftp` (into
//! a directory a web server serves), or HTTP PUT (WebDAV, transfer.sh and
//! the like). Only the file travels: the key is in no request, argument or
//! file name. The remote name is random, so a link cannot be guessed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use qore_core::{Error, Result};

/// Where share pages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadTarget {
    /// `sftp://[user@]host[:port]/dir[?identity=PATH&known_hosts=PATH]`:
    /// `sftp` in batch mode (keys or agent, never a password prompt; the
    /// host key checked strictly), the page put under a temporary name and
    /// renamed, so a reader never sees half a file.
    Sftp {
        /// The login, if not the one `ssh` would use.
        user: Option<String>,
        /// The SSH server.
        host: String,
        /// Its port, if not 22 (or the ssh configuration's).
        port: Option<u16>,
        /// The remote directory (made if missing).
        dir: String,
        /// A private key to use (`-i`).
        identity: Option<PathBuf>,
        /// A known_hosts file instead of the user's.
        known_hosts: Option<PathBuf>,
        /// The URL at which `dir` is served (ends with `/`).
        public: String,
    },
    /// `http[s]://[user:password@]host[:port]/path/`: HTTP PUT of
    /// `path/NAME.html`, with the expiry as `Max-Days` (transfer.sh's
    /// header); a URL in the answer's body is taken as the link.
    Http {
        /// The collection URL, ending with `/`.
        url: String,
    },
}

/// A page uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    /// Where it can be read, without the key's fragment.
    pub url: String,
    /// The remote file name.
    pub name: String,
}

fn redact(u: &url::Url) -> String {
    let mut u = u.clone();
    if u.password().is_some() {
        let _ = u.set_password(Some("***"));
    }
    u.to_string()
}

impl UploadTarget {
    /// Parses a target; `public` is the URL at which an SFTP directory is
    /// served (required for SFTP, unused for HTTP).
    ///
    /// # Error handling
    ///
    /// [`Error::InvalidInput`] naming what is wrong: an unknown scheme, no
    /// host, an SFTP target without its public URL, an unknown option.
    pub fn parse(target: &str, public: Option<&str>) -> Result<UploadTarget> {
        let u = url::Url::parse(target)
            .map_err(|e| Error::invalid(format!("the upload target is not a URL ({e}): write sftp://user@host/dir or https://host/dav/")))?;
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::invalid(format!("the upload target {} has no host", redact(&u))))?
            .to_string();
        match u.scheme() {
            "sftp" => {
                let public = public.ok_or_else(|| {
                    Error::invalid("an sftp:// upload needs the URL that serves its directory: --public-url https://host/path/")
                })?;
                let p = url::Url::parse(public)
                    .ok()
                    .filter(|p| matches!(p.scheme(), "http" | "https"))
                    .ok_or_else(|| Error::invalid(format!("the public URL `{public}` is not an http(s) URL")))?;
                let mut public = p.to_string();
                if !public.ends_with('/') {
                    public.push('/');
                }
                let (mut identity, mut known_hosts) = (None, None);
                for (k, v) in u.query_pairs() {
                    match &*k {
                        "identity" | "ssh_key" => identity = Some(PathBuf::from(&*v)),
                        "known_hosts" => known_hosts = Some(PathBuf::from(&*v)),
                        other => {
                            return Err(Error::invalid(format!(
                                "unknown sftp upload option `{other}`: identity and known_hosts are known"
                            )));
                        }
                    }
                }
                let dir = percent_decode(u.path())?;
                if dir.contains(['\n', '\r']) {
                    return Err(Error::invalid("the sftp directory has a line break in its name"));
                }
                if u.password().is_some() {
                    return Err(Error::invalid(
                        "sftp uploads log in with a key or the agent, not a password in the URL",
                    ));
                }
                Ok(UploadTarget::Sftp {
                    user: Some(u.username()).filter(|s| !s.is_empty()).map(str::to_string),
                    host,
                    port: u.port(),
                    dir: if dir.is_empty() { "/".into() } else { dir },
                    identity,
                    known_hosts,
                    public,
                })
            }
            "http" | "https" => {
                if u.query().is_some() || u.fragment().is_some() {
                    return Err(Error::invalid(format!(
                        "the upload URL {} must be a plain collection URL (no ? or #)",
                        redact(&u)
                    )));
                }
                let mut url = u.to_string();
                if !url.ends_with('/') {
                    url.push('/');
                }
                Ok(UploadTarget::Http { url })
            }
            other => Err(Error::invalid(format!(
                "cannot upload to `{other}:` targets: use sftp://user@host/dir or https://host/dav/"
            ))),
        }
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| Error::invalid(format!("bad percent escape in `{s}`")))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Error::invalid(format!("`{s}` is not UTF-8 once decoded")))
}

/// A quoted argument of an `sftp` batch command.
fn sftp_quote(s: &str) -> String {
    let mut q = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\') {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

/// Uploads the share page at `file`; `expires_in` (seconds) is passed to
/// targets that can delete it themselves. Blocks until done (at most
/// 10 minutes for HTTP); the local file is left as it was either way.
///
/// # Error handling
///
/// [`Error::Io`] when the file cannot be read or `sftp` cannot be run;
/// [`Error::Connect`] with the server's answer when the upload is refused
/// or the connection fails.
pub fn upload(file: &Path, target: &UploadTarget, expires_in: Option<i64>) -> Result<Uploaded> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| Error::Internal(format!("no random source: {e}")))?;
    let name = format!("{}.html", id.iter().map(|b| format!("{b:02x}")).collect::<String>());
    match target {
        UploadTarget::Sftp { .. } => sftp(file, target, &name),
        UploadTarget::Http { url } => http(file, url, &name, expires_in),
    }
}

fn sftp(file: &Path, target: &UploadTarget, name: &str) -> Result<Uploaded> {
    let UploadTarget::Sftp { user, host, port, dir, identity, known_hosts, public } = target else {
        return Err(Error::Internal("not an sftp target".into()));
    };
    let local = file
        .canonicalize()
        .map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let local = local
        .to_str()
        .filter(|s| !s.contains(['\n', '\r']))
        .ok_or_else(|| Error::invalid(format!("cannot pass {} to sftp: not UTF-8 or has a line break", file.display())))?;
    let mut cmd = Command::new("sftp");
    cmd.args(["-b", "-", "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=20"]);
    if let Some(p) = port {
        cmd.args(["-P", &p.to_string()]);
    }
    if let Some(i) = identity {
        cmd.arg("-i").arg(i).args(["-o", "IdentitiesOnly=yes"]);
    }
    if let Some(k) = known_hosts {
        cmd.arg("-o").arg(format!("UserKnownHostsFile={}", k.display()));
    }
    cmd.arg(match user {
        Some(u) => format!("{u}@{host}"),
        None => host.clone(),
    });
    // Every missing parent made (errors ignored: `-`), then put under a
    // hidden temporary name and renamed.
    let dir = dir.trim_end_matches('/');
    let mut script = String::new();
    let mut at = String::new();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        at.push('/');
        at.push_str(part);
        script.push_str(&format!("-mkdir {}\n", sftp_quote(&at)));
    }
    let part = format!("{dir}/.{name}.part");
    let fin = format!("{dir}/{name}");
    script.push_str(&format!("put {} {}\n", sftp_quote(local), sftp_quote(&part)));
    script.push_str(&format!("chmod 644 {}\n", sftp_quote(&part)));
    script.push_str(&format!("rename {} {}\n", sftp_quote(&part), sftp_quote(&fin)));
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::io("cannot run sftp (install OpenSSH's client)", e))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| Error::io("cannot talk to sftp", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| Error::io("sftp did not finish", e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        let why = why
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("sftp>"))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::Connect {
            message: format!("the sftp upload to {host} failed: {}", if why.is_empty() { "no reason given" } else { &why }),
            source: None,
        });
    }
    Ok(Uploaded {
        url: format!("{public}{name}"),
        name: name.to_string(),
    })
}

fn http(file: &Path, base: &str, name: &str, expires_in: Option<i64>) -> Result<Uploaded> {
    let url = format!("{base}{name}");
    let shown = url::Url::parse(&url).map_or_else(|_| "the upload URL".to_string(), |u| redact(&u));
    let body = std::fs::File::open(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(600)))
        .timeout_connect(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent
        .put(&url)
        .header("Content-Type", "text/html; charset=windows-1252");
    if let Some(secs) = expires_in {
        // Whole days, rounded up: an early deletion would break a link
        // promised for longer.
        req = req.header("Max-Days", (secs + 86_399) / 86_400);
    }
    let mut resp = req.send(body).map_err(|e| Error::Connect {
        message: format!("the upload to {shown} failed: {e}"),
        source: None,
    })?;
    let status = resp.status();
    let text = resp.body_mut().with_config().limit(64 * 1024).read_to_string().unwrap_or_default();
    if !status.is_success() {
        let why: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let why: String = why.chars().take(300).collect();
        return Err(Error::Connect {
            message: format!("the upload to {shown} was refused: HTTP {status}{}", if why.is_empty() { String::new() } else { format!(": {why}") }),
            source: None,
        });
    }
    // transfer.sh and its kind answer with the download URL.
    let answered = text.trim();
    let link = if (answered.starts_with("https://") || answered.starts_with("http://")) && !answered.contains(char::is_whitespace) {
        answered.to_string()
    } else {
        let mut u = url::Url::parse(&url).map_err(|e| Error::Internal(e.to_string()))?;
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    };
    Ok(Uploaded {
        url: link,
        name: name.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_why_not() {
        let t = UploadTarget::parse("sftp://web@127.0.0.1:2222/srv/share%20d?identity=/k&known_hosts=/kh", Some("http://127.0.0.1:8080/s")).unwrap();
        assert_eq!(
            t,
            UploadTarget::Sftp {
                user: Some("web".into()),
                host: "127.0.0.1".into(),
                port: Some(2222),
                dir: "/srv/share d".into(),
                identity: Some("/k".into()),
                known_hosts: Some("/kh".into()),
                public: "http://127.0.0.1:8080/s/".into(),
            }
        );
        assert_eq!(
            UploadTarget::parse("https://u:p@dav.example/share", None).unwrap(),
            UploadTarget::Http { url: "https://u:p@dav.example/share/".into() }
        );
        let err = |t: &str, p: Option<&str>| UploadTarget::parse(t, p).unwrap_err().to_string();
        assert!(err("sftp://h/d", None).contains("--public-url"));
        assert!(err("sftp://h/d?color=red", Some("http://x/")).contains("color"));
        assert!(err("sftp://u:pw@h/d", Some("http://x/")).contains("not a password"));
        assert!(err("ftp://h/d", None).contains("ftp:"));
        assert!(err("https://u:secret@h/d?x=1", None).contains("***"));
        assert!(!err("https://u:secret@h/d?x=1", None).contains("secret"));
        assert!(err("not a url", None).contains("not a URL"));
        assert!(err("sftp://h/d", Some("file:///x")).contains("not an http(s) URL"));
    }

    #[test]
    fn sftp_quoting_keeps_odd_names_whole() {
        assert_eq!(sftp_quote(r#"/a b/"c"\d"#), r#""/a b/\"c\"\\d""#);
    }
}
