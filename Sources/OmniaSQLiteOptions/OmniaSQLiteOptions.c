#include "OmniaSQLiteOptions.h"

// The SQLite that SQLiteNIO vendors, with its prefixed symbol names; linked in through SQLiteNIO.
extern int sqlite_nio_sqlite3_db_config(void *database, int option, ...);

// SQLITE_DBCONFIG_ENABLE_QPSG from sqlite3.h.
#define OMNIA_SQLITE_DBCONFIG_ENABLE_QPSG 1007

int omnia_sqlite_enable_stable_query_plans(void *database) {
    return sqlite_nio_sqlite3_db_config(database, OMNIA_SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)0);
}
