//! The build budgets: release binaries stripped (no symbol table left in the ELF file) and built with LTO (the
//! release profile as cargo resolves it: the workspace's `Cargo.toml`, unless `CARGO_PROFILE_RELEASE_LTO` overrides).

use std::path::Path;

use object::{Object, ObjectSection};

/// Whether the binary at `path` carries no symbol table (`.symtab`); `None` when it cannot be read as ELF.
pub fn stripped(path: &Path) -> Option<bool> {
    let data = std::fs::read(path).ok()?;
    let file = object::File::parse(data.as_slice()).ok()?;
    Some(file.section_by_name(".symtab").is_none_or(|section| section.size() == 0))
}

/// The LTO setting of the release profile: `profile.release.lto` from the manifest, or the environment override.
pub fn release_lto(manifest: &str, env_override: Option<&str>) -> String {
    if let Some(value) = env_override {
        return value.to_owned();
    }
    let Ok(manifest) = manifest.parse::<toml::Table>() else { return "unreadable".to_owned() };
    match manifest.get("profile").and_then(|p| p.get("release")).and_then(|r| r.get("lto")) {
        Some(toml::Value::String(value)) => value.clone(),
        Some(toml::Value::Boolean(value)) => value.to_string(),
        // Cargo's default for release: LTO only within each crate ("thin local"), not across them.
        _ => "false".to_owned(),
    }
}

/// Whether an `lto` setting means LTO across crates.
pub fn is_cross_crate_lto(setting: &str) -> bool {
    matches!(setting, "fat" | "thin" | "true")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_release_profile_and_honours_the_override() {
        let manifest = "[profile.release]\nstrip = true\nlto = \"fat\"\n";
        assert_eq!(release_lto(manifest, None), "fat");
        assert_eq!(release_lto(manifest, Some("off")), "off");
        assert_eq!(release_lto("[profile.release]\nlto = true\n", None), "true");
        assert_eq!(release_lto("[workspace]\n", None), "false");
        assert!(is_cross_crate_lto("fat") && is_cross_crate_lto("thin") && is_cross_crate_lto("true"));
        assert!(!is_cross_crate_lto("false") && !is_cross_crate_lto("off"));
    }

    #[test]
    fn a_test_binary_with_symbols_is_not_stripped() {
        // This test binary is built by the test profile, which keeps its symbols.
        let me = std::env::current_exe().ok();
        assert_eq!(me.as_deref().and_then(stripped), Some(false));
        assert_eq!(stripped(Path::new("Cargo.toml")), None);
    }
}
