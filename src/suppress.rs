//! Inline suppressions: read from the template, applied to the rules' findings.
//!
//! Three forms, each naming rule IDs and giving a reason after a colon:
//! - a comment on its own line before a resource or property:
//!   `// trustlint-ignore STG001: reason` covers that JSON node and everything in it;
//! - resource metadata: `"metadata": { "trustlint": { "ignore": ["STG001"], "reason": "…" } }`;
//! - a line `trustlint-ignore STG001: reason` in the resource's `metadata.description`,
//!   which is where Bicep puts a resource's `@description('…')` (Bicep drops comments).
//!
//! The metadata forms cover the resource object. A suppression without a reason, naming
//! an unknown rule, or covering no finding of an enabled rule is reported as `SUP001`.

use jsonc_parser::ast::{ObjectProp, Value as Ast};
use jsonc_parser::tokens::Token;
use jsonc_parser::{Scanner, ScannerOptions};

use crate::diagnostic::{Diagnostic, Level, Suppressed, SuppressionKind};
use crate::source::Span;
use crate::template::value::find_prop;
use crate::template::{span_of, Template};

/// The word that starts a directive.
pub const DIRECTIVE: &str = "trustlint-ignore";

/// Which form a suppression was written in (for SUP001's messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Comment,
    Metadata,
    Description,
}

/// One rule ID as written in a suppression, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRule {
    pub id: String,
    pub span: Span,
}

/// One inline suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub form: Form,
    pub rules: Vec<NamedRule>,
    /// The reason, trimmed; `None` when missing or empty.
    pub reason: Option<String>,
    /// What it covers: findings whose primary span lies inside.
    pub scope: Option<Span>,
    /// Where it is written: SUP001 points here.
    pub span: Span,
}

/// Whether the file may hold a suppression: the directive and the metadata key are
/// lowercase `trustlint…`, so one substring search (much faster than a
/// case-insensitive scan) rules most files out.
pub fn mentioned(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"trustlint").is_some()
}

/// Every suppression written in the file (call only when it is [`mentioned`]).
pub fn collect(text: &str, root: &Ast<'_>, template: &Template<'_>) -> Vec<Suppression> {
    let mut found = comment_suppressions(text, root);
    let mut seen = std::collections::HashSet::new();
    for resource in &template.resources {
        // Copy-loop instances share one object; read it once.
        if seen.insert(resource.span()) {
            found.extend(metadata_suppressions(resource.object, resource.span()));
        }
    }
    found.sort_by_key(|s| (s.span.start, s.span.end));
    found
}

/// `// trustlint-ignore …` and `/* trustlint-ignore … */` comments.
fn comment_suppressions(text: &str, root: &Ast<'_>) -> Vec<Suppression> {
    let mut scanner = Scanner::new(text, &ScannerOptions::default());
    // Every token with its span, and the comment's text for comments.
    let mut tokens: Vec<(Span, Option<&str>)> = Vec::new();
    while let Ok(Some(token)) = scanner.scan() {
        let span = Span::new(scanner.token_start(), scanner.token_end());
        let comment = match token {
            Token::CommentLine(c) | Token::CommentBlock(c) => Some(c),
            _ => None,
        };
        tokens.push((span, comment));
    }
    let mut out = Vec::new();
    for (i, (span, comment)) in tokens.iter().enumerate() {
        let Some(body) = comment else { continue };
        let Some(directive) = body.trim_start().strip_prefix(DIRECTIVE) else {
            continue;
        };
        let directive_offset =
            span.start as usize + 2 + (body.len() - body.trim_start().len()) + DIRECTIVE.len();
        let (rules, reason) = parse_directive(directive, Some(directive_offset));
        let own_line = text[..span.start as usize]
            .rsplit('\n')
            .next()
            .is_some_and(|before| before.trim().is_empty());
        let next = tokens[i + 1..]
            .iter()
            .find(|(_, comment)| comment.is_none());
        let scope = match next {
            Some((next, _)) if own_line => node_starting_at(root, next.start as usize),
            _ => None,
        };
        out.push(Suppression {
            form: Form::Comment,
            rules,
            reason,
            scope,
            span: *span,
        });
    }
    out
}

/// The suppressions in a resource's `metadata`.
fn metadata_suppressions(
    resource: &jsonc_parser::ast::Object<'_>,
    resource_span: Span,
) -> Vec<Suppression> {
    let mut out = Vec::new();
    let Some(Ast::Object(metadata)) = find_prop(resource, "metadata").map(|p| &p.value) else {
        return out;
    };
    if let Some(prop) = find_prop(metadata, "trustlint") {
        out.push(metadata_object(prop, resource_span));
    }
    if let Some(Ast::StringLit(description)) = find_prop(metadata, "description").map(|p| &p.value)
    {
        for line in description.value.lines() {
            let Some(directive) = line.trim_start().strip_prefix(DIRECTIVE) else {
                continue;
            };
            // Escapes in the JSON string make inner offsets unreliable: point at the string.
            let (rules, reason) = parse_directive(directive, None);
            let span = Span::new(description.range.start, description.range.end);
            out.push(Suppression {
                form: Form::Description,
                rules: rules.into_iter().map(|r| NamedRule { span, ..r }).collect(),
                reason,
                scope: Some(resource_span),
                span,
            });
        }
    }
    out
}

