// The UDP syslog reader of native/udp-native.c (see there), exported by native/megalog.c.
#ifndef MEGALOG_UDP_NATIVE_H
#define MEGALOG_UDP_NATIVE_H
#include <node_api.h>

napi_value udp_open_js(napi_env env, napi_callback_info info);
napi_value udp_start_js(napi_env env, napi_callback_info info);
napi_value udp_stop_js(napi_env env, napi_callback_info info);

#endif
