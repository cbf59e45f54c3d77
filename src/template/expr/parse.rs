//! The ARM template expression grammar.
//!
//! ```text
//! expression := '[' expr ']'            ("[[" at the start is an escaped literal '[')
//! expr       := primary ( '.' ident | '[' expr ']' )*
//! primary    := string | number | call | 'true' | 'false' | 'null'
//! call       := ident ( '.' ident )? '(' ( expr ( ',' expr )* )? ')'
//! string     := "'" ( [^'] | "''" )* "'"
//! ```
//! Offsets in [`ExprError`] are byte offsets into the expression string.

use std::borrow::Cow;
use std::fmt;

/// Where a string literal is written in its template string, quotes included: byte
/// offsets from the string's first character (the `[`). Two expressions that differ
/// only in where their literals sit are the same expression.
#[derive(Debug, Clone, Copy, Default)]
pub struct At {
    pub start: u32,
    pub end: u32,
}

impl PartialEq for At {
    fn eq(&self, _: &At) -> bool {
        true
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A string literal and where it is written.
    Str(String, At),
    Int(i64),
    Bool(bool),
    Null,
    /// A function call; `name` is `namespace.member` for user-defined functions.
    Call {
        name: String,
        args: Vec<Expr>,
    },
    /// `expr.name`
    Property(Box<Expr>, String),
    /// `expr[index]`
    Index(Box<Expr>, Box<Expr>),
}

impl fmt::Display for Expr {
    /// Writes the expression back in template syntax (without the outer brackets).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Str(s, _) => write!(f, "'{}'", s.replace('\'', "''")),
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Bool(b) => write!(f, "{b}"),
            Expr::Null => f.write_str("null()"),
            Expr::Call { name, args } => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Property(target, name) => write!(f, "{target}.{name}"),
            Expr::Index(target, index) => write!(f, "{target}[{index}]"),
        }
    }
}

/// Why an expression could not be parsed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at character {}", self.message, self.offset + 1)
    }
}

/// How a template string is to be read.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// A plain string (including `[[` escapes, already unescaped).
    Literal(String),
    /// An expression.
    Expression(Expr),
}

/// Is the string an expression: `[` … `]` and not the `[[` escape?
pub fn is_expression(s: &str) -> bool {
    s.len() >= 2 && s.starts_with('[') && s.ends_with(']') && !s.starts_with("[[")
}

/// Reads a JSON string value as ARM does.
pub fn parse_template_string(s: &str) -> Result<Template, ExprError> {
    if let Some(rest) = s.strip_prefix("[[") {
        return Ok(Template::Literal(format!("[{rest}")));
    }
    if !is_expression(s) {
        return Ok(Template::Literal(s.to_owned()));
    }
    parse_inner(&s[1..s.len() - 1], &mut Build).map(Template::Expression)
}

/// Checks that an expression string parses, without building it (no allocation on
/// success). Strings that are not expressions are fine.
pub fn check_expression(s: &str) -> Result<(), ExprError> {
    if !is_expression(s) {
        return Ok(());
    }
    let inner = &s[1..s.len() - 1];
    // Every expression in every template is checked (EXPR001): a flat scan accepts
    // most; the parser decides, and says what is wrong, where the scan is unsure.
    if quick_valid(inner.as_bytes()) {
        return Ok(());
    }
    parse_inner(inner, &mut Check)
}

/// Byte classes of the expression grammar, shared by the parser and [`quick_valid`] so
/// that the two agree on what a name and a space are.
const WS: u8 = 1;
const ID_START: u8 = 2;
const ID_PART: u8 = 4;
const DIGIT: u8 = 8;
static CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut class = 0;
        if b.is_ascii_whitespace() {
            class |= WS;
        }
        if b.is_ascii_alphabetic() || b == b'_' || b == b'$' {
            class |= ID_START | ID_PART;
        }
        if b.is_ascii_digit() {
            class |= ID_PART | DIGIT;
        }
        table[i] = class;
        i += 1;
    }
    table
};

fn is(b: u8, class: u8) -> bool {
    CLASS[b as usize] & class != 0
}

