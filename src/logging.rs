//! Logging to standard error: `--log-format text|json`, the level from
//! `--log-level` or `RUST_LOG`, colour only on a terminal.
//!
//! The JSON format writes one object per line: `ts` (RFC 3339, UTC), `level`,
//! `target` (the Rust module), `message`, then the event's fields and the fields
//! of the spans it happened in (such as `target_id` of a poll). A field never
//! replaces one of the four first keys or a field closer to the event.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::str::FromStr;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines: time, level, message, fields.
    Text,
    /// One JSON object per line (for the journal or a log shipper).
    Json,
}

/// The default filter: `info`, with actix-server's own messages from `warn`.
pub fn default_filter() -> Targets {
    Targets::new()
        .with_default(tracing::Level::INFO)
        .with_target("actix_server", tracing::Level::WARN)
}

/// Parses a `--log-level` or `RUST_LOG` value (`LEVEL` and `TARGET=LEVEL`
/// entries, comma-separated).
pub fn parse_filter(text: &str) -> Result<Targets, String> {
    Targets::from_str(text).map_err(|e| {
        format!(
            "{text:?} is not a log filter ({e}); write e.g. \"warn\" or \"info,watchpost=debug\""
        )
    })
}

/// Installs the global subscriber. `level` (from `--log-level`) wins over
/// `RUST_LOG`; an unparsable `RUST_LOG` is reported and the default applies.
pub fn init(format: LogFormat, level: Option<Targets>) {
    let mut complaint = None;
    let filter = level.unwrap_or_else(|| match std::env::var("RUST_LOG") {
        Ok(v) => parse_filter(&v).unwrap_or_else(|e| {
            complaint = Some(e);
            default_filter()
        }),
        Err(_) => default_filter(),
    });
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(JsonLayer::new(std::io::stderr)).init(),
        LogFormat::Text => {
            let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let layer = tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(ansi)
                .with_writer(std::io::stderr);
            registry.with(layer).init()
        }
    }
    if let Some(e) = complaint {
        tracing::warn!("RUST_LOG ignored: {e}");
    }
}

/// A layer that writes each event as one JSON object per line to `W`.
pub struct JsonLayer<W> {
    make_writer: W,
}

impl<W> JsonLayer<W> {
    pub fn new(make_writer: W) -> JsonLayer<W> {
        JsonLayer { make_writer }
    }
}

/// The recorded fields of a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

/// Collects fields into a JSON map; `message` is kept like any other field.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let v = serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number);
        self.0.insert(field.name().into(), v);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

impl<S, W> Layer<S> for JsonLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut Fields(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut Fields(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_else(|| "".into());
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(SpanFields(f)) = span.extensions().get::<SpanFields>() {
                    add_missing(&mut fields, f);
                }
            }
        }
        let meta = event.metadata();
        let ts = humantime::format_rfc3339_micros(std::time::SystemTime::now());
        let first = [
            ("ts", Value::from(ts.to_string())),
            ("level", meta.level().as_str().into()),
            ("target", meta.target().into()),
            ("message", message),
        ];
        let text = line(first, fields);
        let _ = self.make_writer.make_writer().write_all(text.as_bytes());
    }
}

/// Adds each field of `from` that `to` does not have yet.
fn add_missing(to: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (k, v) in from {
        if !to.contains_key(k) {
            to.insert(k.clone(), v.clone());
        }
    }
}

/// One JSON object and a newline: the `first` keys in their order, then the other
/// fields (in name order) that do not reuse one of those keys.
fn line(first: [(&str, Value); 4], rest: Map<String, Value>) -> String {
    let mut out = String::from("{");
    let others = rest
        .iter()
        .filter(|(k, _)| !first.iter().any(|(f, _)| f == k));
    let all = first
        .iter()
        .map(|(k, v)| (*k, v))
        .chain(others.map(|(k, v)| (k.as_str(), v)));
    for (i, (k, v)) in all.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::from(k).to_string());
        out.push(':');
        out.push_str(&v.to_string());
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// The lines logged by `f` through a JSON layer, parsed.
    fn logged(f: impl FnOnce()) -> Vec<Value> {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(default_filter())
            .with(JsonLayer::new(buf.clone()));
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn one_object_per_line_with_span_fields() {
        let lines = logged(|| {
            let span = tracing::info_span!("poll", target_id = "haproxy/a/b", round = 3u64);
            let _in = span.enter();
            tracing::warn!(error = %"refused", round = 4u64, "fetch\nfailed");
            tracing::debug!("not at info");
        });
        assert_eq!(lines.len(), 1, "{lines:?}");
        let l = &lines[0];
        assert_eq!(l["level"], "WARN");
        assert_eq!(l["target"], "watchpost::logging::tests");
        assert_eq!(l["message"], "fetch\nfailed");
        assert_eq!(l["error"], "refused");
        assert_eq!(l["target_id"], "haproxy/a/b", "span field: {l}");
        assert_eq!(l["round"], 4, "the event's own field wins: {l}");
        let ts = l["ts"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(ts).is_ok(), "{ts}");
    }

    #[test]
    fn the_four_first_keys_come_first() {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(JsonLayer::new(buf.clone()));
        tracing::subscriber::with_default(subscriber, || tracing::info!(a = 1, "m"));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("{\"ts\":\""), "{text}");
        let tail = "\"level\":\"INFO\",\"target\":\"watchpost::logging::tests\",\"message\":\"m\",\"a\":1}\n";
        assert!(text.ends_with(tail), "{text}");
    }

    #[test]
    fn fields_never_replace_the_first_four_keys() {
        let lines = logged(|| {
            let span = tracing::info_span!("s", level = "span", message = "span");
            let _in = span.enter();
            tracing::info!(ts = 1, message_id = 2, "real");
        });
        let l = &lines[0];
        assert_eq!(
            (&l["level"], &l["message"], &l["target"]),
            (
                &"INFO".into(),
                &"real".into(),
                &"watchpost::logging::tests".into()
            ),
            "{l}"
        );
        assert!(l["ts"].is_string(), "{l}");
    }

    #[test]
    fn filters_parse_or_say_why() {
        assert!(parse_filter("warn,watchpost=debug").is_ok());
        let e = parse_filter("watchpost=loud").unwrap_err();
        assert!(e.contains("\"watchpost=loud\" is not a log filter"), "{e}");
    }
}
