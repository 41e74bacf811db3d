//! The Graph v1.0 CSDL subset (`fixtures/graph-v1.0-subset.xml`), read with roxmltree, and a
//! checker that holds a JSON value to a type: every property name declared (exact casing) on
//! the type or a base type (an open complex type may add dynamic ones), every value of the declared Edm, complex or enum type, `null` only
//! where the property is nullable.

use std::collections::HashMap;

use serde_json::Value;

pub struct Prop {
    pub ty: String,
    pub nullable: bool,
}

#[derive(Default)]
pub struct TypeDef {
    pub base: Option<String>,
    pub props: HashMap<String, Prop>,
    pub navs: Vec<String>,
    pub members: Vec<String>,
    pub is_enum: bool,
    /// An open complex type (`OpenType="true"`, e.g. `identity`, whose users carry `email`) may
    /// carry dynamic properties as well. Open entity types (user, group) are not counted: their
    /// dynamic properties are directory extensions, which the simulator never returns.
    pub open: bool,
}

pub struct Model {
    pub types: HashMap<String, TypeDef>,
    /// Bound actions: (name, binding type) → parameters after the binding one.
    pub actions: HashMap<(String, String), Vec<(String, Prop)>>,
}

/// `graph.user`, `microsoft.graph.user`, `#microsoft.graph.user` → `user`.
pub fn short(ty: &str) -> &str {
    let t = ty.trim_start_matches('#');
    t.strip_prefix("microsoft.graph.").or_else(|| t.strip_prefix("graph.")).unwrap_or(t)
}

impl Model {
    pub fn load() -> Model {
        let text = include_str!("fixtures/graph-v1.0-subset.xml");
        let doc = roxmltree::Document::parse(text).expect("the CSDL fixture parses");
        let mut types = HashMap::new();
        let mut actions = HashMap::new();
        let prop = |n: &roxmltree::Node| Prop {
            ty: n.attribute("Type").unwrap_or_default().to_string(),
            nullable: n.attribute("Nullable") != Some("false"),
        };
        for n in doc.descendants().filter(|n| n.is_element()) {
            let name = n.attribute("Name").unwrap_or_default().to_string();
            match n.tag_name().name() {
                "EntityType" | "ComplexType" | "EnumType" => {
                    let mut t = TypeDef {
                        base: n.attribute("BaseType").map(|b| short(b).to_string()),
                        is_enum: n.tag_name().name() == "EnumType",
                        open: n.tag_name().name() == "ComplexType" && n.attribute("OpenType") == Some("true"),
                        ..TypeDef::default()
                    };
                    for c in n.children().filter(|c| c.is_element()) {
                        let cname = c.attribute("Name").unwrap_or_default().to_string();
                        match c.tag_name().name() {
                            "Property" => {
                                t.props.insert(cname, prop(&c));
                            }
                            "NavigationProperty" => t.navs.push(cname),
                            "Member" => t.members.push(cname),
                            _ => {}
                        }
                    }
                    types.insert(name, t);
                }
                "Action" => {
                    let params: Vec<_> = n.children().filter(|c| c.has_tag_name("Parameter")).collect();
                    let Some((binding, rest)) = params.split_first() else { continue };
                    let bound_to = short(binding.attribute("Type").unwrap_or_default()).to_string();
                    let ps = rest.iter().map(|p| (p.attribute("Name").unwrap_or_default().to_string(), prop(p))).collect();
                    actions.insert((name, bound_to), ps);
                }
                _ => {}
            }
        }
        Model { types, actions }
    }

    /// The type and its base types, most derived first.
    pub fn chain(&self, ty: &str) -> Vec<&TypeDef> {
        let mut out = Vec::new();
        let mut cur = Some(short(ty).to_string());
        while let Some(t) = cur {
            let Some(def) = self.types.get(&t) else { panic!("type {t} is not in the CSDL fixture") };
            out.push(def);
            cur = def.base.clone();
        }
        out
    }

