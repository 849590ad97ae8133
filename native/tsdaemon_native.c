// tsdaemon's native helpers: the few system calls Node does not expose. N-API only, so one build loads
// in every Node version from 20 on. Optional: tsdaemon degrades (with a warning) when it cannot load.
//
//   reap(pid)              waitpid(pid, WNOHANG) for one zombie that libuv did not spawn:
//                          its wait status, or -1 when nothing was reaped.
//   notify(path, message)  one datagram to a unix socket (sd_notify); '@' starts an abstract address.
//   listen(fd, backlog)    listen(2) on a bound socket, without a libuv handle that would start accepting
//                          on it: 0, or the errno.
//   setBlocking(fd)        clear O_NONBLOCK (sockets are handed over blocking, as systemd does): 0 or errno.
//   isListening(fd)        getsockopt(SO_ACCEPTCONN): whether the socket is (still) listening.
//   setCloexec(fd)         FD_CLOEXEC on an inherited fd, so no helper process holds it: 0 or errno.
//   clearCloexec(fd)       the opposite, for a Node launcher (npm start, npx, tsx) that must pass tsdaemon's
//                          sockets on to the program it starts (Node sets FD_CLOEXEC on every inherited fd
//                          at start-up, see src/preload/launcher.ts): 0 or errno.
//   dupAbove(fd, min)      fcntl(F_DUPFD): a copy of fd at the lowest free number >= min, without
//                          FD_CLOEXEC: the new fd, or -errno.
#define NAPI_VERSION 8
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, const char *syscall, int error) {
  char message[128];
  strncpy(message, syscall, sizeof message - 1);
  message[sizeof message - 1] = 0;
  size_t used = strlen(message);
  if (used + 2 < sizeof message) {
    message[used] = ':';
    message[used + 1] = ' ';
    strncpy(message + used + 2, strerror(error), sizeof message - used - 3);
    message[sizeof message - 1] = 0;
  }
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value reap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t pid = 0;
  napi_value result;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &pid) != napi_ok || pid <= 0) {
    napi_throw_type_error(env, NULL, "reap(pid): pid must be a positive integer");
    return NULL;
  }
  int status = 0;
  pid_t done;
  do {
    done = waitpid((pid_t)pid, &status, WNOHANG);
  } while (done < 0 && errno == EINTR);
  napi_create_int32(env, done == (pid_t)pid ? status : -1, &result);
  return result;
}

static napi_value notify(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
  size_t path_length = 0;
  void *data = NULL;
  size_t length = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &path_length) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "notify(path, buffer): a socket path and a Buffer");
    return NULL;
  }
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (path_length == 0 || path_length >= sizeof address.sun_path) {
    napi_throw_range_error(env, NULL, "notify: the socket path is empty or too long");
    return NULL;
  }
  memcpy(address.sun_path, path, path_length);
  if (path[0] == '@') address.sun_path[0] = 0; // abstract namespace, as systemd writes it
  socklen_t address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_length);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  ssize_t sent;
  do {
    sent = sendto(fd, data, length, MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&address, address_length);
  } while (sent < 0 && errno == EINTR);
  int error = errno;
  close(fd);
  if (sent < 0) return throw_errno(env, "sendto", error);
  return NULL;
}

static int fd_argument(napi_env env, napi_callback_info info, int32_t *second) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd = -1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < (second ? 2u : 1u) ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0 ||
      (second && napi_get_value_int32(env, argv[1], second) != napi_ok)) {
    napi_throw_type_error(env, NULL, "expected an fd (and for listen and dupAbove, a number)");
    return -1;
  }
  return fd;
}

static napi_value errno_result(napi_env env, int ok) {
  napi_value result;
  napi_create_int32(env, ok ? 0 : errno, &result);
  return result;
}

static napi_value listen_fd(napi_env env, napi_callback_info info) {
  int32_t backlog = 0;
  int fd = fd_argument(env, info, &backlog);
  if (fd < 0) return NULL;
  return errno_result(env, listen(fd, backlog) == 0);
}

static napi_value set_blocking(napi_env env, napi_callback_info info) {
  int fd = fd_argument(env, info, NULL);
  if (fd < 0) return NULL;
  int flags = fcntl(fd, F_GETFL);
  return errno_result(env, flags >= 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0);
}

static napi_value set_cloexec(napi_env env, napi_callback_info info) {
  int fd = fd_argument(env, info, NULL);
  if (fd < 0) return NULL;
  int flags = fcntl(fd, F_GETFD);
  return errno_result(env, flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0);
}

static napi_value clear_cloexec(napi_env env, napi_callback_info info) {
  int fd = fd_argument(env, info, NULL);
  if (fd < 0) return NULL;
  int flags = fcntl(fd, F_GETFD);
  return errno_result(env, flags >= 0 && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0);
}

static napi_value dup_above(napi_env env, napi_callback_info info) {
  int32_t minimum = 0;
  int fd = fd_argument(env, info, &minimum);
  if (fd < 0) return NULL;
  int copy = fcntl(fd, F_DUPFD, (int)minimum);
  napi_value result;
  napi_create_int32(env, copy >= 0 ? copy : -errno, &result);
  return result;
}

static napi_value is_listening(napi_env env, napi_callback_info info) {
  int fd = fd_argument(env, info, NULL);
  if (fd < 0) return NULL;
  int value = 0;
  socklen_t length = sizeof value;
  napi_value result;
  napi_get_boolean(env, getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) == 0 && value != 0, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor functions[] = {
      {"reap", NULL, reap, NULL, NULL, NULL, napi_enumerable, NULL},
      {"notify", NULL, notify, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listen", NULL, listen_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setBlocking", NULL, set_blocking, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isListening", NULL, is_listening, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setCloexec", NULL, set_cloexec, NULL, NULL, NULL, napi_enumerable, NULL},
      {"clearCloexec", NULL, clear_cloexec, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dupAbove", NULL, dup_above, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions);
  return exports;
}

NAPI_MODULE(tsdaemon_native, init)
