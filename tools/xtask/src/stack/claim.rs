//! What a stack owns before it starts anything: its files and its ports (docs/local-stack.md, "Stack files").
//!
//! A stack is known by its stack file (`.lightotp/stack.json` for `up`, `.lightotp/test-stack.json` for `test`). Beside
//! it live its environment file, its logs folder and a lock file. The stack that holds the lock owns the others: a
//! second `up` from the same checkout is refused before it writes, truncates or deletes any of them. Every port is
//! checked free before any part starts, so a stack never answers "up" with somebody else's servers.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};

/// Where the parts listen, and the variables that move them.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The local gateway.
    pub api: u16,
    /// The AWS emulator.
    pub aws: u16,
    /// The fake WhatsApp.
    pub whatsapp: u16,
    /// The prefix of the variables that move them: `LIGHTOTP_` for `up`, `LIGHTOTP_TEST_` for `test`.
    pub variable_prefix: &'static str,
}

impl Ports {
    /// `cargo xtask up`'s ports: 3000, 4566 and 4577 unless `LIGHTOTP_API_PORT`, `LIGHTOTP_AWS_PORT` or
    /// `LIGHTOTP_WHATSAPP_PORT` moves them.
    pub fn for_up() -> Result<Self, String> {
        Self::from_env("LIGHTOTP_", [3000, 4566, 4577])
    }

    /// `cargo xtask test`'s ports: 3100, 4666 and 4677 (beside a running `up`), moved by `LIGHTOTP_TEST_API_PORT`,
    /// `LIGHTOTP_TEST_AWS_PORT` or `LIGHTOTP_TEST_WHATSAPP_PORT`.
    pub fn for_test() -> Result<Self, String> {
        Self::from_env("LIGHTOTP_TEST_", [3100, 4666, 4677])
    }

    fn from_env(variable_prefix: &'static str, [api, aws, whatsapp]: [u16; 3]) -> Result<Self, String> {
        let port = |part: &str, default: u16| -> Result<u16, String> {
            let name = format!("{variable_prefix}{part}_PORT");
            match std::env::var(&name) {
                Ok(raw) => {
                    raw.trim().parse().ok().filter(|port| *port > 0).ok_or(format!("{name}={raw:?} is not a port"))
                }
                Err(_) => Ok(default),
            }
        };
        Ok(Self {
            api: port("API", api)?,
            aws: port("AWS", aws)?,
            whatsapp: port("WHATSAPP", whatsapp)?,
            variable_prefix,
        })
    }

    /// Each part with its port and the variable that moves it.
    fn parts(&self) -> [(&'static str, u16, String); 3] {
        let variable = |part: &str| format!("{}{part}_PORT", self.variable_prefix);
        [
            ("local gateway (the API)", self.api, variable("API")),
            ("AWS emulator", self.aws, variable("AWS")),
            ("fake WhatsApp", self.whatsapp, variable("WHATSAPP")),
        ]
    }

    /// Refuses, naming the port and its variable, when a port is taken or two parts would share one.
    pub fn ensure_free(&self) -> Result<(), String> {
        let parts = self.parts();
        for (i, (part, port, variable)) in parts.iter().enumerate() {
            if let Some((other, _, _)) = parts[..i].iter().find(|(_, other_port, _)| other_port == port) {
                return Err(format!(
                    "the {other} and the {part} are both set to port {port}: give {variable} another port"
                ));
            }
            if let Err(err) = TcpListener::bind((Ipv4Addr::LOCALHOST, *port)) {
                return Err(format!(
                    "port {port} on 127.0.0.1 is already in use ({err}), so the {part} cannot listen there; nothing was \
                     started. Stop what uses it (another lightotp stack?), or move the {part}: {variable}=<a free port>"
                ));
            }
        }
        Ok(())
    }
}

/// The files of one stack, all derived from its stack file.
#[derive(Debug, Clone)]
pub struct StackFiles {
    /// `<dir>/<name>.json`: the stack's addresses and demo account, written when every part answers.
    pub stack: PathBuf,
    /// `<dir>/<name>.env`: the environment the functions run with.
    pub env: PathBuf,
    /// `<dir>/logs/` for `stack.json`, `<dir>/<name>-logs/` for any other name: one log file per part.
    pub logs: PathBuf,
    /// `<dir>/<name>.lock`: held by the running stack for as long as it runs.
    pub lock: PathBuf,
}

impl StackFiles {
    /// The files that belong with `stack_file`.
    pub fn of(stack_file: &Path) -> Self {
        let dir = stack_file.parent().unwrap_or(Path::new("."));
        let name = stack_file.file_stem().and_then(|s| s.to_str()).unwrap_or("stack");
        let logs = if name == "stack" { dir.join("logs") } else { dir.join(format!("{name}-logs")) };
        Self {
            stack: stack_file.to_owned(),
            env: stack_file.with_extension("env"),
            logs,
            lock: stack_file.with_extension("lock"),
        }
    }

