//! The console's files, compiled in from `crates/app-http/console/`, each with its content type
//! and an `ETag` (the start of its SHA-256, computed once). A file added there is served only once
//! it is listed here; the integration test checks that every file on disk is.

use std::sync::LazyLock;

/// One file of the console.
pub(super) struct Asset {
    /// Its path under `/console/`.
    pub(super) path: &'static str,
    /// `Content-Type`.
    pub(super) content_type: &'static str,
    /// Its bytes.
    pub(super) bytes: &'static [u8],
    /// A strong validator of these bytes: `"` + 32 hex digits of their SHA-256 + `"`.
    pub(super) etag: String,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

/// `(path, content type, bytes)` of every file; the first is the page.
macro_rules! files {
    ($($path:literal => $type:expr),+ $(,)?) => {
        [$(($path, $type, include_bytes!(concat!("../../console/", $path)).as_slice())),+]
    };
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    files![
        "index.html" => HTML,
        "console.css" => CSS,
        "icon.svg" => SVG,
        "js/main.js" => JS,
        "js/api.js" => JS,
        "js/dom.js" => JS,
        "js/charts.js" => JS,
        "js/pages/signin.js" => JS,
        "js/pages/accounts.js" => JS,
        "js/pages/conversations.js" => JS,
        "js/pages/deliveries.js" => JS,
        "js/pages/rules.js" => JS,
        "js/pages/dashboard.js" => JS,
    ]
    .into_iter()
    .map(|(path, content_type, bytes)| Asset {
        path,
        content_type,
        bytes,
        etag: etag(bytes),
    })
    .collect()
});

/// The HTML shell of the page.
pub(super) fn shell() -> &'static Asset {
    // The list is a literal with the page first; it is never empty.
    &ASSETS[0]
}

/// The file at `path` under `/console/`, if the console has one.
pub(super) fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|asset| asset.path == path)
}

fn etag(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("\"{hex}\"")
}
