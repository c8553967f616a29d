//! The examples of the README and of `docs/api.md`, run as printed (`cargo xtask test`, after the other tests): every
//! ```` ```sh ```` block of a document, in order, in one bash session per document, against the test stack. The only
//! change is the stack file's path: the examples read `.lightotp/stack.json`, which is swapped for the test stack's
//! file (and `LIGHTOTP_STACK_FILE` points `cargo xtask admin` at it). A line `#> text` shows what the command above
//! it prints: each must match a line of the output, in order, with `…` standing for any text. Blocks fenced as
//! ```` ```bash ```` are shown, not run.

use std::path::Path;
use std::process::Command;

use crate::tools::{root, say};

/// The documents whose examples are run, in this order.
const DOCUMENTS: [&str; 2] = ["README.md", "docs/api.md"];

/// The runnable examples of a document: one script, and the lines it must print.
#[derive(Debug, PartialEq)]
pub struct Examples {
    /// Every ```` ```sh ```` block, in order.
    pub script: String,
    /// Every `#> ` line, in order, without its marker.
    pub expected: Vec<String>,
}

/// The marker of an output line in an example.
const OUTPUT: &str = "#> ";

/// Collects the ```` ```sh ```` blocks of a document.
pub fn examples(document: &str) -> Examples {
    let mut script = String::new();
    let mut expected = Vec::new();
    let mut in_block = false;
    for line in document.lines() {
        if in_block {
            if line.trim_start().starts_with("```") {
                in_block = false;
            } else if let Some(output) = line.trim_start().strip_prefix(OUTPUT) {
                expected.push(output.to_owned());
            } else {
                script.push_str(line);
                script.push('\n');
            }
        } else if line.trim() == "```sh" {
            in_block = true;
        }
    }
    Examples { script, expected }
}

/// Whether `line` is `pattern`, where each `…` in the pattern stands for any text (or none).
pub fn matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split('…');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Checks that every expected line matches a line of `output`, in order; the error names the first that does not.
pub fn check(expected: &[String], output: &str) -> Result<(), String> {
    let mut lines = output.lines();
    for pattern in expected {
        if !lines.any(|line| matches(pattern, line)) {
            return Err(format!("it promises a line `{pattern}` that its examples did not print (in order)"));
        }
    }
    Ok(())
}

/// Runs the examples of every document against the stack of `stack_file` and checks what they print.
pub fn run(stack_file: &Path) -> Result<(), String> {
    DOCUMENTS.iter().try_for_each(|document| run_document(document, stack_file))
}

fn run_document(document: &str, stack_file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(root().join(document)).map_err(|e| format!("{document}: {e}"))?;
    let Examples { script, expected } = examples(&text);
    // Quoted, so that a checkout whose path has a space runs them too (the examples never quote the stack file).
    let quoted = format!("'{}'", stack_file.display());
    let script = format!("set -euo pipefail\n{}", script.replace(".lightotp/stack.json", &quoted));
    say(&format!("{document}'s examples, as printed, against the test stack ({} lines to check)", expected.len()));
    let output = Command::new("bash")
        .args(["-c", &script])
        .env("LIGHTOTP_STACK_FILE", stack_file)
        .current_dir(root())
        .output()
        .map_err(|e| format!("bash: {e}"))?;
    let printed = String::from_utf8_lossy(&output.stdout);
    let failure = if output.status.success() {
        check(&expected, &printed).err()
    } else {
        Some(format!("the examples stopped ({})", output.status))
    };
    match failure {
        None => Ok(()),
        Some(failure) => Err(format!(
            "{document}: {failure}\n--- what they printed ---\n{printed}\n--- on stderr ---\n{}",
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const README: &str = "# Title\n\n```sh\nA=1\necho \"$A\"\n#> 1\n```\n\nText.\n\n```bash\nnot run\n```\n\n```sh\n  echo two\n  #> t…o\n```\n";

    #[test]
    fn only_sh_blocks_are_run_and_their_output_lines_are_expected_not_run() {
        let examples = examples(README);
        assert_eq!(examples.script, "A=1\necho \"$A\"\n  echo two\n");
        assert_eq!(examples.expected, ["1", "t…o"]);
    }

    #[test]
    fn an_ellipsis_stands_for_any_text_and_the_rest_must_match_exactly() {
        let cases = [
            ("{\"id\":\"…\",\"messageStatus\":\"Pending\"}", "{\"id\":\"5b0c\",\"messageStatus\":\"Pending\"}", true),
            ("{\"id\":\"…\",\"messageStatus\":\"Pending\"}", "{\"id\":\"5b0c\",\"messageStatus\":\"Failed\"}", false),
            ("{\"id\":\"…\",\"messageStatus\":\"Pending\"}", "{\"id\":\"5b0c\",\"messageStatus\":\"Pending\"}x", false),
            ("balance: …", "balance: 10", true),
            ("balance: …", "xbalance: 10", false),
            ("a…b…c", "a-b-c", true),
            ("a…b…c", "a-c-b", false),
            ("a…", "a", true),
            ("exact", "exact", true),
            ("exact", "exactly", false),
        ];
        for (pattern, line, expected) in cases {
            assert_eq!(matches(pattern, line), expected, "{pattern:?} against {line:?}");
        }
    }

    #[test]
    fn expected_lines_must_appear_in_order() {
        let expected = vec!["one".to_owned(), "t…".to_owned()];
        assert!(check(&expected, "zero\none\ntwo\n").is_ok());
        let refusal = check(&expected, "two\none\n").expect_err("two came before one");
        assert!(refusal.contains("`t…`"), "{refusal}");
    }

    #[test]
    fn each_document_has_examples_that_promise_output_and_read_the_stack_file() {
        for document in DOCUMENTS {
            let text = std::fs::read_to_string(root().join(document)).expect(document);
            let examples = examples(&text);
            assert!(examples.expected.len() >= 10, "{document}'s examples promise output: {:?}", examples.expected);
            assert!(examples.script.contains(".lightotp/stack.json"), "{document}: the ports come from the stack file");
            assert!(!examples.script.contains("127.0.0.1"), "{document}: no address typed in an example");
            assert!(!examples.script.contains("uuidgen"), "{document}: uuidgen is not on every machine");
        }
    }
}
