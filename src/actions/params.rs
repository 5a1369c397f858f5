//! Checking the `key=value` parameters of a run against the action's specs.

use crate::config::ActionConfig;
use std::collections::BTreeMap;

/// What is wrong with a run's parameters; each list names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("missing: {missing:?}; invalid: {invalid:?}; unknown: {unknown:?}")]
pub struct ParamError {
    pub missing: Vec<String>,
    pub invalid: Vec<String>,
    pub unknown: Vec<String>,
}

/// The full parameter set of a run: `given` values checked against their
/// patterns, defaults filled in.
pub fn resolve(
    action: &ActionConfig,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ParamError> {
    let mut error = ParamError {
        missing: Vec::new(),
        invalid: Vec::new(),
        unknown: given
            .keys()
            .filter(|key| !action.params.contains_key(*key))
            .cloned()
            .collect(),
    };
    let mut resolved = BTreeMap::new();
    for (name, spec) in &action.params {
        match given.get(name).or(spec.default.as_ref()) {
            Some(value) if spec.accepts(value) => {
                resolved.insert(name.clone(), value.clone());
            }
            Some(_) => error.invalid.push(name.clone()),
            None if spec.required => error.missing.push(name.clone()),
            None => {}
        }
    }
    if error.missing.is_empty() && error.invalid.is_empty() && error.unknown.is_empty() {
        Ok(resolved)
    } else {
        Err(error)
    }
}
