package why_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"

	"github.com/spf-go/spf"
	"github.com/spf-go/spf/spftest"
	"github.com/spf-go/spf/why"
)

// Explain a fail in plain words, offline against an in-memory zone.
func ExampleExplain() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	c := &spf.Checker{Resolver: zone, Receiver: "mx.example.net"}

	e, _ := why.Explain(context.Background(), c, why.Query{
		IP:     netip.MustParseAddr("198.51.100.7"),
		HELO:   "mail.example.org",
		Sender: "alice@example.com",
	})
	fmt.Println(e.Result, e.Term, e.DefaultAll)
	e.WriteText(os.Stdout)
	// Output:
	// fail -all true
	// SPF result: fail
	//
	// What happened
	//   The mail server mx.example.net received a message from the client at
	//   198.51.100.7, which introduced itself as mail.example.org, that claimed
	//   the envelope sender address alice@example.com. SPF asks the domain
	//   example.com whether 198.51.100.7 may send its mail; the answer is "fail".
	//
	// What the policy of example.com says
	//   The domain example.com publishes the SPF record "v=spf1 ip4:192.0.2.0/24
	//   -all". No term of it matched 198.51.100.7, so the final "-all" applied:
	//   the client is not authorized to send mail for the domain. The receiver's
	//   explanation: "example.com does not designate 198.51.100.7 as permitted
	//   sender"
	//
	// What can be done
	//   - If 198.51.100.7 is a server that should send mail for example.com, the
	//     owner of example.com can add it to the record (for example
	//     "ip4:198.51.100.7" before the "all"), or, if it belongs to a mail
	//     provider, add the include: term the provider documents.
	//   - If 198.51.100.7 has nothing to do with example.com, someone else is
	//     using the address alice@example.com: the receiver was right to refuse
	//     the message, and nothing needs to change.
	//   - If you sent the message yourself, send it through the mail servers of
	//     example.com (or ask its administrator why this one is not listed).
}

// A receiver rejects with a link to its own Why? page, and serves the page
// with the Checker it checks mail with. Here the page answers the link of
// the reject, as text.
func ExampleNewHandler() {
	zone := &spftest.Zone{}
	zone.AddTXT("example.com", "v=spf1 ip4:192.0.2.0/24 -all")
	c := &spf.Checker{
		Resolver:           zone,
		Receiver:           "mx.example.net",
		DefaultExplanation: spf.WhyExplanationURL("https://why.example.net/Why"),
	}
	out, _ := c.Check(context.Background(), netip.MustParseAddr("198.51.100.7"), "mail.example.org", "alice@example.com")
	link := out.Explanation[strings.Index(out.Explanation, "https://"):]
	fmt.Println(link)

	// In a program: http.Handle("/Why", why.NewHandler(c, nil)).
	h := why.NewHandler(c, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", link+"&format=text", nil))
	body, _ := io.ReadAll(rec.Body)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	fmt.Println(strings.SplitN(string(body), "\n", 2)[0])
	// Output:
	// https://why.example.net/Why?id=alice%40example.com&ip=198.51.100.7&r=mx.example.net
	// 200 text/plain; charset=utf-8
	// SPF result: fail
}
