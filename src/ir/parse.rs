//! Reads jaxpr text back into a `Jaxpr`: the inverse of `pretty` (`parse(print(j))` is `j` up
//! to the names of variables), and the jaxprs JAX 0.4-0.10 prints, for the primitives cranax
//! has (typed literals `1.0:f32[]`, `jit[name=f jaxpr={ ... }]`, top-level
//! `let name = { ... } in` definitions, parameters cranax does not use such as
//! `out_sharding=None`). Errors give the line, the column and what was expected there.
//!
//! The grammar is the printer's: `{ lambda CONSTS ; INVARS . let EQNS in (OUTS) }`, each
//! equation `binders = prim[params] atoms`. What the text leaves out is recovered from the
//! equations: a primitive's params become its op in its family file
//! (`Prim::from_printed`, next to each family's `params()`, reading them through
//! [`PrintedParams`]); output types come from the op's `abstract_eval` (checked against the
//! binders' types, and the source of weak types, which no printer shows); an untyped literal
//! (`1.0`) takes the dtype its equation needs, and is weakly typed when the operands of that
//! dtype are. JAX's size-1 broadcasting in binary ops (`add f32[5,4] f32[1,4]`) becomes an
//! explicit `broadcast_in_dim`.

use super::{Atom, ClosedJaxpr, Eqn, Jaxpr, Literal, Var};
use crate::array::Array;
use crate::core::aval::Aval;
use crate::core::error::{Error, Result};
use crate::dtype::{DType, Scalar};
use crate::prims::Prim;
use std::collections::HashMap;
use std::sync::Arc;

/// Parse one jaxpr (optionally preceded by JAX's `let name = { ... } in` definitions). The
/// result may have constvars, whose values the text does not hold: see [`parse_closed`].
///
/// # Errors
/// Text that is not a jaxpr as JAX prints it: the message names the line, the column and what was expected.
pub fn parse(text: &str) -> Result<Jaxpr> {
    let mut p = Parser::new(text);
    p.skip_ws();
    while p.at_keyword("let") {
        p.pos_advance(3);
        p.skip_ws();
        let (name, at) = p.word();
        if name.is_empty() {
            return Err(p.error_at(at, "a name after `let`"));
        }
        p.expect('=')?;
        let j = p.jaxpr()?;
        p.expect_keyword("in")?;
        p.lets.insert(name, ClosedJaxpr::from(j));
        p.skip_ws();
    }
    let j = p.jaxpr()?;
    p.skip_ws();
    if p.peek().is_some() {
        return Err(p.error_here("the end of the text after the jaxpr"));
    }
    Ok(j)
}

/// Parse a jaxpr and give its constvars these values (checked against their types).
///
/// # Errors
/// As [`parse`].
pub fn parse_closed(text: &str, consts: Vec<Array>) -> Result<ClosedJaxpr> {
    let j = parse(text)?;
    if j.constvars.len() != consts.len() {
        return Err(Error::value_err(format!(
            "the jaxpr has {} constvars but {} values were given",
            j.constvars.len(),
            consts.len()
        )));
    }
    for (v, c) in j.constvars.iter().zip(&consts) {
        let (want, got) = (j.aval(*v), c.aval());
        if want.shape != got.shape || want.dtype != got.dtype {
            return Err(Error::type_err(format!(
                "a constvar of type {want} was given a value of type {got}"
            )));
        }
    }
    Ok(ClosedJaxpr {
        jaxpr: Arc::new(j),
        consts,
    })
}

impl From<Jaxpr> for ClosedJaxpr {
    /// A jaxpr without constvars, closed.
    fn from(j: Jaxpr) -> ClosedJaxpr {
        ClosedJaxpr {
            jaxpr: Arc::new(j),
            consts: vec![],
        }
    }
}