    /// The stack file and the environment file, which describe a running stack and so go when it stops. The logs
    /// stay, to read after a stop.
    pub fn remove_running_state(&self) {
        let _ = std::fs::remove_file(&self.stack);
        let _ = std::fs::remove_file(&self.env);
    }
}

/// Ownership of a stack's files: an exclusive lock on its lock file, released when this is dropped or the
/// process dies (the operating system releases it, so a killed `up` leaves nothing stuck).
#[derive(Debug)]
pub struct Claim {
    files: StackFiles,
    _lock: File,
}

impl Claim {
    /// Takes the stack's files and checks its ports, in that order, before anything is written: when another stack
    /// holds the files or a port is taken, nothing of the other stack is touched. Then removes what a stack that
    /// died without stopping left behind (a stale stack file and environment file).
    pub fn take(files: StackFiles, ports: &Ports) -> Result<Self, String> {
        let lock = lock(&files)?;
        ports.ensure_free()?;
        files.remove_running_state();
        Ok(Self { files, _lock: lock })
    }

    /// The files this claim owns.
    pub fn files(&self) -> &StackFiles {
        &self.files
    }
}

fn lock(files: &StackFiles) -> Result<File, String> {
    if let Some(dir) = files.lock.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    // Opened without truncating: the holder's process id in it is only replaced once the lock is ours.
    let mut file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&files.lock)
        .map_err(|e| format!("{}: {e}", files.lock.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let by = if holder.is_empty() { String::new() } else { format!(" (process {holder})") };
            return Err(format!(
                "a stack is already running from this checkout{by}: it owns {} and {}. Use it, or stop it \
                 (Ctrl-C where it runs) before starting another; nothing was started or changed.",
                files.stack.display(),
                files.logs.display()
            ));
        }
        Err(TryLockError::Error(err)) => return Err(format!("{}: {err}", files.lock.display())),
    }
    let write_pid = file.set_len(0).and_then(|()| file.rewind()).and_then(|()| write!(file, "{}", std::process::id()));
    write_pid.map_err(|e| format!("{}: {e}", files.lock.display()))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder of its own under the system's temporary folder.
    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lightotp-xtask-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Three different ports free right now: all three are held at once before any is released, so the system cannot
    /// hand the same port out twice (which made two parts "share" a port now and then).
    fn free_ports() -> Ports {
        let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let held = [bind(), bind(), bind()];
        let [api, aws, whatsapp] = held.map(|listener| listener.local_addr().unwrap().port());
        Ports { api, aws, whatsapp, variable_prefix: "LIGHTOTP_" }
    }

    /// What a running stack has on disk: its stack file, its environment and a log with content.
    fn files_of_a_running_stack(dir: &Path) -> StackFiles {
        let files = StackFiles::of(&dir.join("stack.json"));
        std::fs::create_dir_all(&files.logs).unwrap();
        std::fs::write(&files.stack, "{\"apiUrl\": \"the other stack\"}").unwrap();
        std::fs::write(&files.env, "LIGHTOTP_API_PORT=3000\n").unwrap();
        std::fs::write(files.logs.join("local-gateway.log"), "the other stack's log\n").unwrap();
        files
    }

    fn assert_untouched(files: &StackFiles) {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(read(&files.stack), "{\"apiUrl\": \"the other stack\"}", "the other stack's stack file");
        assert_eq!(read(&files.env), "LIGHTOTP_API_PORT=3000\n", "the other stack's environment file");
        assert_eq!(read(&files.logs.join("local-gateway.log")), "the other stack's log\n", "the other stack's log");
    }

