// tsdaemon's bind shim: libtsdaemon_bind.so, loaded into the child with LD_PRELOAD (--bind-shim, on by
// default for commands other than node; docs/launchers.md). A server that binds its own port
// (`python3 -m http.server 8080`, a C server, PHP's built-in server, nginx …) would get EADDRINUSE under
// tsdaemon, which holds that port. With this library its bind() to an address tsdaemon holds takes the
// inherited socket instead, and its listen() on it does nothing. Its restarts then are tsdaemon's hot
// restarts: the socket and its queue of connections never close.
//
// The held sockets come from TSDAEMON_LISTENERS (src/child-protocol.ts): only each entry's "fd" and "inode" are
// read; the fd must still be that socket (fstat inode), and its family, address, port and type are asked
// from the kernel (getsockname, SO_TYPE). A bind(fd, addr) is matched when its socket type is the held
// one's (stream for tcp, datagram for udp), its port is the same and not 0, and the addresses overlap (the
// kernel would refuse the app's own bind then anyway; tsdaemon's --listen decided where the server is
// reachable). Best fit first:
//   5  the same address (an IPv4-mapped IPv6 address counts as its IPv4 one);
//   4  both wildcards of one family (0.0.0.0 and 0.0.0.0, :: and ::);
//   3  0.0.0.0 and ::, one the app's and one tsdaemon's (`--listen=:8080` is a dual-stack :: socket; an
//      IPv4 program that binds 0.0.0.0 gets it, see below for its addresses);
//   2  the app names one address, tsdaemon holds the wildcard around it (127.0.0.1 in 0.0.0.0 or in a
//      dual-stack ::, ::1 in ::);
//   1  the app binds the wildcard, tsdaemon holds one address (0.0.0.0 or :: around 127.0.0.1).
// No fit, so a normal bind: a port tsdaemon does not hold, port 0, a unix socket, two different specific
// addresses, IPv6 against IPv4 where they do not overlap (IPV6_V6ONLY), and UDP across families. Binding the
// same address twice (SO_REUSEPORT workers, a restart inside the process) gives each bind its own copy.
//
// The match dup2()s the held socket onto the app's fd, keeping the app's FD_CLOEXEC and its O_NONBLOCK
// (which lives on the socket shared with tsdaemon and every generation: all run the same command, so they
// agree). Socket options the app set before bind() (TCP_NODELAY, buffer sizes) are not carried over.
// listen() on a held socket returns 0 without calling listen(2): tsdaemon's backlog stays. Under
// --ready=auto, when the server's bind() took the socket, it also tells tsdaemon the server is ready
// (READY=1 on TSDAEMON_READY_FD), as the Node preload does when a server listens: a poll() or select()
// loop is not seen by tsdaemon's accept probe.
// An IPv4 program that got the dual-stack socket (it bound 0.0.0.0) asks accept(), getsockname() and
// getpeername() for addresses with a buffer made for IPv4, which the kernel would fill with a truncated
// IPv6 address: an IPv4-mapped one (::ffff:a.b.c.d) or :: is handed to it as the IPv4 address it stands
// for. A real IPv6 peer cannot be, and is truncated as the kernel does: give --listen=0.0.0.0:PORT to such
// a program if IPv6 clients matter.
//
// Drain, for a server that has none: once it has taken a held socket, and if at that moment its stop
// signal (TSDAEMON_STOP_SIGNAL) still has the default action (it would just die, cutting off the requests
// in hand: `python3 -m http.server` does), that signal stops it gently instead. Every fd of the process
// that is a held socket is replaced by an idle unix socket that nobody can connect to, so it accepts no
// more (the connections waiting in the queue stay there for the next generation), and once it holds no
// connection accepted from a held socket any more (looked up in /proc/self/fd: a connected stream socket
// whose local port is a held one), checked then and after each close(), it dies of the signal as it would
// have. The signal is sent on to each other thread (that does not block it), so that one blocked in
// accept() restarts it on the idle socket; the check waits until all of them have run the handler. A
// connection it keeps open (HTTP keep-alive) keeps it until tsdaemon's lame-duck deadline. Not in Node
// (the preload drains there), nor when the program handles the signal itself.
//
// In every process that really holds the sockets, LISTEN_PID is set to its own pid, so the socket
// activation libraries that check it (sd_listen_fds, Python's systemd.daemon) accept them behind a shell
// or a launcher that does not exec the server.
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_HELD 64

