//! Writing clicks. One insert per click for now; this is the seam where group
//! commit (many queued clicks in one multi-row insert, each redirect waiting for
//! the batch that carries its click) replaces it without touching the callers.

use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;
use domain::NewEvent;
use domain::ports::Result;

use crate::error::database_error;
use crate::rows::{NewEventRow, refuse_nul_in_details};
use crate::store::PgStore;

/// Records `click` durably: it is committed when this returns.
pub(crate) async fn record(store: &PgStore, click: NewEvent) -> Result<()> {
    refuse_nul_in_details(&click.details)?;
    let row = NewEventRow::from(click);
    let mut conn = store.connection().await?;
    // The URL was resolved a moment ago, but its owner may have been deleted since:
    // attributing the click to no one then, as ON DELETE SET NULL would have done a
    // moment later, beats failing a redirect on a foreign key.
    diesel::sql_query(
        "INSERT INTO events (url_id, user_id, event_type, timestamp, details) \
         VALUES ($1, (SELECT id FROM users WHERE id = $2), $3, $4, $5)",
    )
    .bind::<Nullable<BigInt>, _>(row.url_id)
    .bind::<Nullable<BigInt>, _>(row.user_id)
    .bind::<Text, _>(&row.event_type)
    .bind::<Timestamp, _>(row.timestamp)
    .bind::<Jsonb, _>(&row.details)
    .execute(&mut conn)
    .await
    .map_err(database_error)?;
    Ok(())
}
