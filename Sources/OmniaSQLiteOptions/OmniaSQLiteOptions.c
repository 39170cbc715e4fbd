#include "OmniaSQLiteOptions.h"

// The SQLite that SQLiteNIO vendors, with its prefixed symbol names; linked in through SQLiteNIO.
extern int sqlite_nio_sqlite3_db_config(void *database, int option, ...);

// SQLITE_DBCONFIG_ENABLE_QPSG from sqlite3.h.
#define OMNIA_SQLITE_DBCONFIG_ENABLE_QPSG 1007

int omnia_sqlite_enable_stable_query_plans(void *database) {
    return sqlite_nio_sqlite3_db_config(database, OMNIA_SQLITE_DBCONFIG_ENABLE_QPSG, 1, (int *)0);
}

// ---- Page cache wrapper (see omnia_sqlite_install_page_cache) ----

#include <stdlib.h>

extern int sqlite_nio_sqlite3_config(int option, ...);

// From sqlite3.h (the types are declared there under these names).
#define OMNIA_SQLITE_CONFIG_PCACHE2 18
#define OMNIA_SQLITE_CONFIG_GETPCACHE2 19
#define OMNIA_SQLITE_NOMEM 7
// SQLite's PENDING_BYTE: the page holding it is never part of a database.
#define OMNIA_SQLITE_PENDING_BYTE 0x40000000u

typedef struct sqlite3_pcache sqlite3_pcache;
typedef struct sqlite3_pcache_page { void *pBuf; void *pExtra; } sqlite3_pcache_page;
typedef struct sqlite3_pcache_methods2 {
    int iVersion;
    void *pArg;
    int (*xInit)(void *);
    void (*xShutdown)(void *);
    sqlite3_pcache *(*xCreate)(int szPage, int szExtra, int bPurgeable);
    void (*xCachesize)(sqlite3_pcache *, int nCachesize);
    int (*xPagecount)(sqlite3_pcache *);
    sqlite3_pcache_page *(*xFetch)(sqlite3_pcache *, unsigned key, int createFlag);
    void (*xUnpin)(sqlite3_pcache *, sqlite3_pcache_page *, int discard);
    void (*xRekey)(sqlite3_pcache *, sqlite3_pcache_page *, unsigned oldKey, unsigned newKey);
    void (*xTruncate)(sqlite3_pcache *, unsigned iLimit);
    void (*xDestroy)(sqlite3_pcache *);
    void (*xShrink)(sqlite3_pcache *);
} sqlite3_pcache_methods2;

/// SQLite's own page cache, which the wrapper forwards to.
static sqlite3_pcache_methods2 inner;

typedef struct OmniaPageCache {
    sqlite3_pcache *inner;
    /// No page numbered above this is held (pages parked under `lockPage` aside).
    unsigned largestKey;
    /// The lock byte's page number for this cache's page size.
    unsigned lockPage;
    /// Whether a page is parked under `lockPage` right now.
    int parked;
} OmniaPageCache;

static int omniaInit(void *arg) { (void)arg; return inner.xInit(inner.pArg); }
static void omniaShutdown(void *arg) { (void)arg; inner.xShutdown(inner.pArg); }

static sqlite3_pcache *omniaCreate(int szPage, int szExtra, int bPurgeable) {
    OmniaPageCache *cache = calloc(1, sizeof(OmniaPageCache));
    if (!cache) return 0;
    cache->inner = inner.xCreate(szPage, szExtra, bPurgeable);
    if (!cache->inner) { free(cache); return 0; }
    cache->lockPage = szPage > 0 ? OMNIA_SQLITE_PENDING_BYTE / (unsigned)szPage + 1 : 0;
    return (sqlite3_pcache *)cache;
}

static void omniaCachesize(sqlite3_pcache *p, int n) { inner.xCachesize(((OmniaPageCache *)p)->inner, n); }
static int omniaPagecount(sqlite3_pcache *p) { return inner.xPagecount(((OmniaPageCache *)p)->inner); }

static sqlite3_pcache_page *omniaFetch(sqlite3_pcache *p, unsigned key, int createFlag) {
    OmniaPageCache *cache = (OmniaPageCache *)p;
    sqlite3_pcache_page *page = inner.xFetch(cache->inner, key, createFlag);
    if (page && key > cache->largestKey) cache->largestKey = key;
    return page;
}

static void omniaUnpin(sqlite3_pcache *p, sqlite3_pcache_page *page, int discard) {
    inner.xUnpin(((OmniaPageCache *)p)->inner, page, discard);
}

static void omniaRekey(sqlite3_pcache *p, sqlite3_pcache_page *page, unsigned oldKey, unsigned newKey) {
    OmniaPageCache *cache = (OmniaPageCache *)p;
    inner.xRekey(cache->inner, page, oldKey, newKey);
    if (oldKey == cache->lockPage) cache->parked = 0;
    if (newKey == cache->lockPage) {
        cache->parked = 1;  // moved on again straight after: see the header
    } else if (newKey > cache->largestKey) {
        cache->largestKey = newKey;
    }
}

// Counted per thread: SQLite calls the cache on the thread that runs the statement, so a test
// running its statements on one thread sees only its own.
static _Thread_local long forwardedTruncations;

long omnia_sqlite_forwarded_truncations(void) { return forwardedTruncations; }

static void omniaTruncate(sqlite3_pcache *p, unsigned limit) {
    OmniaPageCache *cache = (OmniaPageCache *)p;
    if (limit > cache->largestKey && !cache->parked) return;  // no page numbered limit or above
    forwardedTruncations += 1;
    inner.xTruncate(cache->inner, limit);
    if (limit > 0 && limit - 1 < cache->largestKey) cache->largestKey = limit - 1;
    if (limit <= cache->lockPage) cache->parked = 0;
}

static void omniaDestroy(sqlite3_pcache *p) {
    OmniaPageCache *cache = (OmniaPageCache *)p;
    inner.xDestroy(cache->inner);
    free(cache);
}

static void omniaShrink(sqlite3_pcache *p) { inner.xShrink(((OmniaPageCache *)p)->inner); }

int omnia_sqlite_install_page_cache(void) {
    static sqlite3_pcache_methods2 wrapper;
    int status = sqlite_nio_sqlite3_config(OMNIA_SQLITE_CONFIG_GETPCACHE2, &inner);
    if (status != 0) return status;
    if (!inner.xCreate || !inner.xRekey || !inner.xTruncate) return OMNIA_SQLITE_NOMEM;
    wrapper = (sqlite3_pcache_methods2){
        .iVersion = 1, .pArg = 0,
        .xInit = inner.xInit ? omniaInit : 0, .xShutdown = inner.xShutdown ? omniaShutdown : 0,
        .xCreate = omniaCreate, .xCachesize = omniaCachesize, .xPagecount = omniaPagecount,
        .xFetch = omniaFetch, .xUnpin = omniaUnpin, .xRekey = omniaRekey, .xTruncate = omniaTruncate,
        .xDestroy = omniaDestroy, .xShrink = inner.xShrink ? omniaShrink : 0,
    };
    return sqlite_nio_sqlite3_config(OMNIA_SQLITE_CONFIG_PCACHE2, &wrapper);
}
