//! RPyC's framing (rpyc/core/channel.py), read straight off a connection's socket: a header
//! of length (u32, big-endian) and a compressed flag (u8), the payload, and a "\n".
//!
//! Called without the GIL. The socket belongs to the Python connection, which holds its
//! receive lock for us while we read, so nothing else reads it meanwhile.
//!
//! The length comes from the server: a frame over the caller's limit is refused before any
//! of it is read, and the payload's buffer grows as bytes arrive (from 1 MiB, doubling), so
//! a header that claims 4 GiB and a peer that then sends nothing cost no more than 1 MiB.

use std::io::{self, Read};
use std::os::fd::RawFd;
use std::time::Instant;

const HEADER_LEN: usize = 5;
const FLUSHER_LEN: usize = 1;
/// The payload buffer's first size at most; it doubles up to the frame's length.
const FIRST_CHUNK: usize = 1 << 20;

/// One frame: (compressed, payload).
pub type Frame = (bool, Vec<u8>);

/// Waits for the next frame until `deadline` (forever for `None`) and reads all of it.
/// `Ok(None)`: nothing arrived in time. Once a frame has begun it is read to its end, as
/// RPyC's own `Channel.recv` does, so a timeout never leaves half a frame behind. A frame
/// longer than `max_len` is an `InvalidData` error, and the stream is then mid-frame.
pub fn read(fd: RawFd, deadline: Option<Instant>, max_len: usize) -> io::Result<Option<Frame>> {
    if !wait_readable(fd, deadline)? {
        return Ok(None);
    }
    read_from(&mut FdReader(fd), max_len).map(Some)
}

/// The next frame from `src`, as `read` reads it from a socket.
pub fn read_from(src: &mut impl Read, max_len: usize) -> io::Result<Frame> {
    let mut header = [0u8; HEADER_LEN];
    fill(src, &mut header)?;
    let length = u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    if length > max_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the server sent a frame of {length} bytes, over the limit of {max_len}"),
        ));
    }
    let total = length + FLUSHER_LEN;
    let mut payload = Vec::new();
    while payload.len() < total {
        let start = payload.len();
        let end = total.min(start.saturating_mul(2).max(FIRST_CHUNK));
        payload.resize(end, 0);
        fill(src, &mut payload[start..])?;
    }
    payload.truncate(length);
    Ok((header[4] != 0, payload))
}

/// Fills `buf`; the peer closing first is `UnexpectedEof`.
fn fill(src: &mut impl Read, buf: &mut [u8]) -> io::Result<()> {
    src.read_exact(buf).map_err(|err| match err.kind() {
        io::ErrorKind::UnexpectedEof => {
            io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed by peer")
        }
        _ => err,
    })
}

/// A connection's socket as a reader: it waits through `EWOULDBLOCK` (a socket with a
/// Python timeout is non-blocking underneath) and retries `EINTR`.
struct FdReader(RawFd);

impl Read for FdReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: `buf` is valid for writes of `buf.len()` bytes; `self.0` is the
            // connection's open socket (the caller holds the connection for the whole read).
            let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::Interrupted => {}
                io::ErrorKind::WouldBlock => {
                    wait_readable(self.0, None)?;
                }
                _ => return Err(err),
            }
        }
    }
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

    const MAX: usize = 1 << 30;

    /// A byte source that records the largest read it was asked for.
    struct Recording<'a> {
        data: &'a [u8],
        largest: usize,
    }

    impl Read for Recording<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.largest = self.largest.max(buf.len());
            self.data.read(buf)
        }
    }

    fn frame(compressed: bool, payload: &[u8]) -> Vec<u8> {
        let mut f = (payload.len() as u32).to_be_bytes().to_vec();
        f.push(compressed.into());
        f.extend_from_slice(payload);
        f.push(b'\n');
        f
    }

    #[test]
    fn reads_a_frame_written_in_pieces() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let writer = std::thread::spawn(move || {
            a.write_all(&[0, 0, 0, 3, 0, b'a']).unwrap();
            std::thread::sleep(Duration::from_millis(20));
            a.write_all(b"bc\n").unwrap();
            a
        });
        let frame = read(b.as_raw_fd(), None, MAX).unwrap();
        assert_eq!(frame, Some((false, b"abc".to_vec())));
        drop(writer.join().unwrap());
        let eof = read(b.as_raw_fd(), None, MAX).unwrap_err();
        assert_eq!(eof.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn times_out_before_a_frame_begins() {
        let (_a, b) = UnixStream::pair().unwrap();
        let deadline = Instant::now() + Duration::from_millis(30);
        assert_eq!(read(b.as_raw_fd(), Some(deadline), MAX).unwrap(), None);
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
            read(b.as_raw_fd(), None, MAX).unwrap(),
            Some((true, b"z".to_vec()))
        );
        drop(writer.join().unwrap());
    }

    #[test]
    fn refuses_a_frame_over_the_limit_before_reading_it() {
        let mut src = Recording {
            data: &frame(false, &[7; 100]),
            largest: 0,
        };
        let err = read_from(&mut src, 99).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(
            err.to_string(),
            "the server sent a frame of 100 bytes, over the limit of 99"
        );
        assert_eq!(src.largest, HEADER_LEN, "only the header was read");
        // The largest length a header can claim, against the default limit.
        let claim = [0xff, 0xff, 0xff, 0xff, 0];
        let err = read_from(&mut &claim[..], MAX).unwrap_err();
        assert!(err.to_string().contains("4294967295 bytes"), "{err}");
        // At the limit exactly: read.
        let mut at_limit = &frame(true, &[7; 100])[..];
        assert_eq!(read_from(&mut at_limit, 100).unwrap(), (true, vec![7; 100]));
    }

    #[test]
    fn a_claimed_length_is_not_allocated_before_its_bytes_arrive() {
        // 1 GiB claimed (within the limit), 10 bytes sent: at most the first chunk is
        // asked for, and the end of the stream is an error.
        let mut claim = frame(false, &[]);
        claim[..4].copy_from_slice(&(1u32 << 30).to_be_bytes());
        claim.extend_from_slice(&[1; 10]);
        let mut src = Recording {
            data: &claim,
            largest: 0,
        };
        let err = read_from(&mut src, MAX).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(src.largest <= FIRST_CHUNK, "asked for {}", src.largest);
    }

    #[test]
    fn reads_frames_larger_than_the_first_chunk() {
        let payload: Vec<u8> = (0..3 * FIRST_CHUNK + 5).map(|i| i as u8).collect();
        let stream = [frame(false, &payload), frame(true, b"next")].concat();
        let mut src = &stream[..];
        assert_eq!(read_from(&mut src, MAX).unwrap(), (false, payload));
        assert_eq!(read_from(&mut src, MAX).unwrap(), (true, b"next".to_vec()));
        assert_eq!(
            read_from(&mut src, MAX).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }

    #[test]
    fn truncated_frames_are_eof() {
        let whole = frame(false, b"abcdef");
        for cut in [
            1,
            HEADER_LEN - 1,
            HEADER_LEN,
            HEADER_LEN + 3,
            whole.len() - 1,
        ] {
            let err = read_from(&mut &whole[..cut], MAX).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
            assert_eq!(err.to_string(), "connection closed by peer");
        }
    }

    #[test]
    fn refuses_an_oversize_frame_on_a_socket() {
        let (mut a, b) = UnixStream::pair().unwrap();
        a.write_all(&frame(false, &[0; 64])).unwrap();
        let err = read(b.as_raw_fd(), None, 63).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
