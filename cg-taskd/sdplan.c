/* sdplan.c — see sdplan.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "sdplan.h"
#include "sdunit.h"
#include "util.h"

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);
        return n > m && strcmp(s + n - m, suffix) == 0;
}

enum sdplan_kind sdplan_unit_kind(const char *unit) {
        static const char *const others[] = {".socket", ".mount", ".swap", ".automount",
                                             ".device", ".target", ".timer", ".path"};

        if (!unit || !*unit || strchr(unit, '/'))
                return SDPLAN_KIND_INVALID;
        if (ends_with(unit, ".service"))
                return SDPLAN_KIND_SERVICE;
        if (ends_with(unit, ".scope"))
                return SDPLAN_KIND_SCOPE;
        if (ends_with(unit, ".slice"))
                return SDPLAN_KIND_SLICE;
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                if (ends_with(unit, others[i]))
                        return SDPLAN_KIND_OTHER;
        return SDPLAN_KIND_INVALID;
}

static bool same(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

enum sdplan_action sdplan_decide(const struct sdplan_facts *f) {
        if (f->pid == 1)
                return SDPLAN_REFUSE_INIT;
        if (f->kthread)
                return SDPLAN_REFUSE_KTHREAD;
        if (!f->unit)
                return SDPLAN_REFUSE_NO_UNIT;
        switch (sdplan_unit_kind(f->unit)) {
        case SDPLAN_KIND_SERVICE:
                /* A drop-in naming another slice (the rule's name moved) is rewritten even when
                 * the unit happens to run in the target now: its next start must not move it. */
                if (f->dropin_slice && !same(f->dropin_slice, f->target))
                        return SDPLAN_DROPIN;
                if (same(f->unit_slice, f->target))
                        return SDPLAN_NOTHING;
                return f->dropin_slice ? SDPLAN_RESTART : SDPLAN_DROPIN;
        case SDPLAN_KIND_SCOPE:
                if (strcmp(f->unit, "init.scope") == 0)
                        return SDPLAN_REFUSE_INIT_SCOPE;
                if (same(f->unit_slice, f->target))
                        return SDPLAN_NOTHING;
                if (f->delegate)
                        return SDPLAN_REFUSE_DELEGATED;
                return SDPLAN_SCOPE;
        case SDPLAN_KIND_SLICE:
                return SDPLAN_REFUSE_SLICE;
        case SDPLAN_KIND_OTHER:
        case SDPLAN_KIND_INVALID:
                break;
        }
        return SDPLAN_REFUSE_KIND;
}

const char *sdplan_action_to_string(enum sdplan_action a) {
        switch (a) {
        case SDPLAN_NOTHING:
                return "already in its slice";
        case SDPLAN_DROPIN:
                return "the service gets a Slice= drop-in";
        case SDPLAN_RESTART:
                return "the service runs elsewhere until it restarts";
        case SDPLAN_SCOPE:
                return "moved into a transient scope";
        case SDPLAN_REFUSE_INIT:
                return "pid 1 is never moved";
        case SDPLAN_REFUSE_KTHREAD:
                return "kernel threads are never moved";
        case SDPLAN_REFUSE_NO_UNIT:
                return "no unit of this systemd manager holds it";
        case SDPLAN_REFUSE_INIT_SCOPE:
                return "it is in init.scope, the manager's own";
        case SDPLAN_REFUSE_SLICE:
                return "it sits directly in a slice's cgroup, outside any service or scope";
        case SDPLAN_REFUSE_DELEGATED:
                return "its scope has Delegate=yes: that scope's owner manages its processes";
        case SDPLAN_REFUSE_KIND:
                return "it is a control process of a unit that is neither a service nor a scope";
        }
        return "?";
}

int sdplan_dropin_text(const char *slice, char **ret) {
        if (sdplan_unit_kind(slice) != SDPLAN_KIND_SLICE)
                return -EINVAL;
        return xasprintf(ret,
                         "# Written by cg-taskd (cgrouparch): this service's pid file is mapped to\n"
                         "# %s. Removed by cg-taskd when that node leaves the conf.\n"
                         "[Service]\n"
                         "Slice=%s\n",
                         slice, slice);
}

int sdplan_dropin_parse(const char *text, char **ret) {
        _cleanup_free_ char *val = NULL;
        const char *p = text;

        while (p && *p) {
                const char *eol = strchr(p, '\n');
                size_t n = eol ? (size_t) (eol - p) : strlen(p);

                while (n > 0 && (*p == ' ' || *p == '\t'))
                        p++, n--;
                if (n >= 6 && strncmp(p, "Slice=", 6) == 0) {
                        size_t m = n - 6;
                        while (m > 0 && (p[6 + m - 1] == ' ' || p[6 + m - 1] == '\t' ||
                                         p[6 + m - 1] == '\r'))
                                m--;
                        free(val);
                        val = NULL; /* an empty assignment resets, as in systemd */
                        if (m > 0 && !(val = strndup(p + 6, m)))
                                return -ENOMEM;
                }
                p = eol ? eol + 1 : NULL;
        }
        if (!val)
                return -ENOENT;
        if (sdplan_unit_kind(val) != SDPLAN_KIND_SLICE)
                return -EINVAL;
        *ret = TAKE_PTR(val);
        return 0;
}

