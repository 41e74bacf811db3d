//! A small lexer over Rhai source, and the functions and imports it defines in source order.
//!
//! `check` reads Rhai's own AST ([`super::walk`]); this remains for what the AST cannot give:
//! whether an input is still incomplete (the REPL's multi-line input: an unfinished source does
//! not compile), and where each function is defined, in source order (Rhai keeps no position
//! for a definition and orders its functions by hash) for the reference pages and the overrides
//! check. It knows just enough of Rhai's lexical grammar to not be fooled: strings (`"..."`, raw
//! `#"..."#`, characters `'x'`), comments (`//`, nested `/* */`) and backtick templates are
//! skipped, except the code inside a template's `${...}`.

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
    pub fns: Vec<FnDef>,
    pub imports: Vec<Import>,
}

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

/// The functions and imports of a source, in source order.
pub fn scan(src: &str) -> Scan {
    let t = lex(src).tokens;
    let lines: Vec<&str> = src.lines().collect();
    let mut s = Scan::default();
    let prev = |i: usize| if i > 0 { t.get(i - 1) } else { None };
    let mut i = 0;
    while i < t.len() {
        let next_is = |k: usize, p: &str| t.get(i + k).is_some_and(|x| x.is(p));
        match t[i].ident() {
            Some("fn") => {
                if let (Some(name), true) = (t.get(i + 1).and_then(Token::ident), next_is(2, "(")) {
                    let (params, close) = count_args(&t, i + 2);
                    let private = prev(i).and_then(Token::ident) == Some("private");
                    s.fns.push(FnDef {
                        name: name.to_string(),
                        params,
                        private,
                        line: t[i].line,
                        col: t[i].col,
                        doc: doc_above(&lines, if private { prev(i).map_or(t[i].line, |p| p.line) } else { t[i].line }),
                    });
                    i = close + 1;
                    continue;
                }
            }
            Some("import") => {
                if let Some(Tok::Str(path)) = t.get(i + 1).map(|x| &x.tok) {
                    let alias = (t.get(i + 2).and_then(Token::ident) == Some("as")).then(|| t.get(i + 3).and_then(Token::ident)).flatten();
                    s.imports.push(Import { path: path.clone(), alias: alias.map(str::to_string), line: t[i].line, col: t[i].col });
                }
            }
            _ => {}
        }
        i += 1;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_functions_and_imports_in_source_order() {
        let src = "import \"offboard\" as ob;\nimport \"lib/x\";\n/// Does a thing.\n/// Really.\nfn helper(a, b) {\n  graph::remove_manager(a);\n}\nprivate fn hidden() { 1 }\nlet f = |x| x;\nlet s = \"fn fake(x) {}\";\nhelper(1, 2); f(3);";
        let s = scan(src);
        assert_eq!(
            s.imports.iter().map(|i| (i.path.as_str(), i.alias.as_deref())).collect::<Vec<_>>(),
            [("offboard", Some("ob")), ("lib/x", None)]
        );
        assert_eq!(s.fns.len(), 2);
        assert_eq!((s.fns[0].name.as_str(), s.fns[0].params, s.fns[0].private), ("helper", 2, false));
        assert_eq!(s.fns[0].doc, ["/// Does a thing.", "/// Really."]);
        assert_eq!((s.fns[1].name.as_str(), s.fns[1].params, s.fns[1].private), ("hidden", 0, true));
        assert_eq!((s.fns[0].line, s.fns[0].col, s.fns[1].line, s.fns[1].col), (5, 1, 8, 9));
    }

    #[test]
    fn never_panics_on_truncated_input() {
        let mut sources: Vec<&str> = crate::engine::STDLIB.iter().map(|(_, t)| *t).collect();
        sources.push(crate::run::DEFAULT_SCRIPT);
        sources.push("fn f(| #\"x\" `${ '\\' /* \"");
        for src in sources {
            for (i, _) in src.char_indices() {
                let s = scan(&src[..i]);
                assert!(s.fns.iter().all(|f| f.line >= 1 && f.col >= 1));
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