struct held {
  int fd;
  int type;        // SOCK_STREAM or SOCK_DGRAM
  int v4;          // the address is IPv4 (or IPv4-mapped)
  int wildcard;    // 0.0.0.0 or ::
  int v6only;      // an IPv6 socket that takes no IPv4
  unsigned char address[16];
  unsigned short port;
  ino_t inode;
};

static struct held held[MAX_HELD];
static int held_count;
// The fds whose bind() took a held socket (a self-binding server's own fds), for listen() to report.
static int taken[MAX_HELD];
static int taken_count;
static int (*next_bind)(int, const struct sockaddr *, socklen_t);
static int (*next_listen)(int, int);
static int (*next_accept)(int, struct sockaddr *, socklen_t *);
static int (*next_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*next_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*next_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*next_close)(int);

static int stop_signal;  // the number of TSDAEMON_STOP_SIGNAL, 0 when unknown
static int in_node;      // loaded into node: the preload drains there
static volatile sig_atomic_t draining;

static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// An inet address as (v4, 16 bytes, wildcard, port); 0 for anything else.
static int normalize(const struct sockaddr *address, socklen_t length, int *v4, unsigned char out[16],
                     int *wildcard, unsigned short *port) {
  static const unsigned char zero[16];
  memset(out, 0, 16);
  if (address->sa_family == AF_INET && length >= (socklen_t)sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)address;
    *v4 = 1;
    memcpy(out, &in->sin_addr, 4);
    *wildcard = in->sin_addr.s_addr == htonl(INADDR_ANY);
    *port = ntohs(in->sin_port);
    return 1;
  }
  if (address->sa_family == AF_INET6 && length >= (socklen_t)sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)address;
    const unsigned char *bytes = in6->sin6_addr.s6_addr;
    *port = ntohs(in6->sin6_port);
    if (memcmp(bytes, V4_MAPPED, 12) == 0) {
      *v4 = 1;
      memcpy(out, bytes + 12, 4);
      *wildcard = memcmp(out, zero, 4) == 0;
      return 1;
    }
    *v4 = 0;
    memcpy(out, bytes, 16);
    *wildcard = memcmp(out, zero, 16) == 0;
    return 1;
  }
  return 0;
}

// The number after "key": in one JSON object (between start and end), or -1. Strings are skipped whole,
// so a name or path holding `"fd":` or braces cannot fool it.
static long long object_number(const char *start, const char *end, const char *key) {
  size_t key_length = strlen(key);
  for (const char *p = start; p < end; p++) {
    if (*p != '"') continue;
    const char *text = ++p;
    while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
    if (p >= end) return -1;
    size_t length = (size_t)(p - text);
    const char *after = p + 1;
    while (after < end && (*after == ' ' || *after == '\t')) after++;
    if (after >= end || *after != ':') continue; // a value, not a key
    if (length != key_length || memcmp(text, key, length) != 0) continue;
    after++;
    while (after < end && *after == ' ') after++;
    char *stop;
    long long value = strtoll(after, &stop, 10);
    return stop == after ? -1 : value;
  }
  return -1;
}

static void add_held(int fd, long long inode) {
  struct stat st;
  if (held_count >= MAX_HELD || fd < 0 || inode <= 0) return;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_ino != (ino_t)inode) return;
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  int type = 0;
  socklen_t type_length = sizeof type;
  if (getsockname(fd, (struct sockaddr *)&address, &length) != 0 ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
    return;
  struct held *h = &held[held_count];
  if (!normalize((struct sockaddr *)&address, length, &h->v4, h->address, &h->wildcard, &h->port)) return;
  h->fd = fd;
  h->type = type;
  h->inode = st.st_ino;
  h->v6only = 0;
  if (address.ss_family == AF_INET6) {
    int value = 0;
    socklen_t value_length = sizeof value;
    if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, &value_length) == 0) h->v6only = value != 0;
  }
  held_count++;
}

