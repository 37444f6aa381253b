-- API keys of AUTH_MODE=api-key. Only the SHA-256 digest of a key is stored:
-- the key itself is shown once, when it is created, and exists nowhere else.
CREATE TABLE api_keys (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Unique among all keys, revoked ones too, so a name always means one key.
    name       VARCHAR(64) NOT NULL,
    -- Also the index every authenticated request looks its key up by.
    key_hash   BYTEA NOT NULL CONSTRAINT api_keys_key_hash_length CHECK (length(key_hash) = 32),
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP NULL,
    CONSTRAINT api_keys_name_unique UNIQUE (name),
    CONSTRAINT api_keys_key_hash_unique UNIQUE (key_hash)
);
