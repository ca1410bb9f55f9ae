// Clocks, sleeping (poll_oneoff on a clock), random bytes, polling stdin
// and sched_yield. argv[1] is the host's Unix time in seconds.
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long nanos(clockid_t clock) {
    struct timespec t;
    if (clock_gettime(clock, &t) != 0)
        return -1;
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    long long host = atoll(argv[1]);
    long long real = nanos(CLOCK_REALTIME) / 1000000000LL;
    printf("realtime within 60 s of the host: %d\n", llabs(real - host) <= 60);

    struct timespec res;
    printf("monotonic resolution > 0: %d\n",
           clock_getres(CLOCK_MONOTONIC, &res) == 0 && (res.tv_sec > 0 || res.tv_nsec > 0));
    long long before = nanos(CLOCK_MONOTONIC);
    struct timespec nap = {0, 30 * 1000 * 1000};
    nanosleep(&nap, NULL);
    long long slept = nanos(CLOCK_MONOTONIC) - before;
    printf("slept at least 30 ms: %d\n", slept >= 30 * 1000 * 1000);

    unsigned char a[32], b[32], zero[32] = {0};
    int got = getentropy(a, sizeof a) == 0 && getentropy(b, sizeof b) == 0;
    printf("random bytes differ: %d\n",
           got && memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0);

    printf("sched_yield: %d\n", sched_yield());

    // stdin is a pipe the host writes a line to.
    struct pollfd fds = {.fd = 0, .events = POLLIN};
    int ready = poll(&fds, 1, 5000);
    char line[32] = {0};
    ssize_t n = read(0, line, sizeof line - 1);
    printf("poll stdin: %d, readable: %d, read: %s", ready, (fds.revents & POLLIN) != 0,
           n > 0 ? line : "(nothing)\n");
    return 0;
}
