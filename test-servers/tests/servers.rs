//! The launchers themselves: each server starts, serves the files written on its side, and
//! stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use test_servers::{FtpServer, S3Server, SftpServer};

/// One FTP reply (the last line of a possibly multi-line reply).
fn reply(reader: &mut impl BufRead) -> String {
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("an FTP reply");
        if line.len() >= 4 && line.as_bytes()[3] == b' ' {
            return line;
        }
    }
}

#[test]
fn the_ftp_server_logs_the_user_in_and_stops_when_dropped() {
    let Some(server) = FtpServer::start(false) else {
        return;
    };
    server.write("in/a.csv", "id\n1\n");
    assert_eq!(server.names("in"), vec!["a.csv"]);
    assert_eq!(server.read("in/a.csv").as_deref(), Some(&b"id\n1\n"[..]));
    let stream = TcpStream::connect((server.host(), server.port())).expect("connects");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    assert!(reply(&mut reader).starts_with("220"));
    writeln!(writer, "USER {}\r", server.username()).expect("USER");
    assert!(reply(&mut reader).starts_with("331"));
    writeln!(writer, "PASS {}\r", server.password()).expect("PASS");
    assert!(reply(&mut reader).starts_with("230"));
    writeln!(writer, "TYPE I\r").expect("TYPE");
    assert!(reply(&mut reader).starts_with("200"));
    writeln!(writer, "SIZE /in/a.csv\r").expect("SIZE");
    assert_eq!(reply(&mut reader).trim(), "213 5");
    let port = server.port();
    drop(server);
    std::thread::sleep(Duration::from_millis(100));
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
}

#[test]
fn the_ftps_server_requires_tls() {
    let Some(server) = FtpServer::start(true) else {
        return;
    };
    assert_eq!(server.block()["type"], "ftps");
    let stream = TcpStream::connect((server.host(), server.port())).expect("connects");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    assert!(reply(&mut reader).starts_with("220"));
    writeln!(writer, "USER {}\r", server.username()).expect("USER");
    assert!(
        reply(&mut reader).starts_with("550"),
        "plain logins are refused"
    );
}

#[test]
fn the_sftp_server_answers_ssh_and_owns_the_files_it_is_given() {
    let Some(server) = SftpServer::start() else {
        return;
    };
    server.write("in/deep/a.csv", "id\n1\n");
    assert_eq!(server.names("in/deep"), vec!["a.csv"]);
    assert!(server.remote("in").starts_with('/'));
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(server.root()).expect("root").uid();
    for rel in ["in", "in/deep", "in/deep/a.csv"] {
        assert_eq!(std::fs::metadata(server.path(rel)).expect(rel).uid(), owner);
    }
    assert!(server.private_key().contains("OPENSSH PRIVATE KEY"));
    let mut stream = TcpStream::connect((server.host(), server.port())).expect("connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut banner = [0u8; 8];
    stream.read_exact(&mut banner).expect("a banner");
    assert_eq!(&banner, b"SSH-2.0-");
}

#[test]
fn the_s3_server_stores_objects_and_checks_signatures_once_asked() {
    let Some(server) = S3Server::start() else {
        return;
    };
    server.create_bucket("files");
    server.put("files/in/a b.csv", "id\n1\n");
    server.put("files/in/deep/b.csv", "x");
    server.put("files/other.csv", "y");
    assert_eq!(
        server.get("files/in/a b.csv").as_deref(),
        Some(&b"id\n1\n"[..])
    );
    assert_eq!(server.get("files/in/none.csv"), None);
    assert_eq!(
        server.list("files", "in/"),
        vec![("in/a b.csv".into(), 5), ("in/deep/b.csv".into(), 1)]
    );
    assert_eq!(server.names("files", "in"), vec!["a b.csv"]);
    server.delete("files/other.csv");
    assert_eq!(server.names("files", ""), Vec::<String>::new());

    let before = server.credentials();
    let after = server.require_auth();
    assert_ne!(before, after);
    assert_eq!(server.block()["accessKeyId"], after.access_key_id.as_str());
    // Signed with the new key, requests still work.
    assert_eq!(
        server.get("files/in/deep/b.csv").as_deref(),
        Some(&b"x"[..])
    );
}