// Each {...} of the TSDAEMON_LISTENERS array is one socket. Objects are flat; braces inside strings are
// skipped by the same rule as in object_number.
static void read_listeners(const char *json) {
  const char *p = json;
  while (*p) {
    if (*p == '"') {
      for (p++; *p && *p != '"'; p += (*p == '\\' && p[1]) ? 2 : 1) {
      }
      if (*p) p++;
      continue;
    }
    if (*p != '{') {
      p++;
      continue;
    }
    const char *start = p + 1;
    for (p = start; *p && *p != '}'; p++) {
      if (*p != '"') continue;
      for (p++; *p && *p != '"'; p += (*p == '\\' && p[1]) ? 2 : 1) {
      }
      if (!*p) break;
    }
    if (!*p) return;
    add_held((int)object_number(start, p, "fd"), object_number(start, p, "inode"));
    p++;
  }
}

// LISTEN_PID names the process that may use fds 3 .. 3+LISTEN_FDS-1: this one, when it has them all.
static void claim_listen_pid(void) {
  const char *count_text = getenv("LISTEN_FDS");
  if (!count_text) return;
  int count = atoi(count_text);
  if (count <= 0) return;
  for (int fd = 3; fd < 3 + count; fd++) {
    struct stat st;
    int found = 0;
    if (fstat(fd, &st) != 0) return;
    for (int i = 0; i < held_count; i++) found |= held[i].fd == fd && held[i].inode == st.st_ino;
    if (!found) return;
  }
  char pid[24];
  snprintf(pid, sizeof pid, "%d", (int)getpid());
  const char *current = getenv("LISTEN_PID");
  if (!current || strcmp(current, pid) != 0) setenv("LISTEN_PID", pid, 1);
}

// libc's own functions behind ours. Also called from each wrapper while they are unknown: another
// library's constructor may close() or bind() before ours has run.
static void resolve_next(void) {
  next_bind = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "bind");
  next_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
  next_accept = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
  next_accept4 = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
  next_getsockname = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "getsockname");
  next_getpeername = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "getpeername");
  next_close = (int (*)(int))dlsym(RTLD_NEXT, "close");
}

