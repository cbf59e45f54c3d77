//! Parsing JSON with comments into jsonc-parser's span-carrying AST.

use jsonc_parser::ast::Value;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};

use crate::source::Span;

/// Why a text is not JSON: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub span: Span,
    pub message: String,
    /// The text nests deeper than the parser's limit (512 levels).
    pub too_deep: bool,
}

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
            Err(ParseFailure {
                span: Span::new(range.start, range.end.max(range.start)),
                message: if too_deep {
                    "nested deeper than 512 levels".to_owned()
                } else {
                    describe(e.kind())
                },
                too_deep,
            })
        }
    }
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
    }

    #[test]
    fn empty_text_is_no_value() {
        assert_eq!(parse("  ").unwrap(), None);
    }
}
