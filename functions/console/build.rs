//! Gzips the console's assets into OUT_DIR at build time, so the function can answer
//! `Accept-Encoding: gzip` with bytes it already has.

use std::io::Write;

const ASSETS: [&str; 4] = ["index.html", "app.js", "app.css", "icon.svg"];

fn main() -> std::io::Result<()> {
    let out = std::path::PathBuf::from(
        std::env::var_os("OUT_DIR")
            .ok_or_else(|| std::io::Error::other("cargo sets OUT_DIR for build scripts"))?,
    );
    for name in ASSETS {
        let path = format!("assets/{name}");
        println!("cargo:rerun-if-changed={path}");
        let raw = std::fs::read(&path)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&raw)?;
        std::fs::write(out.join(format!("{name}.gz")), gz.finish()?)?;
    }
    Ok(())
}