static int signal_number(const char *name) {
  static const struct {
    const char *name;
    int number;
  } signals[] = {{"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT}, {"SIGHUP", SIGHUP},
                 {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2}, {"SIGWINCH", SIGWINCH}};
  if (!name) return SIGTERM;
  for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
    if (strcmp(signals[i].name, name) == 0) return signals[i].number;
  return 0;
}

__attribute__((constructor)) static void tsdaemon_bind_init(void) {
  resolve_next();
  // Node exports N-API for its addons; nothing else does.
  in_node = dlsym(RTLD_DEFAULT, "napi_module_register") != NULL;
  stop_signal = signal_number(getenv("TSDAEMON_STOP_SIGNAL"));
  const char *json = getenv("TSDAEMON_LISTENERS");
  if (!json) return;
  read_listeners(json);
  if (held_count > 0) claim_listen_pid();
}

// How well a held socket fits the app's bind of (type, address, port), as in the rules above:
// 5 the same address; 4 both wildcards of one family; 3 both wildcards, 0.0.0.0 and a dual-stack ::;
// 2 the app's address inside the held wildcard; 1 the app's wildcard around the held address; 0 no fit.
static int fit(const struct held *h, int type, int v4, const unsigned char address[16], int wildcard,
               int app_v6only, unsigned short port) {
  if (h->type != type || h->port != port || port == 0) return 0;
  int same = h->v4 == v4;
  if (same && memcmp(h->address, address, v4 ? 4 : 16) == 0) return 5;
  // An IPv4 program would sendto() IPv4 addresses, which an IPv6 datagram socket refuses.
  if (!same && type == SOCK_DGRAM) return 0;
  int overlap = same || (v4 && !h->v6only) || (!v4 && wildcard && !app_v6only);
  if (!overlap) return 0;
  if (wildcard && h->wildcard) return same ? 4 : 3;
  if (h->wildcard) return 2;
  return wildcard ? 1 : 0;
}

static int take_over(int fd, const struct held *h) {
  int fd_flags = fcntl(fd, F_GETFD);
  int status_flags = fcntl(fd, F_GETFL);
  if (fd_flags < 0 || status_flags < 0) return -1;
  if (dup2(h->fd, fd) < 0) return -1;
  if (fd_flags & FD_CLOEXEC) fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (taken_count < MAX_HELD) taken[taken_count++] = fd;
  int now = fcntl(fd, F_GETFL);
  if (now >= 0 && ((now ^ status_flags) & O_NONBLOCK))
    fcntl(fd, F_SETFL, (now & ~O_NONBLOCK) | (status_flags & O_NONBLOCK));
  return 0;
}

// Calls fn(n) for each number in the directory at path (/proc/self/fd, /proc/self/task), read with the raw
// syscall (signal handlers use it); with skip_own, not for the fd of the directory itself. Returns -1 when
// the directory cannot be opened.
static int each_number(const char *path, int skip_own, void (*fn)(long n, void *context), void *context) {
  int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return -1;
  char buffer[4096];
  long read;
  while ((read = syscall(SYS_getdents64, dir, buffer, sizeof buffer)) > 0) {
    for (long at = 0; at < read;) {
      struct dirent64 *entry = (struct dirent64 *)(buffer + at);
      at += entry->d_reclen;
      if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
      long n = 0;
      for (const char *c = entry->d_name; *c; c++) n = n * 10 + (*c - '0');
      if (!skip_own || n != dir) fn(n, context);
    }
  }
  next_close(dir);
  return 0;
}

// Calls fn(fd) for every open fd (every fd below 1024 when /proc is not there).
static void each_fd(void (*fn)(long fd, void *context), void *context) {
  if (each_number("/proc/self/fd", 1, fn, context) == 0) return;
  for (int fd = 0; fd < 1024; fd++) fn(fd, context);
}

static int held_inode(ino_t inode) {
  for (int i = 0; i < held_count; i++)
    if (held[i].inode == inode) return 1;
  return 0;
}

// A connection accepted from a held socket: a connected stream socket whose local port is a held one.
static void count_connection(long number, void *context) {
  int fd = (int)number;
  struct stat st;
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  int type = 0;
  socklen_t type_length = sizeof type;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || held_inode(st.st_ino)) return;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0 || type != SOCK_STREAM) return;
  if (next_getsockname(fd, (struct sockaddr *)&address, &length) != 0) return;
  int v4, wildcard;
  unsigned char bytes[16];
  unsigned short port;
  if (!normalize((struct sockaddr *)&address, length, &v4, bytes, &wildcard, &port)) return;
  int ours = 0;
  for (int i = 0; i < held_count; i++) ours |= held[i].type == SOCK_STREAM && held[i].port == port;
  length = sizeof address;
  if (ours && next_getpeername(fd, (struct sockaddr *)&address, &length) == 0) (*(int *)context)++;
}

// A listening socket nobody connects to: accept() finds nothing, poll() never wakes for it. An unbound
// unix socket cannot listen() (EINVAL), so it is bound first to an abstract name the kernel picks (the
// autobind of a bare AF_UNIX address), reachable only by name from this network namespace.
static int idle_listener(int nonblocking) {
  int idle = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  struct sockaddr_un unnamed;
  memset(&unnamed, 0, sizeof unnamed);
  unnamed.sun_family = AF_UNIX;
  if (idle >= 0 && (next_bind(idle, (struct sockaddr *)&unnamed, sizeof(sa_family_t)) != 0 ||
                    next_listen(idle, 1) != 0)) {
    next_close(idle);
    return -1;
  }
  return idle;
}

