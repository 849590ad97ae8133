#!/usr/bin/python3
"""The baseline of bench:servers: the same hot restart as tsdaemon's, done by hand, without tsdaemon.

    handover.py --listen=HOST:PORT [--lame-duck=SECONDS] [--handover-ready=answer|epoll] -- COMMAND [ARGS...]

It binds and listens on HOST:PORT itself and starts COMMAND with that socket as fd 3 and the systemd
variables (LISTEN_FDS=1, LISTEN_FDNAMES, LISTEN_PID through `sh -c 'LISTEN_PID=$$ exec ...'`), in a
process group of its own. On SIGHUP it starts the next generation on the same fd, waits until a request
on a new connection is answered by that generation (the body names the pid that served it: the new
process or one of its descendants, such as a gunicorn worker; with --handover-ready=epoll instead: until
the socket is in an epoll set of the new process or a descendant, the sign tsdaemon's --ready=auto
looks for), and then sends SIGTERM to the old one;
SIGKILL to the old process group after --lame-duck, and to what is left of a group once its main process
exited. SIGTERM/SIGINT: the same for the serving generation, then exit. Other arguments (tsdaemon's options)
are ignored, so the bench can pass the same ones to both.

It logs the lines the bench reads from tsdaemon: `generation N ready ... generation=N pid=P`,
`generation N exited (...)`, `restart failed: ...`. Python, so that nothing in it is tsdaemon's code."""
import ctypes
import os
import re
import signal
import socket
import sys
import time

PROBE_INTERVAL_S = 0.02
PROBE_TIMEOUT_S = 2.0
READY_TIMEOUT_S = 60.0
TRAMPOLINE = 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"'
PR_SET_PDEATHSIG = 1


def log(message):
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    print(f"{stamp} handover {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    if "--" not in argv:
        sys.exit("handover.py: usage: handover.py --listen=HOST:PORT [--lame-duck=SECONDS] -- COMMAND ...")
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    listen, lame_duck, ready = None, 15.0, "answer"
    for option in options:
        if option.startswith("--handover-ready="):
            ready = option[len("--handover-ready=") :]
        if option.startswith("--listen="):
            listen = option[len("--listen=") :]
        elif option.startswith("--lame-duck="):
            lame_duck = float(option[len("--lame-duck=") :].rstrip("s"))
    host, _, port = listen.rpartition(":")
    return host or "0.0.0.0", int(port), lame_duck, ready, command


def bind(host, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(511)
    sock.setblocking(True)  # as systemd passes it; the first server sets the mode it needs
    if sock.fileno() == 3:
        sock.detach()  # fd 3 stays open when the object goes
    else:
        os.dup2(sock.fileno(), 3)
        sock.close()
    os.set_inheritable(3, True)


def spawn(command, generation, port):
    pid = os.fork()
    if pid == 0:
        os.setsid()  # its own session and process group, as tsdaemon does
        # Killed with us if we are killed (tsdaemon has a watcher process for that); kept across exec.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="web", PORT=str(port))
        env.pop("LISTEN_PID", None)
        try:
            os.execvpe("/bin/sh", ["/bin/sh", "-c", TRAMPOLINE, *command], env)
        finally:
            os._exit(127)
    return pid


def ancestors(pid):
    """pid and its parents, up to init."""
    chain = []
    while pid > 1:
        chain.append(pid)
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            break
    return chain


def served_by(host, port):
    """The pid named in the answer to GET / on a new connection, or None."""
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S) as conn:
            conn.sendall(b"GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := conn.recv(4096):
                answer += chunk
    except OSError:
        return None
    match = re.search(rb"pid (\d+)", answer)
    return int(match.group(1)) if match and re.match(rb"HTTP/1\.[01] 200 ", answer) else None


def descendants(pid):
    """pid and every process below it."""
    parent_of = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent_of[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, queue = [], [pid]
    while queue:
        found.append(queue.pop())
        queue += [child for child, parent in parent_of.items() if parent == found[-1]]
    return found


def polls_socket(pid, inode):
    """True when the socket inode is registered in an epoll set of pid or a descendant."""
    needle = f"ino:{inode:x}"
    for each in descendants(pid):
        try:
            fds = os.listdir(f"/proc/{each}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{each}/fd/{fd}") != "anon_inode:[eventpoll]":
                    continue
                with open(f"/proc/{each}/fdinfo/{fd}") as info:
                    if re.search(rf"\b{needle}\b", info.read()):
                        return True
            except OSError:
                pass
    return False


class Generation:
    def __init__(self, number, pid):
        self.number, self.pid, self.deadline, self.status = number, pid, None, None


def main():
    host, port, lame_duck, ready, command = parse_args(sys.argv[1:])
    bind(host, port)
    inode = os.fstat(3).st_ino
    log(f"listening tcp {host}:{port}")
    pending = []
    for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _: pending.append(signum))
    serving, starting, draining, number, stopping = None, None, [], 0, False

    def start():
        nonlocal number, starting
        number += 1
        generation = starting = Generation(number, spawn(command, number, port))
        started = time.monotonic()
        while time.monotonic() - started < READY_TIMEOUT_S:
            reap()
            if signal.SIGTERM in pending or signal.SIGINT in pending:
                os.killpg(generation.pid, signal.SIGKILL)
                log(f"restart failed: stopped while generation {number} was starting")
                return None
            if generation.status is not None:
                log(f"restart failed: generation {number} exited before it was ready ({generation.status})")
                return None
            if ready == "epoll":
                if polls_socket(generation.pid, inode):
                    log(f"generation {number} ready: socket in its epoll set generation={number} pid={generation.pid}")
                    return generation
            else:
                pid = served_by(host, port)
                if pid is not None and generation.pid in ancestors(pid):
                    log(f"generation {number} ready: answered by pid {pid} generation={number} pid={generation.pid}")
                    return generation
            time.sleep(PROBE_INTERVAL_S)
        os.killpg(generation.pid, signal.SIGKILL)
        log(f"restart failed: generation {number} not ready in {READY_TIMEOUT_S} s")
        return None

    def drain(generation):
        os.kill(generation.pid, signal.SIGTERM)
        generation.deadline = time.monotonic() + lame_duck
        draining.append(generation)
        log(f"draining generation {generation.number} generation={generation.number} pid={generation.pid}")

    def reap():
        live = {id(g): g for g in [serving, starting, *draining] if g and g.status is None}
        for generation in live.values():
            pid, status = os.waitpid(generation.pid, os.WNOHANG)
            if pid:
                generation.status = os.waitstatus_to_exitcode(status)
                try:
                    os.killpg(generation.pid, signal.SIGKILL)  # what is left of its group
                except ProcessLookupError:
                    pass
                log(f"generation {generation.number} exited (code {generation.status}) "
                    f"generation={generation.number} pid={generation.pid}")

    serving = start()
    if serving is None:
        sys.exit(1 if pending else 68)
    while True:
        while pending:
            signum = pending.pop(0)
            if signum == signal.SIGHUP and not stopping:
                fresh = start()
                if fresh:
                    drain(serving)
                    serving = fresh
            elif signum in (signal.SIGTERM, signal.SIGINT) and not stopping:
                stopping = True
                drain(serving)
        reap()
        for generation in draining:
            if generation.status is None and time.monotonic() > generation.deadline:
                os.killpg(generation.pid, signal.SIGKILL)
        draining[:] = [g for g in draining if g.status is None]
        if stopping and not draining:
            sys.exit(0)
        if serving.status is not None and not stopping:
            log(f"generation {serving.number} exited on its own: stopping")
            sys.exit(1)
        time.sleep(0.01)


if __name__ == "__main__":
    main()
