#ifndef OMNIA_SQLITE_OPTIONS_H
#define OMNIA_SQLITE_OPTIONS_H

/// Turns on SQLite's query planner stability guarantee for a connection (an `sqlite3 *`), so a
/// prepared statement keeps its plan whatever values are bound and is not recompiled on each run.
/// Returns SQLite's result code. (`sqlite3_db_config` is variadic, which Swift cannot call.)
int omnia_sqlite_enable_stable_query_plans(void *database);

/// Wraps SQLite's page cache so that a commit does not scan the connection's whole cache.
///
/// When a write splits B-tree pages, SQLite sorts the new pages by number, parking one of them for
/// a moment under the page number of the lock byte (262,145 with 4 KiB pages). The page cache
/// remembers that number as the largest it has held, and every commit then asks it to drop pages
/// beyond the end of the database — which, with that number remembered, means walking every page
/// of a 64 MB writer cache (5 % of the server's time in the redemption benchmark). The wrapper
/// tracks the largest page number really held and skips a truncation that has nothing to drop.
///
/// Must run before SQLite is first used in the process; returns SQLite's result code
/// (SQLITE_MISUSE if SQLite was already initialised, in which case nothing changes).
int omnia_sqlite_install_page_cache(void);

/// How many truncations the wrapper passed on to SQLite's page cache (those with pages to drop)
/// on the calling thread: tests check that ordinary commits pass none.
long omnia_sqlite_forwarded_truncations(void);

#endif
