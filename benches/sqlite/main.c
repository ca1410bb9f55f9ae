// A small SQLite workload for measuring start-up and run time on a big
// module: SQLite's amalgamation compiled for wasm32-wasi (benches/sqlite/
// build.sh). It opens an in-memory database, inserts ROWS rows (the first
// argument, default 10,000) in one transaction through a prepared
// statement, runs an aggregate query and prints one deterministic line;
// any SQLite error exits with status 1. With few rows, a run is nearly all
// start-up.
#include <stdio.h>
#include <stdlib.h>

#include "sqlite3.h"

#define DEFAULT_ROWS 10000

static sqlite3 *db;

static void check(int rc, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

static void exec(const char *sql) {
  check(sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

int main(int argc, char **argv) {
  int rows = argc > 1 ? atoi(argv[1]) : DEFAULT_ROWS;
  check(sqlite3_open(":memory:", &db), "open");
  exec("CREATE TABLE t (id INTEGER PRIMARY KEY, x INTEGER, name TEXT)");

  sqlite3_stmt *insert;
  check(sqlite3_prepare_v2(db, "INSERT INTO t (x, name) VALUES (?1, ?2)", -1,
                           &insert, NULL),
        "prepare insert");
  exec("BEGIN");
  for (int i = 0; i < rows; i++) {
    char name[32];
    snprintf(name, sizeof name, "row-%d", i);
    check(sqlite3_bind_int64(insert, 1, (sqlite3_int64)i * i % 1000), "bind x");
    check(sqlite3_bind_text(insert, 2, name, -1, SQLITE_TRANSIENT), "bind name");
    check(sqlite3_step(insert), "insert");
    check(sqlite3_reset(insert), "reset");
  }
  exec("COMMIT");
  check(sqlite3_finalize(insert), "finalize insert");

  sqlite3_stmt *query;
  check(sqlite3_prepare_v2(db,
                           "SELECT count(*), sum(x), max(length(name)), "
                           "count(DISTINCT x) FROM t WHERE x % 7 <> 3",
                           -1, &query, NULL),
        "prepare query");
  if (sqlite3_step(query) != SQLITE_ROW) check(SQLITE_ERROR, "query");
  printf("sqlite %s: rows=%lld sum=%lld maxlen=%lld distinct=%lld\n",
         sqlite3_libversion(), sqlite3_column_int64(query, 0),
         sqlite3_column_int64(query, 1), sqlite3_column_int64(query, 2),
         sqlite3_column_int64(query, 3));
  check(sqlite3_finalize(query), "finalize query");
  check(sqlite3_close(db), "close");
  return 0;
}
