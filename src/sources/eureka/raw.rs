//! What the JSON and XML parsers read from a Eureka document before it becomes the
//! model: one instance's fields as they come (each key may come in any order, and
//! the last of a repeated key wins, as in a JSON object), an application's instances
//! and the errors found in them, and the rules that turn them into
//! [`InstanceSample`]s and [`AppSample`]s (identity, endpoint, lease, defaults).

use std::collections::BTreeMap;

use crate::model::{AppSample, InstanceSample, Lease, Ts};

/// A scalar field as the document wrote it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Field {
    /// `null`, or an empty XML element.
    Null,
    Str(String),
    /// A JSON number: its text as serde_json writes it, and its value as a
    /// non-negative whole number when it is one.
    Num(String, Option<u64>),
    Bool(bool),
    /// An object or a list (an XML element with attributes or children, or a
    /// repeated one).
    Compound,
}

impl Field {
    /// Non-blank text, trimmed (strings, numbers and booleans).
    pub(crate) fn text(self) -> Option<String> {
        match self {
            Field::Str(s) => trimmed(s),
            Field::Num(t, _) => Some(t),
            Field::Bool(b) => Some(b.to_string()),
            Field::Null | Field::Compound => None,
        }
    }

    /// A non-negative whole number written as a number or a decimal string.
    pub(crate) fn unsigned(&self) -> Option<u64> {
        match self {
            Field::Num(_, n) => *n,
            Field::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Text for the hashcode: any string as written, numbers and booleans as text.
    pub(crate) fn hashcode(self) -> Option<String> {
        match self {
            Field::Str(s) => Some(s),
            other => other.text(),
        }
    }
}

/// `s` trimmed, `None` when blank; no new allocation when there is nothing to trim.
pub(crate) fn trimmed(s: String) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        None
    } else if t.len() == s.len() {
        Some(s)
    } else {
        Some(t.to_string())
    }
}

/// A port: `{"$": 8080, "@enabled": "true"}` or bare.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Port {
    pub value: Option<u64>,
    pub enabled: Option<bool>,
}

impl Port {
    pub(crate) fn number(&self) -> Option<u16> {
        self.value.and_then(|p| u16::try_from(p).ok())
    }
}

/// `"true"`/`"false"` in any case, around blanks.
pub(crate) fn flag_text(s: &str) -> Option<bool> {
    match s.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The numbers of a `leaseInfo` object watchpost reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LeaseNums {
    pub last_renewal: Option<u64>,
    pub renewal: Option<u64>,
    pub duration: Option<u64>,
    pub interval: Option<u64>,
}

impl LeaseNums {
    fn lease(self) -> Option<Lease> {
        let pos = |n: Option<u64>| n.filter(|n| *n > 0);
        let lease = Lease {
            // Older codecs (Steeltoe) write `renewalTimestamp`.
            last_renewal_at: pos(self.last_renewal).or(pos(self.renewal)).map(Ts),
            duration_s: pos(self.duration),
            renewal_interval_s: pos(self.interval),
            age_s: None,
        };
        (lease != Lease::default()).then_some(lease)
    }
}

/// The keys of an instance object watchpost reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    InstanceId,
    App,
    HostName,
    IpAddr,
    Status,
    HealthCheckUrl,
    HomePageUrl,
    StatusPageUrl,
    Overridden,
    OverriddenLower,
    ActionType,
    Port,
    SecurePort,
    Metadata,
    DataCenterInfo,
    LeaseInfo,
    LeaseInfoSnake,
    LastUpdated,
}

