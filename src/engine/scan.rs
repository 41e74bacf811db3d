//! A small scanner over Rhai source: the calls a script makes, the functions it defines and the
//! modules it imports, each with its line and column.
//!
//! Rhai's AST walker needs the `internals` feature, which this project never enables, so
//! `offboard-host check` (and the REPL's multi-line input and `import` handling) read the source
//! with this scanner instead. It knows just enough of Rhai's lexical grammar to not be fooled:
//! strings (`"..."`, raw `#"..."#`, characters `'x'`), comments (`//`, nested `/* */`) and backtick
//! templates are skipped, except the code inside a template's `${...}`, which is scanned. It finds
//! `ident(` and `ns::ident(` with their argument count (commas at the top level of the call, with
//! `()`, `[]`, `{}`, `#{}` nesting and closure parameter lists `|a, b|` accounted for). Method
//! calls (`x.len()`) are not reported.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    /// A string literal (its text, escapes not processed) or a whole backtick template.
    Str(String),
    Num,
    /// Punctuation: `::`, `||`, `..`, `${` (opens an interpolation), or one character.
    Punct(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// 1-based, as Rhai counts them (characters, not bytes).
    pub line: usize,
    pub col: usize,
}

impl Token {
    fn is(&self, p: &str) -> bool {
        matches!(&self.tok, Tok::Punct(x) if x == p)
    }
    fn ident(&self) -> Option<&str> {
        match &self.tok {
            Tok::Ident(s) => Some(s),
            _ => None,
        }
    }
}

/// The tokens of a source, and whether it ends inside something still open.
#[derive(Debug, Default)]
pub struct Lexed {
    pub tokens: Vec<Token>,
    /// The source ends inside a string, a template or a block comment.
    pub unterminated: bool,
}

impl Lexed {
    /// Brackets (`(`, `[`, `{`, `${`) opened and not yet closed at the end of the source.
    pub fn open_brackets(&self) -> usize {
        let mut depth: isize = 0;
        for t in &self.tokens {
            match &t.tok {
                Tok::Punct(p) if matches!(p.as_str(), "(" | "[" | "{" | "${") => depth += 1,
                Tok::Punct(p) if matches!(p.as_str(), ")" | "]" | "}") => depth -= 1,
                _ => {}
            }
        }
        depth.max(0) as usize
    }
}

enum Mode {
    /// Code; inside a template interpolation when `interp` is set, with its own `{}` depth.
    Code { interp: bool, depth: usize },
    /// The text of a backtick template.
    Template,
}

