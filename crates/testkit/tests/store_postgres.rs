//! The repository contract suite against PostgreSQL, one fresh database per test.

testkit::store_contract_suite!(testkit::postgres::fresh_store);
