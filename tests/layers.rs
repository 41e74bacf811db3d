//! The layering of `src/`: every module imports only from the layers below it, and the files
//! of one folder import each other without a circle.
//!
//! The layers are written down here, and in `src/README.md` with the reason for each arrow. A
//! change that makes a module reach upwards (the executor importing a provider, the PSA client
//! importing the simulator, ...) fails this test instead of quietly making a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom first. A module may use the modules of the layers before its own, never its own layer
/// or a later one.
const LAYERS: &[&[&str]] = &[
    // Foundations that know nothing of the rest; the simulator stands apart from our clients.
    &["secret", "action_error", "input", "demo"],
    // The Graph HTTP client and the journal.
    &["graph", "journal"],
    // The error enum with exit codes (wraps Graph and journal errors).
    &["error"],
    // Org variables from the TOML and `--set`.
    &["settings"],
    // Actions, phases, the executor: provider-neutral.
    &["exec"],
    // Providers and their actions; Exchange, AD and the PSAs reuse the Entra user reference.
    &["entra"],
    &["exchange", "ad", "psa"],
    // The configuration, the script functions, restore.
    &["config", "ops", "workflow"],
    // The hardened engine (registers the op table), one run, authoring tools, the CLI.
    &["engine"],
    &["run"],
    &["authoring"],
    // What the CLI and the console share: a tenant's connection, a session that plans and applies.
    &["service"],
    // The web console (sign-in, roles, pages over the journal); the CLI's `serve` starts it.
    &["console"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reading src/") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's module path below `src/`: `src/exec/cache.rs` → `["exec", "cache"]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("a file below src/").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts == ["lib"] || parts == ["main"] {
        parts.clear();
    }
    parts
}

/// The code of a file without comments and without its test module (tests may reach anywhere).
fn code(text: &str) -> String {
    let body = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    strip_comments(body)
}

/// Drop `//` comments, but not a `//` inside a string literal (`"https://..."`), so a path
/// after a URL on the same line is still seen.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            // A char literal holding a quote must not open a string.
            '\'' if chars.peek() == Some(&'"') => {
                out.push(c);
                out.push(chars.next().unwrap_or('"'));
            }
            '/' if chars.peek() == Some(&'/') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Every path `prefix::a::b::...` in `code`, as its segments.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut s = rest;
        while let Some(tail) = s.strip_prefix("::") {
            let seg: String = tail.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if seg.is_empty() {
                break;
            }
            s = &tail[seg.len()..];
            segs.push(seg);
        }
        if !segs.is_empty() {
            out.push(segs);
        }
    }
    out
}

struct Graph {
    modules: BTreeSet<Vec<String>>,
    /// module → (module it uses, file that uses it)
    edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let texts: Vec<(Vec<String>, String)> =
        files.iter().map(|f| (module_of(&src, f), code(&std::fs::read_to_string(f).expect("reading a source file")))).collect();
    let modules: BTreeSet<Vec<String>> = texts.iter().map(|(m, _)| m.clone()).collect();
    let deepest = |full: &[String]| (1..=full.len()).rev().map(|k| full[..k].to_vec()).find(|m| modules.contains(m));
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (m, text) in &texts {
        if m.last().is_some_and(|s| s == "tests") {
            continue;
        }
        let mut targets: Vec<Vec<String>> = paths_after(text, "crate");
        for segs in paths_after(text, "super") {
            let mut base = m[..m.len().saturating_sub(1)].to_vec();
            let mut segs = segs.as_slice();
            while let Some(rest) = segs.strip_prefix(&["super".to_string()][..]) {
                base.pop();
                segs = rest;
            }
            base.extend(segs.iter().cloned());
            targets.push(base);
        }
        for t in targets {
            if let Some(target) = deepest(&t) {
                if &target != m {
                    edges.entry(m.clone()).or_default().insert(target);
                }
            }
        }
    }
    Graph { modules, edges }
}

#[test]
fn every_module_imports_only_from_lower_layers() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g.edges {
        let Some(a) = from.first() else { continue };
        let Some(la) = layer_of(a) else {
            wrong.push(format!("src/{a}: not in LAYERS (tests/layers.rs); add it where it belongs"));
            continue;
        };
        for to in tos {
            let Some(b) = to.first() else { continue };
            if b == a {
                continue;
            }
            match layer_of(b) {
                Some(lb) if lb < la => {}
                _ => wrong.push(format!("{} uses {}: {a} is not above {b}", from.join("::"), to.join("::"))),
            }
        }
    }
    assert!(g.modules.len() > 50, "the source tree was not found");
    assert!(wrong.is_empty(), "imports against the layering:\n{}", wrong.join("\n"));
}

/// Files of one folder: a file may use its folder's `mod.rs` and its siblings, but never in a
/// circle. (`mod.rs` using its children is how a folder shows its face, and is not an edge here.)
#[test]
fn the_files_of_a_folder_import_each_other_without_circles() {
    let g = graph();
    let mut sibling: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (from, tos) in &g.edges {
        for to in tos {
            let same_folder = from.len() >= 2 && to.len() == from.len() && to[..to.len() - 1] == from[..from.len() - 1];
            let parent = from.len() >= 2 && to[..] == from[..from.len() - 1];
            if same_folder || parent {
                sibling.entry(from.clone()).or_default().insert(to.clone());
            }
        }
    }
    let mut circles = Vec::new();
    // A circle exists iff some module reaches itself.
    for start in sibling.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(Vec<String>, Vec<String>)> = vec![(start.clone(), vec![start.join("/")])];
        while let Some((m, trail)) = stack.pop() {
            for next in sibling.get(&m).into_iter().flatten() {
                if next == start {
                    circles.push(format!("{} -> {}", trail.join(" -> "), start.join("/")));
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.join("/"));
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    circles.sort();
    circles.dedup();
    assert!(circles.is_empty(), "import circles:\n{}", circles.join("\n"));
}
