# native/notify.c: sd_notify(3) as a N-API addon, built by `npm ci` (node-gyp) into build/Release/notify.node.
{
  "targets": [
    {
      "target_name": "notify",
      "sources": ["native/notify.c"],
      "cflags": ["-Wall", "-Wextra", "-Werror"]
    }
  ]
}
