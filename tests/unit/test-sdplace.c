/* test-sdplace.c — cg-taskd's systemd-mode placement decisions (cg-taskd/sdplan.c): unit kinds,
 * the drop-in text, the decision table, names and where drop-ins go. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdplan.h"
#include "tap.h"

static void unit_kinds(void) {
        CHECK_INT(sdplan_unit_kind("demo.service"), SDPLAN_KIND_SERVICE);
        CHECK_INT(sdplan_unit_kind("getty@tty1.service"), SDPLAN_KIND_SERVICE);
        CHECK_INT(sdplan_unit_kind("session-3.scope"), SDPLAN_KIND_SCOPE);
        CHECK_INT(sdplan_unit_kind("init.scope"), SDPLAN_KIND_SCOPE);
        CHECK_INT(sdplan_unit_kind("-.slice"), SDPLAN_KIND_SLICE);
        CHECK_INT(sdplan_unit_kind("cgrouparch-a.slice"), SDPLAN_KIND_SLICE);
        CHECK_INT(sdplan_unit_kind("sshd.socket"), SDPLAN_KIND_OTHER);
        CHECK_INT(sdplan_unit_kind("home.mount"), SDPLAN_KIND_OTHER);
        CHECK_INT(sdplan_unit_kind("x.swap"), SDPLAN_KIND_OTHER);
        CHECK_INT(sdplan_unit_kind(".service"), SDPLAN_KIND_INVALID);
        CHECK_INT(sdplan_unit_kind("service"), SDPLAN_KIND_INVALID);
        CHECK_INT(sdplan_unit_kind(""), SDPLAN_KIND_INVALID);
        CHECK_INT(sdplan_unit_kind(NULL), SDPLAN_KIND_INVALID);
        CHECK_INT(sdplan_unit_kind("a/b.service"), SDPLAN_KIND_INVALID);
}

static void dropin_text(void) {
        char *t = NULL, *slice = NULL;

        CHECK_INT(sdplan_dropin_text("cgrouparch-web.slice", &t), 0);
        CHECK(t && strstr(t, "\n[Service]\nSlice=cgrouparch-web.slice\n"));
        CHECK(t && t[strlen(t) - 1] == '\n');
        /* what we write reads back */
        CHECK_INT(sdplan_dropin_parse(t, &slice), 0);
        CHECK_STR(slice, "cgrouparch-web.slice");
        free(slice);
        free(t);
        t = NULL;
        CHECK_INT(sdplan_dropin_text("web", &t), -EINVAL);
        CHECK_INT(sdplan_dropin_text("a.service", &t), -EINVAL);
        CHECK(t == NULL);
}

static void dropin_parse(void) {
        char *s = NULL;

        CHECK_INT(sdplan_dropin_parse("[Service]\nSlice=a.slice\nSlice=b.slice  \n", &s), 0);
        CHECK_STR(s, "b.slice"); /* the last assignment wins, as in systemd */
        free(s);
        s = NULL;
        CHECK_INT(sdplan_dropin_parse("[Service]\n  Slice=c.slice", &s), 0);
        CHECK_STR(s, "c.slice");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_dropin_parse("[Service]\nCPUWeight=10\n", &s), -ENOENT);
        CHECK_INT(sdplan_dropin_parse("", &s), -ENOENT);
        CHECK_INT(sdplan_dropin_parse("Slice=x.service\n", &s), -EINVAL);
        CHECK_INT(sdplan_dropin_parse("Slice=\n", &s), -ENOENT);
        CHECK_INT(sdplan_dropin_parse("Slice=a.slice\nSlice=\n", &s), -ENOENT);
        CHECK(s == NULL);
}

static void cgroup_slice(void) {
        char *s = NULL;

        CHECK_INT(sdplan_cgroup_slice("/system.slice/demo.service", &s), 0);
        CHECK_STR(s, "system.slice");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_cgroup_slice("/t/mgr/cgrouparch.slice/cgrouparch-a.slice/demo.service", &s),
                  0);
        CHECK_STR(s, "cgrouparch-a.slice");
        free(s);
        s = NULL;
        /* a unit right under a user manager's root: the root slice */
        CHECK_INT(sdplan_cgroup_slice("/t/mgr/init.scope", &s), 0);
        CHECK_STR(s, "-.slice");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_cgroup_slice("/init.scope", &s), -EINVAL);
        CHECK_INT(sdplan_cgroup_slice("", &s), -EINVAL);
        CHECK_INT(sdplan_cgroup_slice("system.slice/x.service", &s), -EINVAL);
        CHECK(s == NULL);
}

