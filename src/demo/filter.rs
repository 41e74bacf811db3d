//! `$filter` on users as Graph's directory evaluates it: `eq`, `ne`, `in`, `startswith`,
//! `endswith`, `not`, `and`, `or`, brackets, and `assignedLicenses/any(x:x/skuId eq <guid>)`.
//!
//! What Graph serves by default and what only as an advanced query (`ConsistencyLevel: eventual`
//! and `$count=true`) follows the property table of "Advanced query capabilities on Microsoft
//! Entra ID objects": `ne`, `not`, `endswith` and comparisons with `null` need the advanced
//! parameters, `endswith` exists only on `mail` and `userPrincipalName` here, `startswith` not on
//! `jobTitle`. A query outside that is refused with Graph's error, never answered loosely.

use serde_json::{Map, Value};

use super::reply::{Ctx, Reply};

/// A parsed filter.
#[derive(Debug, PartialEq)]
pub enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `prop eq value` (`ne` is `Not(Eq)`).
    Eq(String, Value),
    In(String, Vec<Value>),
    StartsWith(String, String),
    EndsWith(String, String),
    /// `assignedLicenses/any(x:x/skuId eq <guid>)`.
    HasSku(String),
}

/// Properties `eq` (and so `ne`, `not`, `in`) works on, as Graph names them.
const EQ: &[&str] = &[
    "id",
    "accountEnabled",
    "department",
    "displayName",
    "givenName",
    "surname",
    "userPrincipalName",
    "mail",
    "employeeId",
    "jobTitle",
    "usageLocation",
    "onPremisesSyncEnabled",
];
const STARTS_WITH: &[&str] =
    &["department", "displayName", "givenName", "surname", "userPrincipalName", "mail", "employeeId", "usageLocation"];
const ENDS_WITH: &[&str] = &["mail", "userPrincipalName"];

/// Parse `s`; `advanced` says whether the request carried the advanced query parameters.
pub fn parse_user_filter(s: &str, advanced: bool, ctx: &Ctx) -> Result<Expr, Reply> {
    let tokens = tokenize(s).map_err(|at| syntax(ctx, s, at))?;
    let mut p = Parser { t: &tokens, i: 0, src: s, ctx, advanced };
    let e = p.or()?;
    if p.i < tokens.len() {
        return Err(p.syntax());
    }
    Ok(e)
}

fn syntax(ctx: &Ctx, s: &str, at: usize) -> Reply {
    ctx.error(400, "BadRequest", &format!("Invalid filter clause: Syntax error at position {at} in '{s}'."))
}

fn needs_advanced(ctx: &Ctx, op: &str) -> Reply {
    ctx.error(
        400,
        "Request_UnsupportedQuery",
        &format!(
            "Operator '{op}' is not supported because the required parameters might be missing. Try adding $count=true query \
             parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
        ),
    )
}

fn unsupported(ctx: &Ctx, prop: &str) -> Reply {
    ctx.error(
        400,
        "Request_UnsupportedQuery",
        &format!("Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'."),
    )
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Punct(char),
}

/// Tokens with their byte offsets; Err(offset) for an unterminated string or a stray character.
fn tokenize(s: &str) -> Result<Vec<(usize, Tok)>, usize> {
    let mut out = Vec::new();
    let mut it = s.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '\'' {
            it.next();
            let mut lit = String::new();
            loop {
                match it.next() {
                    Some((_, '\'')) if matches!(it.peek(), Some((_, '\''))) => {
                        it.next();
                        lit.push('\'');
                    }
                    Some((_, '\'')) => break,
                    Some((_, ch)) => lit.push(ch),
                    None => return Err(i),
                }
            }
            out.push((i, Tok::Str(lit)));
        } else if "(),/:".contains(c) {
            it.next();
            out.push((i, Tok::Punct(c)));
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
            let mut w = String::new();
            while let Some(&(_, ch)) = it.peek() {
                if ch.is_ascii_alphanumeric() || ch == '_' || ch == '-' || ch == '.' {
                    w.push(ch);
                    it.next();
                } else {
                    break;
                }
            }
            out.push((i, Tok::Word(w)));
        } else {
            return Err(i);
        }
    }
    Ok(out)
}

struct Parser<'a> {
    t: &'a [(usize, Tok)],
    i: usize,
    src: &'a str,
    ctx: &'a Ctx,
    advanced: bool,
}

