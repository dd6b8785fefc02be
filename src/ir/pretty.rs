//! JAX's jaxpr format: a Wadler-style document printed at width 80 (see
//! docs/JAXPR.md, read from JAX's `core.pp_jaxpr` and `pretty_printer.py`).
//! A group prints flat when its own content fits in the rest of the line; otherwise its breaks
//! become newlines at the group's indentation.

use super::{Atom, Jaxpr, Var};
use std::collections::{HashMap, HashSet};

const WIDTH: usize = 80;

/// A pretty-printing document.
#[derive(Clone, Debug)]
pub enum Doc {
    /// Literal text.
    Text(String),
    /// Documents one after another.
    Concat(Vec<Doc>),
    /// Flat if it fits, else broken.
    Group(Box<Doc>),
    /// Adds to the indentation of breaks inside.
    Nest(usize, Box<Doc>),
    /// A line break: its text when flat, a newline and indentation when broken.
    Break(&'static str),
}

/// Literal text.
pub fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}
/// Documents one after another.
pub fn concat(ds: Vec<Doc>) -> Doc {
    Doc::Concat(ds)
}
/// Flat if it fits, else broken.
pub fn group(d: Doc) -> Doc {
    Doc::Group(Box::new(d))
}
/// `d` with its breaks indented `n` more.
pub fn nest(n: usize, d: Doc) -> Doc {
    Doc::Nest(n, Box::new(d))
}
/// A line break that reads `flat` when not broken.
pub fn brk(flat: &'static str) -> Doc {
    Doc::Break(flat)
}

/// `docs` separated by `sep`.
pub fn join(docs: Vec<Doc>, sep: Doc) -> Doc {
    let mut out = Vec::with_capacity(docs.len() * 2);
    for (i, d) in docs.into_iter().enumerate() {
        if i > 0 {
            out.push(sep.clone());
        }
        out.push(d);
    }
    Doc::Concat(out)
}

fn flat_width(d: &Doc) -> usize {
    match d {
        Doc::Text(s) => s.chars().count(),
        Doc::Concat(ds) => ds.iter().map(flat_width).sum(),
        Doc::Group(d) | Doc::Nest(_, d) => flat_width(d),
        Doc::Break(s) => s.len(),
    }
}

/// Render at width 80.
pub fn render(d: &Doc) -> String {
    let mut out = String::new();
    let mut col = 0;
    render_into(d, 0, false, &mut out, &mut col);
    out
}

fn render_into(d: &Doc, indent: usize, flat: bool, out: &mut String, col: &mut usize) {
    match d {
        Doc::Text(s) => {
            out.push_str(s);
            *col += s.chars().count();
        }
        Doc::Concat(ds) => ds
            .iter()
            .for_each(|d| render_into(d, indent, flat, out, col)),
        Doc::Group(inner) => {
            let fits = flat || *col + flat_width(inner) <= WIDTH;
            render_into(inner, indent, fits, out, col);
        }
        Doc::Nest(n, inner) => render_into(inner, indent + n, flat, out, col),
        Doc::Break(s) => {
            if flat {
                out.push_str(s);
                *col += s.len();
            } else {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                *col = indent;
            }
        }
    }
}

