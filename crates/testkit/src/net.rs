//! Network fixtures for adapters' timeout tests.

use std::net::{SocketAddr, TcpListener, TcpStream};

/// A TCP server on 127.0.0.1 that accepts every connection and never answers (nor closes): the
/// shape of an upstream that hangs. Its thread lives until the test process ends.
pub fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    addr
}
