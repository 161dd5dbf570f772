/*
 * A UDP socket for the STUN/TURN server that reads datagrams in batches (recvmmsg(2)) and hands
 * JavaScript one callback per batch, and sends with one sendto(2) per datagram straight from the
 * caller's bytes (issue 12). node:dgram costs ~16 us per echoed datagram on the bench machine,
 * most of it per-datagram work below JavaScript (a 64 KiB allocation, a libuv callback and a
 * MakeCallback per datagram; a send request object and a lookup per send): twice coturn's whole
 * relay. Node 20's dgram never uses recvmmsg, and nothing on npm does it without compiling.
 *
 * Wrapped by io/udp-batch.ts (the DatagramSocket interface of io/datagram-socket.ts); the server
 * falls back to node:dgram when this addon was not built. Node-API only (plus libuv's uv_poll,
 * which every Node and Electron exports), so one build serves every version of both.
 *
 *   open(family 4|6, address literal, port, recvBufferSize, reuseAddr, ipv6Only)
 *       -> [handle, bound port, bound address (inet_ntop's spelling)]
 *       throws an Error whose `code` is the errno name (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...)
 *   start(handle, meta Uint32Array(BATCH*4), onBatch(data Buffer, count, v6names Array|undefined))
 *       meta[i*4] = offset of datagram i in data, [i*4+1] = its length, [i*4+2] = source port |
 *       kind << 16 (0 IPv4, 1 IPv4-mapped IPv6, 2 IPv6), [i*4+3] = the IPv4 address (host order)
 *       for kinds 0 and 1; for kind 2 the address is v6names[i] (inet_ntop's spelling).
 *   send(handle, bytes Uint8Array, port, address string) -> 0, or -errno (EAGAIN: the kernel's
 *       send buffer is full and the datagram is dropped, as a router would)
 *   close(handle)
 *
 * A datagram longer than the receive slot (64 KiB, more than any UDP payload) cannot occur;
 * one flagged MSG_TRUNC anyway is dropped, never delivered cut short. IPv6 scope ids are not
 * spelled (a link-local source is "fe80::1", not "fe80::1%eth0", and such an address cannot be
 * sent to): the server's STUN/TURN traffic is global or loopback.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define SLOT 65536
/* Batches read per readable event before yielding to the rest of the event loop. */
#define MAX_BATCHES_PER_WAKEUP 8

typedef struct Arena Arena;

typedef struct {
  napi_env env;
  Arena *arena;
  int fd;
  int family;
  int closed;    /* close() was called (or the handle collected): no more reads or sends */
  int polling;   /* the uv_poll handle exists and its close callback has not run yet */
  int collected; /* the JavaScript handle is gone: the struct is freed once polling is 0 */
  uv_poll_t poll;
  napi_ref on_batch;
  napi_ref meta_ref;
  uint32_t *meta;
  napi_async_context async_context;
} UdpBatchSocket;

/*
 * One receive area per JavaScript environment (the main thread, or a worker), shared by its sockets:
 * a batch is copied out to JavaScript before the next read. Pages are touched only as far as
 * datagrams fill them.
 */
struct Arena {
  unsigned char slots[BATCH][SLOT];
  struct mmsghdr headers[BATCH];
  struct iovec iovecs[BATCH];
  struct sockaddr_storage sources[BATCH];
};

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  napi_value code, msg, error;
  char text[160];
  const char *name = "EIO";
  switch (err) {
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EACCES: name = "EACCES"; break;
    case EADDRNOTAVAIL: name = "EADDRNOTAVAIL"; break;
    case EAFNOSUPPORT: name = "EAFNOSUPPORT"; break;
    case EINVAL: name = "EINVAL"; break;
    case EMFILE: name = "EMFILE"; break;
    case ENFILE: name = "ENFILE"; break;
    case ENOBUFS: name = "ENOBUFS"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case EPERM: name = "EPERM"; break;
  }
  snprintf(text, sizeof text, "%s %s (%s)", syscall, name, strerror(err));
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *what) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
  return NULL;
}

static UdpBatchSocket *socket_of(napi_env env, napi_value v) {
  void *data = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &data) != napi_ok) return NULL;
  return (UdpBatchSocket *)data;
}

