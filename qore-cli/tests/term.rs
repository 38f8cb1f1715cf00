//! A pseudo-terminal driving `qore` as a person at a keyboard would: keys
//! in, the terminal's output read back (escape sequences removed). The
//! child is a session leader with the terminal as its controlling one
//! (`setsid --ctty`), so Ctrl-C is turned into SIGINT by the line
//! discipline, as in a real terminal.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) struct Term {
    master: std::fs::File,
    child: Child,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Bytes of the transcript already matched by `expect`.
    seen: usize,
}

impl Term {
    /// Starts `qore ARGS` in `dir` on a `cols`×`rows` terminal.
    pub(crate) fn start(dir: &Path, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Term {
        let size = nix::pty::Winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        let pty = nix::pty::openpty(Some(&size), None).unwrap();
        let slave = pty.slave;
        let mut cmd = Command::new("setsid");
        cmd.arg("--ctty")
            .arg(env!("CARGO_BIN_EXE_qore"))
            .args(args)
            .current_dir(dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("TERM", "xterm-256color")
            .env("PAGER", "cat")
            .env_remove("QORE_DB")
            .env_remove("COLUMNS")
            .env_remove("LINES")
            .env_remove("NO_COLOR")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let master = std::fs::File::from(pty.master);
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (mut reader, mut answer) = (master.try_clone().unwrap(), master.try_clone().unwrap());
        let sink = raw.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let chunk = &buf[..n];
                // The line editor asks where the cursor is (and what the
                // terminal is) and waits for the answer.
                if chunk.windows(4).any(|w| w == b"\x1b[6n") {
                    let _ = answer.write_all(b"\x1b[1;1R");
                }
                if chunk.windows(3).any(|w| w == b"\x1b[c") {
                    let _ = answer.write_all(b"\x1b[?1;2c");
                }
                sink.lock().unwrap().extend_from_slice(chunk);
            }
        });
        Term { master, child, raw, seen: 0 }
    }

    /// Types `text` (`\r` is Enter, `\t` Tab, `\x03` Ctrl-C, `\x04` Ctrl-D).
    pub(crate) fn send(&mut self, text: &str) {
        // One key at a time, as typed: an editor reading a burst may take
        // an escape sequence apart.
        for chunk in text.as_bytes().chunks(64) {
            self.master.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Types a line and Enter.
    pub(crate) fn line(&mut self, text: &str) {
        self.send(text);
        self.send("\r");
    }

    /// What the terminal showed so far, escape sequences removed.
    pub(crate) fn transcript(&self) -> String {
        strip(&self.raw.lock().unwrap())
    }

    /// Waits until the output after the last match holds `needle`; returns
    /// the output up to it. Panics with the transcript after `secs`.
    pub(crate) fn expect(&mut self, needle: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.transcript();
            let from = self.seen.min(text.len());
            if let Some(at) = text[from..].find(needle) {
                self.seen = from + at + needle.len();
                return text[from..self.seen].to_string();
            }
            if Instant::now() > deadline {
                panic!("no `{needle}` within {secs} s; the terminal showed:\n{text}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Ctrl-D at the next prompt. Sent earlier, while output is still being
    /// written, the terminal is not in raw mode yet: its line discipline
    /// takes the byte as end-of-file for a read nobody is making, and the
    /// shell never sees it.
    pub(crate) fn eof_at_prompt(&mut self) {
        self.expect("> ", 20);
        self.send("\x04");
    }

    /// Waits for the process to end (after `\q` or Ctrl-D); its exit code.
    pub(crate) fn wait(mut self, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("qore did not exit within {secs} s:\n{}", self.transcript());
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

impl Drop for Term {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes CSI, OSC and other escape sequences and carriage returns.
fn strip(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    // Parameters, then one final byte in @..~.
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    // Up to BEL or ESC \.
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
