//! [`UserRepository`] on the `users` table.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use domain::import::{ImportRejection, ImportUser};
use domain::ports::{Result, UserRepository};
use domain::{Error, Listing, NewUser, Page, User, UserFilter, UserId, UserPatch};

use crate::error::{Failure, database_error};
use crate::rows::{NewUserRow, UserRow, page_with_total};
use crate::schema::{urls, users};
use crate::store::PgStore;
use crate::totals;

/// The columns a patch changes; `None` leaves a column as it is.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct UserChanges<'a> {
    username: Option<&'a str>,
    email: Option<&'a str>,
    email_key: Option<String>,
}

/// Users matching `filter`; built twice per listing (page and count).
fn matching(filter: &UserFilter) -> users::BoxedQuery<'_, Pg> {
    let mut query = users::table.into_boxed();
    if let Some(username) = &filter.username {
        query = query.filter(users::username.eq(username));
    }
    if let Some(email) = &filter.email {
        // The same key `Email::key` gives, so the filter finds what uniqueness sees.
        query = query.filter(users::email_key.eq(email.trim().to_lowercase()));
    }
    query
}

impl UserRepository for PgStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        let mut conn = self.connection().await?;
        diesel::insert_into(users::table)
            .values(NewUserRow::from(&user))
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .map(User::from)
            .map_err(database_error)
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        let mut conn = self.connection().await?;
        let row = users::table
            .find(id)
            .select(UserRow::as_select())
            .first(&mut conn)
            .await
            .optional()
            .map_err(database_error)?;
        Ok(row.map(User::from))
    }

    async fn list_users(&self, filter: &UserFilter, page: Page) -> Result<Listing<User>> {
        let mut conn = self.connection().await?;
        let (rows, total) = page_with_total!(
            conn,
            matching(filter),
            totals::user_lists(filter),
            UserRow,
            users::id,
            page
        )?;
        Ok(Listing { items: rows.into_iter().map(User::from).collect(), total })
    }

    async fn update_user(&self, id: UserId, patch: UserPatch) -> Result<User> {
        let changes = UserChanges {
            username: patch.username.as_ref().map(|u| u.as_str()),
            email: patch.email.as_ref().map(|e| e.as_str()),
            email_key: patch.email.as_ref().map(|e| e.key()),
        };
        if changes.username.is_none() && changes.email.is_none() {
            // Nothing to write (diesel refuses an empty SET); the user must exist.
            return self.get_user(id).await?.ok_or(Error::UserNotFound);
        }
        let mut conn = self.connection().await?;
        // One statement: the row lock it takes makes the patch atomic.
        diesel::update(users::table.find(id))
            .set(changes)
            .returning(UserRow::as_returning())
            .get_result(&mut conn)
            .await
            .optional()
            .map_err(database_error)?
            .map(User::from)
            .ok_or(Error::UserNotFound)
    }

    async fn delete_user(&self, id: UserId) -> Result<()> {
        let mut conn = self.connection().await?;
        let deleted = conn
            .transaction(async |conn| {
                // Lock order: the user's URLs, then the user. An update or delete of
                // a URL holds the URL and then the user (its event names the
                // owner); deleting the user first and detaching the URLs after, as
                // the cascade alone would, takes them the other way round and
                // deadlocks with it.
                urls::table
                    .filter(urls::user_id.eq(id))
                    .order(urls::id)
                    .select(urls::id)
                    .for_update()
                    .load::<i64>(conn)
                    .await?;
                // The foreign keys' ON DELETE SET NULL detaches the URLs and events.
                diesel::delete(users::table.find(id)).execute(conn).await.map_err(Failure::from)
            })
            .await?;
        if deleted == 0 { Err(Error::UserNotFound) } else { Ok(()) }
    }

    async fn import_users(&self, batch: Vec<ImportUser>) -> Result<Vec<ImportRejection>> {
        let mut conn = self.connection().await?;
        crate::import::import_batch(&mut conn, batch).await
    }
}
