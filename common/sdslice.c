/* sdslice.c — the arch conf as slice units (see sdslice.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "sdslice.h"
#include "sdunit.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define SD_UNIT "org.freedesktop.systemd1.Unit"
#define SD_SLICE "org.freedesktop.systemd1.Slice"

/* ---- pure ---- */

void sdslice_live_init(struct live_tree *t) {
        *t = (struct live_tree){ .v2 = true, .systemd = true };
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                t->present[s] = true;
}

static int64_t weight_of(uint64_t v) {
        /* UINT64_MAX is systemd's "not set" (the kernel default, 100, applies). */
        return v == UINT64_MAX || v > INT64_MAX ? -1 : (int64_t) v;
}

int sdslice_live_add(struct live_tree *t, const char *root, const char *unit, uint64_t cpu_weight,
                     uint64_t io_weight) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = sdunit_slice_path(root, unit, &path);
        if (r == -ENOENT || r == -EINVAL)
                return 0;
        if (r < 0)
                return r;
        if (!*path)
                return 0; /* the managed root: implied, never a live entry */
        r = live_tree_add(t, CONF_CPU, path, weight_of(cpu_weight));
        if (r < 0)
                return r;
        r = live_tree_add(t, CONF_BLKIO, path, weight_of(io_weight));
        if (r < 0)
                return r;
        /* one union tree: memory and pids list the same paths (no weights) */
        r = live_tree_add(t, CONF_MEMORY, path, -1);
        if (r >= 0)
                r = live_tree_add(t, CONF_PIDS, path, -1);
        return r < 0 ? r : 1;
}

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const struct live_entry *) a)->path, ((const struct live_entry *) b)->path);
}

void sdslice_live_sort(struct live_tree *t) {
        for (int s = 0; s < _CONF_SUBSYS_MAX; s++)
                if (t->n[s] > 1)
                        qsort(t->v[s], t->n[s], sizeof(*t->v[s]), cmp_entry);
}

void sdslice_plan_clear(struct sdslice_plan *p) {
        if (!p)
                return;
        for (size_t i = 0; i < p->n; i++) {
                free(p->ops[i].unit);
                free(p->ops[i].path);
                free(p->ops[i].limits);
        }
        free(p->ops);
        *p = (struct sdslice_plan){};
}

