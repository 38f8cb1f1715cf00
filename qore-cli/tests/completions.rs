//! `qore --version`, shell completions (run in a real bash) and the manual
//! pages.

use crate::util::Qore;

#[test]
fn version_names_the_commit_and_the_engines() {
    let q = Qore::new();
    let v = q.ok(&["--version"]);
    let rest = v.strip_prefix(&format!("qore {} (commit ", env!("CARGO_PKG_VERSION"))).unwrap_or_else(|| panic!("{v}"));
    let commit = &rest[..rest.find(';').unwrap()];
    assert!(commit == "unknown" || (commit.len() == 12 && commit.chars().all(|c| c.is_ascii_hexdigit())), "{v}");
    assert!(v.trim_end().ends_with("engines: sqlite duckdb postgres mysql mongodb redis)"), "{v}");
}

/// What bash's completion function offers for `words` (the last one being
/// completed).
fn bash_complete(q: &Qore, words: &[&str]) -> Vec<String> {
    let script = q.ok(&["completions", "bash"]);
    std::fs::write(q.path("qore.bash"), script).unwrap();
    let line = words.join(" ");
    let cmd = format!(
        "source qore.bash; COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}; \
         _qore qore '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        words = words.join(" "),
        cword = words.len() - 1,
        point = line.len(),
        cur = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = std::process::Command::new("bash").arg("-c").arg(cmd).current_dir(q.dir()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(String::from).collect()
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let q = Qore::new();
    assert_eq!(bash_complete(&q, &["qore", "er"]), ["erd"]);
    assert!(bash_complete(&q, &["qore", "erd", "--col"]).contains(&"--columns".to_string()));
    let subs = bash_complete(&q, &["qore", "sandbox", ""]);
    for s in ["apply", "discard", "ls", "script", "show"] {
        assert!(subs.contains(&s.to_string()), "{subs:?}");
    }
    let zsh = q.ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef qore") && zsh.contains("'--columns=["), "{}", &zsh[..200]);
    let fish = q.ok(&["completions", "fish"]);
    assert!(fish.contains("complete -c qore") && fish.contains("-a \"erd\""), "{}", &fish[..fish.len().min(400)]);
    let out = q.run(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'tcsh'"));
}

#[test]
fn manual_pages() {
    let q = Qore::new();
    let page = q.ok(&["man"]);
    assert!(page.contains(".TH qore 1") && page.contains("erd"), "{}", &page[..300]);
    q.ok_err(&["man", "--dir", "."]);
    for p in ["qore.1", "qore-erd.1", "qore-diff.1", "qore-sandbox-apply.1", "qore-completions.1"] {
        let text = std::fs::read_to_string(q.path(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
        assert!(text.contains(".TH "), "{p}");
    }
    let erd = std::fs::read_to_string(q.path("qore-erd.1")).unwrap();
    assert!(erd.contains("\\-\\-around"), "{erd}");
    let out = q.run(&["man", "--dir", "/nonexistent/man1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot write the manual pages into /nonexistent/man1"));
}
