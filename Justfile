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

# Load tests (loadtests/, docs/capacity-plan.md): each starts deploy/local/stack
# first, with Nginx's per-client rate limit raised (the whole load comes from one
# address), then runs one step; extra goose flags pass through, such as
# `just loadtest-tsunami --users 1000`. Reports go to loadtests/reports/.
lt_stack := "NGINX_RATE_LIMIT=${NGINX_RATE_LIMIT:-1000000r/s} NGINX_RATE_BURST=${NGINX_RATE_BURST:-100000} deploy/local/stack up"

# 50 users straight at one replica.
loadtest-baseline *ARGS:
    {{lt_stack}} && loadtests/run baseline {{ARGS}}

# 200 users through Nginx and two replicas.
loadtest-scaleout *ARGS:
    {{lt_stack}} && loadtests/run scaleout {{ARGS}}

# 500 users through Nginx and two replicas, with the cache: zero errors, p95 < 50 ms.
loadtest-tsunami *ARGS:
    {{lt_stack}} && loadtests/run tsunami {{ARGS}}

# 200 users for 10 minutes.
loadtest-soak *ARGS:
    {{lt_stack}} && loadtests/run soak {{ARGS}}

# Throughput and p95 against users, from the JSON reports, into docs/img/.
loadtest-plot:
    python3 loadtests/plot.py