static const struct live_entry *live_find(const struct live_tree *live, enum conf_subsys s,
                                          const char *path) {
        if (!live)
                return NULL;
        /* Lists are sorted by path (sdslice_live_sort): bsearch. */
        size_t lo = 0, hi = live->n[s];
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int k = strcmp(live->v[s][mid].path, path);
                if (k == 0)
                        return &live->v[s][mid];
                if (k < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

/* The op for (type, path) already folded, searched backwards from the end: a path's ops are
 * emitted close together by the planner, so this stays short in practice. */
static struct sdslice_op *find_op(struct sdslice_plan *p, enum sdslice_op_type t, const char *path) {
        for (size_t i = p->n; i-- > 0;)
                if (p->ops[i].type == t && strcmp(p->ops[i].path, path) == 0)
                        return &p->ops[i];
        return NULL;
}

static int push_op(struct sdslice_plan *p, size_t *cap, const char *root, enum sdslice_op_type t,
                   const struct plan_op *from, const struct live_tree *live,
                   struct sdslice_op **ret) {
        struct sdslice_op *o;
        const struct live_entry *e;
        int r;

        if (p->n == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                struct sdslice_op *nv = realloc(p->ops, nc * sizeof(*nv));
                if (!nv)
                        return -ENOMEM;
                p->ops = nv;
                *cap = nc;
        }
        o = &p->ops[p->n];
        *o = (struct sdslice_op){ .type = t, .from = from, .cpu_weight = -1, .io_weight = -1,
                                  .was_cpu = -1, .was_io = -1 };
        r = sdunit_slice_name(root, from->path, &o->unit);
        if (r < 0)
                return r;
        o->path = strdup(from->path);
        if (!o->path) {
                free(o->unit);
                return -ENOMEM;
        }
        if (t != SDSLICE_CREATE) {
                e = live_find(live, CONF_CPU, from->path);
                o->was_cpu = e ? e->weight : -1;
                e = live_find(live, CONF_BLKIO, from->path);
                o->was_io = e ? e->weight : -1;
        }
        p->n++;
        *ret = o;
        return 0;
}

int sdslice_plan_from(const char *root, const struct plan *p, const struct live_tree *live,
                      struct sdslice_plan *ret) {
        struct sdslice_plan out = {};
        size_t cap = 0;
        int r = 0;

        if (!root || !p || !ret)
                return -EINVAL;
        for (size_t i = 0; i < p->n; i++) {
                const struct plan_op *po = &p->ops[i];
                struct sdslice_op *o;

                switch (po->type) {
                case PLAN_MKDIR:
                        if (find_op(&out, SDSLICE_CREATE, po->path))
                                break; /* the union tree: one slice per path */
                        r = push_op(&out, &cap, root, SDSLICE_CREATE, po, live, &o);
                        break;
                case PLAN_SET_WEIGHT:
                        /* Into the creation of the same path, else into one SET per path. */
                        o = find_op(&out, SDSLICE_CREATE, po->path);
                        if (!o)
                                o = find_op(&out, SDSLICE_SET, po->path);
                        if (!o)
                                r = push_op(&out, &cap, root, SDSLICE_SET, po, live, &o);
                        if (r >= 0) {
                                int64_t m = plan_v2_weight(po->subsys, po->value);
                                if (po->subsys == CONF_CPU)
                                        o->cpu_weight = m;
                                else
                                        o->io_weight = m;
                        }
                        break;
                case PLAN_RMDIR:
                        if (!find_op(&out, SDSLICE_STOP, po->path))
                                r = push_op(&out, &cap, root, SDSLICE_STOP, po, live, &o);
                        break;
                case PLAN_ENABLE:
                        break; /* the manager enables controllers along the slice chain */
                case PLAN_SET_LIMIT:
                case PLAN_CLEAR_LIMIT: {
                        struct sdslice_limit *nv;
                        o = find_op(&out, SDSLICE_CREATE, po->path);
                        if (!o)
                                o = find_op(&out, SDSLICE_SET, po->path);
                        if (!o)
                                r = push_op(&out, &cap, root, SDSLICE_SET, po, live, &o);
                        if (r < 0)
                                break;
                        nv = realloc(o->limits, (o->n_limits + 1) * sizeof(*nv));
                        if (!nv) {
                                r = -ENOMEM;
                                break;
                        }
                        o->limits = nv;
                        nv[o->n_limits++] = (struct sdslice_limit){
                                .limit = po->limit, .major = po->major, .minor = po->minor,
                                .value = po->type == PLAN_SET_LIMIT ? po->value : -1};
                        break;
                }
                default:
                        r = -EINVAL;
                }
                if (r < 0) {
                        sdslice_plan_clear(&out);
                        return r;
                }
        }
        *ret = out;
        return 0;
}

static const char *const limit_props[_CONF_LIMIT_MAX] = {
        [CONF_LIMIT_CPU_QUOTA] = "CPUQuotaPerSecUSec",
        [CONF_LIMIT_MEM_MAX] = "MemoryMax",
        [CONF_LIMIT_MEM_HIGH] = "MemoryHigh",
        [CONF_LIMIT_MEM_LOW] = "MemoryLow",
        [CONF_LIMIT_PIDS_MAX] = "TasksMax",
        [CONF_LIMIT_READ_BPS] = "IOReadBandwidthMax",
        [CONF_LIMIT_WRITE_BPS] = "IOWriteBandwidthMax",
        [CONF_LIMIT_READ_IOPS] = "IOReadIOPSMax",
        [CONF_LIMIT_WRITE_IOPS] = "IOWriteIOPSMax",
};

/* The property's value for a limit: quota percent -> usec per second; "no limit" is
 * UINT64_MAX ("infinity") everywhere but MemoryLow (0). */
static uint64_t limit_prop_value(const struct sdslice_limit *l) {
        if (l->value < 0)
                return l->limit == CONF_LIMIT_MEM_LOW ? 0 : UINT64_MAX;
        if (l->limit == CONF_LIMIT_CPU_QUOTA)
                return (uint64_t) l->value * 10000; /* 1% of a CPU = 10 ms per second */
        return (uint64_t) l->value;
}

int64_t sdslice_limit_from_prop(enum conf_limit l, uint64_t v) {
        if (v == UINT64_MAX || (l == CONF_LIMIT_MEM_LOW && v == 0))
                return LIVE_LIMIT_NONE;
        if (l == CONF_LIMIT_CPU_QUOTA)
                return v % 10000 == 0 && v > 0 ? (int64_t) (v / 10000) : LIVE_LIMIT_OTHER;
        return v > INT64_MAX ? LIVE_LIMIT_OTHER : (int64_t) v;
}

int sdslice_limit_format(const struct sdslice_limit *l, char **ret) {
        uint64_t v = limit_prop_value(l);
        char val[32];

        if ((unsigned) l->limit >= _CONF_LIMIT_MAX)
                return -EINVAL;
        if (v == UINT64_MAX)
                snprintf(val, sizeof(val), "infinity");
        else
                snprintf(val, sizeof(val), "%" PRIu64, v);
        if (conf_limit_is_device(l->limit))
                return xasprintf(ret, "%s=/dev/block/%u:%u %s", limit_props[l->limit], l->major,
                                 l->minor, val);
        return xasprintf(ret, "%s=%s", limit_props[l->limit], val);
}

int sdslice_props_format(int64_t cpu_weight, int64_t io_weight, char **ret) {
        char buf[64] = "";
        int n = 0;

        if (cpu_weight >= 0)
                n = snprintf(buf, sizeof(buf), "CPUWeight=%" PRId64, cpu_weight);
        if (io_weight >= 0)
                snprintf(buf + n, sizeof(buf) - (size_t) n, "%sIOWeight=%" PRId64, n ? " " : "",
                         io_weight);
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

int sdslice_plan_format(const struct sdslice_plan *p, char **ret) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < p->n; i++) {
                const struct sdslice_op *o = &p->ops[i];
                _cleanup_free_ char *props = NULL;

                if (sdslice_props_format(o->cpu_weight, o->io_weight, &props) < 0) {
                        fclose(f);
                        free(buf);
                        return -ENOMEM;
                }
                switch (o->type) {
                case SDSLICE_CREATE:
                        fprintf(f, "create %s%s%s\n", o->unit, *props ? " " : "", props);
                        break;
                case SDSLICE_SET:
                        fprintf(f, "set %s%s%s", o->unit, *props ? " " : "", props);
                        if (o->cpu_weight >= 0 || o->io_weight >= 0) {
                                fputs(" (was", f);
                                if (o->cpu_weight >= 0) {
                                        if (o->was_cpu >= 0)
                                                fprintf(f, " CPUWeight=%" PRId64, o->was_cpu);
                                        else
                                                fputs(" CPUWeight unset", f);
                                }
                                if (o->io_weight >= 0) {
                                        if (o->was_io >= 0)
                                                fprintf(f, " IOWeight=%" PRId64, o->was_io);
                                        else
                                                fputs(" IOWeight unset", f);
                                }
                                fputs(")", f);
                        }
                        fputc('\n', f);
                        break;
                case SDSLICE_STOP:
                        fprintf(f, "remove %s\n", o->unit);
                        break;
                }
                for (size_t k = 0; k < o->n_limits; k++) {
                        _cleanup_free_ char *lp = NULL;
                        if (sdslice_limit_format(&o->limits[k], &lp) < 0) {
                                fclose(f);
                                free(buf);
                                return -ENOMEM;
                        }
                        fprintf(f, "  %s\n", lp);
                }
        }
        if (fclose(f) != 0 || !buf) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

/* ---- bus ---- */

void sdslice_result_clear(struct sdslice_result *r) {
        if (!r)
                return;
        strv_free(r->refused);
        free(r->error);
        *r = (struct sdslice_result){};
}

static void take_error(const sd_bus_error *e, int r, char **ret) {
        if (!ret)
                return;
        free(*ret);
        *ret = NULL;
        if (e && e->message)
                (void) xasprintf(ret, "%s", e->message);
        else
                (void) xasprintf(ret, "%s", strerror(r < 0 ? -r : r));
}

static int get_weight(sd_bus *bus, const char *objpath, const char *prop, uint64_t *ret) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_trivial(bus, SD_DEST, objpath, SD_SLICE, prop, &e, 't', ret);
        sd_bus_error_free(&e);
        return r;
}

/* The live entry of `path` in list s (just added: the last one). */
static struct live_entry *last_entry(struct live_tree *t, enum conf_subsys s, const char *path) {
        if (t->n[s] == 0 || strcmp(t->v[s][t->n[s] - 1].path, path) != 0)
                return NULL;
        return &t->v[s][t->n[s] - 1];
}

/* The limit properties of a slice into the entries of `path` (one round trip each; a property
 * this manager lacks is no limit). Device paths are resolved here (stat(2) st_rdev). */
static int read_limits(sd_bus *bus, const char *objpath, struct live_tree *t, const char *path) {
        for (int l = 0; l < _CONF_LIMIT_MAX; l++) {
                enum conf_subsys s = conf_limit_subsys(l);
                struct live_entry *e = last_entry(t, s, path);
                int64_t v = LIVE_LIMIT_NONE;
                int r;

                if (!e)
                        continue;
                if (!conf_limit_is_device(l)) {
                        uint64_t u;
                        if (get_weight(bus, objpath, limit_props[l], &u) < 0)
                                continue;
                        v = sdslice_limit_from_prop(l, u);
                        if (v == LIVE_LIMIT_NONE)
                                continue;
                        if (!e->limits && !(e->limits = live_limits_new()))
                                return -ENOMEM;
                        e->limits->v[l] = v;
                        continue;
                }
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
                sd_bus_error err = SD_BUS_ERROR_NULL;
                r = sd_bus_get_property(bus, SD_DEST, objpath, SD_SLICE, limit_props[l], &err,
                                        &reply, "a(st)");
                sd_bus_error_free(&err);
                if (r < 0)
                        continue;
                r = sd_bus_message_enter_container(reply, 'a', "(st)");
                if (r < 0)
                        return r;
                for (;;) {
                        const char *dev;
                        uint64_t u;
                        struct stat st;
                        struct live_dev_limit *d;

                        r = sd_bus_message_read(reply, "(st)", &dev, &u);
                        if (r < 0)
                                return r;
                        if (r == 0)
                                break;
                        unsigned ma, mi;
                        v = sdslice_limit_from_prop(l, u);
                        if (v == LIVE_LIMIT_NONE)
                                continue;
                        /* ours are /dev/block/M:m (which a host without udev may lack) */
                        if (strncmp(dev, "/dev/block/", 11) == 0 &&
                            conf_device_parse(dev + 11, &ma, &mi) == 1)
                                ;
                        else if (stat(dev, &st) == 0 && S_ISBLK(st.st_mode)) {
                                ma = major(st.st_rdev);
                                mi = minor(st.st_rdev);
                        } else
                                continue;
                        if (!e->limits && !(e->limits = live_limits_new()))
                                return -ENOMEM;
                        r = live_limits_dev(e->limits, ma, mi, &d);
                        if (r < 0)
                                return r;
                        d->v[l - CONF_LIMIT_FIRST_DEVICE] = v;
                }
        }
        return 0;
}

int sdslice_read_live(sd_bus *bus, const char *root, struct live_tree *ret, bool *ret_root_active) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **patterns = NULL;
        _cleanup_free_ char *rootname = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        struct live_tree t;
        bool root_active = false;
        int r;

        r = sdunit_slice_name(root, "", &rootname);
        if (r < 0)
                return r;
        r = sdunit_slice_patterns(root, &patterns);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                           "ListUnitsByPatterns");
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, (char *[]){ NULL }); /* any state */
        if (r >= 0)
                r = sd_bus_message_append_strv(m, patterns);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, &e, &reply);
        sd_bus_error_free(&e);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        sdslice_live_init(&t);
        for (;;) {
                const char *name, *desc, *load, *active, *sub, *following, *objpath, *jtype,
                        *jpath;
                uint32_t jid;
                uint64_t cpu = UINT64_MAX, io = UINT64_MAX;

                r = sd_bus_message_read(reply, "(ssssssouso)", &name, &desc, &load, &active, &sub,
                                        &following, &objpath, &jid, &jtype, &jpath);
                if (r < 0)
                        goto fail;
                if (r == 0)
                        break;
                /* A slice that is stopped (or being collected) is not part of the tree. */
                if (strcmp(load, "loaded") != 0 || strcmp(active, "inactive") == 0 ||
                    strcmp(active, "failed") == 0 || strcmp(active, "deactivating") == 0)
                        continue;
                if (strcmp(name, rootname) == 0) {
                        root_active = true;
                        continue;
                }
                /* Only slices of ours have their weights read (one round trip each). */
                _cleanup_free_ char *path = NULL;
                if (sdunit_slice_path(root, name, &path) < 0 || !*path)
                        continue;
                r = get_weight(bus, objpath, "CPUWeight", &cpu);
                if (r >= 0)
                        r = get_weight(bus, objpath, "IOWeight", &io);
                if (r < 0)
                        goto fail;
                r = sdslice_live_add(&t, root, name, cpu, io);
                if (r < 0)
                        goto fail;
                if (r > 0) {
                        r = read_limits(bus, objpath, &t, path);
                        if (r < 0)
                                goto fail;
                }
        }
        sdslice_live_sort(&t);
        *ret = t;
        if (ret_root_active)
                *ret_root_active = root_active;
        return 0;