    #[test]
    fn a_busy_port_is_refused_by_number_and_variable_before_any_file_is_touched() {
        let dir = scratch();
        let files = files_of_a_running_stack(&dir);
        for part in 0..3 {
            // Held first, so the free ports cannot be it.
            let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            let mut ports = free_ports();
            let busy = taken.local_addr().unwrap().port();
            let variable = ["LIGHTOTP_API_PORT", "LIGHTOTP_AWS_PORT", "LIGHTOTP_WHATSAPP_PORT"][part];
            *[&mut ports.api, &mut ports.aws, &mut ports.whatsapp][part] = busy;

            let refusal = Claim::take(files.clone(), &ports).expect_err("a busy port must be refused");

            assert!(refusal.contains(&format!("port {busy} ")), "names the port: {refusal}");
            assert!(refusal.contains(variable), "names {variable}: {refusal}");
            assert_untouched(&files);
        }
    }

    #[test]
    fn the_test_stack_names_its_own_variables() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let ports =
            Ports { aws: taken.local_addr().unwrap().port(), variable_prefix: "LIGHTOTP_TEST_", ..free_ports() };
        let refusal = ports.ensure_free().expect_err("a busy port must be refused");
        assert!(refusal.contains("LIGHTOTP_TEST_AWS_PORT"), "{refusal}");
    }

    #[test]
    fn two_parts_on_one_port_are_refused() {
        // A free port of its own, so that a running stack (which holds 4566) cannot answer for the duplicate.
        let ports = free_ports();
        let shared = ports.aws;
        let ports = Ports { whatsapp: shared, ..ports };
        let refusal = ports.ensure_free().expect_err("one port for two parts must be refused");
        assert!(refusal.contains(&format!("port {shared}")) && refusal.contains("LIGHTOTP_WHATSAPP_PORT"), "{refusal}");
    }

    #[test]
    fn a_second_stack_on_the_same_files_is_refused_and_leaves_them_alone() {
        let dir = scratch();
        let first = Claim::take(StackFiles::of(&dir.join("stack.json")), &free_ports()).expect("the first stack");
        let files = files_of_a_running_stack(&dir);

        let refusal = Claim::take(files.clone(), &free_ports()).expect_err("the files are the first stack's");

        assert!(refusal.contains("already running"), "{refusal}");
        assert!(refusal.contains(&std::process::id().to_string()), "names the holder's process: {refusal}");
        assert_untouched(&files);
        drop(first);
    }

    #[test]
    fn a_stack_with_other_files_runs_beside_another() {
        let dir = scratch();
        let _up = Claim::take(StackFiles::of(&dir.join("stack.json")), &free_ports()).expect("up");
        let test = Claim::take(StackFiles::of(&dir.join("test-stack.json")), &free_ports());
        assert!(test.is_ok(), "the test stack has files of its own: {test:?}");
    }

    #[test]
    fn a_stopped_stack_frees_its_files_and_the_next_one_clears_what_it_left() {
        let dir = scratch();
        let first = Claim::take(StackFiles::of(&dir.join("stack.json")), &free_ports()).expect("the first stack");
        let files = files_of_a_running_stack(&dir);
        drop(first); // as when its process dies without stopping: the lock goes with it, the files stay

        let second = Claim::take(files.clone(), &free_ports()).expect("the files are free again");

        assert!(!files.stack.exists(), "a stale stack file describes no running stack");
        assert!(!files.env.exists(), "a stale environment file has stale ports");
        assert!(files.logs.join("local-gateway.log").exists(), "logs stay to be read");
        drop(second);
    }

    #[test]
    fn the_files_of_a_stack_sit_beside_its_stack_file() {
        let up = StackFiles::of(Path::new("/x/.lightotp/stack.json"));
        assert_eq!(up.env, Path::new("/x/.lightotp/stack.env"));
        assert_eq!(up.logs, Path::new("/x/.lightotp/logs"));
        assert_eq!(up.lock, Path::new("/x/.lightotp/stack.lock"));
        let test = StackFiles::of(Path::new("/x/.lightotp/test-stack.json"));
        assert_eq!(test.env, Path::new("/x/.lightotp/test-stack.env"));
        assert_eq!(test.logs, Path::new("/x/.lightotp/test-stack-logs"));
    }
}
