// A UDP syslog socket read by a thread of its own (sources/udp.ts).
//
// Node's dgram costs the receiver's event loop one libuv read, one Buffer and one rinfo object with an
// address string for every datagram: at 40 k msg/s that was ~5 µs a datagram, half of the receiver's
// time. Here a thread blocks in recvmmsg(2), takes up to BATCH datagrams a call, and writes them as
// spool records (spool/format.ts: u32le body length, u32le crc32(body), f64le receive time in ms, u8
// transport, u8 origin length, origin, payload) into one chunk, with trailing CR, LF and NUL cut as
// framing.ts's trimEnd cuts them and empty datagrams counted, not kept. The event loop then gets one
// call a chunk: (buffer, records, empties, truncated, payloadBytes, origins[], counts[]), through a
// thread-safe function whose queue holds up to QUEUE_BYTES; when the loop falls that far behind, the
// thread waits and the kernel's receive buffer absorbs the burst (or drops, and counts it, as it
// always did).
//
// udpOpen(host, port, rcvbufBytes) -> { handle, port, granted } or throws an Error with `code` (errno
//   name); udpStart(handle, transportCode, callback); udpStop(handle): the thread reads what the socket
//   still holds, then calls callback(null) last, and the socket is closed.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include "udp-native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/** Datagrams one recvmmsg call takes. */
#define BATCH 64
/** Bytes a datagram may have: the largest UDP payload fits. */
#define SLOT 65536
/**
 * Bytes of chunks waiting for the event loop before the thread stops reading (and the kernel's
 * receive buffer takes over): rides out a busy event loop of ~0.1 s at 100 k msg/s, bounded.
 */
#define QUEUE_BYTES (32u << 20)
#define HEADER_BYTES 8
#define BODY_FIXED_BYTES 10

typedef struct {
  int fd;
  int family;
  uint8_t transport;
  bool started;
  /** The JS handle was collected (free when the thread is done too). */
  bool handle_gone;
  /** The thread-safe function was finalized: thread joined, socket closed. */
  bool finished;
  atomic_bool stop;
  /** Bytes of the chunks queued for the event loop. */
  atomic_size_t queued;
  pthread_t thread;
  napi_threadsafe_function tsfn;
  char *slots;
} rx_t;

typedef struct {
  char addr[INET6_ADDRSTRLEN];
  uint32_t n;
} origin_t;

typedef struct {
  void *owner;
  bool last;
  uint32_t records, empties, truncated, norigins;
  double payload_bytes;
  origin_t origins[BATCH];
  size_t len;
  unsigned char data[];
} chunk_t;

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

/** zlib's crc32 (the spool's checksum, node:zlib crc32 in JS). */
static uint32_t crc32_of(const unsigned char *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  while (n--) c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static void put_u32le(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static void put_f64le(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(u >> (8 * i));
}

static size_t trimmed(const unsigned char *p, size_t n) {
  while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == 0)) n--;
  return n;
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr_storage *b, socklen_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

static void format_addr(const struct sockaddr_storage *sa, char *out) {
  out[0] = '\0';
  if (sa->ss_family == AF_INET) inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, INET6_ADDRSTRLEN);
  else if (sa->ss_family == AF_INET6) inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, INET6_ADDRSTRLEN);
}

/** The spool records of n received datagrams, in one chunk (NULL when memory is short). */
static chunk_t *build_chunk(rx_t *rx, struct mmsghdr *msgs, struct sockaddr_storage *addrs, int n, double now) {
  // Each datagram's origin index; distinct senders formatted once.
  int oidx[BATCH];
  int first[BATCH];
  int norig = 0;
  size_t need = 0;
  for (int i = 0; i < n; i++) {
    int o = 0;
    while (o < norig && !same_addr(&addrs[first[o]], msgs[first[o]].msg_hdr.msg_namelen, &addrs[i], msgs[i].msg_hdr.msg_namelen)) o++;
    if (o == norig) first[norig++] = i;
    oidx[i] = o;
  }
  char names[BATCH][INET6_ADDRSTRLEN];
  size_t name_len[BATCH];
  for (int o = 0; o < norig; o++) {
    format_addr(&addrs[first[o]], names[o]);
    name_len[o] = strlen(names[o]);
  }
  size_t plen[BATCH];
  for (int i = 0; i < n; i++) {
    size_t got = msgs[i].msg_len < SLOT ? msgs[i].msg_len : SLOT;
    plen[i] = trimmed((const unsigned char *)rx->slots + (size_t)i * SLOT, got);
    if (plen[i] > 0) need += HEADER_BYTES + BODY_FIXED_BYTES + name_len[oidx[i]] + plen[i];
  }
  chunk_t *c = malloc(sizeof(chunk_t) + need);
  if (!c) return NULL;
  memset(c, 0, sizeof(chunk_t));
  c->norigins = (uint32_t)norig;
  for (int o = 0; o < norig; o++) memcpy(c->origins[o].addr, names[o], name_len[o] + 1);
  unsigned char *w = c->data;
  for (int i = 0; i < n; i++) {
    if (plen[i] == 0) {
      c->empties++;
      continue;
    }
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) c->truncated++;
    size_t olen = name_len[oidx[i]];
    uint32_t body = (uint32_t)(BODY_FIXED_BYTES + olen + plen[i]);
    unsigned char *b = w + HEADER_BYTES;
    put_f64le(b, now);
    b[8] = rx->transport;
    b[9] = (unsigned char)olen;
    memcpy(b + BODY_FIXED_BYTES, names[oidx[i]], olen);
    memcpy(b + BODY_FIXED_BYTES + olen, rx->slots + (size_t)i * SLOT, plen[i]);
    put_u32le(w, body);
    put_u32le(w + 4, crc32_of(b, body));
    w = b + body;
    c->records++;
    c->payload_bytes += (double)plen[i];
    c->origins[oidx[i]].n++;
  }
  c->len = need;
  return c;
}

