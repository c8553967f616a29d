//! A local Lambda Runtime API, and what the bench reads about a function's process (`/proc`).
//!
//! The functions run exactly as on Lambda: against this Runtime API, so "init" means what Lambda's
//! `Init Duration` means: from process start until the binary first asks for work.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::Value;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::sync::{Notify, oneshot};

/// What the function answered to one event.
#[derive(Debug, Clone)]
pub struct Answer {
    /// From handing the event out to receiving the answer.
    pub latency: Duration,
    /// The function posted a response (not an error).
    pub ok: bool,
    /// The HTTP status of an API Gateway response (`statusCode`), 0 for other functions.
    pub status: u16,
    /// The response: for API Gateway, its decoded `body` when that is JSON.
    pub body: Value,
}

type Handed = (String, String);

/// The Runtime API's shared state: events waiting to be handed out, and what the function answered.
#[derive(Default)]
struct RuntimeState {
    queue: Mutex<VecDeque<Handed>>,
    queued: Notify,
    first_poll: Mutex<Option<oneshot::Sender<Instant>>>,
    handed_at: Mutex<HashMap<String, Instant>>,
    answers: Mutex<HashMap<String, Answer>>,
    answered: Notify,
    /// Set when the Runtime API goes away: a poll waiting for work, or a new one, fails, and the function exits.
    closed: std::sync::atomic::AtomicBool,
}

async fn next_invocation(State(state): State<Arc<RuntimeState>>) -> impl IntoResponse {
    if let Some(first) = state.first_poll.lock().ok().and_then(|mut f| f.take()) {
        let _ = first.send(Instant::now());
    }
    loop {
        let notified = state.queued.notified();
        if state.closed.load(std::sync::atomic::Ordering::SeqCst) {
            // No request id: the runtime cannot take it for an event, and ends (as when its Runtime API is gone).
            return (StatusCode::INTERNAL_SERVER_ERROR, HeaderMap::new(), String::new());
        }
        let next = state.queue.lock().ok().and_then(|mut q| q.pop_front());
        if let Some((id, event)) = next {
            if let Ok(mut handed) = state.handed_at.lock() {
                handed.insert(id.clone(), Instant::now());
            }
            let mut headers = HeaderMap::new();
            let deadline = (time::OffsetDateTime::now_utc().unix_timestamp() + 60) * 1000;
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id.clone()),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:bench".to_owned(),
                ),
                ("content-type", "application/json".to_owned()),
            ] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            return (StatusCode::OK, headers, event);
        }
        notified.await;
    }
}

async fn invocation_answer(
    State(state): State<Arc<RuntimeState>>,
    UrlPath((id, kind)): UrlPath<(String, String)>,
    body: Bytes,
) -> StatusCode {
    let now = Instant::now();
    let handed = state.handed_at.lock().ok().and_then(|h| h.get(&id).copied()).unwrap_or(now);
    let response: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let status = response["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(0);
    let body = match response["body"].as_str() {
        Some(text) => serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())),
        None => response,
    };
    if let Ok(mut answers) = state.answers.lock() {
        answers.insert(id, Answer { latency: now - handed, ok: kind == "response", status, body });
    }
    state.answered.notify_waiters();
    StatusCode::ACCEPTED
}

/// A local Lambda Runtime API on an ephemeral port.
pub struct RuntimeApi {
    pub address: String,
    state: Arc<RuntimeState>,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start() -> Result<Self, String> {
        let state = Arc::new(RuntimeState::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(invocation_answer))
            .route("/2018-06-01/runtime/init/error", post(|| async { StatusCode::ACCEPTED }))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("runtime api: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?.to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { address, state, server })
    }

    /// Resolves when the function first asks for work: the end of its init.
    pub fn expect_first_poll(&self) -> oneshot::Receiver<Instant> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut first) = self.state.first_poll.lock() {
            *first = Some(tx);
        }
        rx
    }

    /// Hands `event` to the function and waits for its answer.
    pub async fn invoke(&self, event: String) -> Result<Answer, String> {
        self.invoke_within(event, Duration::from_secs(30)).await
    }

    /// As [`Self::invoke`], waiting at most `patience` (longer under valgrind).
    pub async fn invoke_within(&self, event: String, patience: Duration) -> Result<Answer, String> {
        let id = uuid::Uuid::new_v4().to_string();
        if let Ok(mut queue) = self.state.queue.lock() {
            queue.push_back((id.clone(), event));
        }
        self.state.queued.notify_waiters();
        let deadline = Instant::now() + patience;
        loop {
            let answered = self.state.answered.notified();
            if let Some(answer) = self.state.answers.lock().ok().and_then(|mut a| a.remove(&id)) {
                return Ok(answer);
            }
            if tokio::time::timeout_at(deadline.into(), answered).await.is_err() {
                return Err(format!("the function did not answer within {} s", patience.as_secs()));
            }
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.state.closed.store(true, std::sync::atomic::Ordering::SeqCst);
        self.state.queued.notify_waiters();
        self.server.abort();
    }
}

