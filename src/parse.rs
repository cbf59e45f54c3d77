//! Parsing JSON with comments into jsonc-parser's span-carrying AST.

use jsonc_parser::ast::Value;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};

use crate::source::Span;

/// Why a text is not JSON: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub span: Span,
    pub message: String,
    /// The text nests deeper than the parser's limit.
    pub too_deep: bool,
    /// A `\uD800`-style escape of a lone surrogate: ARM accepts it (see
    /// [`mend_lone_surrogates`]), jsonc-parser does not.
    pub lone_surrogate: bool,
}

/// The nesting limit, in levels of arrays and objects as a user counts them.
pub const MAX_NESTING: usize = 512;

/// The JSON dialect Azure deploys: standard JSON plus `//` and `/* */` comments,
/// trailing commas and raw line breaks inside strings. Nothing looser (no single
/// quotes, unquoted keys, hex numbers or missing commas), because Azure rejects those.
// `..Default::default()` keeps compiling when a minor release adds an option.
#[allow(clippy::needless_update)]
fn options() -> ParseOptions {
    ParseOptions {
        allow_comments: true,
        allow_trailing_commas: true,
        allow_loose_object_property_names: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
        ..Default::default()
    }
}

/// Parses `text`. Nesting deeper than 512 levels is a [`ParseFailure`], never a stack
/// overflow (jsonc-parser enforces the limit). An empty document is `Ok(None)`.
pub fn parse(text: &str) -> Result<Option<Value<'_>>, ParseFailure> {
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    match jsonc_parser::parse_to_ast(text, &collect, &options()) {
        Ok(result) => Ok(result.value),
        Err(e) => {
            let range = e.range();
            let too_deep = matches!(
                e.kind(),
                jsonc_parser::errors::ParseErrorKind::NestingDepthExceeded
            );
            let message = describe(e.kind());
            let lone_surrogate = message.contains("unpaired");
            if too_deep {
                return Err(depth_failure(text));
            }
            Err(ParseFailure {
                span: Span::new(range.start, range.end.max(range.start)),
                message,
                too_deep,
                lone_surrogate,
            })
        }
    }
}

/// jsonc-parser counts an object twice (the object and the property holding each
/// value), so it stops at 256 levels of objects. Count the nesting as a user would, and
/// say where it goes past [`MAX_NESTING`] — or, when it does not, how deep it is and
/// that trustlint reads objects only half as deep.
fn depth_failure(text: &str) -> ParseFailure {
    let (deepest, at, past_limit) = nesting(text);
    let (offset, message) = match past_limit {
        Some(offset) => (offset, format!("nested deeper than {MAX_NESTING} levels")),
        None => (
            at,
            format!(
                "objects nested {deepest} levels deep: trustlint reads at most {} levels of objects",
                MAX_NESTING / 2
            ),
        ),
    };
    ParseFailure {
        span: Span::new(offset, offset + 1),
        message,
        too_deep: true,
        lone_surrogate: false,
    }
}

/// The deepest nesting of arrays and objects (strings and comments skipped), where it
/// is reached, and where it first goes past [`MAX_NESTING`], if it does. A loop, not
/// recursion.
fn nesting(text: &str) -> (usize, usize, Option<usize>) {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut at, mut past) = (0usize, 0usize, 0usize, None);
    let mut i = 0;
    while i < bytes.len() {
        if let Some(end) = comment_end(bytes, i) {
            i = end;
            continue;
        }
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'[' | b'{' => {
                depth += 1;
                if depth > deepest {
                    deepest = depth;
                    at = i;
                }
                if depth > MAX_NESTING && past.is_none() {
                    past = Some(i);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (deepest, at, past)
}

/// Where the comment starting at `i` ends (after its `*/`, or at the line break of a
/// `//` comment), if one starts there; the end of the text for an unclosed one.
fn comment_end(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i..i + 2)? {
        b"//" => Some(memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n)),
        b"/*" => Some(
            memchr::memmem::find(&bytes[i + 2..], b"*/").map_or(bytes.len(), |n| i + 2 + n + 2),
        ),
        _ => None,
    }
}

