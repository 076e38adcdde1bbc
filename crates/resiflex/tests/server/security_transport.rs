//! The transport against the real server: a client that trickles its headers is cut off after the
//! header timeout while others are served, one address cannot hold more than its share of
//! connections, a stalled body fails, `/metrics` can require a token or live on its own listener,
//! and an OCPP message over the size limit closes the connection with 1009 (message too big).
//! Also the server's scaled clock, which a restart must not send back to wall time.

use crate::charger;
use crate::harness;

use std::net::SocketAddr;
use std::time::Duration;

use harness::TestApp;
use resiflex_domain::Clock as _;
use resiflex_providers::DeviceProvider as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// Opens a TCP connection to `to` from the loopback address `from`.
async fn connect_from(from: [u8; 4], to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((from, 0))).unwrap();
    socket.connect(to).await.unwrap()
}

/// Sends a whole `GET path` on `stream` and returns the response's status line.
async fn get(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer within 10 s")
        .unwrap_or(0);
    String::from_utf8_lossy(&answer[..read])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

/// Whether the server closed `stream` (end of file or reset) within `within`, ignoring anything it
/// sent before closing.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_client_trickling_its_headers_is_cut_off_while_others_are_served() {
    let app = TestApp::spawn_with(|c| c.http.header_read_timeout_secs = 1).await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    // One more header line every 200 ms, for at most 15 s: the header never completes.
    let trickle = async {
        for i in 0..75 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow
                .write_all(format!("X-Slow-{i}: y\r\n").as_bytes())
                .await
                .is_err()
            {
                return true;
            }
            let mut probe = [0u8; 256];
            match tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                _ => {}
            }
        }
        false
    };
    let served = async {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            let mut normal = TcpStream::connect(app.addr).await.unwrap();
            statuses.push(get(&mut normal, "/healthz").await);
        }
        statuses
    };
    let (cut_off, statuses) = tokio::join!(trickle, served);
    assert!(cut_off, "the trickling client is disconnected");
    for status in statuses {
        assert!(
            status.contains(" 200 "),
            "normal requests are served: {status}"
        );
    }
    app.assert_alive().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with(|c| c.http.header_read_timeout_secs = 1).await;
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(15)).await,
        "a connection that never sends a request is closed"
    );
    // An idle keep-alive connection is closed too, after serving its request.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    assert!(get(&mut idle, "/healthz").await.contains(" 200 "));
    assert!(closed_within(&mut idle, Duration::from_secs(15)).await);
}

#[tokio::test]
async fn one_address_cannot_hold_more_than_its_connections() {
    let app = TestApp::spawn_with(|c| {
        c.http.max_connections_per_address = 3;
        c.http.header_read_timeout_secs = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from([127, 0, 0, 1], app.addr).await;
        // A served request proves the server has admitted the connection.
        assert!(get(&mut stream, "/healthz").await.contains(" 200 "));
        held.push(stream);
    }
    let mut extra = connect_from([127, 0, 0, 1], app.addr).await;
    let _ = extra
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await;
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), extra.read_to_end(&mut answer))
        .await
        .expect("the extra connection is closed within 10 s");
    assert!(
        read.is_err() || answer.is_empty(),
        "the fourth connection from one address is closed unanswered: {}",
        String::from_utf8_lossy(&answer)
    );
    // Another address is still served, and so are the held connections.
    let mut other = connect_from([127, 0, 0, 2], app.addr).await;
    assert!(get(&mut other, "/healthz").await.contains(" 200 "));
    assert!(get(&mut held[0], "/healthz").await.contains(" 200 "));
    // A freed place can be taken again.
    drop(held.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut stream = connect_from([127, 0, 0, 1], app.addr).await;
        if get(&mut stream, "/healthz").await.contains(" 200 ") {
            again = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "the place of a closed connection is free again"
    );
}

#[tokio::test]
async fn a_stalled_body_fails_before_the_request_timeout() {
    let app = TestApp::spawn_with(|c| {
        c.http.body_read_timeout_secs = 1;
        c.http.request_timeout_secs = 60;
    })
    .await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(
            b"POST /v1/graphql/ HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"query\":",
        )
        .await
        .unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut answer))
        .await
        .expect("an answer within 15 s")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&answer[..read]);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "a body that never arrives is answered 408: {text}"
    );
    assert!(text.contains("KT-CT-"), "in the Kraken error shape: {text}");
    app.assert_alive().await;
}