pub fn lex(src: &str) -> Lexed {
    let c: Vec<char> = src.chars().collect();
    let mut out = Lexed::default();
    let (mut i, mut line, mut col) = (0usize, 1usize, 1usize);
    let mut modes = vec![Mode::Code { interp: false, depth: 0 }];
    // Advance over `n` characters, keeping line and column.
    macro_rules! bump {
        ($n:expr) => {
            for _ in 0..$n {
                if i < c.len() {
                    if c[i] == '\n' {
                        line += 1;
                        col = 1;
                    } else {
                        col += 1;
                    }
                    i += 1;
                }
            }
        };
    }
    let at = |i: usize, s: &str| s.chars().enumerate().all(|(k, ch)| c.get(i + k) == Some(&ch));
    while i < c.len() {
        if let Some(Mode::Template) = modes.last() {
            if c[i] == '`' {
                bump!(1);
                modes.pop();
            } else if at(i, "${") {
                out.tokens.push(Token { tok: Tok::Punct("${".into()), line, col });
                bump!(2);
                modes.push(Mode::Code { interp: true, depth: 0 });
            } else {
                if c[i] == '\\' {
                    bump!(1);
                }
                bump!(1);
            }
            continue;
        }
        let ch = c[i];
        let (l0, c0) = (line, col);
        let push = |out: &mut Lexed, tok: Tok| out.tokens.push(Token { tok, line: l0, col: c0 });
        if ch.is_whitespace() {
            bump!(1);
        } else if at(i, "//") {
            while i < c.len() && c[i] != '\n' {
                bump!(1);
            }
        } else if at(i, "/*") {
            let mut depth = 0;
            loop {
                if i >= c.len() {
                    out.unterminated = true;
                    break;
                }
                if at(i, "/*") {
                    depth += 1;
                    bump!(2);
                } else if at(i, "*/") {
                    depth -= 1;
                    bump!(2);
                    if depth == 0 {
                        break;
                    }
                } else {
                    bump!(1);
                }
            }
        } else if ch == '"' || ch == '\'' {
            bump!(1);
            let start = i;
            let mut closed = false;
            while i < c.len() {
                if c[i] == '\\' {
                    bump!(2);
                } else if c[i] == ch {
                    closed = true;
                    break;
                } else {
                    bump!(1);
                }
            }
            let text: String = c[start..i.min(c.len())].iter().collect();
            if closed {
                bump!(1);
            } else {
                out.unterminated = true;
            }
            push(&mut out, Tok::Str(text));
        } else if ch == '#' && matches!(c.get(i + 1), Some('#') | Some('"')) {
            // Raw string: n hashes, a quote, text, a quote and n hashes.
            let mut hashes = 0;
            while c.get(i) == Some(&'#') {
                hashes += 1;
                bump!(1);
            }
            bump!(1); // the opening quote (or whatever stands there: Rhai reports that)
            let close: String = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
            let start = i;
            while i < c.len() && !at(i, &close) {
                bump!(1);
            }
            let text: String = c[start..i.min(c.len())].iter().collect();
            if i >= c.len() {
                out.unterminated = true;
            }
            bump!(close.chars().count());
            push(&mut out, Tok::Str(text));
        } else if ch == '`' {
            push(&mut out, Tok::Str(String::new()));
            bump!(1);
            modes.push(Mode::Template);
        } else if ch == '#' && c.get(i + 1) == Some(&'{') {
            push(&mut out, Tok::Punct("{".into()));
            bump!(2);
            if let Some(Mode::Code { depth, .. }) = modes.last_mut() {
                *depth += 1;
            }
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_') {
                bump!(1);
            }
            push(&mut out, Tok::Ident(c[start..i].iter().collect()));
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (c[i].is_ascii_alphanumeric() || c[i] == '_' || (c[i] == '.' && c.get(i + 1).is_some_and(|d| d.is_ascii_digit())))
            {
                bump!(1);
            }
            push(&mut out, Tok::Num);
        } else {
            let two = ["::", "||", ".."].iter().find(|p| at(i, p));
            let p = two.map(|p| p.to_string()).unwrap_or_else(|| ch.to_string());
            let n = p.chars().count();
            match (p.as_str(), modes.last_mut()) {
                ("{", Some(Mode::Code { depth, .. })) => *depth += 1,
                ("}", Some(Mode::Code { interp: true, depth: 0 })) => {
                    // The end of a `${...}`: back to the template's text.
                    push(&mut out, Tok::Punct(p));
                    bump!(n);
                    modes.pop();
                    continue;
                }
                ("}", Some(Mode::Code { depth, .. })) => *depth = depth.saturating_sub(1),
                _ => {}
            }
            push(&mut out, Tok::Punct(p));
            bump!(n);
        }
    }
    if modes.len() > 1 {
        out.unterminated = true;
    }
    out
}

/// A call `name(...)` or `ns::name(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The namespace path (`graph`, `ob`), None for a plain call.
    pub ns: Option<String>,
    pub name: String,
    pub args: usize,
    pub line: usize,
    pub col: usize,
    /// The index in [`Scan::fns`] of the function whose body holds the call.
    pub in_fn: Option<usize>,
}