/// A function process attached to a Runtime API of its own, its init over.
pub struct Started {
    pub runtime: RuntimeApi,
    pub child: Child,
    /// From spawning the process until it first asked for work: Lambda's `Init Duration`.
    pub init: Duration,
}

/// Starts a function under a new Runtime API, with the stack's environment plus `extra`, its output discarded
/// unless `configure` says otherwise, and waits until it asks for work.
pub async fn start(
    name: &str,
    binary: &Path,
    env: &[(String, String)],
    extra: &[(String, String)],
    configure: impl FnOnce(&mut Command),
) -> Result<Started, String> {
    start_under(name, None, binary, env, extra, configure).await
}

/// As [`start`], with the binary run under `wrapper` (a program and its arguments, the binary's path last: valgrind).
pub async fn start_under(
    name: &str,
    wrapper: Option<&[String]>,
    binary: &Path,
    env: &[(String, String)],
    extra: &[(String, String)],
    configure: impl FnOnce(&mut Command),
) -> Result<Started, String> {
    let runtime = RuntimeApi::start().await?;
    let first_poll = runtime.expect_first_poll();
    let mut command = function_command(name, wrapper, binary, env, extra, &runtime.address);
    configure(&mut command);
    let started = Instant::now();
    let child = command.spawn().map_err(|e| format!("starting {}: {e}", binary.display()))?;
    // Under valgrind a cold start takes tens of times longer.
    let patience = Duration::from_secs(if wrapper.is_some() { 300 } else { 30 });
    let polled = tokio::time::timeout(patience, first_poll)
        .await
        .map_err(|_| format!("{name} never asked for work"))?
        .map_err(|_| "runtime api dropped".to_owned())?;
    Ok(Started { runtime, child, init: polled - started })
}