fail:
        live_tree_clear(&t);
        return r;
}

/* ---- jobs ---- */

/* Finished jobs seen on the bus (JobRemoved), until the one waited for is among them. */
struct jobs {
        char **paths;   /* strv of job object paths */
        char **results; /* strv, same index: "done", "failed", "canceled", ... */
        sd_bus *bus;    /* subscribed on (borrowed), NULL when not */
};

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *err) {
        struct jobs *j = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        (void) err;
        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (strv_extend(&j->paths, path) < 0 || strv_extend(&j->results, result) < 0)
                return 0; /* out of memory: the wait times out and reports it */
        return 0;
}

static int jobs_wait(sd_bus *bus, struct jobs *j, const char *job, char **ret_result) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + SDSLICE_JOB_TIMEOUT_USEC;
        int r;

        for (;;) {
                for (size_t i = 0; j->paths && j->paths[i]; i++)
                        if (strcmp(j->paths[i], job) == 0) {
                                *ret_result = strdup(j->results[i]);
                                return *ret_result ? 0 : -ENOMEM;
                        }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return r;
                if (r > 0)
                        continue;
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        return -ETIMEDOUT;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        return r;
        }
}

static void jobs_clear(struct jobs *j) {
        if (j->bus)
                (void) sd_bus_call_method(j->bus, SD_DEST, SD_PATH, SD_MANAGER, "Unsubscribe", NULL,
                                          NULL, "");
        j->bus = NULL;
        j->paths = strv_free(j->paths);
        j->results = strv_free(j->results);
}

