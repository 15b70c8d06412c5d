/* UDP load generator for `npm run bench` (built by the bench with the system C compiler when there
 * is one; otherwise the Node sender in sender.ts is used). Node's dgram costs ~6 us of CPU per
 * datagram, so on 2 cores a Node sender tops out near 150 k/s and takes CPU from the receiver under
 * test; sendmmsg(2) batches 256 datagrams per system call.
 *
 *   udpsend PORT RATE SECONDS POOLFILE   → one JSON line: {"sent":N,"seconds":S,"behind":N,…}
 * Sends the LF-separated lines of POOLFILE (cycled) to 127.0.0.1:PORT, paced at RATE per second.
 * SIGTERM ends the run early: the line then says "stopped":true and behind counts up to then.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 256

static volatile sig_atomic_t stopping = 0;

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: udpsend PORT RATE SECONDS POOLFILE\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]), seconds = atof(argv[3]);
  FILE *f = fopen(argv[4], "rb");
  if (!f) return perror("pool"), 1;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc(size);
  if (!buf || fread(buf, 1, size, f) != (size_t)size) return perror("read"), 1;
  fclose(f);
  long n = 0;
  for (long i = 0; i < size; i++) n += buf[i] == '\n';
  struct iovec *lines = calloc(n, sizeof *lines);
  long k = 0, start = 0;
  for (long i = 0; i < size; i++)
    if (buf[i] == '\n') {
      lines[k].iov_base = buf + start;
      lines[k].iov_len = i - start;
      k++;
      start = i + 1;
    }
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  if (connect(s, (struct sockaddr *)&to, sizeof to)) return perror("connect"), 1;
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  struct mmsghdr msgs[BATCH];
  memset(msgs, 0, sizeof msgs);
  long total = (long)(rate * seconds), sent = 0, cur = 0;
  double t0 = now(), el = 0;
  while (!stopping && sent < total && (el = now() - t0) < seconds) {
    long target = (long)(rate * el);
    if (target > total) target = total;
    if (target - sent <= 0) {
      usleep(200);
      continue;
    }
    int m = target - sent > BATCH ? BATCH : (int)(target - sent);
    for (int j = 0; j < m; j++) {
      msgs[j].msg_hdr.msg_iov = &lines[cur];
      msgs[j].msg_hdr.msg_iovlen = 1;
      if (++cur == n) cur = 0;
    }
    int r = sendmmsg(s, msgs, m, 0);
    if (r > 0) sent += r;
    if (r < m) cur = (cur - (m - (r > 0 ? r : 0)) + n) % n;
  }
  el = now() - t0;
  close(s);
  long due = stopping && (long)(rate * el) < total ? (long)(rate * el) : total;
  printf("{\"sent\":%ld,\"seconds\":%.3f,\"behind\":%ld,\"blocked_ms\":0,\"max_queued_bytes\":0,\"stopped\":%s}\n", sent, el, due > sent ? due - sent : 0, stopping ? "true" : "false");
  return 0;
}