/// A flat, allocation-free scan of the expression grammar. `true` only for text the
/// parser accepts (it never accepts what the parser rejects); `false` for anything it
/// is unsure of, which the parser then decides.
fn quick_valid(src: &[u8]) -> bool {
    let n = src.len();
    let skip = |mut i: usize, class: u8| {
        while i < n && is(src[i], class) {
            i += 1;
        }
        i
    };
    // Open `(` / `[` and the parser's depth before each; the depth as the parser
    // counts it (one per expression entered and per `.x` / `[i]` applied).
    // (Small: it is set up for each of the hundreds of thousands of expressions.)
    let mut open = [(0u8, 0u16); 48];
    let mut top = 0usize;
    let mut depth = 1usize;
    let mut i = 0;
    // Each turn reads one expression's start, then what follows it.
    'expect: loop {
        i = skip(i, WS);
        let Some(&c) = src.get(i) else {
            return false;
        };
        if c == b'\'' {
            i += 1;
            loop {
                let Some(quote) = memchr::memchr(b'\'', &src[i..]) else {
                    return false;
                };
                i += quote + 1;
                if src.get(i) != Some(&b'\'') {
                    break;
                }
                i += 1;
            }
        } else if is(c, DIGIT) || c == b'-' || c == b'+' {
            let from = i + usize::from(!is(c, DIGIT));
            let end = skip(from, DIGIT);
            // Empty or possibly past i64: the parser decides.
            if end == from || end - from > 18 {
                return false;
            }
            i = end;
        } else if is(c, ID_START) {
            let name_end = skip(i, ID_PART);
            let after = skip(name_end, WS);
            let paren = match src.get(after) {
                Some(b'(') => Some(after),
                // `namespace.member(`: a user-defined function call.
                Some(b'.') => {
                    let member = skip(after + 1, WS);
                    let paren = skip(skip(member, ID_PART), WS);
                    (member < n && is(src[member], ID_START) && src.get(paren) == Some(&b'('))
                        .then_some(paren)
                }
                _ => None,
            };
            match paren {
                Some(paren) => {
                    if top == open.len() {
                        return false;
                    }
                    i = skip(paren + 1, WS);
                    if src.get(i) == Some(&b')') {
                        i += 1;
                    } else {
                        open[top] = (b'(', depth as u16);
                        top += 1;
                        depth += 1;
                        if depth >= MAX_DEPTH {
                            return false;
                        }
                        continue 'expect;
                    }
                }
                None => {
                    let name = &src[i..name_end];
                    if ![&b"true"[..], b"false", b"null"]
                        .iter()
                        .any(|w| name.eq_ignore_ascii_case(w))
                    {
                        return false;
                    }
                    i = name_end;
                }
            }
        } else {
            return false;
        }
        // After an expression: accesses, then a separator, a closer or the end.
        loop {
            i = skip(i, WS);
            let Some(&c) = src.get(i) else {
                return top == 0;
            };
            match c {
                b'.' => {
                    i = skip(i + 1, WS);
                    if src.get(i) == Some(&b'?') {
                        i += 1;
                    }
                    if !src.get(i).is_some_and(|b| is(*b, ID_START)) {
                        return false;
                    }
                    i = skip(i, ID_PART);
                    depth += 1;
                }
                b'[' => {
                    if top == open.len() {
                        return false;
                    }
                    depth += 1;
                    open[top] = (b'[', depth as u16);
                    top += 1;
                    depth += 1;
                    i += 1;
                    if depth >= MAX_DEPTH {
                        return false;
                    }
                    continue 'expect;
                }
                b',' if top > 0 && open[top - 1].0 == b'(' => {
                    depth = usize::from(open[top - 1].1) + 1;
                    i += 1;
                    continue 'expect;
                }
                b')' | b']'
                    if top > 0 && open[top - 1].0 == if c == b')' { b'(' } else { b'[' } =>
                {
                    top -= 1;
                    depth = usize::from(open[top].1);
                    i += 1;
                }
                _ => return false,
            }
            if depth >= MAX_DEPTH {
                return false;
            }
        }
    }
}

fn parse_inner<B: Builder>(inner: &str, builder: &mut B) -> Result<B::Node, ExprError> {
    let mut p = Parser {
        src: inner,
        pos: 0,
        depth: 0,
        builder,
    };
    p.skip_ws();
    let expr = p.expr()?;
    p.skip_ws();
    if p.pos < inner.len() {
        return Err(p.error_at(p.pos, format!("unexpected `{}`", p.rest_preview())));
    }
    Ok(expr)
}