static void *rx_main(void *arg) {
  rx_t *rx = arg;
  pthread_setname_np(pthread_self(), "ml-udp");
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct sockaddr_storage addrs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = rx->slots + (size_t)i * SLOT;
    iov[i].iov_len = SLOT;
  }
  for (;;) {
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &addrs[i];
      msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
    }
    int n = recvmmsg(rx->fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    // After udpStop's shutdown, once the queue is empty, a read returns 0 bytes from no sender (a real
    // datagram, even an empty one, has a sender): the end.
    bool eof = false;
    for (int i = 0; i < n; i++)
      if (msgs[i].msg_len == 0 && msgs[i].msg_hdr.msg_namelen == 0) {
        n = i;
        eof = true;
        break;
      }
    if (n <= 0) {
      // EAGAIN each SO_RCVTIMEO; anything else (ENOMEM…) is retried after a pause rather than ending
      // the source.
      if (atomic_load(&rx->stop)) break;
      if (eof || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) usleep(10000);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double now = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
    chunk_t *c = build_chunk(rx, msgs, addrs, n, now);
    if (!c) continue;
    c->owner = rx;
    atomic_fetch_add(&rx->queued, c->len);
    if (napi_call_threadsafe_function(rx->tsfn, c, napi_tsfn_blocking) != napi_ok) {
      free(c);
      break;
    }
    if (eof && atomic_load(&rx->stop)) break;
    while (atomic_load(&rx->queued) > QUEUE_BYTES && !atomic_load(&rx->stop)) usleep(1000);
  }
  chunk_t *last = calloc(1, sizeof(chunk_t));
  if (last) {
    last->last = true;
    if (napi_call_threadsafe_function(rx->tsfn, last, napi_tsfn_blocking) != napi_ok) free(last);
  }
  napi_release_threadsafe_function(rx->tsfn, napi_tsfn_release);
  return NULL;
}

static void call_js(napi_env env, napi_value cb, void *context, void *data) {
  (void)context;
  chunk_t *c = data;
  if (c->owner) atomic_fetch_sub(&((rx_t *)c->owner)->queued, c->len);
  if (env == NULL || cb == NULL) {
    free(c);
    return;
  }
  napi_value undef, args[7];
  napi_get_undefined(env, &undef);
  size_t argc = 1;
  if (c->last) napi_get_null(env, &args[0]);
  else {
    argc = 7;
    napi_create_buffer_copy(env, c->len, c->data, NULL, &args[0]);
    napi_create_uint32(env, c->records, &args[1]);
    napi_create_uint32(env, c->empties, &args[2]);
    napi_create_uint32(env, c->truncated, &args[3]);
    napi_create_double(env, c->payload_bytes, &args[4]);
    napi_create_array_with_length(env, c->norigins, &args[5]);
    napi_create_array_with_length(env, c->norigins, &args[6]);
    for (uint32_t o = 0; o < c->norigins; o++) {
      napi_value s, k;
      napi_create_string_latin1(env, c->origins[o].addr, NAPI_AUTO_LENGTH, &s);
      napi_create_uint32(env, c->origins[o].n, &k);
      napi_set_element(env, args[5], o, s);
      napi_set_element(env, args[6], o, k);
    }
  }
  free(c);
  napi_call_function(env, undef, cb, argc, args, NULL);
}