/* Listens for JobRemoved; on a bus with a bus daemon, signals reach only subscribed clients,
 * so the client subscribes for the time of its jobs (jobs_clear() unsubscribes: a daemon that
 * holds the connection between applies is not sent every unit change of the host). */
static int jobs_listen(sd_bus *bus, struct jobs *j, sd_bus_slot **ret_slot) {
        int r = sd_bus_match_signal(bus, ret_slot, SD_DEST, SD_PATH, SD_MANAGER, "JobRemoved",
                                    on_job_removed, j);
        if (r < 0)
                return r;
        j->bus = bus;
        (void) sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", NULL, NULL, "");
        return 0;
}

/* Appends the (sv) properties of a slice: its description and the weights that are set. */
static int append_props(sd_bus_message *m, const struct sdslice_op *o, bool with_description) {
        int r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        if (with_description) {
                _cleanup_free_ char *d = NULL;
                r = xasprintf(&d, "cgrouparch %s", *o->path ? o->path : "managed root");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "(sv)", "Description", "s", d);
                if (r < 0)
                        return r;
        }
        if (o->cpu_weight >= 0) {
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t", (uint64_t) o->cpu_weight);
                if (r < 0)
                        return r;
        }
        if (o->io_weight >= 0) {
                r = sd_bus_message_append(m, "(sv)", "IOWeight", "t", (uint64_t) o->io_weight);
                if (r < 0)
                        return r;
        }
        for (size_t k = 0; k < o->n_limits; k++) {
                const struct sdslice_limit *l = &o->limits[k];
                const char *name = limit_props[l->limit];
                char dev[48];

                if (!conf_limit_is_device(l->limit)) {
                        r = sd_bus_message_append(m, "(sv)", name, "t", limit_prop_value(l));
                        if (r < 0)
                                return r;
                        continue;
                }
                /* one device entry; the manager updates that device's entry, others stay */
                snprintf(dev, sizeof(dev), "/dev/block/%u:%u", l->major, l->minor);
                r = sd_bus_message_open_container(m, 'r', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", name);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "a(st)");
                if (r >= 0)
                        r = sd_bus_message_append(m, "a(st)", 1, dev, limit_prop_value(l));
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

/* A method that returns a job ("o"), then the job's result; "done" is success. */
static int call_job(sd_bus *bus, struct jobs *j, sd_bus_message *m, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *result = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *job;
        int r;

        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0) {
                take_error(&e, r, ret_error);
                if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.UnitExists"))
                        r = -EEXIST;
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &job);
        if (r >= 0)
                r = jobs_wait(bus, j, job, &result);
        if (r < 0) {
                take_error(NULL, r, ret_error);
                return r;
        }
        if (strcmp(result, "done") != 0) {
                if (ret_error) {
                        free(*ret_error);
                        *ret_error = NULL;
                        (void) xasprintf(ret_error, "job %s", result);
                }
                return -EIO;
        }
        return 0;
}

static int start_slice(sd_bus *bus, struct jobs *j, const struct sdslice_op *o, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                           "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", o->unit, "fail");
        if (r >= 0)
                r = append_props(m, o, true);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        return call_job(bus, j, m, ret_error);
}

