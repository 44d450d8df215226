/*
 * gai: getaddrinfo(3) the way an application calls it (AF_UNSPEC, SOCK_STREAM: one entry per
 * address), in a loop, one JSON line per lookup. The same source is linked three ways in the
 * resolvers image: against Debian bookworm's glibc, and statically against the musl of
 * bookworm and of trixie, so the libraries differ and nothing else does.
 *
 * usage: gai INTERVAL_MS DURATION_MS NAME...
 * Every INTERVAL_MS it looks up each NAME, until DURATION_MS have passed (at least once).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static double ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

static void lookup(const char *name)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
	struct timespec wall, t0;
	clock_gettime(CLOCK_REALTIME, &wall);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = getaddrinfo(name, NULL, &hints, &res);
	double took = ms_since(&t0);
	printf("{\"name\":\"%s\",\"at\":%lld,\"ms\":%.1f,\"addrs\":[", name,
	       (long long)wall.tv_sec * 1000 + wall.tv_nsec / 1000000, took);
	const char *sep = "";
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		char buf[INET6_ADDRSTRLEN];
		const void *addr = ai->ai_family == AF_INET
			? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
			: (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if (inet_ntop(ai->ai_family, addr, buf, sizeof buf) != NULL) {
			printf("%s\"%s\"", sep, buf);
			sep = ",";
		}
	}
	printf("],\"error\":\"%s\"}\n", rc == 0 ? "" : gai_strerror(rc));
	if (res != NULL)
		freeaddrinfo(res);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s INTERVAL_MS DURATION_MS NAME...\n", argv[0]);
		return 2;
	}
	long interval = atol(argv[1]), duration = atol(argv[2]);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (int i = 3; i < argc; i++)
			lookup(argv[i]);
		fflush(stdout);
		if (ms_since(&start) + interval >= duration)
			return 0;
		struct timespec pause = {interval / 1000, (interval % 1000) * 1000000};
		nanosleep(&pause, NULL);
	}
}
