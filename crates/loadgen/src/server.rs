//! The measured server as a child process: started fresh for every run (so its peak memory
//! is that run's), read through `/proc` for its own CPU and memory accounting, and killed
//! however the run ends.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Linux reports process times in clock ticks of `USER_HZ`, which is 100 on every
/// architecture Debian ships.
const TICKS_PER_SECOND: f64 = 100.0;

/// A running server process.
pub struct ServerProcess {
    child: Child,
    name: &'static str,
}

impl ServerProcess {
    /// Starts `command` and waits (at most `within`) for a line of its standard output that
    /// contains `ready` (none: returns at once); returns the process and that line. The rest
    /// of its output is discarded (a full pipe would stall the server).
    pub fn start(
        name: &'static str,
        mut command: Command,
        ready: Option<&str>,
        within: Duration,
    ) -> Result<(ServerProcess, String)> {
        command.stdout(Stdio::piped()).stdin(Stdio::null());
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({command:?})"))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let process = ServerProcess { child, name };
        let (line_tx, line_rx) = mpsc::channel();
        let wanted = ready.map(str::to_string);
        // LOADGEN_SERVER_LOG=DIR keeps each server's output in DIR/NAME-PID.log.
        let mut log = std::env::var_os("LOADGEN_SERVER_LOG").and_then(|dir| {
            let path = PathBuf::from(dir).join(format!("{name}-{}.log", process.pid()));
            std::fs::File::create(path).ok()
        });
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(log) = &mut log {
                    let _ = writeln!(log, "{line}");
                }
                if !sent && wanted.as_ref().is_some_and(|w| line.contains(w)) {
                    sent = line_tx.send(line).is_ok();
                }
            }
        });
        if ready.is_none() {
            return Ok((process, String::new()));
        }
        match line_rx.recv_timeout(within) {
            Ok(line) => Ok((process, line)),
            Err(_) => bail!("{name} did not become ready within {within:?}"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU seconds (user + system, all threads) the process has used so far.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .with_context(|| format!("{} is not running", self.name))?;
        // The command name (field 2) may hold spaces; fields are counted after its ')'.
        let after = stat.rsplit_once(')').context("unreadable /proc stat")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
        let ticks = |i: usize| -> Result<f64> {
            Ok(fields.get(i).context("short /proc stat")?.parse::<u64>()? as f64)
        };
        Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
    }

    /// The process's peak resident memory so far (VmHWM), in MiB.
    pub fn peak_memory_mib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .with_context(|| format!("{} is not running", self.name))?;
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .context("no VmHWM")?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse::<f64>()?;
        Ok(kib / 1024.0)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Datagrams the kernel dropped for want of receive-buffer room, machine-wide (UDP and
/// UDP-lite, IPv4): on loopback the only loss "the network" causes.
pub fn kernel_udp_drops() -> u64 {
    let Ok(snmp) = std::fs::read_to_string("/proc/net/snmp") else {
        return 0;
    };
    let mut lines = snmp.lines().filter(|l| l.starts_with("Udp: "));
    let (Some(names), Some(values)) = (lines.next(), lines.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .filter(|(name, _)| *name == "RcvbufErrors")
        .filter_map(|(_, value)| value.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_kind_of_accounting_from_a_real_process() {
        let mut sleeper = Command::new("sh");
        sleeper.args(["-c", "echo up; exec sleep 30"]);
        let (mut process, line) =
            ServerProcess::start("sh", sleeper, Some("up"), Duration::from_secs(5)).unwrap();
        assert_eq!(line, "up");
        assert!(process.running());
        assert!(process.cpu_seconds().unwrap() >= 0.0);
        assert!(process.peak_memory_mib().unwrap() > 0.0);
    }
}