/// `a`..`z`, `ba`, `bb`, ...: bijective base 26 with `a` as zero (there is no `aa`).
pub fn var_name(mut n: usize) -> String {
    let mut chars = Vec::new();
    loop {
        chars.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    chars.iter().rev().collect()
}

/// Names variables in order of first appearance; unused equation outputs print `_`.
struct Namer {
    names: HashMap<Var, String>,
    next: usize,
}

impl Namer {
    fn bind(&mut self, v: Var) -> String {
        let name = var_name(self.next);
        self.next += 1;
        self.names.insert(v, name.clone());
        name
    }
}

/// JAX's `pp_vars`: names (with `:type` for binders) joined by `sep` and a break in a group of
/// its own, all in a nested group. Such a break only becomes a newline when the line is already
/// full, so long binder lists fill the line (and may overrun it by one name), as JAX's do.
fn pp_vars(items: Vec<String>, sep: &str) -> Doc {
    let sep = concat(vec![text(sep), group(brk(" "))]);
    nest(2, group(join(items.into_iter().map(text).collect(), sep)))
}

/// The document for a jaxpr, built as JAX's `pp_jaxpr_skeleton` and `_pp_eqn` build it; nested
/// jaxprs (in call params) continue the outer naming.
pub fn jaxpr_doc(j: &Jaxpr, namer_next: &mut usize) -> Doc {
    let mut used: HashSet<Var> = HashSet::new();
    for e in &j.eqns {
        for a in &e.inputs {
            if let Atom::Var(v) = a {
                used.insert(*v);
            }
        }
    }
    for a in &j.outvars {
        if let Atom::Var(v) = a {
            used.insert(*v);
        }
    }
    let mut namer = Namer {
        names: HashMap::new(),
        next: *namer_next,
    };
    let binder = |namer: &mut Namer, v: Var| format!("{}:{}", namer.bind(v), j.aval(v));
    let consts: Vec<String> = j.constvars.iter().map(|&v| binder(&mut namer, v)).collect();
    let invars: Vec<String> = j.invars.iter().map(|&v| binder(&mut namer, v)).collect();
    let mut eqns = Vec::new();
    for e in &j.eqns {
        let lhs: Vec<String> = e
            .outputs
            .iter()
            .map(|&v| {
                if used.contains(&v) {
                    binder(&mut namer, v)
                } else {
                    format!("_:{}", j.aval(v))
                }
            })
            .collect();
        let params = e.prim.params();
        let mut eqn = vec![pp_vars(lhs, ""), text(" = "), text(e.prim.name())];
        if !params.is_empty() {
            let mut items = Vec::new();
            for (k, v) in params {
                match v {
                    Param::Text(s) => items.push(text(format!("{k}={s}"))),
                    Param::Jaxpr(inner) => {
                        *namer_next = namer.next;
                        let d = jaxpr_doc(&inner, namer_next);
                        namer.next = *namer_next;
                        items.push(concat(vec![text(format!("{k}=")), d]));
                    }
                    Param::Jaxprs(inner) => {
                        // JAX's `pp_jaxprs`: `(` then the jaxprs on lines of their own.
                        let mut docs = Vec::with_capacity(inner.len());
                        for j in &inner {
                            *namer_next = namer.next;
                            docs.push(jaxpr_doc(j, namer_next));
                            namer.next = *namer_next;
                        }
                        let open = nest(2, concat(vec![text("("), brk(""), join(docs, brk(" "))]));
                        let tuple = group(concat(vec![open, brk(""), text(")")]));
                        items.push(concat(vec![text(format!("{k}=")), tuple]));
                    }
                }
            }
            eqn.push(group(concat(vec![
                nest(2, concat(vec![text("["), brk(""), join(items, brk(" "))])),
                brk(""),
                text("]"),
            ])));
        }
        // JAX always emits the space before the operands, even when there are none (`iota`).
        let args: Vec<String> = e.inputs.iter().map(|a| atom_str(&namer, a)).collect();
        eqn.push(text(" "));
        eqn.push(pp_vars(args, ""));
        eqns.push(concat(eqn));
    }
    let outs: Vec<String> = j.outvars.iter().map(|a| atom_str(&namer, a)).collect();
    let close = if outs.len() == 1 { ",)" } else { ")" };
    *namer_next = namer.next;
    let body = concat(vec![
        text("{ lambda "),
        pp_vars(consts, ""),
        text("; "),
        pp_vars(invars, ""),
        text(". let"),
        nest(2, concat(vec![brk(" "), join(eqns, brk("; "))])),
        brk(" "),
        text("in ("),
        pp_vars(outs, ","),
        text(close),
    ]);
    // The closing ` }` is inside the group: a jaxpr stays on one line only if all of it fits.
    group(concat(vec![nest(2, body), text(" }")]))
}

fn atom_str(namer: &Namer, a: &Atom) -> String {
    match a {
        Atom::Var(v) => namer.names.get(v).cloned().unwrap_or_else(|| "_".into()),
        Atom::Lit(l) => l.value.to_string(),
    }
}

/// A primitive parameter as printed.
#[derive(Debug)]
pub enum Param {
    /// A parameter printed as text.
    Text(String),
    /// A jaxpr parameter (printed as a nested jaxpr).
    Jaxpr(std::sync::Arc<Jaxpr>),
    /// A tuple of jaxprs (`cond`'s `branches`).
    Jaxprs(Vec<std::sync::Arc<Jaxpr>>),
}

/// Render a jaxpr as JAX prints it.
pub fn pp_jaxpr(j: &Jaxpr) -> String {
    let mut next = 0;
    render(&jaxpr_doc(j, &mut next))
}

/// A tuple as Python prints it: `()`, `(0,)`, `(1, 2)`.
pub fn py_tuple<T: std::fmt::Display>(xs: &[T]) -> String {
    match xs {
        [] => "()".into(),
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            xs.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::var_name;

    #[test]
    fn names_are_bijective_base_26() {
        assert_eq!(var_name(0), "a");
        assert_eq!(var_name(25), "z");
        assert_eq!(var_name(26), "ba");
        assert_eq!(var_name(27), "bb");
        assert_eq!(var_name(52), "ca");
        assert_eq!(var_name(675), "zz");
        assert_eq!(var_name(676), "baa");
    }
}
