//! What can be checked mechanically about the repository's text: the code and docs speak of
//! behaviour, not of work items, and nothing points outside the repository.

use std::path::{Path, PathBuf};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Every text file of the repository we write (sources, docs, scripts, templates), bounded.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name != ".ci" || name == "target" || name == "artifacts" {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if ["rs", "md", "toml", "sh", "py", "html", "css", "ftl", "lua"]
            .iter()
            .any(|e| path.extension().is_some_and(|x| x == *e))
            || path.file_name().is_some_and(|n| n == "run")
        {
            out.push(path);
        }
        assert!(out.len() < 10_000, "more files than a tidy check expects");
    }
}

#[test]
fn no_work_item_references_and_no_paths_outside_the_repository() {
    let root = repository_root();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.len() > 50,
        "found only {} files under {}",
        all.len(),
        root.display()
    );
    let work_item = ["issue ", "Issue ", "issues "];
    // Written in pieces, so that this file does not itself name what it looks for.
    let outside = [
        concat!("..", "/shared"),
        concat!("shared", "/PROTOCOL"),
        concat!("PROTOCOL", ".md"),
        concat!("seeds", "/0"),
        concat!("DESIGN", ".md"),
    ];
    let mut problems = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let item = work_item.iter().any(|w| {
                line.match_indices(w)
                    .any(|(i, _)| line[i + w.len()..].starts_with(|c: char| c.is_ascii_digit() || c == '#'))
            });
            if item || outside.iter().any(|o| line.contains(o)) {
                let shown = path.strip_prefix(&root).unwrap_or(path);
                problems.push(format!("{}:{}: {}", shown.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(problems.is_empty(), "tidy:\n{}", problems.join("\n"));
}

#[test]
fn every_crate_denies_unwrap_outside_tests() {
    let root = repository_root();
    let lint = concat!("#![cfg_attr(not(test), deny(clippy::", "unwrap_used))]");
    let mut roots = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).expect("crates/").flatten() {
        // The test kit is test code: it may unwrap.
        if entry.file_name() == "testkit" {
            continue;
        }
        for name in ["lib.rs", "main.rs"] {
            let path = entry.path().join("src").join(name);
            if path.exists() {
                roots.push(path);
            }
        }
    }
    assert!(roots.len() >= 5, "found only {} crate roots", roots.len());
    let missing: Vec<_> = roots
        .iter()
        .filter(|p| !std::fs::read_to_string(p).unwrap_or_default().contains(lint))
        .map(|p| p.display().to_string())
        .collect();
    assert!(missing.is_empty(), "crate roots without `{lint}`: {missing:?}");
}