impl Call {
    pub fn qualified(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{ns}::{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A function the source defines: `fn name(a, b) { ... }`.
#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: String,
    pub params: usize,
    pub private: bool,
    pub line: usize,
    pub col: usize,
    /// The `///` doc comment lines right before the definition.
    pub doc: Vec<String>,
}

/// `import "path" as alias;`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: String,
    pub alias: Option<String>,
    pub line: usize,
    pub col: usize,
}

#[derive(Debug, Default)]
pub struct Scan {
    pub calls: Vec<Call>,
    pub fns: Vec<FnDef>,
    pub imports: Vec<Import>,
    /// Names bound as variables or parameters anywhere (a call `f(x)` may call a closure in `f`).
    pub vars: BTreeSet<String>,
}

const KEYWORDS: &[&str] = &[
    "if", "else", "while", "loop", "for", "in", "do", "until", "switch", "return", "throw", "try", "catch", "let", "const", "fn",
    "private", "import", "export", "as", "break", "continue", "this", "true", "false", "global",
];

/// Functions built into Rhai's language rather than registered (any argument count).
pub const KEYWORD_FUNCTIONS: &[&str] =
    &["print", "debug", "type_of", "Fn", "call", "curry", "is_shared", "is_def_fn", "is_def_var", "eval"];

/// Count the arguments of the call whose `(` is at `open`; returns (count, index of the `)`).
fn count_args(t: &[Token], open: usize) -> (usize, usize) {
    let (mut depth, mut count, mut seg) = (0usize, 0usize, false);
    let mut i = open + 1;
    while i < t.len() {
        let tok = &t[i];
        if depth == 0 && tok.is(")") {
            break;
        }
        if depth == 0 && tok.is(",") {
            if seg {
                count += 1;
            }
            seg = false;
        } else if depth == 0 && !seg && tok.is("|") {
            // A closure's parameter list: skip to its closing `|`.
            seg = true;
            i += 1;
            while i < t.len() && !t[i].is("|") {
                i += 1;
            }
        } else {
            seg = true;
            match &tok.tok {
                Tok::Punct(p) if matches!(p.as_str(), "(" | "[" | "{" | "${") => depth += 1,
                Tok::Punct(p) if matches!(p.as_str(), ")" | "]" | "}") => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    (count + usize::from(seg), i)
}

/// The index of the bracket closing the one at `open`.
fn matching(t: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, tok) in t.iter().enumerate().skip(open) {
        match &tok.tok {
            Tok::Punct(p) if matches!(p.as_str(), "(" | "[" | "{" | "${") => depth += 1,
            Tok::Punct(p) if matches!(p.as_str(), ")" | "]" | "}") => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// The `///` lines that end right above `line` (for the docs of stdlib functions).
fn doc_above(src_lines: &[&str], line: usize) -> Vec<String> {
    let mut doc = Vec::new();
    let mut l = line.saturating_sub(1);
    while l >= 1 {
        let text = src_lines.get(l - 1).map(|s| s.trim()).unwrap_or("");
        if text.starts_with("///") {
            doc.push(text.to_string());
            l -= 1;
        } else {
            break;
        }
    }
    doc.reverse();
    doc
}

pub fn scan(src: &str) -> Scan {
    let t = lex(src).tokens;
    let lines: Vec<&str> = src.lines().collect();
    let mut s = Scan::default();
    // Token ranges of function bodies, with the function's index.
    let mut bodies: Vec<(usize, usize, usize)> = Vec::new();
    let prev = |i: usize| if i > 0 { t.get(i - 1) } else { None };
    let mut i = 0;
    while i < t.len() {
        let Some(word) = t[i].ident() else {
            // Closure parameters: `|a, b|` where an expression starts.
            if t[i].is("|")
                && prev(i).is_none_or(|p| {
                    matches!(&p.tok, Tok::Punct(x) if ["(", ",", "=", "{", ";", "["].contains(&x.as_str())) || p.ident() == Some("return")
                })
            {
                let mut j = i + 1;
                while j < t.len() && !t[j].is("|") {
                    if let Some(v) = t[j].ident() {
                        s.vars.insert(v.to_string());
                    }
                    j += 1;
                }
                i = j + 1;
                continue;
            }
            i += 1;
            continue;
        };
        let next_is = |k: usize, p: &str| t.get(i + k).is_some_and(|x| x.is(p));
        match word {
            "fn" => {
                if let (Some(name), true) = (t.get(i + 1).and_then(Token::ident), next_is(2, "(")) {
                    let (params, close) = count_args(&t, i + 2);
                    for p in &t[i + 3..close.min(t.len())] {
                        if let Some(v) = p.ident() {
                            s.vars.insert(v.to_string());
                        }
                    }
                    let private = prev(i).and_then(Token::ident) == Some("private");
                    let idx = s.fns.len();
                    s.fns.push(FnDef {
                        name: name.to_string(),
                        params,
                        private,
                        line: t[i].line,
                        col: t[i].col,
                        doc: doc_above(&lines, if private { prev(i).map_or(t[i].line, |p| p.line) } else { t[i].line }),
                    });
                    if let Some(open) = (close..t.len()).find(|&k| t[k].is("{")) {
                        bodies.push((open, matching(&t, open), idx));
                    }
                    i = close + 1;
                    continue;
                }
            }
            "import" => {
                if let Some(Tok::Str(path)) = t.get(i + 1).map(|x| &x.tok) {
                    let alias = (t.get(i + 2).and_then(Token::ident) == Some("as")).then(|| t.get(i + 3).and_then(Token::ident)).flatten();
                    s.imports.push(Import { path: path.clone(), alias: alias.map(str::to_string), line: t[i].line, col: t[i].col });
                }
            }
            "let" | "const" | "for" | "catch" => {
                let mut j = i + 1;
                while j < t.len() && (t[j].is("(") || t[j].is(",") || t[j].ident().is_some_and(|v| !KEYWORDS.contains(&v))) {
                    if let Some(v) = t[j].ident() {
                        s.vars.insert(v.to_string());
                    }
                    j += 1;
                }
            }
            _ => {}
        }
        let called = next_is(1, "(") && !KEYWORDS.contains(&word) && !prev(i).is_some_and(|p| p.is(".") || p.ident() == Some("fn"));
        if called {
            // Walk back over `a::b::` to the start of the path.
            let mut start = i;
            while start >= 2 && t[start - 1].is("::") && t[start - 2].ident().is_some() {
                start -= 2;
            }
            let ns = (start < i).then(|| t[start..i - 1].iter().filter_map(Token::ident).collect::<Vec<_>>().join("::"));
            let (args, _) = count_args(&t, i + 1);
            let in_fn = bodies.iter().find(|(a, b, _)| *a < i && i < *b).map(|(_, _, f)| *f);
            // Located at the function's name, as Rhai locates a call (after `ns::`).
            s.calls.push(Call { ns, name: word.to_string(), args, line: t[i].line, col: t[i].col, in_fn });
        }
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(src: &str) -> Vec<(String, usize)> {
        scan(src).calls.iter().map(|c| (c.qualified(), c.args)).collect()
    }

    fn owned(v: &[(&str, usize)]) -> Vec<(String, usize)> {
        v.iter().map(|(n, a)| (n.to_string(), *a)).collect()
    }

    #[test]
    fn finds_calls_with_their_argument_counts() {
        let src = "let u = graph::get_user(USER);\nf();\ng(1, [2, 3], #{a: 1, b: h(4, 5)}, (6, 7));\nx.len(); y.push(z(1));";
        assert_eq!(calls(src), owned(&[("graph::get_user", 1), ("f", 0), ("g", 4), ("h", 2), ("z", 1)]));
        let c = &scan(src).calls[0];
        assert_eq!((c.line, c.col), (1, 16));
        let c = &scan(src).calls[2];
        assert_eq!((c.line, c.col), (3, 1));
    }

    #[test]
    fn closures_count_as_one_argument() {
        let src = "phase(\"lock\", #{ required: true }, |a, b| { graph::disable_account(user); a + b });\nphase(\"x\", || log(\"y\"));\nphase(\"z\", |x| x, 3)";
        assert_eq!(calls(src), owned(&[("phase", 3), ("graph::disable_account", 1), ("phase", 2), ("log", 1), ("phase", 3)]));
    }

    #[test]
    fn ignores_strings_comments_and_template_text() {
        let src = r###"
// graph::nope(1)
/* nested /* block */ still(comment) */
/// doc: example(1, 2)
let s = "call(me, please) \" quoted(x)";
let c = '(';
let r = #"raw(1) "quoted" "#;
let t = `text(1, 2) ${ real(1, 2) } more(3) ${ #{a: inner()}.a }`;
done(s, `a, b`, "c, d")
"###;
        assert_eq!(calls(src), owned(&[("real", 2), ("inner", 0), ("done", 3)]));
    }

    #[test]
    fn finds_functions_imports_and_variables() {
        let src = "import \"offboard\" as ob;\nimport \"lib/x\";\n/// Does a thing.\n/// Really.\nfn helper(a, b) {\n  graph::remove_manager(a);\n}\nprivate fn hidden() { 1 }\nlet f = |x| x;\nfor (g, i) in [] {}\nhelper(1, 2); f(3);";
        let s = scan(src);
        assert_eq!(
            s.imports.iter().map(|i| (i.path.as_str(), i.alias.as_deref())).collect::<Vec<_>>(),
            [("offboard", Some("ob")), ("lib/x", None)]
        );
        assert_eq!(s.fns.len(), 2);
        assert_eq!((s.fns[0].name.as_str(), s.fns[0].params, s.fns[0].private), ("helper", 2, false));
        assert_eq!(s.fns[0].doc, ["/// Does a thing.", "/// Really."]);
        assert_eq!((s.fns[1].name.as_str(), s.fns[1].params, s.fns[1].private), ("hidden", 0, true));
        let rm = s.calls.iter().find(|c| c.name == "remove_manager").unwrap();
        assert_eq!(rm.in_fn, Some(0));
        assert!(s.calls.iter().find(|c| c.name == "helper").unwrap().in_fn.is_none());
        for v in ["f", "x", "g", "i", "a", "b"] {
            assert!(s.vars.contains(v), "{v}");
        }
        // Definitions are not calls.
        assert!(!s.calls.iter().any(|c| c.name == "hidden"));
    }

    #[test]
    fn never_panics_on_truncated_input() {
        let mut sources: Vec<&str> = crate::engine::STDLIB.iter().map(|(_, t)| *t).collect();
        sources.push(crate::run::DEFAULT_SCRIPT);
        sources.push("fn f(| #\"x\" `${ '\\' /* \"");
        for src in sources {
            for (i, _) in src.char_indices() {
                let s = scan(&src[..i]);
                assert!(s.calls.iter().all(|c| c.line >= 1 && c.col >= 1));
            }
        }
    }

    #[test]
    fn open_brackets_and_unterminated_input() {
        assert_eq!(lex("phase(\"x\", || {").open_brackets(), 2);
        assert_eq!(lex("f(\")\")").open_brackets(), 0);
        assert!(lex("let s = \"abc").unterminated);
        assert!(lex("let s = `abc ${x}").unterminated);
        assert!(lex("/* open").unterminated);
        assert!(!lex("let s = `a ${ #{b: 1}.b } c`;").unterminated);
    }
}
