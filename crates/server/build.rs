//! Builds the web UI (`web/`, React + Vite) into `web/dist`, which the binary embeds, when `dist` is
//! missing or older than any of its sources: `npm ci` when `node_modules` is missing or older than the
//! lock file, then `npm run build` (`tsc --noEmit`, Vite, then brotli/gzip copies of each file). A failing build — a type error included —
//! fails the cargo build: a UI that does not type-check is never embedded. Only without Node (npm cannot
//! be run) is the previous `dist` kept, or a page saying how to build the UI written, so Rust work never
//! needs Node. `BOOCODE_SKIP_WEB_BUILD=1` skips it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

const SOURCES: &[&str] = &[
    "src",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "compress.mjs",
];

fn newest(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .flatten()
        .filter_map(|e| newest(&e.path()))
        .max()
}

/// Why the UI was not built: Node is missing (tolerated), or the build itself failed (an error).
enum WebBuild {
    NoNode(String),
    Failed(String),
}

fn run(web: &Path, args: &[&str]) -> Result<(), WebBuild> {
    let status = Command::new("npm")
        .args(args)
        .current_dir(web)
        .status()
        .map_err(|e| {
            WebBuild::NoNode(format!("cannot run npm ({e}); install Node.js 20 or newer"))
        })?;
    if status.success() {
        Ok(())
    } else {
        Err(WebBuild::Failed(format!(
            "`npm {}` failed ({status})",
            args.join(" ")
        )))
    }
}

fn fallback(dist: &Path, why: &str) {
    let _ = std::fs::create_dir_all(dist);
    let page = format!(
        "<!doctype html><meta charset=\"utf-8\"><title>boocode</title><h1>boocode is running</h1>\
         <p>The web UI was not built: {}. Install Node.js 20 or newer and rebuild \
         (<code>cargo build</code> runs <code>npm ci &amp;&amp; npm run build</code> in <code>web/</code>).</p>\
         <p>The API is live at <code>/api</code>.</p>",
        why.replace('<', "&lt;")
    );
    let _ = std::fs::write(dist.join("index.html"), page);
    // Marks the page as a stand-in: the next build tries again.
    let _ = std::fs::write(dist.join(".fallback"), why);
}

fn main() {
    let web: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let dist = web.join("dist");
    for source in SOURCES {
        println!("cargo:rerun-if-changed={}", web.join(source).display());
    }
    println!("cargo:rerun-if-env-changed=BOOCODE_SKIP_WEB_BUILD");
    let built = newest(&dist.join("index.html"));
    if std::env::var_os("BOOCODE_SKIP_WEB_BUILD").is_some() {
        if built.is_none() {
            fallback(&dist, "BOOCODE_SKIP_WEB_BUILD is set");
        }
        return;
    }
    let sources = SOURCES.iter().filter_map(|s| newest(&web.join(s))).max();
    let stand_in = dist.join(".fallback").exists();
    let stale = stand_in
        || match (built, sources) {
            (Some(b), Some(s)) => s > b,
            (None, _) => true,
            (Some(_), None) => false,
        };
    if !stale {
        return;
    }
    let lock = newest(&web.join("package-lock.json"));
    let modules = newest(&web.join("node_modules/.package-lock.json"));
    let result = (|| {
        if modules.is_none() || lock > modules {
            run(&web, &["ci", "--no-fund", "--no-audit"])?;
        }
        run(&web, &["run", "build"])
    })();
    match result {
        Ok(()) => {}
        Err(WebBuild::NoNode(why)) => {
            println!("cargo:warning=web UI not rebuilt: {why}");
            if built.is_none() || stand_in {
                fallback(&dist, &why);
            }
        }
        Err(WebBuild::Failed(why)) => {
            eprintln!("the web UI failed to build (see the output above): {why}");
            std::process::exit(1);
        }
    }
}