/// The command that runs function `name` from `binary` (under `wrapper`, if any) as Lambda runs it, against the
/// Runtime API at `runtime_address`, with the stack's environment plus `extra`; its output discarded.
pub fn function_command(
    name: &str,
    wrapper: Option<&[String]>,
    binary: &Path,
    env: &[(String, String)],
    extra: &[(String, String)],
    runtime_address: &str,
) -> Command {
    let mut command = match wrapper {
        Some([program, args @ ..]) => {
            let mut command = Command::new(program);
            command.args(args).arg(binary);
            command
        }
        _ => Command::new(binary),
    };
    command
        .envs(env.iter().chain(extra).map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        // The deployed log level (template.yaml sets none: info), so logging costs what it costs on Lambda.
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// The environment variable that makes a function log the CPU time of each invocation's handler outside its awaits
/// (`lightotp::handler_cpu`).
pub const HANDLER_CPU_ENV: &str = "LIGHTOTP_HANDLER_CPU";

/// The `handler_cpu_ns` of each `handler cpu` line the process logs, in the order written: one per invocation; and
/// the bytes it wrote (all of them, and those of its EMF metric lines).
#[derive(Clone, Default)]
pub struct HandlerCpuLog(Arc<Mutex<Vec<u64>>>, Arc<Mutex<(u64, u64)>>);

impl HandlerCpuLog {
    /// Reads the process's standard output (JSON log lines) until it closes.
    pub fn follow(stdout: ChildStdout) -> Self {
        let log = Self::default();
        let lines = log.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(mut bytes) = lines.1.lock() {
                    let written = line.len() as u64 + 1;
                    bytes.0 += written;
                    if line.starts_with("{\"_aws\"") {
                        bytes.1 += written;
                    }
                }
                if let (Some(nanos), Ok(mut values)) = (handler_cpu_nanos(&line), lines.0.lock()) {
                    values.push(nanos);
                }
            }
        });
        log
    }

    /// The bytes read so far: every line's, and the EMF lines'.
    pub fn bytes(&self) -> (u64, u64) {
        self.1.lock().map(|b| *b).unwrap_or_default()
    }

    /// The values of invocations `from..` once `total` have been logged (each is logged before its answer is
    /// posted; the reader may lag a moment behind).
    pub async fn wait_for(&self, total: usize, from: usize) -> Result<Vec<u64>, String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let values = self.0.lock().map(|v| v.clone()).unwrap_or_default();
            if values.len() >= total {
                return Ok(values[from.min(total)..total].to_vec());
            }
            if Instant::now() > deadline {
                return Err(format!("{} of {total} invocations logged their handler CPU", values.len()));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The `handler_cpu_ns` field of a `handler cpu` JSON log line.
fn handler_cpu_nanos(line: &str) -> Option<u64> {
    let event: Value = serde_json::from_str(line).ok()?;
    let fields = &event["fields"];
    (fields["message"] == "handler cpu").then(|| fields["handler_cpu_ns"].as_u64()).flatten()
}

/// CPU time the process has used so far, split into user and kernel time, in microseconds (`/proc/<pid>/stat`
/// fields 14 and 15, in clock ticks of 10 ms: over hundreds of invocations the resolution is tens of µs each).
/// User time is what our code (and the libraries in it) costs; kernel time is mostly sockets: the serialized
/// emulator closes every connection, so each AWS request opens a new one.
pub fn cpu_micros(pid: u32) -> (u64, u64) {
    const TICK_MICROS: u64 = 10_000; // CLK_TCK = 100 on Linux
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return (0, 0) };
    // The command name may contain spaces; fields start after its closing parenthesis (field 3 onwards).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (field(14) * TICK_MICROS, field(15) * TICK_MICROS)
}

/// CPU time each thread of the process has run so far, in nanoseconds, by thread id (`/proc/<pid>/task/*/schedstat`,
/// first field: the scheduler's own count, exact, user and kernel time together).
pub fn thread_cpu_nanos(pid: u32) -> HashMap<String, u64> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return HashMap::new() };
    tasks
        .filter_map(Result::ok)
        .filter_map(|task| {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            Some((task.file_name().to_string_lossy().into_owned(), stat.split_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// The CPU time the process's threads ran between two `thread_cpu_nanos` readings, in nanoseconds. A thread that
/// started in between counts whole; one that ended in between is missed (the runtime's idle blocking threads).
pub fn cpu_between(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> u64 {
    after.iter().map(|(tid, ns)| ns.saturating_sub(before.get(tid).copied().unwrap_or(0))).sum()
}

/// Peak resident memory in kB (`VmHWM`).
pub fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:").and_then(|v| v.split_whitespace().next()?.parse().ok()))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_between_counts_new_threads_whole_and_ignores_ended_ones() {
        let before: HashMap<String, u64> = [("1".to_owned(), 100), ("2".to_owned(), 50)].into();
        let after: HashMap<String, u64> = [("1".to_owned(), 180), ("3".to_owned(), 30)].into();
        assert_eq!(cpu_between(&before, &after), 80 + 30);
    }

    #[test]
    fn reads_handler_cpu_from_log_lines_and_nothing_else() {
        let line =
            r#"{"timestamp":"t","level":"INFO","fields":{"message":"handler cpu","handler_cpu_ns":812345},"spans":[]}"#;
        assert_eq!(handler_cpu_nanos(line), Some(812_345));
        let other = r#"{"level":"INFO","fields":{"message":"message sent","handler_cpu_ns":5}}"#;
        assert_eq!(handler_cpu_nanos(other), None);
        assert_eq!(handler_cpu_nanos("not json"), None);
    }

    #[test]
    fn this_process_has_threads_that_have_run() {
        let threads = thread_cpu_nanos(std::process::id());
        assert!(!threads.is_empty());
        assert!(threads.values().any(|ns| *ns > 0));
    }
}
