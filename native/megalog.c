// The two system calls Node does not offer, as one N-API addon (build/Release/megalog.node):
// - send(socketPath, message): sd_notify(3) without libsystemd, one datagram to the AF_UNIX socket
//   systemd names in NOTIFY_SOCKET (a path, or '@' for the abstract namespace);
// - lock(fd): flock(2) LOCK_EX|LOCK_NB on an open file, the lock the kernel drops when the process
//   dies however it dies (core/lock.ts).
// - threadName(name): names the calling thread, so /proc (core/threads.ts) and top -H can tell the
//   receiver, the committer and the UDP readers apart.
// Both return 0 or the errno, and throw only for arguments of the wrong type.
// - udpOpen / udpStart / udpStop: a UDP syslog socket read by a thread of its own with recvmmsg(2),
//   64 datagrams a call, each turned into a spool record (spool/format.ts) here, so the receiver's
//   event loop takes one ready-made chunk a batch instead of one callback, one Buffer and one rinfo
//   object a datagram (udp-native.c).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "udp-native.h"

static int notify_send(const char *path, size_t path_len, const char *msg, size_t msg_len) {
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (path_len < 2 || (path[0] != '/' && path[0] != '@')) return EAFNOSUPPORT;
  memcpy(sa.sun_path, path, path_len);
  // Abstract socket: a leading NUL, and the address length counts no trailing NUL.
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len + (path[0] == '/'));
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  // MSG_DONTWAIT: a full receive queue costs one message (the next watchdog tick retries), never a
  // blocked event loop.
  ssize_t n = sendto(fd, msg, msg_len, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa, len);
  int err = n < 0 ? errno : 0;
  close(fd);
  return err;
}

/** A JS string into buf (NUL-terminated); false when it is not a string or does not fit. */
static bool get_string(napi_env env, napi_value v, char *buf, size_t size, size_t *len) {
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok || *len >= size) return false;
  return napi_get_value_string_utf8(env, v, buf, size, len) == napi_ok;
}

static napi_value send_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  char msg[4096];
  size_t path_len = 0, msg_len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      !get_string(env, argv[0], path, sizeof path, &path_len) || !get_string(env, argv[1], msg, sizeof msg, &msg_len)) {
    napi_throw_type_error(env, NULL, "send(socketPath: string of < 108 bytes, message: string of < 4096 bytes)");
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, notify_send(path, path_len, msg, msg_len), &out);
  return out;
}

static napi_value lock_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "lock(fd: a file descriptor)");
    return NULL;
  }
  int err;
  do err = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno;
  while (err == EINTR);
  napi_value out;
  napi_create_int32(env, err, &out);
  return out;
}

/** threadName(name): this thread's name (prctl PR_SET_NAME, 15 bytes at most), as top -H and /proc show it. */
static napi_value thread_name_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char name[16];
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "threadName(name: string)");
    return NULL;
  }
  napi_value out;
  napi_create_int32(env, prctl(PR_SET_NAME, name, 0, 0, 0) == 0 ? 0 : errno, &out);
  return out;
}

static bool export_fn(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  return napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn) == napi_ok &&
         napi_set_named_property(env, exports, name, fn) == napi_ok;
}

NAPI_MODULE_INIT() {
  if (!export_fn(env, exports, "send", send_js) || !export_fn(env, exports, "lock", lock_js) ||
      !export_fn(env, exports, "udpOpen", udp_open_js) || !export_fn(env, exports, "udpStart", udp_start_js) ||
      !export_fn(env, exports, "udpStop", udp_stop_js) || !export_fn(env, exports, "threadName", thread_name_js))
    return NULL;
  return exports;
}
