/* tmap.h — cg-taskd's hash tables, so that an event costs a lookup and not a scan: pid-file paths
 * -> files, watched directory paths and watch descriptors -> watches, pids -> roots. Chained, grown
 * at 3/4 load and shrunk at 1/8 (at the next put), so a flood's memory goes back when the flood
 * does. Keys are strings borrowed from the value (the caller keeps them alive and unchanged while
 * the entry is in) or 64-bit integers; one table holds one kind. String keys come from whoever
 * can create a file, so they are hashed with SipHash-1-3 under a per-table random key (no crafted
 * collisions). Values are the caller's; the table never frees them. Pure (no I/O but
 * getrandom); returns >= 0 or -errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct taskd_map_entry;

struct taskd_map {
        struct taskd_map_entry **buckets; /* owned; NULL until the first put */
        size_t n_buckets, n;
        uint64_t key[2]; /* SipHash key, set at the first put */
        bool keyed;
};

/* Safe against removing the entry just returned (removals never move entries), not against
 * puts. Zero-initialise before the first call. */
struct taskd_map_iter {
        size_t bucket;
        struct taskd_map_entry *next;
        bool started;
};

void *taskd_map_get_str(const struct taskd_map *m, const char *key);
/* -EEXIST: the key is in already (the table is unchanged). */
int taskd_map_put_str(struct taskd_map *m, const char *key, void *value);
/* The value removed, NULL if the key was not in. */
void *taskd_map_remove_str(struct taskd_map *m, const char *key);

void *taskd_map_get_int(const struct taskd_map *m, int64_t key);
int taskd_map_put_int(struct taskd_map *m, int64_t key, void *value);
void *taskd_map_remove_int(struct taskd_map *m, int64_t key);

static inline size_t taskd_map_size(const struct taskd_map *m) {
        return m->n;
}
/* Every value once, in no particular order; false at the end. */
bool taskd_map_next(const struct taskd_map *m, struct taskd_map_iter *it, void **ret_value);
/* Drops every entry (not the values) and the buckets. */
void taskd_map_clear(struct taskd_map *m);

/* Exposed for the unit test: SipHash-1-3 of data under key k. */
uint64_t taskd_siphash13(const void *data, size_t len, const uint64_t k[2]);