/* Parses `s` for a socket of `family`; an IPv4 address on an IPv6 socket becomes ::ffff:a.b.c.d. */
static int parse_address(int family, const char *s, uint16_t port, struct sockaddr_storage *out, socklen_t *len) {
  memset(out, 0, sizeof *out);
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, s, &a->sin_addr) != 1) return -1;
    *len = sizeof *a;
    return 0;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  if (inet_pton(AF_INET6, s, &a->sin6_addr) != 1) {
    struct in_addr v4;
    if (inet_pton(AF_INET, s, &v4) != 1) return -1;
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
  }
  *len = sizeof *a;
  return 0;
}

static void on_poll_closed(uv_handle_t *h) {
  UdpBatchSocket *s = (UdpBatchSocket *)h->data;
  s->polling = 0;
  if (s->collected) free(s);
}

/*
 * Stops reading and closes the socket. The struct lives on while the JavaScript handle does (a
 * later send() or close() on it must find it) and until libuv is done with the poll handle.
 */
static void shut(UdpBatchSocket *s) {
  if (s->closed) return;
  s->closed = 1;
  if (s->on_batch) napi_delete_reference(s->env, s->on_batch);
  if (s->meta_ref) napi_delete_reference(s->env, s->meta_ref);
  if (s->async_context) napi_async_destroy(s->env, s->async_context);
  s->on_batch = NULL;
  s->meta_ref = NULL;
  s->async_context = NULL;
  /* The port is free when close() returns, as with node:dgram (libuv closes a UDP handle's fd at
   * once): uv_poll_stop drops the fd from epoll, so it can be closed before the handle's close. */
  if (s->polling) {
    uv_poll_stop(&s->poll);
    close(s->fd);
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  } else {
    close(s->fd);
  }
}

/* The JavaScript handle was collected: a socket nobody closed is closed now. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  UdpBatchSocket *s = (UdpBatchSocket *)data;
  s->collected = 1;
  if (!s->closed) shut(s);
  if (!s->polling) free(s);
}

static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  int32_t family_num = 0, port = 0, rcvbuf = 0;
  bool reuse = false, v6only = false;
  char address[64];
  size_t address_len = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 6) return throw_type(env, "open(family, address, port, recvBufferSize, reuseAddr, ipv6Only)");
  if (napi_get_value_int32(env, argv[0], &family_num) != napi_ok || (family_num != 4 && family_num != 6)) return throw_type(env, "family must be 4 or 6");
  if (napi_get_value_string_latin1(env, argv[1], address, sizeof address, &address_len) != napi_ok) return throw_type(env, "address must be a string");
  if (napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 0 || port > 65535) return throw_type(env, "port must be 0-65535");
  if (napi_get_value_int32(env, argv[3], &rcvbuf) != napi_ok || rcvbuf < 0) return throw_type(env, "recvBufferSize must be >= 0");
  if (napi_get_value_bool(env, argv[4], &reuse) != napi_ok) return throw_type(env, "reuseAddr must be a boolean");
  if (napi_get_value_bool(env, argv[5], &v6only) != napi_ok) return throw_type(env, "ipv6Only must be a boolean");

  int family = family_num == 6 ? AF_INET6 : AF_INET;
  struct sockaddr_storage local;
  socklen_t local_len = 0;
  if (parse_address(family, address, (uint16_t)port, &local, &local_len) != 0) return throw_errno(env, "bind", EINVAL);
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1, on6 = v6only ? 1 : 0;
  if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) goto fail_setsockopt;
  if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on6, sizeof on6) != 0) goto fail_setsockopt;
  /* As node:dgram's recvBufferSize: the kernel grants up to net.core.rmem_max (and doubles it). */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0) goto fail_setsockopt;
  if (bind(fd, (struct sockaddr *)&local, local_len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof bound;
  if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "getsockname", err);
  }
  uint16_t bound_port = family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port) : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);
  char bound_name[INET6_ADDRSTRLEN] = "";
  if (family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)&bound)->sin_addr, bound_name, sizeof bound_name);
  else inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&bound)->sin6_addr, bound_name, sizeof bound_name);

  UdpBatchSocket *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, "open", ENOMEM);
  }
  void *arena = NULL;
  if (napi_get_instance_data(env, &arena) != napi_ok || !arena) {
    close(fd);
    free(s);
    return throw_errno(env, "open", ENOMEM);
  }
  s->env = env;
  s->arena = (Arena *)arena;
  s->fd = fd;
  s->family = family;
  napi_value handle, result, port_value, name_value;
  if (napi_create_external(env, s, finalize, NULL, &handle) != napi_ok) {
    close(fd);
    free(s);
    return NULL;
  }
  napi_create_array_with_length(env, 3, &result);
  napi_create_uint32(env, bound_port, &port_value);
  napi_create_string_latin1(env, bound_name, NAPI_AUTO_LENGTH, &name_value);
  napi_set_element(env, result, 0, handle);
  napi_set_element(env, result, 1, port_value);
  napi_set_element(env, result, 2, name_value);
  return result;

