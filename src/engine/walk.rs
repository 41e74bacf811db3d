//! What a compiled script calls, imports and defines, read from Rhai's own AST (the `internals`
//! feature): every function call (plain, namespaced `graph::x(...)` and method `x.f(...)`),
//! every function pointer (`Fn("name")` and closures, which Rhai compiles to `anon$...`
//! functions), every `import`, and the functions the script defines with their `///` comments.
//!
//! Reading the AST rather than the text means strings, comments and templates can never be
//! mistaken for code, and a call's position is the one Rhai itself reports at run time.

use std::collections::{BTreeMap, BTreeSet};

use rhai::{ASTNode, Expr, FnAccess, FnCallExpr, Position, Stmt, AST};

/// What a literal argument is, as far as the AST tells without running anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    Str,
    Int,
    Float,
    Bool,
    Char,
    Array,
    Map,
    Unit,
    /// A closure or `Fn("name")`.
    FnPtr,
    /// A handle type (`User`, `AdUser`): a variable only ever bound to what an op returns.
    Handle(&'static str),
    /// Anything that is only known at run time: a variable, a call, an operator ...
    Unknown,
}

impl Arg {
    /// The type name Rhai's messages use (`type_of`).
    pub fn type_name(self) -> &'static str {
        match self {
            Arg::Str => "string",
            Arg::Int => "i64",
            Arg::Float => "f64",
            Arg::Bool => "bool",
            Arg::Char => "char",
            Arg::Array => "array",
            Arg::Map => "map",
            Arg::Unit => "()",
            Arg::FnPtr => "Fn",
            Arg::Handle(t) => t,
            Arg::Unknown => "?",
        }
    }

    fn of(e: &Expr) -> Arg {
        match e {
            Expr::StringConstant(..) | Expr::InterpolatedString(..) => Arg::Str,
            Expr::IntegerConstant(..) => Arg::Int,
            Expr::FloatConstant(..) => Arg::Float,
            Expr::BoolConstant(..) => Arg::Bool,
            Expr::CharConstant(..) => Arg::Char,
            Expr::Array(..) => Arg::Array,
            Expr::Map(..) => Arg::Map,
            Expr::Unit(..) => Arg::Unit,
            Expr::FnCall(f, _) if f.namespace.is_empty() && (f.name == "Fn" || f.name == "curry") => Arg::FnPtr,
            Expr::MethodCall(f, _) if f.name == "curry" => Arg::FnPtr,
            // A closure that captures variables: `{ share(...); curry(Fn("anon$..."), ...) }`.
            Expr::Stmt(block) => match block.statements().last() {
                Some(Stmt::FnCall(f, _)) if f.name == "curry" => Arg::FnPtr,
                Some(Stmt::Expr(e)) => Arg::of(e),
                _ => Arg::Unknown,
            },
            Expr::DynamicConstant(v, _) => {
                if v.is_fnptr() {
                    Arg::FnPtr
                } else if v.is_array() {
                    Arg::Array
                } else if v.is_map() {
                    Arg::Map
                } else if v.is_string() {
                    Arg::Str
                } else {
                    Arg::Unknown
                }
            }
            _ => Arg::Unknown,
        }
    }
}

/// A call `name(...)`, `ns::name(...)` or `x.name(...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The namespace path (`graph`, `ob`), None for a plain or method call.
    pub ns: Option<String>,
    pub name: String,
    /// The arguments as written (for a method call, without the object).
    pub args: Vec<Arg>,
    /// Where each argument starts (line, column).
    pub arg_at: Vec<(usize, usize)>,
    /// The variable each argument is, when it is a plain variable.
    pub arg_vars: Vec<Option<String>>,
    /// `x.name(...)`: Rhai passes `x` as the first argument.
    pub method: bool,
    /// 1-based, as Rhai reports positions: at the function's name.
    pub line: usize,
    pub col: usize,
    /// The index in [`Walk::fns`] of the function (or closure) whose body holds the call.
    pub in_fn: Option<usize>,
}

