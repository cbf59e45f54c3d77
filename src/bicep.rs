//! Bicep source structure, for mapping findings from compiled JSON back to the `.bicep`
//! a user wrote (see docs/design/bicep.md and [`crate::bicep_input`]).
//!
//! What the mapping needs is structural: the top-level declarations (`param`, `var`,
//! `resource`, `module`, `output`, …) with their names and bodies, and the place of a
//! property path inside an object literal (`properties.networkAcls.bypass`). A lexer
//! that knows Bicep's strings (`'…'` with escapes and `${…}` interpolation, `'''…'''`),
//! comments and brackets finds both without a grammar, so newer syntax the grammar does
//! not know (`import … from`, `resourceInput<…>`, nullable types) never derails it.
//!
//! Everything is bounded by the input: one pass over the text, nesting capped.

use std::path::{Path, PathBuf};

use crate::source::Span;

/// Is the file a Bicep source (`*.bicep`; not `.bicepparam`)?
pub fn is_bicep(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("bicep"))
}

/// Does the file at `path` start like a template Bicep compiled? Reads its first 4 KiB
/// only.
pub fn file_compiled_by_bicep(path: &Path) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .and_then(|f| f.take(4096).read_to_end(&mut head))
        .is_ok()
        && compiled_by_bicep(&head)
}

/// `X.json` beside `X.bicep`.
pub fn compiled_sibling(bicep: &Path) -> PathBuf {
    bicep.with_extension("json")
}

/// Was this JSON text compiled by Bicep (`metadata._generator.name` is `bicep`)? Read
/// from the text's head, where Bicep writes `metadata` first, without parsing the
/// template (this runs for every `.json` beside a `.bicep` of the run).
pub fn compiled_by_bicep(json: &[u8]) -> bool {
    let head = &json[..json.len().min(4096)];
    let Some(at) = memchr::memmem::find(head, b"\"_generator\"") else {
        return false;
    };
    let rest = &head[at..];
    let window = &rest[..rest.len().min(200)];
    memchr::memmem::find(window, b"\"bicep\"").is_some()
}

/// The starts of the lines that begin outside comments and strings (where a
/// declaration can start), in one pass that skips comments and strings as
/// [`tokens`] does but keeps nothing else.
fn code_line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    let mut i = 0;
    // Only newlines, comment starts and quotes matter: jump between them.
    while let Some(at) = memchr::memchr3(b'\n', b'/', b'\'', &bytes[i..]) {
        i += at;
        match bytes[i] {
            b'\n' => {
                i += 1;
                starts.push(i);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |at| i + at);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&bytes[i + 2..], b"*/")
                    .map_or(bytes.len(), |at| i + 2 + at + 2);
            }
            b'\'' if bytes[i..].starts_with(b"'''") => {
                i = memchr::memmem::find(&bytes[i + 3..], b"'''")
                    .map_or(bytes.len(), |at| i + 3 + at + 3);
            }
            b'\'' => i = skip_string(bytes, i + 1),
            _ => i += 1,
        }
    }
    starts
}

/// What a Bicep file names in its `module` and `import … from` declarations, as
/// written, and whether it declares anything it deploys (`resource` or `module`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct References<'t> {
    pub modules: Vec<&'t str>,
    pub imports: Vec<&'t str>,
    pub deploys: bool,
}

/// [`References`] of a Bicep file, read from the lines that start outside comments
/// and strings (a top-level declaration starts its line): cheaper than
/// [`declarations`] for a pass over every `.bicep` of a run. A multi-line
/// `import { … }` names its file on the line with `from`.
pub fn references(text: &str) -> References<'_> {
    /// `'path'` after a `from` in `line`.
    fn from_target(line: &str) -> Option<&str> {
        let at = line.rfind("from")?;
        let before = line[..at].chars().next_back();
        if !matches!(before, None | Some(' ' | '\t' | '}')) {
            return None;
        }
        first_quoted(&line[at + 4..])
    }
    fn first_quoted(text: &str) -> Option<&str> {
        let rest = text.trim_start().strip_prefix('\'')?;
        Some(&rest[..rest.find('\'')?])
    }
    let mut found = References::default();
    let mut open_import = false;
    for start in code_line_starts(text) {
        let rest = &text[start..];
        // Most lines start with none of the keywords, and no import is open: skip them
        // before looking for their end.
        if !open_import && !rest.starts_with(['m', 'i', 'r']) {
            continue;
        }
        let line = &rest[..memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len())];
        let starts = |keyword: &str| {
            line.strip_prefix(keyword)
                .filter(|rest| rest.starts_with([' ', '\t', '{', '*']))
        };
        if open_import {
            if let Some(target) = from_target(line) {
                found.imports.push(target);
                open_import = false;
                continue;
            }
            // Another declaration: the import named no file where it could be read.
            open_import = line.starts_with([' ', '\t', '}']) || line.trim().is_empty();
            if open_import {
                continue;
            }
        }
        if let Some(rest) = starts("module") {
            found.deploys = true;
            let after_name = rest
                .trim_start()
                .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_');
            found.modules.extend(first_quoted(after_name));
        } else if let Some(rest) = starts("import") {
            match from_target(rest) {
                Some(target) => found.imports.push(target),
                None => open_import = rest.contains('{') && !rest.contains('}'),
            }
        } else if starts("resource").is_some() {
            found.deploys = true;
        }
    }
    found
}

