//! Instructions, counted by callgrind: the figure that does not move with the host's noise (docs/performance.md,
//! "Instructions"). Each count runs a function under valgrind against a Runtime API of the bench's own; the process
//! ends when the Runtime API goes away (its next poll fails), and callgrind writes its totals.
//!
//! - **Init**: the whole process of a release binary, from its start until it first asks for work (and its exit).
//! - **A warm SendMessage**: only inside the handler's polls (`Measured::poll` of `shared/src/handler_cpu.rs`, never
//!   inlined for this), in the `profiling` build (release code with symbols). Two processes handle `FEW` and
//!   `MANY` sends; the difference divided by `MANY - FEW` is one warm send, its cold first one cancelled out.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Instructions inside the handler's polls per warm invocation of `binary` (a `profiling` build), from two processes
/// given `few` and `many` events.
pub async fn warm_handler(
    name: &str,
    binary: &Path,
    env: &[(String, String)],
    few: Vec<String>,
    many: Vec<String>,
) -> Result<f64, String> {
    let (n_few, n_many) = (few.len(), many.len());
    let mut counts = Vec::new();
    for (label, events) in [("few", few), ("many", many)] {
        let out = out_file(name, label);
        let wrapper = valgrind(&out, &["--collect-atstart=no", "--toggle-collect=*handler_cpu*Measured*poll*"]);
        let Started { runtime, child, .. } = start_under(name, Some(&wrapper), binary, env, &[], |_| {}).await?;
        for event in events {
            let answer = runtime.invoke_within(event, Duration::from_secs(120)).await?;
            if !answer.ok || answer.status != 200 {
                return Err(format!("{name} under callgrind answered {} {}", answer.status, answer.body));
            }
        }
        drop(runtime);
        counts.push(finish(name, child, &out).await?);
    }
    let extra = n_many.saturating_sub(n_few).max(1) as f64;
    Ok(counts[1].saturating_sub(counts[0]) as f64 / extra)
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
    use super::total;

    #[test]
    fn the_total_is_the_first_event_of_the_totals_line() {
        assert_eq!(total("events: Ir\nfl=x\n0 12\ntotals: 2500123\n"), Some(2_500_123));
        assert_eq!(total("events: Ir\nsummary: 42\n"), Some(42));
        assert_eq!(total("events: Ir\n"), None);
    }
}
