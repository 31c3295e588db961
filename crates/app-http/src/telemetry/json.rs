//! [`FlatJson`]: one JSON object per log line, with the fields of every span the event is in
//! flattened next to the event's own, so `request_id` (of the `request` span) is a top-level field
//! a log pipeline can filter on, as `message` or `account.id` are.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format of `LOG_FORMAT=json`: `timestamp`, `level`, `target`, then the fields of the
/// spans from the outermost in (an inner span's field wins over an outer one of the same name),
/// then the event's fields (which win over both). Span fields must be recorded with
/// [`JsonFields`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FlatJson;

impl<S> FormatEvent<S, JsonFields> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = Map::new();
        let mut timestamp = String::new();
        if SystemTime
            .format_time(&mut Writer::new(&mut timestamp))
            .is_ok()
        {
            line.insert("timestamp".to_owned(), Value::String(timestamp));
        }
        let metadata = event.metadata();
        line.insert(
            "level".to_owned(),
            Value::String(metadata.level().as_str().to_owned()),
        );
        line.insert(
            "target".to_owned(),
            Value::String(metadata.target().to_owned()),
        );
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<JsonFields>>() else {
                    continue;
                };
                if let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&fields.fields) {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut EventFields(&mut line));
        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

/// Records an event's fields into the line. Records that came through the `log` crate (actix's)
/// carry their origin as `log.*` fields: the target replaces the bridge's, the rest is dropped.
struct EventFields<'a>(&'a mut Map<String, Value>);

impl EventFields<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "log.target" => {
                self.0.insert("target".to_owned(), value);
            }
            name if name.starts_with("log.") => {}
            name => {
                self.0.insert(name.to_owned(), value);
            }
        }
    }
}

impl Visit for EventFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};

    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Self;

        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    #[test]
    fn span_fields_are_flattened_next_to_the_event_s() {
        let lines = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .with_writer(lines.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let request = tracing::info_span!("request", request_id = "req_1", shadowed = 1);
            let _request = request.enter();
            let inner = tracing::info_span!("inner", shadowed = 2, late = tracing::field::Empty);
            let _inner = inner.enter();
            inner.record("late", "yes");
            tracing::info!(
                account.id = "acc_1",
                duration_ms = 5_u64,
                "request answered"
            );
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "request answered");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["request_id"], "req_1");
        assert_eq!(line["shadowed"], 2);
        assert_eq!(line["late"], "yes");
        assert_eq!(line["account.id"], "acc_1");
        assert_eq!(line["duration_ms"], 5);
        assert!(line["timestamp"].is_string());
        assert!(line["target"].as_str().unwrap().contains("json"));
    }
}