/// A printed parameter value, as the parser reads it before a family interprets it.
#[derive(Clone, Debug)]
pub enum PValue {
    /// A number, name, dtype, `True`/`False`/`None`, or any other bare token.
    Word(String),
    /// `(a, b)`.
    Tuple(Vec<PValue>),
    /// `[a, b]`.
    List(Vec<PValue>),
    /// `{ lambda ... }`.
    Jaxpr(ClosedJaxpr),
    /// `Name(args)`, e.g. JAX's `AbstractMesh(...)`: kept so that the text parses, never read.
    Call(String, Vec<PValue>),
}

impl std::fmt::Display for PValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let items = |xs: &[PValue]| {
            xs.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            PValue::Word(w) => f.write_str(w),
            PValue::Tuple(xs) if xs.len() == 1 => write!(f, "({},)", xs[0]),
            PValue::Tuple(xs) => write!(f, "({})", items(xs)),
            PValue::List(xs) => write!(f, "[{}]", items(xs)),
            PValue::Jaxpr(_) => f.write_str("{ lambda ... }"),
            PValue::Call(n, xs) => write!(f, "{n}({})", items(xs)),
        }
    }
}

/// A parameter type that can be read back from its printed value.
pub trait FromParam: Sized {
    /// What the value should look like, for error messages (`an integer`).
    const WHAT: &'static str;
    /// The parameter read from its printed value, if it has this type's form.
    fn from_param(v: &PValue) -> Option<Self>;
}

fn word(v: &PValue) -> Option<&str> {
    match v {
        PValue::Word(w) => Some(w),
        _ => None,
    }
}

impl FromParam for usize {
    const WHAT: &'static str = "a non-negative integer";
    fn from_param(v: &PValue) -> Option<Self> {
        word(v)?.parse().ok()
    }
}
impl FromParam for i32 {
    const WHAT: &'static str = "an integer";
    fn from_param(v: &PValue) -> Option<Self> {
        word(v)?.parse().ok()
    }
}
impl FromParam for bool {
    const WHAT: &'static str = "True or False";
    fn from_param(v: &PValue) -> Option<Self> {
        match word(v)? {
            "True" => Some(true),
            "False" => Some(false),
            _ => None,
        }
    }
}
impl FromParam for DType {
    const WHAT: &'static str = "a dtype (float32, float64, int32, uint32, bool)";
    fn from_param(v: &PValue) -> Option<Self> {
        dtype_named(word(v)?)
    }
}
impl FromParam for String {
    const WHAT: &'static str = "a name";
    /// A word, or a name such as `transpose(jvp(f))`.
    fn from_param(v: &PValue) -> Option<Self> {
        match v {
            PValue::Word(_) | PValue::Call(..) => Some(v.to_string()),
            _ => None,
        }
    }
}
impl<T: FromParam> FromParam for Vec<T> {
    const WHAT: &'static str = "a tuple or list";
    fn from_param(v: &PValue) -> Option<Self> {
        match v {
            PValue::Tuple(xs) | PValue::List(xs) => xs.iter().map(T::from_param).collect(),
            _ => None,
        }
    }
}
impl<A: FromParam, B: FromParam> FromParam for (A, B) {
    const WHAT: &'static str = "a pair";
    fn from_param(v: &PValue) -> Option<Self> {
        match v {
            PValue::Tuple(xs) | PValue::List(xs) if xs.len() == 2 => {
                Some((A::from_param(&xs[0])?, B::from_param(&xs[1])?))
            }
            _ => None,
        }
    }
}
impl<A: FromParam, B: FromParam, C: FromParam> FromParam for (A, B, C) {
    const WHAT: &'static str = "a triple";
    fn from_param(v: &PValue) -> Option<Self> {
        match v {
            PValue::Tuple(xs) | PValue::List(xs) if xs.len() == 3 => Some((
                A::from_param(&xs[0])?,
                B::from_param(&xs[1])?,
                C::from_param(&xs[2])?,
            )),
            _ => None,
        }
    }
}
impl<T: FromParam> FromParam for Option<T> {
    const WHAT: &'static str = "None or a value";
    fn from_param(v: &PValue) -> Option<Self> {
        match word(v) {
            Some("None") => Some(None),
            _ => T::from_param(v).map(Some),
        }
    }
}