impl Parser<'_> {
    fn syntax(&self) -> Reply {
        syntax(self.ctx, self.src, self.t.get(self.i).map(|(at, _)| *at).unwrap_or(self.src.len()))
    }
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.t.get(self.i), Some((_, Tok::Word(x))) if x.eq_ignore_ascii_case(w))
    }
    fn punct(&mut self, c: char) -> Result<(), Reply> {
        match self.t.get(self.i) {
            Some((_, Tok::Punct(x))) if *x == c => {
                self.i += 1;
                Ok(())
            }
            _ => Err(self.syntax()),
        }
    }
    fn word(&mut self) -> Result<String, Reply> {
        match self.t.get(self.i) {
            Some((_, Tok::Word(w))) => {
                self.i += 1;
                Ok(w.clone())
            }
            _ => Err(self.syntax()),
        }
    }
    fn advanced_op(&self, op: &str) -> Result<(), Reply> {
        if self.advanced {
            Ok(())
        } else {
            Err(needs_advanced(self.ctx, op))
        }
    }
    fn or(&mut self) -> Result<Expr, Reply> {
        let mut e = self.and()?;
        while self.peek_word("or") {
            self.i += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, Reply> {
        let mut e = self.unary()?;
        while self.peek_word("and") {
            self.i += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }
    fn unary(&mut self) -> Result<Expr, Reply> {
        if self.peek_word("not") {
            self.advanced_op("not")?;
            self.i += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if matches!(self.t.get(self.i), Some((_, Tok::Punct('(')))) {
            self.i += 1;
            let e = self.or()?;
            self.punct(')')?;
            return Ok(e);
        }
        let name = self.word()?;
        let func = name.to_ascii_lowercase();
        if (func == "startswith" || func == "endswith") && matches!(self.t.get(self.i), Some((_, Tok::Punct('(')))) {
            self.i += 1;
            let prop = self.word()?;
            self.punct(',')?;
            let lit = match self.t.get(self.i) {
                Some((_, Tok::Str(s))) => s.clone(),
                _ => return Err(self.syntax()),
            };
            self.i += 1;
            self.punct(')')?;
            return if func == "startswith" {
                let p = canon(&prop, STARTS_WITH).ok_or_else(|| unsupported(self.ctx, &prop))?;
                Ok(Expr::StartsWith(p, lit))
            } else {
                let p = canon(&prop, ENDS_WITH).ok_or_else(|| unsupported(self.ctx, &prop))?;
                self.advanced_op("endsWith")?;
                Ok(Expr::EndsWith(p, lit))
            };
        }
        if name.eq_ignore_ascii_case("assignedLicenses") {
            return self.any_sku();
        }
        let prop = canon(&name, EQ).ok_or_else(|| unsupported(self.ctx, &name))?;
        let op = self.word()?.to_ascii_lowercase();
        match op.as_str() {
            "eq" | "ne" => {
                let v = self.value()?;
                if op == "ne" {
                    self.advanced_op("ne")?;
                }
                if v.is_null() {
                    self.advanced_op(&op)?;
                }
                let eq = Expr::Eq(prop, v);
                Ok(if op == "ne" { Expr::Not(Box::new(eq)) } else { eq })
            }
            "in" => {
                self.punct('(')?;
                let mut vs = vec![self.value()?];
                while matches!(self.t.get(self.i), Some((_, Tok::Punct(',')))) {
                    self.i += 1;
                    vs.push(self.value()?);
                }
                self.punct(')')?;
                Ok(Expr::In(prop, vs))
            }
            _ => Err(unsupported(self.ctx, &prop)),
        }
    }
    /// After `assignedLicenses`: `/any(x:x/skuId eq <guid>)`.
    fn any_sku(&mut self) -> Result<Expr, Reply> {
        self.punct('/')?;
        if !self.word()?.eq_ignore_ascii_case("any") {
            return Err(unsupported(self.ctx, "assignedLicenses"));
        }
        self.punct('(')?;
        let var = self.word()?;
        self.punct(':')?;
        if self.word()? != var {
            return Err(self.syntax());
        }
        self.punct('/')?;
        if !self.word()?.eq_ignore_ascii_case("skuId") || !self.word()?.eq_ignore_ascii_case("eq") {
            return Err(unsupported(self.ctx, "assignedLicenses"));
        }
        let guid = self.word()?;
        if !is_guid(&guid) {
            return Err(self.ctx.error(400, "BadRequest", &format!("Invalid filter clause: '{guid}' is not a valid Edm.Guid literal.")));
        }
        self.punct(')')?;
        Ok(Expr::HasSku(guid.to_ascii_lowercase()))
    }
    fn value(&mut self) -> Result<Value, Reply> {
        let v = match self.t.get(self.i) {
            Some((_, Tok::Str(s))) => Value::String(s.clone()),
            Some((_, Tok::Word(w))) if w == "true" => Value::Bool(true),
            Some((_, Tok::Word(w))) if w == "false" => Value::Bool(false),
            Some((_, Tok::Word(w))) if w == "null" => Value::Null,
            _ => return Err(self.syntax()),
        };
        self.i += 1;
        Ok(v)
    }
}

fn canon(p: &str, allowed: &[&str]) -> Option<String> {
    allowed.iter().find(|a| a.eq_ignore_ascii_case(p)).map(|a| a.to_string())
}

fn is_guid(s: &str) -> bool {
    let g: Vec<&str> = s.split('-').collect();
    g.len() == 5 && g.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

impl Expr {
    /// Does the user (its full Graph representation) match? Strings compare ignoring case, as
    /// the directory does.
    pub fn matches(&self, u: &Map<String, Value>) -> bool {
        let text = |p: &str| u.get(p).and_then(Value::as_str).map(str::to_lowercase);
        let same = |p: &str, v: &Value| match (u.get(p).unwrap_or(&Value::Null), v) {
            (Value::String(a), Value::String(b)) => a.to_lowercase() == b.to_lowercase(),
            (a, b) => a == b,
        };
        match self {
            Expr::And(a, b) => a.matches(u) && b.matches(u),
            Expr::Or(a, b) => a.matches(u) || b.matches(u),
            Expr::Not(e) => !e.matches(u),
            Expr::Eq(p, v) => same(p, v),
            Expr::In(p, vs) => vs.iter().any(|v| same(p, v)),
            Expr::StartsWith(p, s) => text(p).is_some_and(|t| t.starts_with(&s.to_lowercase())),
            Expr::EndsWith(p, s) => text(p).is_some_and(|t| t.ends_with(&s.to_lowercase())),
            Expr::HasSku(id) => u
                .get("assignedLicenses")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|l| l.get("skuId").and_then(Value::as_str).is_some_and(|s| s.eq_ignore_ascii_case(id)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx() -> Ctx {
        Ctx::new(None, None)
    }

    fn err(r: Reply) -> (u16, String, String) {
        let v = r.body.expect("an error body");
        (r.status, v["error"]["code"].as_str().unwrap().into(), v["error"]["message"].as_str().unwrap().into())
    }

    #[test]
    fn default_filters_parse_and_match() {
        let u = json!({"department": "Sales", "displayName": "Ann O'Brien", "accountEnabled": false,
                       "userPrincipalName": "ann@contoso.test",
                       "assignedLicenses": [{"skuId": "C7DF2760-2C81-4EF7-B578-5B5392B571DF"}]});
        let u = u.as_object().unwrap();
        for (f, want) in [
            ("department eq 'sales'", true),
            ("startswith(displayName,'ann o''b')", true),
            ("accountEnabled eq false and (startswith(givenName,'x') or startswith(userPrincipalName,'ANN'))", true),
            ("assignedLicenses/any(x:x/skuId eq c7df2760-2c81-4ef7-b578-5b5392b571df)", true),
            ("department in ('HR','Sales')", true),
            ("accountEnabled eq true", false),
        ] {
            let e = parse_user_filter(f, false, &ctx()).unwrap_or_else(|r| panic!("{f}: {:?}", err(r)));
            assert_eq!(e.matches(u), want, "{f}");
        }
    }

    #[test]
    fn advanced_operators_need_the_advanced_parameters() {
        for (f, op) in [
            ("accountEnabled ne true", "ne"),
            ("not (department eq 'x')", "not"),
            ("endswith(mail,'@x.test')", "endsWith"),
            ("department eq null", "eq"),
        ] {
            let (status, code, msg) = err(parse_user_filter(f, false, &ctx()).unwrap_err());
            assert_eq!((status, code.as_str()), (400, "Request_UnsupportedQuery"), "{f}");
            assert!(msg.starts_with(&format!("Operator '{op}' is not supported")), "{f}: {msg}");
            assert!(parse_user_filter(f, true, &ctx()).is_ok(), "{f} as an advanced query");
        }
    }

    #[test]
    fn unknown_properties_injection_and_bad_syntax_are_refused() {
        let (_, code, msg) = err(parse_user_filter("startswith(jobTitle,'x')", true, &ctx()).unwrap_err());
        assert_eq!(code, "Request_UnsupportedQuery");
        assert!(msg.contains("property 'jobTitle'"), "{msg}");
        assert!(parse_user_filter("endswith(displayName,'x')", true, &ctx()).is_err());
        assert!(parse_user_filter("password eq 'x'", true, &ctx()).is_err());
        // A quote that ends the literal early leaves a clause that does not parse.
        let (status, code, _) = err(parse_user_filter("department eq 'x' or 'y'", false, &ctx()).unwrap_err());
        assert_eq!((status, code.as_str()), (400, "BadRequest"));
        assert!(parse_user_filter("department eq 'x", false, &ctx()).is_err(), "unterminated");
        assert!(parse_user_filter("assignedLicenses/any(x:x/skuId eq 'E3')", false, &ctx()).is_err(), "a skuId is a GUID");
    }
}
