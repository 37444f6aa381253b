# Everyday commands (https://github.com/casey/just: `cargo install just`).

# Serve on 127.0.0.1:8080 (in memory unless DATABASE_URL is set).
run:
    cargo run --release -p shortener

# The whole test suite (needs PostgreSQL and Redis on 127.0.0.1, see README).
test:
    cargo test --workspace

# Format, lint, test: what CI runs.
ci:
    bash .ci/run

fmt:
    cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings

# The production topology without Docker: two replicas, Nginx on :8080, Prometheus.
stack-up:
    deploy/local/stack up

stack-down:
    deploy/local/stack down

# The chaos tests against the native stack (four scenarios, about 3 minutes).
chaos:
    cargo build --release -p shortener -p chaos && target/release/chaos all
