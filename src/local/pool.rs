//! Warm processes per function, as Lambda keeps execution environments: an invocation takes an
//! idle process of its function or starts a new one, so concurrent requests run in parallel
//! processes and later ones reuse them. Prints Lambda's START/END/REPORT lines.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio::sync::{Semaphore, watch};

use super::logs::Logs;
use super::sandbox::{Invocation, LiveProcesses, Outcome, ProcessSpec, Report, Sandbox};

/// At most this many processes per function (requests beyond it wait for a free one).
pub(crate) const MAX_PROCESSES_PER_FUNCTION: usize = 32;

/// Whether processes stay warm between invocations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// One invocation, then the process is stopped and its output drained (`local invoke`).
    Once,
    /// Processes stay warm for the next invocation (the servers).
    Warm,
}

/// The processes of one function.
pub(crate) struct Pool {
    spec: RwLock<Arc<ProcessSpec>>,
    generation: AtomicU64,
    idle: Mutex<Vec<Sandbox>>,
    slots: Semaphore,
    lifetime: Lifetime,
    logs: Logs,
    live: LiveProcesses,
}

impl Pool {
    pub(crate) fn new(
        spec: ProcessSpec,
        lifetime: Lifetime,
        logs: Logs,
        live: LiveProcesses,
    ) -> Pool {
        Pool {
            spec: RwLock::new(Arc::new(spec)),
            generation: AtomicU64::new(0),
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(MAX_PROCESSES_PER_FUNCTION),
            lifetime,
            logs,
            live,
        }
    }

    pub(crate) fn spec(&self) -> Arc<ProcessSpec> {
        match self.spec.read() {
            Ok(spec) => spec.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// New code: later invocations start new processes; idle ones stop now, busy ones when
    /// they finish.
    pub(crate) fn replace(&self, spec: ProcessSpec) {
        match self.spec.write() {
            Ok(mut current) => *current = Arc::new(spec),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(spec),
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        let stale: Vec<Sandbox> = self
            .idle
            .lock()
            .map(|mut idle| std::mem::take(&mut *idle))
            .unwrap_or_default();
        drop(stale);
    }

    /// Starts one process ahead of the first invocation (`--warm-containers EAGER`).
    pub(crate) async fn prewarm(&self) -> Result<(), String> {
        let spec = self.spec();
        let generation = self.generation.load(Ordering::SeqCst);
        let sandbox = Sandbox::start(&spec, generation, &self.logs, &self.live).await?;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(sandbox);
        }
        Ok(())
    }

    /// Runs one invocation in an idle process of this function, or a new one.
    pub(crate) async fn invoke(&self, invocation: Invocation) -> Outcome {
        let Ok(_permit) = self.slots.acquire().await else {
            return failed("Runtime.Unavailable", "samrs is shutting down");
        };
        let spec = self.spec();
        let generation = self.generation.load(Ordering::SeqCst);
        let mut sandbox = match self.take_idle(generation) {
            Some(sandbox) => sandbox,
            None => match Sandbox::start(&spec, generation, &self.logs, &self.live).await {
                Ok(sandbox) => sandbox,
                Err(message) => {
                    self.logs.platform(&message);
                    return failed("Runtime.InvalidEntrypoint", &message);
                }
            },
        };
        let request_id = uuid::Uuid::new_v4().to_string();
        self.logs
            .platform(&format!("START RequestId: {request_id} Version: $LATEST"));
        let (outcome, report, reusable) = sandbox.invoke(&spec, &request_id, invocation).await;
        if let Outcome::Failed { error_type, .. } = &outcome
            && error_type == "Sandbox.Timedout"
        {
            self.logs.platform(&format!(
                "{} {request_id} Task timed out after {:.2} seconds",
                timestamp(),
                spec.timeout.as_secs_f64()
            ));
        }
        let keep = reusable
            && self.lifetime == Lifetime::Warm
            && sandbox.generation == self.generation.load(Ordering::SeqCst);
        if keep {
            if let Ok(mut idle) = self.idle.lock() {
                idle.push(sandbox);
            }
        } else if self.lifetime == Lifetime::Once {
            sandbox.stop().await;
        } else {
            drop(sandbox);
        }
        self.report(&spec, &report);
        outcome
    }

    fn take_idle(&self, generation: u64) -> Option<Sandbox> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(sandbox) = idle.pop() {
            if sandbox.alive() && sandbox.generation == generation {
                return Some(sandbox);
            }
        }
        None
    }

    fn report(&self, spec: &ProcessSpec, report: &Report) {
        let id = &report.request_id;
        self.logs.platform(&format!("END RequestId: {id}"));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let billed = (ms(report.duration) + report.init.map_or(0.0, ms))
            .ceil()
            .max(1.0);
        let mut line = format!(
            "REPORT RequestId: {id}\tDuration: {:.2} ms\tBilled Duration: {billed:.0} ms\tMemory Size: {} MB\t",
            ms(report.duration),
            spec.memory_mb
        );
        if let Some(used) = report.max_memory_mb {
            line.push_str(&format!("Max Memory Used: {used} MB\t"));
        }
        if let Some(init) = report.init {
            line.push_str(&format!("Init Duration: {:.2} ms\t", ms(init)));
        }
        self.logs.platform(&line);
        if let Some(used) = report.max_memory_mb
            && used > spec.memory_mb
        {
            self.logs.platform(&format!(
                "Warning: {} used {used} MB, more than its MemorySize of {} MB; Lambda would stop it (Runtime.OutOfMemory). Raise MemorySize in the template.",
                spec.logical_id, spec.memory_mb
            ));
        }
    }
}

fn failed(error_type: &str, message: &str) -> Outcome {
    Outcome::Failed {
        error_type: error_type.to_string(),
        message: message.to_string(),
    }
}

/// `2024-05-01T12:00:00.000Z`, as Lambda stamps its log lines.
pub(crate) fn timestamp() -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let t = super::clock::civil(now.as_secs());
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        now.subsec_millis()
    )
}

/// Every function's pool, plus what stops them all and holds invocations during a rebuild.
pub(crate) struct Engine {
    /// One pool per function that can run here, in the order of the function list.
    pub(crate) pools: Vec<Option<Arc<Pool>>>,
    pub(crate) live: LiveProcesses,
    current: watch::Sender<bool>,
}

impl Engine {
    pub(crate) fn new(pools: Vec<Option<Arc<Pool>>>, live: LiveProcesses) -> Engine {
        Engine {
            pools,
            live,
            current: watch::channel(true).0,
        }
    }

    /// Holds new invocations until `resume` (a rebuild is running).
    pub(crate) fn pause(&self) {
        self.current.send_replace(false);
    }

    pub(crate) fn resume(&self) {
        self.current.send_replace(true);
    }

    /// Waits while a rebuild runs.
    pub(crate) async fn wait_current(&self) {
        let mut current = self.current.subscribe();
        let _ = current.wait_for(|c| *c).await;
    }

    /// Stops every function process and waits (up to two seconds) until they are gone.
    pub(crate) async fn shutdown(&self) {
        for pool in self.pools.iter().flatten() {
            if let Ok(mut idle) = pool.idle.lock() {
                idle.clear();
            }
        }
        self.live.kill_all();
        for _ in 0..40 {
            if self.live.count() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.live.kill_all();
        }
    }
}
