//! Instructions, counted by callgrind: the figure that does not move with the host's noise (docs/performance.md,
//! "Instructions"). Each count runs a function under valgrind against a Runtime API of the bench's own; the process
//! ends when the Runtime API goes away (its next poll fails), and callgrind writes its totals.
//!
//! - **Init**: the whole process of a release binary, from its start until it first asks for work (and its exit).
//! - **A warm SendMessage**: only inside the handler's polls (`Measured::poll` of `shared/src/handler_cpu.rs`, never
//!   inlined for this), in the `profiling` build (release code with symbols). Two processes handle `FEW` and
//!   `MANY` sends; the difference divided by `MANY - FEW` is one warm send, its cold first one cancelled out, as
//!   long as the two made the same once-a-minute refreshes (checked with the emulator's request meter). The same
//!   two files, annotated inclusively, give the AWS SDK's share of that send ([`SDK_PARTS`]): what the 1.2 M budget
//!   cannot go below while the requests go through the SDK (docs/performance.md, "Budgets not met").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cost::Meter;
use super::runtime::{Started, function_command, start_under};

/// Sends handled by the two counted processes.
pub const FEW: usize = 3;
pub const MANY: usize = 13;

/// Installs valgrind with apt when it is missing (as the browser tests install Chromium).
pub fn ensure_valgrind() -> Result<(), String> {
    crate::apt::ensure("valgrind, to count instructions (cargo xtask bench)", &["valgrind"], &["/usr/bin/valgrind"])
}

/// The instructions of `binary`'s process from its start until it first asks for work. Its Runtime API is a bare
/// socket that closes the connection of that first request: the runtime fails at once and the process exits (a
/// Runtime API answering an error instead would have it retry in a loop, counted too).
pub async fn init(name: &str, binary: &Path, env: &[(String, String)]) -> Result<u64, String> {
    use tokio::io::AsyncReadExt;
    let out = out_file(name, "init");
    let wrapper = valgrind(&out, &[]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("runtime api: {e}"))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
    let child = function_command(name, Some(&wrapper), binary, env, &[], &address)
        .spawn()
        .map_err(|e| format!("starting {} under valgrind: {e}", binary.display()))?;
    let (mut stream, _) = tokio::time::timeout(Duration::from_secs(300), listener.accept())
        .await
        .map_err(|_| format!("{name} under callgrind never asked for work"))?
        .map_err(|e| e.to_string())?;
    // The request's head, then the connection closed unanswered.
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    drop(stream);
    drop(listener);
    finish(name, child, &out).await
}

/// Requests one counted process made, as the emulator's meter counted them: (service, action) → requests.
pub type Asked = BTreeMap<(String, String), f64>;

/// The parts of a warm send the report names, by the function whose inclusive count is theirs: the SDK's
/// orchestrator of a request (serializing it, its endpoint and user agent, signing, parsing the answer), and within
/// it the signing.
pub const SDK_PARTS: [(&str, &str); 2] = [
    ("the AWS SDK's orchestrator", "aws_smithy_runtime::client::orchestrator::invoke_with_stop_point"),
    ("its signing", "aws_smithy_runtime::client::orchestrator::auth::sign_request"),
];

/// How many times the pair of processes is run at most before the figure is reported as it is.
const ATTEMPTS: usize = 3;

/// The warm send's count, and what each counted process asked of AWS.
pub struct WarmCount {
    /// Instructions inside the handler's polls per warm invocation.
    pub per_invocation: f64,
    /// Whether the two processes differ only by their extra invocations' requests ([`only_the_invocations_differ`]);
    /// false when every attempt also counted a refresh.
    pub clean: bool,
    /// Pairs run.
    pub attempts: usize,
    pub few: Asked,
    pub many: Asked,
    /// Instructions per warm invocation inside each of [`SDK_PARTS`], in its order (`None`: not found, say if the
    /// SDK renamed its orchestrator).
    pub sdk_parts: Vec<Option<f64>>,
}

