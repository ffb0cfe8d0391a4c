//! `wirelab serve` and `wirelab fetch`: the course's server and socket client.

use crate::cli::args::Output;
use crate::cli::failure::{Outcome, failed, input, lab_fail};
use crate::cli::output::{emit, line_printer, open_output};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use wirelab::drive::live::{self as session};
use wirelab::lab::{
    self,
    client::{self, FetchOptions},
    server::Server,
};

/// Serves the course's documents; with `tls` (the CA's file, the key log's), HTTPS.
pub fn serve(listen: SocketAddr, tls: Option<(&Path, Option<&Path>)>) -> Outcome {
    let mut server = match Server::bind(listen) {
        Ok(s) => s,
        Err(e) => return input(e),
    };
    let addr = server.local_addr();
    if let Some((ca_file, keylog)) = tls {
        let names = lab::dns_server::COURSE_NAMES;
        let ips = [addr.ip()];
        let ca = match lab::tls::LabCa::new(names, &ips) {
            Ok(ca) => ca,
            Err(e) => return failed(e),
        };
        if let Err(e) = std::fs::write(ca_file, &ca.ca_pem) {
            return input(format!(
                "writing the CA's certificate to {}: {e}",
                ca_file.display()
            ));
        }
        let keys = std::sync::Arc::new(wirelab::keylog::KeyLog::new());
        if let Some(path) = keylog {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => keys.also_write_to(f),
                Err(e) => return input(format!("opening the key log {}: {e}", path.display())),
            }
        }
        match ca.server_config(keys) {
            Ok(config) => server = server.with_tls(config),
            Err(e) => return failed(e),
        }
        eprintln!(
            "wirelab: the course server speaks HTTPS on {addr} (TLS 1.3 and 1.2) for {}; \
its CA's certificate is in {}; try: curl --cacert {} --connect-to data.pr4e.org:443:{addr} \
https://data.pr4e.org/romeo.txt",
            names.join(", "),
            ca_file.display(),
            ca_file.display(),
        );
    } else {
        eprintln!(
            "wirelab: the course server listens on http://{addr}/ (romeo.txt, cover3.jpg, page1.htm, page2.htm, \
intro-short.txt; /old redirects); try: wirelab fetch http://data.pr4e.org/romeo.txt --connect {addr}"
        );
    }
    let log: lab::server::LogFn = std::sync::Arc::new(|line: &str| eprintln!("{line}"));
    server.serve(&std::sync::atomic::AtomicBool::new(false), Some(log));
    Ok(ExitCode::SUCCESS)
}

pub fn fetch(
    url: &str,
    opts: &FetchOptions,
    interface: Option<String>,
    write: Option<&Path>,
    save_body: Option<&Path>,
    output: &Output,
) -> Outcome {
    let prepared = match client::prepare(url, opts) {
        Ok(p) => p,
        Err(e) => return input(e),
    };
    let out = open_output(output)?;
    let body_file = match save_body.map(session::create_for_target).transpose() {
        Ok(f) => f,
        Err(e) => return input(e),
    };
    let remote = prepared.remote();
    let interface = interface.unwrap_or_else(|| lab::interface_for(remote.ip()));
    let filter = format!(
        "tcp and host {} and port {} and port {}",
        remote.ip(),
        remote.port(),
        prepared.local_port()
    );
    let run = match lab::capture_fetches(
        &interface,
        filter,
        write,
        None,
        vec![prepared],
        output.options(),
        line_printer(output),
    ) {
        Ok(r) => r,
        Err(e) => return lab_fail(&e),
    };
    let fetched = &run.fetches[0];
    eprintln!(
        "wirelab: {} recv({}) calls returned {} bytes; {}",
        fetched.recv_sizes().len(),
        opts.recv_size,
        fetched.received.len(),
        run.dropped.description
    );
    if let (Some(mut file), Some(path)) = (body_file, save_body) {
        match client::body_after_blank_line(&fetched.received) {
            Some(body) => {
                if let Err(e) = file.write_all(body) {
                    return failed(format!("writing {}: {e}", path.display()));
                }
                eprintln!(
                    "wirelab: saved the {} bytes after the blank line to {}",
                    body.len(),
                    path.display()
                );
            }
            None => {
                return failed("the response has no blank line (\\r\\n\\r\\n): no body saved");
            }
        }
    }
    if let Some(p) = write {
        eprintln!("wirelab: capture saved to {}", p.display());
    }
    // The report last: the story is what the screen ends with.
    emit(&run.live.report, output, out)?;
    Ok(ExitCode::SUCCESS)
}
