//! Compiles `docs/openapi.yaml` into the function as JSON: the dashboard's API reference page (`/dashboard/docs`)
//! is rendered from the very document the suite lints and checks answers against, without a YAML parser at run time.

fn main() {
    // Read at run time: a build script compiled by another clone (a shared CARGO_TARGET_DIR) must read this one's.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let source = std::path::Path::new(&manifest).join("../../docs/openapi.yaml");
    println!("cargo::rerun-if-changed={}", source.display());
    let text = std::fs::read_to_string(&source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
    let document: serde_json::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", source.display()));
    // JSON objects lose the document's order; the paths' order is kept beside it (YAML mappings keep it).
    let ordered: serde_yaml::Value =
        serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", source.display()));
    let paths: Vec<String> = ordered
        .get("paths")
        .and_then(serde_yaml::Value::as_mapping)
        .map(|paths| paths.keys().filter_map(serde_yaml::Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let compiled = serde_json::json!({ "document": document, "paths": paths });
    let out =
        std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap_or_else(|_| ".".to_owned())).join("openapi.json");
    std::fs::write(&out, compiled.to_string()).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
