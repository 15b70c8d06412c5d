# native/megalog.c: sd_notify(3), flock(2) and the recvmmsg(2) UDP reader (udp-native.c) as a N-API addon, built by `npm ci` (node-gyp) into build/Release/megalog.node.
{
  "targets": [
    {
      "target_name": "megalog",
      "sources": ["native/megalog.c", "native/udp-native.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
