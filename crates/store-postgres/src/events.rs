//! [`EventRepository`] on the `events` table.

use diesel::dsl::{count_star, max};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Text, Timestamp};
use diesel_async::RunQueryDsl;
use domain::ports::{EventRepository, Result};
use domain::{Error, Event, EventFilter, EventId, Listing, NewEvent, Page, UrlId, UrlStats};

use crate::error::database_error;
use crate::rows::{EventRow, NewEventRow, page_with_total};
use crate::schema::{events, users};
use crate::store::PgStore;

fn matching(filter: &EventFilter) -> events::BoxedQuery<'_, Pg> {
    let mut query = events::table.into_boxed();
    if let Some(url_id) = filter.url_id {
        query = query.filter(events::url_id.eq(url_id));
    }
    if let Some(user_id) = filter.user_id {
        query = query.filter(events::user_id.eq(user_id));
    }
    if let Some(event_type) = &filter.event_type {
        query = query.filter(events::event_type.eq(event_type));
    }
    query
}

impl EventRepository for PgStore {
    async fn create_event(&self, event: NewEvent) -> Result<Event> {
        let row = NewEventRow::from(event);
        let (url_id, user_id) = (row.url_id, row.user_id);
        let mut conn = self.connection().await?;
        // The foreign key alone would accept a deleted URL, so the insert happens
        // only when the URL is live; the user is left to its foreign key.
        let inserted: Option<EventRow> = diesel::sql_query(
            "INSERT INTO events (url_id, user_id, event_type, timestamp, details) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE $1::bigint IS NULL \
                OR EXISTS (SELECT 1 FROM urls WHERE id = $1 AND deleted_at IS NULL) \
             RETURNING id, url_id, user_id, event_type, timestamp, details",
        )
        .bind::<Nullable<BigInt>, _>(row.url_id)
        .bind::<Nullable<BigInt>, _>(row.user_id)
        .bind::<Text, _>(&row.event_type)
        .bind::<Timestamp, _>(row.timestamp)
        .bind::<Jsonb, _>(&row.details)
        .get_result(&mut conn)
        .await
        .optional()
        .map_err(database_error)?;
        match inserted {
            Some(row) => Event::try_from(row),
            None => {
                // The URL is missing or deleted. A missing user takes precedence, as
                // the foreign key would have said so had the URL been fine.
                let user_exists = match user_id {
                    None => true,
                    Some(id) => diesel::select(diesel::dsl::exists(users::table.find(id)))
                        .get_result::<bool>(&mut conn)
                        .await
                        .map_err(database_error)?,
                };
                debug_assert!(url_id.is_some());
                Err(if user_exists { Error::UrlNotFound } else { Error::UserNotFound })
            }
        }
    }

    async fn get_event(&self, id: EventId) -> Result<Option<Event>> {
        let mut conn = self.connection().await?;
        let row = events::table
            .find(id)
            .select(EventRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        row.map(Event::try_from).transpose()
    }

    async fn list_events(&self, filter: &EventFilter, page: Page) -> Result<Listing<Event>> {
        let mut conn = self.connection().await?;
        // Counted, not kept (`crate::totals`): a kept total would be written by
        // every click's insert, the hot path. So an unfiltered list, or one of
        // all clicks, counts nearly every event (O(events)); a URL's or a user's
        // events are counted on their index.
        let (rows, total) =
            page_with_total!(conn, matching(filter), None, EventRow, events::id, page)?;
        Ok(Listing { items: rows.into_iter().map(Event::try_from).collect::<Result<_>>()?, total })
    }

    async fn record_click(&self, click: NewEvent) -> Result<()> {
        self.clicks().record(click).await
    }

    async fn flush_clicks(&self) -> Result<()> {
        self.clicks().flush().await
    }

    async fn url_stats(&self, url_id: UrlId) -> Result<UrlStats> {
        let mut conn = self.connection().await?;
        let (clicks, last_click_at) = events::table
            .filter(events::url_id.eq(url_id))
            .filter(events::event_type.eq(NewEvent::CLICK))
            .select((count_star(), max(events::timestamp)))
            .get_result::<(i64, Option<chrono::NaiveDateTime>)>(&mut conn)
            .await
            .map_err(database_error)?;
        Ok(UrlStats { clicks: u64::try_from(clicks).unwrap_or_default(), last_click_at })
    }
}
