package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf-go/spf/spftest"
)

var update = flag.Bool("update", false, "rewrite the expected output in testdata/script from the command's")

// TestMain makes the test binary the spf command when the scripts run it.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"spf": func() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs testdata/script/*.txtar. $DEMO is the demo zone of the
// repository, and $DNS the address of a DNS server on the loopback
// interface that serves it, where queries for drop.example.org go
// unanswered.
func TestScripts(t *testing.T) {
	demo, err := filepath.Abs(filepath.Join("..", "..", "testdata", "demo.zone"))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("DEMO", demo)
			zone, err := loadZone(demo)
			if err != nil {
				return err
			}
			srv, err := spftest.StartServer(zone)
			if err != nil {
				return err
			}
			env.Defer(func() { srv.Close() })
			srv.SetFault("drop.example.org", spftest.Fault{Drop: true})
			env.Setenv("DNS", srv.Addr)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitaddr": waitAddr,
		},
	})
}

// waitAddr is the script command "waitaddr FILE VAR": it waits up to
// ten seconds for FILE (written whole by spf serve --addr-file) and sets
// VAR to its first line.
func waitAddr(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitaddr FILE VAR")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		if err == nil {
			ts.Setenv(args[1], strings.TrimSpace(string(b)))
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("waitaddr: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