static int set_props(sd_bus *bus, const struct sdslice_op *o, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", o->unit, 1); /* runtime: lost at reboot */
        if (r >= 0)
                r = append_props(m, o, false);
        if (r < 0)
                return r;
        r = sd_bus_call(bus, m, 0, &e, NULL);
        if (r < 0)
                take_error(&e, r, ret_error);
        sd_bus_error_free(&e);
        return r;
}

/* Object path of a loaded unit; -ENOENT when it is not loaded. */
static int unit_object(sd_bus *bus, const char *unit, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *p;
        int r;

        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s", unit);
        if (r < 0) {
                if (sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit"))
                        r = -ENOENT;
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &p);
        if (r < 0)
                return r;
        *ret = strdup(p);
        return *ret ? 0 : -ENOMEM;
}

static int unit_string_prop(sd_bus *bus, const char *objpath, const char *iface, const char *prop,
                            char **ret) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = sd_bus_get_property_string(bus, SD_DEST, objpath, iface, prop, &e, ret);
        sd_bus_error_free(&e);
        return r;
}

/* Every unit that stopping `unit` would stop too and that is not inactive: its members
 * (SliceOf, where the manager has it), what requires it, what is part of it. */
static int slice_busy_units(sd_bus *bus, const char *objpath, char ***ret) {
        static const char *const props[] = { "SliceOf", "RequiredBy", "ConsistsOf", "BoundBy" };
        _cleanup_strv_free_ char **busy = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(props); i++) {
                _cleanup_strv_free_ char **deps = NULL;
                sd_bus_error e = SD_BUS_ERROR_NULL;

                r = sd_bus_get_property_strv(bus, SD_DEST, objpath, SD_UNIT, props[i], &e, &deps);
                sd_bus_error_free(&e);
                if (r < 0)
                        continue; /* SliceOf is newer than some managers */
                for (char **d = deps; d && *d; d++) {
                        _cleanup_free_ char *dpath = NULL, *state = NULL, *line = NULL;

                        if (strv_contains(busy, *d))
                                continue;
                        r = unit_object(bus, *d, &dpath);
                        if (r == -ENOENT)
                                continue; /* collected meanwhile */
                        if (r < 0)
                                return r;
                        r = unit_string_prop(bus, dpath, SD_UNIT, "ActiveState", &state);
                        if (r < 0)
                                return r;
                        if (strcmp(state, "inactive") == 0 || strcmp(state, "failed") == 0)
                                continue;
                        r = strv_extend(&busy, *d);
                        if (r < 0)
                                return r;
                }
        }
        *ret = TAKE_PTR(busy);
        return 0;
}

