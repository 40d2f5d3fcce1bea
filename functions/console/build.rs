//! Gzips the console's assets and the API's OpenAPI document (infra/openapi.json) into OUT_DIR at
//! build time, so the function can answer `Accept-Encoding: gzip` with bytes it already has.

use std::io::Write;

/// The console's files (assets/...), the catalogs of its languages included.
const ASSETS: [&str; 7] = [
    "index.html",
    "app.js",
    "app.css",
    "icon.svg",
    "i18n/i18n.js",
    "i18n/en.js",
    "i18n/ru.js",
];
/// The API's description, served at `GET /v1/openapi.json`.
const OPENAPI: &str = "../../infra/openapi.json";

fn main() -> std::io::Result<()> {
    let out = std::path::PathBuf::from(
        std::env::var_os("OUT_DIR")
            .ok_or_else(|| std::io::Error::other("cargo sets OUT_DIR for build scripts"))?,
    );
    std::fs::create_dir_all(out.join("i18n"))?;
    for name in ASSETS {
        gzip(&format!("assets/{name}"), &out.join(format!("{name}.gz")))?;
    }
    gzip(OPENAPI, &out.join("openapi.json.gz"))
}

fn gzip(path: &str, to: &std::path::Path) -> std::io::Result<()> {
    println!("cargo:rerun-if-changed={path}");
    let raw = std::fs::read(path)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&raw)?;
    std::fs::write(to, gz.finish()?)
}
