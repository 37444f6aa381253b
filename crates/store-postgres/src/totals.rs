//! The totals the database keeps of the user and URL lists no index bounds (the
//! `list_totals` table and its triggers, in the migration that creates them): how
//! many rows a list matches, read without counting them.
//!
//! A total is named as the migration names it (`url_list`); the functions below
//! must read the same names. Events keep no totals: the triggers would add to
//! every click's insert, which a redirect waits for.

use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use domain::{UrlFilter, UserFilter};

use crate::schema::list_totals;

/// The kept totals whose sum is how many users `filter` matches: for all users
/// only (a username or an e-mail matches one at most, through its unique index).
pub(crate) fn user_lists(filter: &UserFilter) -> Option<&'static [&'static str]> {
    match filter {
        UserFilter { username: None, email: None } => Some(&["users"]),
        _ => None,
    }
}

/// The kept totals whose sum is how many live URLs `filter` matches: for all of
/// them, or those active or not. A code matches one URL at most and a user's
/// URLs are counted on their index.
pub(crate) fn url_lists(filter: &UrlFilter) -> Option<&'static [&'static str]> {
    const ACTIVE: &str = "urls:is_active=true";
    const INACTIVE: &str = "urls:is_active=false";
    match filter {
        UrlFilter { user_id: None, short_code: None, is_active } => Some(match is_active {
            None => &[ACTIVE, INACTIVE],
            Some(true) => &[ACTIVE],
            Some(false) => &[INACTIVE],
        }),
        _ => None,
    }
}

/// The sum of the kept totals `lists` (zero for lists never written), as a query
/// to run in the snapshot that reads the page.
pub(crate) fn kept_total(
    lists: &'static [&'static str],
) -> list_totals::BoxedQuery<'static, Pg, BigInt> {
    list_totals::table
        .filter(list_totals::list.eq_any(lists))
        .select(sql::<BigInt>("coalesce(sum(n), 0)::bigint"))
        .into_boxed()
}