/// Rewrites every `\uXXXX` escape of a lone surrogate inside a string to `\uFFFD` (the
/// replacement character, as ARM's .NET reader substitutes when it encodes the text):
/// the same six bytes, so every span stays where it was. `None` when there is none.
pub fn mend_lone_surrogates(text: &str) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    let hex = |b: &[u8]| -> Option<u16> {
        std::str::from_utf8(b.get(..4)?)
            .ok()
            .and_then(|h| u16::from_str_radix(h, 16).ok())
    };
    let unit_at = |bytes: &[u8], i: usize| -> Option<u16> {
        (bytes.get(i) == Some(&b'\\') && bytes.get(i + 1) == Some(&b'u'))
            .then(|| hex(&bytes[i + 2..]))
            .flatten()
    };
    let mut changed = false;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        // Comments, whose quotes do not open strings.
        if let Some(end) = comment_end(&bytes, i).filter(|_| !in_string) {
            i = end;
            continue;
        }
        match bytes[i] {
            b'"' => in_string = !in_string,
            b'\\' if in_string => {
                if let Some(unit) = unit_at(&bytes, i) {
                    let high = (0xD800..0xDC00).contains(&unit);
                    let paired = high
                        && unit_at(&bytes, i + 6).is_some_and(|u| (0xDC00..0xE000).contains(&u));
                    if paired {
                        i += 12;
                        continue;
                    }
                    if (0xD800..0xE000).contains(&unit) {
                        bytes[i + 2..i + 6].copy_from_slice(b"FFFD");
                        changed = true;
                    }
                    i += 6;
                    continue;
                }
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    changed.then(|| String::from_utf8(bytes).unwrap_or_default())
}

/// A lowercase message for a parse error kind.
fn describe(kind: &jsonc_parser::errors::ParseErrorKind) -> String {
    let text = kind.to_string();
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => "invalid JSON".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_real_templates_contain() {
        let text = "{\n  // a comment\n  \"a\": \"line\nbreak\", /* b */ \"b\": [1, 2,],\n}";
        assert!(parse(text).unwrap().is_some());
    }

    #[test]
    fn rejects_missing_comma_with_position() {
        let err = parse("{\"a\": 1 \"b\": 2}").unwrap_err();
        assert_eq!(err.message, "expected comma");
        assert_eq!(
            err.span.start, 7,
            "right after the value that needs a comma"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&text).unwrap_err();
        assert!(err.too_deep);
        assert_eq!(err.message, "nested deeper than 512 levels");
        assert_eq!(err.span.start, 512, "where level 513 opens");
    }

    #[test]
    fn object_depth_is_counted_as_a_user_would() {
        let text = format!("{}1{}", "{\"a\":".repeat(300), "}".repeat(300));
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.message,
            "objects nested 300 levels deep: trustlint reads at most 256 levels of objects"
        );
        let text = format!("{}1{}", "{\"a\":".repeat(200), "}".repeat(200));
        assert!(parse(&text).is_ok());
    }

    #[test]
    fn lone_surrogates_are_mended_in_place() {
        let text = r#"{"a": "x\ud800y", "b": "\ud83d\ude00", "c": "\\ud800", "d": "\udc00"}"#;
        let err = parse(text).unwrap_err();
        assert!(err.lone_surrogate, "{}", err.message);
        let mended = mend_lone_surrogates(text).unwrap();
        assert_eq!(mended.len(), text.len());
        assert_eq!(
            mended,
            r#"{"a": "x\uFFFDy", "b": "\ud83d\ude00", "c": "\\ud800", "d": "\uFFFD"}"#
        );
        assert!(parse(&mended).is_ok());
        let commented = "{ /* a \" quote */ \"a\": \"\\ud800\" // \"\n}";
        assert!(parse(&mend_lone_surrogates(commented).unwrap()).is_ok());
    }

    #[test]
    fn empty_text_is_no_value() {
        assert_eq!(parse("  ").unwrap(), None);
    }
}