/// `float32` or `f32` (and the other names of cranax's dtypes).
pub fn dtype_named(name: &str) -> Option<DType> {
    DType::from_name(name)
}

/// The printed parameters of one equation, as the families read them back into their ops
/// (`Prim::from_printed`). Parameters nobody reads (JAX's `out_sharding=None`, `unroll=1`
/// where cranax has no such field) are ignored.
#[derive(Debug)]
pub struct PrintedParams<'a> {
    prim: &'a str,
    params: &'a [(String, PValue)],
    lets: &'a HashMap<String, ClosedJaxpr>,
    out_types: &'a [Aval],
    num_operands: usize,
}

impl<'a> PrintedParams<'a> {
    fn find(&self, key: &str) -> Option<&'a PValue> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn missing(&self, key: &str) -> Error {
        Error::value_err(format!("{}: missing parameter {key}", self.prim))
    }

    fn bad<T: FromParam>(&self, key: &str, v: &PValue) -> Error {
        Error::value_err(format!(
            "{}: parameter {key}={v} should be {}",
            self.prim,
            T::WHAT
        ))
    }

    /// A required parameter.
    ///
    /// # Errors
    /// The parameter is missing or not of type `T`.
    pub fn get<T: FromParam>(&self, key: &str) -> Result<T> {
        let v = self.find(key).ok_or_else(|| self.missing(key))?;
        T::from_param(v).ok_or_else(|| self.bad::<T>(key, v))
    }

    /// A parameter that may be left out (JAX omits some), with its default.
    ///
    /// # Errors
    /// The parameter is present but not of type `T`.
    pub fn get_or<T: FromParam>(&self, key: &str, default: T) -> Result<T> {
        match self.find(key) {
            None => Ok(default),
            Some(v) => T::from_param(v).ok_or_else(|| self.bad::<T>(key, v)),
        }
    }

    /// The primitive's printed name.
    pub fn prim(&self) -> &'a str {
        self.prim
    }

    /// A parameter's printed value as parsed (for families that read structured values).
    pub fn raw(&self, key: &str) -> Option<&'a PValue> {
        self.find(key)
    }

    /// Whether the parameter is printed at all.
    pub fn has(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// A jaxpr parameter: `{ lambda ... }`, or the name of a top-level `let`.
    ///
    /// # Errors
    /// The parameter is missing, not a jaxpr, or names no `let`.
    pub fn jaxpr(&self, key: &str) -> Result<ClosedJaxpr> {
        let v = self.find(key).ok_or_else(|| self.missing(key))?;
        self.as_jaxpr(key, v)
    }

    fn as_jaxpr(&self, key: &str, v: &PValue) -> Result<ClosedJaxpr> {
        match v {
            PValue::Jaxpr(j) => Ok(j.clone()),
            PValue::Word(w) if self.lets.contains_key(w) => Ok(self.lets[w].clone()),
            _ => Err(Error::value_err(format!(
                "{}: parameter {key}={v} should be a jaxpr {{ lambda ... }}",
                self.prim
            ))),
        }
    }

    /// A tuple of jaxprs (`cond`'s `branches`).
    ///
    /// # Errors
    /// The parameter is missing or not a tuple of jaxprs.
    pub fn jaxprs(&self, key: &str) -> Result<Vec<ClosedJaxpr>> {
        match self.find(key).ok_or_else(|| self.missing(key))? {
            PValue::Tuple(xs) | PValue::List(xs) => {
                xs.iter().map(|x| self.as_jaxpr(key, x)).collect()
            }
            v => Err(Error::value_err(format!(
                "{}: parameter {key}={v} should be a tuple of jaxprs",
                self.prim
            ))),
        }
    }

    /// The types the equation's binders declare (shape and dtype; weak types are not printed),
    /// for parameters JAX leaves out because the output type implies them.
    pub fn out_types(&self) -> &[Aval] {
        self.out_types
    }

    /// How many operands the equation has.
    pub fn num_operands(&self) -> usize {
        self.num_operands
    }
}

/// Where a piece of text starts: 1-based line and column.
#[derive(Clone, Copy, Debug)]
struct Pos {
    line: usize,
    col: usize,
}

