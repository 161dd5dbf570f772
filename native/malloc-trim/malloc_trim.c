/*
 * malloc_trim(3) for Node: glibc keeps freed memory inside its heap (only the free space at the
 * very top goes back to the kernel, past MALLOC_TRIM_THRESHOLD_), so after a bulk transfer the
 * 64 KiB socket-read buffers V8 freed stay resident as holes. malloc_trim(0) hands every free
 * page back (madvise). Called through io/malloc-trim.ts by io/memory-reclaimer.ts (issue 12).
 * Node-API only, so one build serves every Node and Electron version.
 */
#include <node_api.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* trim(): true if memory was returned to the system, false if none could be; undefined without glibc. */
static napi_value Trim(napi_env env, napi_callback_info info) {
  napi_value result;
  (void)info;
#if defined(__GLIBC__)
  if (napi_get_boolean(env, malloc_trim(0) == 1, &result) != napi_ok) return NULL;
#else
  if (napi_get_undefined(env, &result) != napi_ok) return NULL;
#endif
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "trim", NAPI_AUTO_LENGTH, Trim, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "trim", fn) != napi_ok) return NULL;
  return exports;
}