/// What kind of top-level declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Param,
    Var,
    Resource,
    Module,
    Output,
    Type,
    Func,
    Import,
    Metadata,
    TargetScope,
}

/// A top-level declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    pub kind: Kind,
    /// The symbolic name (empty for `targetScope` and `import`).
    pub name: String,
    /// From the keyword to the end of the declaration (decorators excluded).
    pub span: Span,
    /// The object literal that is the declaration's value (a resource's or module's
    /// body, also inside `if (…)` or `[for … : { … }]`), when it has one.
    pub body: Option<Span>,
}

/// Bracket depth is counted up to this (no Bicep file nests near it): deeper brackets
/// share the last depth, so they may pair wrongly, but every scan stays linear.
const MAX_DEPTH: usize = 256;

/// A lexical token the scanner keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Open(u8),
    Close(u8),
    Newline,
    Colon,
    Comma,
    Equals,
    /// An identifier or keyword.
    Word,
    /// A string literal (its span includes the quotes).
    Str,
    Other,
}

/// Tokens with their spans and bracket depth (before an opening bracket is applied).
fn tokens(text: &str) -> Vec<(Tok, Span, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let start = i;
        let tok = match b {
            b'\n' => {
                i += 1;
                Tok::Newline
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(bytes.len());
                continue;
            }
            b'\'' if bytes[i..].starts_with(b"'''") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"'''") {
                    i += 1;
                }
                i = (i + 3).min(bytes.len());
                Tok::Str
            }
            b'\'' => {
                i = skip_string(bytes, i + 1);
                Tok::Str
            }
            b'{' | b'[' | b'(' => {
                i += 1;
                Tok::Open(b)
            }
            b'}' | b']' | b')' => {
                i += 1;
                Tok::Close(b)
            }
            b':' => {
                i += 1;
                Tok::Colon
            }
            b',' => {
                i += 1;
                Tok::Comma
            }
            b'=' if bytes.get(i + 1) != Some(&b'=')
                && (i == 0 || !b"!<>=".contains(&bytes[i - 1])) =>
            {
                i += 1;
                Tok::Equals
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Tok::Word
            }
            _ => {
                // One character (a UTF-8 sequence counts as its bytes: never a boundary).
                i += 1;
                while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
                    i += 1;
                }
                Tok::Other
            }
        };
        if let Tok::Close(_) = tok {
            depth = depth.saturating_sub(1);
        }
        out.push((tok, Span::new(start, i), depth));
        if let Tok::Open(_) = tok {
            depth = (depth + 1).min(MAX_DEPTH);
        }
    }
    out
}

/// The end of a `'…'` string that starts at `i` (after the quote): `\'` escapes, and
/// `${…}` interpolations may hold strings and braces of their own. Iterative, with the
/// nesting capped: a hostile file of `'${'${'${…` cannot exhaust the stack.
fn skip_string(bytes: &[u8], i: usize) -> usize {
    // Most strings hold no interpolation: end them without the stack.
    let mut j = i;
    while let Some(at) = memchr::memchr3(b'\'', b'\\', b'$', &bytes[j..]) {
        // Unterminated: the string stops at the line's end.
        if let Some(newline) = memchr::memchr(b'\n', &bytes[j..j + at]) {
            return j + newline;
        }
        j += at;
        match bytes[j] {
            b'\\' => j += 2,
            b'\'' => return j + 1,
            _ if bytes.get(j + 1) == Some(&b'{') => return skip_interpolated_string(bytes, i),
            _ => j += 1,
        }
        if j >= bytes.len() {
            return bytes.len();
        }
    }
    memchr::memchr(b'\n', &bytes[j..]).map_or(bytes.len(), |newline| j + newline)
}