/// A literal as written: its text, position, and its type when written (`1.0:f32[]`).
struct RawLit {
    text: String,
    dtype: Option<DType>,
    at: Pos,
}

enum RawAtom {
    Var(Var),
    Lit(RawLit),
}

struct Parser<'t> {
    chars: Vec<char>,
    i: usize,
    line: usize,
    col: usize,
    lets: HashMap<String, ClosedJaxpr>,
    _text: &'t str,
}

/// Characters that end a bare word.
fn ends_word(c: char) -> bool {
    c.is_whitespace() || "[](){},;:=".contains(c)
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Parser<'t> {
        Parser {
            chars: text.chars().collect(),
            i: 0,
            line: 1,
            col: 1,
            lets: HashMap::new(),
            _text: text,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn pos_advance(&mut self, n: usize) {
        for _ in 0..n {
            self.bump();
        }
    }

    /// Skip whitespace and `#` comments.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '#' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the text".into(),
            Some(_) => {
                let rest: String = self.chars[self.i..].iter().take(20).collect();
                let tok: String = match rest.chars().next() {
                    Some(c) if ends_word(c) => c.to_string(),
                    _ => rest.chars().take_while(|&c| !ends_word(c)).collect(),
                };
                format!("`{tok}`")
            }
        }
    }

    fn error_at(&self, at: Pos, expected: &str) -> Error {
        Error::value_err(format!(
            "jaxpr parse error at line {}, column {}: expected {expected}",
            at.line, at.col
        ))
    }

    fn error_here(&self, expected: &str) -> Error {
        let at = self.pos();
        Error::value_err(format!(
            "jaxpr parse error at line {}, column {}: expected {expected}, found {}",
            at.line,
            at.col,
            self.found()
        ))
    }

    /// An error about what was read at `at` (not a syntax error).
    fn error_about(at: Pos, msg: impl std::fmt::Display) -> Error {
        Error::value_err(format!(
            "jaxpr error at line {}, column {}: {msg}",
            at.line, at.col
        ))
    }

    /// After whitespace, is the next char `c`? If so, consume it.
    fn closes(&mut self, c: char) -> bool {
        self.skip_ws();
        let found = self.peek() == Some(c);
        if found {
            self.bump();
        }
        found
    }

    fn expect(&mut self, c: char) -> Result<()> {
        self.skip_ws();
        if self.peek() == Some(c) {
            self.bump();
            Ok(())
        } else {
            Err(self.error_here(&format!("`{c}`")))
        }
    }

    fn at_keyword(&self, kw: &str) -> bool {
        let n = kw.chars().count();
        self.chars[self.i..].iter().take(n).copied().eq(kw.chars())
            && self.peek_at(n).is_none_or(ends_word)
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<()> {
        self.skip_ws();
        if self.at_keyword(kw) {
            self.pos_advance(kw.chars().count());
            Ok(())
        } else {
            Err(self.error_here(&format!("`{kw}`")))
        }
    }

    /// A bare word (possibly empty) and where it starts.
    fn word(&mut self) -> (String, Pos) {
        self.skip_ws();
        let at = self.pos();
        let mut s = String::new();
        while let Some(c) = self.peek().filter(|&c| !ends_word(c)) {
            s.push(c);
            self.bump();
        }
        (s, at)
    }

    /// The length of the bare word at the cursor (after whitespace is skipped).
    fn word_len(&self) -> usize {
        self.chars[self.i..]
            .iter()
            .take_while(|&&c| !ends_word(c))
            .count()
    }

    /// `f32[3,4]`.
    fn aval(&mut self) -> Result<Aval> {
        let (name, at) = self.word();
        let dtype = dtype_named(&name).ok_or_else(|| {
            if name.is_empty() {
                self.error_here("a type such as f32[3]")
            } else {
                Self::error_about(
                    at,
                    format!(
                        "unknown or unsupported dtype `{name}` (cranax has f32, f64, i32, u32, bool)"
                    ),
                )
            }
        })?;
        if self.peek() != Some('[') {
            return Err(self.error_here("`[` after the dtype"));
        }
        self.bump();
        let mut shape = Vec::new();
        loop {
            if self.closes(']') {
                break;
            }
            let (d, at) = self.word();
            shape.push(
                d.parse::<usize>()
                    .map_err(|_| self.error_at(at, "a dimension size (an integer)"))?,
            );
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(']') => {}
                _ => return Err(self.error_here("`,` or `]` in a shape")),
            }
        }
        Ok(Aval::new(shape, dtype))
    }

    /// Binders `a:f32[] b:i32[3]` up to `stop` (`;`, `.` or `=`).
    fn binders(&mut self, stop: char) -> Result<Vec<(String, Aval, Pos)>> {
        let mut out = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(stop) {
                return Ok(out);
            }
            let (name, at) = self.word();
            if name.is_empty() || self.peek() != Some(':') {
                return Err(self.error_at(
                    at,
                    &format!("a binder `name:type` or `{stop}`, found `{name}`"),
                ));
            }
            self.bump();
            out.push((name, self.aval()?, at));
        }
    }

    /// `{ lambda ; ... }`, its variables in a scope of their own.
    fn jaxpr(&mut self) -> Result<Jaxpr> {
        self.expect('{')?;
        self.expect_keyword("lambda")?;
        let mut b = Builder::default();
        for (name, aval, _) in self.binders(';')? {
            let v = b.bind(&name, aval);
            b.j.constvars.push(v);
        }
        self.expect(';')?;
        for (name, aval, _) in self.binders('.')? {
            let v = b.bind(&name, aval);
            b.j.invars.push(v);
        }
        self.expect('.')?;
        self.expect_keyword("let")?;
        loop {
            self.skip_ws();
            if self.peek() == Some(';') {
                self.bump();
                continue;
            }
            if self.at_keyword("in") && self.after_word_is(2, '(') {
                break;
            }
            if self.peek().is_none() {
                return Err(self.error_here("an equation or `in`"));
            }
            self.eqn(&mut b)?;
        }
        self.expect_keyword("in")?;
        self.expect('(')?;
        let mut outs = Vec::new();
        loop {
            self.skip_ws();
            if self.peek() == Some(')') {
                self.bump();
                break;
            }
            outs.push(self.atom(&b)?);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(')') => {}
                _ => return Err(self.error_here("`,` or `)` in the outputs")),
            }
        }
        b.j.outvars = outs
            .into_iter()
            .map(|a| match a {
                RawAtom::Var(v) => Ok(Atom::Var(v)),
                RawAtom::Lit(l) => {
                    let dtype = l.dtype.unwrap_or(default_dtype(&l.text));
                    literal(&l, dtype, false).map(Atom::Lit)
                }
            })
            .collect::<Result<_>>()?;
        self.expect('}')?;
        Ok(b.j)
    }

    /// After a word of `n` characters at the cursor and whitespace, is the next char `c`?
    fn after_word_is(&self, n: usize, c: char) -> bool {
        let mut k = self.i + n;
        while self.chars.get(k).is_some_and(|c| c.is_whitespace()) {
            k += 1;
        }
        self.chars.get(k) == Some(&c)
    }

    /// Is the cursor at a binder `name:` (the start of the next equation)?
    fn at_binder(&self) -> bool {
        let n = self.word_len();
        n > 0
            && self.peek_at(n) == Some(':')
            && !looks_like_literal(&self.chars[self.i..self.i + n])
    }

    /// `a:f32[] b:f32[] = prim[params] x y`.
    fn eqn(&mut self, b: &mut Builder) -> Result<()> {
        let mut lhs = Vec::new();
        loop {
            self.skip_ws();
            if !self.at_binder() {
                break;
            }
            let (name, at) = self.word();
            self.bump(); // ':'
            lhs.push((name, self.aval()?, at));
        }
        if !lhs.is_empty() {
            self.expect('=')?;
        }
        let (name, at) = self.word();
        if name.is_empty() {
            return Err(self.error_here("a primitive name"));
        }
        let mut params = Vec::new();
        if self.peek() == Some('[') {
            self.bump();
            loop {
                if self.closes(']') {
                    break;
                }
                let (key, kat) = self.word();
                if key.is_empty() {
                    return Err(self.error_here("a parameter `name=value` or `]`"));
                }
                if self.peek() != Some('=') {
                    return Err(self.error_at(kat, &format!("`=` after parameter name `{key}`")));
                }
                self.bump();
                let v = self.value()?;
                params.push((key, v));
            }
        }
        let mut args = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(';') | Some('}') | Some(')') => break,
                _ => {}
            }
            if self.at_binder() || (self.at_keyword("in") && self.after_word_is(2, '(')) {
                break;
            }
            args.push(self.atom(b)?);
        }
        b.add_eqn(&name, at, &params, &self.lets, lhs, args)
    }

    /// An operand: a variable in scope or a literal (`1.0`, `-inf:f32[]`, `True`).
    fn atom(&mut self, b: &Builder) -> Result<RawAtom> {
        let (w, at) = self.word();
        if w.is_empty() {
            return Err(self.error_here("a variable or a literal"));
        }
        if let Some(&v) = b.scope.get(&w) {
            if self.peek() != Some(':') {
                return Ok(RawAtom::Var(v));
            }
        }
        let chars: Vec<char> = w.chars().collect();
        if !looks_like_literal(&chars) {
            return Err(Self::error_about(at, format!("unknown variable `{w}`")));
        }
        let mut dtype = None;
        if self.peek() == Some(':') {
            self.bump();
            let a = self.aval()?;
            if !a.shape.is_empty() {
                return Err(Self::error_about(at, "a literal must be a scalar"));
            }
            dtype = Some(a.dtype);
        }
        Ok(RawAtom::Lit(RawLit { text: w, dtype, at }))
    }

    /// A parameter value.
    fn value(&mut self) -> Result<PValue> {
        self.skip_ws();
        match self.peek() {
            Some('{') => Ok(PValue::Jaxpr(ClosedJaxpr::from(self.jaxpr()?))),
            Some('(') => self.bump_then(|p| p.items(')')).map(PValue::Tuple),
            Some('[') => self.bump_then(|p| p.items(']')).map(PValue::List),
            _ => {
                let (w, _) = self.word();
                if w.is_empty() {
                    return Err(self.error_here("a parameter value"));
                }
                if self.peek() == Some('(') {
                    let args = self.bump_then(|p| p.items(')'))?;
                    return Ok(PValue::Call(w, args));
                }
                Ok(PValue::Word(w))
            }
        }
    }

    fn bump_then<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        self.bump();
        f(self)
    }

    /// Comma-separated values up to `close` (also keyword arguments `k=v`, kept as values).
    fn items(&mut self, close: char) -> Result<Vec<PValue>> {
        let mut out = Vec::new();
        loop {
            if self.closes(close) {
                return Ok(out);
            }
            let mut v = self.value()?;
            self.skip_ws();
            if self.peek() == Some('=') {
                self.bump();
                v = self.value()?;
            }
            out.push(v);
            self.skip_ws();
            match self.peek() {
                Some(',') => {
                    self.bump();
                }
                Some(c) if c == close => {}
                // `pp_jaxprs` separates jaxprs by line breaks only.
                Some('{') => {}
                _ => return Err(self.error_here(&format!("`,` or `{close}`"))),
            }
        }
    }
}