static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rx_t *rx = data;
  if (rx->started) {
    pthread_join(rx->thread, NULL);
    close(rx->fd);
    rx->fd = -1;
  }
  free(rx->slots);
  rx->slots = NULL;
  rx->finished = true;
  if (rx->handle_gone) free(rx);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  rx_t *rx = data;
  if (!rx->started) {
    if (rx->fd >= 0) close(rx->fd);
    free(rx);
  } else if (rx->finished) free(rx);
  else rx->handle_gone = true;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  napi_value msg, code, e;
  char text[160];
  snprintf(text, sizeof text, "%s: %s", what, strerror(err));
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL" : err == EINVAL ? "EINVAL" : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &e);
  napi_set_named_property(env, e, "code", code);
  napi_throw(env, e);
  return NULL;
}

static rx_t *get_rx(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  return p;
}

napi_value udp_open_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  char host[INET6_ADDRSTRLEN + 1];
  size_t host_len = 0;
  int32_t port = -1, rcvbuf = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 ||
      napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len) != napi_ok ||
      napi_get_value_int32(env, argv[1], &port) != napi_ok || napi_get_value_int32(env, argv[2], &rcvbuf) != napi_ok || port < 0 ||
      port > 65535) {
    napi_throw_type_error(env, NULL, "udpOpen(host: an IP address, port: 0-65535, rcvbufBytes: number)");
    return NULL;
  }
  struct sockaddr_storage sa;
  socklen_t salen;
  memset(&sa, 0, sizeof sa);
  struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&sa;
  if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    salen = sizeof *s4;
  } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons((uint16_t)port);
    salen = sizeof *s6;
  } else {
    napi_throw_type_error(env, NULL, "udpOpen: host must be an IPv4 or IPv6 address");
    return NULL;
  }
  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  // The thread looks at its stop flag at least this often even if the shutdown wake-up is missed.
  struct timeval tv = {0, 250000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (bind(fd, (struct sockaddr *)&sa, salen) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &blen);
  int granted = 0;
  socklen_t glen = sizeof granted;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
  rx_t *rx = calloc(1, sizeof *rx);
  if (!rx) {
    close(fd);
    return throw_errno(env, "udpOpen", ENOMEM);
  }
  rx->fd = fd;
  rx->family = sa.ss_family;
  atomic_init(&rx->stop, false);
  atomic_init(&rx->queued, 0);
  napi_value out, handle, v;
  napi_create_object(env, &out);
  napi_create_external(env, rx, handle_finalize, NULL, &handle);
  napi_set_named_property(env, out, "handle", handle);
  napi_create_int32(env, ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port : ((struct sockaddr_in6 *)&bound)->sin6_port), &v);
  napi_set_named_property(env, out, "port", v);
  napi_create_int32(env, granted, &v);
  napi_set_named_property(env, out, "granted", v);
  return out;
}

napi_value udp_start_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t transport = -1;
  napi_valuetype t;
  rx_t *rx = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3 || !(rx = get_rx(env, argv[0])) ||
      napi_get_value_int32(env, argv[1], &transport) != napi_ok || transport < 0 || transport > 255 ||
      napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "udpStart(handle, transportCode, callback)");
    return NULL;
  }
  if (rx->started || rx->fd < 0) {
    napi_throw_error(env, NULL, "udpStart: this socket was started already");
    return NULL;
  }
  pthread_once(&crc_once, crc_init);
  rx->transport = (uint8_t)transport;
  rx->slots = malloc((size_t)BATCH * SLOT);
  if (!rx->slots) return throw_errno(env, "udpStart", ENOMEM);
  napi_value name;
  napi_create_string_utf8(env, "megalog-udp", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, rx, tsfn_finalize, NULL, call_js, &rx->tsfn) != napi_ok) {
    free(rx->slots);
    rx->slots = NULL;
    napi_throw_error(env, NULL, "udpStart: cannot create the thread-safe function");
    return NULL;
  }
  if (pthread_create(&rx->thread, NULL, rx_main, rx) != 0) {
    napi_release_threadsafe_function(rx->tsfn, napi_tsfn_abort);
    return throw_errno(env, "pthread_create", EAGAIN);
  }
  rx->started = true;
  return NULL;
}

napi_value udp_stop_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  rx_t *rx = NULL;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 || !(rx = get_rx(env, argv[0]))) {
    napi_throw_type_error(env, NULL, "udpStop(handle)");
    return NULL;
  }
  if (!rx->started) {
    if (rx->fd >= 0) close(rx->fd);
    rx->fd = -1;
    return NULL;
  }
  atomic_store(&rx->stop, true);
  // Wakes the thread's recvmmsg: it returns what is queued, then 0 (Linux does this for a UDP socket
  // too, while reporting ENOTCONN).
  shutdown(rx->fd, SHUT_RD);
  return NULL;
}
