//! A small HTTP server on loopback for the providers' stand-ins: actix-web on a thread
//! of its own (its own runtime), so it serves whatever the test's runtime is doing.
#![allow(dead_code)]

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

/// A running stand-in; stopped on drop.
pub struct FakeServer {
    pub port: u16,
    handle: ServerHandle,
}

impl FakeServer {
    /// Starts a server whose routes `configure` registers.
    pub fn start<F>(configure: F) -> FakeServer
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || App::new().configure(configure.clone()))
                    .workers(1)
                    .bind(("127.0.0.1", 0))
                    .expect("bind a loopback port");
                let port = server.addrs()[0].port();
                let server = server.run();
                tx.send((port, server.handle())).expect("report the port");
                let _ = server.await;
            });
        });
        let (port, handle) = rx.recv().expect("fake server started");
        FakeServer { port, handle }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // The stop command is sent at once; its completion is not awaited.
        drop(self.handle.stop(false));
    }
}