/// Instructions inside the handler's polls per warm invocation of `binary` (a `profiling` build), from two processes
/// given `events(attempt)`'s few and many events. Each process signs its requests with an application id of its own,
/// so the emulator's meter tells what it asked. An instance refreshes some things once a minute (a key's verifier
/// after its minute in the cache, the raised limits at a new minute): a process that ran one refresh more than the
/// other would charge it to the extra invocations, so the pair is run again, with new events, up to [`ATTEMPTS`]
/// times.
pub async fn warm_handler(
    name: &str,
    binary: &Path,
    env: &[(String, String)],
    meter: &Meter,
    app_prefix: &str,
    events: impl Fn(usize) -> (Vec<String>, Vec<String>),
) -> Result<WarmCount, String> {
    let mut attempt = 0;
    loop {
        let (few, many) = events(attempt);
        let extra = many.len().saturating_sub(few.len()).max(1);
        let mut counts = Vec::new();
        let mut asked = Vec::new();
        for (label, events) in [("few", few), ("many", many)] {
            let out = out_file(name, label);
            let app = format!("{app_prefix}-{label}-{attempt}");
            let wrapper = valgrind(&out, &["--collect-atstart=no", "--toggle-collect=*handler_cpu*Measured*poll*"]);
            let extra_env = [("AWS_SDK_UA_APP_ID".to_owned(), app.clone())];
            let Started { runtime, child, .. } =
                start_under(name, Some(&wrapper), binary, env, &extra_env, |_| {}).await?;
            for event in events {
                let answer = runtime.invoke_within(event, Duration::from_secs(120)).await?;
                if !answer.ok || answer.status != 200 {
                    return Err(format!("{name} under callgrind answered {} {}", answer.status, answer.body));
                }
            }
            drop(runtime);
            counts.push(finish(name, child, &out).await?);
            asked.push(meter.requests(&app).await?);
        }
        attempt += 1;
        let many = asked.pop().unwrap_or_default();
        let few = asked.pop().unwrap_or_default();
        let clean = only_the_invocations_differ(&few, &many, extra);
        if clean || attempt == ATTEMPTS {
            let per_invocation = counts[1].saturating_sub(counts[0]) as f64 / extra as f64;
            let few_parts = annotated_parts(&out_file(name, "few"));
            let many_parts = annotated_parts(&out_file(name, "many"));
            let sdk_parts = few_parts
                .iter()
                .zip(&many_parts)
                .map(|(few, many)| Some(many.as_ref()?.saturating_sub(*few.as_ref()?) as f64 / extra as f64))
                .collect();
            return Ok(WarmCount { per_invocation, clean, attempts: attempt, few, many, sdk_parts });
        }
        eprintln!("xtask: one of the counted processes refreshed something the other did not; counting again");
    }
}

/// Whether the process with `extra` more invocations made each request a whole number of times more per extra
/// invocation: then the difference of their instructions is the invocations' alone. A refresh only one of them made
/// (one `GetSecretValue`, one `Query`) breaks that.
pub fn only_the_invocations_differ(few: &Asked, many: &Asked, extra: usize) -> bool {
    let actions: std::collections::BTreeSet<_> = few.keys().chain(many.keys()).collect();
    actions.into_iter().all(|action| {
        let difference = many.get(action).copied().unwrap_or(0.0) - few.get(action).copied().unwrap_or(0.0);
        difference >= 0.0 && (difference % extra as f64) == 0.0
    })
}

fn valgrind(out: &Path, options: &[&str]) -> Vec<String> {
    let mut wrapper = vec!["valgrind".to_owned(), "--tool=callgrind".to_owned()];
    wrapper.push(format!("--callgrind-out-file={}", out.display()));
    wrapper.extend(options.iter().map(|o| (*o).to_owned()));
    wrapper
}

fn out_file(name: &str, label: &str) -> PathBuf {
    let dir = crate::tools::target_dir().join("bench/callgrind");
    let _ = std::fs::create_dir_all(&dir);
    let name: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    dir.join(format!("{name}-{label}.out"))
}

/// Waits for the process to end (its Runtime API is gone) and reads callgrind's total.
async fn finish(name: &str, mut child: tokio::process::Child, out: &Path) -> Result<u64, String> {
    match tokio::time::timeout(Duration::from_secs(120), child.wait()).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => return Err(format!("{name} under callgrind: {err}")),
        Err(_) => return Err(format!("{name} under callgrind did not exit once its Runtime API was gone")),
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    total(&text).ok_or(format!("{}: no totals line", out.display()))
}

/// The inclusive count of each of [`SDK_PARTS`] in one callgrind output file, read by `callgrind_annotate`.
fn annotated_parts(out: &Path) -> Vec<Option<u64>> {
    let annotated = std::process::Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(out)
        .stderr(std::process::Stdio::null())
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
        .unwrap_or_default();
    SDK_PARTS.iter().map(|(_, function)| inclusive(&annotated, function)).collect()
}