// The idle listeners that replace held sockets, one blocking and one not (made when first needed): the
// replacement keeps the fd's O_NONBLOCK, so a blocking accept() waits for ever (the program dies of the
// signal from another thread's close()) and an event loop's accept() says EAGAIN instead of blocking it.
struct idle_pair {
  int fd[2];
};

static void replace_listener(long number, void *context) {
  int fd = (int)number;
  struct idle_pair *idle = context;
  struct stat st;
  if (fd == idle->fd[0] || fd == idle->fd[1]) return;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode) || !held_inode(st.st_ino)) return;
  int status_flags = fcntl(fd, F_GETFL);
  int nonblocking = status_flags >= 0 && (status_flags & O_NONBLOCK) != 0;
  if (idle->fd[nonblocking] < 0) idle->fd[nonblocking] = idle_listener(nonblocking);
  if (idle->fd[nonblocking] >= 0) dup2(idle->fd[nonblocking], fd);
}

// Dies of the stop signal once no connection is in hand (called from the handler and after close()).
static void end_if_done(void) {
  int connections = 0;
  each_fd(count_connection, &connections);
  if (connections > 0) return;
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(stop_signal, &fallback, NULL);
  raise(stop_signal); // in the handler: delivered, and fatal, as soon as it returns
}

// The other threads this process had when the stop signal came, told again (see on_stop_signal), that
// have not run the handler yet. Until they all have, none decides that the process is done.
static int others_pending;

// "/proc/self/task/" + tid + suffix into out (no snprintf: this runs in a signal handler).
static void task_path(char *out, long tid, const char *suffix) {
  char digits[24];
  int n = 0;
  do digits[n++] = (char)('0' + tid % 10);
  while ((tid /= 10) > 0 && n < (int)sizeof digits);
  const char *prefix = "/proc/self/task/";
  while (*prefix) *out++ = *prefix++;
  while (n > 0) *out++ = digits[--n];
  while (*suffix) *out++ = *suffix++;
  *out = 0;
}

