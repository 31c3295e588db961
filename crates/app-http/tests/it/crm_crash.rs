//! Crash safety of CRM deliveries with the real binary: a process killed with SIGKILL while the
//! CRM is still answering its attempt leaves the delivery claimed; after the lease, a restarted
//! process delivers it. Nothing the webhook acknowledged is lost.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use adapters_db::backend_tests;
use adapters_db::testing::TestDb;
use domain::DeliveryStatus;
use domain::ports::DeliveryQueue;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::cli::{igrouter, stderr_lines, wait_for_listening};
use crate::helpers::{TempDir, config_with, install_crypto_provider};
use crate::webhook_support::{
    FACEBOOK_SECRET, INSTAGRAM_SECRET, VERIFY_TOKEN, deliveries, seed_account_with_crm, sign,
};

backend_tests!(a_delivery_cut_off_by_sigkill_is_delivered_after_a_restart);

/// `igrouter serve` on `database_url`, with leases short enough for a test: HTTP_TIMEOUT 1 s and
/// four attempts at once make a 7 s lease.
///
/// The log receiver must be kept: dropping it closes the child's stderr pipe under it.
fn start(dir: &TempDir, database_url: &str) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = igrouter(dir)
        .env("DATABASE_URL", database_url)
        .env("BIND_ADDRESS", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("FACEBOOK_VERIFY_TOKEN", VERIFY_TOKEN)
        .env("INSTAGRAM_APP_SECRET", INSTAGRAM_SECRET)
        .env("FACEBOOK_APP_SECRET", FACEBOOK_SECRET)
        .env("HTTP_TIMEOUT", "1s")
        .env("CRM_DELIVERY_CONCURRENCY", "4")
        .env("CRM_POLL_INTERVAL", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = stderr_lines(&mut child);
    let address = wait_for_listening(&lines, &mut child);
    (child, address, lines)
}

async fn a_delivery_cut_off_by_sigkill_is_delivered_after_a_restart(test: TestDb) {
    install_crypto_provider();
    let crm = MockServer::start().await;
    // The first attempt hangs (the process is killed meanwhile); later ones succeed.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&crm)
        .await;
    let config = config_with(&test.url, &[]);
    let crm_url = format!("{}/crm", crm.uri());
    seed_account_with_crm(&test.db, &config, "1234567890", Some(&crm_url)).await;
    let dir = TempDir::new();

    let (mut first, address, _first_log) = start(&dir, &test.url);
    let body = br#"{"object":"instagram","entry":[{"id":"1234567890","time":1700000000001,"messaging":[{"sender":{"id":"555"},"recipient":{"id":"1234567890"},"timestamp":1700000000000,"message":{"mid":"m.crash","text":"still there?"}}]}]}"#;
    let response = reqwest::Client::new()
        .post(format!("http://{address}/webhooks/instagram"))
        .header("content-type", "application/json")
        .header("x-hub-signature-256", sign(body))
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Wait until the attempt is at the CRM, then kill the process mid-request.
    for _ in 0..200 {
        if !crm.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(crm.received_requests().await.unwrap().len(), 1);
    let killed = Command::new("kill")
        .args(["-KILL", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let _ = first.wait();
    let claimed = deliveries(&test).await.remove(0);
    assert_eq!(
        claimed.status,
        DeliveryStatus::Delivering,
        "left claimed by the dead process"
    );

    let (mut second, _, _second_log) = start(&dir, &test.url);
    let mut delivered = None;
    for _ in 0..200 {
        let delivery = deliveries(&test).await.remove(0);
        if delivery.status == DeliveryStatus::Delivered {
            delivered = Some(delivery);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = second.kill();
    let _ = second.wait();
    let delivered = delivered.expect("the restarted process delivered the event");
    assert_eq!(delivered.id, claimed.id);
    assert_eq!(delivered.attempts, 2, "the cut-off attempt counts");
    let received = crm.received_requests().await.unwrap();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].body, received[1].body);
    let log = test.db.delivery(&delivered.id).await.unwrap().unwrap();
    let numbers: Vec<u32> = log.attempts.iter().map(|a| a.number).collect();
    assert_eq!(numbers, [2], "only the finished attempt has a result");
}
