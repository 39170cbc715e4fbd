#ifndef OMNIA_SQLITE_OPTIONS_H
#define OMNIA_SQLITE_OPTIONS_H

/// Turns on SQLite's query planner stability guarantee for a connection (an `sqlite3 *`), so a
/// prepared statement keeps its plan whatever values are bound and is not recompiled on each run.
/// Returns SQLite's result code. (`sqlite3_db_config` is variadic, which Swift cannot call.)
int omnia_sqlite_enable_stable_query_plans(void *database);

#endif
