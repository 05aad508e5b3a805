/*
 * One program, two SQLites: Debian's libsqlite3 (called directly) and the
 * SQLite bundled in liboffline_auth.a (reached only through offline-auth's
 * UniFFI C ABI, by opening a vault, which creates its SQLite database).
 * scripts/check-sqlite-symbols.sh builds and runs it.
 *
 *   two_sqlites VAULT_PATH    exit 0 when both work
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#ifndef __clang__ /* the generated header uses clang's nullability qualifiers */
#define _Nonnull
#define _Nullable
#endif
#include "OfflineAuthFFI.h"

static int check(const char *what, RustCallStatus *status) {
    if (status->code != 0) {
        fprintf(stderr, "%s failed (status %d)\n", what, (int)status->code);
        return 0;
    }
    return 1;
}

/* Appends a big-endian integer of `n` bytes to buf at *len. */
static void put_be(uint8_t *buf, size_t *len, uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) buf[(*len)++] = (uint8_t)(v >> (8 * i));
}

static void put_bytes(uint8_t *buf, size_t *len, const void *p, size_t n) {
    put_be(buf, len, n, 4);
    memcpy(buf + *len, p, n);
    *len += n;
}

static RustBuffer rust_buffer(const uint8_t *data, size_t len, RustCallStatus *status) {
    ForeignBytes bytes = { (int32_t)len, data };
    return ffi_offline_auth_rustbuffer_from_bytes(bytes, status);
}

static int debian_sqlite(void) {
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 0;
    int ok = sqlite3_prepare_v2(db, "SELECT 6 * 7", -1, &stmt, NULL) == SQLITE_OK
        && sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 42;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    printf("system SQLite %s: SELECT 6 * 7 %s\n", sqlite3_libversion(), ok ? "= 42" : "failed");
    return ok && strcmp(sqlite3_libversion(), SQLITE_VERSION) == 0;
}

static int offline_auth_sqlite(const char *path) {
    RustCallStatus status = {0};
    uint64_t soft = uniffi_offline_auth_fn_constructor_softwarekeystore_new(&status);
    if (!check("SoftwareKeystore.new", &status)) return 0;
    /* A method call consumes a handle: clone it first, as the bindings do. */
    uint64_t soft_call = uniffi_offline_auth_fn_clone_softwarekeystore(soft, &status);
    if (!check("clone", &status)) return 0;
    uint64_t keystore = uniffi_offline_auth_fn_method_softwarekeystore_as_platform_keystore(soft_call, &status);
    if (!check("as_platform_keystore", &status)) return 0;

    /* VaultConfig, fields in declaration order, UniFFI's big-endian encoding. */
    static const uint8_t issuer_pk[32] = { /* RFC 8032 test 1 public key */
        0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
        0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };
    uint8_t cfg[256];
    size_t n = 0;
    put_bytes(cfg, &n, "c-link-test", 11);      /* device_id */
    put_be(cfg, &n, 1, 4);                      /* issuer_keys: 1 */
    put_bytes(cfg, &n, "k1", 2);                /*   kid */
    put_bytes(cfg, &n, issuer_pk, 32);          /*   public_key */
    put_be(cfg, &n, 10, 4);                     /* max_failed_attempts */
    put_be(cfg, &n, 600000, 4);                 /* pbkdf2_iterations */
    put_be(cfg, &n, 6, 4);                      /* min_pin_length */
    put_be(cfg, &n, 300, 8);                    /* idle_timeout_secs */
    put_be(cfg, &n, 300, 8);                    /* clock_rollback_tolerance_secs */
    put_be(cfg, &n, 60, 8);                     /* grant_clock_skew_secs */
    put_be(cfg, &n, 0, 1);                      /* grant_issuer: None */
    put_be(cfg, &n, 0, 1);                      /* grant_audience: None */
    put_be(cfg, &n, 0, 1);                      /* escrow_key: None */

    RustBuffer path_buf = rust_buffer((const uint8_t *)path, strlen(path), &status);
    if (!check("rustbuffer_from_bytes", &status)) return 0;
    RustBuffer cfg_buf = rust_buffer(cfg, n, &status);
    if (!check("rustbuffer_from_bytes", &status)) return 0;
    uint64_t vault = uniffi_offline_auth_fn_constructor_pinvault_open(path_buf, keystore, cfg_buf, &status);
    if (!check("PinVault.open", &status)) return 0;
    uint64_t call = uniffi_offline_auth_fn_clone_pinvault(vault, &status);
    if (!check("clone", &status)) return 0;
    int8_t enrolled = uniffi_offline_auth_fn_method_pinvault_is_enrolled(call, &status);
    if (!check("PinVault.is_enrolled", &status)) return 0;
    uniffi_offline_auth_fn_free_pinvault(vault, &status);
    if (!check("free", &status)) return 0;
    uniffi_offline_auth_fn_free_softwarekeystore(soft, &status);

    /* The vault file must be a SQLite database written by the bundled SQLite. */
    char magic[16] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(magic, 1, sizeof magic, f) : 0;
    if (f) fclose(f);
    int is_db = got == sizeof magic && memcmp(magic, "SQLite format 3", 16) == 0;
    printf("offline-auth's SQLite: vault opened, is_enrolled = %d, file is %s\n",
           (int)enrolled, is_db ? "a SQLite database" : "NOT a SQLite database");
    return enrolled == 0 && is_db;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VAULT_PATH\n", argv[0]);
        return 2;
    }
    int a = debian_sqlite();
    int b = offline_auth_sqlite(argv[1]);
    int c = debian_sqlite(); /* still the system's, after offline-auth ran */
    if (a && b && c) {
        puts("both SQLites work");
        return 0;
    }
    return 1;
}
