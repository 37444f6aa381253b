//! Rows as they are read and written, and their conversion to the domain's records.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{Error, Event, NewEvent, NewUrl, NewUser, Url, User};
use serde_json::Value;

use crate::schema::{events, urls, users};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub created_at: NaiveDateTime,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self { id: row.id, username: row.username, email: row.email, created_at: row.created_at }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub email_key: String,
    pub created_at: NaiveDateTime,
}

impl<'a> From<&'a NewUser> for NewUserRow<'a> {
    fn from(user: &'a NewUser) -> Self {
        Self {
            username: user.username.as_str(),
            email: user.email.as_str(),
            email_key: user.email.key(),
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = urls, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UrlRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub short_code: String,
    pub original_url: String,
    pub title: Option<String>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl From<UrlRow> for Url {
    fn from(row: UrlRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            short_code: row.short_code,
            original_url: row.original_url,
            title: row.title,
            is_active: row.is_active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = urls)]
pub(crate) struct NewUrlRow<'a> {
    pub user_id: Option<i64>,
    pub short_code: &'a str,
    pub original_url: &'a str,
    pub title: Option<&'a str>,
    pub is_active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl<'a> From<&'a NewUrl> for NewUrlRow<'a> {
    fn from(url: &'a NewUrl) -> Self {
        Self {
            user_id: url.user_id,
            short_code: url.short_code.as_str(),
            original_url: url.original_url.as_str(),
            title: url.title.as_ref().map(|t| t.as_str()),
            is_active: true,
            created_at: url.created_at,
            updated_at: url.created_at,
        }
    }
}

#[derive(Debug, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRow {
    pub id: i64,
    pub url_id: Option<i64>,
    pub user_id: Option<i64>,
    pub event_type: String,
    pub timestamp: NaiveDateTime,
    pub details: Value,
}

impl TryFrom<EventRow> for Event {
    type Error = Error;

    fn try_from(row: EventRow) -> Result<Self, Error> {
        // The table's CHECK constraint makes anything but an object impossible.
        let Value::Object(details) = row.details else {
            return Err(Error::Internal(format!("event {} has non-object details", row.id)));
        };
        Ok(Self {
            id: row.id,
            url_id: row.url_id,
            user_id: row.user_id,
            event_type: row.event_type,
            timestamp: row.timestamp,
            details,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = events)]
pub(crate) struct NewEventRow {
    pub url_id: Option<i64>,
    pub user_id: Option<i64>,
    pub event_type: String,
    pub timestamp: NaiveDateTime,
    pub details: Value,
}

impl From<NewEvent> for NewEventRow {
    fn from(event: NewEvent) -> Self {
        Self {
            url_id: event.url_id,
            user_id: event.user_id,
            event_type: event.event_type.as_str().to_owned(),
            timestamp: event.timestamp,
            details: Value::Object(event.details),
        }
    }
}

/// One page of rows of a filtered table, ordered by id, and how many rows match,
/// read in one read-only snapshot so that the page and the total agree.
/// `$matching` builds the filtered query (evaluated for the page, and again for
/// the count unless a kept total is read);
/// `$kept` names the total the database keeps of it, if it keeps one
/// ([`crate::totals`]), which is then read instead of counting the rows.
macro_rules! page_with_total {
    ($conn:expr, $matching:expr, $kept:expr, $row:ty, $id:expr, $page:expr) => {{
        let (limit, offset) = $crate::rows::limit_offset($page);
        $conn
            .build_transaction()
            .read_only()
            .repeatable_read()
            .run(async |conn| {
                let rows: Vec<$row> = $matching
                    .select(<$row>::as_select())
                    .order($id.asc())
                    .limit(limit)
                    .offset(offset)
                    .load(conn)
                    .await?;
                let total: i64 = match $kept {
                    Some(list) => $crate::totals::kept_total(list).get_result(conn).await?,
                    None => $matching.count().get_result(conn).await?,
                };
                diesel::QueryResult::Ok((rows, u64::try_from(total).unwrap_or_default()))
            })
            .await
            .map_err($crate::error::database_error)
    }};
}
pub(crate) use page_with_total;

/// `LIMIT` and `OFFSET` of a page.
pub(crate) fn limit_offset(page: domain::Page) -> (i64, i64) {
    // Pages are bounded (u32 number times at most 1000 items): both always fit.
    let offset = i64::try_from(page.offset()).unwrap_or(i64::MAX);
    (i64::from(page.size()), offset)
}
