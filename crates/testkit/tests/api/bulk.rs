//! `POST /users/bulk`: the reference file, idempotence, messy CSVs, bad uploads.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::json;
use testkit::{TestApp, expect_error, expect_json};

fn reference_users_csv() -> Vec<u8> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/seed-data/users.csv");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

async fn total_users(app: &TestApp) -> String {
    let response = app.get("/users?per_page=1").await;
    response.headers()["x-total-count"].to_str().unwrap().to_owned()
}

on_every_store! {
    async fn the_reference_file_imports_400_rows_twice_with_the_same_answer(app: TestApp) {
        let first = expect_json(app.import_users_csv(reference_users_csv()).await, StatusCode::OK).await;
        assert_eq!((first["count"].clone(), first["imported"].clone()), (json!(400), json!(400)), "{first}");
        let total = total_users(&app).await;
        let second = expect_json(app.import_users_csv(reference_users_csv()).await, StatusCode::OK).await;
        assert_eq!(second, first, "the same answer");
        assert_eq!(total_users(&app).await, total, "no new rows");
        // Some usernames repeat in the file: those rows count but are not duplicated.
        assert_eq!(total, "397");

        let one = app.get_json("/users/1").await;
        assert_eq!(one, json!({"id": 1, "username": "cobaltanchor06",
                               "email": "cobaltanchor06@acme.dev", "created_at": "2024-01-02T17:05:09"}));
        let created = app.create_user("newcomer").await;
        assert!(created["id"].as_i64().unwrap() >= 401, "{created}");
    }

    async fn a_file_of_several_batches_follows_the_rules_across_them(app: TestApp) {
        // Over one batch of the endpoint (10,000 rows): the rows after it are
        // decided against the users the first batch wrote.
        let mut csv = String::from("id,username,email\n");
        for i in 1..=10_000 {
            csv.push_str(&format!("{i},user{i},user{i}@example.com\n"));
        }
        csv.push_str(",newbie,USER7@example.com\n"); // line 10002: e-mail held by user7
        csv.push_str(",user5,other@example.com\n"); // line 10003: already here, accepted
        for i in 0..1_200 {
            csv.push_str(&format!(",bad{i},not-an-email\n")); // lines 10004..=11203
        }
        csv.push_str("20000,last,last@example.com\n"); // line 11204: keeps its id

        let report = expect_json(app.import_users_csv(csv).await, StatusCode::OK).await;
        assert_eq!((report["count"].clone(), report["rejected"].clone()), (json!(10_002), json!(1_201)));
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1_000, "the listed refusals are capped");
        let lines: Vec<i64> = errors.iter().map(|e| e["line"].as_i64().unwrap()).collect();
        assert_eq!(lines[..3], [10_002, 10_004, 10_005], "in the order of the file");
        assert_eq!(errors[0]["error"], "email: already exists");
        assert_eq!(total_users(&app).await, "10001");
        assert_eq!(app.get_json("/users/20000").await["username"], "last");
        assert_eq!(app.get_json("/users/5").await["email"], "user5@example.com", "unchanged");
    }

    async fn a_messy_csv_imports_what_it_can_and_reports_lines(app: TestApp) {
        app.create_user("taken").await;
        let csv = "\u{feff}email,created_at,username,id\r\n\
                   ann@example.com,2024-05-06 07:08:09,ann,70\r\n\
                   \r\n\
                   not-an-email,,bad,71\r\n\
                   \" ben@example.com \",, ben ,72\r\n\
                   carl@example.com,,,73\r\n\
                   taken2@example.com,,taken,74\r\n\
                   \"multi\r\nline@example.com\",,m,75\r\n\
                   dee@example.com,,dee,76";
        let report = expect_json(app.import_users_csv(csv).await, StatusCode::OK).await;
        assert_eq!(report["count"], 4, "ann, ben, taken (already there) and dee: {report}");
        assert_eq!(report["rejected"], 3, "{report}");
        let lines: Vec<i64> = report["errors"].as_array().unwrap().iter()
            .map(|e| e["line"].as_i64().unwrap()).collect();
        assert_eq!(lines, [4, 6, 8], "{report}");
        assert!(report["errors"][0]["error"].as_str().unwrap().contains("email"));
        let ann = app.get_json("/users/70").await;
        assert_eq!(ann, json!({"id": 70, "username": "ann", "email": "ann@example.com",
                               "created_at": "2024-05-06T07:08:09"}));
        assert_eq!(app.get_json("/users/72").await["username"], "ben", "fields are trimmed");
        expect_error(app.get("/users/74").await, StatusCode::NOT_FOUND).await;
    }

    async fn unusable_uploads_are_400(app: TestApp) {
        expect_error(app.import_users_csv("").await, StatusCode::BAD_REQUEST).await;
        expect_error(app.import_users_csv("username,email\n").await, StatusCode::BAD_REQUEST).await;
        expect_error(app.import_users_csv(&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..]).await, StatusCode::BAD_REQUEST).await;
        expect_error(app.import_users_csv("name,mail\nx,y@example.com\n").await, StatusCode::BAD_REQUEST).await;
        let form = reqwest::multipart::Form::new().text("other", "username,email\na,a@example.com\n");
        let response = app.request(reqwest::Method::POST, "/users/bulk").multipart(form).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST).await;
        let json_body = app.post_json("/users/bulk", &json!({"file": "username\na"})).await;
        expect_error(json_body, StatusCode::BAD_REQUEST).await;
        assert_eq!(total_users(&app).await, "0");
    }
}