/// `"trustlint": { "ignore": ["STG001"] | "STG001", "reason": "…" }`.
fn metadata_object(prop: &ObjectProp<'_>, resource_span: Span) -> Suppression {
    let span = Span::new(prop.range.start, prop.range.end);
    let mut rules = Vec::new();
    let mut reason = None;
    if let Ast::Object(object) = &prop.value {
        // A list of IDs, or one string of them.
        let items: Vec<&Ast<'_>> = match find_prop(object, "ignore").map(|p| &p.value) {
            Some(Ast::Array(list)) => list.elements.iter().collect(),
            other => other.into_iter().collect(),
        };
        for item in items {
            if let Ast::StringLit(s) = item {
                rules.extend(split_ids(&s.value, span_of(item)));
            }
        }
        if let Some(Ast::StringLit(s)) = find_prop(object, "reason").map(|p| &p.value) {
            reason = Some(s.value.trim().to_owned()).filter(|r| !r.is_empty());
        }
    }
    Suppression {
        form: Form::Metadata,
        rules,
        reason,
        scope: Some(resource_span),
        span,
    }
}

fn split_ids(list: &str, span: Span) -> Vec<NamedRule> {
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| NamedRule {
            id: id.to_owned(),
            span,
        })
        .collect()
}

/// Parses what follows `trustlint-ignore`: `ID[, ID…][: reason]`. With `offset` (where
/// `rest` starts in the file), each ID gets its own span.
pub(crate) fn parse_directive(
    rest: &str,
    offset: Option<usize>,
) -> (Vec<NamedRule>, Option<String>) {
    let rest = rest.trim_end_matches("*/");
    let (ids, reason) = match rest.split_once(':') {
        Some((ids, reason)) => (ids, Some(reason.trim()).filter(|r| !r.is_empty())),
        None => (rest, None),
    };
    let mut rules = Vec::new();
    let mut at = 0;
    for part in ids.split([',', ' ', '\t']) {
        let start = at;
        at += part.len() + 1;
        if part.is_empty() {
            continue;
        }
        let span = offset.map_or(Span::new(0, 0), |o| {
            Span::new(o + start, o + start + part.len())
        });
        rules.push(NamedRule {
            id: part.to_owned(),
            span,
        });
    }
    (rules, reason.map(str::to_owned))
}

/// The property or value that starts at `offset`: a property covers its name and value.
fn node_starting_at(value: &Ast<'_>, offset: usize) -> Option<Span> {
    let range = span_of(value);
    if range.start as usize == offset {
        return Some(range);
    }
    match value {
        Ast::Object(object) => object.properties.iter().find_map(|p| {
            if p.range.start == offset {
                Some(Span::new(p.range.start, p.range.end))
            } else if span_of(&p.value).contains(offset) {
                node_starting_at(&p.value, offset)
            } else {
                None
            }
        }),
        Ast::Array(array) => array
            .elements
            .iter()
            .find(|e| span_of(e).contains(offset))
            .and_then(|e| node_starting_at(e, offset)),
        _ => None,
    }
}

/// Marks the findings that a suppression covers, and returns a SUP001 finding (rule ID
/// not yet set) for every suppression that gives no reason, names an unknown rule, or
/// covers no finding of a rule that `ran`. `diagnostics` are sorted by position.
pub fn apply(
    diagnostics: &mut [Diagnostic],
    suppressions: &[Suppression],
    ran: impl Fn(&str) -> bool,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for s in suppressions {
        let mut used = vec![false; s.rules.len()];
        if let Some(scope) = s.scope {
            // Diagnostics are sorted by start: visit only those starting in the scope.
            let first = diagnostics.partition_point(|d| d.span.start < scope.start);
            for d in diagnostics[first..]
                .iter_mut()
                .take_while(|d| d.span.start <= scope.end)
            {
                if !scope.encloses(d.span) {
                    continue;
                }
                for (i, r) in s.rules.iter().enumerate() {
                    if r.id.eq_ignore_ascii_case(d.rule) {
                        used[i] = true;
                        if d.suppressed.is_none() {
                            d.suppressed = Some(Suppressed {
                                kind: SuppressionKind::InSource,
                                justification: s.reason.clone().unwrap_or_default(),
                            });
                        }
                    }
                }
            }
        }
        problems.extend(problems_of(s, &used, &ran));
    }
    problems
}