// Whether thread tid blocks the stop signal (its SigBlk line in /proc/self/task/TID/status).
static int blocks_stop_signal(long tid) {
  char path[64], text[2048];
  task_path(path, tid, "/status");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t length = read(fd, text, sizeof text - 1);
  next_close(fd);
  if (length <= 0) return 0;
  text[length] = 0;
  const char *line = strstr(text, "SigBlk:");
  if (!line) return 0;
  line += 7;
  while (*line == ' ' || *line == '\t') line++;
  unsigned long long mask = 0;
  for (; (*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f'); line++)
    mask = mask * 16 + (unsigned long long)(*line <= '9' ? *line - '0' : *line - 'a' + 10);
  return stop_signal >= 1 && stop_signal <= 64 && ((mask >> (stop_signal - 1)) & 1);
}

// Sends the stop signal to every other thread of the process that does not block it, so that each one
// runs the handler: a thread blocked in accept() on a held socket (a pre-threaded server) is interrupted,
// and its accept() restarts on the idle socket that has replaced it; a call that restarts anyway (read(),
// a blocking accept()) goes on as before. Returns how many were told.
#define MAX_THREADS 1024
struct threads {
  long self;
  int count;
  long tid[MAX_THREADS];
};

static void add_thread(long tid, void *context) {
  struct threads *threads = context;
  if (tid != threads->self && threads->count < MAX_THREADS && !blocks_stop_signal(tid))
    threads->tid[threads->count++] = tid;
}

static int tell_other_threads(void) {
  static struct threads threads;
  threads.self = syscall(SYS_gettid);
  threads.count = 0;
  if (each_number("/proc/self/task", 0, add_thread, &threads) != 0) return 0;
  int count = threads.count;
  long *tids = threads.tid;
  // Counted before any is told: a thread told runs the handler at once, maybe on another CPU.
  __atomic_store_n(&others_pending, count, __ATOMIC_SEQ_CST);
  int told = count;
  for (int i = 0; i < count; i++) {
    if (syscall(SYS_tgkill, (long)getpid(), tids[i], stop_signal) != 0) {
      told--;
      __atomic_sub_fetch(&others_pending, 1, __ATOMIC_SEQ_CST); // gone already
    }
  }
  return told;
}

static void on_stop_signal(int number) {
  (void)number;
  int saved = errno;
  if (!draining) {
    draining = 1;
    struct idle_pair idle = {{-1, -1}};
    each_fd(replace_listener, &idle);
    for (int i = 0; i < 2; i++)
      if (idle.fd[i] >= 0) next_close(idle.fd[i]);
    // A thread may be just taking a connection from the real socket: the last thread told decides.
    if (tell_other_threads() > 0) {
      errno = saved;
      return;
    }
  } else if (__atomic_load_n(&others_pending, __ATOMIC_SEQ_CST) > 0 &&
             __atomic_sub_fetch(&others_pending, 1, __ATOMIC_SEQ_CST) > 0) {
    errno = saved;
    return;
  }
  end_if_done();
  errno = saved;
}

// Once this process took a held socket: its stop signal drains it, unless it handles that signal itself.
static void arm_drain(void) {
  static int armed;
  if (armed || in_node || stop_signal == 0) return;
  armed = 1;
  struct sigaction current;
  if (sigaction(stop_signal, NULL, &current) != 0 || (current.sa_flags & SA_SIGINFO) ||
      current.sa_handler != SIG_DFL)
    return;
  struct sigaction drain;
  memset(&drain, 0, sizeof drain);
  drain.sa_handler = on_stop_signal;
  sigemptyset(&drain.sa_mask);
  drain.sa_flags = SA_RESTART;
  sigaction(stop_signal, &drain, NULL);
}

int close(int fd) {
  if (!next_close) resolve_next();
  if (!next_close) {
    errno = ENOSYS;
    return -1;
  }
  int result = next_close(fd);
  if (draining && __atomic_load_n(&others_pending, __ATOMIC_SEQ_CST) == 0) {
    int saved = errno;
    end_if_done();
    errno = saved;
  }
  return result;
}

int bind(int fd, const struct sockaddr *address, socklen_t length) {
  if (!next_bind) resolve_next();
  if (!next_bind) {
    errno = ENOSYS;
    return -1;
  }
  int v4 = 0, wildcard = 0, type = 0;
  unsigned short port = 0;
  unsigned char bytes[16];
  socklen_t type_length = sizeof type;
  if (held_count == 0 || !address || !normalize(address, length, &v4, bytes, &wildcard, &port) ||
      port == 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) != 0)
    return next_bind(fd, address, length);
  int app_v6only = 0;
  socklen_t v6only_length = sizeof app_v6only;
  if (address->sa_family == AF_INET6 && !v4)
    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &app_v6only, &v6only_length);
  const struct held *best = NULL;
  int best_fit = 0;
  for (int i = 0; i < held_count; i++) {
    int f = fit(&held[i], type, v4, bytes, wildcard, app_v6only, port);
    if (f > best_fit) {
      best_fit = f;
      best = &held[i];
    }
  }
  if (!best) return next_bind(fd, address, length);
  int saved = errno;
  if (take_over(fd, best) != 0) return -1;
  arm_drain();
  errno = saved;
  return 0;
}