/// [`skip_string`] for a string with `${…}` in it.
fn skip_interpolated_string(bytes: &[u8], mut i: usize) -> usize {
    /// What the scanner is inside, innermost last.
    enum Open {
        Str,
        /// An interpolation, with its open braces.
        Interpolation(usize),
    }
    let mut open = vec![Open::Str];
    while i < bytes.len() {
        let b = bytes[i];
        match open.last_mut() {
            Some(Open::Str) => match b {
                b'\\' => i += 2,
                b'\'' => {
                    open.pop();
                    i += 1;
                    if open.is_empty() {
                        return i;
                    }
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') && open.len() < 2 * MAX_DEPTH => {
                    open.push(Open::Interpolation(1));
                    i += 2;
                }
                // Unterminated: the string stops at the line's end.
                b'\n' => {
                    open.pop();
                    if open.is_empty() {
                        return i;
                    }
                }
                _ => i += 1,
            },
            Some(Open::Interpolation(braces)) => {
                match b {
                    b'{' => *braces += 1,
                    b'}' => {
                        *braces -= 1;
                        if *braces == 0 {
                            open.pop();
                        }
                    }
                    b'\'' if open.len() < 2 * MAX_DEPTH => open.push(Open::Str),
                    _ => {}
                }
                i += 1;
            }
            None => return i,
        }
    }
    bytes.len()
}

/// The top-level declarations of a Bicep file, in order.
pub fn declarations(text: &str) -> Vec<Declaration> {
    declarations_of(text, &tokens(text))
}

/// [`declarations`] from the text's [`tokens`].
fn declarations_of(text: &str, toks: &[(Tok, Span, usize)]) -> Vec<Declaration> {
    let mut out = Vec::new();
    let mut at_line_start = true;
    let mut k = 0;
    while k < toks.len() {
        let (tok, span, depth) = toks[k];
        if tok == Tok::Newline {
            at_line_start = true;
            k += 1;
            continue;
        }
        let starts = at_line_start && depth == 0 && tok == Tok::Word;
        at_line_start = false;
        if !starts {
            k += 1;
            continue;
        }
        let kind = match &text[span.start as usize..span.end as usize] {
            "param" => Kind::Param,
            "var" => Kind::Var,
            "resource" => Kind::Resource,
            "module" => Kind::Module,
            "output" => Kind::Output,
            "type" => Kind::Type,
            "func" => Kind::Func,
            "import" => Kind::Import,
            "metadata" => Kind::Metadata,
            "targetScope" => Kind::TargetScope,
            _ => {
                k += 1;
                continue;
            }
        };
        let name = match (kind, toks.get(k + 1)) {
            (Kind::TargetScope | Kind::Import, _) => String::new(),
            (_, Some((Tok::Word, s, _))) => text[s.start as usize..s.end as usize].to_owned(),
            _ => String::new(),
        };
        // The declaration runs to the next newline back at depth 0.
        let mut end = k + 1;
        while end < toks.len() && !(toks[end].0 == Tok::Newline && toks[end].2 == 0) {
            end += 1;
        }
        let last = toks[end.saturating_sub(1).max(k)].1;
        // The body: the first `{` after `=` (past `if (…)` and `[for … :`).
        let body = matches!(kind, Kind::Resource | Kind::Module)
            .then(|| {
                let equals = (k..end).find(|&j| toks[j].0 == Tok::Equals)?;
                let open = (equals..end).find(|&j| toks[j].0 == Tok::Open(b'{'))?;
                let close = matching_close(toks, open, end)?;
                Some(Span::new(
                    toks[open].1.start as usize,
                    toks[close].1.end as usize,
                ))
            })
            .flatten();
        out.push(Declaration {
            kind,
            name,
            span: Span::new(span.start as usize, last.end as usize),
            body,
        });
        k = end;
    }
    out
}

