//! The repository contract suite against the in-memory store.

async fn fresh_store() -> store_memory::MemoryStore {
    store_memory::MemoryStore::new()
}

testkit::store_contract_suite!(fresh_store);
