//! A real RPyC classic server (tests/fixtures/classic_server.py in the project's venv).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct Server {
    child: Child,
    pub port: i32,
}

impl Server {
    pub fn start() -> Server {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let python = std::env::var_os("RPYC_BRIDGE_SERVER_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join(".venv/bin/python"));
        assert!(
            python.exists(),
            "{} is missing: run scripts/setup-venv.sh",
            python.display()
        );
        let mut child = Command::new(python)
            .arg(root.join("tests/fixtures/classic_server.py"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the RPyC server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("server printed {line:?}"));
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
