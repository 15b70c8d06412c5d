# native/megalog.c: sd_notify(3) and flock(2) as a N-API addon, built by `npm ci` (node-gyp) into build/Release/megalog.node.
{
  "targets": [
    {
      "target_name": "megalog",
      "sources": ["native/megalog.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
