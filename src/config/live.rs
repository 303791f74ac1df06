//! The configuration in force, replaceable at run time by a reload.

use std::sync::{Arc, RwLock};

use super::Config;

/// The configuration in force; readers get a cheap `Arc`, a reload swaps it.
#[derive(Debug)]
pub struct LiveConfig(RwLock<Arc<Config>>);

impl LiveConfig {
    pub fn new(config: Arc<Config>) -> LiveConfig {
        LiveConfig(RwLock::new(config))
    }

    /// The configuration in force now.
    pub fn get(&self) -> Arc<Config> {
        self.0
            .read()
            .map(|c| c.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Puts `config` in force.
    pub fn set(&self, config: Arc<Config>) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = config;
    }
}
