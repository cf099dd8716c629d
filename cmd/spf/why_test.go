package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/why"
)

func TestServeAddr(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{":8080", "127.0.0.1:8080"},
		{"8080", "127.0.0.1:8080"},
		{"0.0.0.0:80", "0.0.0.0:80"},
		{"[::1]:80", "[::1]:80"},
		{"localhost:0", "localhost:0"},
	}
	for _, tt := range tests {
		if got := serveAddr(tt.in); got != tt.want {
			t.Errorf("serveAddr(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeWhy serves the page on the loopback interface, asks it for a
// fail and stops it as a signal would.
func TestServeWhy(t *testing.T) {
	t.Parallel()
	zone, err := loadZone(demoZone)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", serveAddr(":0"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- serveWhy(ctx, ln, why.NewHandler(&spf.Checker{Resolver: zone}, nil), &out) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/Why?id=alice%40example.com;ip=198.51.100.7;format=text")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(string(body), "SPF result: fail\n") {
		t.Errorf("status %d, body:\n%s", res.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serveWhy: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serveWhy did not stop")
	}
	want := "serving the Why? page on http://" + ln.Addr().String() + "/\nstopped\n"
	if got := out.String(); got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	if !strings.HasPrefix(ln.Addr().String(), "127.0.0.1:") {
		t.Errorf("listening on %s, want loopback", ln.Addr())
	}
}

// TestWhyServeSignal runs "spf why --serve" in-process and stops it with
// SIGINT, sent once the page answers (the signal is caught by then).
func TestWhyServeSignal(t *testing.T) {
	pc, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.Addr().String()
	pc.Close()
	var out, errOut syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run([]string{"why", "--zone", demoZone, "--serve", addr}, strings.NewReader(""), &out, &errOut)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/Why?format=text&ip=192.0.2.10&id=a@example.com")
		if err == nil {
			res.Body.Close()
			break
		}
		select {
		case code := <-done:
			t.Fatalf("spf why --serve ended with %d: %s", code, errOut.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d, stderr %q", code, errOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("spf why --serve did not stop on SIGINT")
	}
	if want := "serving the Why? page on http://" + addr + "/\nstopped\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
