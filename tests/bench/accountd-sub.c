/* accountd-sub — tick jitter as a dashboard sees it: subscribes to cg-accountd's channel and
 * prints, for each PUBLISHed slot, how many microseconds after the slot's second boundary it
 * arrived. Usage: accountd-sub PORT CHANNEL SECONDS */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

int main(int argc, char **argv) {
        redisContext *c;
        redisReply *r;
        time_t end;

        if (argc != 4) {
                fprintf(stderr, "usage: accountd-sub PORT CHANNEL SECONDS\n");
                return 2;
        }
        c = redisConnect("127.0.0.1", atoi(argv[1]));
        if (!c || c->err)
                return 1;
        r = redisCommand(c, "SUBSCRIBE %s", argv[2]);
        if (!r)
                return 1;
        freeReplyObject(r);
        printf("ready\n");
        fflush(stdout);
        redisSetTimeout(c, (struct timeval){.tv_sec = 1});
        end = time(NULL) + atoi(argv[3]);
        while (time(NULL) < end) {
                struct timeval now;
                void *reply;
                if (redisGetReply(c, &reply) != REDIS_OK) {
                        if (c->err == REDIS_ERR_IO) { /* timeout: reconnect-free retry */
                                redisFree(c);
                                c = redisConnect("127.0.0.1", atoi(argv[1]));
                                if (!c || c->err)
                                        return 1;
                                r = redisCommand(c, "SUBSCRIBE %s", argv[2]);
                                if (!r)
                                        return 1;
                                freeReplyObject(r);
                                redisSetTimeout(c, (struct timeval){.tv_sec = 1});
                                continue;
                        }
                        return 1;
                }
                gettimeofday(&now, NULL);
                r = reply;
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->str) {
                        long long slot = atoll(r->element[2]->str);
                        long long us = ((long long) now.tv_sec - slot) * 1000000LL + now.tv_usec;
                        printf("%lld %lld\n", slot, us);
                        fflush(stdout);
                }
                freeReplyObject(r);
        }
        redisFree(c);
        return 0;
}