static int stop_slice(sd_bus *bus, struct jobs *j, const struct sdslice_op *o,
                      struct sdslice_result *res, char **ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **busy = NULL;
        _cleanup_free_ char *objpath = NULL;
        int r;

        r = unit_object(bus, o->unit, &objpath);
        if (r == -ENOENT)
                return 0; /* gone already: nothing to stop */
        if (r < 0) {
                take_error(NULL, r, ret_error);
                return r;
        }
        r = slice_busy_units(bus, objpath, &busy);
        if (r < 0) {
                take_error(NULL, r, ret_error);
                return r;
        }
        if (busy) {
                _cleanup_free_ char *msg = NULL, *list = NULL;
                size_t n = strv_length(busy), len = 0;
                FILE *f = open_memstream(&list, &len);
                if (!f)
                        return -ENOMEM;
                for (size_t i = 0; i < n && i < 5; i++)
                        fprintf(f, "%s%s", i ? ", " : "", busy[i]);
                if (n > 5)
                        fprintf(f, " and %zu more", n - 5);
                if (fclose(f) != 0 || !list)
                        return -ENOMEM;
                r = xasprintf(&msg, "%s not removed: it still holds %s (stopping the slice would "
                                    "stop them; move them out first)",
                              o->unit, list);
                if (r < 0)
                        return r;
                r = strv_push(&res->refused, TAKE_PTR(msg));
                return r < 0 ? r : 1;
        }
        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", o->unit, "fail");
        if (r < 0)
                return r;
        return call_job(bus, j, m, ret_error);
}