/// What the parser produces for each construct: an [`Expr`], or nothing when only
/// checking.
trait Builder {
    type Node;
    /// A string literal written at `start..end` of the expression (quotes included).
    fn string(&mut self, s: Cow<'_, str>, start: usize, end: usize) -> Self::Node;
    fn int(&mut self, i: i64) -> Self::Node;
    fn boolean(&mut self, b: bool) -> Self::Node;
    fn null(&mut self) -> Self::Node;
    fn call(&mut self, namespace: Option<&str>, name: &str, args: Vec<Self::Node>) -> Self::Node;
    fn property(&mut self, target: Self::Node, name: &str) -> Self::Node;
    fn index(&mut self, target: Self::Node, index: Self::Node) -> Self::Node;
}

struct Build;

impl Builder for Build {
    type Node = Expr;
    fn string(&mut self, s: Cow<'_, str>, start: usize, end: usize) -> Expr {
        // Offsets within the template string: one more for the `[` before the expression.
        let offset = |i: usize| u32::try_from(i + 1).unwrap_or(u32::MAX);
        Expr::Str(
            s.into_owned(),
            At {
                start: offset(start),
                end: offset(end),
            },
        )
    }
    fn int(&mut self, i: i64) -> Expr {
        Expr::Int(i)
    }
    fn boolean(&mut self, b: bool) -> Expr {
        Expr::Bool(b)
    }
    fn null(&mut self) -> Expr {
        Expr::Null
    }
    fn call(&mut self, namespace: Option<&str>, name: &str, args: Vec<Expr>) -> Expr {
        let name = match namespace {
            Some(ns) => format!("{ns}.{name}"),
            None => name.to_owned(),
        };
        Expr::Call { name, args }
    }
    fn property(&mut self, target: Expr, name: &str) -> Expr {
        Expr::Property(Box::new(target), name.to_owned())
    }
    fn index(&mut self, target: Expr, index: Expr) -> Expr {
        Expr::Index(Box::new(target), Box::new(index))
    }
}

/// Builds nothing: `Vec<()>` never allocates.
struct Check;

impl Builder for Check {
    type Node = ();
    fn string(&mut self, _: Cow<'_, str>, _: usize, _: usize) {}
    fn int(&mut self, _: i64) {}
    fn boolean(&mut self, _: bool) {}
    fn null(&mut self) {}
    fn call(&mut self, _: Option<&str>, _: &str, _: Vec<()>) {}
    fn property(&mut self, _: (), _: &str) {}
    fn index(&mut self, _: (), _: ()) {}
}

/// Expression trees are at most this tall, counting calls and `.x` / `[i]` accesses
/// alike: the parser, the evaluator, `Display` and `Drop` all recurse over them.
const MAX_DEPTH: usize = 200;

struct Parser<'s, 'b, B: Builder> {
    src: &'s str,
    pos: usize,
    depth: usize,
    builder: &'b mut B,
}

impl<'s, B: Builder> Parser<'s, '_, B> {
    fn error_at(&self, offset: usize, message: String) -> ExprError {
        // +1: offsets are reported relative to the whole string, after its `[`.
        ExprError {
            offset: offset + 1,
            message,
        }
    }

    fn rest_preview(&self) -> String {
        self.src[self.pos..].chars().take(12).collect()
    }

    fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| is(b, WS)) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, b: u8, what: &str) -> Result<(), ExprError> {
        if self.eat(b) {
            Ok(())
        } else {
            let found = match self.peek() {
                Some(_) => format!("`{}`", self.rest_preview()),
                None => "the end of the expression".to_owned(),
            };
            Err(self.error_at(self.pos, format!("expected {what}, found {found}")))
        }
    }

    fn deeper(&mut self) -> Result<(), ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error_at(
                self.pos,
                format!("the expression nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<B::Node, ExprError> {
        let outer = self.depth;
        self.deeper()?;
        let mut e = self.primary()?;
        loop {
            self.skip_ws();
            if matches!(self.peek(), Some(b'.' | b'[')) {
                self.deeper()?;
            }
            match self.peek() {
                Some(b'.') => {
                    self.pos += 1;
                    self.skip_ws();
                    // `.?` is Bicep's safe access; compiled templates use tryGet, but accept it.
                    if self.peek() == Some(b'?') {
                        self.pos += 1;
                    }
                    let name = self.ident().ok_or_else(|| {
                        self.error_at(self.pos, "expected a property name after `.`".to_owned())
                    })?;
                    e = self.builder.property(e, name);
                }
                Some(b'[') => {
                    self.pos += 1;
                    self.skip_ws();
                    let index = self.expr()?;
                    self.expect(b']', "`]`")?;
                    e = self.builder.index(e, index);
                }
                _ => break,
            }
        }
        self.depth = outer;
        Ok(e)
    }

    fn ident(&mut self) -> Option<&'s str> {
        let start = self.pos;
        let bytes = self.src.as_bytes();
        if !bytes.get(self.pos).is_some_and(|b| is(*b, ID_START)) {
            return None;
        }
        while bytes.get(self.pos).is_some_and(|b| is(*b, ID_PART)) {
            self.pos += 1;
        }
        Some(&self.src[start..self.pos])
    }

    fn primary(&mut self) -> Result<B::Node, ExprError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            Some(b'\'') => self.string(),
            Some(b) if is(b, DIGIT) || b == b'-' || b == b'+' => self.number(),
            Some(_) => {
                let Some(first) = self.ident() else {
                    return Err(
                        self.error_at(start, format!("unexpected `{}`", self.rest_preview()))
                    );
                };
                self.skip_ws();
                let mut namespace = None;
                let mut name = first;
                if self.peek() == Some(b'.') {
                    // `namespace.member(` is a user-defined function call.
                    let save = self.pos;
                    self.pos += 1;
                    self.skip_ws();
                    match self.ident() {
                        Some(member)
                            if {
                                self.skip_ws();
                                self.peek() == Some(b'(')
                            } =>
                        {
                            namespace = Some(first);
                            name = member;
                        }
                        _ => self.pos = save,
                    }
                }
                if self.eat(b'(') {
                    let mut args = Vec::new();
                    if !self.eat(b')') {
                        loop {
                            args.push(self.expr()?);
                            if self.eat(b')') {
                                break;
                            }
                            self.expect(b',', "`,` or `)`")?;
                        }
                    }
                    return Ok(self.builder.call(namespace, name, args));
                }
                if name.eq_ignore_ascii_case("true") {
                    Ok(self.builder.boolean(true))
                } else if name.eq_ignore_ascii_case("false") {
                    Ok(self.builder.boolean(false))
                } else if name.eq_ignore_ascii_case("null") {
                    Ok(self.builder.null())
                } else {
                    Err(self.error_at(start, format!("expected `(` after function name `{name}`")))
                }
            }
            None => Err(self.error_at(start, "expected an expression, found the end".to_owned())),
        }
    }

    fn string(&mut self) -> Result<B::Node, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let body_start = self.pos;
        let mut owned: Option<String> = None;
        loop {
            let rest = &self.src[self.pos..];
            // A byte loop: string literals are short, a searcher's set-up costs more.
            let Some(i) = rest.bytes().position(|b| b == b'\'') else {
                return Err(self.error_at(start, "unterminated string literal".to_owned()));
            };
            let end = self.pos + i;
            self.pos = end + 1;
            if self.peek() == Some(b'\'') {
                // `''` is an escaped quote: from here on the text is no longer a slice.
                let text = owned.get_or_insert_with(String::new);
                if text.is_empty() {
                    text.push_str(&self.src[body_start..end]);
                } else {
                    text.push_str(rest.get(..i).unwrap_or_default());
                }
                text.push('\'');
                self.pos += 1;
            } else {
                let text = match owned {
                    Some(mut t) => {
                        t.push_str(&rest[..i]);
                        Cow::Owned(t)
                    }
                    None => Cow::Borrowed(&self.src[body_start..end]),
                };
                return Ok(self.builder.string(text, start, self.pos));
            }
        }
    }

    fn number(&mut self) -> Result<B::Node, ExprError> {
        let start = self.pos;
        if matches!(self.peek(), Some(b'-') | Some(b'+')) {
            self.pos += 1;
        }
        while self.peek().is_some_and(|b| is(b, DIGIT)) {
            self.pos += 1;
        }
        let text = &self.src[start..self.pos];
        match text.parse::<i64>() {
            Ok(i) => Ok(self.builder.int(i)),
            Err(_) => Err(self.error_at(start, format!("`{text}` is not an integer"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn quick_scan_never_accepts_what_the_parser_rejects(
            text in "[a-c(),.\\[\\]' 0-9?-]{0,24}"
        ) {
            if quick_valid(text.as_bytes()) {
                proptest::prop_assert!(parse_inner(&text, &mut Check).is_ok(), "{}", text);
            }
        }
    }

    #[test]
    fn quick_scan_accepts_only_what_the_parser_accepts() {
        let cases = [
            "concat('a', parameters('b'))",
            "parameters('x').y[0].z",
            "ns.fn(1, -2, +3)",
            "if(true, 'it''s', null)",
            "a.b.c()",
            "resourceId('Microsoft.X/y', 'n')]",
            "concat('a',)",
            "concat('a' 'b')",
            "foo",
            "x()[",
            "x().",
            "x().?y",
            "'unterminated",
            "1234567890123456789012",
            "-",
            "f(g(h(i())))",
            "f()) ",
            "  f ( 1 , 2 )  ",
            "f(1)[2][g('x')].y",
        ];
        for case in cases {
            let parsed = parse_inner(case, &mut Check).is_ok();
            if quick_valid(case.as_bytes()) {
                assert!(
                    parsed,
                    "the scan accepted `{case}`, which the parser rejects"
                );
            }
        }
        assert!(quick_valid(b"concat('a', parameters('b'))"));
        assert!(quick_valid(b"f(1)[2][g('x')].y"));
        let deep = format!("{}1{}", "f(".repeat(300), ")".repeat(300));
        assert!(!quick_valid(deep.as_bytes()));
        assert!(check_expression(&format!("[{deep}]")).is_err());
    }

    fn expr(s: &str) -> Expr {
        match parse_template_string(s).unwrap() {
            Template::Expression(e) => e,
            Template::Literal(l) => panic!("literal {l}"),
        }
    }

    fn call(name: &str, args: Vec<Expr>) -> Expr {
        Expr::Call {
            name: name.to_owned(),
            args,
        }
    }

    #[test]
    fn literals_and_escapes() {
        assert_eq!(
            parse_template_string("plain").unwrap(),
            Template::Literal("plain".into())
        );
        assert_eq!(
            parse_template_string("[[not an expression]").unwrap(),
            Template::Literal("[not an expression]".into())
        );
        assert_eq!(
            parse_template_string(" [x]").unwrap(),
            Template::Literal(" [x]".into())
        );
        assert_eq!(expr("['it''s']"), Expr::Str("it's".into(), At::default()));
        assert_eq!(expr("[-12]"), Expr::Int(-12));
    }

    #[test]
    fn calls_properties_and_indexes() {
        assert_eq!(
            expr("[parameters('a').b[0]['c']]"),
            Expr::Index(
                Box::new(Expr::Index(
                    Box::new(Expr::Property(
                        Box::new(call(
                            "parameters",
                            vec![Expr::Str("a".into(), At::default())]
                        )),
                        "b".into()
                    )),
                    Box::new(Expr::Int(0))
                )),
                Box::new(Expr::Str("c".into(), At::default()))
            )
        );
        assert_eq!(
            expr("[ concat( 'a' , 'b' ) ]"),
            call(
                "concat",
                vec![
                    Expr::Str("a".into(), At::default()),
                    Expr::Str("b".into(), At::default())
                ]
            )
        );
        assert_eq!(
            expr("[utils.name('x')]"),
            call("utils.name", vec![Expr::Str("x".into(), At::default())])
        );
        assert_eq!(
            expr("[resourceGroup().location]"),
            Expr::Property(Box::new(call("resourceGroup", vec![])), "location".into())
        );
        assert_eq!(
            expr("[if(true, null(), false)]"),
            call(
                "if",
                vec![Expr::Bool(true), call("null", vec![]), Expr::Bool(false)]
            )
        );
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_template_string("[concat('a', ]").unwrap_err();
        assert_eq!(e.offset, 13, "{e}");
        assert!(parse_template_string("[concat('a']").is_err());
        assert_eq!(
            parse_template_string("[concat('a'").unwrap(),
            Template::Literal("[concat('a'".into())
        );
        assert!(parse_template_string("['open]").is_err());
        assert!(parse_template_string("[foo]").is_err());
        assert!(parse_template_string("[a() b()]").is_err());
        assert!(parse_template_string("[]").is_err());
        let deep = format!("[{}1{}]", "f(".repeat(500), ")".repeat(500));
        assert!(parse_template_string(&deep).is_err());
    }
}