impl Key {
    pub(crate) fn of(name: &str) -> Option<Key> {
        Some(match name {
            "instanceId" => Key::InstanceId,
            "app" => Key::App,
            "hostName" => Key::HostName,
            "ipAddr" => Key::IpAddr,
            "status" => Key::Status,
            "healthCheckUrl" => Key::HealthCheckUrl,
            "homePageUrl" => Key::HomePageUrl,
            "statusPageUrl" => Key::StatusPageUrl,
            "overriddenStatus" => Key::Overridden,
            "overriddenstatus" => Key::OverriddenLower,
            "actionType" => Key::ActionType,
            "port" => Key::Port,
            "securePort" => Key::SecurePort,
            "metadata" => Key::Metadata,
            "dataCenterInfo" => Key::DataCenterInfo,
            "leaseInfo" => Key::LeaseInfo,
            "lease_info" => Key::LeaseInfoSnake,
            "lastUpdatedTimestamp" => Key::LastUpdated,
            _ => return None,
        })
    }
}

/// One instance object as read so far.
#[derive(Debug, Default)]
pub(crate) struct RawInstance {
    pub instance_id: Option<String>,
    pub app: Option<String>,
    pub host_name: Option<String>,
    pub ip_addr: Option<String>,
    /// Non-blank status as written (not trimmed).
    pub status: Option<String>,
    pub health_check_url: Option<String>,
    pub home_page_url: Option<String>,
    pub status_page_url: Option<String>,
    pub overridden: Option<String>,
    pub overridden_lower: Option<String>,
    pub action_type: Option<String>,
    pub port: Port,
    pub secure_port: Port,
    pub metadata: BTreeMap<String, String>,
    /// The AmazonInfo `instance-id` of `dataCenterInfo.metadata`.
    pub amazon_id: Option<String>,
    /// `leaseInfo` / `lease_info`: absent, present but not an object, or its numbers.
    pub lease_info: Option<Option<LeaseNums>>,
    pub lease_info_snake: Option<Option<LeaseNums>>,
    pub last_updated: Option<u64>,
}

impl RawInstance {
    /// Sets a scalar field (the keys read as text or as a number); a compound value
    /// given for any other key clears it.
    pub(crate) fn set(&mut self, key: Key, f: Field) {
        let slot = match key {
            Key::InstanceId => &mut self.instance_id,
            Key::App => &mut self.app,
            Key::HostName => &mut self.host_name,
            Key::IpAddr => &mut self.ip_addr,
            Key::HealthCheckUrl => &mut self.health_check_url,
            Key::HomePageUrl => &mut self.home_page_url,
            Key::StatusPageUrl => &mut self.status_page_url,
            Key::Overridden => &mut self.overridden,
            Key::OverriddenLower => &mut self.overridden_lower,
            Key::ActionType => &mut self.action_type,
            Key::Status => {
                self.status = status_text(f);
                return;
            }
            Key::LastUpdated => {
                self.last_updated = f.unsigned();
                return;
            }
            Key::Port => return self.port = bare_port(&f),
            Key::SecurePort => return self.secure_port = bare_port(&f),
            Key::Metadata => return self.metadata.clear(),
            Key::DataCenterInfo => return self.amazon_id = None,
            Key::LeaseInfo => return self.lease_info = Some(None),
            Key::LeaseInfoSnake => return self.lease_info_snake = Some(None),
        };
        *slot = f.text();
    }

    /// The instance, or `None` when it has no identity.
    pub(crate) fn finish(self, app: &str) -> Option<InstanceSample> {
        let instance_id = self
            .instance_id
            .or(self.amazon_id)
            .or_else(|| self.host_name.clone())?;
        let lease = match self.lease_info {
            Some(info) => info,
            None => self.lease_info_snake.flatten(),
        };
        let port = match (self.port.enabled, self.secure_port.enabled) {
            (Some(false), Some(true)) => self.secure_port.number(),
            _ => self.port.number(),
        };
        let endpoint = self.ip_addr.as_deref().zip(port);
        Some(InstanceSample {
            instance_id,
            app: self.app.unwrap_or_else(|| app.to_string()),
            host_name: self.host_name,
            endpoint: endpoint.map(|(ip, port)| super::lease::join(ip, port)),
            ip_addr: self.ip_addr,
            port: self.port.number(),
            status: self.status.unwrap_or_else(|| "UNKNOWN".to_string()),
            health_check_url: self.health_check_url,
            home_page_url: self.home_page_url,
            status_page_url: self.status_page_url,
            metadata: self.metadata,
            overridden_status: self.overridden.or(self.overridden_lower),
            action_type: self.action_type,
            lease: lease.and_then(LeaseNums::lease),
            last_updated_at: self.last_updated.filter(|n| *n > 0).map(Ts),
        })
    }
}

