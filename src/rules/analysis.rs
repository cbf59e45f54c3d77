//! What the cross-resource rules derive from a whole template and then ask about per
//! target — who relies on a target's trusted-services bypass, and which API Management
//! control-plane uses need it — computed once per template, on first use, and kept in
//! [`Template::analysis`]. Recomputing the gateways' and factories' call lists per
//! target made linting quadratic in the resources.
//!
//! Only owned data lives here (spans and messages, by resource index), so the template
//! stays covariant in its lifetime.

use std::cell::OnceCell;
use std::collections::HashMap;

use crate::source::Span;
use crate::template::Template;

/// The per-template results, each filled on first use.
#[derive(Default)]
pub struct Analysis {
    /// By target index: the callers that rely on its bypass, where and who.
    trusted_path_callers: OnceCell<HashMap<usize, Vec<(Span, String)>>>,
    /// By vault index: the API Management control-plane uses that need its bypass.
    control_plane_uses: OnceCell<HashMap<usize, Vec<String>>>,
}

impl Analysis {
    /// The callers that rely on the trusted-services bypass of the resource at `target`.
    pub fn trusted_path_callers<'t>(
        template: &'t Template<'_>,
        target: usize,
    ) -> &'t [(Span, String)] {
        template
            .analysis
            .trusted_path_callers
            .get_or_init(|| crate::rules::common::collect_trusted_path_callers(template))
            .get(&target)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// What API Management reads from the vault at `vault` through the trusted path.
    pub fn control_plane_uses<'t>(template: &'t Template<'_>, vault: usize) -> &'t [String] {
        template
            .analysis
            .control_plane_uses
            .get_or_init(|| crate::rules::apim::control_plane::collect_bypass_uses(template))
            .get(&vault)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}
