/* tmap.c — chained hash tables for cg-taskd (see tmap.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "tmap.h"

struct taskd_map_entry {
        struct taskd_map_entry *next;
        uint64_t hash;
        const char *skey; /* borrowed; NULL in an integer table */
        int64_t ikey;
        void *value;
};

#define MIN_BUCKETS 16

static inline uint64_t rotl(uint64_t x, int b) {
        return (x << b) | (x >> (64 - b));
}

#define SIPROUND                                                                                   \
        do {                                                                                       \
                v0 += v1;                                                                          \
                v1 = rotl(v1, 13);                                                                 \
                v1 ^= v0;                                                                          \
                v0 = rotl(v0, 32);                                                                 \
                v2 += v3;                                                                          \
                v3 = rotl(v3, 16);                                                                 \
                v3 ^= v2;                                                                          \
                v0 += v3;                                                                          \
                v3 = rotl(v3, 21);                                                                 \
                v3 ^= v0;                                                                          \
                v2 += v1;                                                                          \
                v1 = rotl(v1, 17);                                                                 \
                v1 ^= v2;                                                                          \
                v2 = rotl(v2, 32);                                                                 \
        } while (0)

uint64_t taskd_siphash13(const void *data, size_t len, const uint64_t k[2]) {
        const unsigned char *p = data;
        uint64_t v0 = 0x736f6d6570736575ULL ^ k[0], v1 = 0x646f72616e646f6dULL ^ k[1];
        uint64_t v2 = 0x6c7967656e657261ULL ^ k[0], v3 = 0x7465646279746573ULL ^ k[1];
        uint64_t b = (uint64_t) len << 56, m;
        size_t i, tail = len & 7;

        for (i = 0; i + 8 <= len; i += 8) {
                m = 0;
                for (int j = 7; j >= 0; j--)
                        m = (m << 8) | p[i + (size_t) j]; /* little endian, any alignment */
                v3 ^= m;
                SIPROUND;
                v0 ^= m;
        }
        for (size_t j = 0; j < tail; j++)
                b |= (uint64_t) p[i + j] << (8 * j);
        v3 ^= b;
        SIPROUND;
        v0 ^= b;
        v2 ^= 0xff;
        SIPROUND;
        SIPROUND;
        SIPROUND;
        return v0 ^ v1 ^ v2 ^ v3;
}

static void map_key(struct taskd_map *m) {
        if (m->keyed)
                return;
        if (getrandom(m->key, sizeof(m->key), GRND_NONBLOCK) != (ssize_t) sizeof(m->key)) {
                /* no entropy yet (early boot): weaker, still not guessable from outside */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                m->key[0] = (uint64_t) ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t) getpid();
                m->key[1] = (uint64_t) ts.tv_sec ^ (uint64_t) (uintptr_t) m;
        }
        m->keyed = true;
}

static uint64_t hash_str(const struct taskd_map *m, const char *s) {
        return taskd_siphash13(s, strlen(s), m->key);
}

static uint64_t hash_int(const struct taskd_map *m, int64_t k) {
        /* splitmix64 finaliser: pids and wds are small and dense, the key only reorders them */
        uint64_t z = (uint64_t) k ^ m->key[0];
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static int map_resize(struct taskd_map *m, size_t nb) {
        struct taskd_map_entry **b = calloc(nb, sizeof(*b));

        if (!b)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_buckets; i++)
                for (struct taskd_map_entry *e = m->buckets[i], *next; e; e = next) {
                        next = e->next;
                        e->next = b[e->hash & (nb - 1)];
                        b[e->hash & (nb - 1)] = e;
                }
        free(m->buckets);
        m->buckets = b;
        m->n_buckets = nb;
        return 0;
}

