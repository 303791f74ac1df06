//! `${VAR}` substitution in string values. Problems name the variable, never
//! its value.

use super::reader::Env;

/// Replaces every `${NAME}` in `raw` with the value of environment variable
/// `NAME`. A `$` not followed by `{` is kept as is. Returns every problem
/// (unset variable, bad name, missing `}`) when there is at least one.
pub(super) fn substitute(raw: &str, env: Env<'_>) -> Result<String, Vec<String>> {
    let mut out = String::with_capacity(raw.len());
    let mut problems = Vec::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            problems.push("`${` has no closing `}`; write ${NAME}".to_string());
            rest = "";
            break;
        };
        let name = &after[..end];
        match lookup(name, env) {
            Ok(value) => out.push_str(&value),
            Err(problem) => problems.push(problem),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

fn lookup(name: &str, env: Env<'_>) -> Result<String, String> {
    if !is_variable_name(name) {
        return Err(format!(
            "`${{{name}}}` is not a valid variable reference; names use letters, \
             digits and `_` and do not start with a digit"
        ));
    }
    env(name).ok_or_else(|| {
        format!("environment variable {name} is not set (referenced as ${{{name}}})")
    })
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
