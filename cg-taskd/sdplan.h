/* sdplan.h — cg-taskd's placement decisions in `[cgroup] mode = systemd` (issue 13 item 3),
 * pure: which unit a pid-file process belongs to decides how it is placed, and the text of what
 * is written. No I/O here; unit-tested in test-sdplace.c. The bus side is sdplace.c.
 *
 * A process of a service is placed by placing the unit: a drop-in with Slice= that takes effect
 * when the unit next starts (restarted by us with `[systemd] restart_services = yes`). Any other
 * process we may touch (one in a scope, not delegated, not init.scope) is moved by systemd into
 * a transient scope of its own in the target slice. Nothing else is ever moved. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The drop-in's file name inside <unit>.d/ */
#define SDPLAN_DROPIN_NAME "50-cgrouparch-slice.conf"

enum sdplan_kind {
        SDPLAN_KIND_SERVICE,
        SDPLAN_KIND_SCOPE,
        SDPLAN_KIND_SLICE,
        SDPLAN_KIND_OTHER, /* socket, mount, swap, ...: their control processes are not ours */
        SDPLAN_KIND_INVALID,
};
/* The kind of a unit from its name ("x.service" -> SERVICE); INVALID for NULL, "" or no
 * known suffix. */
enum sdplan_kind sdplan_unit_kind(const char *unit);

/* What the placement of one pid-file process sees. */
struct sdplan_facts {
        pid_t pid;
        bool kthread;
        const char *unit;       /* the unit holding the pid (GetUnitByPID); NULL: none */
        const char *unit_slice; /* the slice its cgroup is in now (from ControlGroup); NULL: not
                                   known (not running). Not the Slice property: that follows a
                                   daemon-reload at once while the cgroup stays until restart. */
        bool delegate;          /* the unit has Delegate=yes */
        const char *dropin_slice; /* Slice= of our drop-in for the unit; NULL: none */
        const char *target;       /* the slice the rule wants */
};

enum sdplan_action {
        SDPLAN_NOTHING,   /* already in the target slice */
        SDPLAN_DROPIN,    /* service: write (or rewrite) the drop-in, reload, then restart/pending */
        SDPLAN_RESTART,   /* service: the drop-in is there, the unit runs in another slice */
        SDPLAN_SCOPE,     /* a new transient scope in the target slice, PIDs= the process tree */
        SDPLAN_REFUSE_INIT,
        SDPLAN_REFUSE_KTHREAD,
        SDPLAN_REFUSE_NO_UNIT,   /* not in any unit of this manager */
        SDPLAN_REFUSE_INIT_SCOPE, /* the manager's own init.scope */
        SDPLAN_REFUSE_SLICE,      /* directly in a slice's cgroup (the root cgroup's -.slice) */
        SDPLAN_REFUSE_DELEGATED,  /* a scope with Delegate=yes: its owner manages it */
        SDPLAN_REFUSE_KIND,       /* a control process of a socket/mount/swap/... unit */
};
enum sdplan_action sdplan_decide(const struct sdplan_facts *f);
/* Why an action refuses (a phrase for the log), or what it does. */
const char *sdplan_action_to_string(enum sdplan_action a);
static inline bool sdplan_action_refuses(enum sdplan_action a) {
        return a >= SDPLAN_REFUSE_INIT;
}

/* The drop-in's text for `slice` (owned): "[Service]\nSlice=<slice>\n" with a header comment. */
int sdplan_dropin_text(const char *slice, char **ret);
/* The Slice= value of a drop-in's text (the last assignment, as systemd reads it); -ENOENT if
 * it has none, -EINVAL if the value is not a slice name. */
int sdplan_dropin_parse(const char *text, char **ret);

/* The slice a unit's cgroup is in, from its ControlGroup property
 * ("/x/cgrouparch.slice/cgrouparch-a.slice/demo.service" -> "cgrouparch-a.slice"; a unit
 * directly below the manager's root -> "-.slice"). -EINVAL for "" or a relative path. */
int sdplan_cgroup_slice(const char *control_group, char **ret);

/* Where drop-ins go for the manager named by `[systemd] bus`: "system" -> /run/systemd/system;
 * "user" -> $XDG_RUNTIME_DIR/systemd/user; an address "unix:path=DIR/systemd/private" (a
 * manager's private socket) -> /run/systemd/system when DIR is /run, else DIR/systemd/user.
 * -EINVAL for "user" without xdg_runtime_dir, -EOPNOTSUPP for any other address. */
int sdplan_dropin_root(const char *bus_spec, const char *xdg_runtime_dir, char **ret);

/* The transient scope for pid `pid` of rule `name` under managed root slice `root_slice`
 * ("cgrouparch.slice", "web", 42 -> "cgrouparch-web-42.scope"; the name escaped as
 * systemd-escape does). `name` NULL: the scope a process returns to when its node is removed
 * ("cgrouparch-42.scope", which no rule's scope can be: those have two '-' parts). */
int sdplan_scope_name(const char *root_slice, const char *name, pid_t pid, char **ret);
/* The pid a scope name of ours ends in ("cgrouparch-web-42.scope" -> 42); -EINVAL if none. */
int sdplan_scope_pid(const char *scope, pid_t *ret);
/* Our transient scopes' Description= records where their process came from, so a removal can
 * put it back even after a restart of cg-taskd. */
int sdplan_scope_description(const char *name, pid_t pid, const char *from_unit, char **ret);
/* The from-unit of such a description; -ENOENT when it has none (not ours, or no origin). */
int sdplan_scope_description_from(const char *description, char **ret);

/* STATUS= in systemd mode: "placed N units in M slices, K pending restart, last pass X ms". */
int sdplan_status_format(size_t n_units, size_t n_slices, size_t n_pending, uint64_t pass_usec,
                         char **ret);