fail_setsockopt: {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt", err);
  }
}

/* Reads up to MAX_BATCHES_PER_WAKEUP batches and hands each to JavaScript. */
static void on_readable(uv_poll_t *poll, int status, int events) {
  UdpBatchSocket *s = (UdpBatchSocket *)poll->data;
  (void)events;
  if (status < 0 || s->closed) return;
  napi_env env = s->env;
  struct mmsghdr *headers = s->arena->headers;
  struct iovec *iovecs = s->arena->iovecs;
  struct sockaddr_storage *sources = s->arena->sources;
  unsigned char (*arena)[SLOT] = s->arena->slots;
  for (int round = 0; round < MAX_BATCHES_PER_WAKEUP && !s->closed; round++) {
    for (int i = 0; i < BATCH; i++) {
      iovecs[i].iov_base = arena[i];
      iovecs[i].iov_len = SLOT;
      memset(&headers[i].msg_hdr, 0, sizeof headers[i].msg_hdr);
      headers[i].msg_hdr.msg_name = &sources[i];
      headers[i].msg_hdr.msg_namelen = sizeof sources[i];
      headers[i].msg_hdr.msg_iov = &iovecs[i];
      headers[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(s->fd, headers, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return; /* EAGAIN: drained; other errors (ICMP-reported ones) are per datagram and ignored */

    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    size_t total = 0;
    for (int i = 0; i < n; i++)
      if (!(headers[i].msg_hdr.msg_flags & MSG_TRUNC)) total += headers[i].msg_len;
    napi_value data, names = NULL, fn, argv[3], undefined;
    unsigned char *out = NULL;
    napi_get_undefined(env, &undefined);
    if (napi_create_buffer(env, total > 0 ? total : 1, (void **)&out, &data) != napi_ok) {
      napi_close_handle_scope(env, scope);
      return;
    }
    uint32_t count = 0, offset = 0;
    for (int i = 0; i < n; i++) {
      if (headers[i].msg_hdr.msg_flags & MSG_TRUNC) continue;
      uint32_t len = headers[i].msg_len;
      memcpy(out + offset, arena[i], len);
      uint32_t *m = s->meta + count * 4;
      m[0] = offset;
      m[1] = len;
      struct sockaddr_storage *src = &sources[i];
      if (src->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)src;
        m[2] = ntohs(a->sin_port);
        m[3] = ntohl(a->sin_addr.s_addr);
      } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)src;
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
          uint32_t v4;
          memcpy(&v4, &a->sin6_addr.s6_addr[12], 4);
          m[2] = ntohs(a->sin6_port) | (1u << 16);
          m[3] = ntohl(v4);
        } else {
          char text[INET6_ADDRSTRLEN];
          napi_value name;
          m[2] = ntohs(a->sin6_port) | (2u << 16);
          m[3] = 0;
          inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
          if (!names) napi_create_array_with_length(env, n, &names);
          napi_create_string_latin1(env, text, NAPI_AUTO_LENGTH, &name);
          napi_set_element(env, names, count, name);
        }
      }
      offset += len;
      count++;
    }
    if (count > 0 && napi_get_reference_value(env, s->on_batch, &fn) == napi_ok && fn) {
      napi_value global;
      napi_get_global(env, &global);
      argv[0] = data;
      napi_create_uint32(env, count, &argv[1]);
      argv[2] = names ? names : undefined;
      napi_value ignored;
      /* make_callback runs the microtask queue and nextTicks afterwards, as any I/O callback. */
      if (napi_make_callback(env, s->async_context, global, fn, 3, argv, &ignored) == napi_pending_exception) {
        napi_value err;
        napi_get_and_clear_last_exception(env, &err);
        napi_fatal_exception(env, err);
      }
    }
    napi_close_handle_scope(env, scope);
    if (n < BATCH) return;
  }
}