/// The resource declared as `resource <name> '…' = …` directly inside the body
/// `parent` (Bicep's nested child resources, compiled as `parent::name`).
pub fn nested_resource(text: &str, parent: Span, name: &str) -> Option<Declaration> {
    let slice = &text[parent.start as usize..parent.end as usize];
    let toks = tokens(slice);
    let word = |j: usize| {
        toks.get(j)
            .filter(|t| t.0 == Tok::Word)
            .map(|t| &slice[t.1.start as usize..t.1.end as usize])
    };
    let shift = |start: u32, end: u32| {
        Span::new(
            start as usize + parent.start as usize,
            end as usize + parent.start as usize,
        )
    };
    // Tokens directly inside the body's braces are at depth 1.
    let at = (0..toks.len())
        .find(|&j| toks[j].2 == 1 && word(j) == Some("resource") && word(j + 1) == Some(name))?;
    // The declaration runs to the newline back at its depth; its body is the first
    // `{` after `=`.
    let end = (at + 1..toks.len())
        .find(|&j| match toks[j].0 {
            Tok::Newline => toks[j].2 <= 1,
            Tok::Close(_) => toks[j].2 == 0,
            _ => false,
        })
        .unwrap_or(toks.len());
    let equals = (at..end).find(|&j| toks[j].0 == Tok::Equals);
    let body = equals
        .and_then(|eq| (eq..end).find(|&j| toks[j].0 == Tok::Open(b'{')))
        .and_then(|open| Some((open, matching_close(&toks, open, toks.len())?)))
        .map(|(open, close)| shift(toks[open].1.start, toks[close].1.end));
    let last = body.map_or(
        toks[end.saturating_sub(1).max(at)].1.end as usize + parent.start as usize,
        |b| b.end as usize,
    );
    Some(Declaration {
        kind: Kind::Resource,
        name: name.to_owned(),
        span: Span::new(toks[at].1.start as usize + parent.start as usize, last),
        body,
    })
}

/// [`matching_close`] of every opening token (`None` for the others), in one pass:
/// the first closing token after it at its depth.
fn matching_closes(toks: &[(Tok, Span, usize)]) -> Vec<Option<usize>> {
    // Depths never exceed `MAX_DEPTH` (see [`tokens`]).
    let mut next_close_at: Vec<Option<usize>> = vec![None; MAX_DEPTH + 1];
    let mut out = vec![None; toks.len()];
    for (j, &(tok, _, depth)) in toks.iter().enumerate().rev() {
        match tok {
            Tok::Close(_) => next_close_at[depth] = Some(j),
            Tok::Open(_) => out[j] = next_close_at[depth],
            _ => {}
        }
    }
    out
}

/// The index of the bracket that closes the one at `open`, before `limit`.
fn matching_close(toks: &[(Tok, Span, usize)], open: usize, limit: usize) -> Option<usize> {
    let depth = toks[open].2;
    (open + 1..limit).find(|&j| matches!(toks[j].0, Tok::Close(_)) && toks[j].2 == depth)
}

/// The value of the property at `path` in the object literal `object` (a span that
/// starts at its `{`): `["properties", "networkAcls", "bypass"]`. Keys compare as ARM
/// compares them, without case; a quoted key (`'my-key'`) counts by its text. `None`
/// when a key is not written there (the caller falls back to the nearest enclosing
/// place it found: see [`deepest_written`]).
pub fn property_path(text: &str, object: Span, path: &[&str]) -> Option<Span> {
    let (found, depth) = deepest_written(text, object, path);
    (depth == path.len()).then_some(found)
}

/// How far `path` is written in `object`: the span of the deepest value found (the
/// object itself when not even the first key is) and how many keys were matched.
pub fn deepest_written(text: &str, object: Span, path: &[&str]) -> (Span, usize) {
    let slice = &text[object.start as usize..object.end as usize];
    let toks = tokens(slice);
    let shift = |s: Span| {
        Span::new(
            s.start as usize + object.start as usize,
            s.end as usize + object.start as usize,
        )
    };
    let mut current = 0usize; // index of the current object's `{` in toks
    let mut found = object;
    for (matched, key) in path.iter().enumerate() {
        if toks.get(current).map(|t| t.0) != Some(Tok::Open(b'{')) {
            return (found, matched);
        }
        let Some(close) = matching_close(&toks, current, toks.len()) else {
            return (found, matched);
        };
        let depth = toks[current].2 + 1;
        // A key: a word or string at the object's depth, followed by `:`.
        let entry = (current + 1..close).find(|&j| {
            toks[j].2 == depth
                && matches!(toks[j].0, Tok::Word | Tok::Str)
                && toks.get(j + 1).map(|t| t.0) == Some(Tok::Colon)
                && key_text(slice, toks[j]).eq_ignore_ascii_case(key)
        });
        let Some(entry) = entry else {
            return (found, matched);
        };
        // The value: from after `:` to the end of the entry (newline or comma at depth).
        let value_start = entry + 2;
        let mut value_end = value_start;
        while value_end < close
            && !(matches!(toks[value_end].0, Tok::Newline | Tok::Comma)
                && toks[value_end].2 == depth)
        {
            value_end += 1;
        }
        if value_start >= value_end {
            return (found, matched);
        }
        // Skip newlines that open the value (a multi-line value starts on the next line).
        let first = (value_start..value_end)
            .find(|&j| toks[j].0 != Tok::Newline)
            .unwrap_or(value_start);
        let last = (first..value_end)
            .rev()
            .find(|&j| toks[j].0 != Tok::Newline)
            .unwrap_or(first);
        found = shift(Span::new(
            toks[first].1.start as usize,
            toks[last].1.end as usize,
        ));
        current = first;
    }
    (found, path.len())
}

