/* test-tick.c — cg-accountd's wall-clock aligned timer (cg-accountd/tick.c): the boundary and
 * missed-tick arithmetic on injected times, then real CLOCK_REALTIME runs with generous bounds
 * (alignment of each deadline, a stalled callback seen as missed boundaries, freeing from the
 * callback, a failing callback stopping the loop). A clock step needs CAP_SYS_TIME and is not
 * exercised here. */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#include "tick.h"
#include "util.h"

#define S USEC_PER_SEC
#define MS USEC_PER_MSEC

static void test_next(void) {
        /* each second on the second: strictly after now */
        CHECK_INT(acctd_tick_next(0, S, 0), S);
        CHECK_INT(acctd_tick_next(1, S, 0), S);
        CHECK_INT(acctd_tick_next(S - 1, S, 0), S);
        CHECK_INT(acctd_tick_next(S, S, 0), 2 * S);
        CHECK_INT(acctd_tick_next(1700000000 * S + 999999, S, 0), 1700000001 * S);
        /* with an offset */
        CHECK_INT(acctd_tick_next(1700000000 * S, S, 250 * MS), 1700000000 * S + 250 * MS);
        CHECK_INT(acctd_tick_next(1700000000 * S + 250 * MS, S, 250 * MS),
                  1700000001 * S + 250 * MS);
        CHECK_INT(acctd_tick_next(1700000000 * S + 300 * MS, S, 250 * MS),
                  1700000001 * S + 250 * MS);
        /* an offset of more than one interval counts modulo the interval */
        CHECK_INT(acctd_tick_next(10 * S, S, 3 * S + 100 * MS), 10 * S + 100 * MS);
        CHECK_INT(acctd_tick_next(50 * MS, S, 100 * MS), 100 * MS);
        CHECK_INT(acctd_tick_next(100 * MS, S, 100 * MS), S + 100 * MS);
        /* other intervals */
        CHECK_INT(acctd_tick_next(7 * S + 10, 200 * MS, 50 * MS), 7 * S + 50 * MS);
        CHECK_INT(acctd_tick_next(7 * S + 60 * MS, 200 * MS, 50 * MS), 7 * S + 250 * MS);
}

static void test_expirations(void) {
        uint64_t d = 1700000000 * S;

        CHECK_INT(acctd_tick_expirations(d, d - 1, S), 0); /* not due */
        CHECK_INT(acctd_tick_expirations(d, d, S), 1);
        CHECK_INT(acctd_tick_expirations(d, d + 5 * MS, S), 1); /* on time */
        CHECK_INT(acctd_tick_expirations(d, d + S - 1, S), 1);
        CHECK_INT(acctd_tick_expirations(d, d + S, S), 2);        /* one second missed */
        CHECK_INT(acctd_tick_expirations(d, d + 3 * S + 500 * MS, S), 4);
        /* the next deadline, as tick.c computes it, is the first boundary after now */
        for (uint64_t late = 0; late < 5 * S; late += 123 * MS) {
                uint64_t n = acctd_tick_expirations(d, d + late, S);
                CHECK_INT(d + n * S, acctd_tick_next(d + late, S, 0));
        }
}

struct rec {
        int n, stop_at;
        uint64_t exp[8], deadline[8], rt[8];
        uint64_t stall_usec; /* the first call sleeps this long */
        int ret;             /* returned from call stop_at: < 0 stops the loop with it */
        struct acctd_tick **free_me;
};

static int on_tick(struct acctd_tick *t, uint64_t expirations, void *userdata) {
        struct rec *r = userdata;

        if (r->n < 8) {
                r->exp[r->n] = expirations;
                r->rt[r->n] = now_usec(CLOCK_REALTIME);
                r->deadline[r->n] = acctd_tick_deadline(t); /* already the next one */
        }
        r->n++;
        if (r->n == 1 && r->stall_usec)
                (void) usleep((useconds_t) r->stall_usec);
        if (r->free_me) {
                *r->free_me = acctd_tick_free(*r->free_me);
                return 0;
        }
        return r->n >= r->stop_at ? r->ret : 0;
}