/// The inclusive count of `function` in `callgrind_annotate --inclusive=yes` output: the largest among the lines
/// naming it or one of its closures (`<file>:<function>[::{{closure}}…] [<object>]`). Its closures nest, and the
/// outermost includes the others; lines that only mention it inside another name (`drop_in_place<…>`) are not its.
pub fn inclusive(annotated: &str, function: &str) -> Option<u64> {
    let named = format!(":{function}");
    annotated
        .lines()
        .filter_map(|line| {
            let (count, rest) = line.trim_start().split_once(' ')?;
            let name = rest.split_once(&named)?.1;
            let name = name.split(" [").next().unwrap_or(name);
            if !(name.is_empty() || name.starts_with("::{{closure}}")) {
                return None;
            }
            count.replace(',', "").parse::<u64>().ok()
        })
        .max()
}

/// The `totals:` (or `summary:`) line of a callgrind output file: the instructions (`Ir`) counted.
pub fn total(callgrind_out: &str) -> Option<u64> {
    callgrind_out
        .lines()
        .find_map(|line| line.strip_prefix("totals:").or_else(|| line.strip_prefix("summary:")))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::{Asked, inclusive, only_the_invocations_differ, total};

    fn asked(requests: &[(&str, f64)]) -> Asked {
        requests.iter().map(|(action, n)| (("dynamodb".to_owned(), (*action).to_owned()), *n)).collect()
    }

    #[test]
    fn a_refresh_made_by_one_process_only_is_seen() {
        let few = asked(&[("BatchGetItem", 3.0), ("TransactWriteItems", 3.0), ("Query", 1.0)]);
        let same = asked(&[("BatchGetItem", 13.0), ("TransactWriteItems", 13.0), ("Query", 1.0)]);
        assert!(only_the_invocations_differ(&few, &same, 10));
        let one_more_query = asked(&[("BatchGetItem", 13.0), ("TransactWriteItems", 13.0), ("Query", 2.0)]);
        assert!(!only_the_invocations_differ(&few, &one_more_query, 10));
        let a_new_action =
            asked(&[("BatchGetItem", 13.0), ("TransactWriteItems", 13.0), ("Query", 1.0), ("GetItem", 1.0)]);
        assert!(!only_the_invocations_differ(&few, &a_new_action, 10));
        let fewer = asked(&[("BatchGetItem", 13.0), ("TransactWriteItems", 13.0)]);
        assert!(!only_the_invocations_differ(&few, &fewer, 10), "the few process's refresh, missing from the many's");
    }

    #[test]
    fn the_total_is_the_first_event_of_the_totals_line() {
        assert_eq!(total("events: Ir\nfl=x\n0 12\ntotals: 2500123\n"), Some(2_500_123));
        assert_eq!(total("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(total("events: Ir\n"), None);
    }

    #[test]
    fn a_function_inclusive_count_is_its_outermost_line() {
        let annotated = "\
--------------------------------------------------------------------------------
Ir                  file:function
--------------------------------------------------------------------------------
24,311,547 (100.0%)  PROGRAM TOTALS
16,637,799 (68.83%)  /r/aws-smithy-runtime/src/client/orchestrator.rs:aws_smithy_runtime::client::orchestrator::invoke_with_stop_point::{{closure}}::{{closure}}::{{closure}} [/t/send-message]
15,000,000 (61.00%)  /r/aws-smithy-runtime/src/client/timeout.rs:aws_smithy_runtime::client::orchestrator::invoke_with_stop_point::{{closure}}::{{closure}}::{{closure}}::{{closure}} [/t/send-message]
99,999,999 (99.00%)  /rustc/x/library/core/src/ptr/mod.rs:core::ptr::drop_in_place<aws_smithy_runtime::client::orchestrator::invoke_with_stop_point::{{closure}}> [/t/send-message]
88,888,888 (88.00%)  /r/x.rs:aws_smithy_runtime::client::orchestrator::invoke_with_stop_point_elsewhere [/t/send-message]
 9,248,497 (38.26%)  /r/aws-smithy-runtime/src/client/orchestrator/auth.rs:aws_smithy_runtime::client::orchestrator::auth::sign_request [/t/send-message]
";
        let orchestrator = "aws_smithy_runtime::client::orchestrator::invoke_with_stop_point";
        assert_eq!(inclusive(annotated, orchestrator), Some(16_637_799), "the outermost of its own lines");
        let signing = "aws_smithy_runtime::client::orchestrator::auth::sign_request";
        assert_eq!(inclusive(annotated, signing), Some(9_248_497));
        assert_eq!(inclusive(annotated, "aws_smithy_runtime::client::orchestrator::try_op"), None);
    }
}