static napi_value Start(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return throw_type(env, "start(handle, meta, onBatch)");
  UdpBatchSocket *s = socket_of(env, argv[0]);
  if (!s) return throw_type(env, "not a socket handle");
  if (s->closed || s->polling) return throw_errno(env, "start", EINVAL);
  napi_typedarray_type type;
  size_t length = 0;
  void *meta = NULL;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (!is_typed || napi_get_typedarray_info(env, argv[1], &type, &length, &meta, NULL, NULL) != napi_ok || type != napi_uint32_array || length < BATCH * 4)
    return throw_type(env, "meta must be a Uint32Array of at least 256 entries");
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t != napi_function) return throw_type(env, "onBatch must be a function");
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return throw_errno(env, "start", EINVAL);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "BurrowUdpBatchSocket", NAPI_AUTO_LENGTH, &name);
  if (napi_async_init(env, resource, name, &s->async_context) != napi_ok) return throw_errno(env, "start", EINVAL);
  napi_create_reference(env, argv[1], 1, &s->meta_ref);
  napi_create_reference(env, argv[2], 1, &s->on_batch);
  s->meta = (uint32_t *)meta;
  int r = uv_poll_init(loop, &s->poll, s->fd);
  if (r != 0) return throw_errno(env, "uv_poll_init", -r);
  s->poll.data = s;
  s->polling = 1;
  r = uv_poll_start(&s->poll, UV_READABLE, on_readable);
  if (r != 0) return throw_errno(env, "uv_poll_start", -r);
  return NULL;
}

static napi_value Send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return throw_type(env, "send(handle, bytes, port, address)");
  UdpBatchSocket *s = socket_of(env, argv[0]);
  if (!s) return throw_type(env, "not a socket handle");
  void *bytes = NULL;
  size_t length = 0, offset = 0;
  napi_typedarray_type type;
  napi_value arraybuffer;
  bool is_typed = false;
  napi_is_typedarray(env, argv[1], &is_typed);
  if (!is_typed || napi_get_typedarray_info(env, argv[1], &type, &length, &bytes, &arraybuffer, &offset) != napi_ok || type != napi_uint8_array)
    return throw_type(env, "bytes must be a Uint8Array");
  int32_t port = 0;
  if (napi_get_value_int32(env, argv[2], &port) != napi_ok || port < 1 || port > 65535) return throw_type(env, "port must be 1-65535");
  char address[64];
  size_t address_len = 0;
  if (napi_get_value_string_latin1(env, argv[3], address, sizeof address, &address_len) != napi_ok) return throw_type(env, "address must be a string");
  int rc = 0;
  struct sockaddr_storage to;
  socklen_t to_len = 0;
  if (s->closed) rc = -EBADF;
  else if (parse_address(s->family, address, (uint16_t)port, &to, &to_len) != 0) rc = -EINVAL;
  else if (sendto(s->fd, bytes, length, 0, (struct sockaddr *)&to, to_len) < 0) rc = -errno;
  napi_create_int32(env, rc, &result);
  return result;
}

static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return throw_type(env, "close(handle)");
  UdpBatchSocket *s = socket_of(env, argv[0]);
  if (!s) return throw_type(env, "not a socket handle");
  shut(s);
  return NULL;
}

static void free_arena(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
    {"start", NULL, Start, NULL, NULL, NULL, napi_default, NULL},
    {"send", NULL, Send, NULL, NULL, NULL, napi_default, NULL},
    {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_value batch, slot;
  Arena *arena = malloc(sizeof *arena);
  if (!arena || napi_set_instance_data(env, arena, free_arena, NULL) != napi_ok) {
    free(arena);
    return NULL;
  }
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  napi_create_uint32(env, BATCH, &batch);
  napi_create_uint32(env, SLOT, &slot);
  napi_set_named_property(env, exports, "BATCH", batch);
  napi_set_named_property(env, exports, "SLOT", slot);
  return exports;
}
