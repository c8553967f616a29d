//! Building for deployment (README, "Deploy"): `cargo xtask build-lambda` installs the pinned cargo-lambda (with
//! zig, from PyPI) and the pinned SAM CLI into project virtualenvs and runs `sam build` exactly as `sam deploy` needs,
//! so nobody has to get `PATH` right by hand. The test suite runs the same wiring on one function, unoptimized
//! (`check_wiring`), so a broken template or tool chain fails a test run without paying for the whole build.
//!
//! What the wiring must get right (SAM CLI 1.170.0, aws-lambda-builders 1.67.0, cargo-lambda 1.9.2):
//! - SAM runs `cargo lambda build --release --arm64 --bin <Binary>` once per function in the workspace root, with
//!   SAM's environment; `cargo` finds `cargo-lambda` on `PATH`, so the cargo-lambda venv comes first.
//! - cargo-lambda finds zig as `python3 -m ziglang` with the first `python3` on `PATH`, unless
//!   `CARGO_ZIGBUILD_PYTHON_PATH` names one: we name the cargo-lambda venv's, whatever the `PATH` order.
//! - Missing zig makes cargo-lambda offer to install it (interactively in a terminal): stdin is closed and zig is
//!   checked first, so it fails at once with a clear message instead.
//! - `RUSTFLAGS` would replace cargo-lambda's `target-cpu` for Graviton: it is cleared.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::tools::{path_with, root, run, say, target_dir, venv};

/// The function the suite builds to check the wiring: any would do, all link the same crates.
const WIRING_FUNCTION: &str = "SweepStuckMessagesFunction";

/// The virtualenvs: cargo-lambda with zig, and the SAM CLI.
struct Tools {
    lambda: PathBuf,
    sam: PathBuf,
}

/// Installs both pinned tool sets (once; again when their requirement files change) and Rust's aarch64 target.
fn install() -> Result<Tools, String> {
    let lambda = venv(".venv-lambda", "tools/cargo-lambda/requirements.txt")?;
    let sam = venv(".venv-sam", "tools/sam/requirements.txt")?;
    run(
        "rustup target add aarch64-unknown-linux-gnu (Lambda runs on arm64; nothing to do once added)",
        Command::new("rustup").args(["target", "add", "aarch64-unknown-linux-gnu"]),
    )?;
    let zig = Command::new(lambda.join("bin/python3"))
        .args(["-m", "ziglang", "version"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("checking zig: {e}"))?;
    if !zig.status.success() {
        return Err(format!(
            "zig is missing from .venv-lambda ({}): delete .venv-lambda and run this again",
            String::from_utf8_lossy(&zig.stderr).trim()
        ));
    }
    say(&format!("zig {} (from .venv-lambda) cross-links for arm64", String::from_utf8_lossy(&zig.stdout).trim()));
    Ok(Tools { lambda, sam })
}

impl Tools {
    /// Runs `command` with the wiring above: cargo-lambda first on `PATH`, zig's python named, no `RUSTFLAGS`.
    fn wire<'c>(&self, command: &'c mut Command) -> &'c mut Command {
        command
            .env("PATH", path_with(&self.lambda.join("bin")))
            .env("CARGO_ZIGBUILD_PYTHON_PATH", self.lambda.join("bin/python3"))
            .env("SAM_CLI_TELEMETRY", "0")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("SAM_BUILD_MODE")
            .stdin(Stdio::null())
    }

    /// `cargo lambda build` of one binary exactly as SAM runs it for its function (release, arm64), in a run whose
    /// progress cargo shows: SAM shows cargo's output only if the build fails, so without this a cold build would
    /// be minutes of silence. SAM's own run for that function then finds it built. (One run per binary, as SAM
    /// does: a run building several binaries at once leaves each to be linked again by SAM's run.)
    fn cargo_lambda_build(&self, binary: &str) -> Command {
        let mut build = crate::tools::cargo();
        build.args(["lambda", "build", "--release", "--arm64", "--bin", binary]);
        self.wire(&mut build);
        build
    }

    /// `sam build` of `template.yaml`; `args` choose what and where.
    fn sam_build(&self, args: &[&str]) -> Command {
        let mut build = Command::new(self.sam.join("bin/sam"));
        build.arg("build").args(args).args(["--template-file", "template.yaml"]);
        self.wire(&mut build);
        build
    }
}

/// `cargo xtask build-lambda`: every function, optimized, into `.aws-sam/build/`, where `sam deploy` looks.
pub fn build() -> Result<(), String> {
    let tools = install()?;
    // SAM cannot pass --locked: check that Cargo.lock is current before anything builds.
    run(
        "checking that Cargo.lock is current",
        crate::tools::cargo().args(["metadata", "--locked", "--format-version", "1"]).stdout(Stdio::null()),
    )?;
    let functions = template_functions()?;
    say(
        "building the eight functions, release, arm64: about 19 minutes on 2 cores, most of it the eight fat-LTO links",
    );
    for (i, (_, binary)) in functions.iter().enumerate() {
        let what = format!("cargo lambda build --bin {binary} ({} of {})", i + 1, functions.len());
        run(&what, &mut tools.cargo_lambda_build(binary))?;
    }
    run("sam build (each function is already built: SAM packages them)", &mut tools.sam_build(&[]))?;
    say(
        "built into .aws-sam/build/: deploy with `.venv-sam/bin/sam deploy --guided` the first time, then `.venv-sam/bin/sam deploy`",
    );
    Ok(())
}