    pub fn prop(&self, ty: &str, name: &str) -> Option<&Prop> {
        self.chain(ty).into_iter().find_map(|d| d.props.get(name))
    }

    pub fn is_nav(&self, ty: &str, name: &str) -> bool {
        self.chain(ty).iter().any(|d| d.navs.iter().any(|n| n == name))
    }

    /// Does `derived` derive from (or equal) `base`?
    pub fn derives(&self, derived: &str, base: &str) -> bool {
        let base = short(base);
        self.types.contains_key(short(derived))
            && (short(derived) == base || self.chain(derived).iter().any(|d| d.base.as_deref() == Some(base)))
    }

    /// Every way `value` breaks the `ty` contract, each with its JSON path.
    pub fn check(&self, ty: &str, value: &Value, path: &str) -> Vec<String> {
        let mut errs = Vec::new();
        self.check_into(ty, true, value, path, &mut errs);
        errs
    }

    fn check_into(&self, ty: &str, nullable: bool, v: &Value, path: &str, errs: &mut Vec<String>) {
        if let Some(inner) = ty.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')) {
            match v {
                Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| self.check_into(inner, false, x, &format!("{path}[{i}]"), errs)),
                _ => errs.push(format!("{path}: {v} is not a collection of {inner}")),
            }
            return;
        }
        if v.is_null() {
            if !nullable {
                errs.push(format!("{path}: null, but {ty} is not nullable"));
            }
            return;
        }
        let ok = match ty {
            "Edm.String" | "Edm.Binary" => v.is_string(),
            "Edm.Boolean" => v.is_boolean(),
            "Edm.Int32" | "Edm.Int64" | "Edm.Int16" | "Edm.Byte" => v.is_i64() || v.is_u64(),
            "Edm.Double" | "Edm.Single" | "Edm.Decimal" => v.is_number(),
            "Edm.Guid" => v.as_str().is_some_and(|s| uuid::Uuid::parse_str(s).is_ok()),
            "Edm.DateTimeOffset" => v.as_str().is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
            "Edm.Date" => v.as_str().is_some_and(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()),
            "Edm.Duration" | "Edm.TimeOfDay" => v.is_string(),
            other if other.starts_with("Edm.") => {
                errs.push(format!("{path}: the checker does not know {other}"));
                true
            }
            other => {
                let def = self.types.get(short(other)).unwrap_or_else(|| panic!("{path}: type {other} is not in the CSDL fixture"));
                if def.is_enum {
                    // A flags enum is a comma-separated list of members.
                    v.as_str().is_some_and(|s| s.split(',').all(|m| def.members.iter().any(|x| x == m.trim())))
                } else {
                    self.check_object(other, v, path, errs);
                    true
                }
            }
        };
        if !ok {
            errs.push(format!("{path}: {v} is not a valid {ty}"));
        }
    }

    fn check_object(&self, ty: &str, v: &Value, path: &str, errs: &mut Vec<String>) {
        let Value::Object(m) = v else {
            errs.push(format!("{path}: {v} is not an object of {ty}"));
            return;
        };
        // A derived type named by @odata.type is checked as that type.
        let ty = match m.get("@odata.type").and_then(Value::as_str) {
            Some(t) if self.derives(t, ty) => short(t).to_string(),
            Some(t) => {
                errs.push(format!("{path}: @odata.type {t} is not {ty} or derived from it"));
                return;
            }
            None => short(ty).to_string(),
        };
        for (k, val) in m {
            if k.starts_with("@odata.") {
                continue;
            }
            match self.prop(&ty, k) {
                Some(p) => self.check_into(&p.ty, p.nullable, val, &format!("{path}.{k}"), errs),
                None if self.is_nav(&ty, k) => {}
                None if self.chain(&ty).iter().any(|d| d.open) => {}
                None => errs.push(format!("{path}.{k}: no property '{k}' on {ty} or its base types")),
            }
        }
    }
}