static struct taskd_map_entry **find(const struct taskd_map *m, uint64_t h, const char *skey,
                                     int64_t ikey) {
        struct taskd_map_entry **pe;

        if (m->n_buckets == 0)
                return NULL;
        for (pe = &m->buckets[h & (m->n_buckets - 1)]; *pe; pe = &(*pe)->next)
                if ((*pe)->hash == h &&
                    (skey ? strcmp((*pe)->skey, skey) == 0 : (*pe)->ikey == ikey))
                        return pe;
        return NULL;
}

static int put(struct taskd_map *m, uint64_t h, const char *skey, int64_t ikey, void *value) {
        struct taskd_map_entry *e, **slot;

        if (find(m, h, skey, ikey))
                return -EEXIST;
        /* shrink after a flood here, not in take(): a removal during an iteration must not move
         * the entries; a failed shrink only keeps the bigger table */
        while (m->n_buckets > MIN_BUCKETS && m->n + 1 < m->n_buckets / 8)
                if (map_resize(m, m->n_buckets / 2) < 0)
                        break;
        if (m->n_buckets == 0 || m->n + 1 > m->n_buckets / 4 * 3) {
                int r = map_resize(m, m->n_buckets ? m->n_buckets * 2 : MIN_BUCKETS);
                if (r < 0)
                        return r;
        }
        e = malloc(sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (struct taskd_map_entry){.hash = h, .skey = skey, .ikey = ikey, .value = value};
        slot = &m->buckets[h & (m->n_buckets - 1)];
        e->next = *slot;
        *slot = e;
        m->n++;
        return 0;
}

static void *take(struct taskd_map *m, struct taskd_map_entry **pe) {
        struct taskd_map_entry *e;
        void *v;

        if (!pe)
                return NULL;
        e = *pe;
        *pe = e->next;
        v = e->value;
        free(e);
        m->n--;
        return v;
}

void *taskd_map_get_str(const struct taskd_map *m, const char *key) {
        struct taskd_map_entry **pe;

        if (m->n == 0)
                return NULL;
        pe = find(m, hash_str(m, key), key, 0);
        return pe ? (*pe)->value : NULL;
}

int taskd_map_put_str(struct taskd_map *m, const char *key, void *value) {
        map_key(m);
        return put(m, hash_str(m, key), key, 0, value);
}

void *taskd_map_remove_str(struct taskd_map *m, const char *key) {
        if (m->n == 0)
                return NULL;
        return take(m, find(m, hash_str(m, key), key, 0));
}

void *taskd_map_get_int(const struct taskd_map *m, int64_t key) {
        struct taskd_map_entry **pe;

        if (m->n == 0)
                return NULL;
        pe = find(m, hash_int(m, key), NULL, key);
        return pe ? (*pe)->value : NULL;
}

int taskd_map_put_int(struct taskd_map *m, int64_t key, void *value) {
        map_key(m);
        return put(m, hash_int(m, key), NULL, key, value);
}

void *taskd_map_remove_int(struct taskd_map *m, int64_t key) {
        if (m->n == 0)
                return NULL;
        return take(m, find(m, hash_int(m, key), NULL, key));
}

bool taskd_map_next(const struct taskd_map *m, struct taskd_map_iter *it, void **ret_value) {
        struct taskd_map_entry *e;

        if (!it->started) {
                *it = (struct taskd_map_iter){.started = true};
                it->next = m->n_buckets ? m->buckets[0] : NULL;
        }
        while (!it->next) {
                if (++it->bucket >= m->n_buckets)
                        return false;
                it->next = m->buckets[it->bucket];
        }
        e = it->next;
        it->next = e->next; /* read before the caller may remove e */
        *ret_value = e->value;
        return true;
}

void taskd_map_clear(struct taskd_map *m) {
        for (size_t i = 0; i < m->n_buckets; i++)
                for (struct taskd_map_entry *e = m->buckets[i], *next; e; e = next) {
                        next = e->next;
                        free(e);
                }
        free(m->buckets);
        m->buckets = NULL;
        m->n_buckets = m->n = 0;
}