/// The entries `key: value` written directly in the object literal `object` (a span
/// that starts at its `{`), in order: each key as written and its value's span.
pub fn entries(text: &str, object: Span) -> Vec<(String, Span)> {
    let slice = &text[object.start as usize..object.end as usize];
    let toks = tokens(slice);
    let Some(close) = (toks.first().map(|t| t.0) == Some(Tok::Open(b'{')))
        .then(|| matching_close(&toks, 0, toks.len()))
        .flatten()
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut j = 1;
    while j < close {
        let is_key = toks[j].2 == 1
            && matches!(toks[j].0, Tok::Word | Tok::Str)
            && toks.get(j + 1).map(|t| t.0) == Some(Tok::Colon);
        if !is_key {
            j += 1;
            continue;
        }
        let first = j + 2;
        let mut last = first;
        while last + 1 < close
            && !(matches!(toks[last + 1].0, Tok::Newline | Tok::Comma) && toks[last + 1].2 == 1)
        {
            last += 1;
        }
        if first < close {
            let at = |s: u32| s as usize + object.start as usize;
            out.push((
                key_text(slice, toks[j]).to_owned(),
                Span::new(at(toks[first].1.start), at(toks[last].1.end)),
            ));
        }
        j = last + 1;
    }
    out
}

/// The innermost object literal inside `within` that holds `span` (from its `{` to its
/// `}`), when there is one.
pub fn enclosing_object(text: &str, within: Span, span: Span) -> Option<Span> {
    let slice = text.get(within.start as usize..within.end as usize)?;
    let target = span.start.checked_sub(within.start)?;
    let toks = tokens(slice);
    let first_inside = toks.partition_point(|t| t.1.start < target);
    let mut need = toks.get(first_inside).map_or(0, |t| t.2);
    for j in (0..first_inside).rev() {
        let (Tok::Open(bracket), at, depth) = toks[j] else {
            continue;
        };
        if depth >= need {
            continue;
        }
        if bracket != b'{' {
            need = depth;
            continue;
        }
        let close = matching_close(&toks, j, toks.len())?;
        let end = toks[close].1.end;
        return (end + within.start >= span.end).then(|| {
            Span::new(
                (at.start + within.start) as usize,
                (end + within.start) as usize,
            )
        });
    }
    None
}

/// The value of the one entry `key: …` written anywhere inside `within` (any depth),
/// when there is exactly one.
pub fn unique_key_value(text: &str, within: Span, key: &str) -> Option<Span> {
    match key_values(text, within, key)[..] {
        [one] => Some(one),
        _ => None,
    }
}

/// The values of the entries `key: …` written anywhere inside `within` (any depth):
/// none, one, or the first two (enough to tell that it is not unique).
pub fn key_values(text: &str, within: Span, key: &str) -> Vec<Span> {
    let slice = &text[within.start as usize..within.end as usize];
    let toks = tokens(slice);
    let mut found = Vec::new();
    for j in 0..toks.len() {
        let is_key = matches!(toks[j].0, Tok::Word | Tok::Str)
            && toks.get(j + 1).map(|t| t.0) == Some(Tok::Colon)
            && key_text(slice, toks[j]).eq_ignore_ascii_case(key);
        if !is_key {
            continue;
        }
        let depth = toks[j].2;
        let first = j + 2;
        let mut last = first;
        while last + 1 < toks.len()
            && !(matches!(toks[last + 1].0, Tok::Newline | Tok::Comma) && toks[last + 1].2 == depth)
            && !(matches!(toks[last + 1].0, Tok::Close(_)) && toks[last + 1].2 < depth)
        {
            last += 1;
        }
        let Some(start) = toks.get(first).map(|t| t.1.start) else {
            break;
        };
        let end = toks[last].1.end;
        found.push(Span::new(
            start as usize + within.start as usize,
            end as usize + within.start as usize,
        ));
        if found.len() == 2 {
            break;
        }
    }
    found
}

