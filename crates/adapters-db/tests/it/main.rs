//! adapters-db's conformance suite: every port's documented behaviour, checked on SQLite,
//! PostgreSQL and MySQL/MariaDB, each test on a fresh database.

mod accounts;
mod fixtures;
mod migrations;