/// `cargo xtask build-lambda --tools-only`: installs the tools, and says how to put cargo-lambda on `PATH`.
pub fn tools_only() -> Result<(), String> {
    let tools = install()?;
    println!("export PATH=\"{}:$PATH\"", tools.lambda.join("bin").display());
    Ok(())
}

/// The suite's check: the deployment build of one function, with the release profile made cheap (no LTO, no
/// optimization) and a target folder of its own so it never rebuilds the deployment's artifacts; then checks that
/// the `bootstrap` SAM packaged is an arm64 Linux executable.
pub fn check_wiring() -> Result<(), String> {
    let tools = install()?;
    let dir = target_dir().join("lambda-wiring");
    let build_dir = dir.join("sam");
    let cheap = [
        ("CARGO_TARGET_DIR", dir.display().to_string()),
        ("CARGO_PROFILE_RELEASE_LTO", "off".to_owned()),
        ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0".to_owned()),
        ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16".to_owned()),
    ];
    let (_, binary) = template_functions()?
        .into_iter()
        .find(|(id, _)| id == WIRING_FUNCTION)
        .ok_or(format!("template.yaml has no {WIRING_FUNCTION}"))?;
    run(
        &format!("cargo lambda build of {binary}, unoptimized, to check the deployment build's wiring"),
        tools.cargo_lambda_build(&binary).envs(cheap.clone()),
    )?;
    run(
        &format!("sam build {WIRING_FUNCTION} (the same wiring as `cargo xtask build-lambda`)"),
        tools.sam_build(&[WIRING_FUNCTION, "--build-dir", &build_dir.display().to_string()]).envs(cheap),
    )?;
    is_arm64_linux_executable(&build_dir.join(WIRING_FUNCTION).join("bootstrap"))
}

fn is_arm64_linux_executable(path: &Path) -> Result<(), String> {
    use object::{Architecture, BinaryFormat, Object};
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e} (sam build made no bootstrap)", path.display()))?;
    let file = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    match (file.format(), file.architecture()) {
        (BinaryFormat::Elf, Architecture::Aarch64) => Ok(()),
        (format, architecture) => {
            Err(format!("{}: a {format:?} {architecture:?} file, not the arm64 ELF Lambda runs", path.display()))
        }
    }
}

/// The functions `template.yaml` builds with cargo-lambda: (logical id, binary).
pub fn template_functions() -> Result<Vec<(String, String)>, String> {
    let text = std::fs::read_to_string(root().join("template.yaml")).map_err(|e| format!("template.yaml: {e}"))?;
    let template: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| format!("template.yaml: {e}"))?;
    let resources = template["Resources"].as_mapping().ok_or("template.yaml has no Resources")?;
    Ok(resources
        .iter()
        .filter(|(_, resource)| resource["Metadata"]["BuildMethod"].as_str() == Some("rust-cargolambda"))
        .filter_map(|(id, resource)| {
            Some((id.as_str()?.to_owned(), resource["Metadata"]["BuildProperties"]["Binary"].as_str()?.to_owned()))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary targets of the workspace's packages, by name.
    fn workspace_binaries() -> Vec<String> {
        let output = crate::tools::cargo()
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .current_dir(root())
            .output()
            .expect("cargo metadata");
        let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata's JSON");
        let packages = metadata["packages"].as_array().expect("packages");
        let targets = packages.iter().flat_map(|package| package["targets"].as_array().into_iter().flatten());
        let binaries =
            targets.filter(|target| target["kind"].as_array().is_some_and(|kinds| kinds.contains(&"bin".into())));
        binaries.filter_map(|target| target["name"].as_str().map(str::to_owned)).collect()
    }

    #[test]
    fn every_function_the_template_builds_names_a_binary_of_the_workspace() {
        let functions = template_functions().expect("template.yaml");
        assert_eq!(functions.len(), 8, "eight functions: {functions:?}");
        let binaries = workspace_binaries();
        for (id, binary) in &functions {
            assert!(binaries.contains(binary), "{id} builds `{binary}`, which no package of the workspace has");
        }
        assert!(
            functions.iter().any(|(id, _)| id == WIRING_FUNCTION),
            "the wiring check builds a function that exists"
        );
    }

    #[test]
    fn a_file_that_is_not_an_executable_is_refused() {
        let path = std::env::temp_dir().join(format!("lightotp-bootstrap-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "#!/bin/sh\necho not a binary\n").expect("a scratch file");
        assert!(is_arm64_linux_executable(&path).is_err(), "a script is not what Lambda runs");
        assert!(is_arm64_linux_executable(&path.with_extension("missing")).is_err(), "no file at all");
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn an_executable_for_another_architecture_is_refused() {
        let this_test = std::env::current_exe().expect("the test binary");
        let refusal = is_arm64_linux_executable(&this_test).expect_err("the tests are built for x86_64");
        assert!(refusal.contains("not the arm64 ELF"), "{refusal}");
    }
}