static void decide(struct sdplan_facts f, enum sdplan_action want) {
        enum sdplan_action got = sdplan_decide(&f);
        if (got != want)
                printf("#   pid %d unit %s now %s dropin %s target %s: got %s, want %s\n",
                       (int) f.pid, f.unit ? f.unit : "-", f.unit_slice ? f.unit_slice : "-",
                       f.dropin_slice ? f.dropin_slice : "-", f.target,
                       sdplan_action_to_string(got), sdplan_action_to_string(want));
        CHECK_INT(got, want);
}

static void decision_table(void) {
        const char *T = "cgrouparch-a.slice";

        /* a service: placed by a drop-in, then (restart or pending) until its cgroup moved */
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = "system.slice",
                                     .target = T},
               SDPLAN_DROPIN);
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = "system.slice",
                                     .dropin_slice = T, .target = T},
               SDPLAN_RESTART);
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = T,
                                     .dropin_slice = T, .target = T},
               SDPLAN_NOTHING);
        /* in its slice by its own config: nothing written */
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = T, .target = T},
               SDPLAN_NOTHING);
        /* the rule's name moved: the drop-in is rewritten */
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = "cgrouparch-b.slice",
                                     .dropin_slice = "cgrouparch-b.slice", .target = T},
               SDPLAN_DROPIN);
        decide((struct sdplan_facts){.pid = 42, .unit = "demo.service", .unit_slice = T,
                                     .dropin_slice = "cgrouparch-b.slice", .target = T},
               SDPLAN_DROPIN);
        /* a service with Delegate=yes is still placed as a whole unit */
        decide((struct sdplan_facts){.pid = 42, .unit = "user@0.service", .unit_slice = "user.slice",
                                     .delegate = true, .target = T},
               SDPLAN_DROPIN);
        /* a process in a scope: a transient scope of its own; already in one in the slice: done */
        decide((struct sdplan_facts){.pid = 42, .unit = "session-3.scope", .unit_slice = "user-0.slice",
                                     .target = T},
               SDPLAN_SCOPE);
        decide((struct sdplan_facts){.pid = 42, .unit = "cgrouparch-a-42.scope", .unit_slice = T,
                                     .target = T},
               SDPLAN_NOTHING);
        decide((struct sdplan_facts){.pid = 42, .unit = "run-u7.scope", .unit_slice = T, .target = T},
               SDPLAN_NOTHING);
        decide((struct sdplan_facts){.pid = 42, .unit = "cgrouparch-b-42.scope",
                                     .unit_slice = "cgrouparch-b.slice", .target = T},
               SDPLAN_SCOPE);
        /* refusals */
        decide((struct sdplan_facts){.pid = 1, .unit = "init.scope", .unit_slice = "-.slice", .target = T},
               SDPLAN_REFUSE_INIT);
        decide((struct sdplan_facts){.pid = 2, .kthread = true, .unit = "-.slice", .target = T},
               SDPLAN_REFUSE_KTHREAD);
        decide((struct sdplan_facts){.pid = 42, .unit = "init.scope", .unit_slice = "-.slice", .target = T},
               SDPLAN_REFUSE_INIT_SCOPE);
        decide((struct sdplan_facts){.pid = 42, .unit = "-.slice", .target = T}, SDPLAN_REFUSE_SLICE);
        decide((struct sdplan_facts){.pid = 42, .unit = "docker-1.scope", .unit_slice = "system.slice",
                                     .delegate = true, .target = T},
               SDPLAN_REFUSE_DELEGATED);
        decide((struct sdplan_facts){.pid = 42, .unit = "home.mount", .target = T}, SDPLAN_REFUSE_KIND);
        decide((struct sdplan_facts){.pid = 42, .unit = "weird", .target = T}, SDPLAN_REFUSE_KIND);
        decide((struct sdplan_facts){.pid = 42, .target = T}, SDPLAN_REFUSE_NO_UNIT);
        CHECK(sdplan_action_refuses(SDPLAN_REFUSE_NO_UNIT));
        CHECK(!sdplan_action_refuses(SDPLAN_SCOPE));
        CHECK(!sdplan_action_refuses(SDPLAN_NOTHING));
}

static void check_root(const char *spec, const char *xdg, int want_r, const char *want) {
        char *s = NULL;
        CHECK_INT(sdplan_dropin_root(spec, xdg, &s), want_r);
        if (want)
                CHECK_STR(s, want);
        free(s);
}

