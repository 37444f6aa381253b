//! [`UrlRepository`] on the `urls` table; every change writes its events in the
//! same transaction.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use domain::ports::{Result, UrlRepository};
use domain::{Error, Listing, NewEvent, NewUrl, Page, Url, UrlFilter, UrlId, UrlPatch};

use crate::error::{Failure, database_error};
use crate::rows::{NewEventRow, NewUrlRow, UrlRow, page_with_total};
use crate::schema::{events, urls};
use crate::store::PgStore;
use crate::totals;

/// URLs that were not deleted, matching `filter`.
fn matching(filter: &UrlFilter) -> urls::BoxedQuery<'_, Pg> {
    let mut query = urls::table.filter(urls::deleted_at.is_null()).into_boxed();
    if let Some(user_id) = filter.user_id {
        query = query.filter(urls::user_id.eq(user_id));
    }
    if let Some(is_active) = filter.is_active {
        query = query.filter(urls::is_active.eq(is_active));
    }
    if let Some(code) = &filter.short_code {
        query = query.filter(urls::short_code.eq(code));
    }
    query
}

/// Writes `new` events in one statement.
async fn record_events(conn: &mut AsyncPgConnection, new: Vec<NewEvent>) -> QueryResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    let rows: Vec<NewEventRow> = new.into_iter().map(NewEventRow::from).collect();
    diesel::insert_into(events::table).values(rows).execute(conn).await.map(drop)
}

impl UrlRepository for PgStore {
    async fn create_url(&self, url: NewUrl) -> Result<Url> {
        let mut conn = self.connection().await?;
        conn.transaction(async |conn| {
            let created: Url = diesel::insert_into(urls::table)
                .values(NewUrlRow::from(&url))
                .returning(UrlRow::as_returning())
                .get_result::<UrlRow>(conn)
                .await?
                .into();
            record_events(conn, vec![NewEvent::url_created(&created)]).await?;
            diesel::QueryResult::Ok(created)
        })
        .await
        .map_err(database_error)
    }

    async fn get_url(&self, id: UrlId) -> Result<Option<Url>> {
        let mut conn = self.connection().await?;
        let row = urls::table
            .find(id)
            .filter(urls::deleted_at.is_null())
            .select(UrlRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        Ok(row.map(Url::from))
    }

    async fn find_url_by_code(&self, code: &str) -> Result<Option<Url>> {
        let mut conn = self.connection().await?;
        // The redirect's lookup: one probe of the unique index on short_code.
        let row = urls::table
            .filter(urls::short_code.eq(code))
            .filter(urls::deleted_at.is_null())
            .select(UrlRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        Ok(row.map(Url::from))
    }

    async fn list_urls(&self, filter: &UrlFilter, page: Page) -> Result<Listing<Url>> {
        let mut conn = self.connection().await?;
        let (rows, total) = page_with_total!(
            conn,
            matching(filter),
            totals::url_lists(filter),
            UrlRow,
            urls::id,
            page
        )?;
        Ok(Listing { items: rows.into_iter().map(Url::from).collect(), total })
    }

    async fn update_url(&self, id: UrlId, patch: UrlPatch, now: NaiveDateTime) -> Result<Url> {
        let mut conn = self.connection().await?;
        let updated = conn
            .transaction(async |conn| {
                // The row stays locked until commit, so the events describe exactly
                // the change that was written, even under concurrent updates.
                let current: Url = urls::table
                    .find(id)
                    .filter(urls::deleted_at.is_null())
                    .select(UrlRow::as_select())
                    .for_update()
                    .first::<UrlRow>(conn)
                    .await
                    .optional()?
                    .ok_or(Error::UrlNotFound)?
                    .into();
                let (next, changes) = patch.apply(&current, now);
                diesel::update(urls::table.find(id))
                    .set((
                        urls::title.eq(&next.title),
                        urls::original_url.eq(&next.original_url),
                        urls::is_active.eq(next.is_active),
                        urls::updated_at.eq(next.updated_at),
                    ))
                    .execute(conn)
                    .await?;
                record_events(conn, changes).await?;
                Ok::<_, Failure>(next)
            })
            .await?;
        Ok(updated)
    }

    async fn delete_url(&self, id: UrlId, now: NaiveDateTime) -> Result<Url> {
        let mut conn = self.connection().await?;
        let deleted = conn
            .transaction(async |conn| {
                // Marking and finding the live row in one statement: of two
                // concurrent deletes exactly one matches, so one `deleted` event.
                let deleted: Url =
                    diesel::update(urls::table.find(id).filter(urls::deleted_at.is_null()))
                        .set(urls::deleted_at.eq(now))
                        .returning(UrlRow::as_returning())
                        .get_result::<UrlRow>(conn)
                        .await
                        .optional()?
                        .ok_or(Error::UrlNotFound)?
                        .into();
                record_events(conn, vec![NewEvent::url_deleted(&deleted, now)]).await?;
                Ok::<_, Failure>(deleted)
            })
            .await?;
        Ok(deleted)
    }
}
