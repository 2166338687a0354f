/* tap.h — the unit tests' tiny harness: TAP-style "ok N - name" / "not ok N - name" lines that
 * tests/run counts. A test is a function; CHECK() records a failure with file:line and goes on. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed_total, tap_cur_failed;

#define CHECK(cond)                                                                                \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        printf("#   %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);       \
                        tap_cur_failed++;                                                          \
                }                                                                                  \
        } while (0)
#define CHECK_INT(a, b)                                                                            \
        do {                                                                                       \
                long long _a = (long long) (a), _b = (long long) (b);                              \
                if (_a != _b) {                                                                    \
                        printf("#   %s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,  \
                               _a, _b);                                                            \
                        tap_cur_failed++;                                                          \
                }                                                                                  \
        } while (0)
#define CHECK_STR(a, b)                                                                            \
        do {                                                                                       \
                const char *_a = (a), *_b = (b);                                                   \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                                           \
                        printf("#   %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__,  \
                               #a, _a ? _a : "(null)", _b ? _b : "(null)");                       \
                        tap_cur_failed++;                                                          \
                }                                                                                  \
        } while (0)

#define RUN(fn)                                                                                    \
        do {                                                                                       \
                tap_cur_failed = 0;                                                                \
                fn();                                                                              \
                tap_n++;                                                                           \
                if (tap_cur_failed)                                                                \
                        tap_failed_total++;                                                        \
                printf("%sok %d - %s\n", tap_cur_failed ? "not " : "", tap_n, #fn);                \
                fflush(stdout);                                                                    \
        } while (0)

#define TAP_END() (printf("1..%d\n", tap_n), tap_failed_total ? 1 : 0)
