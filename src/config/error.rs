//! Configuration errors: each names the file, line and key it is about.

use std::fmt;

/// One problem found in a configuration file.
///
/// `line` is 1-based; 0 means the problem concerns the file as a whole (for
/// example, it cannot be read). `key` is a path such as `haproxy[1].retry.initial`
/// (array indexes count from 0) or `server.listen`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ConfigError {
    /// The configuration file, as given by the caller.
    pub file: String,
    /// The 1-based line of the key, or 0 when no line applies.
    pub line: usize,
    /// The dotted key path of the offending entry.
    pub key: String,
    /// What is wrong and how to fix it; never contains a secret value.
    pub message: String,
}

impl fmt::Display for ConfigError {
    /// `file:line: key: message`, or `file: message` for a problem with the whole
    /// file (line 0).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            0 => write!(f, "{}: {}", self.file, self.message),
            line => write!(f, "{}:{line}: {}: {}", self.file, self.key, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A finding that does not stop the configuration from being used (a weak admin
/// token, an API open beyond this machine): the same file, line, key and message.
pub type ConfigWarning = ConfigError;

/// Every problem found in a configuration file, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// The number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no problems (never the case for a returned error).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates over the problems.
    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl From<ConfigError> for ConfigErrors {
    fn from(error: ConfigError) -> Self {
        ConfigErrors(vec![error])
    }
}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