// Under --ready=auto, a server is ready once it listens on a held socket (as the Node preload reports a
// server once it listens): READY=1 on TSDAEMON_READY_FD, if that fd is a socket and none of the held ones
// (a program further down may have an unrelated fd there). Once per process.
static void report_ready(void) {
  static int reported;
  const char *mode = getenv("TSDAEMON_READY_MODE");
  const char *fd_text = getenv("TSDAEMON_READY_FD");
  if (reported || !fd_text || (mode && strcmp(mode, "auto") != 0)) return;
  reported = 1;
  int fd = atoi(fd_text);
  struct stat st;
  if (fd < 3 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return;
  for (int i = 0; i < held_count; i++)
    if (held[i].inode == st.st_ino) return;
  static const char line[] = "READY=1\n";
  ssize_t written;
  do {
    written = send(fd, line, sizeof line - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (written < 0 && errno == EINTR);
}

int listen(int fd, int backlog) {
  if (!next_listen) resolve_next();
  if (!next_listen) {
    errno = ENOSYS;
    return -1;
  }
  struct stat st;
  if (held_count > 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) {
    for (int i = 0; i < held_count; i++) {
      if (held[i].inode != st.st_ino) continue;
      int saved = errno;
      arm_drain();
      // Only a server that bound the port itself: one that took fd 3 (gunicorn's master) may still be
      // far from serving, and tsdaemon's accept probe sees its workers once they accept.
      for (int t = 0; t < taken_count; t++)
        if (taken[t] == fd) report_ready();
      errno = saved;
      return 0;
    }
  }
  return next_listen(fd, backlog);
}

// The kernel's answer (full, full_length) into the caller's buffer of *length bytes, as IPv4 when the
// buffer is too small for IPv6 and the address has an IPv4 form.
static void deliver(struct sockaddr *address, socklen_t *length, const struct sockaddr_storage *full,
                    socklen_t full_length) {
  const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)full;
  static const unsigned char zero[16];
  if (full->ss_family == AF_INET6 && *length >= (socklen_t)sizeof(struct sockaddr_in) &&
      (memcmp(in6->sin6_addr.s6_addr, V4_MAPPED, 12) == 0 || memcmp(in6->sin6_addr.s6_addr, zero, 16) == 0)) {
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = in6->sin6_port;
    memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
    memcpy(address, &in, sizeof in);
    *length = sizeof in;
    return;
  }
  memcpy(address, full, *length < full_length ? *length : full_length);
  *length = full_length;
}

// Whether a call's address buffer is one made for IPv4 only (see deliver).
static int ipv4_buffer(const struct sockaddr *address, const socklen_t *length) {
  return held_count > 0 && address && length && *length < (socklen_t)sizeof(struct sockaddr_in6);
}

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) {
  if (!next_accept4) resolve_next();
  if (!next_accept4) {
    errno = ENOSYS;
    return -1;
  }
  if (!ipv4_buffer(address, length)) return next_accept4(fd, address, length, flags);
  struct sockaddr_storage full;
  socklen_t full_length = sizeof full;
  int accepted = next_accept4(fd, (struct sockaddr *)&full, &full_length, flags);
  if (accepted >= 0) deliver(address, length, &full, full_length);
  return accepted;
}

int accept(int fd, struct sockaddr *address, socklen_t *length) {
  if (!next_accept) resolve_next();
  if (!next_accept) {
    errno = ENOSYS;
    return -1;
  }
  if (!ipv4_buffer(address, length)) return next_accept(fd, address, length);
  struct sockaddr_storage full;
  socklen_t full_length = sizeof full;
  int accepted = next_accept(fd, (struct sockaddr *)&full, &full_length);
  if (accepted >= 0) deliver(address, length, &full, full_length);
  return accepted;
}

static int ask_name(int (**next)(int, struct sockaddr *, socklen_t *), int fd, struct sockaddr *address,
                    socklen_t *length) {
  if (!*next) resolve_next();
  if (!*next) {
    errno = ENOSYS;
    return -1;
  }
  if (!ipv4_buffer(address, length)) return (*next)(fd, address, length);
  struct sockaddr_storage full;
  socklen_t full_length = sizeof full;
  int result = (*next)(fd, (struct sockaddr *)&full, &full_length);
  if (result == 0) deliver(address, length, &full, full_length);
  return result;
}

int getsockname(int fd, struct sockaddr *address, socklen_t *length) {
  return ask_name(&next_getsockname, fd, address, length);
}

int getpeername(int fd, struct sockaddr *address, socklen_t *length) {
  return ask_name(&next_getpeername, fd, address, length);
}
