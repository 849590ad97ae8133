// The Go net/http server of bench:servers, on the socket inherited as fd 3. The bench builds it at run
// time with the Go toolchain it finds (`go build -o DIR/goserver main.go`).
//
//	goserver -drain=none|shutdown|keepalives-off|clean
//
// -ready-after=D: READY=1 on $TSDAEMON_READY_FD D after the socket is set up (for --ready=fd), to move
// the moment tsdaemon stops the old generation.
// On SIGTERM: none: nothing (Go dies of the signal). shutdown: srv.Shutdown. keepalives-off:
// srv.SetKeepAlivesEnabled(false), then srv.Shutdown. clean: the drain of docs/servers.md (below). GET /
// answers `hello from pid N` after $BENCH_DELAY_MS ms (default 50).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

// Below tsdaemon's --lame-duck (15 s by default), so that Shutdown gives up before the SIGKILL comes.
const shutdownTimeout = 10 * time.Second

// Any keep-alive client that is sending requests sends its next one within this time.
const idleGrace = time.Second

func main() {
	drain := flag.String("drain", "shutdown", "none | shutdown | keepalives-off | clean")
	readyAfter := flag.Duration("ready-after", -1, "write READY=1 to $TSDAEMON_READY_FD this long after the socket is set up")
	flag.Parse()
	delayMs, err := strconv.Atoi(os.Getenv("BENCH_DELAY_MS"))
	if err != nil {
		delayMs = 50
	}
	if os.Getenv("LISTEN_FDS") != "1" {
		log.Fatal("goserver: LISTEN_FDS is not 1 (no socket on fd 3)")
	}
	f := os.NewFile(3, "listener")
	ln, err := net.FileListener(f) // a dup of fd 3
	if err != nil {
		log.Fatal(err)
	}
	f.Close()
	if fd, err := strconv.Atoi(os.Getenv("TSDAEMON_READY_FD")); err == nil && *readyAfter >= 0 {
		ready := os.NewFile(uintptr(fd), "ready")
		go func() {
			time.Sleep(*readyAfter)
			ready.Write([]byte("READY=1\n"))
			ready.Close()
		}()
	}

	hello := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delayMs) * time.Millisecond)
		fmt.Fprintf(w, "hello from pid %d\n", os.Getpid())
	}
	var draining atomic.Bool
	srv := &http.Server{Handler: closeWhenDraining(&draining, http.HandlerFunc(hello))}
	if *drain == "none" {
		log.Fatal(srv.Serve(ln))
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		deadline, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		switch *drain {
		case "keepalives-off":
			srv.SetKeepAlivesEnabled(false)
		case "clean":
			// Stop accepting, answer every request from now on with Connection: close, and only then
			// close what is still idle: Shutdown (and SetKeepAlivesEnabled(false)) close idle keep-alive
			// connections at once, also those whose next request is already on its way (a reset).
			draining.Store(true)
			ln.Close()
			time.Sleep(idleGrace)
		}
		if err := srv.Shutdown(deadline); err != nil {
			log.Print(err)
		}
		close(done)
	}()
	// Serve returns as soon as the listener is closed; the drain goes on until done.
	if err := srv.Serve(ln); err != http.ErrServerClosed && !errors.Is(err, net.ErrClosed) {
		log.Fatal(err)
	}
	<-done
}

// closeWhenDraining answers with Connection: close once draining is set, so that each keep-alive client
// ends its connection after its next answer instead of sending a request that nobody will read.
func closeWhenDraining(draining *atomic.Bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}
