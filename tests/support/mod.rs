//! The end-to-end harness: builds guests with the real `wasgi build`, starts the real
//! `wasgi serve` on `127.0.0.1:0`, reads the bound address from its output, and kills it on drop.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

pub mod load;
pub mod raw_http;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

/// The `wasgi` binary cargo built for these tests.
pub fn wasgi() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasgi"))
}

/// Runs `wasgi` with `args` to completion. A command that should end but serves instead (a
/// `wasgi serve` that was meant to be refused) is killed after two minutes and fails the test,
/// rather than hanging it.
pub fn run_wasgi(args: &[&str]) -> Output {
    let child = wasgi()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run wasgi");
    let pid = child.id();
    let (done, output) = std::sync::mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    match output.recv_timeout(Duration::from_secs(120)) {
        Ok(output) => output.expect("failed to run wasgi"),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("`wasgi {}` did not end within two minutes", args.join(" "));
        }
    }
}

/// Builds the guest crate at `dir` (relative to the repository root) with `wasgi build`, once
/// per test process, and returns the component's path.
pub fn guest(dir: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    // Holding the lock while building also keeps two tests from building at once.
    let mut built = BUILT
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(dir) {
        return path.clone();
    }
    let output = run_wasgi(&["build", repo().join(dir).to_str().unwrap()]);
    assert!(
        output.status.success(),
        "`wasgi build {dir}` failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = PathBuf::from(String::from_utf8(output.stdout).unwrap().trim());
    assert!(
        path.is_file(),
        "`wasgi build` printed `{}`, which is not a file",
        path.display()
    );
    built.insert(dir.to_owned(), path.clone());
    path
}

/// A running `wasgi serve`, killed when dropped.
pub struct Host {
    child: Child,
    pub addr: SocketAddr,
    /// The admin listener's address, when `--admin-listen` was given.
    pub admin: Option<SocketAddr>,
    stderr: Arc<Mutex<String>>,
}

impl Host {
    /// Serves the guest crate at `dir` (relative to the repository root).
    pub fn serve_guest(dir: &str) -> Host {
        Host::serve(&guest(dir))
    }

    /// Serves `component`, waiting until it listens.
    pub fn serve(component: &Path) -> Host {
        Host::serve_with(component, &[])
    }

    /// Serves `component` with extra `wasgi serve` arguments, waiting until it listens.
    pub fn serve_with(component: &Path, args: &[&str]) -> Host {
        let mut all = vec![component.to_str().unwrap()];
        all.extend(args);
        Host::start(&all)
    }

    /// Runs `wasgi serve ARGS --listen 127.0.0.1:0`, waiting until it listens.
    pub fn start(args: &[&str]) -> Host {
        Host::start_with_env(args, &[])
    }

    /// Runs `wasgi serve ARGS --listen 127.0.0.1:0` with `env` added to its environment,
    /// waiting until it listens.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Host {
        let args: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--listen", "127.0.0.1:0"])
            .collect();
        Host::start_as_given(&args, env)
    }

    /// Runs `wasgi serve ARGS` with `env` added to its environment, waiting until it listens:
    /// ARGS (or the config they name) say where.
    pub fn start_as_given(args: &[&str], env: &[(&str, &str)]) -> Host {
        // Tests share a compile cache under target/, not the user's home, unless they say (on
        // the command line, or in the `[server]` of the config they name).
        let default_cache = repo().join("target/test-compile-cache");
        let config_says = |args: &[&str]| {
            let config = args.iter().enumerate().find_map(|(i, arg)| match *arg {
                "--config" => args.get(i + 1).copied(),
                arg => arg.strip_prefix("--config="),
            });
            config
                .and_then(|path| std::fs::read_to_string(path).ok())
                .and_then(|text| text.parse::<toml::Table>().ok())
                .and_then(|config| config.get("server")?.as_table().cloned())
                .is_some_and(|server| {
                    server.contains_key("cache_dir") || server.contains_key("cache")
                })
        };
        let cache: &[&str] = if config_says(args)
            || args
                .iter()
                .any(|a| a.starts_with("--cache-dir") || *a == "--no-cache")
        {
            &[]
        } else {
            &["--cache-dir", default_cache.to_str().unwrap()]
        };
        let mut child = wasgi()
            .arg("serve")
            .args(args)
            .args(cache)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start wasgi serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n) = pipe.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut admin = None;
        let addr = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(addr) = line.strip_prefix("admin listening on http://") {
                        admin = Some(addr.parse().expect("the admin line has an address"));
                    } else if let Some(addr) = line.strip_prefix("listening on http://") {
                        break addr.parse().expect("the listening line has an address");
                    }
                }
                _ => {
                    let _ = child.wait();
                    panic!(
                        "wasgi serve exited before listening:\n{}",
                        stderr.lock().unwrap()
                    );
                }
            }
        };
        // Keep draining stdout so a chatty guest never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Host {
            child,
            addr,
            admin,
            stderr,
        }
    }

    /// `http://ADDR` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `http://ADMIN_ADDR` followed by `path`.
    pub fn admin_url(&self, path: &str) -> String {
        let admin = self
            .admin
            .expect("the host was started with --admin-listen");
        format!("http://{admin}{path}")
    }

    /// The serving threads (`wasgi-worker-N`) of the host, each with the CPUs it may run on
    /// (`Cpus_allowed_list` of its `/proc` status: one number when it is pinned).
    pub fn worker_cpus(&self) -> Vec<(String, String)> {
        let mut workers = Vec::new();
        for task in std::fs::read_dir(format!("/proc/{}/task", self.pid())).unwrap() {
            let task = task.unwrap().path();
            let name = std::fs::read_to_string(task.join("comm")).unwrap();
            if name.starts_with("wasgi-worker-") {
                let status = std::fs::read_to_string(task.join("status")).unwrap();
                let line = status.lines().find(|l| l.starts_with("Cpus_allowed_list:"));
                let cpus = line.unwrap().split_once(':').unwrap().1.trim().to_owned();
                workers.push((name.trim().to_owned(), cpus));
            }
        }
        workers
    }

    /// `GET path` over HTTP/1.1, expecting an answer (of any status).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        client()
            .get(self.url(path))
            .send()
            .await
            .expect("the host answers")
    }

    /// The host's pid, to inspect in `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the host wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits (up to a generous bound) until stderr contains `needle`, and returns stderr.
    /// Log lines are written after the response is sent, so a test that has its response may
    /// still have to wait for the line.
    pub fn wait_for_log(&self, needle: &str) -> String {
        self.wait_for_lines(needle, 1);
        self.stderr()
    }

    /// Waits (up to a generous bound) until `count` lines of stderr contain `needle`, and
    /// returns those lines.
    pub fn wait_for_lines(&self, needle: &str, count: usize) -> Vec<String> {
        self.wait_for_lines_within(needle, count, Duration::from_secs(30))
    }

    /// Waits up to `bound` until `count` lines of stderr contain `needle`, and returns those
    /// lines: for what takes long on a busy machine, such as a guest build.
    pub fn wait_for_lines_within(
        &self,
        needle: &str,
        count: usize,
        bound: Duration,
    ) -> Vec<String> {
        let deadline = Instant::now() + bound;
        loop {
            let stderr = self.stderr();
            let lines: Vec<String> = stderr
                .lines()
                .filter(|line| line.contains(needle))
                .map(str::to_owned)
                .collect();
            if lines.len() >= count {
                return lines;
            }
            assert!(
                Instant::now() < deadline,
                "fewer than {count} lines with `{needle}` in the host's stderr:\n{stderr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM to the host.
    pub fn terminate(&self) {
        // A signal sent directly: a minimal machine may have no `kill` program (procps).
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM)
            .expect("the host is running and can be signalled");
    }

    /// Waits (up to a generous bound) for the host to exit, and returns its exit code.
    pub fn wait_for_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the host did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the host process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// The host's peak resident memory so far (`VmHWM`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        self.memory_status("VmHWM")
    }

    /// The host's resident memory now (`VmRSS`), in bytes.
    pub fn rss(&self) -> u64 {
        self.memory_status("VmRSS")
    }

    /// A size in kilobytes from the host's `/proc/PID/status`, in bytes.
    fn memory_status(&self, key: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|line| {
                line.strip_prefix(key)
                    .is_some_and(|rest| rest.starts_with(':'))
            })
            .unwrap();
        let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kib * 1024
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP/1.1 client; connections are pooled and kept alive.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}
