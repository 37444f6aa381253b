//! The tables as diesel sees them; mirrors `migrations/`.

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Varchar,
        email -> Varchar,
        email_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    urls (id) {
        id -> BigInt,
        user_id -> Nullable<BigInt>,
        short_code -> Varchar,
        original_url -> Varchar,
        title -> Nullable<Varchar>,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        url_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        event_type -> Varchar,
        timestamp -> Timestamp,
        details -> Jsonb,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Varchar,
        key_hash -> Bytea,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Kept by triggers; see `crate::totals`.
    list_totals (list, shard) {
        list -> Text,
        shard -> SmallInt,
        n -> BigInt,
    }
}

diesel::joinable!(urls -> users (user_id));
diesel::joinable!(events -> urls (url_id));
diesel::joinable!(events -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(users, urls, events);
