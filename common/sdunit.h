/* sdunit.h — naming and bus access shared by the systemd mode of cg-syncd, cg-taskd, cg-accountd
 * and cgarch ([cgroup] mode = systemd; docs/design.md "systemd mode").
 *
 * The managed root `[cgroup] root` (e.g. "cgrouparch") is the slice "cgrouparch.slice"; a conf
 * node at path "a/b" is "cgrouparch-a-b.slice", following systemd's rule that a slice's name
 * spells its parents joined by '-'. Each component is escaped as `systemd-escape` does
 * (unit_name_escape(): '-' and anything outside [A-Za-z0-9:_.] become "\xNN", a leading '.' too),
 * so a cgrouparch name with '-' in it ("web-api") cannot be confused with two levels.
 * Returns >= 0 or -errno; never logs. */
#pragma once

#include <systemd/sd-bus.h>

/* Escapes one name component as `systemd-escape NAME` would (owned). -EINVAL for "". */
int sdunit_escape(const char *s, char **ret);
/* The slice unit of conf path `path` ("a/b"; "" = the managed root itself) under managed root
 * `root` ("cgrouparch"; may itself hold '/': "x/y" is read as nested components). -EINVAL for
 * an empty root or an empty component. */
int sdunit_slice_name(const char *root, const char *path, char **ret);
/* Opens the bus named by `[systemd] bus`: "system", "user", or a D-Bus address
 * ("unix:path=/run/user/0/systemd/private" reaches a manager's private socket directly). */
int sdunit_bus_open(const char *spec, sd_bus **ret);

/* ---- the inverse, for reading the manager's view (pure) ---- */
/* Undoes sdunit_escape() on s[0..n): "\xNN" becomes the byte; anything else is copied (owned).
 * -EINVAL for a malformed escape. */
int sdunit_unescape(const char *s, size_t n, char **ret);
/* The conf path of slice unit `unit` under managed root `root`: "cgrouparch.slice" -> "",
 * "cgrouparch-a-b.slice" -> "a/b". -ENOENT: not a slice of this root; -EINVAL: one of ours by
 * prefix, but a component is not a valid conf name (never ours: left alone). */
int sdunit_slice_path(const char *root, const char *unit, char **ret);
/* The two ListUnitsByPatterns() patterns that cover the managed root's slices,
 * "<root>.slice" and "<root>-*.slice", with fnmatch() metacharacters of the escaped root quoted
 * (an escaped root holds '\'). NULL-terminated strv, owned. */
int sdunit_slice_patterns(const char *root, char ***ret);