/// `// trustlint-ignore ID[, ID]: reason` comments on their own line in a Bicep file.
/// Each covers what the next line starts (past decorators): a declaration, or an
/// object entry with its whole value.
pub fn comment_suppressions(text: &str) -> Vec<crate::suppress::Suppression> {
    use crate::suppress::{parse_directive, Form, Suppression, DIRECTIVE};
    let toks = tokens(text);
    let decls = declarations_of(text, &toks);
    let closes = matching_closes(&toks);
    // A directive is a comment in the code, not text inside a `'''` string or a
    // `/* … */` comment.
    let code_lines = code_line_starts(text);
    let mut out = Vec::new();
    let mut offset = 0usize;
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .map(|line| {
            let at = offset;
            offset += line.len();
            (at, line)
        })
        .collect();
    // For each line, the first line from it on that is not blank, a comment or a
    // decorator: what a directive above it covers (one pass, so that thousands of
    // directives in a row cost no more than the lines).
    let mut next_content: Vec<Option<usize>> = vec![None; lines.len() + 1];
    for i in (0..lines.len()).rev() {
        let t = lines[i].1.trim_start();
        let skipped = t.is_empty() || t.starts_with("//") || t.starts_with('@');
        next_content[i] = if skipped {
            next_content[i + 1]
        } else {
            Some(i)
        };
    }
    let scope_of = |next: usize| {
        let (next_at, next_line) = lines[next];
        let start = next_at + (next_line.len() - next_line.trim_start().len());
        if let Ok(d) = decls.binary_search_by_key(&start, |d| d.span.start as usize) {
            return Some(decls[d].span);
        }
        // An entry: to the end of the line, or of the bracket the line opens.
        let first = toks.partition_point(|t| (t.1.start as usize) < start);
        let line_end = next_at + next_line.trim_end().len();
        let mut end = line_end;
        for j in first..toks.len() {
            if toks[j].1.start as usize >= line_end {
                break;
            }
            if let Some(close) = closes[j] {
                end = end.max(toks[close].1.end as usize);
            }
        }
        (first < toks.len()).then(|| Span::new(start, end))
    };
    // Directives in a row cover the same line: its scope is worked out once.
    let mut last_scope: Option<(usize, Option<Span>)> = None;
    for (i, (at, line)) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let Some(body) = trimmed.strip_prefix("//") else {
            continue;
        };
        if code_lines.binary_search(at).is_err() {
            continue;
        }
        let Some(directive) = body.trim_start().strip_prefix(DIRECTIVE) else {
            continue;
        };
        let comment_start = at + (line.len() - trimmed.len());
        let directive_at =
            comment_start + 2 + (body.len() - body.trim_start().len()) + DIRECTIVE.len();
        let (rules, reason) = parse_directive(directive.trim_end(), Some(directive_at));
        let scope = next_content[i + 1].and_then(|next| match last_scope {
            Some((line, scope)) if line == next => scope,
            _ => {
                let scope = scope_of(next);
                last_scope = Some((next, scope));
                scope
            }
        });
        out.push(Suppression {
            form: Form::Comment,
            rules,
            reason,
            scope,
            span: Span::new(comment_start, at + line.trim_end().len()),
        });
    }
    out
}

