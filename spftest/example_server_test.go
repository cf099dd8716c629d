package spftest_test

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
)

// ExampleServer starts a DNS server on the loopback interface with a
// small zone and checks SPF through [spf.DNSResolver] against it, the way
// a mail server's tests would. In a test, [spftest.NewServer] starts the
// server and stops it when the test ends.
func ExampleServer() {
	zone, err := spftest.ParseZone(strings.NewReader(`
$ORIGIN example.com.
@       TXT   "v=spf1 mx -all"
@       MX    10 mail
mail    A     192.0.2.25
`), "", "example")
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := spftest.StartServer(zone)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()

	c := &spf.Checker{Resolver: srv.Resolver(time.Second)}
	for _, ip := range []string{"192.0.2.25", "198.51.100.7"} {
		out, _ := c.Check(context.Background(), netip.MustParseAddr(ip), "mail.example.com", "alice@example.com")
		fmt.Println(ip, out.Result)
	}
	fmt.Println("TXT queries:", srv.Count("example.com", spf.TypeTXT))
	// Output:
	// 192.0.2.25 pass
	// 198.51.100.7 fail
	// TXT queries: 2
}