static void dropin_roots(void) {
        check_root("system", NULL, 0, "/run/systemd/system");
        check_root(NULL, NULL, 0, "/run/systemd/system");
        check_root("user", "/run/user/1000", 0, "/run/user/1000/systemd/user");
        check_root("user", NULL, -EINVAL, NULL);
        check_root("unix:path=/run/systemd/private", NULL, 0, "/run/systemd/system");
        check_root("unix:path=/run/cgarch-e2e-1/xdg/systemd/private", NULL, 0,
                   "/run/cgarch-e2e-1/xdg/systemd/user");
        check_root("unix:path=/run/user/0/systemd/private,guid=abc", NULL, 0,
                   "/run/user/0/systemd/user");
        check_root("unix:path=/run/dbus/system_bus_socket", NULL, -EOPNOTSUPP, NULL);
        check_root("tcp:host=1.2.3.4", NULL, -EOPNOTSUPP, NULL);
        check_root("unix:path=/systemd/private", NULL, -EOPNOTSUPP, NULL);
}

static void scope_names(void) {
        char *s = NULL, *from = NULL;

        CHECK_INT(sdplan_scope_name("cgrouparch.slice", "web", 42, &s), 0);
        CHECK_STR(s, "cgrouparch-web-42.scope");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_scope_name("cgrouparch.slice", "web-api", 42, &s), 0);
        CHECK_STR(s, "cgrouparch-web\\x2dapi-42.scope");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_scope_name("cgrouparch.slice", NULL, 42, &s), 0);
        CHECK_STR(s, "cgrouparch-42.scope");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_scope_name("cgrouparch", "web", 42, &s), -EINVAL);
        CHECK_INT(sdplan_scope_name("cgrouparch.slice", "web", 0, &s), -EINVAL);

        pid_t pid = 0;
        CHECK_INT(sdplan_scope_pid("cgrouparch-web-42.scope", &pid), 0);
        CHECK_INT(pid, 42);
        CHECK_INT(sdplan_scope_pid("cgrouparch-4711.scope", &pid), 0);
        CHECK_INT(pid, 4711);
        CHECK_INT(sdplan_scope_pid("cgrouparch-web.scope", &pid), -EINVAL);
        CHECK_INT(sdplan_scope_pid("42.scope", &pid), -EINVAL);
        CHECK_INT(sdplan_scope_pid("cgrouparch-web-042.scope", &pid), -EINVAL);
        CHECK_INT(sdplan_scope_pid("cgrouparch-web-42.service", &pid), -EINVAL);

        CHECK_INT(sdplan_scope_description("web", 42, "session-3.scope", &s), 0);
        CHECK_INT(sdplan_scope_description_from(s, &from), 0);
        CHECK_STR(from, "session-3.scope");
        free(from);
        free(s);
        s = NULL;
        from = NULL;
        /* a name holding " from " does not confuse the origin */
        CHECK_INT(sdplan_scope_description("a from b.scope", 42, "run-u1.scope", &s), 0);
        CHECK_INT(sdplan_scope_description_from(s, &from), 0);
        CHECK_STR(from, "run-u1.scope");
        free(from);
        free(s);
        s = NULL;
        from = NULL;
        CHECK_INT(sdplan_scope_description(NULL, 42, NULL, &s), 0);
        CHECK_INT(sdplan_scope_description_from(s, &from), -ENOENT);
        free(s);
        CHECK_INT(sdplan_scope_description_from("Session 3 of user root", &from), -ENOENT);
        CHECK(from == NULL);
}

static void status_line(void) {
        char *s = NULL;
        CHECK_INT(sdplan_status_format(1, 1, 2, 1234, &s), 0);
        CHECK_STR(s, "placed 1 unit in 1 slice, 2 pending restart, last pass 1.2 ms");
        free(s);
        s = NULL;
        CHECK_INT(sdplan_status_format(3, 2, 0, 15000, &s), 0);
        CHECK_STR(s, "placed 3 units in 2 slices, 0 pending restart, last pass 15.0 ms");
        free(s);
}

int main(void) {
        RUN(unit_kinds);
        RUN(dropin_text);
        RUN(dropin_parse);
        RUN(cgroup_slice);
        RUN(decision_table);
        RUN(dropin_roots);
        RUN(scope_names);
        RUN(status_line);
        return TAP_END();
}