#[tokio::test]
async fn metrics_with_a_token_refuse_callers_without_it() {
    let app = TestApp::spawn_with(|c| {
        c.http.metrics_token = Some(resiflex_api::http::MetricsToken::new("scrape-me-please"));
    })
    .await;
    let without = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(without.status(), 401);
    assert!(without.headers().contains_key("www-authenticate"));
    let wrong = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-pleasf")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app
        .client
        .get(app.url("/metrics"))
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);
    assert!(right.text().await.unwrap().contains("resiflex_db_pool"));
}

#[tokio::test]
async fn metrics_on_their_own_address_are_not_on_the_main_listener() {
    let app = TestApp::spawn_with(|c| {
        c.http.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let main = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(main.status(), 404, "not on the API's listener");
    let addr = app.metrics_addr.expect("a metrics listener");
    assert_ne!(addr, app.addr);
    let metrics = app
        .client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    assert!(metrics.text().await.unwrap().contains("resiflex_db_pool"));
    let api = app
        .client
        .get(format!("http://{addr}/v1/graphql/"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 404, "the API is not on the metrics listener");
}

#[tokio::test]
async fn an_oversized_ocpp_message_is_closed_with_message_too_big() {
    let app = TestApp::spawn_with(|c| c.ocpp.max_message_bytes = 4096).await;
    let details = app
        .ocpp
        .provider("OCPP")
        .enrolment()
        .unwrap()
        .enrol("oversized", app.clock.now())
        .await
        .unwrap();
    let password = details.password.unwrap();
    let mut charger = charger::connect(
        &details.websocket_url,
        Some((&details.device_id, &password)),
        Some("ocpp1.6"),
    )
    .await
    .unwrap();
    assert_eq!(charger.boot().await["status"], "Accepted");
    let padding = "x".repeat(8 * 1024);
    charger
        .send_text(&format!(
            r#"[2,"big","DataTransfer",{{"vendorId":"v","data":"{padding}"}}]"#
        ))
        .await;
    assert_eq!(charger.close_code().await, Some(1009));
    // It may connect again, and messages within the limit are answered.
    let mut again = charger::connect(
        &details.websocket_url,
        Some((&details.device_id, &password)),
        Some("ocpp1.6"),
    )
    .await
    .unwrap();
    assert_eq!(again.boot().await["status"], "Accepted");
}

#[tokio::test]
async fn a_scaled_clock_keeps_running_across_a_restart_unless_a_start_is_given() {
    use chrono::Duration as ChronoDuration;
    use resiflex::server::server_clock;
    use resiflex_domain::{ManualClock, SharedClock};

    let test_db = resiflex_store::testing::TestDb::new().await;
    let config = resiflex::config::Config {
        clock_speed: 600.0,
        ..resiflex::config::Config::default()
    };
    let begin = harness::start_instant();
    let wall = ManualClock::new(begin);
    let wall_clock = || -> SharedClock { std::sync::Arc::new(wall.clone()) };
    let first = server_clock(&test_db.db, &config, Some(600.0), None, wall_clock())
        .await
        .unwrap();
    assert!(first.now() >= begin && first.now() < begin + ChronoDuration::days(1));
    // The server stops; a minute of wall time later it starts again at the same speed.
    wall.advance(ChronoDuration::minutes(1));
    let second = server_clock(
        &test_db.reopen().await,
        &config,
        Some(600.0),
        None,
        wall_clock(),
    )
    .await
    .unwrap();
    assert!(
        second.now() >= begin + ChronoDuration::hours(10),
        "ten hours of server time passed in that minute, not back to wall time: {}",
        second.now()
    );
    // A wall clock set back does not set the server's clock back.
    let shown = second.now();
    wall.advance(ChronoDuration::hours(-2));
    let third = server_clock(&test_db.db, &config, Some(600.0), None, wall_clock())
        .await
        .unwrap();
    assert!(
        third.now() >= shown - ChronoDuration::minutes(10),
        "{}",
        third.now()
    );
    // An explicit start sets the clock anew, and later starts continue from it.
    let explicit = begin - ChronoDuration::days(30);
    let fourth = server_clock(
        &test_db.db,
        &config,
        Some(600.0),
        Some(explicit),
        wall_clock(),
    )
    .await
    .unwrap();
    assert!(fourth.now() >= explicit && fourth.now() < explicit + ChronoDuration::days(1));
    let fifth = server_clock(&test_db.db, &config, Some(600.0), None, wall_clock())
        .await
        .unwrap();
    assert!(fifth.now() >= explicit && fifth.now() < explicit + ChronoDuration::days(1));
    // Without a speed or a start the server runs on the wall clock.
    let plain = server_clock(&test_db.db, &config, None, None, wall_clock())
        .await
        .unwrap();
    assert_eq!(plain.now(), wall.now());
}