impl Call {
    pub fn qualified(&self) -> String {
        match &self.ns {
            Some(ns) => format!("{ns}::{}", self.name),
            None if self.method => format!(".{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A function pointer: `Fn("name")` with a literal name, or a closure (`anon$...`).
#[derive(Debug, Clone, PartialEq)]
pub struct FnRef {
    pub name: String,
    pub line: usize,
    pub col: usize,
    pub in_fn: Option<usize>,
}

/// A function the script defines (closures included, as `anon$...`).
#[derive(Debug, Clone, PartialEq)]
pub struct FnDef {
    pub name: String,
    pub params: usize,
    pub private: bool,
    /// The `///` doc comment lines, each with its `///`.
    pub doc: Vec<String>,
}

impl FnDef {
    /// A closure, which nobody calls by name.
    pub fn is_closure(&self) -> bool {
        self.name.starts_with("anon$")
    }
}

/// `import "path" as alias;`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// None when the path is computed rather than a literal.
    pub path: Option<String>,
    pub alias: Option<String>,
    pub line: usize,
    pub col: usize,
    pub in_fn: Option<usize>,
}

/// Everything [`walk`] finds.
#[derive(Debug, Default)]
pub struct Walk {
    pub calls: Vec<Call>,
    pub fn_refs: Vec<FnRef>,
    pub fns: Vec<FnDef>,
    pub imports: Vec<Import>,
    /// Names bound as variables or parameters anywhere (`f(x)` may call a closure held in `f`).
    pub vars: BTreeSet<String>,
    /// Every binding of each variable name anywhere: `Some("graph::get_user")` for
    /// `let x = graph::get_user(...)`, None for any other binding (a parameter, a loop variable,
    /// another value, an assignment).
    pub bindings: BTreeMap<String, Vec<Option<String>>>,
    /// The variables each closure captures (`anon$...` → names): Rhai passes them as its first
    /// parameters, so they are the enclosing variables, not new bindings.
    pub captures: BTreeMap<String, BTreeSet<String>>,
    /// Keys of map literals and property names anywhere: `obj.f(x)` calls a closure held in a
    /// map's `f` as a method.
    pub props: BTreeSet<String>,
}

impl Walk {
    fn bind(&mut self, name: &str, from: Option<String>) {
        self.vars.insert(name.to_string());
        self.bindings.entry(name.to_string()).or_default().push(from);
    }
}

/// `ns::name` when `e` is a namespaced call.
fn called(e: &Expr) -> Option<String> {
    match e {
        Expr::FnCall(f, _) if !f.namespace.is_empty() => Some(format!("{}::{}", f.namespace, f.name)),
        _ => None,
    }
}

fn line_col(pos: Position) -> (usize, usize) {
    (pos.line().unwrap_or(0), pos.position().unwrap_or(0))
}

/// Read a compiled AST: its top-level statements and the body of each function it defines.
pub fn walk(ast: &AST) -> Walk {
    let mut w = Walk::default();
    let defs: Vec<(String, usize)> = ast.iter_fn_def().map(|f| (f.name.to_string(), f.params.len())).collect();
    for f in ast.iter_fn_def() {
        w.fns.push(FnDef {
            name: f.name.to_string(),
            params: f.params.len(),
            private: f.access == FnAccess::Private,
            doc: f.comments.iter().flat_map(|c| c.lines().map(str::to_string).collect::<Vec<_>>()).collect(),
        });
    }
    // The statements alone, then each function alone: Rhai keeps no link from a node to the
    // function it is in (and a closure's body has no end position), so each is walked by itself.
    visit(&ast.clone_statements_only(), None, &mut w);
    for (i, (name, params)) in defs.iter().enumerate() {
        // Not `clone_functions_only_filtered`: in rhai 1.27 it ignores its filter when copying into
        // an empty module.
        let mut one = ast.clone_functions_only();
        one.retain_functions(|_, _, n, p| n == name && p == *params);
        visit(&one, Some(i), &mut w);
    }
    for f in ast.iter_fn_def() {
        let captured = w.captures.get(f.name.as_str()).cloned().unwrap_or_default();
        for p in f.params.iter().filter(|p| !captured.contains(p.as_str())) {
            w.bind(p, None);
        }
    }
    w
}

fn visit(ast: &AST, in_fn: Option<usize>, w: &mut Walk) {
    ast.walk(&mut |path: &[ASTNode]| {
        match path.last() {
            Some(ASTNode::Stmt(s)) => on_stmt(s, in_fn, w),
            Some(ASTNode::Expr(e)) => on_expr(e, in_fn, w),
            _ => {}
        }
        true
    });
}

fn on_stmt(s: &Stmt, in_fn: Option<usize>, w: &mut Walk) {
    match s {
        Stmt::FnCall(f, pos) => on_call(f, false, *pos, in_fn, w),
        Stmt::Var(x, ..) => w.bind(&x.0.name, called(&x.1)),
        Stmt::Assignment(x) => {
            if let Expr::Variable(v, ..) = &x.1.lhs {
                w.bind(&v.1, None);
            }
        }
        Stmt::For(x, _) => {
            w.bind(&x.0.name, None);
            if let Some(i) = &x.1 {
                w.bind(&i.name, None);
            }
        }
        Stmt::TryCatch(x, _) => {
            if let Expr::Variable(v, ..) = &x.expr {
                w.bind(&v.1, None);
            }
        }
        Stmt::Import(x, pos) => {
            let (line, col) = line_col(*pos);
            let path = match &x.0 {
                Expr::StringConstant(s, _) => Some(s.to_string()),
                _ => None,
            };
            let alias = (!x.1.name.is_empty()).then(|| x.1.name.to_string());
            w.imports.push(Import { path, alias, line, col, in_fn });
        }
        _ => {}
    }
}

fn on_expr(e: &Expr, in_fn: Option<usize>, w: &mut Walk) {
    match e {
        Expr::FnCall(f, pos) => on_call(f, false, *pos, in_fn, w),
        Expr::MethodCall(f, pos) => on_call(f, true, *pos, in_fn, w),
        Expr::Map(m, _) => w.props.extend(m.0.iter().map(|(k, _)| k.name.to_string())),
        Expr::Property(p, _) => {
            w.props.insert(p.2.to_string());
        }
        Expr::DynamicConstant(v, pos) => {
            // A constant map (the optimizer folds `#{ act: |x| x }` into one): its keys, and the
            // closures it holds.
            if let Some(m) = v.read_lock::<rhai::Map>() {
                w.props.extend(m.keys().map(|k| k.to_string()));
                let (line, col) = line_col(*pos);
                for p in m.values().filter_map(|x| x.read_lock::<rhai::FnPtr>()) {
                    w.fn_refs.push(FnRef { name: p.fn_name().to_string(), line, col, in_fn });
                }
            }
            if let Some(p) = v.read_lock::<rhai::FnPtr>() {
                let (line, col) = line_col(*pos);
                w.fn_refs.push(FnRef { name: p.fn_name().to_string(), line, col, in_fn });
            }
        }
        _ => {}
    }
}

fn on_call(f: &FnCallExpr, method: bool, pos: Position, in_fn: Option<usize>, w: &mut Walk) {
    // Operators (`a + b`, `x == y`) are calls in the AST too; they are not the script's calls.
    if f.is_operator_call() {
        return;
    }
    let (line, col) = line_col(pos);
    // `curry(Fn("anon$..."), a, b)`: the closure captures `a` and `b`.
    if f.namespace.is_empty() && f.name == "curry" {
        if let Some(Expr::DynamicConstant(v, _)) = f.args.first() {
            if let Some(p) = v.read_lock::<rhai::FnPtr>() {
                let names = f.args.iter().skip(1).filter_map(|a| match a {
                    Expr::Variable(v, ..) => Some(v.1.to_string()),
                    _ => None,
                });
                w.captures.entry(p.fn_name().to_string()).or_default().extend(names);
            }
        }
    }
    if f.namespace.is_empty() && f.name == "Fn" {
        if let Some(Expr::StringConstant(name, _)) = f.args.first() {
            w.fn_refs.push(FnRef { name: name.to_string(), line, col, in_fn });
        }
    }
    let ns = (!f.namespace.is_empty()).then(|| f.namespace.path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("::"));
    // A method call's object is not among its arguments (it is the left of the `Dot`).
    let args: Vec<Arg> = f.args.iter().map(Arg::of).collect();
    let arg_at = f.args.iter().map(|a| line_col(a.start_position())).collect();
    let arg_vars = f
        .args
        .iter()
        .map(|a| match a {
            Expr::Variable(v, ..) if v.2.is_empty() => Some(v.1.to_string()),
            _ => None,
        })
        .collect();
    w.calls.push(Call { ns, name: f.name.to_string(), args, arg_at, arg_vars, method, line, col, in_fn });
}

#[cfg(test)]
mod tests;