static int guard_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) usec;
        (void) userdata;
        printf("#   guard timer fired: the tick did not stop the loop in time\n");
        return sd_event_exit(sd_event_source_get_event(s), -ETIMEDOUT);
}

static sd_event *loop_with_guard(uint64_t usec) {
        sd_event *e = NULL;

        CHECK_INT(sd_event_new(&e), 0);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, usec, 1, guard_fn, NULL) >= 0);
        return e;
}

static void test_aligned(void) {
        sd_event *e = loop_with_guard(10 * S);
        struct acctd_tick *t = NULL;
        struct rec r = {.stop_at = 4, .ret = -ECANCELED};
        const uint64_t iv = 200 * MS, off = 50 * MS;

        CHECK_INT(acctd_tick_new(e, 0, 0, on_tick, &r, &t), -EINVAL);
        CHECK_INT(acctd_tick_new(e, iv, off, NULL, &r, &t), -EINVAL);
        CHECK_INT(acctd_tick_new(e, iv, off, on_tick, &r, &t), 0);
        CHECK_INT(acctd_tick_deadline(t) % iv, off);
        CHECK(acctd_tick_deadline(t) > now_usec(CLOCK_REALTIME));
        /* a failing callback stops the loop with its value (here after 4 ticks) */
        CHECK_INT(sd_event_loop(e), -ECANCELED);
        CHECK_INT(r.n, 4);
        for (int i = 0; i < 4; i++) {
                uint64_t due = r.deadline[i] - r.exp[i] * iv; /* the deadline this call was for */
                CHECK_INT(r.deadline[i] % iv, off);
                CHECK(r.rt[i] >= due);      /* never early */
                CHECK(r.rt[i] < due + 2 * S); /* and not absurdly late, even under load */
                CHECK(r.deadline[i] > r.rt[i] - 1); /* re-armed in the future */
                if (i > 0)
                        CHECK_INT(due, r.deadline[i - 1]);
        }
        acctd_tick_free(t);
        sd_event_unref(e);
}

static void test_missed(void) {
        sd_event *e = loop_with_guard(10 * S);
        struct acctd_tick *t = NULL;
        /* a first call due at D that stalls 650 ms: by the second call the boundaries D + 200,
         * D + 400 and D + 600 ms have passed, the first of them the one it is due at */
        struct rec r = {.stop_at = 2, .ret = -ECANCELED, .stall_usec = 650 * MS};

        CHECK_INT(acctd_tick_new(e, 200 * MS, 0, on_tick, &r, &t), 0);
        CHECK_INT(sd_event_loop(e), -ECANCELED);
        CHECK_INT(r.n, 2);
        CHECK(r.exp[0] >= 1);
        CHECK(r.exp[1] >= 3); /* 2 (or more, under load) missed */
        acctd_tick_free(t);
        sd_event_unref(e);
}

static int stop_fn(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) usec;
        (void) userdata;
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static void test_free_in_callback(void) {
        sd_event *e = loop_with_guard(10 * S);
        struct acctd_tick *t = NULL;
        struct rec r = {.free_me = &t};

        CHECK_INT(acctd_tick_new(e, 100 * MS, 0, on_tick, &r, &t), 0);
        CHECK(sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 500 * MS, 1, stop_fn, NULL) >=
              0);
        CHECK_INT(sd_event_loop(e), 0);
        CHECK_INT(r.n, 1); /* freed in its first call: never again */
        CHECK(t == NULL);
        sd_event_unref(e);
        CHECK(acctd_tick_free(NULL) == NULL);
}

int main(void) {
        RUN(test_next);
        RUN(test_expirations);
        RUN(test_aligned);
        RUN(test_missed);
        RUN(test_free_in_callback);
        return TAP_END();
}