int sdplan_cgroup_slice(const char *control_group, char **ret) {
        const char *end, *start;
        char *s;

        if (!control_group || control_group[0] != '/')
                return -EINVAL;
        end = control_group + strlen(control_group);
        while (end > control_group + 1 && end[-1] == '/')
                end--;
        /* drop the unit's own component */
        while (end > control_group && end[-1] != '/')
                end--;
        if (end <= control_group + 1)
                return -EINVAL;
        end--; /* the '/' before the unit */
        start = end;
        while (start > control_group && start[-1] != '/')
                start--;
        if (end - start > 6 && strncmp(end - 6, ".slice", 6) == 0)
                s = strndup(start, (size_t) (end - start));
        else
                s = strdup("-.slice"); /* the manager's root cgroup is the root slice */
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int sdplan_dropin_root(const char *bus_spec, const char *xdg_runtime_dir, char **ret) {
        const char *p;
        size_t n;

        if (!bus_spec || strcmp(bus_spec, "system") == 0)
                return xasprintf(ret, "/run/systemd/system");
        if (strcmp(bus_spec, "user") == 0) {
                if (!xdg_runtime_dir || xdg_runtime_dir[0] != '/')
                        return -EINVAL;
                return xasprintf(ret, "%s/systemd/user", xdg_runtime_dir);
        }
        if (strncmp(bus_spec, "unix:path=", 10) != 0)
                return -EOPNOTSUPP;
        p = bus_spec + 10;
        n = strcspn(p, ",;");
        if (p[0] != '/' || n < sizeof("/systemd/private") ||
            strncmp(p + n - strlen("/systemd/private"), "/systemd/private", 16) != 0)
                return -EOPNOTSUPP;
        n -= strlen("/systemd/private");
        if (n == 0)
                return -EOPNOTSUPP;
        if (n == 4 && strncmp(p, "/run", 4) == 0)
                return xasprintf(ret, "/run/systemd/system");
        return xasprintf(ret, "%.*s/systemd/user", (int) n, p);
}

int sdplan_scope_name(const char *root_slice, const char *name, pid_t pid, char **ret) {
        _cleanup_free_ char *esc = NULL;
        size_t n;
        int r;

        if (!root_slice || !ends_with(root_slice, ".slice") || pid <= 0)
                return -EINVAL;
        n = strlen(root_slice) - strlen(".slice");
        if (!name)
                return xasprintf(ret, "%.*s-%d.scope", (int) n, root_slice, (int) pid);
        r = sdunit_escape(name, &esc);
        if (r < 0)
                return r;
        return xasprintf(ret, "%.*s-%s-%d.scope", (int) n, root_slice, esc, (int) pid);
}

int sdplan_scope_pid(const char *scope, pid_t *ret) {
        const char *end, *p;
        long v = 0;

        if (!scope || !ends_with(scope, ".scope"))
                return -EINVAL;
        end = scope + strlen(scope) - strlen(".scope");
        for (p = end; p > scope && p[-1] >= '0' && p[-1] <= '9'; p--)
                ;
        if (p == end || p == scope || p[-1] != '-' || *p == '0' || end - p > 9)
                return -EINVAL;
        for (; p < end; p++)
                v = v * 10 + (*p - '0');
        *ret = (pid_t) v;
        return 0;
}

#define DESC_FROM " from "

int sdplan_scope_description(const char *name, pid_t pid, const char *from_unit, char **ret) {
        if (name)
                return xasprintf(ret, "cgrouparch: pid %d of '%s'" DESC_FROM "%s", (int) pid, name,
                                 from_unit ? from_unit : "-");
        return xasprintf(ret, "cgrouparch: pid %d returned" DESC_FROM "%s", (int) pid,
                         from_unit ? from_unit : "-");
}

int sdplan_scope_description_from(const char *description, char **ret) {
        const char *p = NULL, *q;
        char *s;

        if (!description || strncmp(description, "cgrouparch: ", 12) != 0)
                return -ENOENT;
        for (q = strstr(description, DESC_FROM); q; q = strstr(q + 1, DESC_FROM))
                p = q + strlen(DESC_FROM);
        if (!p || sdplan_unit_kind(p) == SDPLAN_KIND_INVALID)
                return -ENOENT; /* "-": no origin recorded */
        s = strdup(p);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

int sdplan_status_format(size_t n_units, size_t n_slices, size_t n_pending, uint64_t pass_usec,
                         char **ret) {
        return xasprintf(ret, "placed %zu unit%s in %zu slice%s, %zu pending restart, last pass "
                              "%llu.%llu ms",
                         n_units, n_units == 1 ? "" : "s", n_slices, n_slices == 1 ? "" : "s",
                         n_pending, (unsigned long long) (pass_usec / 1000),
                         (unsigned long long) (pass_usec % 1000 / 100));
}