/// Marks findings added after the file's own rules ran (the estate's, about calls to
/// targets in other files) that an inline suppression covers. Returns the spans of the
/// rule IDs that suppressed one: their "suppresses nothing" finding no longer holds.
pub fn apply_added(diagnostics: &mut [Diagnostic], suppressions: &[Suppression]) -> Vec<Span> {
    let mut used = Vec::new();
    for d in diagnostics.iter_mut() {
        for s in suppressions {
            if !s.scope.is_some_and(|scope| scope.encloses(d.span)) {
                continue;
            }
            for r in s.rules.iter().filter(|r| r.id.eq_ignore_ascii_case(d.rule)) {
                used.push(r.span);
                if d.suppressed.is_none() {
                    d.suppressed = Some(Suppressed {
                        kind: SuppressionKind::InSource,
                        justification: s.reason.clone().unwrap_or_default(),
                    });
                }
            }
        }
    }
    used
}

fn problems_of(s: &Suppression, used: &[bool], ran: &impl Fn(&str) -> bool) -> Vec<Diagnostic> {
    let example = match s.form {
        Form::Comment => "`// trustlint-ignore STG001: why this is safe`",
        Form::Metadata => {
            "`\"trustlint\": { \"ignore\": [\"STG001\"], \"reason\": \"why this is safe\" }`"
        }
        Form::Description => "a description line `trustlint-ignore STG001: why this is safe`",
    };
    let mut out = Vec::new();
    if s.rules.is_empty() {
        out.push(
            Diagnostic::new(
                Level::Warning,
                s.span,
                "this suppression names no rule, so it suppresses nothing",
            )
            .with_label("no rule ID")
            .with_help(format!("name the rules it is for: {example}")),
        );
        return out;
    }
    if s.scope.is_none() {
        out.push(
            Diagnostic::new(
                Level::Warning,
                s.span,
                "this suppression comment covers nothing: it must be on its own line, directly before a resource or property",
            )
            .with_label("covers nothing")
            .with_help("move the comment to its own line before the resource or property it is about"),
        );
    }
    if s.reason.is_none() {
        out.push(
            Diagnostic::new(
                Level::Warning,
                s.span,
                "this suppression gives no reason; say why the finding is safe to ignore, so reviewers can check it later",
            )
            .with_label("no reason")
            .with_help(format!("add the reason after a colon: {example}")),
        );
    }
    for (rule, was_used) in s.rules.iter().zip(used) {
        match crate::rules::find(&rule.id).map(|r| r.meta().id) {
            None => {
                let hint = crate::suggest(&rule.id)
                    .map(|id| format!("; did you mean `{id}`?"))
                    .unwrap_or_default();
                out.push(
                    Diagnostic::new(
                        Level::Warning,
                        rule.span,
                        format!(
                            "this suppression names `{}`, which is not a trustlint rule{hint}",
                            rule.id
                        ),
                    )
                    .with_label("unknown rule")
                    .with_help("use a rule ID from `trustlint rules`"),
                );
            }
            Some(id) if !was_used && s.scope.is_some() && ran(id) => {
                let scope = match s.form {
                    Form::Comment => "the node after it",
                    Form::Metadata | Form::Description => "this resource",
                };
                out.push(
                    Diagnostic::new(
                        Level::Warning,
                        rule.span,
                        format!("this suppression of {id} suppresses nothing: {id} reports nothing in {scope}"),
                    )
                    .with_label("suppresses nothing")
                    .with_help("remove the suppression, or move it before the resource or property the finding points at"),
                );
            }
            Some(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_ids_and_reason() {
        let (rules, reason) =
            parse_directive(" STG001, KV001 : only Azure Backup uses it ", Some(10));
        let ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["STG001", "KV001"]);
        assert_eq!(rules[0].span, Span::new(11, 17));
        assert_eq!(reason.as_deref(), Some("only Azure Backup uses it"));
        let (_, reason) = parse_directive(" STG001:  ", None);
        assert_eq!(reason, None);
        let (rules, reason) = parse_directive(" STG001 */", None);
        assert_eq!(rules.len(), 1);
        assert_eq!(reason, None);
    }

    #[test]
    fn a_comment_covers_the_next_property() {
        let text = "{\n  // trustlint-ignore A1: r\n  \"a\": { \"b\": 1 },\n  \"c\": 2\n}";
        let root = crate::parse::parse(text).unwrap().unwrap();
        let found = comment_suppressions(text, &root);
        assert_eq!(found.len(), 1);
        let scope = found[0].scope.unwrap();
        assert_eq!(
            &text[scope.start as usize..scope.end as usize],
            "\"a\": { \"b\": 1 }"
        );
    }

    #[test]
    fn a_trailing_comment_covers_nothing() {
        let text = "{\n  \"a\": 1, // trustlint-ignore A1: r\n  \"c\": 2\n}";
        let root = crate::parse::parse(text).unwrap().unwrap();
        assert_eq!(comment_suppressions(text, &root)[0].scope, None);
    }
}