/// A key as written: a word, or a quoted string without its quotes.
fn key_text(slice: &str, token: (Tok, Span, usize)) -> &str {
    let text = &slice[token.1.start as usize..token.1.end as usize];
    match token.0 {
        Tok::Str => text.trim_start_matches('\'').trim_end_matches('\''),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: &str = r#"metadata name = 'Storage'
import { lockType } from 'br/public:avm/utl/types/avm-common-types:0.5.1'

@description('The account name.')
param name string = 'st${uniqueString(resourceGroup().id)}'

param tags resourceInput<'Microsoft.Storage/storageAccounts@2024-01-01'>.tags?

var acls = {
  defaultAction: 'Deny' // locked down
  bypass: 'AzureServices'
}

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = if (deploy) {
  name: name
  location: location
  properties: {
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      bypass: 'AzureServices'
      'defaultAction': 'Deny'
    }
  }
}

module vaults './vault.bicep' = [for v in vaultNames: {
  name: 'vault-${v}'
  params: { name: v, bypass: 'None' }
}]

output id string = storage.id
"#;

    fn at(span: Span) -> &'static str {
        &MAIN[span.start as usize..span.end as usize]
    }

    #[test]
    fn declarations_and_their_bodies() {
        let found = declarations(MAIN);
        let kinds: Vec<(Kind, &str)> = found.iter().map(|d| (d.kind, d.name.as_str())).collect();
        assert_eq!(
            kinds,
            [
                (Kind::Metadata, "name"),
                (Kind::Import, ""),
                (Kind::Param, "name"),
                (Kind::Param, "tags"),
                (Kind::Var, "acls"),
                (Kind::Resource, "storage"),
                (Kind::Module, "vaults"),
                (Kind::Output, "id"),
            ]
        );
        let storage = &found[5];
        assert!(at(storage.body.unwrap()).starts_with("{\n  name: name"));
        assert!(at(storage.body.unwrap()).ends_with("}\n}"));
        let vaults = &found[6];
        assert!(at(vaults.body.unwrap()).starts_with("{\n  name: 'vault-${v}'"));
    }

    #[test]
    fn property_paths_through_object_literals() {
        let storage = declarations(MAIN)[5].body.unwrap();
        let bypass = property_path(MAIN, storage, &["properties", "networkAcls", "bypass"]);
        assert_eq!(at(bypass.unwrap()), "'AzureServices'");
        // Keys compare without case; quoted keys by their text.
        let action = property_path(
            MAIN,
            storage,
            &["Properties", "networkAcls", "defaultAction"],
        );
        assert_eq!(at(action.unwrap()), "'Deny'");
        // Not written: the deepest enclosing value written, and how far it got.
        let (nearest, depth) =
            deepest_written(MAIN, storage, &["properties", "networkAcls", "ipRules"]);
        assert_eq!(depth, 2);
        assert!(at(nearest).starts_with("{\n      bypass:"));
        // A one-line object with commas.
        let vaults = declarations(MAIN)[6].body.unwrap();
        assert_eq!(
            at(property_path(MAIN, vaults, &["params", "bypass"]).unwrap()),
            "'None'"
        );
    }

    #[test]
    fn nested_resources_and_object_entries() {
        let text = "resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv'
  properties: { tenantId: tenant().tenantId }
  resource key 'keys' = if (withKey) {
    name: 'cmk'
    properties: { kty: 'RSA' }
  }
  resource secret 'secrets' existing = {
    name: 's'
  }
}
";
        let vault = declarations(text)[0].body.unwrap();
        let key = nested_resource(text, vault, "key").unwrap();
        let slice = |s: Span| &text[s.start as usize..s.end as usize];
        assert!(slice(key.span).starts_with("resource key 'keys' = if (withKey) {"));
        assert_eq!(
            slice(property_path(text, key.body.unwrap(), &["properties", "kty"]).unwrap()),
            "'RSA'"
        );
        let secret = nested_resource(text, vault, "secret").unwrap();
        assert_eq!(slice(secret.body.unwrap()), "{\n    name: 's'\n  }");
        assert!(nested_resource(text, vault, "name").is_none());
        // Entries written directly in an object, one per line or comma-separated.
        let params = "{ name: v, bypass: 'None'\n  nested: { a: 1 } }";
        let entries: Vec<(String, &str)> = entries(params, Span::new(0, params.len()))
            .into_iter()
            .map(|(k, v)| (k, &params[v.start as usize..v.end as usize]))
            .collect();
        assert_eq!(
            entries,
            [
                ("name".to_owned(), "v"),
                ("bypass".to_owned(), "'None'"),
                ("nested".to_owned(), "{ a: 1 }")
            ]
        );
    }

    #[test]
    fn directives_inside_strings_and_block_comments_are_text() {
        let text = "var doc = '''\n// trustlint-ignore STG001: quoted in a doc string\n'''\n/*\n// trustlint-ignore KV001: commented out\n*/\n// trustlint-ignore SB001: a real one\nvar x = 1\n";
        let found = comment_suppressions(text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rules[0].id, "SB001");
    }

    #[test]
    fn the_object_literal_around_a_place() {
        let text = "resource sa 'T@1' = {\n  properties: union({ a: 1 }, cond ? {\n    bypass: 'AzureServices'\n    defaultAction: 'Deny'\n  } : [ { x: '}' } ])\n}\n";
        let whole = Span::new(0, text.len());
        let at = |needle: &str| {
            let start = text.find(needle).unwrap();
            Span::new(start, start + needle.len())
        };
        let object = enclosing_object(text, whole, at("'AzureServices'")).unwrap();
        assert!(text[object.start as usize..object.end as usize].starts_with("{\n    bypass"));
        assert!(text[object.start as usize..object.end as usize].ends_with("'Deny'\n  }"));
        // Inside an array inside an object: the innermost object, past the brackets.
        let inner = enclosing_object(text, whole, at("'}'")).unwrap();
        assert_eq!(
            &text[inner.start as usize..inner.end as usize],
            "{ x: '}' }"
        );
        // The resource body itself, around `properties`.
        let body = enclosing_object(text, whole, at("properties")).unwrap();
        assert_eq!(body.start as usize, text.find('{').unwrap());
        // Nothing around the declaration's keyword.
        assert_eq!(enclosing_object(text, whole, at("resource")), None);
    }

    #[test]
    fn references_of_modules_and_imports_outside_comments_and_strings() {
        let text = "import { lockType } from 'br/public:avm/utl/types/avm-common-types:0.5.1'
import {
  a
  b
} from 'shared.types.bicep'
import * as fns from './functions.bicep'
param from string = 'x'
/*
module old './old.bicep' = {}
*/
var doc = '''
module inString './s.bicep' = {}
'''
module storage 'modules/storage.bicep' = if (deploy) {
  name: 'module notAModule \\'x\\''
}
module pe 'br/public:avm/res/network/private-endpoint:0.11.1' = [for p in ps: {
}]
";
        let found = references(text);
        assert_eq!(
            found.imports,
            [
                "br/public:avm/utl/types/avm-common-types:0.5.1",
                "shared.types.bicep",
                "./functions.bicep",
            ]
        );
        assert_eq!(
            found.modules,
            [
                "modules/storage.bicep",
                "br/public:avm/res/network/private-endpoint:0.11.1"
            ]
        );
        assert!(found.deploys);
        assert!(!references("import { a } from 'b.bicep'\ntype t = string\n").deploys);
    }

    #[test]
    fn strings_end_where_bicep_ends_them() {
        // (text after the opening quote, where the string ends)
        let cases = [
            ("abc' rest", 4),
            ("it\\'s' rest", 6),
            ("back\\\\' rest", 7),
            ("unterminated\nnext 'x'", 12),
            ("costs $5' rest", 9),
            ("${name}-x' rest", 10),
            ("${concat('a', '}')}' rest", 20),
            ("${ {a: 1}.a }' rest", 14),
            ("${x\n}' rest", 6),
            ("trailing \\", 10),
            ("", 0),
        ];
        for (text, end) in cases {
            assert_eq!(skip_string(text.as_bytes(), 0), end, "{text:?}");
        }
    }

    #[test]
    fn hostile_text_never_panics_and_stays_linear() {
        for text in [
            "'",
            "'''",
            "{{{{",
            "}}}}",
            "resource x 'a' = {",
            "param",
            "é'${'}",
            "/*",
        ] {
            let found = declarations(text);
            for d in found {
                if let Some(body) = d.body {
                    let _ = deepest_written(text, body, &["a", "b"]);
                }
            }
        }
        let deep = "[".repeat(100_000);
        assert!(declarations(&deep).is_empty());
        // Interpolations nested far deeper than any stack allows.
        let nested = "x = '${".repeat(500_000);
        let _ = declarations(&nested);
        let _ = references(&nested);
        // Thousands of directives in a row above one long line, and directives each
        // above a line that opens a bracket: each is covered in time linear in the
        // file (quadratic before, when every directive looked ahead on its own).
        let mut many = "// trustlint-ignore STG001: r\n".repeat(50_000);
        many.push_str(&"x: { a: 1 } ".repeat(50_000));
        let found = comment_suppressions(&many);
        assert_eq!(found.len(), 50_000);
        assert!(found.iter().all(|s| s.scope == found[0].scope));
        let alternating = "// trustlint-ignore STG001: r\nx: {\n".repeat(50_000);
        assert_eq!(comment_suppressions(&alternating).len(), 50_000);
    }
}
