//! Long build steps (configure, make) that say what they are doing and keep a log.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Runs one long step, logging to a file in the work directory, and says what it is doing.
pub fn step(what: &str, work: &Path, cmd: &mut Command) -> Result<(), String> {
    let log = work.join(format!("{}.log", what.replace(' ', "-")));
    eprintln!("rpyc-bridge: {what} (log: {})", log.display());
    let started = Instant::now();
    let out = fs::File::create(&log).map_err(|e| e.to_string())?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let status = cmd
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    if !status.success() {
        let tail = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = tail.lines().rev().take(30).collect();
        return Err(format!(
            "{what} failed ({status}); last lines of {}:\n{}",
            log.display(),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    eprintln!(
        "rpyc-bridge: {what} done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
