//! RPyC's framing (rpyc/core/channel.py), read straight off a connection's socket: a header
//! of length (u32, big-endian) and a compressed flag (u8), the payload, and a "\n".
//!
//! Called without the GIL. The socket belongs to the Python connection, which holds its
//! receive lock for us while we read, so nothing else reads it meanwhile.

use std::io;
use std::os::fd::RawFd;
use std::time::Instant;

const HEADER_LEN: usize = 5;
const FLUSHER_LEN: usize = 1;

/// One frame: (compressed, payload).
pub type Frame = (bool, Vec<u8>);

/// Waits for the next frame until `deadline` (forever for `None`) and reads all of it.
/// `Ok(None)`: nothing arrived in time. Once a frame has begun it is read to its end, as
/// RPyC's own `Channel.recv` does, so a timeout never leaves half a frame behind.
pub fn read(fd: RawFd, deadline: Option<Instant>) -> io::Result<Option<Frame>> {
    if !wait_readable(fd, deadline)? {
        return Ok(None);
    }
    let mut header = [0u8; HEADER_LEN];
    read_exact(fd, &mut header)?;
    let length = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let mut payload = vec![0u8; length + FLUSHER_LEN];
    read_exact(fd, &mut payload)?;
    payload.truncate(length);
    Ok(Some((header[4] != 0, payload)))
}

fn read_exact(fd: RawFd, mut buf: &mut [u8]) -> io::Result<()> {
    while !buf.is_empty() {
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `fd` is the connection's
        // open socket (the caller holds the connection for the whole read).
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed by peer",
                ))
            }
            n if n > 0 => buf = &mut buf[n as usize..],
            _ => {
                let err = io::Error::last_os_error();
                match err.kind() {
                    io::ErrorKind::Interrupted => {}
                    // A socket with a Python timeout is non-blocking underneath.
                    io::ErrorKind::WouldBlock => {
                        wait_readable(fd, None)?;
                    }
                    _ => return Err(err),
                }
            }
        }
    }
    Ok(())
}

/// Whether `fd` became readable (or hung up) before `deadline`.
fn wait_readable(fd: RawFd, deadline: Option<Instant>) -> io::Result<bool> {
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                // Rounded up: poll would otherwise spin through the last millisecond.
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match n {
            0 => return Ok(false),
            n if n > 0 => return Ok(true),
            _ => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::time::Duration;

    #[test]
    fn reads_a_frame_written_in_pieces() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            a.write_all(&[0, 0, 0, 3, 0, b'a']).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            a.write_all(b"bc\n").unwrap();
            a
        });
        let frame = read(b.as_raw_fd(), None).unwrap();
        assert_eq!(frame, Some((false, b"abc".to_vec())));
        drop(writer.join().unwrap());
        let eof = read(b.as_raw_fd(), None).unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn times_out_before_a_frame_begins() {
        let (_a, b) = UnixStream::pair().unwrap();
        let deadline = Instant::now() + Duration::from_millis(30);
        assert_eq!(read(b.as_raw_fd(), Some(deadline)).unwrap(), None);
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn reads_through_a_non_blocking_socket() {
        let (mut a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        a.write_all(&[0, 0, 0, 1, 1]).unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            a.write_all(b"z\n").unwrap();
            a
        });
        assert_eq!(
            read(b.as_raw_fd(), None).unwrap(),
            Some((true, b"z".to_vec()))
        );
        drop(writer.join().unwrap());
    }
}