int sdslice_ensure_root(sd_bus *bus, const char *root, char **ret_error) {
        _cleanup_free_ char *unit = NULL, *objpath = NULL, *state = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        struct jobs j = {};
        int r;

        r = sdunit_slice_name(root, "", &unit);
        if (r < 0)
                return r;
        r = unit_object(bus, unit, &objpath);
        if (r >= 0)
                r = unit_string_prop(bus, objpath, SD_UNIT, "ActiveState", &state);
        if (r >= 0 && strcmp(state, "active") == 0)
                return 0;
        if (r < 0 && r != -ENOENT) {
                take_error(NULL, r, ret_error);
                return r;
        }
        r = jobs_listen(bus, &j, &slot);
        if (r >= 0) {
                struct sdslice_op o = { .type = SDSLICE_CREATE, .unit = unit, .path = (char *) "",
                                        .cpu_weight = -1, .io_weight = -1 };
                r = start_slice(bus, &j, &o, ret_error);
                if (r == -EEXIST) { /* loaded but not active (a unit file, or being collected) */
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                        r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH, SD_MANAGER,
                                                           "StartUnit");
                        if (r >= 0)
                                r = sd_bus_message_append(m, "ss", unit, "fail");
                        if (r >= 0)
                                r = call_job(bus, &j, m, ret_error);
                }
        }
        jobs_clear(&j);
        return r < 0 ? r : 1;
}

int sdslice_apply(sd_bus *bus, const struct sdslice_plan *p, struct sdslice_result *res) {
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        struct jobs j = {};
        int r = 0;

        *res = (struct sdslice_result){};
        if (p->n == 0)
                return 0;
        r = jobs_listen(bus, &j, &slot);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n; i++) {
                const struct sdslice_op *o = &p->ops[i];

                switch (o->type) {
                case SDSLICE_CREATE:
                        r = start_slice(bus, &j, o, &res->error);
                        if (r == -EEXIST) {
                                /* Loaded but not active (e.g. stopped, not collected yet):
                                 * start it and set what the conf says. */
                                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
                                r = sd_bus_message_new_method_call(bus, &m, SD_DEST, SD_PATH,
                                                                   SD_MANAGER, "StartUnit");
                                if (r >= 0)
                                        r = sd_bus_message_append(m, "ss", o->unit, "fail");
                                if (r >= 0)
                                        r = call_job(bus, &j, m, &res->error);
                                if (r >= 0 && (o->cpu_weight >= 0 || o->io_weight >= 0))
                                        r = set_props(bus, o, &res->error);
                        }
                        if (r >= 0)
                                res->n_created++;
                        break;
                case SDSLICE_SET:
                        r = set_props(bus, o, &res->error);
                        if (r >= 0)
                                res->n_set++;
                        break;
                case SDSLICE_STOP:
                        r = stop_slice(bus, &j, o, res, &res->error);
                        if (r == 0)
                                res->n_stopped++;
                        break;
                }
                if (r < 0) {
                        res->failed = o;
                        break;
                }
                if (r == 0)
                        res->n_done++; /* 1: a refused removal, reported in res->refused */
                r = 0;
        }
        jobs_clear(&j);
        return r;
}

int sdslice_unit_cgroup(sd_bus *bus, const char *unit, char **ret) {
        _cleanup_free_ char *objpath = NULL, *cg = NULL;
        int r;

        r = unit_object(bus, unit, &objpath);
        if (r < 0)
                return r;
        r = unit_string_prop(bus, objpath, SD_SLICE, "ControlGroup", &cg);
        if (r < 0)
                return r;
        if (!*cg)
                return -ENODATA;
        *ret = TAKE_PTR(cg);
        return 0;
}

int sdslice_manager_cgroup(sd_bus *bus, char **ret) {
        return unit_string_prop(bus, SD_PATH, SD_MANAGER, "ControlGroup", ret);
}
