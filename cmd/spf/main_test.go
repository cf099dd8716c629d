package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

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
	})
}
