//! [`ApiKeyRepository`] on the `api_keys` table: digests, never secrets.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::Error;
use domain::api_keys::{ApiKey, KeyHash, KeySelector, NewApiKey};
use domain::ports::{ApiKeyRepository, Result};

use crate::error::database_error;
use crate::schema::api_keys;
use crate::store::PgStore;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
struct ApiKeyRow {
    id: i64,
    name: String,
    created_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(row: ApiKeyRow) -> Self {
        Self { id: row.id, name: row.name, created_at: row.created_at, revoked_at: row.revoked_at }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = api_keys)]
struct NewApiKeyRow<'a> {
    name: &'a str,
    key_hash: &'a [u8],
    created_at: NaiveDateTime,
}

impl ApiKeyRepository for PgStore {
    async fn create_api_key(&self, key: NewApiKey) -> Result<ApiKey> {
        let mut conn = self.connection().await?;
        let row = NewApiKeyRow {
            name: key.name.as_str(),
            key_hash: key.hash.as_bytes(),
            created_at: key.created_at,
        };
        diesel::insert_into(api_keys::table)
            .values(row)
            .returning(ApiKeyRow::as_returning())
            .get_result(&mut conn)
            .await
            .map(ApiKey::from)
            .map_err(database_error)
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        let mut conn = self.connection().await?;
        let row = api_keys::table
            .filter(api_keys::key_hash.eq(&hash.as_bytes()[..]))
            .select(ApiKeyRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        Ok(row.map(ApiKey::from))
    }

    async fn list_api_keys(&self) -> Result<Vec<ApiKey>> {
        let mut conn = self.connection().await?;
        let rows = api_keys::table
            .order(api_keys::id)
            .select(ApiKeyRow::as_select())
            .load(&mut conn)
            .await
            .map_err(database_error)?;
        Ok(rows.into_iter().map(ApiKey::from).collect())
    }

    async fn revoke_api_key(&self, selector: &KeySelector, now: NaiveDateTime) -> Result<ApiKey> {
        let mut conn = self.connection().await?;
        let selected = |query: api_keys::BoxedQuery<'static, Pg>| match selector {
            KeySelector::Id(id) => query.filter(api_keys::id.eq(*id)),
            KeySelector::Name(name) => query.filter(api_keys::name.eq(name.as_str().to_owned())),
        };
        let Some(key) = selected(api_keys::table.into_boxed())
            .select(ApiKeyRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?
        else {
            return Err(Error::KeyNotFound);
        };
        // Only a live key changes, so a second revocation keeps the first time.
        let revoked = diesel::update(api_keys::table.find(key.id))
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(now))
            .returning(ApiKeyRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        let key = match revoked {
            Some(key) => key,
            // Revoked already (maybe a moment ago, by someone else): as it is now.
            None => api_keys::table
                .find(key.id)
                .select(ApiKeyRow::as_select())
                .first(&mut conn)
                .await
                .map_err(database_error)?,
        };
        Ok(ApiKey::from(key))
    }
}