/// The status as written when it is not blank.
fn status_text(f: Field) -> Option<String> {
    match f {
        Field::Str(s) if s.trim().is_empty() => None,
        Field::Str(s) => Some(s),
        other => other.text(),
    }
}

/// A port written as a bare value (anything but an object).
fn bare_port(f: &Field) -> Port {
    Port {
        value: f.unsigned(),
        enabled: None,
    }
}

/// Why an application's instances cannot be used; formatted once its name is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InstanceError {
    /// `instance` is neither an object nor a list.
    Shape,
    /// Instance #n is not an object.
    NotObject(usize),
    /// Instance #n has no identity.
    NoIdentity(usize),
}

/// An application's `instance` value as read: its instances with no `app` of their
/// own still to be named, the first error, and the first instance's `app`.
#[derive(Debug, Default)]
pub(crate) struct RawInstances {
    pub list: Vec<InstanceSample>,
    pub error: Option<InstanceError>,
    pub first_app: Option<String>,
    /// Positions in `list` of instances without an `app`.
    pub unnamed: Vec<usize>,
}

impl RawInstances {
    /// Adds the instance at position `pos` (1-based, nulls counted).
    pub(crate) fn push(&mut self, raw: RawInstance, pos: usize) {
        if self.first_app.is_none() {
            self.first_app.clone_from(&raw.app);
        }
        if self.error.is_some() {
            return;
        }
        let named = raw.app.is_some();
        match raw.finish("") {
            Some(inst) => {
                if !named {
                    self.unnamed.push(self.list.len());
                }
                self.list.push(inst);
            }
            None => self.fail(InstanceError::NoIdentity(pos)),
        }
    }

    /// Records an error unless an earlier one is already recorded.
    pub(crate) fn fail(&mut self, e: InstanceError) {
        if self.error.is_none() {
            self.error = Some(e);
            self.list = Vec::new();
        }
    }
}

/// Why a whole document cannot be used at the level of its applications.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppError {
    /// Application #n is not an object.
    NotObject(usize),
    /// Application #n has neither a name nor an instance with an `app`.
    NoName(usize),
}

impl AppError {
    pub(crate) fn message(self) -> String {
        match self {
            AppError::NotObject(pos) => {
                format!("Eureka answer is unusable: application #{pos} is not a JSON object")
            }
            AppError::NoName(pos) => {
                format!("Eureka answer is unusable: application #{pos} has no name")
            }
        }
    }
}

/// One application: its name (or its first instance's `app`) and its instances or
/// their error; the document's error when it has no name at all.
pub(crate) fn app_sample(
    name: Option<String>,
    instances: RawInstances,
    pos: usize,
) -> Result<AppSample, AppError> {
    let name = name.or(instances.first_app).ok_or(AppError::NoName(pos))?;
    let instances = match instances.error {
        Some(e) => Err(instance_error(&name, e)),
        None => {
            let mut list = instances.list;
            for i in instances.unnamed {
                list[i].app.clone_from(&name);
            }
            Ok(list)
        }
    };
    Ok(AppSample { name, instances })
}

fn instance_error(app: &str, e: InstanceError) -> String {
    match e {
        InstanceError::Shape => {
            format!("application {app}: \"instance\" is neither an object nor a list")
        }
        InstanceError::NotObject(pos) => {
            format!("application {app}: instance #{pos} is not an object")
        }
        InstanceError::NoIdentity(pos) => format!(
            "application {app}: instance #{pos} has no instanceId, no dataCenterInfo \
             instance-id and no hostName, so it cannot be identified"
        ),
    }
}