/// Could this word be a literal (a number, `inf`, `nan`, `True`, `False`)?
fn looks_like_literal(w: &[char]) -> bool {
    let s: String = w.iter().collect();
    let body = s.strip_prefix('-').unwrap_or(&s);
    matches!(body, "inf" | "nan" | "True" | "False")
        || body.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// The dtype of an untyped literal with no context: f32 for floats, i32 for integers.
fn default_dtype(text: &str) -> DType {
    candidate_dtypes(text)[0]
}

/// The dtypes an untyped literal may have, by its spelling.
fn candidate_dtypes(text: &str) -> Vec<DType> {
    match text {
        "True" | "False" => vec![DType::Bool],
        _ if text.contains(['.', 'e', 'n']) => vec![DType::F32, DType::F64],
        _ => vec![DType::I32, DType::U32],
    }
}

fn literal(l: &RawLit, dtype: DType, weak_type: bool) -> Result<Literal> {
    let bad = || Parser::error_about(l.at, format!("`{}` is not a {dtype} literal", l.text));
    let value = match dtype {
        DType::Bool => match l.text.as_str() {
            "True" => Scalar::Bool(true),
            "False" => Scalar::Bool(false),
            _ => return Err(bad()),
        },
        _ => Scalar::parse(&l.text, dtype).ok_or_else(bad)?,
    };
    Ok(Literal::new(value, weak_type))
}

/// A jaxpr under construction, with the names in its scope.
#[derive(Default)]
struct Builder {
    j: Jaxpr,
    scope: HashMap<String, Var>,
}

impl Builder {
    fn new_var(&mut self, aval: Aval) -> Var {
        self.j.avals.push(aval);
        Var(self.j.avals.len() as u32 - 1)
    }

    fn bind(&mut self, name: &str, aval: Aval) -> Var {
        let v = self.new_var(aval);
        if name != "_" {
            self.scope.insert(name.to_string(), v);
        }
        v
    }

    /// Build the op from its name and params, type the literals and outputs, and add it.
    fn add_eqn(
        &mut self,
        name: &str,
        at: Pos,
        params: &[(String, PValue)],
        lets: &HashMap<String, ClosedJaxpr>,
        lhs: Vec<(String, Aval, Pos)>,
        args: Vec<RawAtom>,
    ) -> Result<()> {
        let declared: Vec<Aval> = lhs.iter().map(|(_, a, _)| a.clone()).collect();
        let reader = PrintedParams {
            prim: name,
            params,
            lets,
            out_types: &declared,
            num_operands: args.len(),
        };
        let prim = Prim::from_printed(name, &reader)
            .map_err(|e| Parser::error_about(at, e))?
            .ok_or_else(|| {
                Parser::error_about(
                    at,
                    format!("unknown primitive `{name}` (expected one of cranax's primitives)"),
                )
            })?;
        let args = self.stretch_size_one_dims(&prim, args);
        let (inputs, outs) = self.type_operands(&prim, at, &args, &declared)?;
        if outs.len() != declared.len() {
            return Err(Parser::error_about(
                at,
                format!(
                    "{name} has {} outputs but the equation binds {}",
                    outs.len(),
                    declared.len()
                ),
            ));
        }
        for ((bname, want, bat), got) in lhs.iter().zip(&outs) {
            if want.shape != got.shape || want.dtype != got.dtype {
                return Err(Parser::error_about(
                    *bat,
                    format!("{bname} is declared {want} but {name} gives {got}"),
                ));
            }
        }
        let outputs = lhs
            .iter()
            .zip(outs)
            .map(|((bname, _, _), aval)| self.bind(bname, aval))
            .collect();
        self.j.eqns.push(Eqn {
            prim,
            inputs: inputs.into(),
            outputs,
        });
        Ok(())
    }

    /// JAX's lax binary ops (0.4.3x+) also broadcast size-1 dimensions of operands of one
    /// rank (`add f32[5,4] f32[1,4]`); cranax's take equal shapes or scalars, so such an
    /// operand is stretched by an explicit `broadcast_in_dim` first (the same values).
    fn stretch_size_one_dims(&mut self, prim: &Prim, args: Vec<RawAtom>) -> Vec<RawAtom> {
        if !matches!(prim, Prim::Binary(_)) {
            return args;
        }
        let shapes: Vec<Vec<usize>> = args
            .iter()
            .filter_map(|a| match a {
                RawAtom::Var(v) => Some(self.j.aval(*v).shape.clone()),
                RawAtom::Lit(_) => None,
            })
            .filter(|s| !s.is_empty())
            .collect();
        let Some(rank) = shapes.first().map(Vec::len) else {
            return args;
        };
        if shapes.iter().any(|s| s.len() != rank) {
            return args;
        }
        let target: Vec<usize> = (0..rank)
            .map(|d| shapes.iter().map(|s| s[d]).max().unwrap_or(1))
            .collect();
        let fits = |s: &Vec<usize>| s.iter().zip(&target).all(|(&n, &t)| n == t || n == 1);
        if !shapes.iter().all(fits) {
            return args;
        }
        args.into_iter()
            .map(|a| match a {
                RawAtom::Var(v)
                    if !self.j.aval(v).shape.is_empty() && self.j.aval(v).shape != target =>
                {
                    let x = self.j.aval(v).clone();
                    let op = crate::prims::ShapeOp::BroadcastInDim {
                        shape: target.clone(),
                        broadcast_dimensions: (0..rank).collect(),
                    };
                    let out = self.new_var(Aval::new(target.clone(), x.dtype).weak(x.weak_type));
                    self.j.eqns.push(Eqn {
                        prim: Prim::Shape(op),
                        inputs: smallvec::smallvec![Atom::Var(v)],
                        outputs: smallvec::smallvec![out],
                    });
                    RawAtom::Var(out)
                }
                a => a,
            })
            .collect()
    }

    /// The operands with each untyped literal given the dtype the equation needs (the dtype
    /// of a variable operand of the same kind first, then the others its spelling allows),
    /// and the output types for them.
    fn type_operands(
        &self,
        prim: &Prim,
        at: Pos,
        args: &[RawAtom],
        declared: &[Aval],
    ) -> Result<(Vec<Atom>, Vec<Aval>)> {
        let var_avals: Vec<&Aval> = args
            .iter()
            .filter_map(|a| match a {
                RawAtom::Var(v) => Some(self.j.aval(*v)),
                RawAtom::Lit(_) => None,
            })
            .collect();
        // Per literal operand, its candidate dtypes in order of preference.
        let mut choices: Vec<Vec<DType>> = Vec::new();
        for a in args {
            if let RawAtom::Lit(l) = a {
                let mut c = match l.dtype {
                    Some(d) => vec![d],
                    None => candidate_dtypes(&l.text),
                };
                if let Some(pref) = var_avals.iter().map(|a| a.dtype).find(|d| c.contains(d)) {
                    c.retain(|&d| d != pref);
                    c.insert(0, pref);
                }
                choices.push(c);
            }
        }
        let combos: usize = choices.iter().map(|c| c.len()).product();
        let mut first_err = None;
        for k in 0..combos.min(64) {
            let mut rest = k;
            let mut pick = choices.iter().map(|c| {
                let d = c[rest % c.len()];
                rest /= c.len();
                d
            });
            let mut inputs = Vec::with_capacity(args.len());
            for a in args {
                inputs.push(match a {
                    RawAtom::Var(v) => Atom::Var(*v),
                    RawAtom::Lit(l) => {
                        let d = pick.next().expect("one choice per literal");
                        let weak = var_avals.iter().any(|a| a.dtype == d)
                            && var_avals
                                .iter()
                                .filter(|a| a.dtype == d)
                                .all(|a| a.weak_type);
                        Atom::Lit(literal(l, d, weak)?)
                    }
                });
            }
            let avals: Vec<Aval> = inputs.iter().map(|a| self.j.atom_aval(a)).collect();
            let refs: Vec<&Aval> = avals.iter().collect();
            match prim.abstract_eval(&refs) {
                Ok(outs) => {
                    let fits = outs.len() == declared.len()
                        && outs
                            .iter()
                            .zip(declared)
                            .all(|(o, d)| o.shape == d.shape && o.dtype == d.dtype);
                    if fits || combos == 1 {
                        return Ok((inputs, outs));
                    }
                    first_err.get_or_insert_with(|| {
                        let got: Vec<String> = outs.iter().map(|a| a.to_string()).collect();
                        Error::type_err(format!("{} gives ({})", prim.name(), got.join(", ")))
                    });
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        Err(Parser::error_about(
            at,
            first_err.expect("at least one combination was tried"),
        ))
    }
}
